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
