//! Merges: one map folded into another, atomically (HMERGE, HMERGEVALUES, MMERGE).
//!
//! Merging maps is the everyday operation behind counters aggregated from many
//! workers, configuration overlays and feature-flag sets. Every merge here:
//!
//! - is **atomic**: all the shards it touches stay locked from the first lookup to the
//!   last write, so no reader sees half of it and expiry cannot interleave;
//! - **validates before it applies**: types are checked first, numbers next; on any
//!   error nothing has changed;
//! - **reserves capacity** for the result before inserting (no rehash storms);
//! - **walks the smaller side into the larger**: when a source is larger than the
//!   destination (for instance the destination is empty), that source becomes the base
//!   of the result, shared copy-on-write in O(1), and the rest is merged into it.
//!
//! A merge is a left fold: `dest ⊕ s1 ⊕ s2 ⊕ ...`, where `acc ⊕ s` combines each field
//! of `s` into `acc` with a [`MergeStrategy`]. Fields of `acc` that `s` lacks stay as
//! they are. Starting from a larger source uses two facts: a numeric combination is
//! commutative (`a ⊕ b = b ⊕ a`), and `a ⊕REPLACE b = b ⊕KEEP a` (and vice versa),
//! so the result is exactly the fold in argument order.
//!
//! Numeric rules (SUM, MIN, MAX), shared with INCRBYFLOAT's arithmetic
//! ([`crate::number`]): an operand is an integer when it reads as Redis's `string2ll`
//! does (no `+`, no leading zeros), otherwise a float as `strtold` reads it (infinity
//! and NaN are not numbers). Integers stay integers when both operands are integers
//! and the result fits in 64 bits; otherwise the result is the 80-bit float sum (or
//! the chosen operand), formatted exactly as INCRBYFLOAT / HINCRBYFLOAT format it
//! (`1` + `1.5` = `2.5`, `0.1` + `0.2` = `0.3`, `i64::MAX` + `i64::MAX` =
//! `18446744073709551614`, never a wrapped integer). A value merged into a missing
//! field is validated and stored in that same canonical form (`1.50` becomes `1.5`,
//! as HINCRBYFLOAT on a missing field would store it).

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::db::{Db, HeldShards};
use crate::entry::{Entry, Kind};
use crate::hash::{HashLimits, HashValue};
use crate::number::{self, Ext};
use crate::shard::{secs, Shard};

/// How an incoming value combines with an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeStrategy {
    /// The incoming value wins (HSET, MSET).
    Replace,
    /// An existing value is kept; only missing fields or keys are set (HSETNX).
    Keep,
    /// Numeric sum (HINCRBY / HINCRBYFLOAT).
    Sum,
    /// Numeric minimum.
    Min,
    /// Numeric maximum.
    Max,
}

impl MergeStrategy {
    /// Every strategy, in the order the commands document them.
    pub const ALL: [MergeStrategy; 5] = [
        MergeStrategy::Replace,
        MergeStrategy::Keep,
        MergeStrategy::Sum,
        MergeStrategy::Min,
        MergeStrategy::Max,
    ];

    /// Parses a strategy name, case-insensitively (`replace`, `KEEP`, `Sum`...).
    pub fn from_bytes(name: &[u8]) -> Option<MergeStrategy> {
        MergeStrategy::ALL
            .into_iter()
            .find(|s| s.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// The upper-case name (`REPLACE`, `KEEP`, `SUM`, `MIN`, `MAX`).
    pub fn name(self) -> &'static str {
        match self {
            MergeStrategy::Replace => "REPLACE",
            MergeStrategy::Keep => "KEEP",
            MergeStrategy::Sum => "SUM",
            MergeStrategy::Min => "MIN",
            MergeStrategy::Max => "MAX",
        }
    }

    /// Whether values are read as numbers (SUM, MIN, MAX).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            MergeStrategy::Sum | MergeStrategy::Min | MergeStrategy::Max
        )
    }

    /// The strategy that gives the same result with the operands swapped:
    /// `a ⊕REPLACE b = b ⊕KEEP a`; numeric strategies are commutative.
    fn swapped(self) -> MergeStrategy {
        match self {
            MergeStrategy::Replace => MergeStrategy::Keep,
            MergeStrategy::Keep => MergeStrategy::Replace,
            other => other,
        }
    }
}

impl fmt::Display for MergeStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A strategy name that is none of REPLACE, KEEP, SUM, MIN, MAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownStrategy;

impl fmt::Display for UnknownStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown merge strategy (expected REPLACE, KEEP, SUM, MIN or MAX)")
    }
}

impl std::error::Error for UnknownStrategy {}

impl FromStr for MergeStrategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<MergeStrategy, UnknownStrategy> {
        MergeStrategy::from_bytes(s.as_bytes()).ok_or(UnknownStrategy)
    }
}

/// Why a merge was refused. Nothing has changed when a merge returns one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// A key holds a value of another type (a string where a hash is expected, or
    /// the reverse): Redis's `WRONGTYPE`.
    WrongType,
    /// A numeric strategy met an operand that is not a finite number.
    NotANumber,
    /// A SUM would be infinite (beyond the 80-bit float range, about 1.19e4932).
    Overflow,
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MergeError::WrongType => "operation against a key holding the wrong kind of value",
            MergeError::NotANumber => "value is not a number",
            MergeError::Overflow => "increment would produce NaN or Infinity",
        })
    }
}

impl std::error::Error for MergeError {}

// ---------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------

/// A numeric operand.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int(i64),
    Float(Ext),
}

impl Num {
    fn ext(self) -> Ext {
        match self {
            Num::Int(i) => Ext::from(i),
            Num::Float(x) => x,
        }
    }
}

/// Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, in range.
fn parse_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if !matches!(digits.first(), Some(b'1'..=b'9')) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

fn parse_num(s: &[u8]) -> Result<Num, MergeError> {
    if let Some(i) = parse_int(s) {
        return Ok(Num::Int(i));
    }
    match number::parse(s) {
        Some(number::Value::Finite(x)) => Ok(Num::Float(x)),
        _ => Err(MergeError::NotANumber),
    }
}

/// `a ⊕ b` for a numeric strategy (`existing ⊕ incoming`; all three are commutative).
fn combine(strategy: MergeStrategy, a: Num, b: Num) -> Result<Num, MergeError> {
    Ok(match (strategy, a, b) {
        (MergeStrategy::Sum, Num::Int(x), Num::Int(y)) => match x.checked_add(y) {
            Some(s) => Num::Int(s),
            None => Num::Float(add(a, b)?),
        },
        (MergeStrategy::Sum, _, _) => Num::Float(add(a, b)?),
        (MergeStrategy::Min, Num::Int(x), Num::Int(y)) => Num::Int(x.min(y)),
        (MergeStrategy::Max, Num::Int(x), Num::Int(y)) => Num::Int(x.max(y)),
        (MergeStrategy::Min, _, _) => Num::Float(pick(a, b, std::cmp::Ordering::Less)),
        (MergeStrategy::Max, _, _) => Num::Float(pick(a, b, std::cmp::Ordering::Greater)),
        // Not numeric: never called with these.
        (MergeStrategy::Replace, _, _) => b,
        (MergeStrategy::Keep, _, _) => a,
    })
}

fn add(a: Num, b: Num) -> Result<Ext, MergeError> {
    number::add(a.ext().into(), b.ext().into()).ok_or(MergeError::Overflow)
}

/// The operand that compares `want` against the other (the first one on a tie).
fn pick(a: Num, b: Num, want: std::cmp::Ordering) -> Ext {
    let (x, y) = (a.ext(), b.ext());
    if number::cmp(y, x) == want {
        y
    } else {
        x
    }
}

