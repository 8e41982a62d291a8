//! The list type: a sequence of byte strings with O(1) push and pop at both ends.
//!
//! Like Redis's quicklist, a list is a deque of *chunks*, each a packed run of up to
//! [`CHUNK_MAX_ITEMS`] elements and about [`CHUNK_MAX_BYTES`] bytes (an element larger
//! than that sits alone in its chunk). A chunk is two buffers: the elements' bytes back
//! to back, and the end offset of each element (`u16` while the chunk's bytes fit, else
//! `u32`), so an element costs its bytes plus 2, with no allocation of its own; a
//! chunk's fixed cost (two `Vec`s behind an `Arc`, about 80 bytes) is shared by up to
//! 256 elements, and a chunk that filled up gives back its buffers' spare capacity.
//!
//! Copy-on-write at two levels: the list sits in an [`crate::Entry`] behind an `Arc`
//! (as hashes do), and each chunk is an `Arc` of its own. The first write to a list a
//! snapshot shares copies the deque of chunk pointers (8 bytes and a reference count
//! per chunk: O(len / 256)) and then only the chunk it changes (at most ~4 KiB); every
//! later write copies at most the chunks it touches that the snapshot still shares.
//!
//! Costs: push/pop at either end O(1) (a pop or push at the front moves the bytes of
//! one chunk: bounded); index lookups walk chunks from the nearer end (O(len / 256));
//! insertion and removal in the middle move one chunk's bytes.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// Most elements a chunk holds.
pub const CHUNK_MAX_ITEMS: usize = 256;
/// Bytes of elements past which a chunk takes no more (an element larger than this
/// gets a chunk of its own).
pub const CHUNK_MAX_BYTES: usize = 4096;

/// The longest element a list holds (chunk offsets are `u32`); the server refuses
/// longer ones before they reach the list.
pub const MAX_ELEMENT: usize = u32::MAX as usize;

/// Where each element of a chunk ends: `u16`s while the chunk's bytes fit in them
/// (every chunk of small elements), `u32`s once they do not (a chunk holding an
/// element of 64 KiB or more).
#[derive(Clone, PartialEq, Eq)]
enum Ends {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Ends {
    fn default() -> Self {
        Ends::Narrow(Vec::new())
    }
}

impl Ends {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Ends::Narrow(v) => v.len(),
            Ends::Wide(v) => v.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> usize {
        match self {
            Ends::Narrow(v) => v[i] as usize,
            Ends::Wide(v) => v[i] as usize,
        }
    }

    /// Makes room for offsets up to `max` (checked against 4 GiB first).
    fn allow(&mut self, max: usize) {
        offset(max);
        if let Ends::Narrow(v) = self {
            if max > u16::MAX as usize {
                *self = Ends::Wide(v.iter().map(|&x| u32::from(x)).collect());
            }
        }
    }

    /// Adds `delta` to every offset from `from` on (offsets stay within what
    /// `allow` admitted).
    fn shift(&mut self, from: usize, delta: isize) {
        match self {
            Ends::Narrow(v) => v[from..]
                .iter_mut()
                .for_each(|x| *x = (*x as isize + delta) as u16),
            Ends::Wide(v) => v[from..]
                .iter_mut()
                .for_each(|x| *x = (*x as isize + delta) as u32),
        }
    }

    fn push(&mut self, end: usize) {
        self.allow(end);
        match self {
            Ends::Narrow(v) => v.push(end as u16),
            Ends::Wide(v) => v.push(end as u32),
        }
    }

    fn insert(&mut self, i: usize, end: usize) {
        self.allow(end);
        match self {
            Ends::Narrow(v) => v.insert(i, end as u16),
            Ends::Wide(v) => v.insert(i, end as u32),
        }
    }

    fn remove(&mut self, i: usize) {
        match self {
            Ends::Narrow(v) => drop(v.remove(i)),
            Ends::Wide(v) => drop(v.remove(i)),
        }
    }

    fn drain_front(&mut self, n: usize) {
        match self {
            Ends::Narrow(v) => drop(v.drain(..n)),
            Ends::Wide(v) => drop(v.drain(..n)),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Ends::Narrow(v) => v.truncate(n),
            Ends::Wide(v) => v.truncate(n),
        }
    }

    /// The offsets from `at` on, less `cut`, taken out (narrow when they fit).
    fn split_off(&mut self, at: usize, cut: usize) -> Ends {
        let tail: Vec<usize> = (at..self.len()).map(|i| self.get(i) - cut).collect();
        self.truncate(at);
        let mut out = Ends::default();
        if let Some(&max) = tail.last() {
            out.allow(max);
        }
        for end in tail {
            out.push(end);
        }
        out
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Ends::Narrow(v) => v.shrink_to_fit(),
            Ends::Wide(v) => v.shrink_to_fit(),
        }
    }

