//! Errors of building a [`PostgresSink`](crate::PostgresSink).
//!
//! Errors while running (a failed COPY, a schema mismatch) are classified
//! [`SinkError`](batch_core::SinkError)s, returned by the [`Sink`](batch_core::Sink)
//! methods.

/// An error building a [`PostgresSink`](crate::PostgresSink).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection string could not be parsed.
    #[error("invalid PostgreSQL connection string: {0}")]
    Url(#[source] tokio_postgres::Error),
    /// The connection pool could not be built.
    #[error("building the PostgreSQL connection pool failed: {0}")]
    Pool(#[from] deadpool_postgres::BuildError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }
}