/// Floats at or beyond ±2^16300 could overflow a SUM of many of them; below that, no
/// sum of fewer than 2^80 operands can reach the 80-bit limit (2^16384).
static HUGE: LazyLock<Option<(Ext, Ext)>> =
    LazyLock::new(
        || match (number::parse(b"0x1p16300"), number::parse(b"-0x1p16300")) {
            (Some(number::Value::Finite(hi)), Some(number::Value::Finite(lo))) => Some((hi, lo)),
            _ => None,
        },
    );

fn is_huge(n: Num) -> bool {
    match (n, *HUGE) {
        (Num::Int(_), _) => false,
        (Num::Float(x), Some((hi, lo))) => number::cmp(x, hi).is_ge() || number::cmp(x, lo).is_le(),
        (Num::Float(_), None) => true,
    }
}

/// A value to store: borrowed from an operand when it is stored as it came, else
/// rendered (integers on the stack, floats as INCRBYFLOAT formats them).
enum Rendered<'a> {
    Borrowed(&'a [u8]),
    Int { buf: [u8; 20], start: usize },
    Owned(String),
}

impl Rendered<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Rendered::Borrowed(b) => b,
            Rendered::Int { buf, start } => buf.get(*start..).unwrap_or_default(),
            Rendered::Owned(s) => s.as_bytes(),
        }
    }
}

impl AsRef<[u8]> for Rendered<'_> {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

fn render(n: Num) -> Rendered<'static> {
    match n {
        Num::Int(i) => {
            let mut buf = [0u8; 20];
            let mut at = buf.len();
            let mut v = i.unsigned_abs();
            loop {
                at -= 1;
                buf[at] = b'0' + (v % 10) as u8;
                v /= 10;
                if v == 0 {
                    break;
                }
            }
            if i < 0 {
                at -= 1;
                buf[at] = b'-';
            }
            Rendered::Int { buf, start: at }
        }
        Num::Float(x) => Rendered::Owned(number::format_human(x)),
    }
}

/// A lone value (merged into a missing field or key), validated and in canonical form.
fn normalize(v: &[u8]) -> Result<Rendered<'_>, MergeError> {
    Ok(match parse_num(v)? {
        // string2ll accepts only the canonical spelling of an integer.
        Num::Int(_) => Rendered::Borrowed(v),
        Num::Float(x) => {
            let s = number::format_human(x);
            if s.as_bytes() == v {
                Rendered::Borrowed(v)
            } else {
                Rendered::Owned(s)
            }
        }
    })
}

/// The new value of a field (or key) holding `current`, after `incoming` merges in;
/// `None` when it keeps its current value.
fn merged<'v>(
    strategy: MergeStrategy,
    current: Option<&[u8]>,
    incoming: &'v [u8],
) -> Result<Option<Rendered<'v>>, MergeError> {
    Ok(match (strategy, current) {
        (MergeStrategy::Replace, _) => Some(Rendered::Borrowed(incoming)),
        (MergeStrategy::Keep, Some(_)) => None,
        (MergeStrategy::Keep, None) => Some(Rendered::Borrowed(incoming)),
        (_, None) => Some(normalize(incoming)?),
        (_, Some(cur)) => match (strategy, parse_num(cur)?, parse_num(incoming)?) {
            // Two integers: MIN and MAX keep one of them as it is spelled.
            (MergeStrategy::Min, Num::Int(x), Num::Int(y)) => {
                (y < x).then_some(Rendered::Borrowed(incoming))
            }
            (MergeStrategy::Max, Num::Int(x), Num::Int(y)) => {
                (y > x).then_some(Rendered::Borrowed(incoming))
            }
            (_, a, b) => {
                let out = render(combine(strategy, a, b)?);
                (out.bytes() != cur).then_some(out)
            }
        },
    })
}

// ---------------------------------------------------------------------------------
// Hash merges
// ---------------------------------------------------------------------------------

/// Merges `op` into `acc`. `raw`: `op` holds a destination's own values (already as
/// they should stay), so its fields that `acc` lacks are copied verbatim instead of
/// being validated and normalized. May fail part-way: callers either validated first
/// ([`validate`]) or work on a value nobody sees until it succeeded.
fn apply(
    acc: &mut HashValue,
    op: &HashValue,
    raw: bool,
    strategy: MergeStrategy,
    limits: HashLimits,
) -> Result<(), MergeError> {
    match strategy {
        MergeStrategy::Replace => for_each_batch(op, |batch| {
            for &(f, v) in batch {
                acc.insert_within(f, v, limits);
            }
            Ok(())
        }),
        MergeStrategy::Keep => for_each_batch(op, |batch| {
            for &(f, v) in batch {
                acc.upsert(f, limits, |cur| {
                    Ok::<_, MergeError>(cur.is_none().then_some(v))
                })?;
            }
            Ok(())
        }),
        // One lookup per field: the current value decides the new one.
        _ => for_each_batch(op, |batch| {
            for &(f, v) in batch {
                acc.upsert(f, limits, |current| match current {
                    None if raw => Ok(Some(Rendered::Borrowed(v))),
                    current => merged(strategy, current, v),
                })?;
            }
            Ok(())
        }),
    }
}

/// Pairs read from a hash at a time by [`for_each_batch`].
const BATCH: usize = 32;

/// Calls `visit` with the pairs of `op`, [`BATCH`] at a time. A large hash's records
/// sit at scattered addresses, one cache miss each: reading a batch back to back, with
/// nothing in between, lets the CPU overlap those misses (about a third of a merge's
/// time otherwise).
fn for_each_batch<'a, E>(
    op: &'a HashValue,
    mut visit: impl FnMut(&[(&'a [u8], &'a [u8])]) -> Result<(), E>,
) -> Result<(), E> {
    let mut it = op.iter();
    let mut batch: Vec<(&[u8], &[u8])> = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        batch.extend(it.by_ref().take(BATCH));
        if batch.is_empty() {
            return Ok(());
        }
        visit(&batch)?;
    }
}

/// What a dry run over the operands found.
#[derive(Default)]
struct Check {
    /// Fields of the operands that `acc` lacks (an upper bound of the fields the merge
    /// adds when operands share fields): what to reserve.
    new_fields: usize,
    /// An operand so large that a SUM might overflow part-way (see [`HUGE`]).
    huge: bool,
}

/// The dry run before merging `ops` (none raw) into `acc` in place: counts the new
/// fields, and for numeric strategies checks that every operand is a number, so that
/// [`apply`] cannot fail afterwards (except for a SUM with a huge operand).
fn validate(
    acc: &HashValue,
    ops: &[&HashValue],
    strategy: MergeStrategy,
) -> Result<Check, MergeError> {
    let mut check = Check::default();
    let numeric = strategy.is_numeric();
    let sum = strategy == MergeStrategy::Sum;
    let mut found: Vec<Option<&[u8]>> = Vec::with_capacity(BATCH);
    for op in ops {
        for_each_batch(op, |batch| {
            // The lookups first, back to back, so that their cache misses overlap.
            found.clear();
            found.extend(batch.iter().map(|(f, _)| acc.get(f)));
            for ((_, v), current) in batch.iter().zip(&found) {
                if current.is_none() {
                    check.new_fields += 1;
                }
                if numeric {
                    let n = parse_num(v)?;
                    check.huge |= sum && is_huge(n);
                    if let Some(cur) = current {
                        let c = parse_num(cur)?;
                        check.huge |= sum && is_huge(c);
                    }
                }
            }
            Ok(())
        })?;
    }
    Ok(check)
}

