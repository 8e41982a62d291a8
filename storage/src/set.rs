//! The set type: unique byte-string members, compact while small and all-integer.
//!
//! As Redis 7.0 does, a set whose members are all integers in canonical form (what
//! Redis's `string2ll` accepts: no sign but `-`, no leading zero) and at most
//! [`INTSET_MAX_ENTRIES`] of them is an *intset*: a sorted `Vec<i64>` (8 bytes per
//! member, no allocation per member), iterated in ascending order. Any other member,
//! or one more, converts it to a *table* (the `hashtable` encoding; never converted
//! back, as in Redis).
//!
//! The table is split by hash into chunks of about [`CHUNK_TARGET`] members (linear
//! hashing: one chunk splits in two each time the set grows by that many, so growth
//! never rehashes the whole set at once). A chunk keeps its members of up to
//! [`INLINE_MAX`] bytes in an *arena*, `[len: u8][bytes]` records back to back, and
//! longer ones in allocations of their own; a hashbrown table of `u32`s (each a
//! record's offset, or a long member's index) finds them. A short member thus costs
//! its bytes, one byte of length and about 7 bytes of table (4 per bucket, 1 of
//! control, buckets between 7/16 and 7/8 full), with no allocation of its own:
//! about 23 bytes for a 13-byte member, where Redis 7.0's dict entry, `sds` and
//! bucket cost 56. Removal leaves a hole in the arena; a chunk whose arena is more
//! than half holes is compacted (its records copied, its table's slots rewritten in
//! place).
//!
//! A set sits in an [`crate::Entry`] behind an `Arc`, and each chunk is an `Arc` of
//! its own: the first write to a set a snapshot shares copies the chunk directory (a
//! pointer per ~1024 members: 8 KB for 1M members) and the one chunk it changes
//! (~1024 members, about 25 KB of short ones); the rest stays shared. SISMEMBER and
//! SADD hash once, pick the chunk from the hash and look in its table: O(1).

use std::sync::{Arc, LazyLock};

use hashbrown::HashTable;

use crate::KeyHasher;

/// Most members an intset holds (Redis's `set-max-intset-entries`).
pub const INTSET_MAX_ENTRIES: usize = 512;

/// Members per chunk of a table, on average, before one more chunk splits off
/// (fewer in unit tests, so that their sets split many times).
pub const CHUNK_TARGET: usize = if cfg!(test) { 32 } else { 1024 };

/// The longest member a chunk keeps in its arena; longer ones get an allocation.
pub const INLINE_MAX: usize = 64;

/// At most 2^20 chunks (an SSCAN cursor holds the chunk index in 20 bits).
const MAX_CHUNKS: usize = 1 << 20;

/// The flag of a table slot that names a long member (the rest is its index).
const BIG: u32 = 1 << 31;

static MEMBER_HASHER: LazyLock<KeyHasher> = LazyLock::new(KeyHasher::new);

fn member_hash(m: &[u8]) -> u64 {
    MEMBER_HASHER.hash(m)
}

/// The integer `s` stands for when it is one in canonical form (Redis's `string2ll`).
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    (itoa::Buffer::new().format(v).as_bytes() == s).then_some(v)
}

/// One member, borrowed: an integer of an intset, or the bytes of a table's member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    /// A member of an intset.
    Int(i64),
    /// A member of a table.
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Runs `f` on the member's bytes (an integer is formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => {
                let mut b = itoa::Buffer::new();
                f(b.format(*v).as_bytes())
            }
            Member::Bytes(b) => f(b),
        }
    }

    /// The member's bytes, owned.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }
}

/// A set value. See the module docs.
#[derive(Clone, Debug)]
pub struct SetValue {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    Ints(Vec<i64>),
    Table(Table),
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue {
            repr: Repr::Ints(Vec::new()),
        }
    }
}

