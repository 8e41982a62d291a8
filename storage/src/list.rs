//! The list type: a sequence of byte strings with O(1) push and pop at both ends.
//!
//! Like Redis's quicklist, a list is a deque of *chunks*, each a packed run of up to
//! [`CHUNK_MAX_ITEMS`] elements and about [`CHUNK_MAX_BYTES`] bytes (an element larger
//! than that sits alone in its chunk). A chunk is two buffers: the elements' bytes back
//! to back, and a code per element (one byte while every string element of the chunk
//! is shorter than 248 bytes, else a `u32`), so a short element costs its bytes plus 1,
//! with no allocation of its own (Redis's listpack spends 2: a header and a back
//! length). An element in canonical decimal form (`-12`, `345`; what Redis's listpack
//! stores as an integer) is kept as 1 to 8 bytes of two's complement, its code giving
//! the width, and formatted back when read ([`Elem`]). Where an element starts is the
//! sum of the widths before it: a sum over at most 512 bytes, which the compiler
//! vectorizes; iterators carry the offset along. A chunk's fixed cost (two `Vec`s
//! behind an `Arc`, about 80 bytes) is shared by up to 512 elements, and a chunk that
//! filled up gives back its buffers' spare capacity.
//!
//! Copy-on-write at two levels: the list sits in an [`crate::Entry`] behind an `Arc`
//! (as hashes do), and each chunk is an `Arc` of its own. The first write to a list a
//! snapshot shares copies the deque of chunk pointers (8 bytes and a reference count
//! per chunk: O(len / 512)) and then only the chunk it changes (at most ~4 KiB); every
//! later write copies at most the chunks it touches that the snapshot still shares.
//!
//! Costs: push/pop at either end O(1) (a pop or push at the front moves the bytes of
//! one chunk: bounded); index lookups walk chunks from the nearer end (O(len / 512));
//! insertion and removal in the middle move one chunk's bytes.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// Most elements a chunk holds.
pub const CHUNK_MAX_ITEMS: usize = 512;
/// Bytes of elements past which a chunk takes no more (an element larger than this
/// gets a chunk of its own).
pub const CHUNK_MAX_BYTES: usize = 4096;

/// The longest element a list holds (lengths are `u32`, less eight codes for
/// integers); the server refuses longer ones before they reach the list.
pub const MAX_ELEMENT: usize = WIDE_INT as usize;

/// Narrow codes from here on are integers of `code - NARROW_INT` bytes (1..=8).
const NARROW_INT: u8 = 247;
/// Wide codes from here on are integers of `code - WIDE_INT` bytes (1..=8).
const WIDE_INT: u32 = u32::MAX - 8;

/// What a chunk stores for one element: a string of `n` bytes, or an integer (an
/// element in canonical decimal form, as Redis's listpack keeps them) in `k` bytes of
/// little-endian two's complement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    Str(usize),
    Int(usize),
}

impl Code {
    /// Bytes the element takes in the chunk's data.
    #[inline]
    fn stored(self) -> usize {
        match self {
            Code::Str(n) | Code::Int(n) => n,
        }
    }
}

/// An element encoded for a chunk.
enum Encoded<'a> {
    Str(&'a [u8]),
    Int([u8; 8], usize),
}

impl Encoded<'_> {
    fn of(item: &[u8]) -> Encoded<'_> {
        match crate::set::canonical_int(item) {
            Some(v) => {
                let k = (1..8)
                    .find(|&k| {
                        let shift = 64 - 8 * k as u32;
                        (v << shift) >> shift == v
                    })
                    .unwrap_or(8);
                Encoded::Int(v.to_le_bytes(), k)
            }
            None => Encoded::Str(item),
        }
    }

    fn code(&self) -> Code {
        match self {
            Encoded::Str(b) => Code::Str(b.len()),
            Encoded::Int(_, k) => Code::Int(*k),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Encoded::Str(b) => b,
            Encoded::Int(b, k) => &b[..*k],
        }
    }
}

/// The integer stored in `b` (1 to 8 bytes, little-endian, sign-extended).
#[inline]
fn read_int(b: &[u8]) -> i64 {
    let mut x = [0u8; 8];
    x[..b.len()].copy_from_slice(b);
    let shift = 64 - 8 * b.len() as u32;
    (i64::from_le_bytes(x) << shift) >> shift
}

/// One element of a list, borrowed: its bytes, or an integer the chunk keeps in
/// binary, formatted (on the stack) when read. Dereferences to the element's bytes.
#[derive(Clone, Copy)]
pub struct Elem<'a> {
    repr: ElemRepr<'a>,
}

#[derive(Clone, Copy)]
enum ElemRepr<'a> {
    Bytes(&'a [u8]),
    Digits([u8; 20], u8),
}

