//! Dates and times: `Date` (UInt16 days), `Date32` (Int32 days), `DateTime` (UInt32
//! seconds) and `DateTime64(p)` (Int64 ticks of 10^-p s), all counted from
//! 1970-01-01 00:00:00 UTC.
//!
//! A time with more sub-second digits than the column keeps is truncated toward the
//! past (as ClickHouse does when it parses such a value); a time outside the column's
//! range is an error.

use batch_core::{Encode, EncodeError, Reason};

use super::{accept, leaf, RowBinary};
use crate::types::ChType;

/// The days from 1970-01-01 to 1900-01-01, the first `Date32`.
pub(crate) const DATE32_MIN_DAYS: i64 = -25_567;
/// The days from 1970-01-01 to 2299-12-31, the last `Date32`.
pub(crate) const DATE32_MAX_DAYS: i64 = 120_529;
/// 1900-01-01 00:00:00 UTC, the first `DateTime64` second.
pub(crate) const DATETIME64_MIN_SECS: i64 = DATE32_MIN_DAYS * 86_400;
/// 2299-12-31 23:59:59 UTC, the last `DateTime64` second.
pub(crate) const DATETIME64_MAX_SECS: i64 = (DATE32_MAX_DAYS + 1) * 86_400 - 1;

/// Why a date or time could not be written; the caller adds the value.
pub(crate) enum TimeError {
    /// Out of the column's range (the column type's name).
    Range(&'static str),
    /// The column is not a date or time column.
    Unsupported,
}

impl TimeError {
    /// The [`EncodeError`] for `value` of Rust type `T` in `column`.
    #[cold]
    #[inline(never)]
    pub(crate) fn into_encode<T: ?Sized>(
        self,
        value: &dyn std::fmt::Display,
        column: &ChType,
    ) -> EncodeError {
        match self {
            TimeError::Range(what) => EncodeError::OutOfRange {
                what,
                value: value.to_string(),
            },
            TimeError::Unsupported => super::unsupported::<T>(column),
        }
    }
}

/// The rule of the date types: `Date` and `Date32`.
pub(crate) fn accepts_date(column: &ChType) -> Result<(), Reason> {
    accept(
        column,
        |t| matches!(t, ChType::Date | ChType::Date32),
        "Date or Date32",
    )
}

/// The rule of the date-and-time types: `DateTime` and `DateTime64(p)`, any zone.
pub(crate) fn accepts_instant(column: &ChType) -> Result<(), Reason> {
    accept(
        column,
        |t| matches!(t, ChType::DateTime(_) | ChType::DateTime64(..)),
        "DateTime or DateTime64(p)",
    )
}

/// Writes a date given as days since 1970-01-01.
#[inline]
pub(crate) fn put_days(days: i64, column: &ChType, buf: &mut Vec<u8>) -> Result<(), TimeError> {
    match leaf(column) {
        ChType::Date => {
            let d = u16::try_from(days).map_err(|_| TimeError::Range("Date"))?;
            buf.extend_from_slice(&d.to_le_bytes());
            Ok(())
        }
        ChType::Date32 => {
            if !(DATE32_MIN_DAYS..=DATE32_MAX_DAYS).contains(&days) {
                return Err(TimeError::Range("Date32"));
            }
            let d = i32::try_from(days).map_err(|_| TimeError::Range("Date32"))?;
            buf.extend_from_slice(&d.to_le_bytes());
            Ok(())
        }
        _ => Err(TimeError::Unsupported),
    }
}

const POW10: [i64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Writes an instant given as whole seconds since the epoch (floored) and the
/// nanoseconds past that second (0 to 999,999,999).
#[inline]
pub(crate) fn put_instant(
    secs: i64,
    nanos: u32,
    column: &ChType,
    buf: &mut Vec<u8>,
) -> Result<(), TimeError> {
    match leaf(column) {
        ChType::DateTime(_) => {
            let s = u32::try_from(secs).map_err(|_| TimeError::Range("DateTime"))?;
            buf.extend_from_slice(&s.to_le_bytes());
            Ok(())
        }
        ChType::DateTime64(p, _) => {
            let range = || TimeError::Range("DateTime64");
            if !(DATETIME64_MIN_SECS..=DATETIME64_MAX_SECS).contains(&secs) {
                return Err(range());
            }
            let p = usize::from((*p).min(9));
            let frac = i64::from(nanos.min(999_999_999)) / POW10[9 - p];
            let ticks = secs
                .checked_mul(POW10[p])
                .and_then(|t| t.checked_add(frac))
                .ok_or_else(range)?;
            buf.extend_from_slice(&ticks.to_le_bytes());
            Ok(())
        }
        _ => Err(TimeError::Unsupported),
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::*;
    use chrono::{Datelike, NaiveDate, NaiveDateTime, Utc};

    /// `NaiveDate::num_days_from_ce` of 1970-01-01.
    const EPOCH_DAYS_FROM_CE: i64 = 719_163;

    impl Encode<RowBinary> for NaiveDate {
        #[inline]
        fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let days = i64::from(self.num_days_from_ce()) - EPOCH_DAYS_FROM_CE;
            put_days(days, column, buf).map_err(|e| e.into_encode::<Self>(self, column))
        }

        fn accepts(column: &ChType) -> Result<(), Reason> {
            accepts_date(column)
        }
    }

    impl Encode<RowBinary> for chrono::DateTime<Utc> {
        #[inline]
        fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            put_instant(self.timestamp(), self.timestamp_subsec_nanos(), column, buf)
                .map_err(|e| e.into_encode::<Self>(self, column))
        }

        fn accepts(column: &ChType) -> Result<(), Reason> {
            accepts_instant(column)
        }
    }

    impl Encode<RowBinary> for NaiveDateTime {
        #[inline]
        fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let t = self.and_utc();
            put_instant(t.timestamp(), t.timestamp_subsec_nanos(), column, buf)
                .map_err(|e| e.into_encode::<Self>(self, column))
        }

        fn accepts(column: &ChType) -> Result<(), Reason> {
            accepts_instant(column)
        }
    }
}

#[cfg(feature = "time")]
mod time_impls {
    use super::*;
    use time::{Date, OffsetDateTime, PrimitiveDateTime};

    /// The Julian day number of 1970-01-01.
    const EPOCH_JULIAN_DAY: i64 = 2_440_588;

    impl Encode<RowBinary> for Date {
        #[inline]
        fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let days = i64::from(self.to_julian_day()) - EPOCH_JULIAN_DAY;
            put_days(days, column, buf).map_err(|e| e.into_encode::<Self>(self, column))
        }

        fn accepts(column: &ChType) -> Result<(), Reason> {
            accepts_date(column)
        }
    }

    impl Encode<RowBinary> for OffsetDateTime {
        #[inline]
        fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            put_instant(self.unix_timestamp(), self.nanosecond(), column, buf)
                .map_err(|e| e.into_encode::<Self>(self, column))
        }

        fn accepts(column: &ChType) -> Result<(), Reason> {
            accepts_instant(column)
        }
    }

    impl Encode<RowBinary> for PrimitiveDateTime {
        #[inline]
        fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let t = self.assume_utc();
            put_instant(t.unix_timestamp(), t.nanosecond(), column, buf)
                .map_err(|e| e.into_encode::<Self>(self, column))
        }

        fn accepts(column: &ChType) -> Result<(), Reason> {
            accepts_instant(column)
        }
    }
}
