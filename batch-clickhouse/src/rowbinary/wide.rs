//! `Int256` and `UInt256`: 256-bit integers, 32 little-endian bytes (two's complement
//! for `Int256`), into exactly their own column type.
//!
//! Rust has no 256-bit integer, so batchrow brings two small value types, [`Int256`] and
//! [`UInt256`]: built from their bytes or from a 128-bit integer, and printed in decimal.
//! They have no default column type (ClickHouse 18.16 has neither type): the table
//! declares it.

use std::fmt;

use batch_core::{ColumnValue, Encode, EncodeError, Reason, ValueKind};

use super::{accept, leaf, unsupported, RowBinary};
use crate::types::ChType;

/// A ClickHouse `Int256`: a signed 256-bit integer, held as its 32 little-endian
/// two's-complement bytes.
///
/// # Examples
///
/// ```
/// use batch_clickhouse::Int256;
///
/// let v = Int256::from(-2i128);
/// assert_eq!(v.to_le_bytes()[..2], [0xfe, 0xff]);
/// assert_eq!(v.to_string(), "-2");
/// assert_eq!(
///     Int256::MIN.to_string(),
///     "-57896044618658097711785492504343953926634992332820282019728792003956564819968"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Int256([u8; 32]);

/// A ClickHouse `UInt256`: an unsigned 256-bit integer, held as its 32 little-endian
/// bytes.
///
/// # Examples
///
/// ```
/// use batch_clickhouse::UInt256;
///
/// assert_eq!(UInt256::from(u128::MAX).to_string(), u128::MAX.to_string());
/// assert_eq!(
///     UInt256::MAX.to_string(),
///     "115792089237316195423570985008687907853269984665640564039457584007913129639935"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UInt256([u8; 32]);

impl Int256 {
    /// The smallest value, -2^255.
    pub const MIN: Int256 = {
        let mut b = [0u8; 32];
        b[31] = 0x80;
        Int256(b)
    };
    /// The largest value, 2^255 - 1.
    pub const MAX: Int256 = {
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        Int256(b)
    };

    /// The value of these 32 little-endian two's-complement bytes.
    #[must_use]
    pub const fn from_le_bytes(bytes: [u8; 32]) -> Self {
        Int256(bytes)
    }

    /// The 32 little-endian two's-complement bytes of the value.
    #[must_use]
    pub const fn to_le_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl UInt256 {
    /// The smallest value, 0.
    pub const MIN: UInt256 = UInt256([0; 32]);
    /// The largest value, 2^256 - 1.
    pub const MAX: UInt256 = UInt256([0xff; 32]);

    /// The value of these 32 little-endian bytes.
    #[must_use]
    pub const fn from_le_bytes(bytes: [u8; 32]) -> Self {
        UInt256(bytes)
    }

    /// The 32 little-endian bytes of the value.
    #[must_use]
    pub const fn to_le_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl From<i128> for Int256 {
    fn from(v: i128) -> Self {
        let mut b = if v < 0 { [0xff; 32] } else { [0; 32] };
        b[..16].copy_from_slice(&v.to_le_bytes());
        Int256(b)
    }
}

impl From<u128> for UInt256 {
    fn from(v: u128) -> Self {
        let mut b = [0; 32];
        b[..16].copy_from_slice(&v.to_le_bytes());
        UInt256(b)
    }
}

/// The sign and decimal digits of the 256-bit integer `bytes` (little-endian; two's
/// complement when `signed`).
pub(crate) fn digits(bytes: [u8; 32], signed: bool) -> (bool, String) {
    let mut limbs = [0u64; 4];
    for (l, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *l = u64::from_le_bytes(b);
    }
    let negative = signed && limbs[3] >> 63 == 1;
    if negative {
        // Two's complement: invert and add one.
        let mut carry = true;
        for l in &mut limbs {
            let (v, c) = (!*l).overflowing_add(u64::from(carry));
            *l = v;
            carry = c;
        }
    }
    let mut digits = Vec::new();
    while limbs.iter().any(|l| *l != 0) {
        // Divide by 10, most significant limb first.
        let mut rem: u128 = 0;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*l);
            *l = u64::try_from(cur / 10).unwrap_or(u64::MAX);
            rem = cur % 10;
        }
        digits.push(b'0' + u8::try_from(rem).unwrap_or(0));
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    (negative, String::from_utf8(digits).unwrap_or_default())
}

impl fmt::Display for UInt256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad_integral(true, "", &digits(self.0, false).1)
    }
}

impl fmt::Display for Int256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (negative, digits) = digits(self.0, true);
        f.pad_integral(!negative, "", &digits)
    }
}

macro_rules! wide {
    ($($ty:ident => $variant:ident),*) => {$(
        impl ColumnValue for $ty {
            const KIND: ValueKind = ValueKind::Other;
        }

        impl Encode<RowBinary> for $ty {
            #[inline]
            fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                match leaf(column) {
                    ChType::$variant => {
                        buf.extend_from_slice(&self.0);
                        Ok(())
                    }
                    other => Err(unsupported::<Self>(other)),
                }
            }

            fn accepts(column: &ChType) -> Result<(), Reason> {
                accept(column, |t| *t == ChType::$variant, stringify!($variant))
            }
        }
    )*};
}

wide! { Int256 => Int256, UInt256 => UInt256 }
