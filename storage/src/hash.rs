//! The hash type: a map of fields to values, compact while small.
//!
//! Like Redis's listpack encoding, a small hash (at most [`HashLimits::entries`]
//! fields, each field and value at most [`HashLimits::value`] bytes: Redis's
//! `hash-max-listpack-*`, which the caller passes in from the live configuration) is
//! one contiguous buffer searched linearly: no table, no per-field allocation. It
//! converts to a hashbrown table of single-allocation fields once a write takes it past
//! either limit (and never converts back, as Redis). A hash sits in an [`crate::Entry`] behind an `Arc`, so a snapshot
//! shares it and a write copies it only while shared.

use std::sync::LazyLock;

use hashbrown::HashTable;

use crate::KeyHasher;

/// Most fields a packed hash holds by default (Redis 7.0's `hash-max-listpack-entries`).
pub const PACKED_MAX_ENTRIES: usize = 512;
/// Longest field or value a packed hash holds by default (Redis's
/// `hash-max-listpack-value`).
pub const PACKED_MAX_VALUE: usize = 64;

/// When a packed hash converts to a table (Redis's `hash-max-listpack-*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    /// Most fields a packed hash holds.
    pub entries: usize,
    /// Longest field or value a packed hash holds.
    pub value: usize,
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits {
            entries: PACKED_MAX_ENTRIES,
            value: PACKED_MAX_VALUE,
        }
    }
}

/// Field hashes use one random seed per process (fields cannot be aimed at collisions).
static FIELD_HASHER: LazyLock<KeyHasher> = LazyLock::new(KeyHasher::new);

/// A hash value. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct HashValue {
    repr: Repr,
}

#[derive(Clone, Debug)]
enum Repr {
    /// `[u32 field len][field][u32 value len][value]` back to back.
    Packed { buf: Vec<u8>, len: usize },
    /// One allocation per field: `[u32 field len][field][value]`.
    Table(HashTable<Box<[u8]>>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Packed {
            buf: Vec::new(),
            len: 0,
        }
    }
}

fn read_u32(b: &[u8], at: usize) -> usize {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x) as usize
}

/// Iterates the packed buffer: (offset of the record, field, value).
fn packed_iter(buf: &[u8]) -> impl Iterator<Item = (usize, &[u8], &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= buf.len() {
            return None;
        }
        let start = at;
        let flen = read_u32(buf, at);
        let field = &buf[at + 4..at + 4 + flen];
        at += 4 + flen;
        let vlen = read_u32(buf, at);
        let value = &buf[at + 4..at + 4 + vlen];
        at += 4 + vlen;
        Some((start, field, value))
    })
}

fn record_field(r: &[u8]) -> &[u8] {
    &r[4..4 + read_u32(r, 0)]
}

fn record_value(r: &[u8]) -> &[u8] {
    &r[4 + read_u32(r, 0)..]
}

fn make_record(field: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut v = Vec::with_capacity(4 + field.len() + value.len());
    v.extend_from_slice(&(field.len() as u32).to_le_bytes());
    v.extend_from_slice(field);
    v.extend_from_slice(value);
    v.into_boxed_slice()
}

fn field_hash(field: &[u8]) -> u64 {
    FIELD_HASHER.hash(field)
}

impl HashValue {
    /// An empty hash.
    pub fn new() -> HashValue {
        HashValue::default()
    }

