//! The sorted set type: members with f64 scores, ordered by (score, member bytes).
//!
//! Two representations, as Redis's two encodings:
//!
//! - **Packed** (`listpack`): one buffer of `[score f64 LE][u32 LE length][member]`
//!   records kept in order, searched linearly. Used while the set holds at most
//!   [`ZsetLimits::entries`] members of at most [`ZsetLimits::value`] bytes each
//!   (Redis's `zset-max-listpack-entries` / `-value`, 128 and 64 by default). A
//!   packed set converts to the tree form once it outgrows either limit and never
//!   converts back, as Redis. Like Redis's listpack, which stores scores as text,
//!   `-0` is stored as `0`.
//! - **Tree** (`skiplist`): a counted B+tree of `(score, member)` items (an
//!   order-statistics tree: each inner node keeps its children's item counts, so
//!   rank, select, and range-by-score/lex are O(log n)), plus a member → score
//!   table (hashbrown) split into chunks by hash so ZSCORE is O(1).
//!
//! Members are stored once, in a reference-counted allocation (an 8-byte thin
//! pointer; 16 bytes of header) that both the tree and the table point to. Per
//! member that is 16 bytes in a leaf (full leaves when scores come in order, 50-100%
//! otherwise), 16 bytes in the table (plus a control byte, at most 7/8 full) and the
//! member's own allocation. Measured with 200K members of ~12 bytes (INFO
//! `used_memory`): 76 bytes each inserted in score order, 86 in random order; Redis
//! 7.0's skiplist + dict take 112 (node with levels, dict entry, bucket, sds).
//!
//! **Copy-on-write.** A set sits in an [`crate::Entry`] behind an `Arc`; cloning a
//! tree-form set (what a write does while a snapshot shares it) copies the root
//! pointer and the chunk directory (one pointer per chunk of ~1024 members), and
//! every tree node and table chunk is itself behind an `Arc`, so a write then copies
//! only the nodes on its root-to-leaf path (≤ 64 items or children each) and the
//! one table chunk it touches. For a 1M-member set shared with a snapshot the first
//! write copies about 1000 chunk pointers, 3–4 tree nodes and one ~1024-member
//! chunk (tens of KB); later writes copy only what is still shared.
//!
//! Written by hand: no crate in the dependency tree offers an order-statistics
//! tree with node-level copy-on-write (the `im`-style persistent collections lack
//! rank queries, and a plain `BTreeMap` has neither ranks nor sharing).

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use hashbrown::HashTable;
use triomphe::ThinArc;

use crate::KeyHasher;

/// Redis's default `zset-max-listpack-entries`.
pub const PACKED_MAX_ENTRIES: usize = 128;
/// Redis's default `zset-max-listpack-value`.
pub const PACKED_MAX_VALUE: usize = 64;

/// When a packed set converts to the tree form (Redis's `zset-max-listpack-*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZsetLimits {
    /// Most members a packed set holds.
    pub entries: usize,
    /// Longest member a packed set holds.
    pub value: usize,
}

impl Default for ZsetLimits {
    fn default() -> Self {
        ZsetLimits {
            entries: PACKED_MAX_ENTRIES,
            value: PACKED_MAX_VALUE,
        }
    }
}

/// Member hashes use one random seed per process.
static MEMBER_HASHER: LazyLock<KeyHasher> = LazyLock::new(KeyHasher::new);

fn member_hash(m: &[u8]) -> u64 {
    MEMBER_HASHER.hash(m)
}

