//! Sorted set commands (Redis's `t_zset.c`): ZADD, ZINCRBY, ZREM, ZCARD, ZCOUNT,
//! ZLEXCOUNT, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, the ZRANGE family (ZRANGE with
//! BYSCORE/BYLEX/REV/LIMIT/WITHSCORES, ZRANGESTORE, ZREVRANGE, `Z[REV]RANGEBYSCORE`,
//! `Z[REV]RANGEBYLEX`), ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, `ZREMRANGEBY{RANK,SCORE,LEX}`,
//! `ZUNION[STORE]`, `ZINTER[STORE]`, ZINTERCARD, `ZDIFF[STORE]`, ZSCAN, and the blocking
//! BZPOPMIN, BZPOPMAX, BZMPOP, with Redis 7.0's replies, error texts and validation
//! order (checked against redis-server 7.0.15).
//!
//! Conventions (as `hashes.rs`):
//! - Reads encode their reply straight from the stored set under the shard lock;
//!   writes change it in place through `Keys::zset_mut` (copy-on-write by tree node
//!   while a snapshot or a COPY shares it). Rank and score/lex bounds are O(log n)
//!   ([`shoal_storage::zset`]), so a range reply costs O(log n + items).
//! - A sorted set never exists empty: the command that removes its last member
//!   removes the key (announced `del` after the command's own event).
//! - Scores are printed as Redis 7.0 prints them (`%.17g`: `0.1` is
//!   `0.10000000000000001`), as RESP3 doubles where Redis 7.0 sends doubles (ZSCORE,
//!   ZMSCORE, ZINCRBY, ZADD INCR, WITHSCORES pairs, pops), and as bulk strings in
//!   RESP2 and in ZSCAN.
//! - Changes are counted as `t_zset.c` counts `server.dirty`: ZADD added + updated
//!   members, ZINCRBY 1, ZREM and the ZREMRANGEBY* and pops one per member removed,
//!   the *STORE commands 1 for the destination written (or deleted).
//! - Encodings follow `zset-max-listpack-entries`/`-value` (read per command from
//!   the live config): a set created or stored small is `listpack`, and converts to
//!   `skiplist` once it outgrows either limit, never back (as Redis).
//! - ZUNION/ZINTER/ZDIFF (and their STORE forms) and ZINTERCARD take plain sets as
//!   inputs too, every member with score 1 (Redis's `zuiFind`/`zuiNext` over intsets
//!   and hashtables); any other type is WRONGTYPE.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::Rng;
use shoal_protocol::{Args, Proto, ReplyBuf};
use shoal_storage::zset::{cmp_items, format_score};
use shoal_storage::{glob, Entry, SetValue, ZsetLimits, ZsetValue};

use super::common::ScanOptions;
use crate::access::{Keys, Want};
use crate::blocking::{Block, OnTimeout};
use crate::changes::event::{
    DEL, ZADD, ZDIFFSTORE, ZINCR, ZINTERSTORE, ZPOPMAX, ZPOPMIN, ZRANGESTORE, ZREM, ZREMRANGEBYLEX,
    ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZUNIONSTORE,
};
use crate::command::{flags::*, Command, Ctx};
use crate::command_args;
use crate::error::{
    CmdError, CmdResult, COUNT_NOT_POSITIVE, COUNT_OUT_OF_LONG_RANGE, COUNT_TOO_LARGE_FOR_REPLY,
    INVALID_CURSOR, NUMKEYS_NOT_POSITIVE, TIMEOUT_NEGATIVE, TIMEOUT_NOT_FLOAT,
    TIMEOUT_OUT_OF_RANGE, VALUE_MUST_BE_POSITIVE, VALUE_OUT_OF_RANGE, ZADD_GT_LT_NX,
    ZADD_INCR_ONE_PAIR, ZADD_NX_AND_XX, ZRANGE_BYLEX_WITHSCORES, ZRANGE_LIMIT_NEEDS_BY,
    ZSET_LIMIT_NEGATIVE, ZSET_MIN_MAX_NOT_FLOAT, ZSET_MIN_MAX_NOT_LEX, ZSET_SCORE_NAN,
    ZSET_WEIGHT_NOT_FLOAT,
};
use crate::num::{parse_cursor, parse_i64, parse_range_score, parse_score, strtod};

// ---------------------------------------------------------------------------------
// Helpers: limits, replies, ranges
// ---------------------------------------------------------------------------------

/// The packed-encoding limits in force (`zset-max-listpack-*`).
fn limits(ctx: &Ctx<'_>) -> ZsetLimits {
    ZsetLimits {
        entries: ctx
            .shared
            .live
            .zset_max_listpack_entries
            .load(Ordering::Relaxed),
        value: ctx
            .shared
            .live
            .zset_max_listpack_value
            .load(Ordering::Relaxed),
    }
}

/// A score as Redis 7.0's `addReplyDouble`: RESP3 double, RESP2 bulk string.
fn reply_score(out: &mut ReplyBuf, d: f64) {
    let mut text = Vec::with_capacity(24);
    format_score(d, &mut text);
    match out.proto {
        Proto::Resp2 => out.bulk(&text),
        Proto::Resp3 => {
            out.raw(b",");
            out.raw(&text);
            out.raw(b"\r\n");
        }
    }
}

/// A score as a bulk string in both protocols (ZSCAN).
fn bulk_score(out: &mut ReplyBuf, d: f64) {
    let mut text = Vec::with_capacity(24);
    format_score(d, &mut text);
    out.bulk(&text);
}

/// Writes members (with scores: flat pairs in RESP2, `[member, score]` arrays in
/// RESP3) as one array.
struct ItemWriter {
    withscores: bool,
    pairs: bool,
}

impl ItemWriter {
    fn new(out: &ReplyBuf, withscores: bool) -> ItemWriter {
        ItemWriter {
            withscores,
            pairs: withscores && out.proto == Proto::Resp3,
        }
    }

    fn header(&self, out: &mut ReplyBuf, n: usize) {
        out.array(if self.withscores && !self.pairs {
            n * 2
        } else {
            n
        });
    }

    fn item(&self, out: &mut ReplyBuf, score: f64, member: &[u8]) {
        if self.pairs {
            out.array(2);
        }
        out.bulk(member);
        if self.withscores {
            reply_score(out, score);
        }
    }
}

/// A score range (`zslParseRange`): bounds, each inclusive or exclusive (`(`).
#[derive(Clone, Copy, Debug)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    match b.strip_prefix(b"(") {
        Some(rest) => parse_range_score(rest).map(|v| (v, true)),
        None => parse_range_score(b).map(|v| (v, false)),
    }
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        match (parse_score_bound(min), parse_score_bound(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
                min,
                minex,
                max,
                maxex,
            }),
            _ => Err(CmdError::msg(ZSET_MIN_MAX_NOT_FLOAT)),
        }
    }

    /// The ascending ranks `start..end` of the members in range.
    fn ranks(&self, z: &ZsetValue) -> (usize, usize) {
        let (min, minex, max, maxex) = (self.min, self.minex, self.max, self.maxex);
        let start = z.count_while(|s, _| if minex { s <= min } else { s < min });
        let end = z.count_while(|s, _| if maxex { s < max } else { s <= max });
        (start, end.max(start))
    }
}

