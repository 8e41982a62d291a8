//! Number parsing and formatting with Redis's exact rules.
//!
//! Redis is strict: `INCRBY k " 1"`, `"+1"`, `"01"` and `"1.0"` are all
//! `ERR value is not an integer or out of range`. These helpers reproduce
//! `string2ll`, `string2ld` and the human-readable long double formatting.

use crate::error::CmdError;

/// Parses a signed 64-bit integer as Redis's `string2ll` does: optional `-`, no `+`,
/// no leading zeros (except `0` itself), no whitespace, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// [`parse_i64`] with Redis's error.
pub fn int_arg(s: &[u8]) -> Result<i64, CmdError> {
    parse_i64(s).ok_or(CmdError::NotInteger)
}

/// A non-negative integer argument that fits `usize`.
pub fn usize_arg(s: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(s) {
        Some(v) if v >= 0 => Ok(v as usize),
        _ => Err(CmdError::NotInteger),
    }
}

/// Parses a float as Redis's `string2ld`/`strtold` with its extra checks: no leading
/// whitespace, the whole string consumed, not NaN. `inf`/`-inf` are accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5120 || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts a few spellings strtold does not ("nan", "infinity" handled
            // above); reject anything with characters a C float cannot contain.
            if !text
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.' | b'e' | b'E'))
            {
                return None;
            }
            text.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// [`parse_f64`] with Redis's error.
pub fn float_arg(s: &[u8]) -> Result<f64, CmdError> {
    parse_f64(s).ok_or(CmdError::NotFloat)
}

/// Formats a float the way INCRBYFLOAT and HINCRBYFLOAT store it: plain decimal, no
/// exponent, no trailing zeros (Redis's `LD_STR_HUMAN`). Uses the shortest decimal
/// that round-trips, which matches Redis's output for the values people add.
pub fn format_human_f64(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v}");
    // Rust prints integral floats without a fraction already ("10"), and never uses
    // an exponent with `{}`.
    s
}

