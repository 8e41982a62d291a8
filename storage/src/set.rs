//! The set type: unique byte-string members, compact while small and all-integer.
//!
//! As Redis 7.0 does, a set whose members are all integers in canonical form (what
//! Redis's `string2ll` accepts: no sign but `-`, no leading zero) and at most
//! [`INTSET_MAX_ENTRIES`] of them is an *intset*: a sorted `Vec<i64>` (8 bytes per
//! member, no allocation per member), iterated in ascending order. Any other member,
//! or one more, converts it to a hashbrown table of single-allocation members (the
//! `hashtable` encoding; never converted back, as in Redis). A set sits in an
//! [`crate::Entry`] behind an `Arc`: a snapshot shares it, and a write copies it
//! (whole) only while shared.

use std::sync::LazyLock;

use hashbrown::HashTable;

use crate::KeyHasher;

/// Most members an intset holds (Redis's `set-max-intset-entries`).
pub const INTSET_MAX_ENTRIES: usize = 512;

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
    Table(HashTable<Box<[u8]>>),
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
            Repr::Table(t) => t.find(member_hash(m), |r| &r[..] == m).is_some(),
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
        let h = member_hash(m);
        if t.find(h, |r| &r[..] == m).is_some() {
            return false;
        }
        t.insert_unique(h, m.into(), |r| member_hash(r));
        true
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
            Repr::Table(t) => match t.find_entry(member_hash(m), |r| &r[..] == m) {
                Ok(e) => {
                    e.remove();
                    true
                }
                Err(_) => false,
            },
        }
    }

    /// Every member: ascending for an intset, table order otherwise.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Member<'_>> + '_> {
        match &self.repr {
            Repr::Ints(v) => Box::new(v.iter().map(|i| Member::Int(*i))),
            Repr::Table(t) => Box::new(t.iter().map(|r| Member::Bytes(r))),
        }
    }

    /// A member chosen by `rand` (a number below its argument): O(1) expected.
    pub fn random(&self, mut rand: impl FnMut(usize) -> usize) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(v) => (!v.is_empty()).then(|| Member::Int(v[rand(v.len())])),
            Repr::Table(t) => {
                if t.is_empty() {
                    return None;
                }
                let buckets = t.num_buckets();
                loop {
                    if let Some(r) = t.get_bucket(rand(buckets)) {
                        return Some(Member::Bytes(r));
                    }
                }
            }
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
                        visit(Member::Bytes(r));
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
            Repr::Ints(v) => v.capacity() * 8,
            Repr::Table(t) => t.allocation_size() + t.iter().map(|r| r.len() + 16).sum::<usize>(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Repr::Ints(v) = &self.repr {
            let mut t = HashTable::with_capacity(v.len() + 1);
            for i in v {
                let m: Box<[u8]> = itoa::Buffer::new().format(*i).as_bytes().into();
                t.insert_unique(member_hash(&m), m, |r| member_hash(r));
            }
            self.repr = Repr::Table(t);
        }
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
}
