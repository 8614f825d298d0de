//! `serde_json::Value` into `String` or `JSON` (as its JSON text).
//!
//! The text is written straight into the buffer: a first pass counts its bytes for the
//! length prefix, a second writes it, so no temporary string is allocated.

use std::io;

use batch_core::{Encode, EncodeError, Reason};
use serde_json::Value;

use super::{accept, leaf, put_len, unsupported, RowBinary};
use crate::types::ChType;

/// An `io::Write` that only counts bytes.
struct Count(usize);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Encode<RowBinary> for Value {
    fn encode(&self, column: &ChType, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        match leaf(column) {
            ChType::String | ChType::Json => {
                let fail = |e: serde_json::Error| EncodeError::Other(format!("JSON: {e}"));
                let mut count = Count(0);
                serde_json::to_writer(&mut count, self).map_err(fail)?;
                let start = buf.len();
                put_len(buf, count.0);
                if let Err(e) = serde_json::to_writer(&mut *buf, self) {
                    buf.truncate(start);
                    return Err(fail(e));
                }
                Ok(())
            }
            other => Err(unsupported::<Value>(other)),
        }
    }

    fn accepts(column: &ChType) -> Result<(), Reason> {
        accept(
            column,
            |t| matches!(t, ChType::String | ChType::Json),
            "String or JSON",
        )
    }
}
