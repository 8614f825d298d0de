//! Classifying the `clickhouse` crate's errors for the batcher: retry, give up, or
//! report a configuration or schema problem. The server's exception code and message
//! are kept.

use batch_core::{SinkError, SinkErrorKind};
use clickhouse::error::Error;

/// Codes of configuration and access errors: retrying cannot help until someone
/// changes the setup.
const CONFIG: &[u32] = &[
    60,  // UNKNOWN_TABLE
    81,  // UNKNOWN_DATABASE
    115, // UNKNOWN_SETTING
    164, // READONLY
    192, // UNKNOWN_USER
    193, // WRONG_PASSWORD
    194, // REQUIRED_PASSWORD
    195, // IP_ADDRESS_NOT_ALLOWED
    291, // DATABASE_ACCESS_DENIED
    497, // ACCESS_DENIED
    516, // AUTHENTICATION_FAILED
];

/// Codes of errors in the query or the data: the same bytes fail again.
const PERMANENT: &[u32] = &[
    1,   // UNSUPPORTED_METHOD
    2,   // UNSUPPORTED_PARAMETER
    6,   // CANNOT_PARSE_TEXT
    8,   // THERE_IS_NO_COLUMN
    10,  // NOT_FOUND_COLUMN_IN_BLOCK
    16,  // NO_SUCH_COLUMN_IN_TABLE
    20,  // NUMBER_OF_COLUMNS_DOESNT_MATCH
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    32,  // ATTEMPT_TO_READ_AFTER_EOF
    33,  // CANNOT_READ_ALL_DATA
    36,  // BAD_ARGUMENTS
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    43,  // ILLEGAL_TYPE_OF_ARGUMENT
    44,  // ILLEGAL_COLUMN
    47,  // UNKNOWN_IDENTIFIER
    48,  // NOT_IMPLEMENTED
    49,  // LOGICAL_ERROR
    50,  // UNKNOWN_TYPE
    53,  // TYPE_MISMATCH
    62,  // SYNTAX_ERROR
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    72,  // CANNOT_PARSE_NUMBER
    73,  // UNKNOWN_FORMAT
    80,  // INCORRECT_QUERY
    117, // INCORRECT_DATA
    128, // TOO_LARGE_ARRAY_SIZE
    131, // TOO_LARGE_STRING_SIZE
    271, // CANNOT_DECOMPRESS
    349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    377, // CANNOT_PARSE_UUID
    432, // UNKNOWN_CODEC
    433, // ILLEGAL_CODEC_PARAMETER
    469, // VIOLATED_CONSTRAINT
];

/// Codes of passing trouble: overload, timeouts, network, replication. A code that is
/// in no list is retried too (and logged at debug level).
const RETRYABLE: &[u32] = &[
    23,   // CANNOT_READ_FROM_ISTREAM
    24,   // CANNOT_WRITE_TO_OSTREAM
    159,  // TIMEOUT_EXCEEDED
    160,  // TOO_SLOW
    173,  // CANNOT_ALLOCATE_MEMORY
    202,  // TOO_MANY_SIMULTANEOUS_QUERIES
    203,  // NO_FREE_CONNECTION
    209,  // SOCKET_TIMEOUT
    210,  // NETWORK_ERROR
    225,  // NO_ZOOKEEPER
    236,  // ABORTED
    241,  // MEMORY_LIMIT_EXCEEDED
    242,  // TABLE_IS_READ_ONLY
    252,  // TOO_MANY_PARTS
    285,  // TOO_FEW_LIVE_REPLICAS
    286,  // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
    319,  // UNKNOWN_STATUS_OF_INSERT
    394,  // QUERY_WAS_CANCELLED
    425,  // SYSTEM_ERROR
    439,  // CANNOT_SCHEDULE_TASK
    999,  // KEEPER_EXCEPTION
    1000, // POCO_EXCEPTION
];

/// How a server exception code is treated.
#[must_use]
pub(crate) fn kind_of_code(code: u32) -> SinkErrorKind {
    if CONFIG.contains(&code) {
        SinkErrorKind::Config
    } else if PERMANENT.contains(&code) {
        SinkErrorKind::Permanent
    } else {
        if !RETRYABLE.contains(&code) {
            tracing::debug!(code, "unknown ClickHouse error code, treated as retryable");
        }
        SinkErrorKind::Retryable
    }
}