/// One end of a lexicographical range (`zslParseLexRangeItem`).
#[derive(Clone, Copy, Debug)]
enum Lex<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

fn parse_lex(b: &[u8]) -> Option<Lex<'_>> {
    match b {
        [b'+'] => Some(Lex::Max),
        [b'-'] => Some(Lex::Min),
        [b'(', rest @ ..] => Some(Lex::Excl(rest)),
        [b'[', rest @ ..] => Some(Lex::Incl(rest)),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug)]
struct LexRange<'a> {
    min: Lex<'a>,
    max: Lex<'a>,
}

impl<'a> LexRange<'a> {
    fn parse(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, CmdError> {
        match (parse_lex(min), parse_lex(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::msg(ZSET_MIN_MAX_NOT_LEX)),
        }
    }

    /// Whether `m` is at or above the lower bound (`zslLexValueGteMin`).
    fn gte_min(&self, m: &[u8]) -> bool {
        match self.min {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(x) => m >= x,
            Lex::Excl(x) => m > x,
        }
    }

    /// Whether `m` is at or below the upper bound (`zslLexValueLteMax`).
    fn lte_max(&self, m: &[u8]) -> bool {
        match self.max {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m <= x,
            Lex::Excl(x) => m < x,
        }
    }

    /// Whether the range cannot hold anything (min above max).
    fn is_empty(&self) -> bool {
        match (self.min, self.max) {
            (Lex::Max, _) | (_, Lex::Min) => true,
            (Lex::Min, _) | (_, Lex::Max) => false,
            (Lex::Incl(a) | Lex::Excl(a), Lex::Incl(b) | Lex::Excl(b)) => {
                a > b || (a == b && !matches!((self.min, self.max), (Lex::Incl(_), Lex::Incl(_))))
            }
        }
    }

    /// The ascending ranks `start..end` of the members in range, found as Redis
    /// finds them for the order they are read in (`rev`). Lex ranges are meant for
    /// members of equal scores: then this is an O(log n) search. With mixed scores
    /// a packed set gives Redis's listpack answer (a walk from the head, or from the
    /// tail when `rev`, to the first member in range, then on while in range); a
    /// tree-form set assumes the order is lexicographical (Redis's skiplist answer
    /// then depends on its random node levels).
    fn ranks(&self, z: &ZsetValue, rev: bool) -> (usize, usize) {
        let len = z.len();
        let in_range = !self.is_empty()
            && z.nth(len.wrapping_sub(1))
                .is_some_and(|(_, m)| self.gte_min(m))
            && z.nth(0).is_some_and(|(_, m)| self.lte_max(m));
        if !in_range {
            return (0, 0);
        }
        if !z.is_packed() {
            let start = z.count_while(|_, m| !self.gte_min(m));
            let end = z.count_while(|_, m| self.lte_max(m));
            return (start, end.max(start));
        }
        let mut members: Vec<&[u8]> = Vec::with_capacity(len);
        z.for_each(|_, m| members.push(m));
        if rev {
            let Some(last) = members.iter().rposition(|m| self.lte_max(m)) else {
                return (0, 0);
            };
            let first = members[..=last]
                .iter()
                .rposition(|m| !self.gte_min(m))
                .map_or(0, |i| i + 1);
            (first, last + 1)
        } else {
            let Some(first) = members.iter().position(|m| self.gte_min(m)) else {
                return (0, 0);
            };
            let end = members[first..]
                .iter()
                .position(|m| !self.lte_max(m))
                .map_or(len, |i| first + i);
            (first, end)
        }
    }
}

/// ZRANGE's start/stop as ascending ranks `start..end` (Redis's
/// `genericZrangebyrankCommand` clamping), for the reverse order when `rev`.
fn rank_window(len: usize, start: i64, stop: i64, rev: bool) -> (usize, usize) {
    let llen = len as i64;
    let mut start = if start < 0 { start + llen } else { start };
    let mut end = if stop < 0 { stop + llen } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return (0, 0);
    }
    if end >= llen {
        end = llen - 1;
    }
    let (s, e) = (start as usize, end as usize + 1);
    if rev {
        (len - e, len - s)
    } else {
        (s, e)
    }
}

/// LIMIT offset count applied to the ascending ranks `start..end` read in
/// ascending (or, `rev`, descending) order: a negative offset selects nothing, a
/// negative count everything after the offset.
fn apply_limit(start: usize, end: usize, rev: bool, limit: Option<(i64, i64)>) -> (usize, usize) {
    let Some((offset, count)) = limit else {
        return (start, end);
    };
    if offset < 0 {
        return (start, start);
    }
    let n = end - start;
    let offset = usize::try_from(offset).unwrap_or(usize::MAX).min(n);
    let take = if count < 0 {
        n - offset
    } else {
        usize::try_from(count).unwrap_or(usize::MAX).min(n - offset)
    };
    if rev {
        (end - offset - take, end - offset)
    } else {
        (start + offset, start + offset + take)
    }
}

/// A member's owned copy with its score (what a store or a pop takes out).
type Item = (f64, Vec<u8>);

fn collect(z: &ZsetValue, start: usize, end: usize, rev: bool) -> Vec<Item> {
    let mut v = Vec::with_capacity(end.saturating_sub(start));
    z.for_range(start, end, rev, |s, m| v.push((s, m.to_vec())));
    v
}

/// A new sorted set of `items`, packed if they fit the limits.
fn build(items: impl IntoIterator<Item = Item>, limits: ZsetLimits) -> ZsetValue {
    let mut z = ZsetValue::new();
    for (s, m) in items {
        z.insert(&m, s, limits);
    }
    z
}

/// After removing members from key `i` in place: announces `event` with `n` changes,
/// then the key's deletion when it was left empty.
fn announce_removal(keys: &mut Keys<'_, '_>, i: usize, event: &'static str, n: usize, empty: bool) {
    if n > 0 {
        keys.changed(i, event, n as u64);
    }
    if empty {
        keys.delete(i, DEL, 0);
    }
}

/// Stores `z` at key `i` (a *STORE destination): written when not empty, else the
/// key deleted if it existed (`del`, one change). Returns the stored cardinality.
fn store_at(
    keys: &mut Keys<'_, '_>,
    i: usize,
    key: &[u8],
    z: ZsetValue,
    event: &'static str,
) -> usize {
    let n = z.len();
    if n > 0 {
        let old = keys.set(i, Entry::new_zset(key, z, None), event, 1);
        drop(old);
    } else {
        keys.delete(i, DEL, 1);
    }
    n
}

// ---------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM
// ---------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What one `zsetAdd` did.
enum Added {
    New,
    Updated(f64),
    Same(f64),
    Nop,
}

