//! `rust_decimal::Decimal` into `Decimal(P, S)`: the value rescaled to the column's
//! scale, as a little-endian integer of 4, 8, 16 or 32 bytes by precision.
//!
//! A value with more fractional digits than the column's scale is an error, not a
//! silent rounding: round it first (`Decimal::round_dp`). So is a value with more
//! digits than the column's precision. `Decimal256` (P > 38) is computed in 256 bits.

use batch_core::{Encode, EncodeError, Reason};
use rust_decimal::Decimal;

use super::{accept, leaf, unsupported, RowBinary};
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
        // Digits past the column's scale must be zeros.
        if s > scale {
            let f = 10i128.checked_pow(s - scale).ok_or_else(err)?;
            if m % f != 0 {
                return Err(err());
            }
            m /= f;
        }
        let up = scale.saturating_sub(s);
        if precision > 38 {
            let v = U256::from(m.unsigned_abs())
                .times_pow10(up)
                .filter(|v| *v < U256::pow10(precision))
                .ok_or_else(err)?;
            buf.extend_from_slice(&v.to_le_bytes(m < 0));
            return Ok(());
        }
        if m != 0 {
            let f = 10i128.checked_pow(up).ok_or_else(err)?;
            m = m.checked_mul(f).ok_or_else(err)?;
        }
        if m.unsigned_abs() >= 10u128.pow(precision) {
            return Err(err());
        }
        if precision <= 9 {
            let v = i32::try_from(m).map_err(|_| err())?;
            buf.extend_from_slice(&v.to_le_bytes());
        } else if precision <= 18 {
            let v = i64::try_from(m).map_err(|_| err())?;
            buf.extend_from_slice(&v.to_le_bytes());
        } else {
            buf.extend_from_slice(&m.to_le_bytes());
        }
        Ok(())
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(
            column,
            |t| matches!(t, ChType::Decimal { .. }),
            "Decimal(P, S)",
        )
    }
}

/// An unsigned 256-bit magnitude for `Decimal256`, in little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U256([u64; 4]);

impl From<u128> for U256 {
    fn from(v: u128) -> Self {
        let b = v.to_le_bytes();
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&b[..8]);
        hi.copy_from_slice(&b[8..]);
        U256([u64::from_le_bytes(lo), u64::from_le_bytes(hi), 0, 0])
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl U256 {
    /// `self * 10`, or `None` on overflow.
    fn times10(self) -> Option<Self> {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (o, limb) in out.iter_mut().zip(self.0) {
            let v = u128::from(limb) * 10 + carry;
            let [l0, l1, l2, l3, l4, l5, l6, l7, h @ ..] = v.to_le_bytes();
            *o = u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]);
            carry = u128::from(u64::from_le_bytes(h));
        }
        (carry == 0).then_some(U256(out))
    }

    /// `self * 10^k`, or `None` on overflow.
    fn times_pow10(self, k: u32) -> Option<Self> {
        (0..k).try_fold(self, |v, _| v.times10())
    }

    /// `10^k` (k up to 76).
    fn pow10(k: u32) -> Self {
        U256([1, 0, 0, 0])
            .times_pow10(k)
            .unwrap_or(U256([u64::MAX; 4]))
    }

    /// The two's-complement little-endian bytes of `self` or of `-self`.
    fn to_le_bytes(self, negative: bool) -> [u8; 32] {
        let mut limbs = self.0;
        if negative {
            let mut carry = true;
            for l in &mut limbs {
                let (v, c) = (!*l).overflowing_add(u64::from(carry));
                *l = v;
                carry = c;
            }
        }
        let mut out = [0u8; 32];
        for (chunk, l) in out.chunks_exact_mut(8).zip(limbs) {
            chunk.copy_from_slice(&l.to_le_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::U256;

    #[test]
    fn u256_arithmetic() {
        let ten38 = U256::pow10(38);
        assert_eq!(U256::from(10u128.pow(38)), ten38);
        assert!(U256::pow10(76) > U256::pow10(75));
        assert!(U256::pow10(77).times10().is_none());
        assert!(U256::from(u128::MAX).times_pow10(39).is_none());
        // -1 -> all ones
        assert_eq!(U256::from(1u128).to_le_bytes(true), [0xff; 32]);
        // -(2^64) -> 00 x8, ff x24
        let mut want = [0xff; 32];
        want[..8].fill(0);
        assert_eq!(U256::from(1u128 << 64).to_le_bytes(true), want);
    }
}