impl SetValue {
    /// An empty set (an intset until a member says otherwise).
    pub fn new() -> SetValue {
        SetValue::default()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `intset` or `hashtable`, as OBJECT ENCODING reports it.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// The members of an intset, ascending (`None` for a table).
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.repr {
            Repr::Ints(v) => Some(v),
            Repr::Table(_) => None,
        }
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => canonical_int(m).is_some_and(|i| v.binary_search(&i).is_ok()),
            Repr::Table(t) => t.contains(m),
        }
    }

    /// [`SetValue::contains`] for a member of another set.
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (&self.repr, m) {
            (Repr::Ints(v), Member::Int(i)) => v.binary_search(&i).is_ok(),
            _ => m.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `m`; true when it is new. An intset holds up to [`INTSET_MAX_ENTRIES`].
    pub fn insert(&mut self, m: &[u8]) -> bool {
        self.insert_within(m, INTSET_MAX_ENTRIES)
    }

    /// [`SetValue::insert`] where an intset holds at most `max_ints` integers
    /// (`set-max-intset-entries`): past it the set converts to a table, never back.
    pub fn insert_within(&mut self, m: &[u8], max_ints: usize) -> bool {
        if let Repr::Ints(v) = &mut self.repr {
            if let Some(i) = canonical_int(m) {
                match v.binary_search(&i) {
                    Ok(_) => return false,
                    Err(at) if v.len() < max_ints => {
                        v.insert(at, i);
                        return true;
                    }
                    Err(_) => {}
                }
            }
            self.convert_to_table();
        }
        let Repr::Table(t) = &mut self.repr else {
            unreachable!("converted above")
        };
        t.insert(m)
    }

    /// [`SetValue::insert`] of a member of another set.
    pub fn insert_member(&mut self, m: Member<'_>) -> bool {
        self.insert_member_within(m, INTSET_MAX_ENTRIES)
    }

    /// [`SetValue::insert_within`] of a member of another set.
    pub fn insert_member_within(&mut self, m: Member<'_>, max_ints: usize) -> bool {
        match (&mut self.repr, m) {
            (Repr::Ints(v), Member::Int(i)) if v.len() < max_ints => match v.binary_search(&i) {
                Ok(_) => false,
                Err(at) => {
                    v.insert(at, i);
                    true
                }
            },
            _ => m.with_bytes(|b| self.insert_within(b, max_ints)),
        }
    }

    /// Removes `m`; true when it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match canonical_int(m).map(|i| v.binary_search(&i)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Repr::Table(t) => t.remove(m),
        }
    }

    /// Every member: ascending for an intset, table order otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Member<'_>> + '_> {
        match &self.repr {
            Repr::Ints(v) => Box::new(v.iter().map(|i| Member::Int(*i))),
            Repr::Table(t) => Box::new(t.iter().map(Member::Bytes)),
        }
    }

    /// A member chosen by `rand` (a number below its argument): O(1) expected.
    pub fn random(&self, mut rand: impl FnMut(usize) -> usize) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(v) => (!v.is_empty()).then(|| Member::Int(v[rand(v.len())])),
            Repr::Table(t) => t.random(rand).map(Member::Bytes),
        }
    }

    /// Removes and returns a member chosen by `rand`.
    pub fn pop_random(&mut self, rand: impl FnMut(usize) -> usize) -> Option<Vec<u8>> {
        let m = self.random(rand)?.to_vec();
        self.remove(&m);
        Some(m)
    }

    /// One SSCAN step, as [`crate::HashValue::scan`]: an intset comes back whole with
    /// cursor 0; a table by bucket index.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'_>)) -> u64 {
        match &self.repr {
            Repr::Ints(v) => {
                for i in v {
                    visit(Member::Int(*i));
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |m| visit(Member::Bytes(m))),
        }
    }

    /// Approximate heap bytes used.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.capacity() * 8,
            Repr::Table(t) => t.heap_size(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Repr::Ints(v) = &self.repr {
            let mut t = Table::new();
            let mut b = itoa::Buffer::new();
            for i in v {
                t.insert(b.format(*i).as_bytes());
            }
            self.repr = Repr::Table(t);
        }
    }
}

// ---------------------------------------------------------------------------------
// The table: chunks by hash (linear hashing)
// ---------------------------------------------------------------------------------

