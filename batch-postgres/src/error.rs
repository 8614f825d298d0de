//! Errors of building a [`PostgresSink`](crate::PostgresSink) and of
//! [`PgBinary::create_table_sql`](crate::PgBinary::create_table_sql).
//!
//! Errors while running (a failed COPY, a schema mismatch) are classified
//! [`SinkError`](batch_core::SinkError)s, returned by the [`Sink`](batch_core::Sink)
//! methods.

/// An error building a [`PostgresSink`](crate::PostgresSink), or a `CREATE TABLE` statement.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection string could not be parsed.
    #[error("invalid PostgreSQL connection string: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The connection pool could not be built.
    #[error("building the PostgreSQL connection pool failed: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
    /// The connection string asks for TLS (`sslmode=require`, `verify-ca` or
    /// `verify-full`), and the sink was not given a TLS connector. batchrow does not
    /// choose a TLS crate for you: pass one with
    /// [`PostgresSinkBuilder::tls`](crate::PostgresSinkBuilder::tls).
    #[error(
        "the connection string asks for TLS (sslmode={sslmode}), and PostgresSink::new \
         connects without it; build the sink with \
         PostgresSink::builder(config).tls(connector).build() and a tokio-postgres TLS \
         connector such as postgres_native_tls::MakeTlsConnector or \
         tokio_postgres_rustls::MakeRustlsConnect{}",
        if .sslmode.starts_with("verify") {
            " (tokio-postgres reads only sslmode=disable, prefer and require: write \
             sslmode=require and let the connector verify the certificate and the host name)"
        } else {
            ""
        }
    )]
    TlsRequired {
        /// The `sslmode` the connection string names.
        sslmode: String,
    },
    /// A column has no PostgreSQL type (from
    /// [`PgBinary::create_table_sql`](crate::PgBinary::create_table_sql)).
    #[error("column `{column}`: {reason}")]
    Column {
        /// The column name.
        column: &'static str,
        /// Why, and what to change.
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
    /// use batch_postgres::PostgresSink;
    ///
    /// fn sink() -> batchrow::Result<PostgresSink> {
    ///     let sink = PostgresSink::new("postgres://batchrow@127.0.0.1/batchrow?sslmode=require")?;
    ///     Ok(sink)
    /// }
    ///
    /// let err = sink().unwrap_err();
    /// assert!(matches!(err, batchrow::Error::Sink(_)));
    /// assert!(err.to_string().contains(".tls(connector)"));
    /// ```
    fn from(e: Error) -> Self {
        batch_core::Error::Sink(
            batch_core::SinkError::new(batch_core::SinkErrorKind::Config, e.to_string())
                .with_source(e),
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }

    #[test]
    fn converts_into_the_batcher_error_keeping_the_cause() {
        let e = super::Error::TlsRequired {
            sslmode: "require".into(),
        };
        let message = e.to_string();
        let core: batch_core::Error = e.into();
        let batch_core::Error::Sink(sink) = &core else {
            panic!("not a sink error: {core:?}");
        };
        assert_eq!(sink.kind(), batch_core::SinkErrorKind::Config);
        assert_eq!(core.to_string(), message);
        assert!(std::error::Error::source(sink).is_some());
    }
}
