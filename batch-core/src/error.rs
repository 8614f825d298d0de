//! The batcher's error type.

use crate::format::EncodeError;
use crate::sink::SinkError;

/// Errors from the batcher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The sink refused to start or failed, for example a schema mismatch.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A row could not be encoded.
    #[error("encoding a row failed: {0}")]
    Encode(#[from] EncodeError),
}

/// `Result` with batchrow's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
        check::<crate::SinkError>();
        check::<crate::EncodeError>();
    }
}