impl<'a> Elem<'a> {
    #[inline]
    fn decode(code: Code, b: &'a [u8]) -> Elem<'a> {
        match code {
            Code::Str(_) => Elem {
                repr: ElemRepr::Bytes(b),
            },
            Code::Int(_) => {
                let mut buf = [0u8; 20];
                let mut digits = itoa::Buffer::new();
                let s = digits.format(read_int(b)).as_bytes();
                buf[..s.len()].copy_from_slice(s);
                Elem {
                    repr: ElemRepr::Digits(buf, s.len() as u8),
                }
            }
        }
    }
}

impl std::ops::Deref for Elem<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.repr {
            ElemRepr::Bytes(b) => b,
            ElemRepr::Digits(buf, n) => &buf[..*n as usize],
        }
    }
}

impl AsRef<[u8]> for Elem<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Elem<'_> {
    fn eq(&self, other: &Elem<'_>) -> bool {
        **self == **other
    }
}

impl PartialEq<[u8]> for Elem<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[u8]> for Elem<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        **self == **other
    }
}

impl Eq for Elem<'_> {}

impl fmt::Debug for Elem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// Each element's code: bytes while every string element of the chunk is shorter
/// than 248 bytes (every chunk of short elements), `u32`s once one is not.
#[derive(Clone, PartialEq, Eq)]
enum Lens {
    Narrow(Vec<u8>),
    Wide(Vec<u32>),
}

impl Default for Lens {
    fn default() -> Self {
        Lens::Narrow(Vec::new())
    }
}

#[inline]
fn narrow(c: u8) -> Code {
    if c > NARROW_INT {
        Code::Int((c - NARROW_INT) as usize)
    } else {
        Code::Str(c as usize)
    }
}

#[inline]
fn wide(c: u32) -> Code {
    if c > WIDE_INT {
        Code::Int((c - WIDE_INT) as usize)
    } else {
        Code::Str(c as usize)
    }
}

/// `code` as a narrow code, when it has one.
fn to_narrow(code: Code) -> Option<u8> {
    match code {
        Code::Str(n) if n <= NARROW_INT as usize => Some(n as u8),
        Code::Str(_) => None,
        Code::Int(k) => Some(NARROW_INT + k as u8),
    }
}

fn to_wide(code: Code) -> u32 {
    match code {
        Code::Str(n) => {
            assert!(
                n <= WIDE_INT as usize,
                "list element over 4 GiB (an element that large is refused earlier)"
            );
            n as u32
        }
        Code::Int(k) => WIDE_INT + k as u32,
    }
}

impl Lens {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Lens::Narrow(v) => v.len(),
            Lens::Wide(v) => v.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Code {
        match self {
            Lens::Narrow(v) => narrow(v[i]),
            Lens::Wide(v) => wide(v[i]),
        }
    }

    /// The stored bytes of the first `n` elements.
    #[inline]
    fn prefix(&self, n: usize) -> usize {
        match self {
            // At most a few hundred codes below 256: a u32 sum cannot overflow.
            Lens::Narrow(v) => v[..n]
                .iter()
                .map(|&c| {
                    let c = c as u32;
                    if c > NARROW_INT as u32 {
                        c - NARROW_INT as u32
                    } else {
                        c
                    }
                })
                .sum::<u32>() as usize,
            Lens::Wide(v) => v[..n].iter().map(|&c| wide(c).stored()).sum(),
        }
    }

    /// Makes room for `code` (a string past 4 GiB panics before anything changes).
    fn allow(&mut self, code: Code) {
        to_wide(code);
        if let Lens::Narrow(v) = self {
            if to_narrow(code).is_none() {
                *self = Lens::Wide(v.iter().map(|&c| to_wide(narrow(c))).collect());
            }
        }
    }

    #[inline]
    fn raw(&self, code: Code) -> (u8, u32) {
        match self {
            Lens::Narrow(_) => (to_narrow(code).unwrap_or(0), 0),
            Lens::Wide(_) => (0, to_wide(code)),
        }
    }

    fn push(&mut self, code: Code) {
        self.allow(code);
        let (n, w) = self.raw(code);
        match self {
            Lens::Narrow(v) => v.push(n),
            Lens::Wide(v) => v.push(w),
        }
    }

    fn insert(&mut self, i: usize, code: Code) {
        self.allow(code);
        let (n, w) = self.raw(code);
        match self {
            Lens::Narrow(v) => v.insert(i, n),
            Lens::Wide(v) => v.insert(i, w),
        }
    }

    fn set(&mut self, i: usize, code: Code) {
        self.allow(code);
        let (n, w) = self.raw(code);
        match self {
            Lens::Narrow(v) => v[i] = n,
            Lens::Wide(v) => v[i] = w,
        }
    }

    fn remove(&mut self, i: usize) {
        match self {
            Lens::Narrow(v) => drop(v.remove(i)),
            Lens::Wide(v) => drop(v.remove(i)),
        }
    }