/// Members of a chunk: short ones in an arena, long ones boxed, a table of slots.
#[derive(Clone, Debug, Default)]
struct Chunk {
    /// `[len: u8][bytes]` records of members of up to [`INLINE_MAX`] bytes.
    arena: Vec<u8>,
    /// Members longer than [`INLINE_MAX`].
    big: Vec<Box<[u8]>>,
    /// One slot per member: its record's offset in `arena`, or [`BIG`] | its index
    /// in `big`.
    index: HashTable<u32>,
    /// Arena bytes of removed members' records.
    dead: usize,
    /// Changes whenever slots move between buckets (the table grew, was rehashed or
    /// rebuilt): an SSCAN cursor inside this chunk then starts it over.
    generation: u16,
}

#[inline]
fn record<'a>(arena: &'a [u8], big: &'a [Box<[u8]>], slot: u32) -> &'a [u8] {
    if slot & BIG != 0 {
        &big[(slot & !BIG) as usize]
    } else {
        let at = slot as usize;
        let n = arena[at] as usize;
        &arena[at + 1..at + 1 + n]
    }
}

impl Chunk {
    fn with_capacity(members: usize, arena: usize) -> Chunk {
        Chunk {
            arena: Vec::with_capacity(arena),
            index: HashTable::with_capacity(members),
            ..Chunk::default()
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.index.len()
    }

    #[inline]
    fn find(&self, h: u64, m: &[u8]) -> Option<&u32> {
        let (arena, big) = (&self.arena, &self.big);
        self.index.find(h, |&s| record(arena, big, s) == m)
    }

    #[inline]
    fn get(&self, slot: u32) -> &[u8] {
        record(&self.arena, &self.big, slot)
    }

    /// Adds `m` (not a member yet), whose hash is `h`.
    fn insert(&mut self, h: u64, m: &[u8]) {
        let slot = if m.len() <= INLINE_MAX {
            let need = 1 + m.len();
            if self.arena.len() + need > self.arena.capacity() {
                // Grow by a quarter, not double: the spare capacity is memory.
                self.arena
                    .reserve_exact(need.max(self.arena.len() / 4).max(64));
            }
            let at = self.arena.len();
            // An arena stays far below 2 GiB: ~2k members of <= 65 bytes (a chunk
            // splits as the set grows, up to 2^20 chunks).
            assert!(at < BIG as usize, "set chunk arena over 2 GiB");
            self.arena.push(m.len() as u8);
            self.arena.extend_from_slice(m);
            at as u32
        } else {
            assert!(
                self.big.len() < BIG as usize,
                "set chunk over 2^31 long members"
            );
            self.big.push(m.into());
            BIG | (self.big.len() - 1) as u32
        };
        if self.index.len() == self.index.capacity() {
            // The insertion grows or rehashes the table: slots move.
            self.generation = self.generation.wrapping_add(1);
        }
        let (arena, big) = (&self.arena, &self.big);
        self.index
            .insert_unique(h, slot, |&s| member_hash(record(arena, big, s)));
    }

    /// Removes `m`; false when it is not a member.
    fn remove(&mut self, h: u64, m: &[u8]) -> bool {
        let (arena, big) = (&self.arena, &self.big);
        let slot = match self.index.find_entry(h, |&s| record(arena, big, s) == m) {
            Ok(e) => e.remove().0,
            Err(_) => return false,
        };
        if slot & BIG != 0 {
            let i = (slot & !BIG) as usize;
            self.big.swap_remove(i);
            if i < self.big.len() {
                // The last long member moved to `i`: its slot follows.
                let moved = member_hash(&self.big[i]);
                let last = BIG | self.big.len() as u32;
                if let Some(s) = self.index.find_mut(moved, |&s| s == last) {
                    *s = BIG | i as u32;
                }
            }
        } else {
            self.dead += 1 + self.arena[slot as usize] as usize;
        }
        if self.index.len() * 8 < self.index.num_buckets() && self.index.num_buckets() > 64 {
            self.rebuild();
        } else if self.dead > 256 && self.dead * 2 > self.arena.len() {
            self.compact();
        }
        true
    }

    /// Copies the live records into a new arena; slots stay in their buckets.
    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.dead);
        for s in self.index.iter_mut() {
            if *s & BIG == 0 {
                let at = *s as usize;
                let n = 1 + self.arena[at] as usize;
                *s = arena.len() as u32;
                arena.extend_from_slice(&self.arena[at..at + n]);
            }
        }
        self.arena = arena;
        self.dead = 0;
    }

    /// A fresh table and arena, sized for the members there are.
    fn rebuild(&mut self) {
        let live = self.arena.len() - self.dead;
        let mut out = Chunk::with_capacity(self.len(), live);
        for &s in &self.index {
            let m = self.get(s);
            out.insert(member_hash(m), m);
        }
        out.generation = self.generation.wrapping_add(1);
        *self = out;
    }

    fn heap_size(&self) -> usize {
        16 + std::mem::size_of::<Chunk>()
            + self.arena.capacity()
            + self.big.capacity() * 16
            + self.big.iter().map(|b| b.len()).sum::<usize>()
            + self.index.allocation_size()
    }
}

