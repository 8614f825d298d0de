//! Wire formats and the per-field encoding trait.
//!
//! A backend crate defines a [`Format`] marker (RowBinary for ClickHouse, binary COPY for
//! PostgreSQL) and implements [`Encode<F>`](Encode) for every Rust type it can write. The
//! derive's generated [`EncodeRow`](crate::EncodeRow) impl calls `Encode<F>` once per
//! field, so a Rust type that a backend cannot store is a compile error where the row is
//! used with that backend's sink.
//!
//! Which server column types a Rust type may be written to is decided in one place: the
//! type's own [`Encode::accepts`], next to its encoder (as sqlx's `Type::compatible` and
//! postgres-types' `ToSql::accepts`). The schema check before the first row asks it for
//! every field ([`EncodeRow::accepts_column`](crate::EncodeRow::accepts_column)).

use std::borrow::Cow;
use std::fmt;

use crate::value::EnumVariant;

use crate::decode::{DecodeError, Value};

/// A binary row format, such as ClickHouse RowBinary or PostgreSQL binary COPY.
pub trait Format: Send + Sync + 'static {
    /// What the sink resolved for one column before the first row: the server's column
    /// type, and anything else the encoder needs (an enum's labels, a jsonb version byte).
    type Column: Clone + Send + Sync + fmt::Debug + 'static;

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

    /// Whether a Rust enum with these `variants` (see [`EnumValue`]) may be written to
    /// `column`: the [`Encode::accepts`] of every `#[derive(BatchEnum)]` type. The
    /// provided implementation accepts every column.
    ///
    /// # Errors
    ///
    /// The [`Reason`] the column does not take the enum, such as a missing label.
    fn accepts_enum(variants: &'static [EnumVariant], column: &Self::Column) -> Result<(), Reason> {
        let _ = (variants, column);
        Ok(())
    }

    /// The column's server type as the schema-mismatch report names it. The provided
    /// implementation is the column's `Debug` text.
    fn type_name(column: &Self::Column) -> String {
        format!("{column:?}")
    }

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

/// Writes one value of `Self` in format `F`, appending to `buf`, and says which columns
/// it may be written to.
///
/// The encoder must not allocate on the heap for a value that fits in `buf`'s spare
/// capacity, and must append nothing when it returns an error.
///
/// [`accepts`](Encode::accepts) is the one rule of which server columns take this type
/// in format `F`. The schema check runs it for every field before the first row is
/// accepted and lists every column it refuses at once, so `encode` only ever sees
/// columns `accepts` took. Implement both for your own types (a newtype, a domain type):
/// the backend crates' docs show how (`batch_clickhouse::rowbinary`,
/// `batch_postgres::PgBinary`).
///
/// # Examples
///
/// A format of the caller's own, whose columns are their type names:
///
/// ```
/// use batch_core::{Encode, EncodeError, Format, Reason};
///
/// struct Text;
/// impl Format for Text {
///     type Column = &'static str;
///     const NAME: &'static str = "text";
///     fn begin_row(_: u16, _: &mut Vec<u8>) {}
///     fn encode_enum(l: &'static str, _: i16, _: &&'static str, buf: &mut Vec<u8>)
///         -> Result<(), EncodeError> {
///         buf.extend_from_slice(l.as_bytes());
///         Ok(())
///     }
/// }
///
/// struct Celsius(f64);
/// impl Encode<Text> for Celsius {
///     fn encode(&self, _: &&'static str, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
///         buf.extend_from_slice(format!("{}C", self.0).as_bytes());
///         Ok(())
///     }
///     fn accepts(column: &&'static str) -> Result<(), Reason> {
///         match *column {
///             "temperature" => Ok(()),
///             _ => Err(Reason::new("this field type needs temperature").expecting("temperature")),
///         }
///     }
/// }
///
/// assert!(<Celsius as Encode<Text>>::accepts(&"temperature").is_ok());
/// let err = <Celsius as Encode<Text>>::accepts(&"date").unwrap_err();
/// assert_eq!(err.to_string(), "this field type needs temperature");
/// assert_eq!(err.expected(), Some("temperature"));
/// ```
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

    /// Whether values of this type may be written to `column`: the compatibility rule of
    /// this (Rust type, format) pair. It runs once per column, before the first row.
    ///
    /// The provided implementation accepts every column (the encoder then refuses a
    /// column it cannot write, value by value); batchrow's own impls all override it.
    ///
    /// # Errors
    ///
    /// The [`Reason`] the column does not take this type, naming the column types it
    /// needs ([`Reason::expecting`]), for the schema-mismatch report.
    fn accepts(column: &F::Column) -> Result<(), Reason> {
        let _ = column;
        Ok(())
    }
}

