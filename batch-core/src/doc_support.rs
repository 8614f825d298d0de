//! A tiny format, row type and sink for the examples in the documentation. Not public
//! API: it may change in any release.

use crate::batch::Batch;
use crate::decode::{DecodeError, Value};
use crate::format::{EncodeError, Format};
use crate::row::{BatchRow, Column, EncodeRow, Schema};
use crate::sink::{Sender, Sink, SinkError};
use crate::value::ValueKind;

/// What the doc sinks resolve for a column: how its values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocColumn {
    /// A `u64`.
    U64,
    /// A string.
    Str,
}

fn resolve(schema: Schema) -> Vec<DocColumn> {
    schema
        .columns
        .iter()
        .map(|c| match c.kind {
            ValueKind::U64 => DocColumn::U64,
            _ => DocColumn::Str,
        })
        .collect()
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < n {
        return Err(DecodeError::truncated("a doc value", n - input.len()));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// Little-endian integers and length-prefixed strings.
#[derive(Debug)]
pub struct DocFormat;

impl Format for DocFormat {
    type Column = DocColumn;
    const NAME: &'static str = "doc format";

    fn begin_row(_: u16, _: &mut Vec<u8>) {}

    fn decode_value(column: &DocColumn, input: &mut &[u8]) -> Result<Value, DecodeError> {
        let mut word = [0u8; 8];
        match column {
            DocColumn::U64 => {
                word.copy_from_slice(take(input, 8)?);
                Ok(Value::UInt(u128::from(u64::from_le_bytes(word))))
            }
            DocColumn::Str => {
                let mut len = [0u8; 4];
                len.copy_from_slice(take(input, 4)?);
                let len = u32::from_le_bytes(len) as usize;
                Ok(Value::text_or_bytes(take(input, len)?.to_vec()))
            }
        }
    }

    fn encode_enum(
        _: &'static str,
        value: i16,
        _: &DocColumn,
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
    fn encode_row(&self, columns: &[DocColumn], buf: &mut Vec<u8>) -> Result<(), EncodeError> {
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

/// A doc sink once prepared: the sink and the columns it resolved.
#[derive(Debug, Clone)]
pub struct Resolved<T> {
    sink: T,
    columns: Vec<DocColumn>,
}

impl<T> Resolved<T> {
    fn new(sink: T, schema: Schema) -> Self {
        Resolved {
            sink,
            columns: resolve(schema),
        }
    }
}

/// A sink that accepts every batch and discards it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

impl Sink for Discard {
    type Format = DocFormat;
    type Sender = Resolved<Discard>;

    async fn prepare(self, schema: Schema) -> Result<Resolved<Discard>, SinkError> {
        Ok(Resolved::new(self, schema))
    }
}

impl Sender for Resolved<Discard> {
    type Format = DocFormat;

    fn columns(&self) -> &[DocColumn] {
        &self.columns
    }

    async fn send(&self, _batch: &Batch) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that refuses every batch with a permanent error (code `"REFUSED"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Refuse;

impl Sink for Refuse {
    type Format = DocFormat;
    type Sender = Resolved<Refuse>;

    async fn prepare(self, schema: Schema) -> Result<Resolved<Refuse>, SinkError> {
        Ok(Resolved::new(self, schema))
    }
}

impl Sender for Resolved<Refuse> {
    type Format = DocFormat;

    fn columns(&self) -> &[DocColumn] {
        &self.columns
    }

    async fn send(&self, _batch: &Batch) -> Result<(), SinkError> {
        Err(SinkError::permanent("refused by the doc sink").with_code("REFUSED"))
    }
}

/// A sink that keeps every batch it accepts, for examples that read them back.
#[derive(Debug, Clone, Default)]
pub struct Keep(pub std::sync::Arc<std::sync::Mutex<Vec<Batch>>>);

impl Sink for Keep {
    type Format = DocFormat;
    type Sender = Resolved<Keep>;

    async fn prepare(self, schema: Schema) -> Result<Resolved<Keep>, SinkError> {
        Ok(Resolved::new(self, schema))
    }
}

impl Sender for Resolved<Keep> {
    type Format = DocFormat;

    fn columns(&self) -> &[DocColumn] {
        &self.columns
    }

    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        self.sink
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(batch.clone());
        Ok(())
    }
}
