//! SORT and SORT_RO (Redis's `sort.c`): the elements of a list, set or sorted set,
//! sorted numerically or (ALPHA) bytewise, or by the values of other keys (BY
//! pattern, `pattern->field` for a hash field; a pattern without `*` does not sort),
//! LIMIT, GET patterns (`#`: the element itself), and for SORT, STORE into a list.
//!
//! The keys that BY and GET patterns name come from the elements, so they are known
//! only once the sorted key is read: the handler reads the elements under the sorted
//! key's lock, derives every key the patterns name, then locks all of them (sorted key
//! and STORE destination included) at once and reads the elements again; if they
//! changed in between, it starts over. In a group (MULTI/EXEC) SORT holds its whole
//! database (dispatch's footprint), so the second read always matches.
//!
//! Ties in a numeric sort are broken bytewise by element, as Redis does; ALPHA
//! compares bytes (Redis's `strcoll` in the C locale).

use std::cmp::Ordering as Cmp;
use std::collections::HashMap;

use shoal_protocol::Args;
use shoal_storage::{Entry, ListValue, Value};

use crate::access::Lookup;
use crate::changes::event::{DEL, SORTSTORE};
use crate::command::{flags::*, Command, Ctx, Scope};
use crate::command_args;
use crate::error::{CmdError, CmdResult, SORT_SCORE_NOT_DOUBLE};
use crate::num::{parse_i64, strtod};