/// Redis's `zsetAdd` for one member.
fn zset_add(
    z: &mut ZsetValue,
    member: &[u8],
    score: f64,
    f: AddFlags,
    limits: ZsetLimits,
) -> Result<Added, CmdError> {
    match z.score(member) {
        Some(cur) => {
            if f.nx {
                return Ok(Added::Nop);
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return Err(CmdError::msg(ZSET_SCORE_NAN));
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Ok(Added::Nop);
            }
            if score != cur {
                z.insert(member, score, limits);
                Ok(Added::Updated(score))
            } else {
                Ok(Added::Same(score))
            }
        }
        None => {
            if f.xx {
                return Ok(Added::Nop);
            }
            z.insert(member, score, limits);
            Ok(Added::New)
        }
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...].
fn zadd(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zadd_generic(ctx, args, AddFlags::default(), 2)
}

/// ZINCRBY key increment member: ZADD INCR with the increment's error texts.
fn zincrby(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zadd_generic(
        ctx,
        args,
        AddFlags {
            incr: true,
            ..AddFlags::default()
        },
        2,
    )
}

fn zadd_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, mut f: AddFlags, mut at: usize) -> CmdResult {
    let is_zincrby = f.incr;
    if !is_zincrby {
        while let Some(a) = args.get(at) {
            let a = a.to_ascii_lowercase();
            match a.as_slice() {
                b"nx" => f.nx = true,
                b"xx" => f.xx = true,
                b"gt" => f.gt = true,
                b"lt" => f.lt = true,
                b"ch" => f.ch = true,
                b"incr" => f.incr = true,
                _ => break,
            }
            at += 1;
        }
    }
    let elements = args.len() - at;
    if elements % 2 == 1 || elements == 0 {
        return Err(CmdError::Syntax);
    }
    let pairs = elements / 2;
    if f.nx && f.xx {
        return Err(CmdError::msg(ZADD_NX_AND_XX));
    }
    if (f.gt || f.lt) && (f.nx || (f.gt && f.lt)) {
        return Err(CmdError::msg(ZADD_GT_LT_NX));
    }
    if f.incr && pairs > 1 {
        return Err(CmdError::msg(ZADD_INCR_ONE_PAIR));
    }
    let mut scores = Vec::with_capacity(pairs);
    for i in 0..pairs {
        scores.push(parse_score(&args[at + 2 * i]).ok_or(CmdError::NotFloat)?);
    }
    let limits = limits(ctx);
    let key = &args[1];
    let (mut keys, out) = ctx.keys(&[key]);
    let apply = |z: &mut ZsetValue| -> (usize, usize, Option<f64>, Option<CmdError>) {
        let (mut added, mut updated, mut last) = (0, 0, None);
        for (i, &score) in scores.iter().enumerate() {
            let member = &args[at + 2 * i + 1];
            match zset_add(z, member, score, f, limits) {
                Ok(Added::New) => {
                    added += 1;
                    last = z.score(member);
                }
                Ok(Added::Updated(s)) => {
                    updated += 1;
                    last = Some(s);
                }
                Ok(Added::Same(s)) => last = Some(s),
                Ok(Added::Nop) => last = None,
                Err(e) => return (added, updated, None, Some(e)),
            }
        }
        (added, updated, last, None)
    };
    let event = if f.incr { ZINCR } else { ZADD };
    let (added, updated, last, err) = match keys.zset_mut(0, apply)? {
        Some((r, _)) => {
            if r.0 + r.1 > 0 {
                keys.changed(0, event, (r.0 + r.1) as u64);
            }
            r
        }
        None if f.xx => (0, 0, None, None),
        None => {
            let mut z = ZsetValue::with_hint(pairs, args[at + 1].len(), limits);
            let r = apply(&mut z);
            if !z.is_empty() {
                keys.set(0, Entry::new_zset(key, z, None), event, (r.0 + r.1) as u64);
            }
            r
        }
    };
    if let Some(e) = err {
        return Err(e);
    }
    if f.incr {
        match last {
            Some(s) => reply_score(out, s),
            None => out.null(),
        }
    } else {
        out.int((added + if f.ch { updated } else { 0 }) as i64);
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let removed = keys.zset_mut(0, |z| {
        let mut n = 0;
        for m in args.iter().skip(2) {
            if z.remove(m).is_some() {
                n += 1;
                if z.is_empty() {
                    break;
                }
            }
        }
        n
    })?;
    let n = match removed {
        Some((n, empty)) => {
            announce_removal(&mut keys, 0, ZREM, n, empty);
            n
        }
        None => 0,
    };
    out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// ZCARD, ZCOUNT, ZLEXCOUNT, ZSCORE, ZMSCORE, ZRANK, ZREVRANK
// ---------------------------------------------------------------------------------

fn zcard(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    out.int(keys.read_zset(0)?.map_or(0, ZsetValue::len) as i64);
    Ok(())
}

fn zcount(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let n = keys.read_zset(0)?.map_or(0, |z| {
        let (s, e) = range.ranks(z);
        e - s
    });
    out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let n = keys.read_zset(0)?.map_or(0, |z| {
        let (s, e) = range.ranks(z, false);
        e - s
    });
    out.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    match keys.read_zset(0)?.and_then(|z| z.score(&args[2])) {
        Some(s) => reply_score(out, s),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let z = keys.read_zset(0)?;
    out.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply_score(out, s),
            None => out.null(),
        }
    }
    Ok(())
}

fn zrank_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, rev: bool) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let z = keys.read_zset(0)?;
    match z.and_then(|z| z.rank(&args[2]).map(|r| (r, z.len()))) {
        Some((r, len)) => out.int(if rev { len - 1 - r } else { r } as i64),
        None => out.null(),
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrank_generic(ctx, args, true)
}

// ---------------------------------------------------------------------------------
// The ZRANGE family
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// How a ZRANGE-family command was called: where its key and bounds are, what the
/// command fixes (the order, the kind of range), whether it stores.
struct RangeCall {
    /// Index of the source key (min and max follow it).
    src: usize,
    by: By,
    /// `None`: REV allowed (ZRANGE, ZRANGESTORE); `Some(rev)`: fixed.
    rev: Option<bool>,
    store: bool,
}

/// The parsed range request, and the ascending ranks it selects once the set is
/// known.
struct RangeQuery<'a> {
    by: By,
    rev: bool,
    withscores: bool,
    limit: Option<(i64, i64)>,
    start: i64,
    stop: i64,
    score: Option<ScoreRange>,
    lex: Option<LexRange<'a>>,
}

impl<'a> RangeQuery<'a> {
    /// `zrangeGenericCommand`'s parsing, in its order.
    fn parse(args: &'a Args<'a>, call: &RangeCall) -> Result<RangeQuery<'a>, CmdError> {
        let (mut by, mut rev) = (call.by, call.rev);
        let mut withscores = false;
        let mut limit: Option<(i64, i64)> = None;
        let mut j = call.src + 3;
        while j < args.len() {
            let a = &args[j];
            let left = args.len() - j - 1;
            if !call.store && a.eq_ignore_ascii_case(b"withscores") {
                withscores = true;
            } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
                let offset = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
                let count = parse_i64(&args[j + 2]).ok_or(CmdError::NotInteger)?;
                limit = Some((offset, count));
                j += 2;
            } else if rev.is_none() && a.eq_ignore_ascii_case(b"rev") {
                rev = Some(true);
            } else if by == By::Auto && a.eq_ignore_ascii_case(b"bylex") {
                by = By::Lex;
            } else if by == By::Auto && a.eq_ignore_ascii_case(b"byscore") {
                by = By::Score;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        let rev = rev.unwrap_or(false);
        if by == By::Auto {
            by = By::Rank;
        }
        if limit.is_some_and(|(_, c)| c != -1) && by == By::Rank {
            return Err(CmdError::msg(ZRANGE_LIMIT_NEEDS_BY));
        }
        if withscores && by == By::Lex {
            return Err(CmdError::msg(ZRANGE_BYLEX_WITHSCORES));
        }
        let (mut lo, mut hi) = (&args[call.src + 1], &args[call.src + 2]);
        if rev && by != By::Rank {
            std::mem::swap(&mut lo, &mut hi);
        }
        let mut q = RangeQuery {
            by,
            rev,
            withscores,
            limit,
            start: 0,
            stop: 0,
            score: None,
            lex: None,
        };
        match by {
            By::Rank | By::Auto => {
                q.start = parse_i64(lo).ok_or(CmdError::NotInteger)?;
                q.stop = parse_i64(hi).ok_or(CmdError::NotInteger)?;
            }
            By::Score => q.score = Some(ScoreRange::parse(lo, hi)?),
            By::Lex => q.lex = Some(LexRange::parse(lo, hi)?),
        }
        Ok(q)
    }