/// The table form of a set. See the module docs.
#[derive(Clone, Debug)]
struct Table {
    /// Chunk `i` holds the members whose hash bits 32.. select it (see `chunk_of`).
    chunks: Vec<Arc<Chunk>>,
    len: usize,
}

impl Table {
    fn new() -> Table {
        Table {
            chunks: vec![Arc::new(Chunk::default())],
            len: 0,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    /// Linear hashing: with `n` chunks and `2^l <= n < 2^(l+1)`, a hash goes to its
    /// bits mod `2^(l+1)`, or mod `2^l` when that chunk has not been split off yet.
    #[inline]
    fn chunk_of(&self, h: u64) -> usize {
        chunk_index(h, self.chunks.len())
    }

    fn contains(&self, m: &[u8]) -> bool {
        let h = member_hash(m);
        self.chunks[self.chunk_of(h)].find(h, m).is_some()
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        let h = member_hash(m);
        let c = self.chunk_of(h);
        if self.chunks[c].find(h, m).is_some() {
            return false;
        }
        Arc::make_mut(&mut self.chunks[c]).insert(h, m);
        self.len += 1;
        if self.len > CHUNK_TARGET * self.chunks.len() && self.chunks.len() < MAX_CHUNKS {
            self.split();
        }
        true
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        let h = member_hash(m);
        let c = self.chunk_of(h);
        // Look before copying a chunk a snapshot shares.
        if self.chunks[c].find(h, m).is_none() {
            return false;
        }
        let gone = Arc::make_mut(&mut self.chunks[c]).remove(h, m);
        debug_assert!(gone);
        self.len -= 1;
        true
    }

    /// Splits the next chunk in line in two: one more chunk (O(one chunk)).
    fn split(&mut self) {
        let n = self.chunks.len();
        let low = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let from = n - low;
        let old = &self.chunks[from];
        let per = old.len() / 2 + 16;
        let bytes = (old.arena.len() - old.dead) / 2 + 64;
        let (mut stay, mut go) = (
            Chunk::with_capacity(per, bytes),
            Chunk::with_capacity(per, bytes),
        );
        for &s in &old.index {
            let m = old.get(s);
            let h = member_hash(m);
            if chunk_index(h, n + 1) == n {
                go.insert(h, m);
            } else {
                stay.insert(h, m);
            }
        }
        stay.generation = old.generation.wrapping_add(1);
        stay.arena.shrink_to_fit();
        go.arena.shrink_to_fit();
        self.chunks[from] = Arc::new(stay);
        self.chunks.push(Arc::new(go));
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.index.iter().map(move |&s| c.get(s)))
    }

    /// A member chosen by `rand`: a chunk with a chance in proportion to its size
    /// (drawn, then kept with probability its size over a bound), then a bucket
    /// of its table until one holds a member.
    fn random(&self, mut rand: impl FnMut(usize) -> usize) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        let n = self.chunks.len();
        // Chunks hold between half and twice the average, give or take.
        let bound = self.len.div_ceil(n) * 9 / 4 + 1;
        let c = loop {
            let c = &self.chunks[rand(n)];
            if n == 1 || (c.len() > 0 && (c.len() >= bound || rand(bound) < c.len())) {
                break c;
            }
        };
        let buckets = c.index.num_buckets();
        loop {
            if let Some(&s) = c.index.get_bucket(rand(buckets)) {
                return Some(c.get(s));
            }
        }
    }

