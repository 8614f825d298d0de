//! [`DecodeError`]: why an encoded row could not be read back.

/// An encoded row could not be read back into values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The format has no decoder (a custom [`Format`](crate::Format) that does not implement
    /// [`Format::decode_value`](crate::Format::decode_value)).
    #[error("the {format} format cannot decode rows")]
    Unsupported {
        /// The format's name.
        format: &'static str,
    },
    /// The decoder does not know this column type.
    #[error("cannot decode a value of column type {ty}")]
    UnsupportedType {
        /// The column type.
        ty: String,
    },
    /// The row ended in the middle of a value.
    #[error("the row ends in the middle of {what} ({needed} more bytes needed)")]
    Truncated {
        /// What was being read, such as `"a String length"`.
        what: &'static str,
        /// How many more bytes were needed.
        needed: usize,
    },
    /// The bytes are not a valid value of the column type.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// Bytes were left after the last column.
    #[error("{len} bytes are left after the last column")]
    TrailingBytes {
        /// How many.
        len: usize,
    },
    /// The error happened in this column.
    #[error("column `{column}`: {source}")]
    Column {
        /// The column name.
        column: &'static str,
        /// What went wrong.
        source: Box<DecodeError>,
    },
}

impl DecodeError {
    /// `needed` more bytes were needed to read `what`.
    #[must_use]
    pub fn truncated(what: &'static str, needed: usize) -> Self {
        DecodeError::Truncated { what, needed }
    }

    /// The bytes of `what` are not valid, for `reason`.
    #[must_use]
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        DecodeError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}