    /// The ascending ranks `start..end` selected in `z` (visited in reverse when
    /// `self.rev`).
    fn ranks(&self, z: &ZsetValue) -> (usize, usize) {
        let (s, e) = match self.by {
            By::Rank | By::Auto => return rank_window(z.len(), self.start, self.stop, self.rev),
            By::Score => self.score.map_or((0, 0), |r| r.ranks(z)),
            By::Lex => self.lex.map_or((0, 0), |r| r.ranks(z, self.rev)),
        };
        apply_limit(s, e, self.rev, self.limit)
    }
}

fn zrange_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, call: RangeCall) -> CmdResult {
    let q = RangeQuery::parse(args, &call)?;
    if call.store {
        let limits = limits(ctx);
        let (dst, src) = (&args[1], &args[2]);
        let (mut keys, out) = ctx.keys(&[dst, src]);
        let items = match keys.read_zset(1)? {
            Some(z) => {
                let (s, e) = q.ranks(z);
                collect(z, s, e, q.rev)
            }
            None => Vec::new(),
        };
        let n = store_at(&mut keys, 0, dst, build(items, limits), ZRANGESTORE);
        out.int(n as i64);
        return Ok(());
    }
    let (mut keys, out) = ctx.keys(&[&args[call.src]]);
    let w = ItemWriter::new(out, q.withscores);
    match keys.read_zset(0)? {
        None => out.array(0),
        Some(z) => {
            let (s, e) = q.ranks(z);
            w.header(out, e - s);
            z.for_range(s, e, q.rev, |score, m| w.item(out, score, m));
        }
    }
    Ok(())
}

fn zrange(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(
        ctx,
        args,
        RangeCall {
            src: 1,
            by: By::Auto,
            rev: None,
            store: false,
        },
    )
}

fn zrangestore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(
        ctx,
        args,
        RangeCall {
            src: 2,
            by: By::Auto,
            rev: None,
            store: true,
        },
    )
}

fn fixed(by: By, rev: bool) -> RangeCall {
    RangeCall {
        src: 1,
        by,
        rev: Some(rev),
        store: false,
    }
}

fn zrevrange(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, fixed(By::Rank, true))
}

fn zrangebyscore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, fixed(By::Score, false))
}

fn zrevrangebyscore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, fixed(By::Score, true))
}

fn zrangebylex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, fixed(By::Lex, false))
}

fn zrevrangebylex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, fixed(By::Lex, true))
}

// ---------------------------------------------------------------------------------
// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX
// ---------------------------------------------------------------------------------

fn zremrange(
    ctx: &mut Ctx<'_>,
    args: &Args<'_>,
    event: &'static str,
    ranks: impl FnOnce(&ZsetValue) -> (usize, usize),
) -> CmdResult {
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let n = match keys.zset_mut(0, |z| {
        let (s, e) = ranks(z);
        z.remove_range(s, e)
    })? {
        Some((n, empty)) => {
            announce_removal(&mut keys, 0, event, n, empty);
            n
        }
        None => 0,
    };
    out.int(n as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let start = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let stop = parse_i64(&args[3]).ok_or(CmdError::NotInteger)?;
    zremrange(ctx, args, ZREMRANGEBYRANK, |z| {
        rank_window(z.len(), start, stop, false)
    })
}

fn zremrangebyscore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let range = ScoreRange::parse(&args[2], &args[3])?;
    zremrange(ctx, args, ZREMRANGEBYSCORE, |z| range.ranks(z))
}

fn zremrangebylex(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let range = LexRange::parse(&args[2], &args[3])?;
    zremrange(ctx, args, ZREMRANGEBYLEX, |z| range.ranks(z, false))
}

// ---------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP, BZPOPMIN, BZPOPMAX, BZMPOP
// ---------------------------------------------------------------------------------

/// Pops up to `count` members from the low (or, `max`, high) end.
fn pop(z: &mut ZsetValue, max: bool, count: usize) -> Vec<Item> {
    let n = count.min(z.len());
    let items = if max {
        collect(z, z.len() - n, z.len(), true)
    } else {
        collect(z, 0, n, false)
    };
    for (_, m) in &items {
        z.remove(m);
    }
    items
}

/// Pops from key `i` and announces it; `None` when the key is absent.
fn pop_key(
    keys: &mut Keys<'_, '_>,
    i: usize,
    max: bool,
    count: usize,
) -> Result<Option<Vec<Item>>, CmdError> {
    let Some((items, empty)) = keys.zset_mut(i, |z| pop(z, max, count))? else {
        return Ok(None);
    };
    announce_removal(
        keys,
        i,
        if max { ZPOPMAX } else { ZPOPMIN },
        items.len(),
        empty,
    );
    Ok(Some(items))
}

/// `[member, score]` pairs as arrays in both protocols (ZMPOP's elements).
fn reply_pairs(out: &mut ReplyBuf, items: &[Item]) {
    out.array(items.len());
    for (s, m) in items {
        out.array(2);
        out.bulk(m);
        reply_score(out, *s);
    }
}

