//! The row type against one table's columns: every mismatch at once, and the type each
//! column is encoded with.

use batch_core::{ColumnMismatch, Schema, SchemaMismatch};

use super::ServerColumn;
use crate::kinds::{complete, declared_matches};
use crate::types::{is_clickhouse_spelling, ChType};

/// Compares every column of the row type with the table's and resolves the type each
/// column is encoded with, in the order of `schema.columns`.
///
/// # Errors
///
/// A [`SchemaMismatch`] that lists every column that does not fit: a field the table
/// lacks, a type the field cannot be written to (nullability included: the field type's
/// `Encode::accepts`, when `schema` carries the rules), a declared type the field type
/// does not fit (the same rule) or that is not the server's, a column that cannot be inserted into (`MATERIALIZED`, `ALIAS`), and a table
/// column the struct leaves out that has no default.
pub(crate) fn check(
    table_label: &str,
    schema: &Schema,
    server: &[ServerColumn],
) -> Result<Vec<ChType>, SchemaMismatch> {
    let mut mismatches = Vec::new();
    let mut resolved = Vec::with_capacity(schema.columns.len());
    for (i, c) in schema.columns.iter().enumerate() {
        let mut mismatch = |server_type: Option<&str>, reason: String| {
            mismatches.push(ColumnMismatch {
                column: c.name.to_owned(),
                rust_type: Some(c.rust_type.to_owned()),
                server_type: server_type.map(str::to_owned),
                reason,
            });
        };
        let Some(s) = server.iter().find(|s| s.name == c.name) else {
            mismatch(None, "the table has no such column".to_owned());
            continue;
        };
        let st = Some(s.type_name.as_str());
        if matches!(s.default_kind.as_str(), "MATERIALIZED" | "ALIAS") {
            mismatch(
                st,
                format!(
                    "{} columns cannot be inserted into: remove the field or mark it \
                     #[batch(skip)]",
                    s.default_kind
                ),
            );
            continue;
        }
        let ty = match ChType::parse(&s.type_name) {
            Ok(ty) => ty,
            Err(e) => {
                mismatch(st, format!("batchrow cannot read this server type: {e}"));
                continue;
            }
        };
        if let Some(d) = c.declared.filter(|d| !is_clickhouse_spelling(d)) {
            mismatch(
                st,
                format!(
                    "the field declares `{d}`, which is not a ClickHouse type (a PostgreSQL \
                     spelling?); declare the ClickHouse type, such as `{}`, or remove \
                     #[batch(type = \"..\")]",
                    s.type_name
                ),
            );
            continue;
        }
        if let Some(d) = c.declared {
            match ChType::parse(d) {
                Ok(declared) => {
                    let declared = complete(&c.kind, declared);
                    // The declared type first: the field must fit it whatever the table
                    // says (this was a compile error, through a second table of types).
                    if let Some(Err(reason)) = schema.accepts(i, &declared) {
                        mismatch(
                            st,
                            format!(
                                "the field type does not fit its declared type `{declared}` \
                                 (#[batch(type = \"{d}\")]): {reason}"
                            ),
                        );
                        continue;
                    }
                    if !declared_matches(&declared, &ty) {
                        mismatch(
                            st,
                            format!(
                                "the field declares the type `{declared}` \
                                 (#[batch(type = \"{d}\")]), but the server's is different"
                            ),
                        );
                        continue;
                    }
                }
                Err(e) => {
                    mismatch(st, format!("the declared type does not parse: {e}"));
                    continue;
                }
            }
        }
        match schema.accepts(i, &ty) {
            Some(Err(reason)) => mismatch(st, reason.to_string()),
            _ => resolved.push(ty),
        }
    }
    for s in server {
        if schema.columns.iter().any(|c| c.name == s.name) {
            continue;
        }
        if s.default_kind.is_empty() {
            mismatches.push(ColumnMismatch {
                column: s.name.clone(),
                rust_type: None,
                server_type: Some(s.type_name.clone()),
                reason: "the column has no DEFAULT, MATERIALIZED or ALIAS expression, so \
                         every insert must set it: add a field for it"
                    .to_owned(),
            });
        }
    }
    if mismatches.is_empty() {
        Ok(resolved)
    } else {
        Err(SchemaMismatch {
            table: table_label.to_owned(),
            columns: mismatches,
        })
    }
}