/// Upper bound of the fields that merging `ops` adds to `acc`.
fn count_new<'a>(acc: &HashValue, ops: impl IntoIterator<Item = &'a HashValue>) -> usize {
    ops.into_iter()
        .map(|op| op.iter().filter(|(f, _)| !acc.contains(f)).count())
        .sum()
}

/// The non-canonical values of a source about to become a numeric merge's base (it
/// must read as if merged into an empty hash): `(field, canonical value)`.
fn base_rewrites(base: &HashValue) -> Result<Vec<(&[u8], String)>, MergeError> {
    let mut out = Vec::new();
    for (f, v) in base.iter() {
        if let Rendered::Owned(s) = normalize(v)? {
            out.push((f, s));
        }
    }
    Ok(out)
}

/// The hash of an entry whose type was checked.
fn hash_of(e: &Entry) -> Option<&HashValue> {
    e.as_hash()
}

/// Merges `srcs` into the hash at `key` in place (the destination is the largest
/// operand): a dry run first, so that the writes cannot fail half-way.
fn merge_in_place(
    shard: &mut Shard,
    h: u64,
    key: &[u8],
    srcs: &[&HashValue],
    strategy: MergeStrategy,
    limits: HashLimits,
    now: i64,
) -> Result<usize, MergeError> {
    let check = match shard.peek(h, key, now).and_then(hash_of) {
        Some(acc) => validate(acc, srcs, strategy)?,
        None => return Ok(0), // the caller found it under the same lock
    };
    let Some(entry) = shard.get_mut(h, key, now) else {
        return Ok(0);
    };
    let result = entry.with_hash_mut(|acc| {
        if check.huge {
            // A SUM near the end of the float range might overflow part-way: merge
            // into a copy and keep it only when every field succeeded.
            let mut copy = acc.clone();
            copy.reserve(check.new_fields, limits);
            for op in srcs {
                apply(&mut copy, op, false, strategy, limits)?;
            }
            *acc = copy;
        } else {
            acc.reserve(check.new_fields, limits);
            for op in srcs {
                apply(acc, op, false, strategy, limits)?;
            }
        }
        Ok(acc.len())
    });
    result.unwrap_or(Ok(0))
}

/// What [`Db::hmerge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// Fields in the destination afterwards.
    pub len: usize,
    /// Whether the destination was written (false when no source had anything to
    /// merge in: every source missing or empty, or only the destination itself where
    /// merging it into itself changes nothing).
    pub written: bool,
}

impl Db {
    /// HMERGE: merges the fields of each source hash into `dest`, sources in order,
    /// with `strategy`. Missing sources count as empty; `dest` is created if missing
    /// (unless the result is empty) and keeps its TTL; it may also be a source (its
    /// value before the merge). Sources never change. Returns the number of fields in
    /// `dest` afterwards. Atomic; on error nothing changed.
    pub fn hmerge(
        &self,
        dest: &[u8],
        sources: &[&[u8]],
        strategy: MergeStrategy,
        limits: HashLimits,
        now: i64,
    ) -> Result<Merged, MergeError> {
        let hashes = std::iter::once(dest).chain(sources.iter().copied());
        let mut locked = self.lock_many(hashes.map(|k| self.hash(k)));
        self.hmerge_held(&mut locked, dest, sources, strategy, limits, now)
    }