/// ZPOPMIN/ZPOPMAX key [count].
fn zpop(ctx: &mut Ctx<'_>, args: &Args<'_>, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match args.get(2) {
        Some(c) => Some(
            parse_i64(c)
                .filter(|c| *c >= 0)
                .ok_or(CmdError::msg(VALUE_MUST_BE_POSITIVE))? as usize,
        ),
        None => None,
    };
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    if count == Some(0) {
        // Redis answers before looking the key up (no WRONGTYPE).
        out.array(0);
        return Ok(());
    }
    let items = pop_key(&mut keys, 0, max, count.unwrap_or(1))?.unwrap_or_default();
    match count {
        Some(_) => {
            let w = ItemWriter::new(out, true);
            w.header(out, items.len());
            for (s, m) in &items {
                w.item(out, *s, m);
            }
        }
        None => {
            out.array(items.len() * 2);
            for (s, m) in &items {
                out.bulk(m);
                reply_score(out, *s);
            }
        }
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zpop(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    zpop(ctx, args, true)
}

/// ZMPOP/BZMPOP's `numkeys key... MIN|MAX [COUNT count]` from `args[at..]`: the keys,
/// the side, the count.
fn parse_mpop<'a>(args: &'a Args<'a>, at: usize) -> Result<(Vec<&'a [u8]>, bool, usize), CmdError> {
    let numkeys = parse_i64(&args[at])
        .filter(|n| *n > 0)
        .ok_or(CmdError::msg(NUMKEYS_NOT_POSITIVE))? as usize;
    let where_at = at + 1 + numkeys;
    if numkeys > args.len().saturating_sub(at + 2) {
        return Err(CmdError::Syntax);
    }
    let max = match &args[where_at] {
        w if w.eq_ignore_ascii_case(b"min") => false,
        w if w.eq_ignore_ascii_case(b"max") => true,
        _ => return Err(CmdError::Syntax),
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && args[j].eq_ignore_ascii_case(b"count") && j + 1 < args.len() {
            let c = parse_i64(&args[j + 1])
                .filter(|c| *c > 0)
                .ok_or(CmdError::msg(COUNT_NOT_POSITIVE))?;
            count = Some(c as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let keys = (at + 1..where_at).map(|i| &args[i][..]).collect();
    Ok((keys, max, count.unwrap_or(1)))
}

/// Pops from the first non-empty key of `keys`: `(key index, items)`. A key of
/// another type is WRONGTYPE, except when `skip_wrong_type` (a blocked pop woken
/// again: Redis 7.0 serves a blocked client only from a sorted set, and leaves it
/// waiting when its key became something else).
fn mpop_first(
    keys: &mut Keys<'_, '_>,
    n: usize,
    max: bool,
    count: usize,
    skip_wrong_type: bool,
) -> Result<Option<(usize, Vec<Item>)>, CmdError> {
    for i in 0..n {
        match pop_key(keys, i, max, count) {
            Ok(Some(items)) => return Ok(Some((i, items))),
            Ok(None) => {}
            Err(CmdError::WrongType) if skip_wrong_type => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn zmpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let (names, max, count) = parse_mpop(args, 1)?;
    let (mut keys, out) = ctx.keys(&names);
    match mpop_first(&mut keys, names.len(), max, count, false)? {
        Some((i, items)) => {
            out.array(2);
            out.bulk(names[i]);
            reply_pairs(out, &items);
        }
        None => out.null_array(),
    }
    Ok(())
}

/// A blocking command's timeout in seconds (0: forever) as a deadline.
fn parse_timeout(arg: &[u8], now_ms: i64, now: Instant) -> Result<Option<Instant>, CmdError> {
    // Redis's getTimeoutFromObjectOrReply: a long double (strtold: hex allowed, no
    // leading space, not NaN), times 1000, cast to long long (what does not fit
    // becomes LLONG_MIN on x86-64: "negative"; so do -inf and inf).
    let (t, n, _) = strtod(arg);
    if arg.first().is_none_or(u8::is_ascii_whitespace) || n != arg.len() || t.is_nan() {
        return Err(CmdError::msg(TIMEOUT_NOT_FLOAT));
    }
    let ms = (t * 1000.0).trunc();
    let tval = if ms.is_finite() && ms >= i64::MIN as f64 && ms < i64::MAX as f64 {
        ms as i64
    } else {
        i64::MIN
    };
    if tval < 0 {
        return Err(CmdError::msg(TIMEOUT_NEGATIVE));
    }
    if tval == 0 {
        return Ok(None);
    }
    if tval > i64::MAX - now_ms {
        return Err(CmdError::msg(TIMEOUT_OUT_OF_RANGE));
    }
    // Past what the clock can hold: as good as forever.
    Ok(now.checked_add(Duration::from_millis(tval as u64)))
}

/// Parks the command on `names` (in the client's database) until `deadline`.
fn block_on(ctx: &mut Ctx<'_>, names: &[&[u8]], deadline: Option<Instant>) {
    let db = ctx.client.db;
    let keys = names.iter().map(|k| (db, k.to_vec())).collect();
    ctx.block(Block::keys(keys, deadline, OnTimeout::NullArray));
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout.
fn bzpop(ctx: &mut Ctx<'_>, args: &Args<'_>, max: bool) -> CmdResult {
    let deadline = parse_timeout(&args[args.len() - 1], ctx.now, Instant::now())?;
    let in_group = ctx.held.is_some();
    let rerun = ctx.client.reprocessing;
    let names: Vec<&[u8]> = (1..args.len() - 1).map(|i| &args[i][..]).collect();
    let (mut keys, out) = ctx.keys(&names);
    if let Some((i, items)) = mpop_first(&mut keys, names.len(), max, 1, rerun)? {
        let (s, m) = &items[0];
        out.array(3);
        out.bulk(names[i]);
        out.bulk(m);
        reply_score(out, *s);
        return Ok(());
    }
    if in_group {
        // Inside a group (MULTI/EXEC, scripts) nothing may block: Redis answers nil.
        out.null_array();
        return Ok(());
    }
    drop(keys);
    block_on(ctx, &names, deadline);
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    bzpop(ctx, args, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    bzpop(ctx, args, true)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].
fn bzmpop(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let deadline = parse_timeout(&args[1], ctx.now, Instant::now())?;
    let in_group = ctx.held.is_some();
    let rerun = ctx.client.reprocessing;
    let (names, max, count) = parse_mpop(args, 2)?;
    let (mut keys, out) = ctx.keys(&names);
    if let Some((i, items)) = mpop_first(&mut keys, names.len(), max, count, rerun)? {
        out.array(2);
        out.bulk(names[i]);
        reply_pairs(out, &items);
        return Ok(());
    }
    if in_group {
        // Inside a group (MULTI/EXEC, scripts) nothing may block: Redis answers nil.
        out.null_array();
        return Ok(());
    }
    drop(keys);
    block_on(ctx, &names, deadline);
    Ok(())
}

// ---------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------

/// ZRANDMEMBER key [count [WITHSCORES]].
fn zrandmember(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let key = &args[1];
    let mut rng = rand::rng();
    if args.len() < 3 {
        let (mut keys, out) = ctx.keys(&[key]);
        match keys.read_zset(0)? {
            Some(z) if !z.is_empty() => match z.nth(rng.random_range(0..z.len())) {
                Some((_, m)) => out.bulk(m),
                None => out.null(),
            },
            _ => out.null(),
        }
        return Ok(());
    }
    let count = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if count == i64::MIN {
        return Err(CmdError::msg(COUNT_OUT_OF_LONG_RANGE));
    }
    let withscores = match args.get(3) {
        None => false,
        Some(opt) if args.len() == 4 && opt.eq_ignore_ascii_case(b"withscores") => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg(VALUE_OUT_OF_RANGE));
    }
    let max_reply = ctx.shared.live.proto_max_bulk_len.load(Ordering::Relaxed);
    let (mut keys, out) = ctx.keys(&[key]);
    let Some(z) = keys.read_zset(0)? else {
        out.array(0);
        return Ok(());
    };
    let size = z.len();
    let w = ItemWriter::new(out, withscores);
    if count == 0 || size == 0 {
        out.array(0);
        return Ok(());
    }
    let wanted = count.unsigned_abs();
    if count < 0 {
        // With repetition: refuse what could not be buffered (estimated from a few
        // members).
        let sample: usize = (0..size.min(16))
            .filter_map(|i| z.nth(i * size / size.min(16)))
            .map(|(_, m)| m.len() + if withscores { 40 } else { 16 })
            .sum::<usize>()
            / size.min(16);
        if wanted.saturating_mul(sample as u64 + 4) > max_reply {
            return Err(CmdError::msg(COUNT_TOO_LARGE_FOR_REPLY));
        }
        let n = wanted as usize;
        w.header(out, n);
        for _ in 0..n {
            if let Some((s, m)) = z.nth(rng.random_range(0..size)) {
                w.item(out, s, m);
            }
        }
        return Ok(());
    }
    let n = usize::try_from(wanted).unwrap_or(usize::MAX);
    if n >= size {
        w.header(out, size);
        z.for_each(|s, m| w.item(out, s, m));
        return Ok(());
    }
    // Distinct ranks: a partial shuffle of all ranks when many are wanted, else
    // draws until enough distinct ones came up.
    let ranks: Vec<usize> = if n.saturating_mul(3) > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = rng.random_range(i..size);
            all.swap(i, j);
        }
        all.truncate(n);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            let r = rng.random_range(0..size);
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    w.header(out, n);
    for r in ranks {
        if let Some((s, m)) = z.nth(r) {
            w.item(out, s, m);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF (and STORE), ZINTERCARD
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// `zunionInterAggregate`, comparisons and all (a NaN value leaves MIN and MAX as
/// they are; a NaN sum is 0).
fn aggregate(a: Aggregate, target: f64, val: f64) -> f64 {
    match a {
        Aggregate::Sum => {
            let s = target + val;
            if s.is_nan() {
                0.0
            } else {
                s
            }
        }
        Aggregate::Min => {
            if val < target {
                val
            } else {
                target
            }
        }
        Aggregate::Max => {
            if val > target {
                val
            } else {
                target
            }
        }
    }
}

/// One input of ZUNION/ZINTER/ZDIFF/ZINTERCARD: a sorted set, or a plain set whose
/// members all score 1.
#[derive(Clone, Copy)]
enum Src<'a> {
    Zset(&'a ZsetValue),
    Set(&'a SetValue),
}

impl<'a> Src<'a> {
    fn len(self) -> usize {
        match self {
            Src::Zset(z) => z.len(),
            Src::Set(s) => s.len(),
        }
    }

    /// `zuiFind`: the member's score (1 for a set's member).
    fn score(self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Zset(z) => z.score(m),
            Src::Set(s) => s.contains(m).then_some(1.0),
        }
    }

    /// Visits every (score, member) until `f` answers false.
    fn walk(self, mut f: impl FnMut(f64, &[u8]) -> bool) {
        match self {
            Src::Zset(z) => {
                for r in 0..z.len() {
                    match z.nth(r) {
                        Some((s, m)) if f(s, m) => {}
                        _ => return,
                    }
                }
            }
            Src::Set(set) => {
                for m in set.iter() {
                    if !m.with_bytes(|b| f(1.0, b)) {
                        return;
                    }
                }
            }
        }
    }

    /// Visits every (score, member).
    fn for_each(self, mut f: impl FnMut(f64, &[u8])) {
        match self {
            Src::Zset(z) => z.for_each(&mut f),
            Src::Set(set) => {
                for m in set.iter() {
                    m.with_bytes(|b| f(1.0, b));
                }
            }
        }
    }
}

/// Runs ZUNION/ZINTER/ZDIFF over `sets` (weighted) as `zunionInterDiffGenericCommand`
/// does: union and intersection walk the inputs from the smallest (a stable sort by
/// cardinality), a weighted score that is NaN (`0 * inf`) counts as 0 where Redis
/// says so. The result's members come in no particular order.
fn set_op(op: SetOp, sets: &[Option<Src<'_>>], weights: &[f64], agg: Aggregate) -> Vec<Item> {
    let len = |z: &Option<Src<'_>>| z.map_or(0, Src::len);
    let mut order: Vec<usize> = (0..sets.len()).collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&i| len(&sets[i]));
    }
    let nan_to_zero = |v: f64| if v.is_nan() { 0.0 } else { v };
    match op {
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for &i in &order {
                let Some(z) = sets[i] else { continue };
                z.for_each(|s, m| {
                    let v = nan_to_zero(weights[i] * s);
                    match acc.get_mut(m) {
                        Some(t) => *t = aggregate(agg, *t, v),
                        None => {
                            acc.insert(m.to_vec(), v);
                        }
                    }
                });
            }
            acc.into_iter().map(|(m, s)| (s, m)).collect()
        }
        SetOp::Inter => {
            let first = order[0];
            let Some(z0) = sets[first] else {
                return Vec::new();
            };
            if order.iter().any(|&i| sets[i].is_none()) {
                return Vec::new();
            }
            let mut out = Vec::new();
            z0.for_each(|s, m| {
                let mut score = nan_to_zero(weights[first] * s);
                for &j in &order[1..] {
                    match sets[j].and_then(|z| z.score(m)) {
                        Some(v) => score = aggregate(agg, score, v * weights[j]),
                        None => return,
                    }
                }
                out.push((score, m.to_vec()));
            });
            out
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Vec::new();
            };
            let mut out = Vec::new();
            first.for_each(|s, m| {
                if !sets[1..].iter().flatten().any(|z| z.score(m).is_some()) {
                    out.push((s, m.to_vec()));
                }
            });
            out
        }
    }
}

/// `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` from
/// `args[at..]` (`zunionInterDiffGenericCommand`'s parsing, in its order).
struct SetOpArgs {
    weights: Vec<f64>,
    agg: Aggregate,
    withscores: bool,
}

/// The `numkeys key...` part at `args[at..]`: the keys.
fn parse_numkeys<'a>(args: &'a Args<'a>, at: usize, name: &str) -> Result<Vec<&'a [u8]>, CmdError> {
    let numkeys = parse_i64(&args[at]).ok_or(CmdError::NotInteger)?;
    if numkeys < 1 {
        return Err(CmdError::no_input_keys(name));
    }
    let numkeys = numkeys as usize;
    if numkeys > args.len() - at - 1 {
        return Err(CmdError::Syntax);
    }
    Ok((at + 1..at + 1 + numkeys).map(|i| &args[i][..]).collect())
}

/// The options after the keys (parsed after the sources were looked up, as Redis
/// does: WRONGTYPE comes before a syntax error).
fn parse_set_op<'a>(
    args: &'a Args<'a>,
    numkeys: usize,
    at: usize,
    op: SetOp,
    store: bool,
) -> Result<SetOpArgs, CmdError> {
    let mut weights = vec![1.0; numkeys];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut j = at + 1 + numkeys;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if op != SetOp::Diff && a.eq_ignore_ascii_case(b"weights") && left >= numkeys {
            for (k, w) in weights.iter_mut().enumerate() {
                *w = parse_score(&args[j + 1 + k]).ok_or(CmdError::msg(ZSET_WEIGHT_NOT_FLOAT))?;
            }
            j += numkeys;
        } else if op != SetOp::Diff && a.eq_ignore_ascii_case(b"aggregate") && left >= 1 {
            let v = &args[j + 1];
            agg = if v.eq_ignore_ascii_case(b"sum") {
                Aggregate::Sum
            } else if v.eq_ignore_ascii_case(b"min") {
                Aggregate::Min
            } else if v.eq_ignore_ascii_case(b"max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 1;
        } else if !store && a.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(SetOpArgs {
        weights,
        agg,
        withscores,
    })
}

/// Looks every source up (key indexes `from..`; read lookups for the STORE forms
/// too, counted and publishing `keymiss`, as redis-server 7.0.15 does): WRONGTYPE
/// for neither a sorted set nor a set. The entries are shared (a refcount each) so
/// the sets can be read together.
fn sources(keys: &mut Keys<'_, '_>, from: usize, n: usize) -> Result<Vec<Option<Entry>>, CmdError> {
    (from..from + n)
        .map(|i| Ok(keys.read(i, Want::ZsetOrSet)?.cloned()))
        .collect()
}

fn as_sets(entries: &[Option<Entry>]) -> Vec<Option<Src<'_>>> {
    entries
        .iter()
        .map(|e| {
            let e = e.as_ref()?;
            e.as_zset()
                .map(Src::Zset)
                .or_else(|| e.as_set().map(Src::Set))
        })
        .collect()
}

fn set_op_command(ctx: &mut Ctx<'_>, args: &Args<'_>, op: SetOp, store: bool) -> CmdResult {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let at = if store { 2 } else { 1 };
    let names = parse_numkeys(args, at, &name)?;
    let n = names.len();
    let limits = limits(ctx);
    let mut all: Vec<&[u8]> = Vec::with_capacity(n + 1);
    if store {
        all.push(&args[1]);
    }
    all.extend(&names);
    let (mut keys, out) = ctx.keys(&all);
    let from = usize::from(store);
    let entries = sources(&mut keys, from, n)?;
    let p = parse_set_op(args, n, at, op, store)?;
    let items = set_op(op, &as_sets(&entries), &p.weights, p.agg);
    drop(entries);
    if store {
        let event = match op {
            SetOp::Union => ZUNIONSTORE,
            SetOp::Inter => ZINTERSTORE,
            SetOp::Diff => ZDIFFSTORE,
        };
        let n = store_at(&mut keys, 0, &args[1], build(items, limits), event);
        out.int(n as i64);
        return Ok(());
    }
    // Replied from the computed members in order (no set is built: a `-0` score
    // stays `-0`, as Redis replies from its temporary skiplist).
    let mut items = items;
    items.sort_unstable_by(|a, b| cmp_items(a.0, &a.1, b.0, &b.1));
    let w = ItemWriter::new(out, p.withscores);
    w.header(out, items.len());
    for (s, m) in &items {
        w.item(out, *s, m);
    }
    Ok(())
}

fn zunion(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_op_command(ctx, args, SetOp::Union, false)
}

fn zunionstore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_op_command(ctx, args, SetOp::Union, true)
}

fn zinter(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_op_command(ctx, args, SetOp::Inter, false)
}

fn zinterstore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_op_command(ctx, args, SetOp::Inter, true)
}

fn zdiff(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_op_command(ctx, args, SetOp::Diff, false)
}

fn zdiffstore(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    set_op_command(ctx, args, SetOp::Diff, true)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit].
fn zintercard(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let names = parse_numkeys(args, 1, "zintercard")?;
    let numkeys = names.len();
    let (mut keys, out) = ctx.keys(&names);
    let entries = sources(&mut keys, 0, numkeys)?;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if args[j].eq_ignore_ascii_case(b"limit") && j + 1 < args.len() {
            limit = parse_i64(&args[j + 1])
                .filter(|l| *l >= 0)
                .ok_or(CmdError::msg(ZSET_LIMIT_NEGATIVE))? as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let sets = as_sets(&entries);
    let mut n = 0usize;
    if sets.iter().all(Option::is_some) {
        let all: Vec<Src<'_>> = sets.iter().flatten().copied().collect();
        let (first, _) = all
            .iter()
            .enumerate()
            .min_by_key(|(_, z)| z.len())
            .expect("at least one input");
        // The walk stops at the limit.
        all[first].walk(|_, m| {
            if all
                .iter()
                .enumerate()
                .all(|(j, z)| j == first || z.score(m).is_some())
            {
                n += 1;
            }
            limit == 0 || n < limit
        });
    }
    out.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------

/// ZSCAN key cursor [MATCH pattern] [COUNT count], as HSCAN (a packed set comes back
/// whole); scores are bulk strings in both protocols.
fn zscan(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(CmdError::msg(INVALID_CURSOR))?;
    let options = ScanOptions::parse(args, 3, false);
    let (mut keys, out) = ctx.keys(&[&args[1]]);
    let Some(z) = keys.read_zset(0)? else {
        super::common::empty_scan_reply(out);
        return Ok(());
    };
    let ScanOptions { count, pattern, .. } = options?;
    let mut items = ReplyBuf::new(out.proto);
    let mut n = 0usize;
    let next = z.scan(cursor, count, |m, s| {
        if pattern.is_none_or(|p| glob::matches(p, m)) {
            items.bulk(m);
            bulk_score(&mut items, s);
            n += 2;
        }
    });
    super::common::scan_reply(out, next, &items, n);
    Ok(())
}

// ---------------------------------------------------------------------------------

/// This family's commands (rows as Redis 7.0's COMMAND INFO / COMMAND DOCS list
/// them).
pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), zadd)
        .doc("sorted-set", "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0")
        .complexity("O(log(N)) for each item added, where N is the number of elements in the sorted set.")
        .acl(&["write", "sortedset", "fast"])
        .schema(command_args::ZADD),
    Command::new("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), zincrby)
        .doc("sorted-set", "Increment the score of a member in a sorted set", "1.2.0")
        .complexity("O(log(N)) where N is the number of elements in the sorted set.")
        .acl(&["write", "sortedset", "fast"])
        .schema(command_args::ZINCRBY),
    Command::new("zrem", -3, WRITE | FAST, (1, 1, 1), zrem)
        .doc("sorted-set", "Remove one or more members from a sorted set", "1.2.0")
        .complexity("O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.")
        .acl(&["write", "sortedset", "fast"])
        .schema(command_args::ZREM),
    Command::new("zcard", 2, READONLY | FAST, (1, 1, 1), zcard)
        .doc("sorted-set", "Get the number of members in a sorted set", "1.2.0")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZCARD),
    Command::new("zcount", 4, READONLY | FAST, (1, 1, 1), zcount)
        .doc("sorted-set", "Count the members in a sorted set with scores within the given values", "2.0.0")
        .complexity("O(log(N)) with N being the number of elements in the sorted set.")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZCOUNT),
    Command::new("zlexcount", 4, READONLY | FAST, (1, 1, 1), zlexcount)
        .doc("sorted-set", "Count the number of members in a sorted set between a given lexicographical range", "2.8.9")
        .complexity("O(log(N)) with N being the number of elements in the sorted set.")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZLEXCOUNT),
    Command::new("zscore", 3, READONLY | FAST, (1, 1, 1), zscore)
        .doc("sorted-set", "Get the score associated with the given member in a sorted set", "1.2.0")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZSCORE),
    Command::new("zmscore", -3, READONLY | FAST, (1, 1, 1), zmscore)
        .doc("sorted-set", "Get the score associated with the given members in a sorted set", "6.2.0")
        .complexity("O(N) where N is the number of members being requested.")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZMSCORE),
    Command::new("zrank", 3, READONLY | FAST, (1, 1, 1), zrank)
        .doc("sorted-set", "Determine the index of a member in a sorted set", "2.0.0")
        .complexity("O(log(N))")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZRANK),
    Command::new("zrevrank", 3, READONLY | FAST, (1, 1, 1), zrevrank)
        .doc("sorted-set", "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0")
        .complexity("O(log(N))")
        .acl(&["read", "sortedset", "fast"])
        .schema(command_args::ZREVRANK),
    Command::new("zrange", -4, READONLY, (1, 1, 1), zrange)
        .doc("sorted-set", "Return a range of members in a sorted set", "1.2.0")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZRANGE),
    Command::new("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), zrangestore)
        .doc("sorted-set", "Store a range of members from sorted set into another key", "6.2.0")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.")
        .acl(&["write", "sortedset", "slow"])
        .schema(command_args::ZRANGESTORE),
    Command::new("zrevrange", -4, READONLY, (1, 1, 1), zrevrange)
        .doc("sorted-set", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZREVRANGE),
    Command::new("zrangebyscore", -4, READONLY, (1, 1, 1), zrangebyscore)
        .doc("sorted-set", "Return a range of members in a sorted set, by score", "1.0.5")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZRANGEBYSCORE),
    Command::new("zrevrangebyscore", -4, READONLY, (1, 1, 1), zrevrangebyscore)
        .doc("sorted-set", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZREVRANGEBYSCORE),
    Command::new("zrangebylex", -4, READONLY, (1, 1, 1), zrangebylex)
        .doc("sorted-set", "Return a range of members in a sorted set, by lexicographical range", "2.8.9")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZRANGEBYLEX),
    Command::new("zrevrangebylex", -4, READONLY, (1, 1, 1), zrevrangebylex)
        .doc("sorted-set", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZREVRANGEBYLEX),
    Command::new("zpopmin", -2, WRITE | FAST, (1, 1, 1), zpopmin)
        .doc("sorted-set", "Remove and return members with the lowest scores in a sorted set", "5.0.0")
        .complexity("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.")
        .acl(&["write", "sortedset", "fast"])
        .schema(command_args::ZPOPMIN),
    Command::new("zpopmax", -2, WRITE | FAST, (1, 1, 1), zpopmax)
        .doc("sorted-set", "Remove and return members with the highest scores in a sorted set", "5.0.0")
        .complexity("O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.")
        .acl(&["write", "sortedset", "fast"])
        .schema(command_args::ZPOPMAX),
    Command::new("zmpop", -4, WRITE, (0, 0, 0), zmpop)
        .doc("sorted-set", "Remove and return members with scores in a sorted set", "7.0.0")
        .complexity("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.")
        .acl(&["write", "sortedset", "slow"])
        .keynum(1, 1, 1)
        .schema(command_args::ZMPOP),
    Command::new("zrandmember", -2, READONLY | RANDOM, (1, 1, 1), zrandmember)
        .doc("sorted-set", "Get one or multiple random elements from a sorted set", "6.2.0")
        .complexity("O(N) where N is the number of elements returned")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZRANDMEMBER),
    Command::new("zremrangebyrank", 4, WRITE, (1, 1, 1), zremrangebyrank)
        .doc("sorted-set", "Remove all members in a sorted set within the given indexes", "2.0.0")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.")
        .acl(&["write", "sortedset", "slow"])
        .schema(command_args::ZREMRANGEBYRANK),
    Command::new("zremrangebyscore", 4, WRITE, (1, 1, 1), zremrangebyscore)
        .doc("sorted-set", "Remove all members in a sorted set within the given scores", "1.2.0")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.")
        .acl(&["write", "sortedset", "slow"])
        .schema(command_args::ZREMRANGEBYSCORE),
    Command::new("zremrangebylex", 4, WRITE, (1, 1, 1), zremrangebylex)
        .doc("sorted-set", "Remove all members in a sorted set between the given lexicographical range", "2.8.9")
        .complexity("O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.")
        .acl(&["write", "sortedset", "slow"])
        .schema(command_args::ZREMRANGEBYLEX),
    Command::new("zunion", -3, READONLY, (0, 0, 0), zunion)
        .doc("sorted-set", "Add multiple sorted sets", "6.2.0")
        .complexity("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.")
        .acl(&["read", "sortedset", "slow"])
        .keynum(1, 1, 1)
        .schema(command_args::ZUNION),
    Command::new("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), zunionstore)
        .doc("sorted-set", "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0")
        .complexity("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.")
        .acl(&["write", "sortedset", "slow"])
        .keynum(2, 1, 1)
        .schema(command_args::ZUNIONSTORE),
    Command::new("zinter", -3, READONLY, (0, 0, 0), zinter)
        .doc("sorted-set", "Intersect multiple sorted sets", "6.2.0")
        .complexity("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.")
        .acl(&["read", "sortedset", "slow"])
        .keynum(1, 1, 1)
        .schema(command_args::ZINTER),
    Command::new("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), zinterstore)
        .doc("sorted-set", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0")
        .complexity("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.")
        .acl(&["write", "sortedset", "slow"])
        .keynum(2, 1, 1)
        .schema(command_args::ZINTERSTORE),
    Command::new("zintercard", -3, READONLY, (0, 0, 0), zintercard)
        .doc("sorted-set", "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0")
        .complexity("O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.")
        .acl(&["read", "sortedset", "slow"])
        .keynum(1, 1, 1)
        .schema(command_args::ZINTERCARD),
    Command::new("zdiff", -3, READONLY, (0, 0, 0), zdiff)
        .doc("sorted-set", "Subtract multiple sorted sets", "6.2.0")
        .complexity("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.")
        .acl(&["read", "sortedset", "slow"])
        .keynum(1, 1, 1)
        .schema(command_args::ZDIFF),
    Command::new("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), zdiffstore)
        .doc("sorted-set", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0")
        .complexity("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.")
        .acl(&["write", "sortedset", "slow"])
        .keynum(2, 1, 1)
        .schema(command_args::ZDIFFSTORE),
    Command::new("zscan", -3, READONLY | RANDOM, (1, 1, 1), zscan)
        .doc("sorted-set", "Incrementally iterate sorted sets elements and associated scores", "2.8.0")
        .complexity("O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..")
        .acl(&["read", "sortedset", "slow"])
        .schema(command_args::ZSCAN),
    Command::new("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), bzpopmin)
        .doc("sorted-set", "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0")
        .complexity("O(log(N)) with N being the number of elements in the sorted set.")
        .acl(&["write", "sortedset", "fast", "blocking"])
        .schema(command_args::BZPOPMIN),
    Command::new("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, (1, -2, 1), bzpopmax)
        .doc("sorted-set", "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0")
        .complexity("O(log(N)) with N being the number of elements in the sorted set.")
        .acl(&["write", "sortedset", "fast", "blocking"])
        .schema(command_args::BZPOPMAX),
    Command::new("bzmpop", -5, WRITE | BLOCKING, (0, 0, 0), bzmpop)
        .doc("sorted-set", "Remove and return members with scores in a sorted set or block until one is available", "7.0.0")
        .complexity("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.")
        .acl(&["write", "sortedset", "slow", "blocking"])
        .keynum(2, 1, 1)
        .schema(command_args::BZMPOP),

];
