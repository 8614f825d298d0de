//! Turning tokio-postgres and pool errors into classified [`SinkError`]s.
//!
//! The SQLSTATE codes and their classes are those of the PostgreSQL documentation,
//! Appendix A "PostgreSQL Error Codes"
//! (<https://www.postgresql.org/docs/15/errcodes-appendix.html>). By SQLSTATE:
//! - **Retryable**: connection loss (no SQLSTATE, or class `08` but `08P01`), `40001`
//!   serialization failure, `40P01` deadlock, `55P03` lock not available, `55006` object
//!   in use, `25006` read-only transaction (a primary that became a standby after a
//!   failover), `25P03` idle-in-transaction timeout, `57014` query cancelled (the sink's
//!   own `statement_timeout`), `57P01`..`57P05` server shutdown, start-up, dropped
//!   database and idle-session timeout, class `53` (insufficient resources, such as
//!   `53300` too many connections) and class `58` (system errors: I/O, files).
//! - **Permanent, caused by the data**: class `22` (data exception) and `23` (integrity
//!   constraint violation), with the index of the failing row taken from the server's
//!   `CONTEXT` line (`COPY t, line N`: line 1 is the first row of the batch) when it
//!   names one; the batcher can split such a batch to isolate the bad rows.
//! - **Permanent** for the whole batch: every SQLSTATE not listed here.
//! - **Config**: authentication (`28xxx`), a missing database (`3D000`).
//! - **Schema change**: `42703` undefined column, `42804` datatype mismatch, `42P01`
//!   undefined table, `3F000` undefined schema, `42501` insufficient privilege, and
//!   `08P01` (in a COPY: a field's bytes do not fit the column type, so the type
//!   changed): the sink runs the schema check again and reports what changed, or else
//!   the error as permanent.

use batch_core::{SinkError, SinkErrorKind};
use tokio_postgres::error::DbError;

/// What to do with a failed COPY.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Report this error.
    Error(SinkError),
    /// The table may have changed: run the schema check again; report this error if it
    /// finds nothing.
    Recheck(SinkError),
}

fn db_message(db: &DbError) -> String {
    let mut m = db.message().to_owned();
    if let Some(detail) = db.detail() {
        m.push_str(" (");
        m.push_str(detail);
        m.push(')');
    }
    m
}

/// The 0-based row index from a binary COPY `CONTEXT` line such as
/// `COPY events, line 3, column id` (line 1 is the first row).
pub(crate) fn row_from_context(context: &str) -> Option<usize> {
    let line = context.lines().find(|l| l.starts_with("COPY "))?;
    let rest = &line[line.find(", line ")? + ", line ".len()..];
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse::<usize>().ok()?.checked_sub(1)
}

/// Classifies an error of a COPY of `rows` rows.
pub(crate) fn classify(err: tokio_postgres::Error, what: &str, rows: usize) -> Outcome {
    let Some(db) = err.as_db_error() else {
        return Outcome::Error(
            SinkError::retryable(format!("{what}: connection to PostgreSQL failed: {err}"))
                .with_source(err),
        );
    };
    let code = db.code().code().to_owned();
    let data = is_data_error(&code);
    let row = if data {
        db.where_().and_then(row_from_context).filter(|r| *r < rows)
    } else {
        None
    };
    let message = match row {
        Some(row) => format!("{what}: row {row} of the batch: {}", db_message(db)),
        None => format!("{what}: {}", db_message(db)),
    };
    let kind = kind_of(&code);
    let mut error =
        SinkError::new(kind.unwrap_or(SinkErrorKind::Permanent), message).with_code(code.clone());
    if let Some(row) = row {
        error = error.with_row(row);
    } else if data {
        error = error.caused_by_data();
    }
    let error = error.with_source(err);
    if kind.is_none() {
        Outcome::Recheck(error)
    } else {
        Outcome::Error(error)
    }
}

/// Whether the rows caused the error: class `22` (data exception) or `23` (integrity
/// constraint violation).
fn is_data_error(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("23")
}

/// The kind for a SQLSTATE, or `None` for a schema change (and then Permanent).
fn kind_of(code: &str) -> Option<SinkErrorKind> {
    Some(match code {
        // 08P01 during COPY: the server read a field whose bytes do not fit its type,
        // which means the column type changed since the check (never retry these).
        "42703" | "42804" | "42P01" | "3F000" | "42501" | "08P01" => return None,
        "40001" | "40P01" | "55P03" | "55006" | "25006" | "25P03" | "57014" | "57P01" | "57P02"
        | "57P03" | "57P04" | "57P05" => SinkErrorKind::Retryable,
        c if c.starts_with("08") || c.starts_with("53") || c.starts_with("58") => {
            SinkErrorKind::Retryable
        }
        c if c.starts_with("28") || c == "3D000" => SinkErrorKind::Config,
        _ => SinkErrorKind::Permanent,
    })
}