    /// An empty hash ready for `n` fields (converted to a table at once when `n` is
    /// beyond `limits.entries`, so filling it never converts or rehashes).
    pub fn with_capacity(n: usize, limits: HashLimits) -> HashValue {
        let mut h = HashValue::new();
        h.reserve(n, limits);
        h
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed { len, .. } => *len,
            Repr::Table(t) => t.len(),
        }
    }

    /// Whether the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `listpack` or `hashtable`, as OBJECT ENCODING reports it.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed { .. } => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed { buf, .. } => packed_iter(buf)
                .find(|(_, f, _)| *f == field)
                .map(|(_, _, v)| v),
            Repr::Table(t) => t
                .find(field_hash(field), |r| record_field(r) == field)
                .map(|r| record_value(r)),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Makes room for `additional` more fields (converting to a table if they could not
    /// all stay packed).
    pub fn reserve(&mut self, additional: usize, limits: HashLimits) {
        if let Repr::Packed { len, .. } = &self.repr {
            if len + additional > limits.entries {
                self.convert_to_table(len + additional);
            }
            return;
        }
        if let Repr::Table(t) = &mut self.repr {
            t.reserve(additional, |r| field_hash(record_field(r)));
        }
    }

    /// [`HashValue::insert_within`] with the default limits (tests).
    #[cfg(test)]
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.insert_within(field, value, HashLimits::default())
    }

    /// Sets `field` to `value`; a packed hash converts to a table when the field or
    /// the value is longer than `limits.value`, or it would hold more than
    /// `limits.entries` fields. Returns true when the field is new.
    pub fn insert_within(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let Repr::Packed { len, .. } = &self.repr {
            // As Redis's hashTypeSet: the size is checked after every write, an
            // update included (the limit may have been lowered since).
            let fits = field.len() <= limits.value && value.len() <= limits.value;
            let after = if self.contains(field) { *len } else { *len + 1 };
            let room = after <= limits.entries;
            if !(fits && room) {
                self.convert_to_table(*len + 1);
            }
        }
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                let found = packed_iter(buf)
                    .find(|(_, f, _)| *f == field)
                    .map(|(at, f, v)| (at, 8 + f.len() + v.len()));
                let mut rec = Vec::with_capacity(8 + field.len() + value.len());
                rec.extend_from_slice(&(field.len() as u32).to_le_bytes());
                rec.extend_from_slice(field);
                rec.extend_from_slice(&(value.len() as u32).to_le_bytes());
                rec.extend_from_slice(value);
                match found {
                    Some((at, old_len)) => {
                        buf.splice(at..at + old_len, rec);
                        false
                    }
                    None => {
                        buf.extend_from_slice(&rec);
                        *len += 1;
                        true
                    }
                }
            }
            Repr::Table(t) => {
                let h = field_hash(field);
                match t.find_mut(h, |r| record_field(r) == field) {
                    Some(r) => {
                        *r = make_record(field, value);
                        false
                    }
                    None => {
                        t.insert_unique(h, make_record(field, value), |r| {
                            field_hash(record_field(r))
                        });
                        true
                    }
                }
            }
        }
    }

    /// Looks `field` up once and lets `decide` pick its new value from the current one
    /// (`None` when absent): `Ok(Some(v))` stores `v`, `Ok(None)` leaves the hash as it
    /// is, an error is returned as is (nothing changed). Returns whether a field was
    /// added. One lookup where `get` then `insert` would take two (merges, increments).
    pub fn upsert<V: AsRef<[u8]>, E>(
        &mut self,
        field: &[u8],
        limits: HashLimits,
        decide: impl FnOnce(Option<&[u8]>) -> Result<Option<V>, E>,
    ) -> Result<bool, E> {
        let Repr::Table(t) = &mut self.repr else {
            let Some(v) = decide(self.get(field))? else {
                return Ok(false);
            };
            return Ok(self.insert_within(field, v.as_ref(), limits));
        };
        let h = field_hash(field);
        match t.entry(
            h,
            |r| record_field(r) == field,
            |r| field_hash(record_field(r)),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                if let Some(v) = decide(Some(record_value(o.get())))? {
                    *o.get_mut() = make_record(field, v.as_ref());
                }
                Ok(false)
            }
            hashbrown::hash_table::Entry::Vacant(slot) => match decide(None)? {
                Some(v) => {
                    slot.insert(make_record(field, v.as_ref()));
                    Ok(true)
                }
                None => Ok(false),
            },
        }
    }

    /// Removes `field`. Returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed { buf, len } => {
                let found = packed_iter(buf)
                    .find(|(_, f, _)| *f == field)
                    .map(|(at, f, v)| (at, 8 + f.len() + v.len()));
                match found {
                    Some((at, n)) => {
                        buf.drain(at..at + n);
                        *len -= 1;
                        true
                    }
                    None => false,
                }
            }
            Repr::Table(t) => match t.find_entry(field_hash(field), |r| record_field(r) == field) {
                Ok(e) => {
                    e.remove();
                    true
                }
                Err(_) => false,
            },
        }
    }

    /// Every (field, value), in storage order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Packed { buf, .. } => Box::new(packed_iter(buf).map(|(_, f, v)| (f, v))),
            Repr::Table(t) => Box::new(t.iter().map(|r| (record_field(r), record_value(r)))),
        }
    }

    /// The `n`th (field, value) in storage order (HRANDFIELD), `n < len()`.
    pub fn nth(&self, n: usize) -> Option<(&[u8], &[u8])> {
        self.iter().nth(n)
    }

    /// A field chosen by `rand` (which returns a number below its argument).
    /// O(1) for tables (random bucket probing), O(n) for packed hashes.
    pub fn random(&self, mut rand: impl FnMut(usize) -> usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Packed { len, .. } => {
                if *len == 0 {
                    None
                } else {
                    self.nth(rand(*len))
                }
            }
            Repr::Table(t) => {
                if t.is_empty() {
                    return None;
                }
                let buckets = t.num_buckets();
                loop {
                    if let Some(r) = t.get_bucket(rand(buckets)) {
                        return Some((record_field(r), record_value(r)));
                    }
                }
            }
        }
    }

    /// One HSCAN step: calls `visit` for the fields from `cursor` on, about `count` of
    /// them, and returns the cursor to continue from (0 when done). A packed hash is
    /// returned whole in one step (as Redis does for listpacks). For tables the cursor
    /// is a bucket index, stable because HSCAN's caller holds the shard lock for the
    /// step and tables only move entries when they grow; a grown table may repeat
    /// fields but never skips one present throughout (the cursor carries the bucket
    /// count and restarts from 0 when it changed).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.repr {
            Repr::Packed { buf, .. } => {
                for (_, f, v) in packed_iter(buf) {
                    visit(f, v);
                }
                0
            }
            Repr::Table(t) => {
                let buckets = t.num_buckets();
                let log2 = buckets.trailing_zeros() as u64;
                let (mut at, stamp) = ((cursor & 0xffff_ffff_ffff) as usize, cursor >> 48);
                if cursor != 0 && stamp != log2 {
                    at = 0;
                }
                let mut seen = 0;
                let mut budget = count.saturating_mul(10).max(100);
                while at < buckets && seen < count.max(1) && budget > 0 {
                    if let Some(r) = t.get_bucket(at) {
                        visit(record_field(r), record_value(r));
                        seen += 1;
                    }
                    at += 1;
                    budget -= 1;
                }
                if at >= buckets {
                    0
                } else {
                    (log2 << 48) | at as u64
                }
            }
        }
    }

    /// Approximate heap bytes used.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Packed { buf, .. } => buf.capacity(),
            Repr::Table(t) => t.allocation_size() + t.iter().map(|r| r.len() + 16).sum::<usize>(),
        }
    }

    fn convert_to_table(&mut self, capacity: usize) {
        if let Repr::Packed { buf, len } = &self.repr {
            let mut t = HashTable::with_capacity(capacity.max(*len + 1));
            for (_, f, v) in packed_iter(buf) {
                t.insert_unique(field_hash(f), make_record(f, v), |r| {
                    field_hash(record_field(r))
                });
            }
            self.repr = Repr::Table(t);
        }
    }
}