/// Compares two (score, member) pairs as Redis orders a sorted set (scores never NaN;
/// `-0` and `0` are equal scores).
#[inline]
pub fn cmp_items(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// A member's bytes in one shared allocation.
#[derive(Clone)]
struct Member(ThinArc<(), u8>);

impl Member {
    fn new(b: &[u8]) -> Member {
        Member(ThinArc::from_header_and_slice((), b))
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.0.slice
    }
}

#[derive(Clone)]
struct Item {
    score: f64,
    member: Member,
}

impl Item {
    #[inline]
    fn cmp_to(&self, score: f64, member: &[u8]) -> Ordering {
        cmp_items(self.score, self.member.bytes(), score, member)
    }
}

// ---------------------------------------------------------------------------------
// The counted B+tree
// ---------------------------------------------------------------------------------

/// Items per leaf at most: a full leaf's 64 × 16-byte buffer is exactly 1 KiB (an
/// allocator size class).
const LEAF_MAX: usize = 63;
const INNER_MAX: usize = 64;
const LEAF_MIN: usize = LEAF_MAX / 4;
const INNER_MIN: usize = INNER_MAX / 4;

#[derive(Clone)]
enum Node {
    /// Items in order.
    Leaf(Vec<Item>),
    Inner(Inner),
}

/// `children[i]` holds the items `>= seps[i-1]` and `< seps[i]`; `counts[i]` is how
/// many items it holds.
#[derive(Clone)]
struct Inner {
    seps: Vec<Item>,
    counts: Vec<usize>,
    children: Vec<Arc<Node>>,
}

impl Inner {
    /// The child whose range holds (score, member).
    #[inline]
    fn route(&self, score: f64, member: &[u8]) -> usize {
        self.seps
            .partition_point(|s| s.cmp_to(score, member) != Ordering::Greater)
    }
}

impl Node {
    /// Items (leaf) or children (inner): what the fill limits are about.
    fn width(&self) -> usize {
        match self {
            Node::Leaf(items) => items.len(),
            Node::Inner(n) => n.children.len(),
        }
    }

    fn count(&self) -> usize {
        match self {
            Node::Leaf(items) => items.len(),
            Node::Inner(n) => n.counts.iter().sum(),
        }
    }

    /// Splits an overfull node: the separator and the right part. `at` is where the
    /// insertion that overfilled it went: at the end (ascending scores, the common
    /// case of timestamps) the left node stays full and the right one starts with
    /// the new entry, at the start the other way round, so that sequential inserts
    /// leave full nodes behind; anywhere else the node is split in half.
    fn split(&mut self, at: usize) -> (Item, Node) {
        let width = self.width();
        let mid = if at + 1 == width {
            width - 1
        } else if at == 0 {
            1
        } else {
            width / 2
        };
        match self {
            Node::Leaf(items) => {
                let mut right = Vec::with_capacity(LEAF_MAX + 1);
                right.extend(items.drain(mid..));
                (right[0].clone(), Node::Leaf(right))
            }
            Node::Inner(n) => {
                let children = n.children.split_off(mid);
                let counts = n.counts.split_off(mid);
                let seps = n.seps.split_off(mid);
                let up = n.seps.pop().expect("an inner node has a separator per gap");
                (
                    up,
                    Node::Inner(Inner {
                        seps,
                        counts,
                        children,
                    }),
                )
            }
        }
    }

    fn is_overfull(&self) -> bool {
        match self {
            Node::Leaf(items) => items.len() > LEAF_MAX,
            Node::Inner(n) => n.children.len() > INNER_MAX,
        }
    }

    fn insert(&mut self, item: Item) -> Option<(Item, Node)> {
        let at = match self {
            Node::Leaf(items) => {
                let at = items.partition_point(|it| {
                    it.cmp_to(item.score, item.member.bytes()) == Ordering::Less
                });
                if items.len() == items.capacity() {
                    // Grow to at most one past the limit, never to a doubled buffer
                    // that a split would leave half empty.
                    let want = (items.capacity() * 2).clamp(4, LEAF_MAX + 1);
                    items.reserve_exact(want.saturating_sub(items.len()).max(1));
                }
                items.insert(at, item);
                at
            }
            Node::Inner(n) => {
                let i = n.route(item.score, item.member.bytes());
                n.counts[i] += 1;
                let child = Arc::make_mut(&mut n.children[i]);
                if let Some((sep, right)) = child.insert(item) {
                    let rc = right.count();
                    n.counts[i] -= rc;
                    n.seps.insert(i, sep);
                    n.children.insert(i + 1, Arc::new(right));
                    n.counts.insert(i + 1, rc);
                    // Where the overfilling child went (the new right one).
                    i + 1
                } else {
                    i
                }
            }
        };
        self.is_overfull().then(|| self.split(at))
    }

    /// Removes (score, member); returns whether it was there.
    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        match self {
            Node::Leaf(items) => {
                let at = items.partition_point(|it| it.cmp_to(score, member) == Ordering::Less);
                if at < items.len() && items[at].cmp_to(score, member) == Ordering::Equal {
                    items.remove(at);
                    true
                } else {
                    false
                }
            }
            Node::Inner(n) => {
                let i = n.route(score, member);
                if !Arc::make_mut(&mut n.children[i]).remove(score, member) {
                    return false;
                }
                n.counts[i] -= 1;
                n.fix(i);
                true
            }
        }
    }

    fn count_while(&self, pred: &dyn Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            Node::Leaf(items) => items.partition_point(|it| pred(it.score, it.member.bytes())),
            Node::Inner(n) => {
                let i = n.seps.partition_point(|s| pred(s.score, s.member.bytes()));
                n.counts[..i].iter().sum::<usize>() + n.children[i].count_while(pred)
            }
        }
    }

    fn nth(&self, mut rank: usize) -> Option<&Item> {
        match self {
            Node::Leaf(items) => items.get(rank),
            Node::Inner(n) => {
                for (c, &cnt) in n.children.iter().zip(&n.counts) {
                    if rank < cnt {
                        return c.nth(rank);
                    }
                    rank -= cnt;
                }
                None
            }
        }
    }

    /// Visits the items of ranks `start..end` (relative to this node) in order, or
    /// in reverse order when `rev`.
    fn visit<'a>(&'a self, start: usize, end: usize, rev: bool, f: &mut dyn FnMut(f64, &'a [u8])) {
        match self {
            Node::Leaf(items) => {
                let end = end.min(items.len());
                if start >= end {
                    return;
                }
                if rev {
                    for it in items[start..end].iter().rev() {
                        f(it.score, it.member.bytes());
                    }
                } else {
                    for it in &items[start..end] {
                        f(it.score, it.member.bytes());
                    }
                }
            }
            Node::Inner(n) => {
                let mut offsets = Vec::with_capacity(n.children.len());
                let mut at = 0;
                for &c in &n.counts {
                    offsets.push(at);
                    at += c;
                }
                let mut each = |i: usize| {
                    let (lo, cnt) = (offsets[i], n.counts[i]);
                    let hi = lo + cnt;
                    if hi <= start || lo >= end {
                        return;
                    }
                    let s = start.saturating_sub(lo);
                    let e = (end - lo).min(cnt);
                    n.children[i].visit(s, e, rev, f);
                };
                if rev {
                    (0..n.children.len()).rev().for_each(&mut each);
                } else {
                    (0..n.children.len()).for_each(&mut each);
                }
            }
        }
    }
}

