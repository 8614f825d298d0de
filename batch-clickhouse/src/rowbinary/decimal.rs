//! `rust_decimal::Decimal` into `Decimal(P, S)`: the value rescaled to the column's
//! scale, as a little-endian integer of 4, 8, 16 or 32 bytes by precision.
//!
//! A value with more fractional digits than the column's scale is an error, not a
//! silent rounding: round it first (`Decimal::round_dp`). So is a value with more
//! digits than the column's precision. For `Decimal256` (P > 38), values are limited to
//! what an `i128` holds after rescaling.

use batch_core::{Encode, EncodeError};
use rust_decimal::Decimal;

use super::{leaf, unsupported, RowBinary};
use crate::types::ChType;

#[cold]
fn out_of_range(value: &Decimal, column: &ChType) -> EncodeError {
    EncodeError::OutOfRange {
        what: "Decimal(P, S)",
        value: format!("{value} (column type {column})"),
    }
}

impl Encode<RowBinary> for Decimal {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let ChType::Decimal { precision, scale } = leaf(column) else {
            return Err(unsupported::<Decimal>(column));
        };
        let (precision, scale) = (u32::from(*precision), u32::from(*scale));
        let err = || out_of_range(self, column);
        let (mut m, s) = (self.mantissa(), self.scale());
        if scale >= s {
            if m != 0 {
                let f = 10i128.checked_pow(scale - s).ok_or_else(err)?;
                m = m.checked_mul(f).ok_or_else(err)?;
            }
        } else {
            let f = 10i128.checked_pow(s - scale).ok_or_else(err)?;
            if m % f != 0 {
                return Err(err());
            }
            m /= f;
        }
        if precision <= 38 && m.unsigned_abs() >= 10u128.pow(precision) {
            return Err(err());
        }
        if precision <= 9 {
            let v = i32::try_from(m).map_err(|_| err())?;
            buf.extend_from_slice(&v.to_le_bytes());
        } else if precision <= 18 {
            let v = i64::try_from(m).map_err(|_| err())?;
            buf.extend_from_slice(&v.to_le_bytes());
        } else if precision <= 38 {
            buf.extend_from_slice(&m.to_le_bytes());
        } else {
            // Decimal256: the i128, sign-extended to 32 bytes.
            buf.extend_from_slice(&m.to_le_bytes());
            buf.extend_from_slice(&[if m < 0 { 0xff } else { 0 }; 16]);
        }
        Ok(())
    }
}