    /// [`Db::hmerge`] on shards the caller holds (every shard of `dest` and the
    /// sources, of this database).
    pub fn hmerge_held(
        &self,
        locked: &mut dyn HeldShards,
        dest: &[u8],
        sources: &[&[u8]],
        strategy: MergeStrategy,
        limits: HashLimits,
        now: i64,
    ) -> Result<Merged, MergeError> {
        let hd = self.hash(dest);
        let hs: Vec<u64> = sources.iter().map(|k| self.hash(k)).collect();

        // Types first: a WRONGTYPE anywhere changes nothing. Sources are held as
        // entry clones (a reference count each) so the locked table can be written
        // while they are read.
        let dest_entry = match locked.shard(hd).get(hd, dest, now) {
            None => None,
            Some(e) if e.kind() == Kind::Hash => Some(e.clone()),
            Some(_) => return Err(MergeError::WrongType),
        };
        let mut ops: Vec<(Entry, bool)> = Vec::with_capacity(sources.len());
        for (k, h) in sources.iter().zip(&hs) {
            if let Some(e) = locked.shard(*h).get(*h, k, now) {
                match hash_of(e) {
                    None => return Err(MergeError::WrongType),
                    Some(hv) if hv.is_empty() => {}
                    Some(_) => ops.push((e.clone(), *k == dest)),
                }
            }
        }
        // The destination merged into itself changes nothing for KEEP (its fields
        // are all present and kept) nor for REPLACE before any other source.
        match strategy {
            MergeStrategy::Keep => ops.retain(|(_, is_dest)| !is_dest),
            MergeStrategy::Replace => {
                let first_other = ops.iter().position(|(_, d)| !d).unwrap_or(ops.len());
                ops.drain(..first_other);
            }
            _ => {}
        }
        let dest_len = dest_entry
            .as_ref()
            .and_then(hash_of)
            .map_or(0, HashValue::len);
        if ops.is_empty() {
            return Ok(Merged {
                len: dest_len,
                written: false,
            });
        }
        let srcs: Vec<&HashValue> = ops.iter().filter_map(|(e, _)| hash_of(e)).collect();

        // The base: the destination, in place, unless a source is strictly larger.
        let mut largest: Option<usize> = None;
        for (i, s) in srcs.iter().enumerate() {
            let best = largest
                .and_then(|j| srcs.get(j))
                .map_or(dest_len, |b| b.len());
            if s.len() > best {
                largest = Some(i);
            }
        }
        let Some(k) = largest else {
            drop(dest_entry); // a clone would make the in-place write copy the hash
            let len = merge_in_place(locked.shard(hd), hd, dest, &srcs, strategy, limits, now)?;
            return Ok(Merged { len, written: true });
        };

        // A source is the base: start from it (shared, copied on the first write)
        // and merge what came before it (the destination and earlier sources, folded
        // into one operand), with the swapped strategy, then the sources after it.
        let base = srcs[k];
        let before: Option<(std::borrow::Cow<'_, HashValue>, bool)> =
            match (dest_entry.as_ref().and_then(hash_of), &srcs[..k]) {
                (None, []) => None,
                (Some(d), []) => Some((std::borrow::Cow::Borrowed(d), true)),
                (None, [one]) => Some((std::borrow::Cow::Borrowed(*one), false)),
                (d, earlier) => {
                    let mut folded = d.cloned().unwrap_or_default();
                    for op in earlier {
                        apply(&mut folded, op, false, strategy, limits)?;
                    }
                    Some((std::borrow::Cow::Owned(folded), true))
                }
            };
        let after = &srcs[k + 1..];
        let rewrites = if strategy.is_numeric() {
            base_rewrites(base)?
        } else {
            Vec::new()
        };
        let expire = dest_entry.as_ref().and_then(Entry::expire_at);
        let mut merged_entry = ops[k].0.with_key_and_expire(dest, expire);
        merged_entry.touch(secs(now));
        if before.is_some() || !after.is_empty() || !rewrites.is_empty() {
            let result = merged_entry.with_hash_mut(|acc| {
                for (f, v) in &rewrites {
                    acc.insert_within(f, v.as_bytes(), limits);
                }
                let extra = count_new(
                    acc,
                    before
                        .iter()
                        .map(|(b, _)| b.as_ref())
                        .chain(after.iter().copied()),
                );
                acc.reserve(extra, limits);
                if let Some((b, raw)) = &before {
                    apply(acc, b, *raw, strategy.swapped(), limits)?;
                }
                for op in after {
                    apply(acc, op, false, strategy, limits)?;
                }
                Ok(())
            });
            result.unwrap_or(Ok(()))?;
        }
        let len = hash_of(&merged_entry).map_or(0, HashValue::len);
        let old = locked.shard(hd).insert(hd, merged_entry, now);
        drop(old);
        Ok(Merged { len, written: true })
    }

    /// HMERGEVALUES: merges literal `(field, value)` pairs into the hash at `key`, in
    /// order (a field may repeat: its values combine in turn), creating it if
    /// missing; its TTL is kept. Returns the number of fields whose value changed or
    /// was added. Atomic; on error nothing changed.
    pub fn hmerge_values(
        &self,
        key: &[u8],
        pairs: &[(&[u8], &[u8])],
        strategy: MergeStrategy,
        limits: HashLimits,
        now: i64,
    ) -> Result<usize, MergeError> {
        let mut locked = self.lock_many([self.hash(key)]);
        self.hmerge_values_held(&mut locked, key, pairs, strategy, limits, now)
    }

    /// [`Db::hmerge_values`] on shards the caller holds (the shard of `key`).
    pub fn hmerge_values_held(
        &self,
        locked: &mut dyn HeldShards,
        key: &[u8],
        pairs: &[(&[u8], &[u8])],
        strategy: MergeStrategy,
        limits: HashLimits,
        now: i64,
    ) -> Result<usize, MergeError> {
        let h = self.hash(key);
        let shard = locked.shard(h);
        let (changes, new_fields) = {
            let acc = match shard.get(h, key, now) {
                None => None,
                Some(e) => Some(hash_of(e).ok_or(MergeError::WrongType)?),
            };
            let changes = plan(pairs, strategy, |f| acc.and_then(|a| a.get(f)))?;
            let new_fields = changes
                .iter()
                .filter(|(f, _)| acc.is_none_or(|a| !a.contains(f)))
                .count();
            (changes, new_fields)
        };
        if changes.is_empty() {
            return Ok(0);
        }
        match shard.get_mut(h, key, now) {
            Some(e) => {
                e.with_hash_mut(|acc| {
                    acc.reserve(new_fields, limits);
                    for (f, v) in &changes {
                        acc.insert_within(f, v.bytes(), limits);
                    }
                });
            }
            None => {
                let mut hv = HashValue::with_capacity(changes.len(), limits);
                for (f, v) in &changes {
                    hv.insert_within(f, v.bytes(), limits);
                }
                shard.insert(h, Entry::new_hash(key, hv, None), now);
            }
        }
        Ok(changes.len())
    }

    /// MMERGE: merges `(key, value)` pairs into top-level string keys, across shards,
    /// atomically (every shard stays locked; types and numbers are checked before
    /// anything is written). REPLACE is MSET (the TTL is cleared); KEEP sets only
    /// absent keys (each on its own, unlike MSETNX); SUM, MIN and MAX combine as
    /// INCRBYFLOAT does and keep the TTL. A key may repeat: its values combine in
    /// turn. Returns the number of keys added or changed (value, or for REPLACE a
    /// TTL that was cleared).
    pub fn mmerge(
        &self,
        pairs: &[(&[u8], &[u8])],
        strategy: MergeStrategy,
        now: i64,
    ) -> Result<usize, MergeError> {
        let mut locked = self.lock_many(pairs.iter().map(|(k, _)| self.hash(k)));
        self.mmerge_held(&mut locked, pairs, strategy, now, &mut |_| {})
    }

    /// [`Db::mmerge`] on shards the caller holds (the shards of every key);
    /// `on_write` is told of each key written (once per key).
    pub fn mmerge_held(
        &self,
        locked: &mut dyn HeldShards,
        pairs: &[(&[u8], &[u8])],
        strategy: MergeStrategy,
        now: i64,
        on_write: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, MergeError> {
        let hashes: Vec<u64> = pairs.iter().map(|(k, _)| self.hash(k)).collect();
        // Current values (types first), one slot per distinct key.
        let mut slots: Vec<(&[u8], u64, Option<Entry>)> = Vec::with_capacity(pairs.len());
        let mut index: foldhash::HashMap<&[u8], usize> = Default::default();
        for ((k, _), h) in pairs.iter().zip(&hashes) {
            if index.contains_key(k) {
                continue;
            }
            let e = match locked.shard(*h).get(*h, k, now) {
                Some(e) if e.kind() != Kind::Str => return Err(MergeError::WrongType),
                e => e.cloned(),
            };
            index.insert(k, slots.len());
            slots.push((k, *h, e));
        }
        let old_value = |k: &[u8]| {
            let slot = index.get(k).and_then(|&i| slots.get(i))?;
            slot.2.as_ref().and_then(Entry::as_str)
        };
        let changes = plan(pairs, strategy, old_value)?;
        let replace = strategy == MergeStrategy::Replace;
        let mut written = vec![false; slots.len()];
        for (k, v) in &changes {
            let Some((i, (_, h, before))) = index.get(k).and_then(|&i| Some((i, slots.get(i)?)))
            else {
                continue;
            };
            let ttl = if replace {
                None
            } else {
                before.as_ref().and_then(Entry::expire_at)
            };
            if !written[i] {
                on_write(k);
            }
            written[i] = true;
            locked
                .shard(*h)
                .insert(*h, Entry::new_str(k, v.bytes(), ttl), now);
        }
        let mut changed = changes.len();
        if replace {
            // MSET semantics: an unchanged value still loses its TTL.
            for ((k, h, before), done) in slots.iter().zip(&written) {
                if let Some(e) = before.as_ref().filter(|e| !done && e.expire_at().is_some()) {
                    changed += 1;
                    on_write(k);
                    locked.shard(*h).insert(*h, e.with_expire(None), now);
                }
            }
        }
        drop(slots);
        Ok(changed)
    }
}

/// The fields of a hash (or keys) that change when `pairs` merge in, in order of first
/// appearance, with their final values; validated, nothing applied. `current` reads
/// a field's value before the merge.
fn plan<'p, 'c>(
    pairs: &'p [(&'p [u8], &'p [u8])],
    strategy: MergeStrategy,
    current: impl Fn(&[u8]) -> Option<&'c [u8]>,
) -> Result<Vec<(&'p [u8], Rendered<'p>)>, MergeError> {
    // A field set by an earlier pair reads its pending value, not the stored one.
    let mut pending: Vec<(&'p [u8], Rendered<'p>)> = Vec::with_capacity(pairs.len());
    let many = pairs.len() > 1;
    let mut index: foldhash::HashMap<&'p [u8], usize> = Default::default();
    if many {
        index.reserve(pairs.len());
    }
    for (f, v) in pairs {
        let slot = if many { index.get(f).copied() } else { None };
        let before = match slot.and_then(|i| pending.get(i)) {
            Some((_, p)) => Some(p.bytes()),
            None => current(f),
        };
        let Some(new) = merged(strategy, before, v)? else {
            continue;
        };
        match slot.and_then(|i| pending.get_mut(i)) {
            Some(p) => p.1 = new,
            None => {
                if many {
                    index.insert(f, pending.len());
                }
                pending.push((f, new));
            }
        }
    }
    // Keep what really differs from the value before the merge.
    pending.retain(|(f, v)| current(f) != Some(v.bytes()));
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Keyspace, KeyspaceConfig};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use MergeStrategy::{Keep, Max, Min, Replace, Sum};

    type Map = BTreeMap<Vec<u8>, Vec<u8>>;

    fn keyspace() -> Keyspace {
        Keyspace::new(KeyspaceConfig {
            databases: 1,
            capacity: 100,
            shards: 16,
        })
    }

    fn put_hash(db: &Db, key: &str, fields: &[(&str, &str)]) {
        let mut hv = HashValue::new();
        for (f, v) in fields {
            hv.insert(f.as_bytes(), v.as_bytes());
        }
        put_hash_value(db, key, hv, None);
    }

    fn put_hash_value(db: &Db, key: &str, hv: HashValue, ttl: Option<i64>) {
        let h = db.hash(key.as_bytes());
        db.lock(h)
            .insert(h, Entry::new_hash(key.as_bytes(), hv, ttl), 0);
    }

    fn put_str(db: &Db, key: &str, value: &str, ttl: Option<i64>) {
        let h = db.hash(key.as_bytes());
        db.lock(h)
            .insert(h, Entry::new_str(key.as_bytes(), value.as_bytes(), ttl), 0);
    }

    fn entry(db: &Db, key: &str) -> Option<Entry> {
        let h = db.hash(key.as_bytes());
        db.lock(h).peek(h, key.as_bytes(), 0).cloned()
    }

    fn map(db: &Db, key: &str) -> Option<Map> {
        entry(db, key).map(|e| {
            e.as_hash()
                .expect("a hash")
                .iter()
                .map(|(f, v)| (f.to_vec(), v.to_vec()))
                .collect()
        })
    }

    fn field(db: &Db, key: &str, f: &str) -> Option<String> {
        let e = entry(db, key)?;
        let v = e.as_hash()?.get(f.as_bytes())?;
        Some(String::from_utf8(v.to_vec()).unwrap())
    }

    fn string(db: &Db, key: &str) -> Option<String> {
        entry(db, key).map(|e| String::from_utf8(e.as_str().expect("a string").to_vec()).unwrap())
    }

    fn m(fields: &[(&str, &str)]) -> Map {
        fields
            .iter()
            .map(|(f, v)| (f.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn hmerge(
        db: &Db,
        dest: &str,
        sources: &[&str],
        s: MergeStrategy,
    ) -> Result<usize, MergeError> {
        let srcs: Vec<&[u8]> = sources.iter().map(|k| k.as_bytes()).collect();
        db.hmerge(dest.as_bytes(), &srcs, s, HashLimits::default(), 0)
            .map(|m| m.len)
    }

    fn values(
        db: &Db,
        key: &str,
        s: MergeStrategy,
        pairs: &[(&str, &str)],
    ) -> Result<usize, MergeError> {
        let p: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(f, v)| (f.as_bytes(), v.as_bytes()))
            .collect();
        db.hmerge_values(key.as_bytes(), &p, s, HashLimits::default(), 0)
    }

    fn mmerge(db: &Db, s: MergeStrategy, pairs: &[(&str, &str)]) -> Result<usize, MergeError> {
        let p: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(f, v)| (f.as_bytes(), v.as_bytes()))
            .collect();
        db.mmerge(&p, s, 0)
    }

    /// Merges one value into one field of a fresh hash and returns the result.
    fn one(s: MergeStrategy, existing: &str, incoming: &str) -> Result<String, MergeError> {
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "d", &[("f", existing), ("pad", "x")]);
        put_hash(db, "s", &[("f", incoming)]);
        hmerge(db, "d", &["s"], s)?;
        Ok(field(db, "d", "f").unwrap())
    }

    #[test]
    fn strategy_names() {
        for s in MergeStrategy::ALL {
            assert_eq!(MergeStrategy::from_bytes(s.name().as_bytes()), Some(s));
            assert_eq!(s.name().to_lowercase().parse::<MergeStrategy>(), Ok(s));
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(MergeStrategy::from_bytes(b"sUm"), Some(Sum));
        assert_eq!(MergeStrategy::from_bytes(b"average"), None);
        assert_eq!(MergeStrategy::from_bytes(b""), None);
        assert_eq!("SUMS".parse::<MergeStrategy>(), Err(UnknownStrategy));
        assert!(Sum.is_numeric() && Min.is_numeric() && Max.is_numeric());
        assert!(!Replace.is_numeric() && !Keep.is_numeric());
    }

    #[test]
    fn replace_and_keep() {
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "d", &[("a", "1"), ("b", "2")]);
        put_hash(db, "s1", &[("b", "20"), ("c", "30")]);
        put_hash(db, "s2", &[("c", "300"), ("d", "400")]);
        assert_eq!(hmerge(db, "d", &["s1", "s2"], Replace), Ok(4));
        assert_eq!(
            map(db, "d").unwrap(),
            m(&[("a", "1"), ("b", "20"), ("c", "300"), ("d", "400")])
        );
        put_hash(db, "d", &[("a", "1"), ("b", "2")]);
        assert_eq!(hmerge(db, "d", &["s1", "s2"], Keep), Ok(4));
        assert_eq!(
            map(db, "d").unwrap(),
            m(&[("a", "1"), ("b", "2"), ("c", "30"), ("d", "400")])
        );
        // Sources never change.
        assert_eq!(map(db, "s1").unwrap(), m(&[("b", "20"), ("c", "30")]));
        assert_eq!(map(db, "s2").unwrap(), m(&[("c", "300"), ("d", "400")]));
        // Non-numeric values are fine for REPLACE and KEEP.
        put_hash(db, "t", &[("a", "hello"), ("z", "")]);
        assert_eq!(hmerge(db, "d", &["t"], Replace), Ok(5));
        assert_eq!(field(db, "d", "a").as_deref(), Some("hello"));
        assert_eq!(field(db, "d", "z").as_deref(), Some(""));
    }

    #[test]
    fn sum_integers_floats_mixed() {
        assert_eq!(one(Sum, "1", "2"), Ok("3".into()));
        assert_eq!(one(Sum, "-5", "3"), Ok("-2".into()));
        assert_eq!(one(Sum, "1", "1.5"), Ok("2.5".into()));
        assert_eq!(one(Sum, "0.1", "0.2"), Ok("0.3".into()));
        assert_eq!(one(Sum, "1000", "0.1"), Ok("1000.09999999999999998".into()));
        assert_eq!(one(Sum, "1.5", "1.5"), Ok("3".into()));
        assert_eq!(one(Sum, "5.0e3", "2.0e2"), Ok("5200".into()));
        assert_eq!(one(Sum, "0x10", "1"), Ok("17".into()));
        assert_eq!(one(Sum, "1", "-1"), Ok("0".into()));
        // Past 64 bits the sum is a float, formatted as HINCRBYFLOAT would: never wraps.
        let max = i64::MAX.to_string();
        assert_eq!(one(Sum, &max, &max), Ok("18446744073709551614".into()));
        assert_eq!(one(Sum, &max, "1"), Ok("9223372036854775808".into()));
        let min = i64::MIN.to_string();
        assert_eq!(one(Sum, &min, "-1"), Ok("-9223372036854775809".into()));
        assert_eq!(one(Sum, &min, &min), Ok("-18446744073709551616".into()));
        // Integers that are not string2ll's spelling are floats.
        assert_eq!(one(Sum, "007", "1"), Ok("8".into()));
        assert_eq!(one(Sum, "+1", "1"), Ok("2".into()));
    }

    #[test]
    fn min_and_max() {
        assert_eq!(one(Min, "3", "5"), Ok("3".into()));
        assert_eq!(one(Min, "5", "3"), Ok("3".into()));
        assert_eq!(one(Max, "3", "5"), Ok("5".into()));
        assert_eq!(one(Max, "-3", "-5"), Ok("-3".into()));
        assert_eq!(one(Min, "3", "2.5"), Ok("2.5".into()));
        assert_eq!(one(Max, "3", "2.5"), Ok("3".into()));
        assert_eq!(one(Min, "1e3", "999"), Ok("999".into()));
        assert_eq!(one(Max, "1e3", "999"), Ok("1000".into()));
        assert_eq!(one(Min, "-0.5", "0.25"), Ok("-0.5".into()));
        assert_eq!(one(Max, "1.50", "1.5"), Ok("1.5".into()));
        let (max, min) = (i64::MAX.to_string(), i64::MIN.to_string());
        assert_eq!(one(Max, &max, &min), Ok(max.clone()));
        assert_eq!(one(Min, &max, &min), Ok(min.clone()));
        assert_eq!(one(Max, &max, "1e19"), Ok("10000000000000000000".into()));
    }

    #[test]
    fn lone_values_are_validated_and_canonical() {
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "d", &[("keep", "not a number"), ("x", "1")]);
        put_hash(
            db,
            "s",
            &[("a", "1.50"), ("b", "7"), ("c", "0.30000000000000004")],
        );
        assert_eq!(hmerge(db, "d", &["s"], Sum), Ok(5));
        let d = map(db, "d").unwrap();
        assert_eq!(
            d,
            m(&[
                ("keep", "not a number"),
                ("x", "1"),
                ("a", "1.5"),
                ("b", "7"),
                ("c", "0.30000000000000004")
            ])
        );
        // A larger source becomes the base and is normalized the same way.
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "s", &[("a", "1.50"), ("b", "7"), ("c", "2e1")]);
        assert_eq!(hmerge(db, "d", &["s"], Max), Ok(3));
        assert_eq!(
            map(db, "d").unwrap(),
            m(&[("a", "1.5"), ("b", "7"), ("c", "20")])
        );
        assert_eq!(
            map(db, "s").unwrap(),
            m(&[("a", "1.50"), ("b", "7"), ("c", "2e1")])
        );
    }

    #[test]
    fn not_a_number_changes_nothing() {
        for s in [Sum, Min, Max] {
            for (dest_v, src_v) in [
                ("abc", "1"),
                ("1", "abc"),
                ("1", "inf"),
                ("-inf", "1"),
                ("1", "nan"),
                ("1", ""),
                ("1", " 1"),
            ] {
                let ks = keyspace();
                let db = ks.db(0);
                put_hash(db, "d", &[("f", dest_v), ("ok", "1")]);
                // The bad operand comes last, after fields that would have merged.
                put_hash(db, "s1", &[("ok", "5"), ("new", "1")]);
                put_hash(db, "s2", &[("g", "2"), ("f", src_v)]);
                let before = map(db, "d");
                assert_eq!(
                    hmerge(db, "d", &["s1", "s2"], s),
                    Err(MergeError::NotANumber),
                    "{s} {dest_v} {src_v}"
                );
                assert_eq!(map(db, "d"), before);
                // Same through the base path (a source larger than the destination).
                put_hash(
                    db,
                    "big",
                    &[("a", "1"), ("b", "2"), ("c", "3"), ("f", src_v)],
                );
                assert_eq!(hmerge(db, "d", &["big"], s), Err(MergeError::NotANumber));
                assert_eq!(map(db, "d"), before);
                if src_v != "1" {
                    assert_eq!(
                        hmerge(db, "new", &["s1", "big"], s),
                        Err(MergeError::NotANumber)
                    );
                    assert_eq!(map(db, "new"), None);
                }
                // And with literal values.
                assert_eq!(
                    values(db, "d", s, &[("ok", "1"), ("f", src_v)]).is_err(),
                    src_v != "1" || dest_v != "1"
                );
                assert_eq!(map(db, "d"), before);
            }
        }
        // A non-number the merge does not touch is fine, as is one under REPLACE/KEEP.
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "d", &[("f", "abc"), ("g", "1")]);
        put_hash(db, "s", &[("g", "2")]);
        assert_eq!(hmerge(db, "d", &["s"], Sum), Ok(2));
        assert_eq!(field(db, "d", "g").as_deref(), Some("3"));
    }

    #[test]
    fn overflow_changes_nothing() {
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "d", &[("a", "1"), ("big", "1e4932"), ("c", "1")]);
        put_hash(db, "s", &[("a", "5"), ("big", "1e4932")]);
        let before = map(db, "d");
        assert_eq!(hmerge(db, "d", &["s"], Sum), Err(MergeError::Overflow));
        assert_eq!(map(db, "d"), before);
        // Huge but finite sums still work (through the copy path).
        put_hash(db, "s", &[("a", "5"), ("big", "-1e4932")]);
        assert_eq!(hmerge(db, "d", &["s"], Sum), Ok(3));
        assert_eq!(field(db, "d", "a").as_deref(), Some("6"));
        assert_eq!(field(db, "d", "big").as_deref(), Some("0"));
        // Base path: the largest source is the base, the destination merges into it.
        put_hash(db, "d", &[("big", "1e4932")]);
        put_hash(db, "s", &[("a", "5"), ("big", "1e4932")]);
        assert_eq!(hmerge(db, "d", &["s"], Sum), Err(MergeError::Overflow));
        assert_eq!(map(db, "d").unwrap(), m(&[("big", "1e4932")]));
        // MIN and MAX never overflow.
        assert_eq!(hmerge(db, "d", &["s"], Max), Ok(2));
        assert_eq!(
            values(db, "d", Sum, &[("big", "1e4932")]),
            Err(MergeError::Overflow)
        );
    }

    #[test]
    fn wrong_types_change_nothing() {
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "d", &[("a", "1")]);
        put_hash(db, "s", &[("a", "2"), ("b", "3")]);
        put_str(db, "str", "x", None);
        for s in MergeStrategy::ALL {
            assert_eq!(
                hmerge(db, "d", &["s", "str"], s),
                Err(MergeError::WrongType)
            );
            assert_eq!(
                hmerge(db, "d", &["str", "s"], s),
                Err(MergeError::WrongType)
            );
            assert_eq!(hmerge(db, "str", &["s"], s), Err(MergeError::WrongType));
            assert_eq!(
                hmerge(db, "new", &["s", "str"], s),
                Err(MergeError::WrongType)
            );
            assert_eq!(
                values(db, "str", s, &[("a", "1")]),
                Err(MergeError::WrongType)
            );
            assert_eq!(
                mmerge(db, s, &[("k1", "1"), ("d", "1")]),
                Err(MergeError::WrongType)
            );
            assert_eq!(map(db, "d").unwrap(), m(&[("a", "1")]));
            assert_eq!(string(db, "str").as_deref(), Some("x"));
            assert!(entry(db, "new").is_none() && entry(db, "k1").is_none());
        }
    }

    #[test]
    fn missing_and_empty() {
        let ks = keyspace();
        let db = ks.db(0);
        for s in MergeStrategy::ALL {
            assert_eq!(hmerge(db, "d", &["nope", "nada"], s), Ok(0));
            assert!(entry(db, "d").is_none(), "an empty result creates nothing");
        }
        put_hash_value(db, "empty", HashValue::new(), None);
        assert_eq!(hmerge(db, "d", &["empty"], Sum), Ok(0));
        assert!(entry(db, "d").is_none());
        put_hash(db, "d", &[("a", "1")]);
        assert_eq!(hmerge(db, "d", &["nope", "empty"], Sum), Ok(1));
        put_hash(db, "s", &[("a", "1")]);
        assert_eq!(hmerge(db, "new", &["nope", "s"], Sum), Ok(1));
        assert_eq!(map(db, "new").unwrap(), m(&[("a", "1")]));
        // Expired keys are missing.
        let mut hv = HashValue::new();
        hv.insert(b"old", b"1");
        put_hash_value(db, "gone", hv, Some(-1));
        assert_eq!(hmerge(db, "d", &["gone"], Replace), Ok(1));
        assert_eq!(hmerge(db, "gone", &["s"], Replace), Ok(1));
        assert_eq!(map(db, "gone").unwrap(), m(&[("a", "1")]));
        assert_eq!(entry(db, "gone").unwrap().expire_at(), None);
    }

    #[test]
    fn duplicate_sources_and_destination_among_sources() {
        let ks = keyspace();
        let db = ks.db(0);
        put_hash(db, "s", &[("a", "1"), ("b", "2")]);
        assert_eq!(hmerge(db, "d", &["s", "s", "s"], Sum), Ok(2));
        assert_eq!(map(db, "d").unwrap(), m(&[("a", "3"), ("b", "6")]));
        // The destination as a source is its value before the merge.
        assert_eq!(hmerge(db, "d", &["d"], Sum), Ok(2));
        assert_eq!(map(db, "d").unwrap(), m(&[("a", "6"), ("b", "12")]));
        assert_eq!(hmerge(db, "d", &["d", "d"], Sum), Ok(2));
        assert_eq!(map(db, "d").unwrap(), m(&[("a", "18"), ("b", "36")]));
        put_hash(db, "d", &[("a", "10"), ("x", "0")]);
        assert_eq!(hmerge(db, "d", &["s", "d"], Replace), Ok(3));
        assert_eq!(
            map(db, "d").unwrap(),
            m(&[("a", "10"), ("b", "2"), ("x", "0")])
        );
        put_hash(db, "d", &[("a", "10"), ("x", "0")]);
        assert_eq!(hmerge(db, "d", &["d", "s"], Replace), Ok(3));
        assert_eq!(
            map(db, "d").unwrap(),
            m(&[("a", "1"), ("b", "2"), ("x", "0")])
        );
        put_hash(db, "d", &[("a", "10"), ("x", "0")]);
        assert_eq!(hmerge(db, "d", &["d", "s", "d"], Keep), Ok(3));
        assert_eq!(
            map(db, "d").unwrap(),
            m(&[("a", "10"), ("b", "2"), ("x", "0")])
        );
        put_hash(db, "d", &[("a", "10")]);
        assert_eq!(hmerge(db, "d", &["s", "d"], Min), Ok(2));
        assert_eq!(map(db, "d").unwrap(), m(&[("a", "1"), ("b", "2")]));
        assert_eq!(map(db, "s").unwrap(), m(&[("a", "1"), ("b", "2")]));
    }

    #[test]
    fn largest_source_is_shared_as_the_base() {
        let ks = keyspace();
        let db = ks.db(0);
        let mut big = HashValue::new();
        for i in 0..1000 {
            big.insert(format!("f{i}").as_bytes(), format!("{i}").as_bytes());
        }
        put_hash_value(db, "big", big, Some(1 << 50));
        put_hash(db, "small", &[("f1", "x")]);
        // Destination missing, one source: O(1), the very same hash object.
        assert_eq!(hmerge(db, "d", &["big"], Replace), Ok(1000));
        let (d, b) = (entry(db, "d").unwrap(), entry(db, "big").unwrap());
        assert!(Arc::ptr_eq(d.object().unwrap(), b.object().unwrap()));
        assert_eq!(
            d.expire_at(),
            None,
            "the source's TTL is not the destination's"
        );
        // Numeric strategies too, when the values are canonical.
        assert_eq!(hmerge(db, "n", &["big"], Sum), Ok(1000));
        assert!(Arc::ptr_eq(
            entry(db, "n").unwrap().object().unwrap(),
            b.object().unwrap()
        ));
        // Writing to the destination copies; the source keeps its value.
        assert_eq!(values(db, "d", Replace, &[("f1", "changed")]), Ok(1));
        assert_eq!(field(db, "big", "f1").as_deref(), Some("1"));
        assert_eq!(field(db, "d", "f1").as_deref(), Some("changed"));
        // A smaller existing destination merges into a copy of the larger source and
        // keeps its own TTL; the fold order is respected (here REPLACE: small wins
        // over big only where it comes later).
        put_hash_value(db, "d", HashValue::new(), None);
        let mut small = HashValue::new();
        small.insert(b"f2", b"mine");
        small.insert(b"own", b"1");
        put_hash_value(db, "d", small, Some(1 << 40));
        assert_eq!(hmerge(db, "d", &["big", "small"], Replace), Ok(1001));
        let d = entry(db, "d").unwrap();
        assert_eq!(d.expire_at(), Some(1 << 40));
        assert_eq!(field(db, "d", "f1").as_deref(), Some("x"));
        assert_eq!(field(db, "d", "f2").as_deref(), Some("2"));
        assert_eq!(field(db, "d", "own").as_deref(), Some("1"));
        assert_eq!(d.as_hash().unwrap().encoding(), "hashtable");
    }

    #[test]
    fn hmerge_values_strategies() {
        let ks = keyspace();
        let db = ks.db(0);
        assert_eq!(values(db, "h", Replace, &[("a", "1"), ("b", "2")]), Ok(2));
        assert_eq!(
            values(db, "h", Replace, &[("a", "1"), ("b", "3")]),
            Ok(1),
            "unchanged values do not count"
        );
        assert_eq!(values(db, "h", Keep, &[("a", "9"), ("c", "3")]), Ok(1));
        assert_eq!(
            map(db, "h").unwrap(),
            m(&[("a", "1"), ("b", "3"), ("c", "3")])
        );
        assert_eq!(
            values(db, "h", Sum, &[("a", "1"), ("a", "2"), ("d", "1.50")]),
            Ok(2)
        );
        assert_eq!(field(db, "h", "a").as_deref(), Some("4"));
        assert_eq!(field(db, "h", "d").as_deref(), Some("1.5"));
        assert_eq!(
            values(db, "h", Sum, &[("a", "1"), ("a", "-1")]),
            Ok(0),
            "net zero change"
        );
        assert_eq!(
            values(db, "h", Min, &[("a", "10"), ("b", "-1"), ("c", "3")]),
            Ok(1)
        );
        assert_eq!(
            values(db, "h", Max, &[("a", "10"), ("b", "-1"), ("c", "3.5")]),
            Ok(2)
        );
        assert_eq!(
            map(db, "h").unwrap(),
            m(&[("a", "10"), ("b", "-1"), ("c", "3.5"), ("d", "1.5")])
        );
        assert_eq!(values(db, "h", Replace, &[("x", "1"), ("x", "2")]), Ok(1));
        assert_eq!(field(db, "h", "x").as_deref(), Some("2"));
        assert_eq!(values(db, "h", Keep, &[("y", "1"), ("y", "2")]), Ok(1));
        assert_eq!(field(db, "h", "y").as_deref(), Some("1"));
        // TTL kept.
        let mut hv = HashValue::new();
        hv.insert(b"a", b"1");
        put_hash_value(db, "t", hv, Some(1 << 45));
        assert_eq!(values(db, "t", Sum, &[("a", "1")]), Ok(1));
        assert_eq!(entry(db, "t").unwrap().expire_at(), Some(1 << 45));
        // A missing key with nothing to add (cannot happen with pairs) / integer
        // overflow becomes a float.
        let max = i64::MAX.to_string();
        assert_eq!(values(db, "o", Sum, &[("a", &max), ("a", &max)]), Ok(1));
        assert_eq!(field(db, "o", "a").as_deref(), Some("18446744073709551614"));
    }

    #[test]
    fn mmerge_strategies_and_ttls() {
        let ks = keyspace();
        let db = ks.db(0);
        assert_eq!(mmerge(db, Replace, &[("a", "1"), ("b", "2")]), Ok(2));
        assert_eq!(mmerge(db, Replace, &[("a", "1"), ("b", "3")]), Ok(1));
        put_str(db, "t", "5", Some(1 << 45));
        assert_eq!(
            mmerge(db, Replace, &[("t", "5")]),
            Ok(1),
            "the TTL is cleared, as by MSET"
        );
        assert_eq!(entry(db, "t").unwrap().expire_at(), None);
        assert_eq!(mmerge(db, Replace, &[("t", "5")]), Ok(0));
        put_str(db, "t", "5", Some(1 << 45));
        assert_eq!(
            mmerge(db, Keep, &[("t", "9"), ("c", "3"), ("c", "4")]),
            Ok(1)
        );
        assert_eq!(string(db, "t").as_deref(), Some("5"));
        assert_eq!(string(db, "c").as_deref(), Some("3"));
        assert_eq!(
            mmerge(db, Sum, &[("t", "1"), ("a", "0.5"), ("n", "2"), ("n", "3")]),
            Ok(3)
        );
        assert_eq!(
            entry(db, "t").unwrap().expire_at(),
            Some(1 << 45),
            "SUM keeps the TTL"
        );
        assert_eq!(string(db, "t").as_deref(), Some("6"));
        assert_eq!(string(db, "a").as_deref(), Some("1.5"));
        assert_eq!(string(db, "n").as_deref(), Some("5"));
        assert_eq!(
            mmerge(db, Min, &[("t", "10"), ("a", "1"), ("m", "7")]),
            Ok(2)
        );
        assert_eq!(
            mmerge(db, Max, &[("t", "10"), ("a", "1"), ("m", "7")]),
            Ok(1)
        );
        assert_eq!(string(db, "t").as_deref(), Some("10"));
        assert_eq!(string(db, "a").as_deref(), Some("1"));
        assert_eq!(entry(db, "t").unwrap().expire_at(), Some(1 << 45));
        // Validation first: nothing changes on a bad number anywhere.
        assert_eq!(
            mmerge(db, Sum, &[("t", "1"), ("b", "x")]),
            Err(MergeError::NotANumber)
        );
        put_str(db, "s", "text", None);
        assert_eq!(
            mmerge(db, Sum, &[("t", "1"), ("s", "1")]),
            Err(MergeError::NotANumber)
        );
        assert_eq!(
            mmerge(db, Sum, &[("t", "1e4932"), ("t", "1e4932")]),
            Err(MergeError::Overflow)
        );
        assert_eq!(string(db, "t").as_deref(), Some("10"));
        assert_eq!(mmerge(db, Replace, &[("s", "1"), ("t", "text")]), Ok(2));
        let max = i64::MAX.to_string();
        assert_eq!(mmerge(db, Sum, &[("big", &max), ("big", &max)]), Ok(1));
        assert_eq!(string(db, "big").as_deref(), Some("18446744073709551614"));
        // Many keys over many shards.
        let pairs: Vec<(String, String)> = (0..500)
            .map(|i| (format!("k{i}"), format!("{i}")))
            .collect();
        let p: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(mmerge(db, Sum, &p), Ok(500));
        assert_eq!(mmerge(db, Sum, &p), Ok(499));
        assert_eq!(string(db, "k250").as_deref(), Some("500"));
    }

    /// The straightforward left fold the optimized paths must match.
    fn model(
        dest: Option<&Map>,
        sources: &[Option<Map>],
        s: MergeStrategy,
    ) -> Result<Option<Map>, MergeError> {
        let mut acc = dest.cloned().unwrap_or_default();
        for src in sources.iter().flatten() {
            for (f, v) in src {
                if let Some(new) = merged(s, acc.get(f).map(|c| &c[..]), v)? {
                    acc.insert(f.clone(), new.bytes().to_vec());
                }
            }
        }
        Ok(if acc.is_empty() && dest.is_none() {
            None
        } else {
            Some(acc)
        })
    }

    #[test]
    fn matches_the_plain_left_fold() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let pool = [
            "1",
            "2",
            "-3",
            "0.5",
            "1.50",
            "2.5e1",
            "9223372036854775807",
            "0x8",
            "007",
            "100",
        ];
        for round in 0..1500 {
            let ks = keyspace();
            let db = ks.db(0);
            let s = MergeStrategy::ALL[(round % 5) as usize];
            let names = ["d", "s1", "s2", "s3", "s4"];
            let mut before: Vec<Option<Map>> = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let size = match rnd(5) {
                    0 => None,
                    1 => Some(0),
                    2 => Some(rnd(200) as usize),
                    _ => Some(rnd(12) as usize),
                };
                let Some(size) = size.filter(|&n| n > 0) else {
                    before.push(None);
                    continue;
                };
                let fields = if rnd(2) == 0 { 20 } else { 300 };
                let mut hv = HashValue::new();
                for _ in 0..size {
                    let v = if rnd(400) == 0 {
                        "oops"
                    } else {
                        pool[rnd(pool.len() as u64) as usize]
                    };
                    hv.insert(format!("f{}", rnd(fields)).as_bytes(), v.as_bytes());
                }
                let ttl = (i == 0 && rnd(2) == 0).then_some(1 << 44);
                let mapped: Map = hv.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                put_hash_value(db, name, hv, ttl);
                before.push(Some(mapped));
            }
            let picks: Vec<usize> = (0..1 + rnd(4)).map(|_| rnd(5) as usize).collect();
            let srcs: Vec<&str> = picks.iter().map(|&i| names[i]).collect();
            let expected = model(
                before[0].as_ref(),
                &picks.iter().map(|&i| before[i].clone()).collect::<Vec<_>>(),
                s,
            );
            let ttl = entry(db, "d").and_then(|e| e.expire_at());
            let got = hmerge(db, "d", &srcs, s);
            match expected {
                Err(e) => {
                    assert_eq!(got, Err(e), "round {round} {s} {srcs:?}");
                    assert_eq!(map(db, "d"), before[0], "round {round}: changed on error");
                }
                Ok(want) => {
                    assert_eq!(
                        got,
                        Ok(want.as_ref().map_or(0, Map::len)),
                        "round {round} {s} {srcs:?}"
                    );
                    assert_eq!(map(db, "d"), want, "round {round} {s} {srcs:?}");
                    assert_eq!(entry(db, "d").and_then(|e| e.expire_at()), ttl);
                }
            }
            for (i, name) in names.iter().enumerate().skip(1) {
                assert_eq!(
                    map(db, name),
                    before[i],
                    "round {round}: source {name} changed"
                );
            }
        }
    }

    #[test]
    fn rendering() {
        for i in [0, 1, -1, 10, -10, i64::MAX, i64::MIN, 1234567890] {
            assert_eq!(render(Num::Int(i)).bytes(), i.to_string().as_bytes());
        }
        for bad in [
            "",
            "-",
            "-0",
            "01",
            "+1",
            " 1",
            "1 ",
            "9223372036854775808",
            "-9223372036854775809",
            "1.0",
        ] {
            assert_eq!(parse_int(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert!(is_huge(parse_num(b"1e4920").unwrap()));
        assert!(is_huge(parse_num(b"-1e4920").unwrap()));
        assert!(!is_huge(parse_num(b"1e300").unwrap()));
        assert!(!is_huge(parse_num(b"9223372036854775807").unwrap()));
    }
}
