//! Strings and byte strings: `String`, `FixedString(N)`, enums by label, `JSON`.

use std::borrow::Cow;

use batch_core::{Encode, EncodeError, Reason};

use super::{accept, enums, leaf, put_bytes, put_fixed, unsupported, RowBinary};
use crate::types::ChType;

impl Encode<RowBinary> for str {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::String | ChType::Json => {
                put_bytes(buf, self.as_bytes());
                Ok(())
            }
            ChType::FixedString(n) => put_fixed(buf, self.as_bytes(), *n),
            c @ (ChType::Enum8(_) | ChType::Enum16(_)) => enums::encode_label(self, c, buf, "str"),
            other => Err(unsupported::<str>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(
            column,
            |t| {
                matches!(
                    t,
                    ChType::String
                        | ChType::FixedString(_)
                        | ChType::Enum8(_)
                        | ChType::Enum16(_)
                        | ChType::Json
                )
            },
            "String, FixedString(N), Enum8/Enum16 (by label) or JSON",
        )
    }
}

impl Encode<RowBinary> for String {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.as_str().encode(column, buf)
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        <str as Encode<RowBinary>>::accepts(column)
    }
}

impl Encode<RowBinary> for Cow<'_, str> {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).encode(column, buf)
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        <str as Encode<RowBinary>>::accepts(column)
    }
}

impl<const N: usize> Encode<RowBinary> for [u8; N] {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::FixedString(n) if *n == N => {
                buf.extend_from_slice(self);
                Ok(())
            }
            ChType::String => {
                put_bytes(buf, self);
                Ok(())
            }
            other => Err(unsupported::<[u8; N]>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(
            column,
            |t| matches!(t, ChType::FixedString(n) if *n == N) || *t == ChType::String,
            format!("FixedString({N}) or String"),
        )
    }
}