    /// One SSCAN step. The cursor is `generation << 44 | chunk << 24 | bucket`: it
    /// never skips a member present throughout (a chunk whose slots moved since is
    /// scanned again from its first bucket; a split only moves members to a new
    /// chunk at the end).
    fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8])) -> u64 {
        let mut chunk = ((cursor >> 24) & 0xf_ffff) as usize;
        let mut at = (cursor & 0xff_ffff) as usize;
        if chunk >= self.chunks.len() {
            return 0;
        }
        if cursor != 0 && (cursor >> 44) as u16 != self.chunks[chunk].generation {
            at = 0;
        }
        let mut seen = 0;
        let mut budget = count.saturating_mul(10).max(100);
        while chunk < self.chunks.len() && seen < count.max(1) && budget > 0 {
            let t = &self.chunks[chunk].index;
            if at >= t.num_buckets() {
                chunk += 1;
                at = 0;
                continue;
            }
            if let Some(&s) = t.get_bucket(at) {
                visit(self.chunks[chunk].get(s));
                seen += 1;
            }
            at += 1;
            budget -= 1;
        }
        while chunk < self.chunks.len() && at >= self.chunks[chunk].index.num_buckets() {
            chunk += 1;
            at = 0;
        }
        if chunk >= self.chunks.len() {
            return 0;
        }
        (u64::from(self.chunks[chunk].generation) << 44) | ((chunk as u64) << 24) | at as u64
    }

    fn heap_size(&self) -> usize {
        std::mem::size_of::<Table>()
            + self.chunks.capacity() * 8
            + self.chunks.iter().map(|c| c.heap_size()).sum::<usize>()
    }
}

/// The chunk of a table of `n` chunks that hash `h` belongs to.
#[inline]
fn chunk_index(h: u64, n: usize) -> usize {
    let x = (h >> 32) as usize;
    let low = 1usize << (usize::BITS - 1 - n.leading_zeros());
    let i = x & (2 * low - 1);
    if i >= n {
        i - low
    } else {
        i
    }
}

impl FromIterator<Vec<u8>> for SetValue {
    fn from_iter<T: IntoIterator<Item = Vec<u8>>>(iter: T) -> Self {
        let mut s = SetValue::new();
        for m in iter {
            s.insert(&m);
        }
        s
    }
}

impl PartialEq for SetValue {
    fn eq(&self, other: &SetValue) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(m))
    }
}

impl Eq for SetValue {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn canonical_integers_only() {
        for ok in [
            "0",
            "-1",
            "42",
            "9223372036854775807",
            "-9223372036854775808",
        ] {
            assert!(canonical_int(ok.as_bytes()).is_some(), "{ok}");
        }
        for bad in [
            "",
            "01",
            "-0",
            "+1",
            " 1",
            "1 ",
            "9223372036854775808",
            "1.0",
            "a",
        ] {
            assert_eq!(canonical_int(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn intset_until_a_string_or_too_many() {
        let mut s = SetValue::new();
        assert!(s.insert(b"3") && s.insert(b"-1") && !s.insert(b"3"));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(s.ints(), Some(&[-1, 3][..]));
        assert!(s.contains(b"3") && !s.contains(b"03"));
        assert!(s.insert(b"03"));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"3") && s.contains(b"03") && s.contains(b"-1"));
        let mut s = SetValue::new();
        for i in 0..INTSET_MAX_ENTRIES as i64 {
            s.insert(i.to_string().as_bytes());
        }
        assert_eq!(s.encoding(), "intset");
        s.insert(b"100000");
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), INTSET_MAX_ENTRIES + 1);
    }

