//! One key and its value in a single compact, reference-counted allocation.
//!
//! An [`Entry`] is a thin pointer (8 bytes in the table slot) to one heap block that
//! holds a small header, the key bytes, the value bytes and — only when the key has a
//! time to live — its expiry time. Cloning an entry bumps a reference count; this is
//! what makes copy-on-write segments cheap: copying a segment that a snapshot still
//! shares clones pointers, never keys or values.
//!
//! Entries are immutable once built, except for the access clock used by
//! `OBJECT IDLETIME` (an atomic that a snapshot may observe harmlessly). Changing a
//! value or a TTL builds a new entry; the old one lives on for as long as a snapshot
//! or a reader still holds it.

use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use triomphe::{HeaderWithLength, ThinArc, UniqueArc};

use crate::hash::HashValue;
use crate::list::ListValue;
use crate::set::SetValue;
use crate::zset::ZsetValue;

/// Bit of [`Meta::key_len`]: the last 8 bytes of the payload are the expiry time.
const HAS_EXPIRE: u32 = 1 << 31;
/// The rest of [`Meta::key_len`]: the key's length.
const KEY_LEN_MASK: u32 = HAS_EXPIRE - 1;

/// The header stored in front of the payload (16 bytes).
struct Meta {
    /// Length of the key at the start of the payload, plus the [`HAS_EXPIRE`] bit.
    key_len: u32,
    /// Last access, in seconds of unix time (OBJECT IDLETIME).
    access: AtomicU32,
    /// A value that is not a plain string (hash, ...), shared copy-on-write; `None`
    /// for strings, whose bytes follow the key in the payload.
    obj: Option<Arc<Object>>,
}

impl Meta {
    fn new(key: &[u8], obj: Option<Arc<Object>>, expire_at: Option<i64>, access: u32) -> Meta {
        let key_len = u32::try_from(key.len())
            .ok()
            .filter(|l| *l <= KEY_LEN_MASK)
            .expect("key longer than 2 GiB (proto-max-bulk-len caps arguments far below)");
        Meta {
            key_len: key_len | if expire_at.is_some() { HAS_EXPIRE } else { 0 },
            access: AtomicU32::new(access),
            obj,
        }
    }
}

/// One piece of a value being built in place.
#[derive(Clone, Copy)]
enum Part<'a> {
    Bytes(&'a [u8]),
    Zeros(usize),
}

impl Part<'_> {
    fn len(&self) -> usize {
        match self {
            Part::Bytes(b) => b.len(),
            Part::Zeros(n) => *n,
        }
    }
}

/// A value held behind an `Arc` (everything but strings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// A hash.
    Hash(HashValue),
    /// A sorted set.
    Zset(ZsetValue),
    /// A list.
    List(ListValue),
    /// A set.
    Set(SetValue),
}

impl Object {
    /// Number of elements (fields, members, items).
    pub fn len(&self) -> usize {
        match self {
            Object::Hash(h) => h.len(),
            Object::Zset(z) => z.len(),
            Object::List(l) => l.len(),
            Object::Set(s) => s.len(),
        }
    }

    /// Whether it has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The type of a value, as `TYPE` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A binary-safe string (`TYPE` says `string`).
    Str,
    /// A hash.
    Hash,
    /// A sorted set (`TYPE` says `zset`).
    Zset,
    /// A list.
    List,
    /// A set.
    Set,
}

impl Kind {
    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Hash => "hash",
            Kind::Zset => "zset",
            Kind::List => "list",
            Kind::Set => "set",
        }
    }
}

