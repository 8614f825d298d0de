//! `UUID`: ClickHouse stores it as two little-endian `UInt64` halves, high half first.

use batch_core::{Encode, EncodeError, Reason};

use super::{accept, leaf, unsupported, RowBinary};
use crate::types::ChType;

impl Encode<RowBinary> for uuid::Uuid {
    #[inline]
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::Uuid => {
                let (hi, lo) = self.as_u64_pair();
                buf.extend_from_slice(&hi.to_le_bytes());
                buf.extend_from_slice(&lo.to_le_bytes());
                Ok(())
            }
            other => Err(unsupported::<uuid::Uuid>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(column, |t| *t == ChType::Uuid, "UUID")
    }
}