impl Inner {
    /// Restores the fill of child `i` after a removal: merged with a neighbour, or
    /// the two rebalanced.
    fn fix(&mut self, i: usize) {
        let min = match &*self.children[i] {
            Node::Leaf(_) => LEAF_MIN,
            Node::Inner(_) => INNER_MIN,
        };
        if self.children[i].width() >= min || self.children.len() < 2 {
            return;
        }
        let (l, r) = if i + 1 < self.children.len() {
            (i, i + 1)
        } else {
            (i - 1, i)
        };
        let right = Arc::unwrap_or_clone(self.children.remove(r));
        let sep = self.seps.remove(r - 1);
        let rc = self.counts.remove(r);
        self.counts[l] += rc;
        let left = Arc::make_mut(&mut self.children[l]);
        match (left, right) {
            (Node::Leaf(a), Node::Leaf(b)) => a.extend(b),
            (Node::Inner(a), Node::Inner(b)) => {
                a.seps.push(sep);
                a.seps.extend(b.seps);
                a.counts.extend(b.counts);
                a.children.extend(b.children);
            }
            _ => unreachable!("siblings are at the same depth"),
        }
        let left = Arc::make_mut(&mut self.children[l]);
        if left.is_overfull() {
            let half = left.width() / 2;
            let (sep, right) = left.split(half);
            let rc = right.count();
            self.counts[l] -= rc;
            self.seps.insert(l, sep);
            self.children.insert(l + 1, Arc::new(right));
            self.counts.insert(l + 1, rc);
        }
    }
}

#[derive(Clone)]
struct Tree {
    root: Arc<Node>,
    len: usize,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            root: Arc::new(Node::Leaf(Vec::new())),
            len: 0,
        }
    }

    fn insert(&mut self, score: f64, member: Member) {
        let root = Arc::make_mut(&mut self.root);
        if let Some((sep, right)) = root.insert(Item { score, member }) {
            let left = std::mem::replace(root, Node::Leaf(Vec::new()));
            let (lc, rc) = (left.count(), right.count());
            *root = Node::Inner(Inner {
                seps: vec![sep],
                counts: vec![lc, rc],
                children: vec![Arc::new(left), Arc::new(right)],
            });
        }
        self.len += 1;
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let root = Arc::make_mut(&mut self.root);
        if !root.remove(score, member) {
            return false;
        }
        self.len -= 1;
        // A root with one child hands the root over to it.
        loop {
            let child = match &*self.root {
                Node::Inner(n) if n.children.len() == 1 => Some(n.children[0].clone()),
                _ => None,
            };
            match child {
                Some(c) => self.root = c,
                None => break,
            }
        }
        true
    }
}

// ---------------------------------------------------------------------------------
// The member → score table, in chunks
// ---------------------------------------------------------------------------------

/// Members per chunk before the chunk count doubles.
const CHUNK_TARGET: usize = 1024;
/// At most 2^20 chunks (a cursor holds the chunk index in 20 bits).
const MAX_CHUNK_BITS: u32 = 20;

type Chunk = HashTable<(Member, f64)>;

#[derive(Clone)]
struct Dict {
    chunks: Vec<Arc<Chunk>>,
    bits: u32,
    len: usize,
}

impl Dict {
    fn new() -> Dict {
        Dict {
            chunks: vec![Arc::new(HashTable::new())],
            bits: 0,
            len: 0,
        }
    }

    #[inline]
    fn chunk_of(&self, h: u64) -> usize {
        ((h >> 32) as usize) & ((1usize << self.bits) - 1)
    }

    fn get(&self, member: &[u8]) -> Option<f64> {
        let h = member_hash(member);
        self.chunks[self.chunk_of(h)]
            .find(h, |(m, _)| m.bytes() == member)
            .map(|(_, s)| *s)
    }

    fn insert(&mut self, member: Member, score: f64) {
        if self.len >= CHUNK_TARGET << self.bits && self.bits < MAX_CHUNK_BITS {
            self.grow();
        }
        let h = member_hash(member.bytes());
        let c = self.chunk_of(h);
        Arc::make_mut(&mut self.chunks[c])
            .insert_unique(h, (member, score), |(m, _)| member_hash(m.bytes()));
        self.len += 1;
    }

    /// Sets an existing member's score; returns its shared bytes.
    fn set_score(&mut self, member: &[u8], score: f64) -> Option<Member> {
        let h = member_hash(member);
        let c = self.chunk_of(h);
        let slot = Arc::make_mut(&mut self.chunks[c]).find_mut(h, |(m, _)| m.bytes() == member)?;
        slot.1 = score;
        Some(slot.0.clone())
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let h = member_hash(member);
        let c = self.chunk_of(h);
        // Look before copying a shared chunk.
        self.chunks[c].find(h, |(m, _)| m.bytes() == member)?;
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        match chunk.find_entry(h, |(m, _)| m.bytes() == member) {
            Ok(e) => {
                let ((_, s), _) = e.remove();
                self.len -= 1;
                Some(s)
            }
            Err(_) => None,
        }
    }