/// A borrowed view of an entry's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// String bytes.
    Str(&'a [u8]),
    /// A hash.
    Hash(&'a HashValue),
    /// A sorted set.
    Zset(&'a ZsetValue),
    /// A list.
    List(&'a ListValue),
    /// A set.
    Set(&'a SetValue),
}

/// A key with its value and optional expiry. See the module docs.
#[derive(Clone)]
pub struct Entry(ThinArc<Meta, u8>);

impl Entry {
    /// Builds a string entry, copying `key` and `value` into one new allocation.
    pub fn new_str(key: &[u8], value: &[u8], expire_at: Option<i64>) -> Entry {
        Entry::build(key, None, &[value], expire_at, 0)
    }

    /// Builds a hash entry.
    pub fn new_hash(key: &[u8], hash: HashValue, expire_at: Option<i64>) -> Entry {
        Entry::build(key, Some(Arc::new(Object::Hash(hash))), &[], expire_at, 0)
    }

    /// Builds a sorted set entry.
    pub fn new_zset(key: &[u8], zset: ZsetValue, expire_at: Option<i64>) -> Entry {
        Entry::build(key, Some(Arc::new(Object::Zset(zset))), &[], expire_at, 0)
    }

    /// Builds a set entry.
    pub fn new_set(key: &[u8], set: SetValue, expire_at: Option<i64>) -> Entry {
        Entry::build(key, Some(Arc::new(Object::Set(set))), &[], expire_at, 0)
    }

    /// Builds a list entry.
    pub fn new_list(key: &[u8], list: ListValue, expire_at: Option<i64>) -> Entry {
        Entry::build(key, Some(Arc::new(Object::List(list))), &[], expire_at, 0)
    }

    /// Builds a string entry whose value is the concatenation of `parts`
    /// (APPEND and SETRANGE build their result without an intermediate buffer).
    pub fn new_str_parts(key: &[u8], parts: &[&[u8]], expire_at: Option<i64>) -> Entry {
        Entry::build(key, None, parts, expire_at, 0)
    }

    /// Builds a string entry whose value is `head`, then `zeros` zero bytes, then
    /// `tail` (SETRANGE past the end), written straight into the entry's allocation:
    /// the padding is never materialized anywhere else.
    pub fn new_str_zero_padded(
        key: &[u8],
        head: &[u8],
        zeros: usize,
        tail: &[u8],
        expire_at: Option<i64>,
    ) -> Entry {
        Entry::build_parts(
            key,
            None,
            &[Part::Bytes(head), Part::Zeros(zeros), Part::Bytes(tail)],
            expire_at,
            0,
        )
    }

    fn build(
        key: &[u8],
        obj: Option<Arc<Object>>,
        parts: &[&[u8]],
        expire_at: Option<i64>,
        access: u32,
    ) -> Entry {
        let value_len = parts.iter().map(|p| p.len()).sum();
        let (meta, total) = Entry::header(key, obj, value_len, expire_at, access);
        // Small payloads (the common case) are assembled on the stack and copied once
        // with memcpy; large ones are written straight into the entry's allocation.
        if total <= 256 {
            let mut stack = [0u8; 256];
            let dst = &mut stack[..total];
            dst[..key.len()].copy_from_slice(key);
            let mut at = key.len();
            for p in parts {
                dst[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            if let Some(t) = expire_at {
                dst[at..at + 8].copy_from_slice(&t.to_le_bytes());
            }
            Entry(ThinArc::from_header_and_slice(meta, dst))
        } else {
            let parts: Vec<Part<'_>> = parts.iter().map(|p| Part::Bytes(p)).collect();
            Entry::build_in_place(meta, key, &parts, expire_at, total)
        }
    }

    fn build_parts(
        key: &[u8],
        obj: Option<Arc<Object>>,
        parts: &[Part<'_>],
        expire_at: Option<i64>,
        access: u32,
    ) -> Entry {
        let value_len = parts.iter().map(Part::len).sum();
        let (meta, total) = Entry::header(key, obj, value_len, expire_at, access);
        Entry::build_in_place(meta, key, parts, expire_at, total)
    }

    /// The header of an entry and the length of its payload (key, value, expiry).
    fn header(
        key: &[u8],
        obj: Option<Arc<Object>>,
        value_len: usize,
        expire_at: Option<i64>,
        access: u32,
    ) -> (Meta, usize) {
        let meta = Meta::new(key, obj, expire_at, access);
        let total = key.len() + value_len + if expire_at.is_some() { 8 } else { 0 };
        (meta, total)
    }

    /// Allocates the entry once (`total` payload bytes, uninitialized) and writes the
    /// key, the parts and the expiry into it: one allocation, one pass over the bytes.
    fn build_in_place(
        meta: Meta,
        key: &[u8],
        parts: &[Part<'_>],
        expire_at: Option<i64>,
        total: usize,
    ) -> Entry {
        let mut arc: UniqueArc<_> =
            UniqueArc::from_header_and_uninit_slice(HeaderWithLength::new(meta, total), total);
        let dst: &mut [MaybeUninit<u8>] = &mut arc.slice;
        let expiry = expire_at.map(i64::to_le_bytes);
        let pieces = std::iter::once(Part::Bytes(key))
            .chain(parts.iter().copied())
            .chain(expiry.as_ref().map(|t| Part::Bytes(t)));
        let mut at = 0;
        for piece in pieces {
            let n = piece.len();
            let out = &mut dst[at..at + n];
            match piece {
                Part::Bytes(b) => {
                    for (d, s) in out.iter_mut().zip(b) {
                        d.write(*s);
                    }
                }
                Part::Zeros(_) => out.fill(MaybeUninit::new(0)),
            }
            at += n;
        }
        // Not a debug assertion: `assume_init` below relies on it.
        assert_eq!(at, total, "entry payload fully written");
        // SAFETY: the slice has `total` elements and the writes above covered
        // `0..total` without gaps (the parts are consecutive and `at == total`), so
        // every byte is initialized; the header was written at allocation.
        let arc = unsafe { arc.assume_init_slice_with_header() };
        Entry(triomphe::Arc::into_thin(arc.shareable()))
    }

    fn meta(&self) -> &Meta {
        &self.0.header.header
    }

    fn payload(&self) -> &[u8] {
        &self.0.slice
    }

    #[inline]
    fn key_len(&self) -> usize {
        (self.meta().key_len & KEY_LEN_MASK) as usize
    }

    #[inline]
    fn has_expire(&self) -> bool {
        self.meta().key_len & HAS_EXPIRE != 0
    }

    /// The key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.payload()[..self.key_len()]
    }

    /// The value's type.
    #[inline]
    pub fn kind(&self) -> Kind {
        match self.meta().obj.as_deref() {
            None => Kind::Str,
            Some(Object::Hash(_)) => Kind::Hash,
            Some(Object::Zset(_)) => Kind::Zset,
            Some(Object::List(_)) => Kind::List,
            Some(Object::Set(_)) => Kind::Set,
        }
    }

    /// The value.
    #[inline]
    pub fn value(&self) -> Value<'_> {
        match self.meta().obj.as_deref() {
            None => Value::Str(self.value_bytes()),
            Some(Object::Hash(h)) => Value::Hash(h),
            Some(Object::Zset(z)) => Value::Zset(z),
            Some(Object::List(l)) => Value::List(l),
            Some(Object::Set(s)) => Value::Set(s),
        }
    }

    /// The string value, or `None` when the value is of another type.
    #[inline]
    pub fn as_str(&self) -> Option<&[u8]> {
        match self.value() {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The hash value, or `None` when the value is of another type.
    #[inline]
    pub fn as_hash(&self) -> Option<&HashValue> {
        match self.value() {
            Value::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The sorted set value, or `None` when the value is of another type.
    #[inline]
    pub fn as_zset(&self) -> Option<&ZsetValue> {
        match self.value() {
            Value::Zset(z) => Some(z),
            _ => None,
        }
    }

    /// Runs `f` on the hash value, mutably, and returns its result; `None` when the
    /// value is not a hash. Copy-on-write: if a snapshot (or a COPY) shares this entry
    /// or its hash, the part still shared is copied first, so they keep their view.
    pub fn with_hash_mut<R>(&mut self, f: impl FnOnce(&mut HashValue) -> R) -> Option<R> {
        self.as_hash()?;
        self.with_object_mut(|o| match o {
            Object::Hash(h) => Some(f(h)),
            _ => None,
        })
    }

    /// [`Entry::with_hash_mut`] for a sorted set (its tree form copies only the
    /// nodes a change touches while shared: see [`crate::zset`]).
    pub fn with_zset_mut<R>(&mut self, f: impl FnOnce(&mut ZsetValue) -> R) -> Option<R> {
        self.as_zset()?;
        self.with_object_mut(|o| match o {
            Object::Zset(z) => Some(f(z)),
            _ => None,
        })
    }

    /// Runs `f` on the nested object, unshared first (copy-on-write); `None` for a
    /// string.
    fn with_object_mut<R>(&mut self, f: impl FnOnce(&mut Object) -> Option<R>) -> Option<R> {
        self.meta().obj.as_ref()?;
        if ThinArc::strong_count(&self.0) != 1 {
            // Shared entry: give this table its own entry (the key is copied, the hash
            // is shared until `make_mut` below copies it).
            *self = Entry::build(
                self.key(),
                self.meta().obj.clone(),
                &[],
                self.expire_at(),
                self.access_raw(),
            );
        }
        self.0.with_arc_mut(|arc| {
            let slice = triomphe::Arc::get_mut(arc)?;
            let obj = slice.header_mut().obj.as_mut()?;
            f(Arc::make_mut(obj))
        })
    }

    /// The set value, or `None` when the value is of another type.
    #[inline]
    pub fn as_set(&self) -> Option<&SetValue> {
        match self.value() {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    /// [`Entry::with_hash_mut`] for sets (the whole set is copied while shared).
    pub fn with_set_mut<R>(&mut self, f: impl FnOnce(&mut SetValue) -> R) -> Option<R> {
        self.as_set()?;
        self.with_object_mut(|o| match o {
            Object::Set(s) => Some(f(s)),
            _ => None,
        })
    }

    /// The list value, or `None` when the value is of another type.
    #[inline]
    pub fn as_list(&self) -> Option<&ListValue> {
        match self.value() {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// [`Entry::with_hash_mut`] for lists: runs `f` on the list, mutably, copying
    /// first what a snapshot or a COPY still shares (the entry, the list's deque of
    /// chunk pointers; then the list copies each shared chunk it changes).
    pub fn with_list_mut<R>(&mut self, f: impl FnOnce(&mut ListValue) -> R) -> Option<R> {
        self.as_list()?;
        self.with_object_mut(|o| match o {
            Object::List(l) => Some(f(l)),
            _ => None,
        })
    }

    /// The shared object of a non-string value (COPY shares it copy-on-write).
    pub fn object(&self) -> Option<&Arc<Object>> {
        self.meta().obj.as_ref()
    }

    fn value_bytes(&self) -> &[u8] {
        let p = self.payload();
        let end = if self.has_expire() {
            p.len() - 8
        } else {
            p.len()
        };
        &p[self.key_len()..end]
    }

    /// Absolute expiry time in unix milliseconds, when the key has a TTL.
    #[inline]
    pub fn expire_at(&self) -> Option<i64> {
        if !self.has_expire() {
            return None;
        }
        let p = self.payload();
        let mut b = [0u8; 8];
        b.copy_from_slice(&p[p.len() - 8..]);
        Some(i64::from_le_bytes(b))
    }

    /// Whether the key's TTL has passed at `now` (unix ms).
    #[inline]
    pub fn is_expired(&self, now: i64) -> bool {
        matches!(self.expire_at(), Some(t) if t <= now)
    }

    /// A copy of this entry with another expiry (or none).
    pub fn with_expire(&self, expire_at: Option<i64>) -> Entry {
        Entry::build(
            self.key(),
            self.meta().obj.clone(),
            &[self.value_bytes()],
            expire_at,
            self.access_raw(),
        )
    }

    /// A copy of this entry under another key (RENAME, COPY, MOVE).
    pub fn with_key(&self, key: &[u8]) -> Entry {
        Entry::build(
            key,
            self.meta().obj.clone(),
            &[self.value_bytes()],
            self.expire_at(),
            self.access_raw(),
        )
    }

    /// A copy of this entry under another key and expiry.
    pub fn with_key_and_expire(&self, key: &[u8], expire_at: Option<i64>) -> Entry {
        Entry::build(
            key,
            self.meta().obj.clone(),
            &[self.value_bytes()],
            expire_at,
            self.access_raw(),
        )
    }

    fn access_raw(&self) -> u32 {
        self.meta().access.load(Ordering::Relaxed)
    }

    /// Records an access at `now_secs` (keyspace clock seconds).
    #[inline]
    pub fn touch(&self, now_secs: u32) {
        let a = &self.meta().access;
        // Avoid dirtying the cache line when nothing changes (the common case under
        // read-heavy load within the same second).
        if a.load(Ordering::Relaxed) != now_secs {
            a.store(now_secs, Ordering::Relaxed);
        }
    }

    /// Records an access at `now_secs` unless one was recorded already (a freshly
    /// built entry starts at 0; copies keep their original's clock).
    #[inline]
    pub fn touch_if_new(&self, now_secs: u32) {
        let a = &self.meta().access;
        if a.load(Ordering::Relaxed) == 0 {
            a.store(now_secs, Ordering::Relaxed);
        }
    }

    /// The raw access word (seconds of the last access, or an LFU counter and its
    /// minute: see [`crate::evict::AccessClock`]).
    #[inline]
    pub fn access_word(&self) -> u32 {
        self.access_raw()
    }

    /// Sets the raw access word (left alone when unchanged, so a read does not dirty
    /// the cache line).
    #[inline]
    pub fn set_access_word(&self, word: u32) {
        let a = &self.meta().access;
        if a.load(Ordering::Relaxed) != word {
            a.store(word, Ordering::Relaxed);
        }
    }

    /// Seconds since the last recorded access.
    pub fn idle_secs(&self, now_secs: u32) -> u32 {
        now_secs.saturating_sub(self.access_raw())
    }

    /// Bytes of the entry's own block (reference count, header, key, string bytes and
    /// expiry), before the allocator's rounding.
    pub fn block_size(&self) -> usize {
        std::mem::size_of::<usize>() * 2 + std::mem::size_of::<Meta>() + self.payload().len()
    }

    /// Bytes of heap this entry occupies (approximately: the payload and header, not
    /// the allocator's rounding).
    pub fn heap_size(&self) -> usize {
        let own = std::mem::size_of::<usize>() * 2 + std::mem::size_of::<Meta>();
        let obj = match self.meta().obj.as_deref() {
            None => 0,
            Some(Object::Hash(h)) => 16 + h.heap_size(),
            Some(Object::Zset(z)) => 16 + z.heap_size(),
            Some(Object::List(l)) => 16 + l.heap_size(),
            Some(Object::Set(s)) => 16 + s.heap_size(),
        };
        own + self.payload().len() + obj
    }

    /// Number of holders of this entry (the live table plus any snapshots).
    pub fn ref_count(&self) -> usize {
        ThinArc::strong_count(&self.0)
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &String::from_utf8_lossy(self.key()))
            .field("value", &self.value())
            .field("expire_at", &self.expire_at())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_roundtrip_without_ttl() {
        let e = Entry::new_str(b"key", b"value", None);
        assert_eq!(e.key(), b"key");
        assert_eq!(e.as_str(), Some(&b"value"[..]));
        assert_eq!(e.expire_at(), None);
        assert!(!e.is_expired(i64::MAX));
        assert_eq!(e.kind(), Kind::Str);
    }

    #[test]
    fn string_with_ttl_and_changes() {
        let e = Entry::new_str(b"k", b"", Some(1000));
        assert_eq!(e.as_str(), Some(&b""[..]));
        assert_eq!(e.expire_at(), Some(1000));
        assert!(e.is_expired(1000));
        assert!(!e.is_expired(999));
        let p = e.with_expire(None);
        assert_eq!(p.expire_at(), None);
        assert_eq!(p.as_str(), Some(&b""[..]));
        let r = e.with_key(b"other");
        assert_eq!(r.key(), b"other");
        assert_eq!(r.expire_at(), Some(1000));
    }

    #[test]
    fn large_and_parts() {
        let big = vec![7u8; 100_000];
        let e = Entry::new_str_parts(b"k", &[&big, b"tail"], Some(-5));
        assert_eq!(e.as_str().unwrap().len(), 100_004);
        assert_eq!(&e.as_str().unwrap()[100_000..], b"tail");
        assert_eq!(e.expire_at(), Some(-5));
    }

    #[test]
    fn meta_stays_16_bytes() {
        assert_eq!(std::mem::size_of::<Meta>(), 16);
    }

    #[test]
    fn hash_entries_copy_on_write() {
        let mut h = HashValue::new();
        h.insert(b"f", b"1");
        let mut e = Entry::new_hash(b"key", h, Some(77));
        assert_eq!(e.kind(), Kind::Hash);
        assert_eq!(e.as_str(), None);
        let snapshot = e.clone();
        let copy = e.with_key(b"copy");
        e.with_hash_mut(|h| h.insert(b"f", b"2")).unwrap();
        assert_eq!(e.as_hash().unwrap().get(b"f"), Some(&b"2"[..]));
        assert_eq!(snapshot.as_hash().unwrap().get(b"f"), Some(&b"1"[..]));
        assert_eq!(copy.as_hash().unwrap().get(b"f"), Some(&b"1"[..]));
        assert_eq!(e.key(), b"key");
        assert_eq!(e.expire_at(), Some(77));
        // Unique now: mutates in place.
        e.with_hash_mut(|h| h.insert(b"g", b"3")).unwrap();
        assert_eq!(e.as_hash().unwrap().len(), 2);
        let mut s = Entry::new_str(b"s", b"v", None);
        assert!(s.with_hash_mut(|_| ()).is_none());
    }

    #[test]
    fn list_entries_copy_on_write() {
        let mut l = ListValue::new();
        l.push_back(b"a");
        let mut e = Entry::new_list(b"key", l, None);
        assert_eq!(e.kind(), Kind::List);
        assert!(e.as_hash().is_none() && e.as_str().is_none());
        let snapshot = e.clone();
        e.with_list_mut(|l| l.push_back(b"b")).unwrap();
        assert_eq!(e.as_list().unwrap().len(), 2);
        assert_eq!(snapshot.as_list().unwrap().len(), 1);
        assert!(e.with_hash_mut(|_| ()).is_none());
        let mut s = Entry::new_str(b"s", b"v", None);
        assert!(s.with_list_mut(|_| ()).is_none());
    }

    #[test]
    fn clone_shares_and_touch_is_visible() {
        let e = Entry::new_str(b"k", b"v", None);
        let c = e.clone();
        assert_eq!(e.ref_count(), 2);
        c.touch(42);
        assert_eq!(e.idle_secs(50), 8);
    }
}