    #[test]
    fn behaves_like_a_hashset() {
        let mut s = SetValue::new();
        let mut model: HashSet<Vec<u8>> = HashSet::new();
        let mut x: u64 = 9;
        let mut snapshots: Vec<(SetValue, HashSet<Vec<u8>>)> = Vec::new();
        for round in 0..20_000 {
            if round % 5000 == 2500 {
                // A snapshot (clone) taken midway keeps its contents.
                snapshots.push((s.clone(), model.clone()));
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = if round < 10_000 {
                format!("{}", x % 700)
            } else {
                format!("m{}", x % 700)
            }
            .into_bytes();
            if x % 3 == 0 {
                assert_eq!(s.remove(&m), model.remove(&m));
            } else {
                assert_eq!(s.insert(&m), model.insert(m));
            }
            assert_eq!(s.len(), model.len());
        }
        let got: HashSet<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        assert_eq!(got, model);
        for (snap, want) in &snapshots {
            let got: HashSet<Vec<u8>> = snap.iter().map(|m| m.to_vec()).collect();
            assert_eq!(&got, want);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, model);
        let mut n = 0;
        let mut r: u64 = 77;
        let mut rand = move |b: usize| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            (r % b as u64) as usize
        };
        while let Some(m) = s.pop_random(&mut rand) {
            assert!(model.remove(&m));
            n += 1;
        }
        assert!(model.is_empty() && n > 0);
    }

    fn table(s: &SetValue) -> &Table {
        match &s.repr {
            Repr::Table(t) => t,
            Repr::Ints(_) => panic!("an intset"),
        }
    }

    /// Checks a set's contents against the model, and the table's inner invariants.
    fn check(s: &SetValue, model: &HashSet<Vec<u8>>) {
        assert_eq!(s.len(), model.len());
        let got: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        assert_eq!(got.len(), model.len(), "iteration yields each member once");
        assert_eq!(got.into_iter().collect::<HashSet<_>>(), *model);
        for m in model {
            assert!(s.contains(m));
        }
        if let Repr::Table(t) = &s.repr {
            assert_eq!(t.chunks.iter().map(|c| c.len()).sum::<usize>(), t.len);
            for (i, c) in t.chunks.iter().enumerate() {
                let live: usize = c
                    .index
                    .iter()
                    .filter(|&&sl| sl & BIG == 0)
                    .map(|&sl| 1 + c.arena[sl as usize] as usize)
                    .sum();
                assert_eq!(live + c.dead, c.arena.len(), "arena accounting");
                assert_eq!(
                    c.index.iter().filter(|&&sl| sl & BIG != 0).count(),
                    c.big.len()
                );
                for &sl in &c.index {
                    assert_eq!(chunk_index(member_hash(c.get(sl)), t.chunks.len()), i);
                }
            }
        }
    }

    #[test]
    fn a_write_to_a_shared_set_copies_one_chunk() {
        let s: SetValue = (0..100_000u32)
            .map(|i| format!("member:{i}").into_bytes())
            .collect();
        assert!(table(&s).chunks.len() >= 64);
        let snapshot = s.clone();
        let mut s = s;
        assert!(s.insert(b"new one"));
        assert!(s.remove(b"member:5"));
        let (a, b) = (table(&s), table(&snapshot));
        let shared = a
            .chunks
            .iter()
            .zip(&b.chunks)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        // The two chunks written, and the two of a split the insertion may cause.
        assert!(
            shared + 4 >= a.chunks.len(),
            "{shared} of {}",
            a.chunks.len()
        );
        assert!(snapshot.contains(b"member:5") && !snapshot.contains(b"new one"));
        assert!(!s.contains(b"member:5") && s.contains(b"new one"));
    }

    #[test]
    fn short_members_cost_their_bytes_plus_a_few() {
        let n = 200_000;
        let s: SetValue = (0..n).map(|i| format!("member:{i}").into_bytes()).collect();
        let per = s.heap_size() as f64 / n as f64;
        // 12.4 bytes on average plus one of length; the table, the chunks (of 32
        // members in unit tests, ~1024 in the server) and spare capacity stay below
        // 20 (a boxed member alone would cost 16 plus a 16-byte slot).
        assert!(per < 13.4 + 20.0, "{per} bytes per member");
    }

