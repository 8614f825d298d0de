//! Classifying the `clickhouse` crate's errors for the batcher: retry, give up, or
//! report a configuration or schema problem. The server's exception code and message
//! are kept.

use batch_core::{SinkError, SinkErrorKind};
use clickhouse::error::Error;

use crate::codes;

/// How a server exception code is treated, and whether the rows caused it.
#[must_use]
pub(crate) fn kind_of_code(code: u32) -> (SinkErrorKind, bool) {
    if codes::CONFIG.contains(&code) {
        (SinkErrorKind::Config, false)
    } else if codes::DATA.contains(&code) {
        (SinkErrorKind::Permanent, true)
    } else if codes::REQUEST.contains(&code) {
        (SinkErrorKind::Permanent, false)
    } else {
        if !codes::TRANSIENT.contains(&code) {
            tracing::debug!(code, "unknown ClickHouse error code, treated as retryable");
        }
        (SinkErrorKind::Retryable, false)
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
    let (kind, data, code) = match &e {
        Error::Network(_) | Error::TimedOut | Error::Other(_) | Error::Decompression(_) => {
            (SinkErrorKind::Retryable, false, None)
        }
        Error::BadResponse(message) => match parse_code(message) {
            Some(code) => {
                let (kind, data) = kind_of_code(code);
                (kind, data, Some(code))
            }
            None => (kind_of_status(message), false, None),
        },
        Error::InvalidParams(_) => (SinkErrorKind::Config, false, None),
        // A background task ended without a result (cancelled): try again.
        Error::Custom(m) if m.starts_with("unexpected error") => {
            (SinkErrorKind::Retryable, false, None)
        }
        _ => (SinkErrorKind::Permanent, false, None),
    };
    let mut err = SinkError::new(kind, format!("ClickHouse: {context}: {e}"));
    if let Some(code) = code {
        err = err.with_code(code.to_string());
    }
    if data {
        err = err.caused_by_data();
        if let Error::BadResponse(message) = &e {
            if let Some(row) = parse_row(message) {
                err = err.with_row(row);
            }
        }
    }
    err.with_source(e)
}

/// A response without an exception code: `503 Service Unavailable` from the server or
/// a proxy (the `clickhouse` crate reports the status only when the body is empty).
/// 5xx, 408 (request timeout) and 429 (too many requests) are passing and retried;
/// 401/403 are access problems; other 4xx are permanent. Anything else is retried.
fn kind_of_status(message: &str) -> SinkErrorKind {
    let status = message
        .split_once(' ')
        .and_then(|(status, _)| status.parse::<u16>().ok());
    match status {
        Some(408 | 429) => SinkErrorKind::Retryable,
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
        use SinkErrorKind::{Config, Permanent, Retryable};
        assert_eq!(kind_of_code(252), (Retryable, false));
        assert_eq!(kind_of_code(159), (Retryable, false));
        assert_eq!(kind_of_code(364), (Retryable, false));
        assert_eq!(kind_of_code(16), (Permanent, false));
        assert_eq!(kind_of_code(62), (Permanent, false));
        assert_eq!(kind_of_code(193), (Config, false));
        assert_eq!(kind_of_code(60), (Config, false));
        // Unknown codes are retried: the batcher's retry deadline bounds the cost of a
        // wrong guess, and no batch is given up on for a passing problem.
        assert_eq!(kind_of_code(4242), (Retryable, false));
    }

    #[test]
    fn data_errors_are_permanent_and_caused_by_the_rows() {
        for code in [
            6, 26, 27, 33, 38, 41, 53, 69, 70, 72, 131, 190, 321, 376, 395, 407, 469, 691,
        ] {
            assert_eq!(
                kind_of_code(code),
                (SinkErrorKind::Permanent, true),
                "{code} {:?}",
                codes::name(code)
            );
        }
        // As 18.16 reports a row it cannot parse.
        let e = classify(
            Error::BadResponse(
                "Code: 33, e.displayText() = DB::Exception: Cannot read all data. Bytes read: \
                 12. Bytes expected: 67108864.: (at row 4)\n, e.what() = DB::Exception"
                    .into(),
            ),
            "insert",
        );
        assert_eq!(e.kind(), SinkErrorKind::Permanent);
        assert!(e.is_caused_by_data());
        assert_eq!(e.row(), Some(3));
        assert_eq!(e.code(), Some("33"));
        // As current servers report a value out of range, without a row.
        let e = classify(
            Error::BadResponse(
                "Code: 407. DB::Exception: Decimal math overflow. (DECIMAL_OVERFLOW)".into(),
            ),
            "insert",
        );
        assert!(e.is_caused_by_data());
        assert_eq!(e.row(), None);
        // A request error that names a row is still not the rows' fault.
        let e = classify(
            Error::BadResponse("Code: 62. DB::Exception: Syntax error (at row 2)".into()),
            "insert",
        );
        assert_eq!(e.kind(), SinkErrorKind::Permanent);
        assert!(!e.is_caused_by_data());
        assert_eq!(e.row(), None);
    }

    #[test]
    fn classifies_client_errors() {
        let e = classify(
            Error::BadResponse("Code: 252. DB::Exception: Too many parts".into()),
            "insert",
        );
        assert_eq!(e.kind(), SinkErrorKind::Retryable);
        assert_eq!(e.code(), Some("252"));
        assert!(!e.is_caused_by_data());
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

    #[test]
    fn too_many_requests_and_request_timeouts_are_retried() {
        for status in ["429 Too Many Requests", "408 Request Timeout"] {
            let e = classify(Error::BadResponse(status.into()), "insert");
            assert_eq!(e.kind(), SinkErrorKind::Retryable, "{status}");
        }
        for status in ["400 Bad Request", "413 Payload Too Large"] {
            let e = classify(Error::BadResponse(status.into()), "insert");
            assert_eq!(e.kind(), SinkErrorKind::Permanent, "{status}");
            assert!(!e.is_caused_by_data());
        }
    }
}