/// Classifies an error of a catalog query (no rows involved).
pub(crate) fn query_error(err: tokio_postgres::Error) -> SinkError {
    match classify(err, "reading the PostgreSQL catalog failed", 0) {
        Outcome::Error(e) | Outcome::Recheck(e) => e,
    }
}

/// Where a pool connects, for error messages.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoint {
    /// `host:port` of each host, when the sink built the pool.
    pub(crate) address: Option<String>,
}

impl Endpoint {
    fn at(&self) -> String {
        self.address
            .as_deref()
            .map_or_else(String::new, |a| format!(" at {a}"))
    }
}

/// Classifies an error of taking a connection from `pool`.
pub(crate) fn pool_error(
    err: deadpool_postgres::PoolError,
    pool: &deadpool_postgres::Pool,
    endpoint: &Endpoint,
) -> SinkError {
    use deadpool_postgres::{PoolError, TimeoutType};
    let at = endpoint.at();
    let after =
        |t: Option<std::time::Duration>| t.map_or_else(String::new, |t| format!(" after {t:?}"));
    match err {
        PoolError::Backend(e) => {
            match classify(e, &format!("connecting to PostgreSQL{at} failed"), 0) {
                Outcome::Error(e) | Outcome::Recheck(e) => e,
            }
        }
        PoolError::Timeout(TimeoutType::Create) => SinkError::retryable(format!(
            "connecting to PostgreSQL{at} timed out{}: the server did not answer (is \
             something else listening on that port, or is the network dropping packets?)",
            after(pool.timeouts().create)
        ))
        .with_source(err),
        PoolError::Timeout(TimeoutType::Wait) => SinkError::retryable(format!(
            "no PostgreSQL connection{at} became free{}: all {} are in use",
            after(pool.timeouts().wait),
            pool.status().max_size
        ))
        .with_source(err),
        PoolError::Closed => SinkError::new(
            SinkErrorKind::Config,
            "the PostgreSQL connection pool is closed",
        ),
        PoolError::NoRuntimeSpecified => SinkError::new(
            SinkErrorKind::Config,
            format!("the PostgreSQL connection pool is misconfigured: {err}"),
        ),
        other => SinkError::retryable(format!(
            "getting a PostgreSQL connection{at} from the pool failed: {other}"
        ))
        .with_source(other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn rows_from_context_lines() {
        assert_eq!(row_from_context("COPY t, line 1, column id"), Some(0));
        assert_eq!(row_from_context("COPY \"we ird\", line 1500"), Some(1499));
        assert_eq!(
            row_from_context("SQL function \"f\" statement 1\nCOPY t, line 7"),
            Some(6)
        );
        assert_eq!(row_from_context("COPY t, line 0"), None);
        assert_eq!(
            row_from_context("PL/pgSQL function g() line 3 at RAISE"),
            None
        );
    }

    #[test]
    fn kinds_by_sqlstate() {
        for c in [
            "40001", "40P01", "57P01", "53300", "08006", "08000", "55P03", "57014", "25006",
            "57P04", "57P05", "55006", "58000", "58030", "58P01", "25P03",
        ] {
            assert_eq!(kind_of(c), Some(SinkErrorKind::Retryable), "{c}");
        }
        for c in [
            "22001", "23505", "23514", "XX000", "0A000", "25001", "55000",
        ] {
            assert_eq!(kind_of(c), Some(SinkErrorKind::Permanent), "{c}");
        }
        for c in ["28P01", "3D000"] {
            assert_eq!(kind_of(c), Some(SinkErrorKind::Config), "{c}");
        }
        for c in ["42703", "42804", "08P01"] {
            assert_eq!(kind_of(c), None, "{c}");
        }
    }

    #[test]
    fn data_errors_are_classes_22_and_23() {
        for c in [
            "22001", "22003", "22P02", "23505", "23514", "23502", "23503",
        ] {
            assert!(is_data_error(c), "{c}");
        }
        for c in ["25006", "40001", "42703", "57014", "XX000", "2F000"] {
            assert!(!is_data_error(c), "{c}");
        }
    }
}
