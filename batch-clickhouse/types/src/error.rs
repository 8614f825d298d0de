//! The error of this crate.

/// Why a ClickHouse type string, or an enum definition, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A type string does not parse.
    ///
    /// ```
    /// use batch_clickhouse_types::{ChType, Error};
    ///
    /// let e = ChType::parse("Array(String").unwrap_err();
    /// assert!(matches!(e, Error::Parse { position: 12, .. }));
    /// ```
    #[error("cannot parse the ClickHouse type `{input}` at byte {position}: {reason}")]
    Parse {
        /// The type string.
        input: String,
        /// The byte offset where parsing failed (the length of the string when it ended
        /// too early).
        position: usize,
        /// What was wrong there, and what was expected.
        reason: String,
    },
    /// An `Enum8`/`Enum16` definition repeats a label or a value.
    ///
    /// ```
    /// use batch_clickhouse_types::{EnumDef, Error};
    ///
    /// let e = EnumDef::new(vec![("a".into(), 1), ("a".into(), 2)]).unwrap_err();
    /// assert_eq!(e, Error::InvalidEnum("duplicate label 'a'".into()));
    /// ```
    #[error("invalid enum type: {0}")]
    InvalidEnum(String),
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// use batch_clickhouse_types::{ChType, Result};
///
/// fn nullable(inner: &str) -> Result<ChType> {
///     Ok(ChType::Nullable(Box::new(ChType::parse(inner)?)))
/// }
/// assert_eq!(nullable("UInt8")?.to_string(), "Nullable(UInt8)");
/// # Ok::<(), batch_clickhouse_types::Error>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static>() {}
        check::<super::Error>();
    }
}