    fn drain_front(&mut self, n: usize) {
        match self {
            Lens::Narrow(v) => drop(v.drain(..n)),
            Lens::Wide(v) => drop(v.drain(..n)),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Lens::Narrow(v) => v.truncate(n),
            Lens::Wide(v) => v.truncate(n),
        }
    }

    /// The codes from `at` on, taken out (narrow when they fit).
    fn split_off(&mut self, at: usize) -> Lens {
        let mut out = Lens::default();
        for i in at..self.len() {
            out.push(self.get(i));
        }
        self.truncate(at);
        out
    }

    /// Gives back spare capacity, and goes back to bytes when every code fits.
    fn shrink_to_fit(&mut self) {
        match self {
            Lens::Narrow(v) => v.shrink_to_fit(),
            Lens::Wide(v) => {
                let codes: Option<Vec<u8>> = v.iter().map(|&c| to_narrow(wide(c))).collect();
                match codes {
                    Some(n) => *self = Lens::Narrow(n),
                    None => v.shrink_to_fit(),
                }
            }
        }
    }

    fn capacity_bytes(&self) -> usize {
        match self {
            Lens::Narrow(v) => v.capacity(),
            Lens::Wide(v) => v.capacity() * 4,
        }
    }
}

/// A run of elements: their stored bytes back to back, and the code of each.
#[derive(Clone, Default, PartialEq, Eq)]
struct Chunk {
    data: Vec<u8>,
    lens: Lens,
}

impl Chunk {
    fn with(item: &[u8]) -> Chunk {
        let mut c = Chunk {
            data: Vec::with_capacity(item.len().max(32)),
            lens: Lens::Narrow(Vec::with_capacity(8)),
        };
        c.push(item);
        c
    }

    #[inline]
    fn len(&self) -> usize {
        self.lens.len()
    }

    #[inline]
    fn start(&self, i: usize) -> usize {
        self.lens.prefix(i)
    }

    #[inline]
    fn get(&self, i: usize) -> Elem<'_> {
        let s = self.start(i);
        let code = self.lens.get(i);
        Elem::decode(code, &self.data[s..s + code.stored()])
    }

    /// The last element.
    #[inline]
    fn last(&self) -> Elem<'_> {
        let code = self.lens.get(self.len() - 1);
        Elem::decode(code, &self.data[self.data.len() - code.stored()..])
    }

    /// The elements in order, each with its code and stored bytes.
    fn raw_items(&self) -> impl Iterator<Item = (Code, &[u8])> + '_ {
        let mut off = 0;
        (0..self.len()).map(move |i| {
            let code = self.lens.get(i);
            off += code.stored();
            (code, &self.data[off - code.stored()..off])
        })
    }

    /// The elements in order.
    fn items(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        self.raw_items().map(|(code, b)| Elem::decode(code, b))
    }

    /// Whether `n` more bytes of one element may join this chunk.
    fn fits(&self, n: usize) -> bool {
        self.len() == 0 || (self.len() < CHUNK_MAX_ITEMS && self.data.len() + n <= CHUNK_MAX_BYTES)
    }

    /// Whether the chunk outgrew its limits (after an insertion or a replacement).
    fn oversized(&self) -> bool {
        self.len() > CHUNK_MAX_ITEMS || (self.len() > 1 && self.data.len() > 2 * CHUNK_MAX_BYTES)
    }

    fn push_raw(&mut self, code: Code, bytes: &[u8]) {
        self.lens.push(code);
        self.data.extend_from_slice(bytes);
    }

    // Codes are checked (`Lens::allow`) before anything changes, so an element past
    // 4 GiB (that needs `proto-max-bulk-len` raised past it) panics with the chunk
    // intact.
    fn push(&mut self, item: &[u8]) {
        let e = Encoded::of(item);
        self.push_raw(e.code(), e.bytes());
    }

    fn insert(&mut self, i: usize, item: &[u8]) {
        let e = Encoded::of(item);
        let at = self.start(i);
        self.lens.insert(i, e.code());
        self.data.splice(at..at, e.bytes().iter().copied());
    }

    fn remove(&mut self, i: usize) -> Vec<u8> {
        let item = self.get(i).to_vec();
        let s = self.start(i);
        let e = s + self.lens.get(i).stored();
        self.data.drain(s..e);
        self.lens.remove(i);
        item
    }

    fn set(&mut self, i: usize, item: &[u8]) {
        let enc = Encoded::of(item);
        let s = self.start(i);
        let e = s + self.lens.get(i).stored();
        self.lens.set(i, enc.code());
        self.data.splice(s..e, enc.bytes().iter().copied());
    }

    /// Removes the first `n` elements.
    fn drop_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let cut = self.start(n);
        self.data.drain(..cut);
        self.lens.drain_front(n);
    }

    /// Removes the last element.
    fn drop_last(&mut self) {
        let last = self.len() - 1;
        self.data
            .truncate(self.data.len() - self.lens.get(last).stored());
        self.lens.truncate(last);
    }

    /// Keeps the first `n` elements.
    fn keep_front(&mut self, n: usize) {
        self.data.truncate(self.start(n));
        self.lens.truncate(n);
    }

    /// Splits off the elements from `at` on.
    fn split_off(&mut self, at: usize) -> Chunk {
        let off = self.start(at);
        let data = self.data.split_off(off);
        let lens = self.lens.split_off(at);
        Chunk { data, lens }
    }

    fn append(&mut self, other: &Chunk) {
        for (code, b) in other.raw_items() {
            self.push_raw(code, b);
        }
    }

    /// Gives back the buffers' unused capacity.
    fn trim(&mut self) {
        self.data.shrink_to_fit();
        self.lens.shrink_to_fit();
    }

    fn heap_size(&self) -> usize {
        // The Arc's counts and the two Vec headers, then the buffers.
        16 + 48 + self.data.capacity() + self.lens.capacity_bytes()
    }
}

