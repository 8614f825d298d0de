//! Wire formats and the per-field encoding trait.
//!
//! A backend crate defines a [`Format`] marker (RowBinary for ClickHouse, binary COPY for
//! PostgreSQL) and implements [`Encode<F>`](Encode) for every Rust type it can write. The
//! derive's generated [`EncodeRow`](crate::EncodeRow) impl calls `Encode<F>` once per
//! field, so a Rust type that a backend cannot store is a compile error where the row is
//! used with that backend's sink.

use std::fmt;

use crate::decode::{DecodeError, Value};

/// A binary row format, such as ClickHouse RowBinary or PostgreSQL binary COPY.
pub trait Format: Send + Sync + 'static {
    /// What the sink resolved for one column before the first row: the server's column
    /// type, and anything else the encoder needs (an enum's labels, a jsonb version byte).
    type Column: Send + Sync + fmt::Debug + 'static;

    /// A short name for messages, such as `"ClickHouse RowBinary"`.
    const NAME: &'static str;

    /// Writes what precedes the fields of one row (PostgreSQL: the field count).
    fn begin_row(columns: u16, buf: &mut Vec<u8>);

    /// Writes a Rust enum value (see [`EnumValue`]) to a column.
    ///
    /// # Errors
    ///
    /// When the column cannot hold the value, for example a label the server enum lacks.
    fn encode_enum(
        label: &'static str,
        value: i16,
        column: &Self::Column,
        buf: &mut Vec<u8>,
    ) -> Result<(), EncodeError>;

    /// Reads what [`begin_row`](Format::begin_row) wrote, advancing `input` past it.
    /// The provided implementation reads nothing.
    ///
    /// # Errors
    ///
    /// When the row does not start the way `begin_row` writes it.
    fn decode_row_start(columns: usize, input: &mut &[u8]) -> Result<(), DecodeError> {
        let _ = (columns, input);
        Ok(())
    }

    /// Reads one value of `column` from the front of `input` and advances `input` past
    /// it: the inverse of the [`Encode`] impls, used to show failed and buffered rows as
    /// values ([`FailedBatch::decoded_rows`](crate::FailedBatch::decoded_rows),
    /// [`Handle::dump`](crate::Handle::dump)). It runs only when someone asks for
    /// decoded rows, never on the insert path.
    ///
    /// The provided implementation returns [`DecodeError::Unsupported`]: a format
    /// without a decoder still works, its failed rows are only available as bytes.
    ///
    /// # Errors
    ///
    /// When `input` ends early, or its bytes are not a valid value of the column type.
    fn decode_value(column: &Self::Column, input: &mut &[u8]) -> Result<Value, DecodeError> {
        let _ = (column, input);
        Err(DecodeError::Unsupported { format: Self::NAME })
    }
}

/// Writes one value of `Self` in format `F`, appending to `buf`.
///
/// The encoder must not allocate on the heap for a value that fits in `buf`'s spare
/// capacity, and must append nothing when it returns an error.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written in the {F} format",
    label = "this field's type has no encoder for this sink",
    note = "each sink supports the types its database can store; for example PostgreSQL has no unsigned integers"
)]
pub trait Encode<F: Format> {
    /// Appends the encoded value to `buf`.
    ///
    /// # Errors
    ///
    /// When the value does not fit the column, such as a string longer than a
    /// `FixedString(N)` or a number out of the column's range.
    fn encode(&self, column: &F::Column, buf: &mut Vec<u8>) -> Result<(), EncodeError>;
}

impl<F: Format, T: Encode<F> + ?Sized> Encode<F> for &T {
    #[inline]
    fn encode(&self, column: &F::Column, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).encode(column, buf)
    }
}

impl<F: Format, T: Encode<F> + ?Sized> Encode<F> for Box<T> {
    #[inline]
    fn encode(&self, column: &F::Column, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).encode(column, buf)
    }
}

/// A Rust enum stored as an enum column; implemented by `#[derive(BatchEnum)]`.
pub trait EnumValue {
    /// The label of this value.
    fn label(&self) -> &'static str;
    /// The numeric value of this value.
    fn value(&self) -> i16;
}

/// A value could not be encoded for its column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The error happened in this column.
    #[error("column `{column}`: {source}")]
    Column {
        /// The column name.
        column: &'static str,
        /// What went wrong.
        source: Box<EncodeError>,
    },
    /// A length does not fit the column or the format (a string longer than
    /// `FixedString(N)`, an array longer than the format can describe).
    #[error("length {len} does not fit {what} (at most {max})")]
    Length {
        /// What was measured, such as `"FixedString(16)"`.
        what: &'static str,
        /// The length of the value.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A value is outside the range of the column type.
    #[error("value {value} is out of range for {what}")]
    OutOfRange {
        /// The column type, such as `"Date"`.
        what: &'static str,
        /// The value, as text.
        value: String,
    },
    /// The Rust type cannot be written to the column's server type.
    #[error("a `{rust}` cannot be written to a column of type {server}")]
    Unsupported {
        /// The Rust type.
        rust: &'static str,
        /// The server type.
        server: String,
    },
    /// The row was encoded against a column list of the wrong length.
    #[error("the row has {expected} columns but {got} were resolved")]
    ColumnCount {
        /// The row's column count.
        expected: usize,
        /// The resolved column count.
        got: usize,
    },
    /// Any other encoding failure.
    #[error("{0}")]
    Other(String),
}

impl EncodeError {
    /// Wraps the error with the name of the column it happened in.
    #[must_use]
    #[cold]
    pub fn in_column(self, column: &'static str) -> Self {
        EncodeError::Column {
            column,
            source: Box::new(self),
        }
    }
}
