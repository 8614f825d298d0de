//! The report of a schema check: every column that does not fit, at once.

use std::fmt;

use crate::format::Format;
use crate::row::{Column, EncodeRow};

/// One column of the row type that does not fit the live table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMismatch {
    /// The column name.
    pub column: String,
    /// The Rust type of the field, or `None` for a table column the struct leaves out.
    pub rust_type: Option<String>,
    /// The server's column type, or `None` when the table has no such column.
    pub server_type: Option<String>,
    /// Why they do not fit, and what to change.
    pub reason: String,
}

/// The row type does not fit the live table. Lists every mismatched column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaMismatch {
    /// The table, as the sink names it (for example `db.events`).
    pub table: String,
    /// Every column that does not fit.
    pub columns: Vec<ColumnMismatch>,
}

impl fmt::Display for SchemaMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.columns.len();
        write!(
            f,
            "the row type does not match table {} ({n} column{}):",
            self.table,
            if n == 1 { "" } else { "s" }
        )?;
        for c in &self.columns {
            write!(f, "\n  - column `{}`: ", c.column)?;
            match (&c.rust_type, &c.server_type) {
                (Some(r), Some(s)) => write!(f, "field type `{r}`, server type `{s}`: ")?,
                (Some(r), None) => write!(f, "field type `{r}`, not in the table: ")?,
                (None, Some(s)) => write!(f, "server type `{s}`, not in the struct: ")?,
                (None, None) => {}
            }
            f.write_str(&c.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for SchemaMismatch {}

/// Runs every field's compatibility rule ([`Encode::accepts`](crate::Encode::accepts))
/// of row type `R` against the columns a sink resolved, and lists every column that does
/// not take its field. The batcher runs it after [`Sink::prepare`](crate::Sink::prepare),
/// so a sink that does not run the rules itself is covered too.
///
/// # Errors
///
/// A [`SchemaMismatch`] for `table` with every refused column.
///
/// # Examples
///
/// ```
/// use batch_core::doc_support::{DocColumn, DocFormat, Event};
/// use batch_core::check_columns;
///
/// check_columns::<Event, DocFormat>("events", &[DocColumn::U64, DocColumn::Str])?;
/// # Ok::<(), batch_core::SchemaMismatch>(())
/// ```
pub fn check_columns<R: EncodeRow<F> + ?Sized, F: Format>(
    table: &str,
    columns: &[F::Column],
) -> Result<(), SchemaMismatch> {
    let mismatches: Vec<ColumnMismatch> = R::COLUMNS
        .iter()
        .zip(columns)
        .enumerate()
        .filter_map(|(i, (c, server))| match R::accepts_column(i, server)? {
            Ok(()) => None,
            Err(reason) => Some(ColumnMismatch {
                column: c.name.to_owned(),
                rust_type: Some(c.rust_type.to_owned()),
                server_type: Some(F::type_name(server)),
                reason: reason.to_string(),
            }),
        })
        .collect();
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(SchemaMismatch {
            table: table.to_owned(),
            columns: mismatches,
        })
    }
}

/// Compares the column types a sink resolved before the first row (`before`) with the
/// ones the table has now (`now`, in the same order), and lists every column whose type
/// changed, even to one the field still fits: rows were encoded for the old type, so the
/// batcher must be restarted. `None` when nothing changed. Both built-in sinks report a
/// table changed under them with it, after an insert failed in a way that suggests so.
///
/// # Examples
///
/// ```
/// use batch_core::doc_support::{DocColumn, DocFormat, Event};
/// use batch_core::{changed_columns, BatchRow};
///
/// let before = [DocColumn::U64, DocColumn::Str];
/// let now = [DocColumn::U64, DocColumn::U64];
/// let m = changed_columns::<DocFormat>("events", Event::COLUMNS, &before, &now).unwrap();
/// assert_eq!(m.columns.len(), 1);
/// assert_eq!(m.columns[0].column, "name");
/// assert!(changed_columns::<DocFormat>("events", Event::COLUMNS, &before, &before).is_none());
/// ```
pub fn changed_columns<F: Format>(
    table: &str,
    columns: &[Column],
    before: &[F::Column],
    now: &[F::Column],
) -> Option<SchemaMismatch>
where
    F::Column: PartialEq,
{
    let changed: Vec<ColumnMismatch> = columns
        .iter()
        .zip(before.iter().zip(now))
        .filter(|(_, (b, n))| b != n)
        .map(|(c, (b, n))| {
            let (was, is) = (F::type_name(b), F::type_name(n));
            let remade = if was == is {
                " (a type of the same name was made again)"
            } else {
                ""
            };
            ColumnMismatch {
                column: c.name.to_owned(),
                rust_type: Some(c.rust_type.to_owned()),
                server_type: Some(is),
                reason: format!(
                    "the column's type changed from `{was}`{remade} after the sink \
                     started; batches were encoded for the old type: restart the batcher"
                ),
            }
        })
        .collect();
    (!changed.is_empty()).then(|| SchemaMismatch {
        table: table.to_owned(),
        columns: changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_column() {
        let m = SchemaMismatch {
            table: "db.t".into(),
            columns: vec![
                ColumnMismatch {
                    column: "a".into(),
                    rust_type: Some("u64".into()),
                    server_type: Some("Int32".into()),
                    reason: "a u64 needs UInt64".into(),
                },
                ColumnMismatch {
                    column: "b".into(),
                    rust_type: None,
                    server_type: Some("String".into()),
                    reason: "the column has no default".into(),
                },
            ],
        };
        assert_eq!(
            m.to_string(),
            "the row type does not match table db.t (2 columns):\n  \
             - column `a`: field type `u64`, server type `Int32`: a u64 needs UInt64\n  \
             - column `b`: server type `String`, not in the struct: the column has no default"
        );
    }
}