/// A list value. See the module docs.
#[derive(Clone, Default)]
pub struct ListValue {
    chunks: VecDeque<Arc<Chunk>>,
    len: usize,
}

impl ListValue {
    /// An empty list.
    pub fn new() -> ListValue {
        ListValue::default()
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no element.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoding OBJECT ENCODING reports: Redis 7.0 says `quicklist` for every
    /// list (the `listpack` encoding of small lists came with 7.2).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Number of chunks (tests, MEMORY USAGE).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Appends `item` at the tail.
    pub fn push_back(&mut self, item: &[u8]) {
        match self.chunks.back_mut() {
            Some(c) if c.fits(item.len()) => Arc::make_mut(c).push(item),
            last => {
                // The end chunk is full: it takes nothing more at this end, so its
                // buffers lose the slack their growth left (a copy of <= 4 KiB once per
                // chunk; a chunk a snapshot shares is left as it is).
                if let Some(full) = last.and_then(Arc::get_mut) {
                    full.trim();
                }
                self.chunks.push_back(Arc::new(Chunk::with(item)))
            }
        }
        self.len += 1;
    }

    /// Prepends `item` at the head.
    pub fn push_front(&mut self, item: &[u8]) {
        match self.chunks.front_mut() {
            Some(c) if c.fits(item.len()) => Arc::make_mut(c).insert(0, item),
            first => {
                if let Some(full) = first.and_then(Arc::get_mut) {
                    full.trim();
                }
                self.chunks.push_front(Arc::new(Chunk::with(item)))
            }
        }
        self.len += 1;
    }

    /// Removes and returns the head element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let c = self.chunks.front_mut()?;
        self.len -= 1;
        if c.len() == 1 {
            let c = self.chunks.pop_front()?;
            return Some(c.get(0).to_vec());
        }
        Some(Arc::make_mut(c).remove(0))
    }