impl<F: Format, T: Encode<F> + ?Sized> Encode<F> for &T {
    #[inline]
    fn encode(&self, column: &F::Column, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).encode(column, buf)
    }

    fn accepts(column: &F::Column) -> Result<(), Reason> {
        T::accepts(column)
    }
}

impl<F: Format, T: Encode<F> + ?Sized> Encode<F> for Box<T> {
    #[inline]
    fn encode(&self, column: &F::Column, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        (**self).encode(column, buf)
    }

    fn accepts(column: &F::Column) -> Result<(), Reason> {
        T::accepts(column)
    }
}

/// Why a column does not take a Rust type: the message of one line of the schema-mismatch
/// report, and the column types the Rust type needs.
///
/// # Examples
///
/// ```
/// use batch_core::Reason;
///
/// let r = Reason::new("this field type needs UInt64").expecting("UInt64");
/// assert_eq!(r.to_string(), "this field type needs UInt64");
/// assert_eq!(r.expected(), Some("UInt64"));
/// let r = r.context("in the array elements");
/// assert_eq!(r.to_string(), "in the array elements: this field type needs UInt64");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    message: Cow<'static, str>,
    expected: Option<Cow<'static, str>>,
}

impl Reason {
    /// A reason with this message.
    #[must_use]
    #[cold]
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Reason {
            message: message.into(),
            expected: None,
        }
    }

    /// "this field type needs `expected`", naming `expected` as the column types the
    /// Rust type needs: the reason of most rules.
    ///
    /// ```
    /// let r = batch_core::Reason::needs("Int32");
    /// assert_eq!((r.to_string().as_str(), r.expected()), ("this field type needs Int32", Some("Int32")));
    /// ```
    #[must_use]
    #[cold]
    pub fn needs(expected: impl Into<Cow<'static, str>>) -> Self {
        let expected = expected.into();
        Reason::new(format!("this field type needs {expected}")).expecting(expected)
    }

    /// The same reason, naming the column types the Rust type needs (such as
    /// `"UInt64"`): containers use it to say what they need (`Array(UInt64)`).
    #[must_use]
    pub fn expecting(mut self, expected: impl Into<Cow<'static, str>>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// The message with `context` in front: `"{context}: {message}"`.
    #[must_use]
    pub fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message).into();
        self
    }

    /// The column types the Rust type needs, when the reason names them.
    #[must_use]
    pub fn expected(&self) -> Option<&str> {
        self.expected.as_deref()
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
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
    /// A value of Rust type `T` cannot be written to a column of type `server`: the
    /// [`Unsupported`](EncodeError::Unsupported) error every backend reports, naming the
    /// Rust type the same way (its path, as [`std::any::type_name`] gives it).
    ///
    /// # Examples
    ///
    /// ```
    /// use batch_core::EncodeError;
    ///
    /// let e = EncodeError::unsupported::<u64>("Date");
    /// assert_eq!(e.to_string(), "a `u64` cannot be written to a column of type Date");
    /// ```
    #[must_use]
    #[cold]
    pub fn unsupported<T: ?Sized>(server: impl fmt::Display) -> Self {
        EncodeError::Unsupported {
            rust: std::any::type_name::<T>(),
            server: server.to_string(),
        }
    }

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