impl PartialEq for HashValue {
    fn eq(&self, other: &HashValue) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

impl Eq for HashValue {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn packed_basics() {
        let mut h = HashValue::new();
        assert!(h.insert(b"a", b"1"));
        assert!(h.insert(b"b", b"2"));
        assert!(!h.insert(b"a", b"one"));
        assert_eq!(h.get(b"a"), Some(&b"one"[..]));
        assert_eq!(h.len(), 2);
        assert_eq!(h.encoding(), "listpack");
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.get(b"b"), Some(&b"2"[..]));
        assert_eq!(h.len(), 1);
        assert_eq!(h.scan(0, 10, |_, _| {}), 0);
    }

    #[test]
    fn converts_on_size_and_on_long_values() {
        let mut h = HashValue::new();
        for i in 0..PACKED_MAX_ENTRIES {
            h.insert(format!("f{i}").as_bytes(), b"v");
        }
        assert_eq!(h.encoding(), "listpack");
        h.insert(b"one-more", b"v");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), PACKED_MAX_ENTRIES + 1);
        assert_eq!(h.get(b"f7"), Some(&b"v"[..]));

        let mut h = HashValue::new();
        h.insert(b"k", &[b'x'; PACKED_MAX_VALUE + 1]);
        assert_eq!(h.encoding(), "hashtable");

        // Other limits, as CONFIG SET hash-max-listpack-* gives them.
        let tight = HashLimits {
            entries: 2,
            value: 3,
        };
        let mut h = HashValue::new();
        assert!(h.insert_within(b"a", b"123", tight));
        assert!(h.insert_within(b"b", b"1", tight));
        assert!(!h.insert_within(b"b", b"2", tight));
        assert_eq!(h.encoding(), "listpack");
        assert!(h.insert_within(b"c", b"1", tight));
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.insert_within(b"abcd", b"1", tight);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.insert_within(b"a", b"1234", tight);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.insert_within(
            b"a",
            b"1",
            HashLimits {
                entries: 0,
                value: 64,
            },
        );
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(HashValue::with_capacity(3, tight).encoding(), "hashtable");
        assert_eq!(HashValue::with_capacity(2, tight).encoding(), "listpack");
    }

    #[test]
    fn behaves_like_a_map() {
        // Random operations against std's HashMap, across the conversion.
        let mut h = HashValue::new();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut x: u64 = 42;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = format!("field{}", x % 300).into_bytes();
            let v = format!("{}", x % 1000).into_bytes();
            if x % 5 == 0 {
                assert_eq!(h.remove(&f), model.remove(&f).is_some());
            } else {
                assert_eq!(h.insert(&f, &v), model.insert(f, v).is_none());
            }
            assert_eq!(h.len(), model.len());
        }
        for (f, v) in &model {
            assert_eq!(h.get(f), Some(&v[..]));
        }
        assert_eq!(h.iter().count(), model.len());
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, 10, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), model.len());
    }

    #[test]
    fn upsert_decides_from_the_current_value() {
        for n in [3, PACKED_MAX_ENTRIES + 10] {
            let mut h = HashValue::new();
            for i in 0..n {
                h.insert(format!("f{i}").as_bytes(), b"1");
            }
            let add = |cur: Option<&[u8]>| -> Result<Option<Vec<u8>>, ()> {
                Ok(Some(match cur {
                    Some(c) => [c, b"+"].concat(),
                    None => b"new".to_vec(),
                }))
            };
            assert_eq!(h.upsert(b"f1", HashLimits::default(), add), Ok(false));
            assert_eq!(h.get(b"f1"), Some(&b"1+"[..]));
            assert_eq!(h.upsert(b"zz", HashLimits::default(), add), Ok(true));
            assert_eq!(h.get(b"zz"), Some(&b"new"[..]));
            assert_eq!(
                h.upsert(b"f2", HashLimits::default(), |_| Ok::<Option<&[u8]>, ()>(
                    None
                )),
                Ok(false)
            );
            assert_eq!(
                h.upsert(b"yy", HashLimits::default(), |_| Ok::<Option<&[u8]>, ()>(
                    None
                )),
                Ok(false)
            );
            assert_eq!(
                h.upsert(b"f2", HashLimits::default(), |_| Err::<Option<&[u8]>, _>(
                    "no"
                )),
                Err("no")
            );
            assert_eq!(h.get(b"f2"), Some(&b"1"[..]));
            assert_eq!(h.len(), n + 1);
        }
    }

    #[test]
    fn clone_is_independent() {
        let mut a = HashValue::new();
        a.insert(b"x", b"1");
        let mut b = a.clone();
        b.insert(b"x", b"2");
        assert_eq!(a.get(b"x"), Some(&b"1"[..]));
        assert_eq!(b.get(b"x"), Some(&b"2"[..]));
        assert_ne!(a, b);
    }
}