    #[test]
    fn random_members_are_drawn_from_every_chunk_evenly() {
        let n = 20_000u32;
        let s: SetValue = (0..n).map(|i| format!("m{i}").into_bytes()).collect();
        let t = table(&s);
        let mut r: u64 = 12345;
        let mut rand = move |b: usize| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            (r % b as u64) as usize
        };
        let mut per_chunk = vec![0usize; t.chunks.len()];
        let draws = 200_000;
        for _ in 0..draws {
            let m = t.random(&mut rand).unwrap();
            per_chunk[chunk_index(member_hash(m), t.chunks.len())] += 1;
        }
        // Each chunk is drawn in proportion to its size: Pearson's chi-square over
        // the chunks stays within 6 standard deviations of its mean.
        let chi2: f64 = t
            .chunks
            .iter()
            .zip(&per_chunk)
            .map(|(c, &got)| {
                let want = draws as f64 * c.len() as f64 / n as f64;
                (got as f64 - want).powi(2) / want
            })
            .sum();
        let df = (t.chunks.len() - 1) as f64;
        assert!(t.chunks.len() > 100);
        assert!(chi2 < df + 6.0 * (2.0 * df).sqrt(), "chi2 {chi2}, df {df}");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Vec<u8>),
        Remove(Vec<u8>),
        Pop,
        Snapshot,
        /// Scans a few steps with a cursor kept across the following operations.
        Scan(usize),
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => (0u32..3000).prop_map(|i| i.to_string().into_bytes()),
            4 => (0u32..3000).prop_map(|i| format!("m{i}").into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..8),
            1 => (0u32..50, 60usize..300).prop_map(|(i, n)| {
                let mut v = vec![b'x'; n];
                v.extend_from_slice(i.to_string().as_bytes());
                v
            }),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            12 => member().prop_map(Op::Insert),
            6 => member().prop_map(Op::Remove),
            1 => Just(Op::Pop),
            1 => Just(Op::Snapshot),
            1 => (1usize..50).prop_map(Op::Scan),
        ]
    }

    use proptest::prelude::*;

    type Members = HashSet<Vec<u8>>;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn behaves_like_a_hashset_model(
            ops in prop::collection::vec(op(), 0..3000),
            max_ints in prop_oneof![Just(0usize), Just(16), Just(512)],
        ) {
            let mut s = SetValue::new();
            let mut m: HashSet<Vec<u8>> = HashSet::new();
            let mut snaps: Vec<(SetValue, HashSet<Vec<u8>>)> = Vec::new();
            // An SSCAN in progress: its cursor, what it saw, the members present
            // since it started.
            let mut scan: Option<(u64, Members, Members)> = None;
            let mut r: u64 = 99;
            let mut rand = move |b: usize| {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                (r % b as u64) as usize
            };
            for op in ops {
                match op {
                    Op::Insert(v) => prop_assert_eq!(s.insert_within(&v, max_ints), m.insert(v)),
                    Op::Remove(v) => {
                        prop_assert_eq!(s.remove(&v), m.remove(&v));
                        if let Some((_, _, kept)) = &mut scan {
                            kept.remove(&v);
                        }
                    }
                    Op::Pop => {
                        let p = s.pop_random(&mut rand);
                        prop_assert_eq!(p.is_some(), !m.is_empty());
                        if let Some(p) = p {
                            prop_assert!(m.remove(&p));
                            if let Some((_, _, kept)) = &mut scan {
                                kept.remove(&p);
                            }
                        }
                    }
                    Op::Snapshot => snaps.push((s.clone(), m.clone())),
                    Op::Scan(steps) => {
                        let (mut cursor, mut seen, kept) =
                            scan.take().unwrap_or_else(|| (0, HashSet::new(), m.clone()));
                        for _ in 0..steps {
                            cursor = s.scan(cursor, 7, |x| {
                                seen.insert(x.to_vec());
                            });
                            if cursor == 0 {
                                break;
                            }
                        }
                        if cursor == 0 {
                            // Every member present throughout was returned.
                            prop_assert!(kept.is_subset(&seen));
                        } else {
                            scan = Some((cursor, seen, kept));
                        }
                    }
                }
                prop_assert_eq!(s.len(), m.len());
            }
            check(&s, &m);
            for (snap, model) in &snaps {
                check(snap, model);
            }
        }
    }
}
