//! [`Interval`] into `interval`: the `i64` microseconds, the `i32` days and the `i32`
//! months, big-endian, as PostgreSQL stores them (16 bytes).
//!
//! PostgreSQL keeps the three parts apart (a month is not 30 days, a day is not 24 hours
//! across a daylight-saving change), so the Rust type does too. A column with a
//! modifier (`interval day to second(3)`) is rounded by the server as on `INSERT`.

use std::fmt;

use batch_core::{ColumnValue, Encode, EncodeError, Reason, ValueKind};

use super::{accept_base, expect, oid, put_fixed, PgBinary, PgType};

/// A PostgreSQL `interval`: months, days and microseconds, each with its own sign.
///
/// It displays in ISO 8601 the way PostgreSQL prints it with
/// `SET intervalstyle = iso_8601` (and reads it back): `P1Y2M3DT4H5M6.5S`.
///
/// # Examples
///
/// ```
/// use batch_core::Encode;
/// use batch_postgres::{oid, Interval, PgBinary, PgType};
///
/// let v = Interval::new(14, 3, 4 * 3_600_000_000 + 6_500_000);
/// assert_eq!(v.to_string(), "P1Y2M3DT4H6.5S");
///
/// let mut buf = Vec::new();
/// v.encode(&PgType::builtin(oid::INTERVAL, "interval"), &mut buf)?;
/// // length 16 | microseconds 14_406_500_000 | days 3 | months 14
/// assert_eq!(
///     buf,
///     [0, 0, 0, 16, 0, 0, 0, 0x03, 0x5a, 0xb1, 0xbe, 0xa0, 0, 0, 0, 3, 0, 0, 0, 14]
/// );
/// # Ok::<(), batch_core::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    /// Months (a year is 12).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Microseconds.
    pub microseconds: i64,
}

impl Interval {
    /// The interval of `months`, `days` and `microseconds`.
    #[must_use]
    pub const fn new(months: i32, days: i32, microseconds: i64) -> Self {
        Interval {
            months,
            days,
            microseconds,
        }
    }

    /// The 16 bytes of the binary format: microseconds, days, months.
    pub(crate) fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.microseconds.to_be_bytes());
        b[8..12].copy_from_slice(&self.days.to_be_bytes());
        b[12..].copy_from_slice(&self.months.to_be_bytes());
        b
    }

    /// The interval of the 16 bytes of the binary format.
    pub(crate) fn from_be_bytes(b: [u8; 16]) -> Self {
        let [m0, m1, m2, m3, m4, m5, m6, m7, d0, d1, d2, d3, n0, n1, n2, n3] = b;
        Interval {
            microseconds: i64::from_be_bytes([m0, m1, m2, m3, m4, m5, m6, m7]),
            days: i32::from_be_bytes([d0, d1, d2, d3]),
            months: i32::from_be_bytes([n0, n1, n2, n3]),
        }
    }
}

/// ISO 8601, as PostgreSQL's `intervalstyle = iso_8601` prints it: each part with its
/// own sign, zero parts left out, `PT0S` for zero.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HOUR: i64 = 3_600_000_000;
        const MINUTE: i64 = 60_000_000;
        const SECOND: i64 = 1_000_000;
        let (years, months) = (self.months / 12, self.months % 12);
        let t = self.microseconds;
        let (hours, minutes, micros) = (t / HOUR, t % HOUR / MINUTE, t % MINUTE);
        if self.months == 0 && self.days == 0 && t == 0 {
            return f.write_str("PT0S");
        }
        f.write_str("P")?;
        for (n, unit) in [
            (i64::from(years), 'Y'),
            (i64::from(months), 'M'),
            (i64::from(self.days), 'D'),
        ] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        if t == 0 {
            return Ok(());
        }
        f.write_str("T")?;
        for (n, unit) in [(hours, 'H'), (minutes, 'M')] {
            if n != 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        if micros != 0 {
            let sign = if micros < 0 { "-" } else { "" };
            let (s, frac) = (
                (micros / SECOND).unsigned_abs(),
                (micros % SECOND).unsigned_abs(),
            );
            write!(f, "{sign}{s}")?;
            if frac != 0 {
                let digits = format!("{frac:06}");
                write!(f, ".{}", digits.trim_end_matches('0'))?;
            }
            f.write_str("S")?;
        }
        Ok(())
    }
}

impl ColumnValue for Interval {
    const KIND: ValueKind = ValueKind::Other;
}

impl Encode<PgBinary> for Interval {
    #[inline]
    fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        expect::<Self>(column)?;
        put_fixed(buf, self.to_be_bytes());
        Ok(())
    }

    fn accepts(column: &PgType) -> Result<(), Reason> {
        accept_base(column, &[oid::INTERVAL], "interval")
    }
}