    fn capacity_bytes(&self) -> usize {
        match self {
            Ends::Narrow(v) => v.capacity() * 2,
            Ends::Wide(v) => v.capacity() * 4,
        }
    }
}

/// A run of elements: their bytes back to back, and where each one ends.
#[derive(Clone, Default, PartialEq, Eq)]
struct Chunk {
    data: Vec<u8>,
    ends: Ends,
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("list chunk over 4 GiB (an element that large is refused earlier)")
}

impl Chunk {
    fn with(item: &[u8]) -> Chunk {
        let mut c = Chunk {
            data: Vec::with_capacity(item.len().max(32)),
            ends: Ends::Narrow(Vec::with_capacity(4)),
        };
        c.push(item);
        c
    }

    #[inline]
    fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.ends.get(i - 1)
        }
    }

    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        &self.data[self.start(i)..self.ends.get(i)]
    }

    /// Whether `n` more bytes of one element may join this chunk.
    fn fits(&self, n: usize) -> bool {
        self.len() == 0 || (self.len() < CHUNK_MAX_ITEMS && self.data.len() + n <= CHUNK_MAX_BYTES)
    }

    /// Whether the chunk outgrew its limits (after an insertion or a replacement).
    fn oversized(&self) -> bool {
        self.len() > CHUNK_MAX_ITEMS || (self.len() > 1 && self.data.len() > 2 * CHUNK_MAX_BYTES)
    }

    // Offsets are computed (and checked, `Ends::allow`) before anything changes, so a
    // chunk past 4 GiB (an element that large needs `proto-max-bulk-len` raised past
    // it) panics with the chunk intact.
    fn push(&mut self, item: &[u8]) {
        let end = self.data.len() + item.len();
        self.ends.allow(end);
        self.data.extend_from_slice(item);
        self.ends.push(end);
    }

    fn insert(&mut self, i: usize, item: &[u8]) {
        let at = self.start(i);
        self.ends.allow(self.data.len() + item.len());
        self.data.splice(at..at, item.iter().copied());
        self.ends.shift(i, item.len() as isize);
        self.ends.insert(i, at + item.len());
    }

    fn remove(&mut self, i: usize) -> Vec<u8> {
        let (s, e) = (self.start(i), self.ends.get(i));
        let item: Vec<u8> = self.data.drain(s..e).collect();
        self.ends.remove(i);
        self.ends.shift(i, -((e - s) as isize));
        item
    }

    fn set(&mut self, i: usize, item: &[u8]) {
        let (s, e) = (self.start(i), self.ends.get(i));
        self.ends.allow(self.data.len() - (e - s) + item.len());
        self.data.splice(s..e, item.iter().copied());
        self.ends.shift(i, item.len() as isize - (e - s) as isize);
    }

    /// Removes the first `n` elements.
    fn drop_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let cut = self.ends.get(n - 1);
        self.data.drain(..cut);
        self.ends.drain_front(n);
        self.ends.shift(0, -(cut as isize));
    }

    /// Keeps the first `n` elements.
    fn keep_front(&mut self, n: usize) {
        self.data.truncate(self.start(n));
        self.ends.truncate(n);
    }

    /// Splits off the elements from `at` on.
    fn split_off(&mut self, at: usize) -> Chunk {
        let off = self.start(at);
        let data = self.data.split_off(off);
        let ends = self.ends.split_off(at, off);
        Chunk { data, ends }
    }

    fn append(&mut self, other: &Chunk) {
        let base = self.data.len();
        self.ends.allow(base + other.data.len());
        self.data.extend_from_slice(&other.data);
        for i in 0..other.len() {
            self.ends.push(base + other.ends.get(i));
        }
    }

    /// Gives back the buffers' unused capacity.
    fn trim(&mut self) {
        self.data.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    fn heap_size(&self) -> usize {
        // The Arc's counts and the two Vec headers, then the buffers.
        16 + 48 + self.data.capacity() + self.ends.capacity_bytes()
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
        let last = c.len() - 1;
        let item = c.get(last).to_vec();
        Arc::make_mut(c).keep_front(last);
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
    pub fn get(&self, i: usize) -> Option<&[u8]> {
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
            if !(0..c.len()).any(|i| c.get(i) == item) {
                continue;
            }
            // Which of this chunk's elements go, in the direction of the scan.
            let mut gone = vec![false; c.len()];
            let order: Box<dyn Iterator<Item = usize>> = if from_tail {
                Box::new((0..c.len()).rev())
            } else {
                Box::new(0..c.len())
            };
            for i in order {
                if left == 0 {
                    break;
                }
                if c.get(i) == item {
                    gone[i] = true;
                    left -= 1;
                    removed += 1;
                }
            }
            let mut kept = Chunk::default();
            for (i, g) in gone.iter().enumerate() {
                if !g {
                    kept.push(c.get(i));
                }
            }
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
                front: (0, 0),
                back: (0, 0),
                left: 0,
            };
        }
        let front = self.locate(start);
        let (bc, bi) = self.locate(end - 1);
        Iter {
            chunks: &self.chunks,
            front,
            back: (bc, bi + 1),
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
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// Iterator over a list's elements (see [`ListValue::iter`]).
pub struct Iter<'a> {
    chunks: &'a VecDeque<Arc<Chunk>>,
    /// Next element from the front: (chunk, index).
    front: (usize, usize),
    /// One past the next element from the back: (chunk, index + 1).
    back: (usize, usize),
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (mut ci, mut i) = self.front;
        while i >= self.chunks[ci].len() {
            ci += 1;
            i = 0;
        }
        let item = self.chunks[ci].get(i);
        self.front = (ci, i + 1);
        self.left -= 1;
        Some(item)
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
        let (mut ci, mut i) = self.back;
        while i == 0 {
            ci -= 1;
            i = self.chunks[ci].len();
        }
        let item = self.chunks[ci].get(i - 1);
        self.back = (ci, i - 1);
        self.left -= 1;
        Some(item)
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(l: &ListValue) -> Vec<Vec<u8>> {
        l.iter().map(<[u8]>::to_vec).collect()
    }

    fn check(l: &ListValue, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        let got = items(l);
        let want: Vec<Vec<u8>> = model.iter().cloned().collect();
        assert_eq!(got, want);
        let back: Vec<Vec<u8>> = l.iter().rev().map(<[u8]>::to_vec).collect();
        let want_back: Vec<Vec<u8>> = model.iter().rev().cloned().collect();
        assert_eq!(back, want_back);
        assert_eq!(l.chunks.iter().map(|c| c.len()).sum::<usize>(), l.len());
        assert!(l.chunks.iter().all(|c| c.len() > 0), "no empty chunk");
    }

    #[test]
    fn chunks_switch_to_wide_offsets_for_elements_of_64_kib_and_more() {
        let mut l = ListValue::new();
        let mut model = VecDeque::new();
        for i in 0..300u32 {
            let item = i.to_string().into_bytes();
            l.push_back(&item);
            model.push_back(item);
        }
        assert!(l.chunks.iter().all(|c| matches!(c.ends, Ends::Narrow(_))));
        // Replace, insert and push elements past u16 offsets, in and between chunks.
        let big = |n: usize, b: u8| vec![b; n];
        assert!(l.set(10, &big(70_000, b'a')));
        model[10] = big(70_000, b'a');
        check(&l, &model);
        l.insert(5, &big(100_000, b'b'));
        model.insert(5, big(100_000, b'b'));
        check(&l, &model);
        l.insert(200, &big(65_536, b'c'));
        model.insert(200, big(65_536, b'c'));
        l.push_front(&big(66_000, b'd'));
        model.push_front(big(66_000, b'd'));
        l.push_back(&big(80_000, b'e'));
        model.push_back(big(80_000, b'e'));
        check(&l, &model);
        assert!(l.chunks.iter().any(|c| matches!(c.ends, Ends::Wide(_))));
        assert_eq!(l.remove(6), model.remove(6));
        assert!(l.set(11, b"small"));
        model[11] = b"small".to_vec();
        for _ in 0..50 {
            assert_eq!(l.pop_front(), model.pop_front());
            assert_eq!(l.pop_back(), model.pop_back());
        }
        check(&l, &model);
        // Small elements again cost 2 bytes of offset each.
        let mut small = ListValue::new();
        for i in 0..1000u32 {
            small.push_back(&i.to_be_bytes());
        }
        assert!(small
            .chunks
            .iter()
            .all(|c| matches!(c.ends, Ends::Narrow(_))));
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
        assert_eq!(l.get(0), Some(&b"-999"[..]));
        assert_eq!(l.get(1999), Some(&b"999"[..]));
        assert_eq!(l.get(1000), Some(&b"0"[..]));
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
        assert_eq!(snapshot.get(500), Some(&b"500"[..]));
        assert_eq!(l.get(500), Some(&b"changed"[..]));
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
                prop_assert_eq!(l.get(mid), Some(m[mid].as_slice()));
                let r: Vec<Vec<u8>> = l.range(mid / 2, mid + 3).map(<[u8]>::to_vec).collect();
                let want: Vec<Vec<u8>> = m.iter().skip(mid / 2).take(mid + 3 - mid / 2).cloned().collect();
                prop_assert_eq!(r, want);
            }
            for (snap, model) in &snaps {
                check(snap, model);
            }
        }
    }
}