/// The parsed options.
struct Options<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    dontsort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse<'a>(args: &Args<'a>, readonly: bool) -> Result<Options<'a>, CmdError> {
    let mut o = Options {
        desc: false,
        alpha: false,
        limit: None,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if a.eq_ignore_ascii_case(b"asc") {
            o.desc = false;
        } else if a.eq_ignore_ascii_case(b"desc") {
            o.desc = true;
        } else if a.eq_ignore_ascii_case(b"alpha") {
            o.alpha = true;
        } else if a.eq_ignore_ascii_case(b"limit") && left >= 2 {
            let start = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            let count = parse_i64(&args[j + 2]).ok_or(CmdError::NotInteger)?;
            o.limit = Some((start, count));
            j += 2;
        } else if !readonly && a.eq_ignore_ascii_case(b"store") && left >= 1 {
            o.store = Some(args.get(j + 1).expect("checked"));
            j += 1;
        } else if a.eq_ignore_ascii_case(b"by") && left >= 1 {
            let p = args.get(j + 1).expect("checked");
            o.dontsort = !p.contains(&b'*');
            o.by = Some(p);
            j += 1;
        } else if a.eq_ignore_ascii_case(b"get") && left >= 1 {
            o.gets.push(args.get(j + 1).expect("checked"));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// What a pattern names for `elem` (Redis's `lookupKeyByPattern`): `None` for `#`
/// (the element itself) and for a pattern without `*` (nothing); else the key and
/// the hash field when the pattern ends in `->field`.
enum Target {
    Itself,
    Nothing,
    Key(Vec<u8>, Option<Vec<u8>>),
}

fn target(pattern: &[u8], elem: &[u8]) -> Target {
    // C string semantics: the pattern ends at its first NUL.
    let pattern = &pattern[..pattern
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(pattern.len())];
    if pattern == b"#" {
        return Target::Itself;
    }
    let Some(star) = pattern.iter().position(|&b| b == b'*') else {
        return Target::Nothing;
    };
    let rest = &pattern[star + 1..];
    let (post, field) = match rest.windows(2).position(|w| w == b"->") {
        Some(f) if f + 2 < rest.len() => (&rest[..f], Some(rest[f + 2..].to_vec())),
        _ => (rest, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + elem.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    Target::Key(key, field)
}

/// The elements to sort, and whether they come from a set.
type Elements = (Vec<Vec<u8>>, bool);

/// The elements of the sorted key in their native order (list order, rank order,
/// set iteration order), or `None` for a missing key; WRONGTYPE for other types.
fn elements(e: Option<&Entry>) -> Result<Option<Elements>, CmdError> {
    let Some(e) = e else { return Ok(None) };
    Ok(Some(match e.value() {
        Value::List(l) => (l.iter().map(|x| x.to_vec()).collect(), false),
        Value::Zset(z) => {
            let mut v = Vec::with_capacity(z.len());
            z.for_each(|_, m| v.push(m.to_vec()));
            (v, false)
        }
        Value::Set(s) => (s.iter().map(|m| m.to_vec()).collect(), true),
        _ => return Err(CmdError::WrongType),
    }))
}

/// Every key the BY and GET patterns name for `elems` (deduplicated).
fn pattern_keys(o: &Options<'_>, elems: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut seen: HashMap<Vec<u8>, ()> = HashMap::new();
    let by = if o.dontsort { None } else { o.by };
    for p in by.iter().chain(o.gets.iter()) {
        for e in elems {
            if let Target::Key(k, _) = target(p, e) {
                if seen.insert(k.clone(), ()).is_none() {
                    out.push(k);
                }
            }
        }
    }
    out
}

fn sort(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    sort_generic(ctx, args, false)
}

fn sort_ro(ctx: &mut Ctx<'_>, args: &Args<'_>) -> CmdResult {
    sort_generic(ctx, args, true)
}

fn sort_generic(ctx: &mut Ctx<'_>, args: &Args<'_>, readonly: bool) -> CmdResult {
    let mut o = parse(args, readonly)?;
    let key = &args[1];
    // First read: the elements, to learn which keys the patterns name.
    let first = {
        let (mut keys, _) = ctx.keys(&[key]);
        elements(keys.lookup(0, Lookup::PROBE))?
    };
    let derived = match &first {
        Some((elems, _)) => pattern_keys(&o, elems),
        None => Vec::new(),
    };
    let mut all: Vec<&[u8]> = vec![key];
    if let Some(s) = o.store {
        all.push(s);
    }
    let base = all.len();
    all.extend(derived.iter().map(|k| k.as_slice()));
    let index: HashMap<&[u8], usize> = all
        .iter()
        .enumerate()
        .skip(base)
        .map(|(i, k)| (*k, i))
        .collect();
    let (mut keys, out) = ctx.keys(&all);
    let now = elements(keys.lookup(0, Lookup::READ))?;
    if now.as_ref().map(|x| &x.0) != first.as_ref().map(|x| &x.0) {
        // Changed between the two reads (another client): start over.
        drop(keys);
        return sort_generic(ctx, args, readonly);
    }
    let (mut elems, is_set) = now.unwrap_or_default();
    if o.dontsort && is_set && o.store.is_some() {
        // A set's order is arbitrary: STORE sorts it (ALPHA), so the stored list is
        // deterministic (Redis does this for replication).
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    // Looks a pattern up for an element: the bytes, or None.
    let fetch =
        |keys: &mut crate::access::Keys<'_, '_>, p: &[u8], elem: &[u8]| match target(p, elem) {
            Target::Itself => Some(elem.to_vec()),
            Target::Nothing => None,
            Target::Key(k, field) => {
                let i = *index.get(k.as_slice()).expect("declared");
                let e = keys.lookup(i, Lookup::READ)?;
                match (field, e.value()) {
                    (None, Value::Str(s)) => Some(s.to_vec()),
                    (Some(f), Value::Hash(h)) => h.get(&f).map(|v| v.to_vec()),
                    _ => None,
                }
            }
        };
    if o.dontsort {
        if o.desc && !is_set {
            elems.reverse();
        }
    } else {
        // The sort keys.
        let mut error = false;
        let mut items: Vec<(Vec<u8>, Option<Vec<u8>>, f64)> = Vec::with_capacity(elems.len());
        for e in elems.drain(..) {
            let by = match o.by {
                Some(p) => fetch(&mut keys, p, &e),
                None => None,
            };
            let mut score = 0.0;
            if !o.alpha {
                let v = if o.by.is_some() {
                    by.as_deref()
                } else {
                    Some(&e[..])
                };
                if let Some(v) = v {
                    let (x, used, erange) = strtod(v);
                    if used < v.len() || erange || x.is_nan() {
                        error = true;
                    }
                    score = x;
                }
            }
            items.push((e, by, score));
        }
        if error {
            return Err(CmdError::msg(SORT_SCORE_NOT_DOUBLE));
        }
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        items.sort_by(|a, b| {
            let c = if !alpha {
                a.2.partial_cmp(&b.2)
                    .unwrap_or(Cmp::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            } else if by_pattern {
                a.1.cmp(&b.1)
            } else {
                a.0.cmp(&b.0)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
        elems = items.into_iter().map(|x| x.0).collect();
    }
    // LIMIT.
    let len = elems.len() as i64;
    let (limit_start, limit_count) = o.limit.unwrap_or((0, -1));
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 {
        len - 1
    } else {
        start.saturating_add(limit_count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let range: &[Vec<u8>] = if end >= start {
        &elems[start as usize..=end as usize]
    } else {
        &[]
    };
    let getop = o.gets.len();
    let outputlen = if getop > 0 {
        getop * range.len()
    } else {
        range.len()
    };
    match o.store {
        None => {
            out.array(outputlen);
            for e in range {
                if getop == 0 {
                    out.bulk(e);
                }
                for p in &o.gets {
                    match fetch(&mut keys, p, e) {
                        Some(v) => out.bulk(&v),
                        None => out.null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut list = ListValue::new();
            for e in range {
                if getop == 0 {
                    list.push_back(e);
                }
                for p in &o.gets {
                    list.push_back(&fetch(&mut keys, p, e).unwrap_or_default());
                }
            }
            let old = if outputlen > 0 {
                keys.set(
                    1,
                    Entry::new_list(dst, list, None),
                    SORTSTORE,
                    outputlen as u64,
                )
            } else {
                keys.delete(1, DEL, 1)
            };
            drop(keys);
            drop(old);
            out.int(outputlen as i64);
        }
    }
    Ok(())
}

pub const COMMANDS: &[Command] = &[
    Command::new("sort", -2, WRITE | DENYOOM | MOVABLEKEYS, (1, 1, 1), sort)
        .scope(Scope::Db)
        .doc(
            "generic",
            "Sort the elements in a list, set or sorted set",
            "1.0.0",
        )
        .complexity(
            "O(N+M*log(M)) where N is the number of elements in the list or set to sort, \
             and M the number of returned elements. When the elements are not sorted, \
             complexity is O(N).",
        )
        .acl(&["write", "set", "sortedset", "list", "slow", "dangerous"])
        .schema(command_args::SORT),
    Command::new("sort_ro", -2, READONLY | MOVABLEKEYS, (1, 1, 1), sort_ro)
        .scope(Scope::Db)
        .doc(
            "generic",
            "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
            "7.0.0",
        )
        .complexity(
            "O(N+M*log(M)) where N is the number of elements in the list or set to sort, \
             and M the number of returned elements. When the elements are not sorted, \
             complexity is O(N).",
        )
        .acl(&["read", "set", "sortedset", "list", "slow", "dangerous"])
        .schema(command_args::SORT_RO),
];