/// C's `strtod` on `s`: the value, how many bytes it consumed (0 when none form a
/// number), and whether it was out of range (`ERANGE`: overflow to ±inf, or
/// underflow to 0). Leading whitespace is skipped; `inf`, `infinity`, `nan` (any
/// case), decimal and hexadecimal (`0x1p3`) forms are read, as glibc does.
pub fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut i = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let rest = &s[i..];
    let lower = |n: usize| rest.get(..n).map(<[u8]>::to_ascii_lowercase);
    if lower(8).as_deref() == Some(b"infinity") {
        return (sign * f64::INFINITY, i + 8, false);
    }
    if lower(3).as_deref() == Some(b"inf") {
        return (sign * f64::INFINITY, i + 3, false);
    }
    if lower(3).as_deref() == Some(b"nan") {
        return (f64::NAN, i + 3, false);
    }
    if lower(2).as_deref() == Some(b"0x") {
        let mut j = 2;
        let mut mant = 0f64;
        let mut exp: i64 = 0;
        let mut digits = 0;
        while let Some(d) = rest.get(j).and_then(|c| (*c as char).to_digit(16)) {
            mant = mant * 16.0 + f64::from(d);
            digits += 1;
            j += 1;
        }
        if rest.get(j) == Some(&b'.') {
            j += 1;
            while let Some(d) = rest.get(j).and_then(|c| (*c as char).to_digit(16)) {
                mant = mant * 16.0 + f64::from(d);
                exp -= 4;
                digits += 1;
                j += 1;
            }
        }
        if digits == 0 {
            // Only the "0" before the x is a number.
            return (sign * 0.0, i + 1, false);
        }
        if let Some(b'p' | b'P') = rest.get(j) {
            let (e, n) = exponent(&rest[j + 1..]);
            if n > 0 {
                exp = exp.saturating_add(e);
                j += 1 + n;
            }
        }
        let v = sign * mant * 2f64.powi(exp.clamp(-2000, 2000) as i32);
        let erange = v.is_infinite() || (v == 0.0 && mant != 0.0);
        return (v, i + j, erange);
    }
    // Decimal: digits [. digits] [e [sign] digits], at least one digit.
    let mut j = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut digits = j;
    if rest.get(j) == Some(&b'.') {
        let frac = rest[j + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        digits += frac;
        if digits > 0 {
            j += 1 + frac;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    let mant_end = j;
    if let Some(b'e' | b'E') = rest.get(j) {
        let (_, n) = exponent(&rest[j + 1..]);
        if n > 0 {
            j += 1 + n;
        }
    }
    let text = std::str::from_utf8(&rest[..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    let nonzero = rest[..mant_end].iter().any(|c| (b'1'..=b'9').contains(c));
    let erange = v.is_infinite() || (v == 0.0 && nonzero);
    (sign * v, i + j, erange)
}

/// An exponent's `[sign] digits`: its value (saturated) and length (0: none).
fn exponent(s: &[u8]) -> (i64, usize) {
    let (neg, k) = match s.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let n = s[k..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return (0, 0);
    }
    let v = s[k..k + n].iter().fold(0i64, |a, &c| {
        a.saturating_mul(10).saturating_add(i64::from(c - b'0'))
    });
    (if neg { -v } else { v }, k + n)
}

/// A score as Redis's `getDoubleFromObject` reads it (ZADD, ZINCRBY, weights):
/// `strtod` over the whole argument, no leading space, not out of range, not NaN.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if s.first().is_none_or(u8::is_ascii_whitespace) {
        return None;
    }
    let (v, n, erange) = strtod(s);
    (n == s.len() && !erange && !v.is_nan()).then_some(v)
}

/// A score range bound's number as Redis's `zslParseRange` reads it: `strtod` over
/// the whole text (leading space and out-of-range values allowed, the empty text is
/// 0), not NaN.
pub fn parse_range_score(s: &[u8]) -> Option<f64> {
    let (v, n, _) = strtod(s);
    (n == s.len() && !v.is_nan()).then_some(v)
}

/// Parses a SCAN/HSCAN cursor as Redis does with `strtoul`: an optional sign, decimal
/// digits, nothing else; `-n` wraps around (`-1` is 2^64-1) and the empty string is 0.
/// Leading whitespace and values past 64 bits are rejected.
pub fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        // strtoul consumed nothing: valid only if there was nothing to consume.
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// An `i64` formatted into a stack buffer.
pub fn fmt_i64(v: i64) -> itoa::Buffer {
    let mut b = itoa::Buffer::new();
    b.format(v);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"01"), Some(1));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b"-18446744073709551616",
            b" 1",
            b"1 ",
            b"abc",
            b"-",
            b"+",
            b"1x",
        ] {
            assert_eq!(parse_cursor(bad), None, "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-"), None);
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"1.0",
            b"abc",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"-",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-2e3"), Some(-2000.0));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"10"), Some(10.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1x"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(format_human_f64(10.5 + 0.1), "10.6");
        assert_eq!(format_human_f64(3.0), "3");
        assert_eq!(format_human_f64(5.0e3), "5000");
        assert_eq!(format_human_f64(-0.25), "-0.25");
    }

    #[test]
    fn strtod_reads_what_glibc_reads() {
        assert_eq!(strtod(b"1.5"), (1.5, 3, false));
        assert_eq!(strtod(b"  -2e3x"), (-2000.0, 6, false));
        assert_eq!(strtod(b"0x10"), (16.0, 4, false));
        assert_eq!(strtod(b"0x1.8p1"), (3.0, 7, false));
        assert_eq!(strtod(b"0x"), (0.0, 1, false));
        assert_eq!(strtod(b".5"), (0.5, 2, false));
        assert_eq!(strtod(b"5."), (5.0, 2, false));
        assert_eq!(strtod(b"1e"), (1.0, 1, false));
        assert_eq!(strtod(b""), (0.0, 0, false));
        assert_eq!(strtod(b"-"), (0.0, 0, false));
        assert_eq!(strtod(b"Infinity"), (f64::INFINITY, 8, false));
        assert_eq!(strtod(b"-inf"), (f64::NEG_INFINITY, 4, false));
        assert!(strtod(b"nan").0.is_nan());
        assert_eq!(strtod(b"1e400"), (f64::INFINITY, 5, true));
        assert_eq!(strtod(b"1e-400"), (0.0, 6, true));
        assert_eq!(strtod(b"0e-400"), (0.0, 6, false));
    }

    #[test]
    fn scores_and_range_bounds() {
        assert_eq!(parse_score(b"+1"), Some(1.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-0").map(f64::is_sign_negative), Some(true));
        for bad in [&b" 1"[..], b"1 ", b"", b"nan", b"1e400", b"1e-400", b"abc"] {
            assert_eq!(parse_score(bad), None, "{bad:?}");
        }
        assert_eq!(parse_range_score(b""), Some(0.0));
        assert_eq!(parse_range_score(b" 1"), Some(1.0));
        assert_eq!(parse_range_score(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_range_score(b"1 "), None);
        assert_eq!(parse_range_score(b"nan"), None);
    }
}
