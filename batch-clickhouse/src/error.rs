//! The error type of batch-clickhouse (for everything but the sink's classified
//! [`SinkError`](batch_core::SinkError)s).

/// Errors from parsing ClickHouse types and resolving columns without a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A ClickHouse type string does not parse, or an enum definition repeats a label
    /// or a value (see [`TypeError`](crate::TypeError)).
    #[error(transparent)]
    Type(#[from] crate::TypeError),
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

impl From<Error> for batch_core::Error {
    /// Lets `?` turn this crate's error into batchrow's, in a function that returns
    /// `batchrow::Result`: it becomes [`batch_core::Error::Sink`] with a
    /// [`Config`](batch_core::SinkErrorKind::Config) error whose source is this one.
    ///
    /// ```
    /// # use batch_core as batchrow;
    /// use batch_clickhouse::ChType;
    ///
    /// fn column_type(spelled: &str) -> batchrow::Result<ChType> {
    ///     // `ChType::parse` fails with the type crate's `TypeError`: one step to this
    ///     // crate's error, then `?` takes it to batchrow's.
    ///     Ok(ChType::parse(spelled).map_err(batch_clickhouse::Error::from)?)
    /// }
    ///
    /// assert!(column_type("Array(String)").is_ok());
    /// assert!(matches!(column_type("Array(String"), Err(batchrow::Error::Sink(_))));
    /// ```
    fn from(e: Error) -> Self {
        batch_core::Error::Sink(
            batch_core::SinkError::new(batch_core::SinkErrorKind::Config, e.to_string())
                .with_source(e),
        )
    }
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

    #[test]
    fn converts_into_the_batcher_error_keeping_the_cause() {
        let e = super::Error::from(crate::TypeError::InvalidEnum("duplicate label 'a'".into()));
        let message = e.to_string();
        let core: batch_core::Error = e.into();
        assert!(matches!(&core, batch_core::Error::Sink(s)
            if s.kind() == batch_core::SinkErrorKind::Config
            && std::error::Error::source(s).is_some()));
        assert_eq!(core.to_string(), message);
    }
}
