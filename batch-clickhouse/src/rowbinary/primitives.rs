//! Integers, floats and `bool`: little-endian, into exactly their own column type.

use batch_core::{Encode, EncodeError, Reason};

use super::{accept, leaf, unsupported, RowBinary};
use crate::types::ChType;

macro_rules! numbers {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl Encode<RowBinary> for $ty {
            #[inline]
            fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
                match leaf(column) {
                    ChType::$variant => {
                        buf.extend_from_slice(&self.to_le_bytes());
                        Ok(())
                    }
                    other => Err(unsupported::<$ty>(other)),
                }
            }

            fn accepts(column: &ChType) -> Result<(), Reason> {
                accept(column, |t| matches!(t, ChType::$variant), stringify!($variant))
            }
        }
    )*};
}

numbers! {
    i8 => Int8,
    i16 => Int16,
    i32 => Int32,
    i64 => Int64,
    i128 => Int128,
    u8 => UInt8,
    u16 => UInt16,
    u32 => UInt32,
    u64 => UInt64,
    u128 => UInt128,
    f32 => Float32,
    f64 => Float64,
}

impl Encode<RowBinary> for bool {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::Bool | ChType::UInt8 => {
                buf.push(u8::from(*self));
                Ok(())
            }
            other => Err(unsupported::<bool>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(
            column,
            |t| matches!(t, ChType::Bool | ChType::UInt8),
            "Bool or UInt8",
        )
    }
}
