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
use std::sync::atomic::{AtomicU32, Ordering};

use triomphe::ThinArc;

/// Flag bit in [`Meta::flags`]: the last 8 bytes of the payload are the expiry time.
const HAS_EXPIRE: u8 = 1;

/// The header stored in front of the payload.
struct Meta {
    /// Length of the key at the start of the payload.
    key_len: u32,
    /// Last access, in seconds of the keyspace clock (see [`crate::Clock`]).
    access: AtomicU32,
    /// The value's type (see [`Kind`]).
    kind: u8,
    /// [`HAS_EXPIRE`] and future flags.
    flags: u8,
}

/// The type of a value, as `TYPE` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A binary-safe string (`TYPE` says `string`).
    Str,
}

impl Kind {
    /// The name `TYPE` replies with.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Str => "string",
        }
    }

    fn from_u8(v: u8) -> Kind {
        debug_assert_eq!(v, Kind::Str as u8);
        Kind::Str
    }
}

/// A borrowed view of an entry's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// String bytes.
    Str(&'a [u8]),
}

/// A key with its value and optional expiry. See the module docs.
#[derive(Clone)]
pub struct Entry(ThinArc<Meta, u8>);

impl Entry {
    /// Builds a string entry, copying `key` and `value` into one new allocation.
    pub fn new_str(key: &[u8], value: &[u8], expire_at: Option<i64>) -> Entry {
        Entry::build(key, Kind::Str, &[value], expire_at, 0)
    }

    /// Builds a string entry whose value is the concatenation of `parts`
    /// (APPEND and SETRANGE build their result without an intermediate buffer).
    pub fn new_str_parts(key: &[u8], parts: &[&[u8]], expire_at: Option<i64>) -> Entry {
        Entry::build(key, Kind::Str, parts, expire_at, 0)
    }

    fn build(
        key: &[u8],
        kind: Kind,
        parts: &[&[u8]],
        expire_at: Option<i64>,
        access: u32,
    ) -> Entry {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        let total = key.len() + value_len + if expire_at.is_some() { 8 } else { 0 };
        let meta = Meta {
            key_len: u32::try_from(key.len()).expect("key longer than 4 GiB"),
            access: AtomicU32::new(access),
            kind: kind as u8,
            flags: if expire_at.is_some() { HAS_EXPIRE } else { 0 },
        };
        let fill = |dst: &mut [u8]| {
            dst[..key.len()].copy_from_slice(key);
            let mut at = key.len();
            for p in parts {
                dst[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
            if let Some(t) = expire_at {
                dst[at..at + 8].copy_from_slice(&t.to_le_bytes());
            }
        };
        // Small payloads (the common case) are assembled on the stack and copied once
        // with memcpy; large ones go through a Vec (one extra copy, dwarfed by I/O).
        if total <= 256 {
            let mut stack = [0u8; 256];
            fill(&mut stack[..total]);
            Entry(ThinArc::from_header_and_slice(meta, &stack[..total]))
        } else {
            let mut heap = vec![0u8; total];
            fill(&mut heap);
            Entry(ThinArc::from_header_and_slice(meta, &heap))
        }
    }

    fn meta(&self) -> &Meta {
        &self.0.header.header
    }

    fn payload(&self) -> &[u8] {
        &self.0.slice
    }

    /// The key.
    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.payload()[..self.meta().key_len as usize]
    }

    /// The value's type.
    #[inline]
    pub fn kind(&self) -> Kind {
        Kind::from_u8(self.meta().kind)
    }

    /// The value.
    #[inline]
    pub fn value(&self) -> Value<'_> {
        match self.kind() {
            Kind::Str => Value::Str(self.value_bytes()),
        }
    }

    /// The string value, or `None` when the value is of another type.
    #[inline]
    pub fn as_str(&self) -> Option<&[u8]> {
        match self.value() {
            Value::Str(s) => Some(s),
        }
    }

    fn value_bytes(&self) -> &[u8] {
        let p = self.payload();
        let end = if self.meta().flags & HAS_EXPIRE != 0 {
            p.len() - 8
        } else {
            p.len()
        };
        &p[self.meta().key_len as usize..end]
    }

    /// Absolute expiry time in unix milliseconds, when the key has a TTL.
    #[inline]
    pub fn expire_at(&self) -> Option<i64> {
        if self.meta().flags & HAS_EXPIRE == 0 {
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
            self.kind(),
            &[self.value_bytes()],
            expire_at,
            self.access_raw(),
        )
    }

    /// A copy of this entry under another key (RENAME, COPY, MOVE).
    pub fn with_key(&self, key: &[u8]) -> Entry {
        Entry::build(
            key,
            self.kind(),
            &[self.value_bytes()],
            self.expire_at(),
            self.access_raw(),
        )
    }

    /// A copy of this entry under another key and expiry.
    pub fn with_key_and_expire(&self, key: &[u8], expire_at: Option<i64>) -> Entry {
        Entry::build(
            key,
            self.kind(),
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

    /// Seconds since the last recorded access.
    pub fn idle_secs(&self, now_secs: u32) -> u32 {
        now_secs.saturating_sub(self.access_raw())
    }

    /// Bytes of heap this entry occupies (approximately: the payload and header, not
    /// the allocator's rounding).
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<usize>() * 2 + std::mem::size_of::<Meta>() + self.payload().len()
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
    fn clone_shares_and_touch_is_visible() {
        let e = Entry::new_str(b"k", b"v", None);
        let c = e.clone();
        assert_eq!(e.ref_count(), 2);
        c.touch(42);
        assert_eq!(e.idle_secs(50), 8);
    }
}
