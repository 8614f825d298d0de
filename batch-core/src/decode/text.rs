//! Dates, times, decimals and UUIDs as text.

use std::fmt::Write;

/// The civil date of `days` since 1970-01-01 (proleptic Gregorian, astronomical years),
/// after Howard Hinnant's `civil_from_days`.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    // `d` and `m` are in small ranges, so the conversions cannot fail.
    (
        y,
        u32::try_from(m).unwrap_or_default(),
        u32::try_from(d).unwrap_or_default(),
    )
}

fn push_date(days: i64, out: &mut String) {
    let (y, m, d) = civil(days);
    // `write!` to a `String` cannot fail.
    let _ = if (0..=9999).contains(&y) {
        write!(out, "{y:04}-{m:02}-{d:02}")
    } else {
        write!(out, "{y:+05}-{m:02}-{d:02}")
    };
}

pub(super) fn date(days: i64) -> String {
    let mut out = String::with_capacity(10);
    push_date(days, &mut out);
    out
}

pub(super) fn timestamp(secs: i64, nanos: u32, digits: u8, utc: bool) -> String {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let mut out = String::with_capacity(32);
    push_date(days, &mut out);
    let _ = write!(
        out,
        "T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    let digits = usize::from(digits.min(9));
    if digits > 0 {
        let frac = format!("{:09}", nanos.min(999_999_999));
        out.push('.');
        out.push_str(&frac[..digits]);
    }
    if utc {
        out.push('Z');
    }
    out
}

pub(super) fn decimal(negative: bool, digits: &str, scale: u32) -> String {
    let digits = digits.trim_start_matches('0');
    let scale = usize::try_from(scale).unwrap_or(usize::MAX);
    let mut out = String::with_capacity(digits.len() + 3);
    if negative && !digits.is_empty() {
        out.push('-');
    }
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        if scale > 0 {
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push('0');
        if scale > 0 {
            out.push('.');
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(digits);
        }
    }
    out
}

pub(super) fn uuid(b: [u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}