    /// Removes and returns the tail element.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let c = self.chunks.back_mut()?;
        self.len -= 1;
        if c.len() == 1 {
            let c = self.chunks.pop_back()?;
            return Some(c.get(0).to_vec());
        }
        let item = c.last().to_vec();
        Arc::make_mut(c).drop_last();
        Some(item)
    }

    /// The chunk holding element `i` (< len) and its position there, walking from
    /// the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        debug_assert!(i < self.len);
        if i < self.len / 2 {
            let mut i = i;
            for (ci, c) in self.chunks.iter().enumerate() {
                if i < c.len() {
                    return (ci, i);
                }
                i -= c.len();
            }
        } else {
            let mut from_end = self.len - 1 - i;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                if from_end < c.len() {
                    return (ci, c.len() - 1 - from_end);
                }
                from_end -= c.len();
            }
        }
        unreachable!("list length out of step with its chunks")
    }

    /// Element `i` (0 is the head).
    pub fn get(&self, i: usize) -> Option<Elem<'_>> {
        if i >= self.len {
            return None;
        }
        let (ci, at) = self.locate(i);
        Some(self.chunks[ci].get(at))
    }

    /// Replaces element `i`; false when out of range.
    pub fn set(&mut self, i: usize, item: &[u8]) -> bool {
        if i >= self.len {
            return false;
        }
        let (ci, at) = self.locate(i);
        if item.len() > CHUNK_MAX_BYTES && self.chunks[ci].len() > 1 {
            // A large element gets a chunk of its own.
            self.remove(i);
            self.insert(i, item);
            return true;
        }
        Arc::make_mut(&mut self.chunks[ci]).set(at, item);
        self.split_if_oversized(ci);
        true
    }

    /// Inserts `item` so that it becomes element `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, item: &[u8]) {
        assert!(i <= self.len, "insert past the end");
        if i == 0 {
            return self.push_front(item);
        }
        if i == self.len {
            return self.push_back(item);
        }
        let (ci, at) = self.locate(i);
        self.len += 1;
        if item.len() > CHUNK_MAX_BYTES {
            // A large element gets a chunk of its own, between the two halves of the
            // chunk it lands in (so no chunk holds two large elements).
            let mut ci = ci;
            if at > 0 {
                let tail = Arc::make_mut(&mut self.chunks[ci]).split_off(at);
                self.chunks.insert(ci + 1, Arc::new(tail));
                ci += 1;
            }
            self.chunks.insert(ci, Arc::new(Chunk::with(item)));
            return;
        }
        Arc::make_mut(&mut self.chunks[ci]).insert(at, item);
        self.split_if_oversized(ci);
    }

    fn split_if_oversized(&mut self, ci: usize) {
        if self.chunks[ci].oversized() {
            let c = Arc::make_mut(&mut self.chunks[ci]);
            let tail = c.split_off(c.len() / 2);
            self.chunks.insert(ci + 1, Arc::new(tail));
        }
    }

    /// Removes element `i` and returns it.
    pub fn remove(&mut self, i: usize) -> Option<Vec<u8>> {
        if i >= self.len {
            return None;
        }
        let (ci, at) = self.locate(i);
        let item = Arc::make_mut(&mut self.chunks[ci]).remove(at);
        self.len -= 1;
        self.tidy(ci);
        Some(item)
    }

    /// After a removal in chunk `ci`: drop it if empty, or merge it into a neighbour
    /// when both are small, so that deletions in the middle do not leave a trail of
    /// tiny chunks.
    fn tidy(&mut self, ci: usize) {
        let n = self.chunks[ci].len();
        if n == 0 {
            self.chunks.remove(ci);
            return;
        }
        if n >= CHUNK_MAX_ITEMS / 4 {
            return;
        }
        let small = |c: &Chunk, d: &Chunk| {
            c.len() + d.len() <= CHUNK_MAX_ITEMS && c.data.len() + d.data.len() <= CHUNK_MAX_BYTES
        };
        if ci + 1 < self.chunks.len() && small(&self.chunks[ci], &self.chunks[ci + 1]) {
            let next = self.chunks.remove(ci + 1).expect("next chunk");
            Arc::make_mut(&mut self.chunks[ci]).append(&next);
        } else if ci > 0 && small(&self.chunks[ci - 1], &self.chunks[ci]) {
            let this = self.chunks.remove(ci).expect("this chunk");
            Arc::make_mut(&mut self.chunks[ci - 1]).append(&this);
        }
    }

    /// Removes the first `n` elements (all of them if `n >= len`).
    pub fn drop_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let c = self.chunks.front_mut().expect("chunk");
            if c.len() <= n {
                n -= c.len();
                self.chunks.pop_front();
            } else {
                Arc::make_mut(c).drop_front(n);
                n = 0;
            }
        }
    }

    /// Removes the last `n` elements (all of them if `n >= len`).
    pub fn drop_back(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let c = self.chunks.back_mut().expect("chunk");
            if c.len() <= n {
                n -= c.len();
                self.chunks.pop_back();
            } else {
                let keep = c.len() - n;
                Arc::make_mut(c).keep_front(keep);
                n = 0;
            }
        }
    }

    /// Keeps elements `start..end` only (LTRIM).
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.len);
        if start >= end {
            self.chunks.clear();
            self.len = 0;
            return;
        }
        self.drop_back(self.len - end);
        self.drop_front(start);
    }

    /// Removes elements equal to `item`: the first `count` from the head when
    /// `count > 0`, the last `-count` from the tail when `count < 0`, all when 0.
    /// Returns how many were removed. Chunks without a match are not touched (nor
    /// copied while a snapshot shares them).
    pub fn remove_matching(&mut self, item: &[u8], count: i64) -> usize {
        let mut left = if count == 0 {
            usize::MAX
        } else {
            usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX)
        };
        let from_tail = count < 0;
        let mut removed = 0;
        let n = self.chunks.len();
        for step in 0..n {
            if left == 0 {
                break;
            }
            let ci = if from_tail { n - 1 - step } else { step };
            let c = &self.chunks[ci];
            if !c.items().any(|x| *x == *item) {
                continue;
            }
            // Which of this chunk's elements go, in the direction of the scan.
            let items: Vec<(Code, &[u8])> = c.raw_items().collect();
            let mut gone = vec![false; items.len()];
            let order: Box<dyn Iterator<Item = usize>> = if from_tail {
                Box::new((0..items.len()).rev())
            } else {
                Box::new(0..items.len())
            };
            for i in order {
                if left == 0 {
                    break;
                }
                if *Elem::decode(items[i].0, items[i].1) == *item {
                    gone[i] = true;
                    left -= 1;
                    removed += 1;
                }
            }
            let mut kept = Chunk::default();
            for (&(code, b), g) in items.iter().zip(&gone) {
                if !g {
                    kept.push_raw(code, b);
                }
            }
            kept.trim();
            self.chunks[ci] = Arc::new(kept);
        }
        self.len -= removed;
        if removed > 0 {
            self.chunks.retain(|c| c.len() > 0);
        }
        removed
    }

    /// The elements from head to tail (double-ended: `.rev()` walks from the tail).
    pub fn iter(&self) -> Iter<'_> {
        self.range(0, self.len)
    }

    /// Elements `start..end` (clamped to the list).
    pub fn range(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.len);
        if start >= end {
            return Iter {
                chunks: &self.chunks,
                front: (0, 0, 0),
                back: (0, 0, 0),
                left: 0,
            };
        }
        let (fc, fi) = self.locate(start);
        let (bc, bi) = self.locate(end - 1);
        let back_end = self.chunks[bc].start(bi) + self.chunks[bc].lens.get(bi).stored();
        Iter {
            chunks: &self.chunks,
            front: (fc, fi, self.chunks[fc].start(fi)),
            back: (bc, bi + 1, back_end),
            left: end - start,
        }
    }

    /// Bytes of heap this list occupies (approximately).
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<ListValue>()
            + self.chunks.capacity() * 8
            + self.chunks.iter().map(|c| c.heap_size()).sum::<usize>()
    }
}