    /// Doubles the chunk count (O(n), amortized like a table resize).
    fn grow(&mut self) {
        let bits = self.bits + 1;
        let mask = (1usize << bits) - 1;
        let per = (self.len >> bits) + 16;
        let mut chunks: Vec<Chunk> = (0..1usize << bits)
            .map(|_| HashTable::with_capacity(per))
            .collect();
        for old in self.chunks.drain(..) {
            let old = Arc::unwrap_or_clone(old);
            for (m, s) in old {
                let h = member_hash(m.bytes());
                chunks[((h >> 32) as usize) & mask]
                    .insert_unique(h, (m, s), |(m, _)| member_hash(m.bytes()));
            }
        }
        self.chunks = chunks.into_iter().map(Arc::new).collect();
        self.bits = bits;
    }

    fn heap_size(&self) -> usize {
        self.chunks.len() * 8
            + self
                .chunks
                .iter()
                .map(|c| c.allocation_size() + 16)
                .sum::<usize>()
    }
}

// ---------------------------------------------------------------------------------
// The packed form
// ---------------------------------------------------------------------------------

fn read_u32(b: &[u8], at: usize) -> usize {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x) as usize
}

fn read_f64(b: &[u8], at: usize) -> f64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    f64::from_le_bytes(x)
}

/// (offset, record length, score, member) of every record, in order.
fn packed_iter(buf: &[u8]) -> impl Iterator<Item = (usize, usize, f64, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= buf.len() {
            return None;
        }
        let start = at;
        let score = read_f64(buf, at);
        let n = read_u32(buf, at + 8);
        let member = &buf[at + 12..at + 12 + n];
        at += 12 + n;
        Some((start, 12 + n, score, member))
    })
}

// ---------------------------------------------------------------------------------
// The value
// ---------------------------------------------------------------------------------

/// A sorted set. See the module docs.
#[derive(Clone)]
pub struct ZsetValue {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Packed { buf: Vec<u8>, len: usize },
    Tree(Big),
}

#[derive(Clone)]
struct Big {
    tree: Tree,
    dict: Dict,
    /// Bytes of all members (MEMORY USAGE).
    member_bytes: usize,
}

impl Default for ZsetValue {
    fn default() -> Self {
        ZsetValue::new()
    }
}

impl ZsetValue {
    /// An empty sorted set (packed).
    pub fn new() -> ZsetValue {
        ZsetValue {
            repr: Repr::Packed {
                buf: Vec::new(),
                len: 0,
            },
        }
    }

