//! Reading whole rows back: [`decode_row`], [`DecodedRow`], and the batcher's
//! [`RowDecoder`].

use std::fmt;
use std::sync::Arc;

use crate::batch::Batch;
use crate::format::Format;
use crate::row::{Column, Schema};

use super::{json, DecodeError, Value};

/// Decodes one encoded row of format `F` for `columns`, naming the column of an error.
///
/// # Errors
///
/// The first value that cannot be decoded, or bytes left after the last column.
pub fn decode_row<F: Format>(
    columns: &[F::Column],
    names: &'static [Column],
    row: &[u8],
) -> Result<Vec<Value>, DecodeError> {
    let mut input = row;
    F::decode_row_start(columns.len(), &mut input)?;
    let mut values = Vec::with_capacity(columns.len());
    for (i, column) in columns.iter().enumerate() {
        let value = F::decode_value(column, &mut input).map_err(|e| match names.get(i) {
            Some(c) => DecodeError::Column {
                column: c.name,
                source: Box::new(e),
            },
            None => e,
        })?;
        values.push(value);
    }
    if !input.is_empty() {
        return Err(DecodeError::TrailingBytes { len: input.len() });
    }
    Ok(values)
}

/// A row read back into values, with its column names.
///
/// # Examples
///
/// ```
/// # use batch_core::doc_support::{DocColumn, DocFormat, Event};
/// use batch_core::{decode_row, BatchRow, DecodedRow, EncodeRow, Value};
///
/// let columns = [DocColumn::U64, DocColumn::Str];
/// let mut row = Vec::new();
/// Event { id: 7, name: "seven" }.encode_row(&columns, &mut row)?;
/// let values = decode_row::<DocFormat>(&columns, Event::COLUMNS, &row)?;
/// let decoded = DecodedRow::new(Event::COLUMNS, values);
/// assert_eq!(decoded.get("name"), Some(&Value::String("seven".into())));
/// assert_eq!(decoded.to_json(), r#"{"id":7,"name":"seven"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedRow {
    columns: &'static [Column],
    values: Vec<Value>,
}

impl DecodedRow {
    /// A row of `values` for `columns` (the row type's columns, in encoding order).
    #[must_use]
    pub fn new(columns: &'static [Column], values: Vec<Value>) -> Self {
        DecodedRow { columns, values }
    }

    /// The values, in column order.
    #[must_use]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The values, in column order.
    #[must_use]
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The value of the column named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| self.values.get(i))
    }

    /// The column names and values, in column order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'static str, &Value)> + '_ {
        self.columns.iter().map(|c| c.name).zip(self.values.iter())
    }

    /// The row as a JSON object of column name to value, in column order.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the row as a JSON object to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(name, out);
            out.push(':');
            value.write_json(out);
        }
        out.push('}');
    }
}

/// What decodes a batcher's rows: the columns its sink resolved, the row type's schema,
/// and the format's decoder. Cloning is one reference count.
#[derive(Clone)]
pub(crate) struct RowDecoder(Arc<dyn DecodeRows>);

trait DecodeRows: Send + Sync {
    fn decode(&self, row: &[u8]) -> Result<Vec<Value>, DecodeError>;
    fn schema(&self) -> Schema;
    fn format(&self) -> &'static str;
    fn column_types(&self) -> Vec<String>;
}

struct Typed<F: Format> {
    columns: Arc<[F::Column]>,
    schema: Schema,
}

impl<F: Format> DecodeRows for Typed<F> {
    fn decode(&self, row: &[u8]) -> Result<Vec<Value>, DecodeError> {
        decode_row::<F>(&self.columns, self.schema.columns, row)
    }

    fn schema(&self) -> Schema {
        self.schema
    }

    fn format(&self) -> &'static str {
        F::NAME
    }

    fn column_types(&self) -> Vec<String> {
        self.columns.iter().map(|c| format!("{c:?}")).collect()
    }
}

impl RowDecoder {
    pub(crate) fn new<F: Format>(columns: Arc<[F::Column]>, schema: Schema) -> Self {
        RowDecoder(Arc::new(Typed::<F> { columns, schema }))
    }

    pub(crate) fn decode(&self, row: &[u8]) -> Result<DecodedRow, DecodeError> {
        let values = self.0.decode(row)?;
        Ok(DecodedRow::new(self.0.schema().columns, values))
    }

    pub(crate) fn schema(&self) -> Schema {
        self.0.schema()
    }

    pub(crate) fn format(&self) -> &'static str {
        self.0.format()
    }

    /// Each resolved column as its `Debug` text: two files of encoded rows with the same
    /// texts were encoded the same way.
    pub(crate) fn column_types(&self) -> Vec<String> {
        self.0.column_types()
    }
}

impl fmt::Debug for RowDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowDecoder")
            .field("table", &self.0.schema().table)
            .field("format", &self.0.format())
            .finish()
    }
}

/// The rows of a batch, decoded one by one: from [`FailedBatch::decoded_rows`] and
/// [`Dump::decoded_rows`].
///
/// [`FailedBatch::decoded_rows`]: crate::FailedBatch::decoded_rows
/// [`Dump::decoded_rows`]: crate::Dump::decoded_rows
#[derive(Debug, Clone)]
pub struct DecodedRows<'a> {
    batch: &'a Batch,
    decoder: Option<&'a RowDecoder>,
    next: usize,
}

impl<'a> DecodedRows<'a> {
    pub(crate) fn new(batch: &'a Batch, decoder: Option<&'a RowDecoder>) -> Self {
        DecodedRows {
            batch,
            decoder,
            next: 0,
        }
    }
}

impl Iterator for DecodedRows<'_> {
    type Item = Result<DecodedRow, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.batch.row(self.next)?;
        self.next += 1;
        Some(match self.decoder {
            Some(d) => d.decode(row),
            None => Err(DecodeError::Unsupported {
                format: "unknown (no decoder attached)",
            }),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batch.rows().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for DecodedRows<'_> {}