impl FromIterator<Vec<u8>> for ListValue {
    fn from_iter<T: IntoIterator<Item = Vec<u8>>>(iter: T) -> Self {
        let mut l = ListValue::new();
        for item in iter {
            l.push_back(&item);
        }
        l
    }
}

impl PartialEq for ListValue {
    fn eq(&self, other: &ListValue) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for ListValue {}

impl fmt::Debug for ListValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|e| String::from_utf8_lossy(&e).into_owned()),
            )
            .finish()
    }
}

/// Iterator over a list's elements (see [`ListValue::iter`]).
pub struct Iter<'a> {
    chunks: &'a VecDeque<Arc<Chunk>>,
    /// Next element from the front: (chunk, index, where its bytes start).
    front: (usize, usize, usize),
    /// One past the next element from the back: (chunk, index + 1, where its bytes
    /// end).
    back: (usize, usize, usize),
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        let (mut ci, mut i, mut off) = self.front;
        while i >= self.chunks[ci].len() {
            ci += 1;
            i = 0;
            off = 0;
        }
        let c = &self.chunks[ci];
        let code = c.lens.get(i);
        let end = off + code.stored();
        self.front = (ci, i + 1, end);
        self.left -= 1;
        Some(Elem::decode(code, &c.data[off..end]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (mut ci, mut i, mut end) = self.back;
        while i == 0 {
            ci -= 1;
            i = self.chunks[ci].len();
            end = self.chunks[ci].data.len();
        }
        let c = &self.chunks[ci];
        let code = c.lens.get(i - 1);
        let start = end - code.stored();
        self.back = (ci, i - 1, start);
        self.left -= 1;
        Some(Elem::decode(code, &c.data[start..end]))
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(l: &ListValue) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    fn check(l: &ListValue, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        let got = items(l);
        let want: Vec<Vec<u8>> = model.iter().cloned().collect();
        assert_eq!(got, want);
        let back: Vec<Vec<u8>> = l.iter().rev().map(|e| e.to_vec()).collect();
        let want_back: Vec<Vec<u8>> = model.iter().rev().cloned().collect();
        assert_eq!(back, want_back);
        assert_eq!(l.chunks.iter().map(|c| c.len()).sum::<usize>(), l.len());
        assert!(l.chunks.iter().all(|c| c.len() > 0), "no empty chunk");
    }

    #[test]
    fn chunks_switch_to_wide_lengths_for_elements_of_256_bytes_and_more() {
        let mut l = ListValue::new();
        let mut model = VecDeque::new();
        for i in 0..300u32 {
            let item = i.to_string().into_bytes();
            l.push_back(&item);
            model.push_back(item);
        }
        assert!(l.chunks.iter().all(|c| matches!(c.lens, Lens::Narrow(_))));
        // Replace, insert and push elements of 256 bytes and more, in and between
        // chunks (and some past a chunk's byte limit, which get chunks of their own).
        let big = |n: usize, b: u8| vec![b; n];
        assert!(l.set(10, &big(300, b'a')));
        model[10] = big(300, b'a');
        check(&l, &model);
        l.insert(5, &big(70_000, b'b'));
        model.insert(5, big(70_000, b'b'));
        check(&l, &model);
        l.insert(200, &big(256, b'c'));
        model.insert(200, big(256, b'c'));
        l.push_front(&big(255, b'd'));
        model.push_front(big(255, b'd'));
        l.push_back(&big(1000, b'e'));
        model.push_back(big(1000, b'e'));
        l.push_back(&big(3000, b'f'));
        model.push_back(big(3000, b'f'));
        check(&l, &model);
        assert!(l.chunks.iter().any(|c| matches!(c.lens, Lens::Wide(_))));
        assert_eq!(l.remove(6), model.remove(6));
        assert!(l.set(11, b"small"));
        model[11] = b"small".to_vec();
        for _ in 0..50 {
            assert_eq!(l.pop_front(), model.pop_front());
            assert_eq!(l.pop_back(), model.pop_back());
        }
        check(&l, &model);
        // Short elements cost one byte of length each.
        let mut small = ListValue::new();
        for i in 0..1000u32 {
            small.push_back(&i.to_be_bytes());
        }
        assert!(small
            .chunks
            .iter()
            .all(|c| matches!(c.lens, Lens::Narrow(_))));
    }

    #[test]
    fn integers_are_kept_in_binary_and_read_back_exactly() {
        let ints = [
            "0",
            "1",
            "-1",
            "127",
            "128",
            "-128",
            "-129",
            "32767",
            "32768",
            "9223372036854775807",
            "-9223372036854775808",
        ];
        let strs = ["01", "-0", "+1", " 1", "1.0", "9223372036854775808", ""];
        let mut l = ListValue::new();
        for x in ints.iter().chain(&strs) {
            l.push_back(x.as_bytes());
            l.push_front(x.as_bytes());
        }
        let back: Vec<Vec<u8>> = l.iter().skip(l.len() / 2).map(|e| e.to_vec()).collect();
        let want: Vec<Vec<u8>> = ints
            .iter()
            .chain(&strs)
            .map(|x| x.as_bytes().to_vec())
            .collect();
        assert_eq!(back, want);
        // 1..=100_000 takes at most 3 bytes of data and 1 of code each.
        let mut l: ListValue = (1..=100_000u32)
            .map(|i| i.to_string().into_bytes())
            .collect();
        let data: usize = l.chunks.iter().map(|c| c.data.len() + c.len()).sum();
        assert!(data <= 4 * 100_000, "{data}");
        assert_eq!(l.get(99_999).as_deref(), Some(&b"100000"[..]));
        assert_eq!(l.remove_matching(b"777", 0), 1);
        assert_eq!(l.get(776).as_deref(), Some(&b"778"[..]));
    }

    #[test]
    fn push_pop_both_ends() {
        let mut l = ListValue::new();
        for i in 0..1000u32 {
            l.push_back(i.to_string().as_bytes());
            l.push_front(format!("-{i}").as_bytes());
        }
        assert_eq!(l.len(), 2000);
        assert!(l.chunk_count() >= 2000 / CHUNK_MAX_ITEMS);
        assert_eq!(l.get(0).as_deref(), Some(&b"-999"[..]));
        assert_eq!(l.get(1999).as_deref(), Some(&b"999"[..]));
        assert_eq!(l.get(1000).as_deref(), Some(&b"0"[..]));
        assert_eq!(l.pop_front().unwrap(), b"-999");
        assert_eq!(l.pop_back().unwrap(), b"999");
        while l.pop_back().is_some() {}
        assert!(l.is_empty());
        assert_eq!(l.chunk_count(), 0);
    }

    #[test]
    fn large_elements_get_their_own_chunk() {
        let mut l = ListValue::new();
        l.push_back(b"a");
        l.push_back(&[7u8; 10_000]);
        l.push_back(b"b");
        assert_eq!(l.chunk_count(), 3);
        assert_eq!(l.get(1).unwrap().len(), 10_000);
        l.insert(1, b"x");
        assert_eq!(items(&l)[..2], [b"a".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn a_write_copies_only_the_chunk_it_changes() {
        let l: ListValue = (0..1000u32).map(|i| i.to_string().into_bytes()).collect();
        let snapshot = l.clone();
        let mut l = l;
        l.set(500, b"changed");
        let shared = l
            .chunks
            .iter()
            .zip(&snapshot.chunks)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count();
        assert_eq!(shared, l.chunk_count() - 1);
        assert_eq!(snapshot.get(500).as_deref(), Some(&b"500"[..]));
        assert_eq!(l.get(500).as_deref(), Some(&b"changed"[..]));
    }

    #[test]
    fn remove_matching_from_either_end() {
        let mk = || -> ListValue {
            [b"a", b"b", b"a", b"c", b"a"]
                .iter()
                .map(|s| s.to_vec())
                .collect()
        };
        let mut l = mk();
        assert_eq!(l.remove_matching(b"a", 2), 2);
        assert_eq!(items(&l), [b"b".to_vec(), b"c".to_vec(), b"a".to_vec()]);
        let mut l = mk();
        assert_eq!(l.remove_matching(b"a", -2), 2);
        assert_eq!(items(&l), [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        let mut l = mk();
        assert_eq!(l.remove_matching(b"a", 0), 3);
        assert_eq!(l.len(), 2);
        assert_eq!(l.remove_matching(b"z", 0), 0);
    }

    #[derive(Clone, Debug)]
    enum Op {
        PushFront(Vec<u8>),
        PushBack(Vec<u8>),
        PopFront,
        PopBack,
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        Remove(usize),
        RemoveMatching(Vec<u8>, i64),
        Trim(usize, usize),
        DropFront(usize),
        DropBack(usize),
        Snapshot,
    }

    fn item() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => prop::collection::vec(b'a'..b'd', 0..4),
            4 => any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            4 => (-300i64..300).prop_map(|v| v.to_string().into_bytes()),
            1 => prop::collection::vec(b'0'..b':', 1..21),
            1 => prop::collection::vec(any::<u8>(), 0..300),
            1 => prop::collection::vec(any::<u8>(), 4000..5000),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => item().prop_map(Op::PushFront),
            6 => item().prop_map(Op::PushBack),
            2 => Just(Op::PopFront),
            2 => Just(Op::PopBack),
            2 => (any::<usize>(), item()).prop_map(|(i, v)| Op::Set(i, v)),
            3 => (any::<usize>(), item()).prop_map(|(i, v)| Op::Insert(i, v)),
            2 => any::<usize>().prop_map(Op::Remove),
            1 => (item(), -3i64..3).prop_map(|(v, c)| Op::RemoveMatching(v, c)),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Trim(a, b)),
            1 => (0usize..200).prop_map(Op::DropFront),
            1 => (0usize..200).prop_map(Op::DropBack),
            1 => Just(Op::Snapshot),
        ]
    }

    fn remove_matching_model(m: &mut VecDeque<Vec<u8>>, v: &[u8], count: i64) -> usize {
        let mut left = if count == 0 {
            usize::MAX
        } else {
            count.unsigned_abs() as usize
        };
        let idx: Vec<usize> = if count < 0 {
            (0..m.len()).rev().collect()
        } else {
            (0..m.len()).collect()
        };
        let mut gone = Vec::new();
        for i in idx {
            if left == 0 {
                break;
            }
            if m[i] == v {
                gone.push(i);
                left -= 1;
            }
        }
        gone.sort_unstable();
        for i in gone.iter().rev() {
            m.remove(*i);
        }
        gone.len()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn behaves_like_a_vecdeque(ops in prop::collection::vec(op(), 0..400)) {
            let mut l = ListValue::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            let mut snaps: Vec<(ListValue, VecDeque<Vec<u8>>)> = Vec::new();
            for op in ops {
                match op {
                    Op::PushFront(v) => { l.push_front(&v); m.push_front(v); }
                    Op::PushBack(v) => { l.push_back(&v); m.push_back(v); }
                    Op::PopFront => prop_assert_eq!(l.pop_front(), m.pop_front()),
                    Op::PopBack => prop_assert_eq!(l.pop_back(), m.pop_back()),
                    Op::Set(i, v) => {
                        let i = if m.is_empty() { i } else { i % (m.len() + 1) };
                        let ok = l.set(i, &v);
                        prop_assert_eq!(ok, i < m.len());
                        if ok { m[i] = v; }
                    }
                    Op::Insert(i, v) => {
                        let i = i % (m.len() + 1);
                        l.insert(i, &v);
                        m.insert(i, v);
                    }
                    Op::Remove(i) => {
                        let i = if m.is_empty() { i } else { i % (m.len() + 1) };
                        prop_assert_eq!(l.remove(i), m.remove(i));
                    }
                    Op::RemoveMatching(v, c) => {
                        prop_assert_eq!(l.remove_matching(&v, c), remove_matching_model(&mut m, &v, c));
                    }
                    Op::Trim(a, b) => {
                        let n = m.len() + 1;
                        let (a, b) = (a % n, b % n);
                        l.retain_range(a, b);
                        if a >= b { m.clear(); } else {
                            m.truncate(b);
                            m.drain(..a);
                        }
                    }
                    Op::DropFront(n) => { l.drop_front(n); m.drain(..n.min(m.len())); }
                    Op::DropBack(n) => { l.drop_back(n); let keep = m.len().saturating_sub(n); m.truncate(keep); }
                    Op::Snapshot => snaps.push((l.clone(), m.clone())),
                }
                prop_assert_eq!(l.len(), m.len());
            }
            check(&l, &m);
            if !m.is_empty() {
                let mid = m.len() / 2;
                prop_assert_eq!(l.get(mid).map(|e| e.to_vec()), Some(m[mid].clone()));
                let r: Vec<Vec<u8>> = l.range(mid / 2, mid + 3).map(|e| e.to_vec()).collect();
                let want: Vec<Vec<u8>> = m.iter().skip(mid / 2).take(mid + 3 - mid / 2).cloned().collect();
                prop_assert_eq!(r, want);
            }
            for (snap, model) in &snaps {
                check(snap, model);
            }
        }
    }
}