    /// An empty set that will hold about `n` members of at most `max_len` bytes: the
    /// tree form from the start when those could not stay packed (Redis's
    /// `zsetTypeCreate`).
    pub fn with_hint(n: usize, max_len: usize, limits: ZsetLimits) -> ZsetValue {
        let mut z = ZsetValue::new();
        if n > limits.entries || max_len > limits.value {
            z.convert();
        }
        z
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed { len, .. } => *len,
            Repr::Tree(b) => b.tree.len,
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `listpack` or `skiplist`, as OBJECT ENCODING reports it.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed { .. } => "listpack",
            Repr::Tree(_) => "skiplist",
        }
    }

    /// Whether the set is in its packed form.
    pub fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed { .. })
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Packed { buf, .. } => packed_iter(buf)
                .find(|(_, _, _, m)| *m == member)
                .map(|(_, _, s, _)| s),
            Repr::Tree(b) => b.dict.get(member),
        }
    }

    /// Sets `member`'s score (adding it if absent, converting to the tree form past
    /// `limits`); returns its previous score. `score` must not be NaN.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: ZsetLimits) -> Option<f64> {
        debug_assert!(!score.is_nan());
        if let Repr::Packed { len, buf } = &self.repr {
            let exists = packed_iter(buf).any(|(_, _, _, m)| m == member);
            if !exists && (member.len() > limits.value || *len + 1 > limits.entries) {
                self.convert();
            }
        }
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                // Stored as Redis's listpack stores it: `-0` becomes `0`.
                let score = if score == 0.0 { 0.0 } else { score };
                let old = packed_iter(buf)
                    .find(|(_, _, _, m)| *m == member)
                    .map(|(at, n, s, _)| (at, n, s));
                if let Some((at, n, _)) = old {
                    buf.drain(at..at + n);
                } else {
                    *len += 1;
                }
                let at = packed_iter(buf)
                    .find(|(_, _, s, m)| cmp_items(*s, m, score, member) == Ordering::Greater)
                    .map_or(buf.len(), |(at, _, _, _)| at);
                let mut rec = Vec::with_capacity(12 + member.len());
                rec.extend_from_slice(&score.to_le_bytes());
                rec.extend_from_slice(&(member.len() as u32).to_le_bytes());
                rec.extend_from_slice(member);
                buf.splice(at..at, rec);
                old.map(|(_, _, s)| s)
            }
            Repr::Tree(b) => match b.dict.get(member) {
                Some(old) => {
                    if old.to_bits() != score.to_bits() {
                        let m = b.dict.set_score(member, score).expect("member is present");
                        b.tree.remove(old, member);
                        b.tree.insert(score, m);
                    }
                    Some(old)
                }
                None => {
                    let m = Member::new(member);
                    b.dict.insert(m.clone(), score);
                    b.tree.insert(score, m);
                    b.member_bytes += member.len();
                    None
                }
            },
        }
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                let (at, n, s, _) = packed_iter(buf).find(|(_, _, _, m)| *m == member)?;
                buf.drain(at..at + n);
                *len -= 1;
                Some(s)
            }
            Repr::Tree(b) => {
                let s = b.dict.remove(member)?;
                b.tree.remove(s, member);
                b.member_bytes -= member.len();
                Some(s)
            }
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Packed { buf, .. } => packed_iter(buf).position(|(_, _, _, m)| m == member),
            Repr::Tree(b) => {
                let s = b.dict.get(member)?;
                Some(self.count_while(|s2, m2| cmp_items(s2, m2, s, member) == Ordering::Less))
            }
        }
    }

    /// The member of ascending rank `rank`.
    pub fn nth(&self, rank: usize) -> Option<(f64, &[u8])> {
        match &self.repr {
            Repr::Packed { buf, .. } => packed_iter(buf).nth(rank).map(|(_, _, s, m)| (s, m)),
            Repr::Tree(b) => b
                .tree
                .root
                .nth(rank)
                .map(|it| (it.score, it.member.bytes())),
        }
    }

    /// How many members, from the lowest, satisfy `pred`, which must hold for a
    /// prefix of the order (true up to some point, false after): the rank where a
    /// range starts or ends. O(log n).
    pub fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Packed { buf, .. } => packed_iter(buf)
                .take_while(|(_, _, s, m)| pred(*s, m))
                .count(),
            Repr::Tree(b) => b.tree.root.count_while(&pred),
        }
    }

    /// Calls `f` with the members of ascending ranks `start..end` in ascending order,
    /// or in descending order when `rev`. O(log n + end - start).
    pub fn for_range<'a>(
        &'a self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(f64, &'a [u8]),
    ) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match &self.repr {
            Repr::Packed { buf, .. } => {
                let items = packed_iter(buf).skip(start).take(end - start);
                if rev {
                    let v: Vec<_> = items.collect();
                    for (_, _, s, m) in v.into_iter().rev() {
                        f(s, m);
                    }
                } else {
                    for (_, _, s, m) in items {
                        f(s, m);
                    }
                }
            }
            Repr::Tree(b) => b.tree.root.visit(start, end, rev, &mut f),
        }
    }

    /// Calls `f` with every member in ascending order.
    pub fn for_each<'a>(&'a self, f: impl FnMut(f64, &'a [u8])) {
        self.for_range(0, self.len(), false, f);
    }

    /// Every (score, member), in ascending order, copied.
    pub fn to_vec(&self) -> Vec<(f64, Vec<u8>)> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|s, m| v.push((s, m.to_vec())));
        v
    }

    /// Removes the members of ascending ranks `start..end`; returns how many.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let mut doomed = Vec::new();
        self.for_range(start, end, false, |_, m| doomed.push(m.to_vec()));
        for m in &doomed {
            self.remove(m);
        }
        doomed.len()
    }

    /// One ZSCAN step: calls `visit` for members from `cursor` on (about `count`)
    /// and returns the cursor to continue from (0 when done). A packed set is
    /// returned whole. For the tree form the cursor walks the table's chunks and
    /// buckets; it never skips a member present throughout (a chunk that grew is
    /// rescanned from its first bucket, a split of the chunks restarts the scan).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Packed { buf, .. } => {
                for (_, _, s, m) in packed_iter(buf) {
                    visit(m, s);
                }
                0
            }
            Repr::Tree(b) => {
                let d = &b.dict;
                let (stamp_bits, stamp_log2) = ((cursor >> 58) as u32, (cursor >> 52) & 0x3f);
                let mut chunk = ((cursor >> 32) & 0xf_ffff) as usize;
                let mut at = (cursor & 0xffff_ffff) as usize;
                if cursor != 0 && (stamp_bits != d.bits || chunk >= d.chunks.len()) {
                    chunk = 0;
                    at = 0;
                } else if cursor != 0
                    && u64::from(d.chunks[chunk].num_buckets().trailing_zeros()) != stamp_log2
                {
                    at = 0;
                }
                let mut seen = 0;
                let mut budget = count.saturating_mul(10).max(100);
                while chunk < d.chunks.len() && seen < count.max(1) && budget > 0 {
                    let t = &d.chunks[chunk];
                    if at >= t.num_buckets() {
                        chunk += 1;
                        at = 0;
                        continue;
                    }
                    if let Some((m, s)) = t.get_bucket(at) {
                        visit(m.bytes(), *s);
                        seen += 1;
                    }
                    at += 1;
                    budget -= 1;
                }
                while chunk < d.chunks.len() && at >= d.chunks[chunk].num_buckets() {
                    chunk += 1;
                    at = 0;
                }
                if chunk >= d.chunks.len() {
                    return 0;
                }
                let log2 = u64::from(d.chunks[chunk].num_buckets().trailing_zeros());
                (u64::from(d.bits) << 58) | (log2 << 52) | ((chunk as u64) << 32) | at as u64
            }
        }
    }

    /// Approximate heap bytes used.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Packed { buf, .. } => buf.capacity(),
            Repr::Tree(b) => {
                // Leaves about 3/4 full, 16-byte items; members with their header.
                let leaves = b.tree.len * 16 * 4 / 3 + (b.tree.len / LEAF_MAX + 1) * 48;
                leaves + b.dict.heap_size() + b.member_bytes + b.tree.len * 16
            }
        }
    }

    /// Converts a tree-form set that fits `limits` to the packed form (what Redis
    /// does after loading a set, and for the results of ZUNIONSTORE and friends).
    pub fn pack_if_fits(&mut self, limits: ZsetLimits) {
        if self.is_packed() || self.len() > limits.entries {
            return;
        }
        let mut fits = true;
        self.for_each(|_, m| fits &= m.len() <= limits.value);
        if !fits {
            return;
        }
        let mut packed = ZsetValue::new();
        self.for_each(|s, m| {
            packed.insert(m, s, limits);
        });
        *self = packed;
    }

    fn convert(&mut self) {
        if let Repr::Packed { buf, .. } = &self.repr {
            let mut big = Big {
                tree: Tree::new(),
                dict: Dict::new(),
                member_bytes: 0,
            };
            for (_, _, s, m) in packed_iter(buf) {
                let member = Member::new(m);
                big.dict.insert(member.clone(), s);
                big.tree.insert(s, member);
                big.member_bytes += m.len();
            }
            self.repr = Repr::Tree(big);
        }
    }
}

