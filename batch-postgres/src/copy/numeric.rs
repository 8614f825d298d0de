//! `rust_decimal::Decimal` into `numeric`.
//!
//! The binary format is: `i16` number of base-10000 digits, `i16` weight (the power of
//! 10000 of the first digit), `u16` sign (0x0000 positive, 0x4000 negative), `i16`
//! display scale, then the digits, most significant first, without leading or trailing
//! zero digits.
//!
//! For `numeric(p, s)` with `s >= 0` the value is rounded to `s` decimal places the way
//! PostgreSQL rounds (half away from zero), and a value that does not fit `p` digits is
//! refused with [`EncodeError::OutOfRange`](batch_core::EncodeError::OutOfRange) before
//! it reaches the server. PostgreSQL 15 also allows a negative scale (`numeric(5, -2)`
//! rounds to hundreds): such values are sent unrounded and the server rounds them and
//! checks the precision. `Decimal` has no NaN or infinity, so they are never written.

#[cfg(feature = "rust_decimal")]
mod decimal {
    use batch_core::{Encode, EncodeError, Reason};
    use rust_decimal::{Decimal, RoundingStrategy};

    use crate::copy::{accept_base, expect, oid, put_with_len, PgBinary, PgType};

    const NUMERIC_POS: u16 = 0x0000;
    const NUMERIC_NEG: u16 = 0x4000;

    /// Rounds to the column's scale and checks its precision, returning the value and
    /// the display scale to write.
    fn fit_typmod(value: Decimal, column: &PgType) -> Result<(Decimal, u32), EncodeError> {
        let Some((precision, scale)) = column.numeric_precision_scale() else {
            return Ok((value, value.scale()));
        };
        let Ok(scale) = u32::try_from(scale) else {
            return Ok((value, value.scale())); // negative scale: the server rounds
        };
        let rounded = if scale < value.scale() {
            value.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero)
        } else {
            value
        };
        // |rounded| < 10^(precision - scale)  <=>  mantissa < 10^(precision - scale + e)
        let exp = i64::from(precision) - i64::from(scale) + i64::from(rounded.scale());
        let mantissa = rounded.mantissa().unsigned_abs();
        let fits = match u32::try_from(exp) {
            Ok(exp) if exp >= 39 => true,
            Ok(exp) => mantissa < 10u128.pow(exp),
            Err(_) => mantissa == 0,
        };
        if fits {
            Ok((rounded, scale))
        } else {
            Err(EncodeError::OutOfRange {
                what: "the column's numeric(precision, scale)",
                value: value.to_string(),
            })
        }
    }

    impl Encode<PgBinary> for Decimal {
        fn encode(&self, column: &PgType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            expect::<Self>(column)?;
            let (value, dscale) = fit_typmod(*self, column)?;
            let out_of_range = || EncodeError::OutOfRange {
                what: "numeric display scale",
                value: dscale.to_string(),
            };
            let dscale = i16::try_from(dscale).map_err(|_| out_of_range())?;

            // Align the decimal point to a base-10000 digit: pad the scale to a multiple of 4.
            let mut scale = value.scale();
            let mut mantissa = value.mantissa().unsigned_abs(); // < 2^96
            let pad = (4 - scale % 4) % 4;
            mantissa *= 10u128.pow(pad); // < 2^106
            scale += pad;

            // Base-10000 digits, least significant first: at most 8 for a 2^106 mantissa.
            let mut groups = [0u16; 10];
            let mut n = 0usize;
            while mantissa > 0 {
                groups[n] = u16::try_from(mantissa % 10_000).unwrap_or_default();
                mantissa /= 10_000;
                n += 1;
            }
            let frac_groups = usize::try_from(scale / 4).unwrap_or_default();
            // The weight of the most significant digit; the sums are at most 10 + 8.
            let weight = i16::try_from(n).unwrap_or_default()
                - 1
                - i16::try_from(frac_groups).unwrap_or_default();
            // Trailing (least significant) zero digits are not written.
            let lo = groups[..n].iter().take_while(|g| **g == 0).count();
            let ndigits = i16::try_from(n - lo).unwrap_or_default();
            let (weight, sign) = if ndigits == 0 {
                (0, NUMERIC_POS)
            } else if value.is_sign_negative() {
                (weight, NUMERIC_NEG)
            } else {
                (weight, NUMERIC_POS)
            };
            put_with_len(buf, |buf| {
                buf.extend_from_slice(&ndigits.to_be_bytes());
                buf.extend_from_slice(&weight.to_be_bytes());
                buf.extend_from_slice(&sign.to_be_bytes());
                buf.extend_from_slice(&dscale.to_be_bytes());
                for g in groups[lo..n].iter().rev() {
                    buf.extend_from_slice(&g.to_be_bytes());
                }
                Ok(())
            })
        }

        fn accepts(column: &PgType) -> Result<(), Reason> {
            accept_base(column, &[oid::NUMERIC], "numeric")
        }
    }
}
