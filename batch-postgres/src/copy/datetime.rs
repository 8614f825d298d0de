//! Dates and timestamps from `chrono` and `time`.
//!
//! - `date` is an `i32`: days since 2000-01-01.
//! - `timestamp` and `timestamptz` are an `i64`: microseconds since 2000-01-01 00:00:00
//!   (UTC for `timestamptz`). Sub-microsecond precision is truncated toward the past.
//!
//! `NaiveDate` / `time::Date` go into `date`; `NaiveDateTime` / `PrimitiveDateTime` into
//! `timestamp`; `DateTime<Utc>` / `OffsetDateTime` into `timestamptz` (an
//! `OffsetDateTime` with another offset is converted to the same instant).
//!
//! PostgreSQL's range is 4713 BC to 5874897 AD for `date` and 4713 BC to 294276 AD for
//! timestamps; a value outside it is refused with [`EncodeError::OutOfRange`]. Neither
//! crate has an infinite date or timestamp, so `infinity` and `-infinity` are never
//! written: `NaiveDate::MIN` is simply out of range, and `NaiveDate::MAX` (year 262142)
//! is stored as that date.

#![cfg_attr(not(any(feature = "chrono", feature = "time")), allow(dead_code))]

use batch_core::{EncodeError, Reason};

use super::{accept_base, oid, put_fixed, PgType};

/// The rule of the date types: `date`.
pub(crate) fn accepts_date(column: &PgType) -> Result<(), Reason> {
    accept_base(column, &[oid::DATE], "date")
}

/// The rule of the local date-and-time types: `timestamp` (without time zone).
pub(crate) fn accepts_timestamp(column: &PgType) -> Result<(), Reason> {
    accept_base(column, &[oid::TIMESTAMP], "timestamp (without time zone)")
}

/// The rule of the instants: `timestamptz` (timestamp with time zone).
pub(crate) fn accepts_timestamptz(column: &PgType) -> Result<(), Reason> {
    accept_base(column, &[oid::TIMESTAMPTZ], "timestamptz (with time zone)")
}

/// Days from 4713-11-24 BC (Julian day 0) to 2000-01-01.
const PG_EPOCH_JDATE: i64 = 2_451_545;
/// The first valid date: Julian day 0, in days since 2000-01-01.
const DATE_MIN: i64 = -PG_EPOCH_JDATE;
/// One past the last valid date (5874898-01-01), in days since 2000-01-01.
const DATE_END: i64 = 2_147_483_494 - PG_EPOCH_JDATE;
/// The first valid timestamp (4713-11-24 00:00 BC), in µs since 2000-01-01.
const TIMESTAMP_MIN: i64 = -211_813_488_000_000_000;
/// One past the last valid timestamp (294277-01-01 00:00), in µs since 2000-01-01.
const TIMESTAMP_END: i64 = 9_223_371_331_200_000_000;
/// Microseconds from 1970-01-01 to 2000-01-01.
const UNIX_TO_PG_MICROS: i64 = 946_684_800_000_000;

/// Writes a date given in days since 2000-01-01 (to a column the caller checked).
#[inline]
fn put_date(days: i64, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    match i32::try_from(days) {
        Ok(d) if (DATE_MIN..DATE_END).contains(&days) => {
            put_fixed(buf, d.to_be_bytes());
            Ok(())
        }
        _ => Err(EncodeError::OutOfRange {
            what: "PostgreSQL date (4713 BC to 5874897 AD)",
            value: format!("{days} days from 2000-01-01"),
        }),
    }
}

/// Writes a timestamp given in µs since 1970-01-01 (as `i128`, so no value overflows),
/// to a column the caller checked.
#[inline]
fn put_timestamp(unix_micros: i128, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    let pg = unix_micros - i128::from(UNIX_TO_PG_MICROS);
    match i64::try_from(pg) {
        Ok(t) if (TIMESTAMP_MIN..TIMESTAMP_END).contains(&t) => {
            put_fixed(buf, t.to_be_bytes());
            Ok(())
        }
        _ => Err(EncodeError::OutOfRange {
            what: "PostgreSQL timestamp (4713 BC to 294276 AD)",
            value: format!("{pg} µs from 2000-01-01"),
        }),
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use batch_core::{Encode, EncodeError, Reason};
    use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

    use super::{accepts_date, accepts_timestamp, accepts_timestamptz, put_date, put_timestamp};
    use crate::copy::{expect, PgBinary, PgType};

    /// `NaiveDate::num_days_from_ce` of 2000-01-01.
    const CE_TO_PG_DAYS: i64 = 730_120;

    impl Encode<PgBinary> for NaiveDate {
        #[inline]
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let days = i64::from(self.num_days_from_ce()) - CE_TO_PG_DAYS;
            expect::<Self>(column)?;
            put_date(days, buf)
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accepts_date(column)
        }
    }

    impl Encode<PgBinary> for NaiveDateTime {
        #[inline]
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let micros = i128::from(self.and_utc().timestamp_micros());
            expect::<Self>(column)?;
            put_timestamp(micros, buf)
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accepts_timestamp(column)
        }
    }

    impl Encode<PgBinary> for DateTime<Utc> {
        #[inline]
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let micros = i128::from(self.timestamp_micros());
            expect::<Self>(column)?;
            put_timestamp(micros, buf)
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accepts_timestamptz(column)
        }
    }
}

#[cfg(feature = "time")]
mod time_impls {
    use batch_core::{Encode, EncodeError, Reason};
    use time::{Date, OffsetDateTime, PrimitiveDateTime};

    use super::{
        accepts_date, accepts_timestamp, accepts_timestamptz, put_date, put_timestamp,
        PG_EPOCH_JDATE,
    };
    use crate::copy::{expect, PgBinary, PgType};

    impl Encode<PgBinary> for Date {
        #[inline]
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let days = i64::from(self.to_julian_day()) - PG_EPOCH_JDATE;
            expect::<Self>(column)?;
            put_date(days, buf)
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accepts_date(column)
        }
    }

    impl Encode<PgBinary> for PrimitiveDateTime {
        #[inline]
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let micros = self.assume_utc().unix_timestamp_nanos().div_euclid(1000);
            expect::<Self>(column)?;
            put_timestamp(micros, buf)
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accepts_timestamp(column)
        }
    }

    impl Encode<PgBinary> for OffsetDateTime {
        #[inline]
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            let micros = self.unix_timestamp_nanos().div_euclid(1000);
            expect::<Self>(column)?;
            put_timestamp(micros, buf)
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accepts_timestamptz(column)
        }
    }
}
