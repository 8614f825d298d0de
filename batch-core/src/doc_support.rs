//! A tiny format, row type and sink for the examples in the documentation. Not public
//! API: it may change in any release.

use crate::batch::Batch;
use crate::format::{EncodeError, Format};
use crate::row::{BatchRow, Column, EncodeRow, Schema};
use crate::sink::{Sink, SinkError};
use crate::value::ValueKind;

/// Little-endian integers and length-prefixed strings.
#[derive(Debug)]
pub struct DocFormat;

impl Format for DocFormat {
    type Column = ();
    const NAME: &'static str = "doc format";

    fn begin_row(_: u16, _: &mut Vec<u8>) {}

    fn encode_enum(
        _: &'static str,
        value: i16,
        _: &(),
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        buf.extend_from_slice(&value.to_le_bytes());
        Ok(())
    }
}

/// A row that borrows its name.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// An id.
    pub id: u64,
    /// A name.
    pub name: &'a str,
}

impl<'a> BatchRow for Event<'a> {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static [Column] = &[
        Column::new("id", "id", "u64", None, ValueKind::U64),
        Column::new("name", "name", "&'a str", None, ValueKind::String),
    ];
    type Static = Event<'static>;
}

impl<'a> EncodeRow<DocFormat> for Event<'a> {
    fn encode_row(&self, columns: &[()], buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        // Written by hand rather than through `Encode` impls, so that this hidden module
        // adds no `Encode` impl for std types (which would make users' `.encode()` calls
        // ambiguous).
        if columns.len() != 2 {
            return Err(EncodeError::ColumnCount {
                expected: 2,
                got: columns.len(),
            });
        }
        let len = u32::try_from(self.name.len()).map_err(|_| {
            EncodeError::Length {
                what: "a string",
                len: self.name.len(),
                max: u32::MAX as usize,
            }
            .in_column("name")
        })?;
        buf.extend_from_slice(&self.id.to_le_bytes());
        buf.extend_from_slice(&len.to_le_bytes());
        buf.extend_from_slice(self.name.as_bytes());
        Ok(())
    }
}

/// A sink that accepts every batch and discards it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl Sink for Discard {
    type Format = DocFormat;

    async fn prepare(&mut self, schema: Schema) -> Result<Vec<()>, SinkError> {
        Ok(vec![(); schema.columns.len()])
    }

    async fn send(&self, _batch: &Batch) -> Result<(), SinkError> {
        Ok(())
    }
}