/// The exception code in a server message: `Code: 252, e.displayText() = ...` (18.x)
/// or `Code: 252. DB::Exception: ...` (current servers).
pub(crate) fn parse_code(message: &str) -> Option<u32> {
    let at = message.find("Code: ")? + "Code: ".len();
    let digits = &message[at..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// The row a data error names, counted from 0: servers add `(at row N)`, from 1, to
/// parse errors.
pub(crate) fn parse_row(message: &str) -> Option<usize> {
    let at = message.find("(at row ")? + "(at row ".len();
    let digits = &message[at..];
    let end = digits.find(|c: char| !c.is_ascii_digit())?;
    digits[..end].parse::<usize>().ok()?.checked_sub(1)
}

/// The server's exception code of a classified error, if any.
pub(crate) fn server_code(e: &SinkError) -> Option<u32> {
    e.code().and_then(|c| c.parse().ok())
}

/// Classifies an error of the `clickhouse` crate. `context` says what was being done,
/// for the message.
pub(crate) fn classify(e: Error, context: &str) -> SinkError {
    let (kind, code) = match &e {
        Error::Network(_) | Error::TimedOut | Error::Other(_) | Error::Decompression(_) => {
            (SinkErrorKind::Retryable, None)
        }
        Error::BadResponse(message) => match parse_code(message) {
            Some(code) => (kind_of_code(code), Some(code)),
            None => (kind_of_status(message), None),
        },
        Error::InvalidParams(_) => (SinkErrorKind::Config, None),
        // A background task ended without a result (cancelled): try again.
        Error::Custom(m) if m.starts_with("unexpected error") => (SinkErrorKind::Retryable, None),
        _ => (SinkErrorKind::Permanent, None),
    };
    let mut err = SinkError::new(kind, format!("ClickHouse: {context}: {e}"));
    if let Some(code) = code {
        err = err.with_code(code.to_string());
    }
    if let Error::BadResponse(message) = &e {
        if let Some(row) = parse_row(message) {
            err = err.with_row(row);
        }
    }
    err.with_source(e)
}

/// A response without an exception code: `503 Service Unavailable` from the server or
/// a proxy. 5xx is retried; 401/403 are access problems; other 4xx are permanent.
fn kind_of_status(message: &str) -> SinkErrorKind {
    match message.get(..3).and_then(|s| s.parse::<u16>().ok()) {
        Some(401 | 403) => SinkErrorKind::Config,
        Some(400..=499) => SinkErrorKind::Permanent,
        _ => SinkErrorKind::Retryable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_of_old_and_new_servers() {
        assert_eq!(
            parse_code(
                "Code: 81, e.displayText() = DB::Exception: Database x doesn't exist, \
                 e.what() = DB::Exception"
            ),
            Some(81)
        );
        assert_eq!(
            parse_code("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"),
            Some(252)
        );
        assert_eq!(parse_code("Code: 16"), Some(16));
        assert_eq!(parse_code("503 Service Unavailable"), None);
    }

    #[test]
    fn parses_the_failing_row() {
        assert_eq!(
            parse_row(
                "Code: 33, e.displayText() = DB::Exception: Cannot read all data. Bytes read: \
                 2. Bytes expected: 8.: (at row 1)\n, e.what() = DB::Exception"
            ),
            Some(0)
        );
        assert_eq!(parse_row("... (at row 12345): while ..."), Some(12344));
        assert_eq!(parse_row("no row here"), None);
        assert_eq!(parse_row("(at row 0)"), None);
    }

    #[test]
    fn classifies_codes() {
        assert_eq!(kind_of_code(252), SinkErrorKind::Retryable);
        assert_eq!(kind_of_code(159), SinkErrorKind::Retryable);
        assert_eq!(kind_of_code(53), SinkErrorKind::Permanent);
        assert_eq!(kind_of_code(27), SinkErrorKind::Permanent);
        assert_eq!(kind_of_code(16), SinkErrorKind::Permanent);
        assert_eq!(kind_of_code(193), SinkErrorKind::Config);
        assert_eq!(kind_of_code(60), SinkErrorKind::Config);
        // Unknown codes are retried: the batcher's retry limit bounds the cost of a
        // wrong guess, and no batch is given up on for a passing problem.
        assert_eq!(kind_of_code(4242), SinkErrorKind::Retryable);
        for c in CONFIG.iter().chain(PERMANENT) {
            assert!(!RETRYABLE.contains(c), "{c} is listed twice");
        }
    }

    #[test]
    fn classifies_client_errors() {
        let e = classify(
            Error::BadResponse("Code: 252. DB::Exception: Too many parts".into()),
            "insert",
        );
        assert_eq!(e.kind(), SinkErrorKind::Retryable);
        assert_eq!(e.code(), Some("252"));
        assert_eq!(
            e.to_string(),
            "ClickHouse: insert: bad response: Code: 252. DB::Exception: Too many parts"
        );
        let e = classify(
            Error::BadResponse("503 Service Unavailable".into()),
            "insert",
        );
        assert_eq!(e.kind(), SinkErrorKind::Retryable);
        assert_eq!(e.code(), None);
        let e = classify(Error::BadResponse("403 Forbidden".into()), "insert");
        assert_eq!(e.kind(), SinkErrorKind::Config);
        let e = classify(Error::Network("connection reset".into()), "insert");
        assert!(e.is_retryable());
        assert!(classify(Error::TimedOut, "insert").is_retryable());
        let e = classify(Error::Compression("bad".into()), "insert");
        assert_eq!(e.kind(), SinkErrorKind::Permanent);
    }
}