impl std::fmt::Debug for ZsetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        self.for_each(|s, m| {
            l.entry(&(String::from_utf8_lossy(m), s));
        });
        l.finish()
    }
}

impl PartialEq for ZsetValue {
    fn eq(&self, other: &ZsetValue) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut same = true;
        self.for_each(|s, m| {
            if same && other.score(m) != Some(s) {
                same = false;
            }
        });
        same
    }
}

impl Eq for ZsetValue {}

/// Formats a score as Redis 7.0 replies with it (`%.17g`): `0.10000000000000001`,
/// `3`, `1e+20`, `-0`, `inf`. Appends to `out`.
pub fn format_score(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if d.is_infinite() {
        let text: &[u8] = if d > 0.0 { b"inf" } else { b"-inf" };
        out.extend_from_slice(text);
        return;
    }
    let sci = format!("{d:.16e}");
    let (neg, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if neg {
        out.push(b'-');
    }
    if !(-4..17).contains(&exp) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(a.to_string().as_bytes());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.extend_from_slice(&digits);
            out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
        } else {
            out.extend_from_slice(&digits[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[int_len..]);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', exp.unsigned_abs() as usize - 1));
        out.extend_from_slice(&digits);
    }
}

/// A score as Redis's `d2string` writes it into a listpack or an RDB file: integers
/// in the exact range as integers, else `%.17g`.
pub fn score_to_string(d: f64, out: &mut Vec<u8>) {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 4_503_599_627_370_496.0 {
        if d == 0.0 && d.is_sign_negative() {
            out.extend_from_slice(b"-0");
        } else {
            out.extend_from_slice((d as i64).to_string().as_bytes());
        }
    } else {
        format_score(d, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap};

    fn fmt(d: f64) -> String {
        let mut v = Vec::new();
        format_score(d, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn formats_like_percent_17g() {
        assert_eq!(fmt(0.1), "0.10000000000000001");
        assert_eq!(fmt(3.0), "3");
        assert_eq!(fmt(1e20), "1e+20");
        assert_eq!(fmt(-0.0), "-0");
        assert_eq!(fmt(f64::INFINITY), "inf");
        assert_eq!(fmt(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt(1.5), "1.5");
        assert_eq!(fmt(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(fmt(0.3), "0.29999999999999999");
        assert_eq!(fmt(0.0001), "0.0001");
        assert_eq!(fmt(0.00001), "1.0000000000000001e-05");
        assert_eq!(fmt(1e16), "10000000000000000");
        assert_eq!(fmt(-2.5e-300), "-2.5e-300");
        // Against C's printf("%.17g") (computed with Python's % operator, which uses it).
        let printf: &[(f64, &str)] = &[
            (
                f64::from_bits(0x0000000000000001),
                "4.9406564584124654e-324",
            ),
            (
                f64::from_bits(0x7fefffffffffffff),
                "1.7976931348623157e+308",
            ),
            (
                f64::from_bits(0x0010000000000000),
                "2.2250738585072014e-308",
            ),
            (f64::from_bits(0x3ee4f8b588e368f1), "1.0000000000000001e-05"),
            (f64::from_bits(0x40fe240c9fbe76c9), "123456.789"),
            (f64::from_bits(0x4376345785d8a000), "1e+17"),
            (f64::from_bits(0x4341c37937e08000), "10000000000000000"),
            (f64::from_bits(0x4376345785d89fff), "99999999999999984"),
            (f64::from_bits(0x3f201f31f46ed246), "0.00012300000000000001"),
            (
                f64::from_bits(0x800012688b70e62b),
                "-9.9999999999999694e-311",
            ),
            (f64::from_bits(0x4164d8399f767c45), "10928588.983213553"),
            (
                f64::from_bits(0x5bc8fbbcbde5c099),
                "1.4186613525849614e+134",
            ),
            (
                f64::from_bits(0xb0c11fdecb91ce37),
                "-7.5719685560558675e-74",
            ),
            (
                f64::from_bits(0xd76d4330f1446bea),
                "-1.4074705188261364e+113",
            ),
            (
                f64::from_bits(0xa6eb8c9ebd69fe29),
                "-3.3339745473042614e-121",
            ),
            (
                f64::from_bits(0x87b0b125ec1d7da0),
                "-1.2342180766211395e-271",
            ),
            (
                f64::from_bits(0xd7210dff076ce2ef),
                "-5.1268640042449351e+111",
            ),
            (
                f64::from_bits(0xc6a5387777330bdb),
                "-2.1520217579844227e+32",
            ),
            (f64::from_bits(0x3fc1ea36f17fd374), "0.1399601630397701"),
            (f64::from_bits(0x0d464138a6233255), "1.01853664031722e-244"),
            (
                f64::from_bits(0x2827688de6a16a3b),
                "2.9704598186234577e-115",
            ),
            (
                f64::from_bits(0x5f2dd97f1cfb10f6),
                "3.0534183338726823e+150",
            ),
            (
                f64::from_bits(0xde5271007814e8a2),
                "-2.3027782228163463e+146",
            ),
            (
                f64::from_bits(0x617959ce3f1f65a8),
                "3.5640962116365598e+161",
            ),
            (
                f64::from_bits(0x1a1afe878b33e968),
                "6.3529290172074526e-183",
            ),
            (f64::from_bits(0x3fd4235992edcf45), "0.31465758656053239"),
            (
                f64::from_bits(0xbb2edb20035b7399),
                "-1.2761724801771812e-23",
            ),
            (
                f64::from_bits(0x687c966c377b9aa2),
                "2.0868668176225336e+195",
            ),
            (f64::from_bits(0x2e9c82b1478c281d), "3.6689882774570399e-84"),
            (
                f64::from_bits(0xde11cc9dea959c21),
                "-1.389122273370197e+145",
            ),
        ];
        for (d, want) in printf {
            assert_eq!(fmt(*d), *want);
        }
        let mut v = Vec::new();
        score_to_string(-0.0, &mut v);
        assert_eq!(v, b"-0");
        v.clear();
        score_to_string(42.0, &mut v);
        assert_eq!(v, b"42");
    }

    /// The model: a set of (score, member) in order plus the member → score map.
    #[derive(Default, Clone)]
    struct Model {
        order: BTreeSet<(OrdF, Vec<u8>)>,
        scores: HashMap<Vec<u8>, f64>,
    }

    #[derive(Clone, Copy, PartialEq, Debug)]
    struct OrdF(f64);
    impl Eq for OrdF {}
    impl PartialOrd for OrdF {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for OrdF {
        fn cmp(&self, o: &Self) -> Ordering {
            self.0.partial_cmp(&o.0).unwrap()
        }
    }

    impl Model {
        fn insert(&mut self, m: &[u8], s: f64) -> Option<f64> {
            let old = self.scores.insert(m.to_vec(), s);
            if let Some(o) = old {
                self.order.remove(&(OrdF(o), m.to_vec()));
            }
            self.order.insert((OrdF(s), m.to_vec()));
            old
        }
        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let old = self.scores.remove(m)?;
            self.order.remove(&(OrdF(old), m.to_vec()));
            Some(old)
        }
        fn items(&self) -> Vec<(f64, Vec<u8>)> {
            self.order.iter().map(|(s, m)| (s.0, m.clone())).collect()
        }
    }

    fn check(z: &ZsetValue, model: &Model) {
        let items = model.items();
        assert_eq!(z.len(), items.len());
        let got = z.to_vec();
        assert_eq!(got.len(), items.len());
        for (a, b) in got.iter().zip(&items) {
            assert_eq!(a.1, b.1);
            assert!(a.0 == b.0, "{} vs {}", a.0, b.0);
        }
        for (i, (s, m)) in items.iter().enumerate() {
            assert_eq!(z.rank(m), Some(i));
            assert_eq!(z.score(m), Some(*s));
            let (ns, nm) = z.nth(i).unwrap();
            assert_eq!(nm, &m[..]);
            assert!(ns == *s);
        }
        assert_eq!(z.nth(items.len()), None);
        // Reverse ranges.
        let mut rev = Vec::new();
        z.for_range(1, items.len().saturating_sub(1), true, |_, m| {
            rev.push(m.to_vec())
        });
        let expect: Vec<_> = items
            .iter()
            .skip(1)
            .take(items.len().saturating_sub(2))
            .rev()
            .map(|(_, m)| m.clone())
            .collect();
        assert_eq!(rev, expect);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, i8),
        Remove(u16),
        Snapshot,
        RemoveRange(u16, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u16..600, any::<i8>()).prop_map(|(m, s)| Op::Insert(m, s)),
            3 => (0u16..600).prop_map(Op::Remove),
            1 => Just(Op::Snapshot),
            1 => (0u16..50, 0u16..50).prop_map(|(a, b)| Op::RemoveRange(a, b)),
        ]
    }

    fn member(i: u16) -> Vec<u8> {
        format!("m{i}").into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn behaves_like_the_model(ops in proptest::collection::vec(op(), 1..1500),
                                  small in any::<bool>()) {
            let limits = if small { ZsetLimits::default() } else { ZsetLimits { entries: 0, value: 64 } };
            let mut z = ZsetValue::new();
            let mut model = Model::default();
            let mut snaps: Vec<(ZsetValue, Model)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(m, s) => {
                        let s = f64::from(s) / 4.0;
                        let m = member(m);
                        prop_assert_eq!(z.insert(&m, s, limits), model.insert(&m, s));
                    }
                    Op::Remove(m) => {
                        let m = member(m);
                        prop_assert_eq!(z.remove(&m), model.remove(&m));
                    }
                    Op::Snapshot => snaps.push((z.clone(), model.clone())),
                    Op::RemoveRange(a, b) => {
                        let (a, b) = (a as usize, a as usize + b as usize);
                        let doomed: Vec<_> = model.items().into_iter().skip(a).take(b.saturating_sub(a)).collect();
                        for (_, m) in &doomed { model.remove(m); }
                        prop_assert_eq!(z.remove_range(a, b), doomed.len());
                    }
                }
            }
            check(&z, &model);
            for (s, m) in &snaps {
                check(s, m);
            }
            // Score and lex range counts.
            let items = model.items();
            for bound in -33i32..33 {
                let b = f64::from(bound) / 4.0;
                let lt = items.iter().filter(|(s, _)| *s < b).count();
                let le = items.iter().filter(|(s, _)| *s <= b).count();
                prop_assert_eq!(z.count_while(|s, _| s < b), lt);
                prop_assert_eq!(z.count_while(|s, _| s <= b), le);
            }
        }

        #[test]
        fn lex_ranges_with_equal_scores(members in proptest::collection::btree_set("[a-e]{0,4}", 0..400),
                                        lo in "[a-e]{0,3}") {
            let mut z = ZsetValue::new();
            for m in &members {
                z.insert(m.as_bytes(), 0.0, ZsetLimits::default());
            }
            let expect = members.iter().filter(|m| m.as_bytes() < lo.as_bytes()).count();
            prop_assert_eq!(z.count_while(|_, m| m < lo.as_bytes()), expect);
        }
    }

    #[test]
    fn big_set_and_snapshot_share_nodes() {
        let mut z = ZsetValue::new();
        for i in 0..20_000u32 {
            z.insert(
                format!("member:{i}").as_bytes(),
                f64::from(i % 1000),
                ZsetLimits::default(),
            );
        }
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.len(), 20_000);
        let snap = z.clone();
        z.insert(b"member:5", -1.0, ZsetLimits::default());
        assert_eq!(z.rank(b"member:5"), Some(0));
        assert_eq!(snap.score(b"member:5"), Some(5.0));
        assert_eq!(snap.nth(0).unwrap().1, b"member:0");
        // Only the written path was copied: most leaves are still shared.
        let (Repr::Tree(a), Repr::Tree(b)) = (&z.repr, &snap.repr) else {
            panic!("tree form")
        };
        let shared = a
            .dict
            .chunks
            .iter()
            .zip(&b.dict.chunks)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert!(shared + 1 >= a.dict.chunks.len());
        for i in 0..20_000u32 {
            z.remove(format!("member:{i}").as_bytes());
        }
        assert!(z.is_empty());
        assert_eq!(snap.len(), 20_000);
        let mut cursor = 0;
        let mut seen = std::collections::HashSet::new();
        loop {
            cursor = snap.scan(cursor, 100, |m, _| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 20_000);
    }

    #[test]
    fn deep_trees_against_the_model() {
        // Enough members for inner nodes to split and merge (height 3).
        let mut z = ZsetValue::new();
        let mut model = Model::default();
        let mut x: u64 = 7;
        let mut snap = None;
        for step in 0..120_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = format!("{}", x % 30_000).into_bytes();
            // Grow first, then shrink.
            if (step < 70_000 && x % 4 != 0) || (step >= 70_000 && x % 4 == 0) {
                let s = (x % 97) as f64;
                assert_eq!(z.insert(&m, s, ZsetLimits::default()), model.insert(&m, s));
            } else {
                assert_eq!(z.remove(&m), model.remove(&m));
            }
            if step == 60_000 {
                snap = Some((z.clone(), model.clone()));
            }
            if step % 20_000 == 0 {
                check(&z, &model);
            }
        }
        check(&z, &model);
        let (sz, sm) = snap.unwrap();
        check(&sz, &sm);
    }

    #[test]
    fn sequential_inserts_fill_nodes_and_stay_ordered() {
        for descending in [false, true] {
            let mut z = ZsetValue::new();
            let mut model = Model::default();
            for i in 0..20_000u32 {
                let k = if descending { 20_000 - i } else { i };
                let m = format!("m{k}").into_bytes();
                z.insert(&m, f64::from(k), ZsetLimits::default());
                model.insert(&m, f64::from(k));
            }
            check(&z, &model);
            // Full leaves: about 20_000 / 63 of them.
            let Repr::Tree(b) = &z.repr else {
                panic!("tree form")
            };
            fn leaves(n: &Node) -> usize {
                match n {
                    Node::Leaf(_) => 1,
                    Node::Inner(i) => i.children.iter().map(|c| leaves(c)).sum(),
                }
            }
            let n = leaves(&b.tree.root);
            assert!(n < 20_000 / 60 + 5, "{n} leaves");
            for i in (0..20_000u32).step_by(3) {
                let k = if descending { 20_000 - i } else { i };
                z.remove(format!("m{k}").as_bytes());
                model.remove(format!("m{k}").as_bytes());
            }
            check(&z, &model);
        }
    }

    #[test]
    fn packed_limits_and_negative_zero() {
        let mut z = ZsetValue::new();
        z.insert(b"a", -0.0, ZsetLimits::default());
        assert!(z.score(b"a").unwrap().is_sign_positive());
        z.insert(&[b'x'; 65], 1.0, ZsetLimits::default());
        assert_eq!(z.encoding(), "skiplist");
        z.insert(b"b", -0.0, ZsetLimits::default());
        assert!(z.score(b"b").unwrap().is_sign_negative());
        let z = ZsetValue::with_hint(
            1,
            3,
            ZsetLimits {
                entries: 0,
                value: 64,
            },
        );
        assert_eq!(z.encoding(), "skiplist");
    }
}
