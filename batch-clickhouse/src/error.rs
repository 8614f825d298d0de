//! The error type of batch-clickhouse (for everything but the sink's classified
//! [`SinkError`](batch_core::SinkError)s).

/// Errors from parsing ClickHouse types and resolving columns without a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A ClickHouse type string does not parse.
    #[error("cannot parse the ClickHouse type `{input}` at byte {position}: {reason}")]
    TypeParse {
        /// The type string.
        input: String,
        /// The byte offset where parsing failed.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// An `Enum8`/`Enum16` definition repeats a label or a value.
    #[error("invalid enum type: {0}")]
    InvalidEnum(String),
    /// A column cannot be resolved without a server (see
    /// [`RowBinary::resolve_offline`](crate::RowBinary::resolve_offline)).
    #[error("column `{column}`: {reason}")]
    Column {
        /// The column name.
        column: &'static str,
        /// Why, and what to change.
        reason: String,
    },
    /// A column type the Native writer does not support (see
    /// [`NativeBlock`](crate::native::NativeBlock)); the sink sends such a table in
    /// RowBinary.
    #[error("column `{column}`: the Native format writer does not support type {ty}")]
    NativeUnsupported {
        /// The column name.
        column: String,
        /// The column type.
        ty: String,
    },
    /// RowBinary rows do not read as values of their columns' types (rows encoded for
    /// other columns).
    #[error("transcoding to Native: row {row}, column `{column}`: {reason}")]
    Transcode {
        /// The row, counted from 0 in the rows given.
        row: usize,
        /// The column (empty when the whole block does not add up).
        column: String,
        /// What went wrong.
        reason: String,
    },
}

/// `Result` with batch-clickhouse's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }
}
