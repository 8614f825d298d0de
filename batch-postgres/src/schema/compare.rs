//! The comparison of a row type with the live table: pure, so it is unit-tested without
//! a server.
//!
//! - Every field must have a column of the same name (names are case-sensitive: the
//!   sink quotes them), that is not a generated column, and whose type the field's Rust
//!   type is written to correctly: the field type's `Encode<PgBinary>::accepts`, run
//!   when the schema carries the rules (`i32` into `int4` only; `String` into `text`,
//!   `varchar`, `character`, `name`, `citext`, enum types, `json` and `jsonb`; …).
//! - An `Option<T>` field on a NOT NULL column is an **error**, not a warning: COPY
//!   does not apply a column default to an explicit NULL, so a single `None` would fail
//!   its whole batch with a NOT NULL violation at run time. Make the field non-optional,
//!   or drop the constraint.
//! - A NOT NULL column that the struct leaves out is an error unless it has a default,
//!   is an identity column, or is generated.
//!
//! Every mismatch is collected, so one error lists them all.

use batch_core::{ColumnMismatch, Schema};

use crate::copy::PgType;

/// One column of the live table, as read from the catalog.
#[derive(Debug, Clone)]
pub(crate) struct ServerColumn {
    pub(crate) name: String,
    pub(crate) ty: PgType,
    pub(crate) not_null: bool,
    pub(crate) has_default: bool,
    pub(crate) identity: bool,
    pub(crate) generated: bool,
}

/// Compares the row's columns with the table's. Returns the resolved type of each row
/// column, in row order, or every mismatch.
pub(crate) fn compare(
    schema: &Schema,
    table: &[ServerColumn],
) -> Result<Vec<PgType>, Vec<ColumnMismatch>> {
    let row = schema.columns;
    let mut resolved = Vec::with_capacity(row.len());
    let mut mismatches = Vec::new();
    for (i, col) in row.iter().enumerate() {
        let mismatch = |server: Option<&PgType>, reason: String| ColumnMismatch {
            column: col.name.to_owned(),
            rust_type: Some(col.rust_type.to_owned()),
            server_type: server.map(|t| t.name().to_owned()),
            reason,
        };
        let Some(server) = table.iter().find(|s| s.name == col.name) else {
            let reason = match table.iter().find(|s| s.name.eq_ignore_ascii_case(col.name)) {
                Some(s) => format!(
                    "the table has no such column, but has `{}` (column names are case-sensitive)",
                    s.name
                ),
                None => "the table has no such column".to_owned(),
            };
            mismatches.push(mismatch(None, reason));
            continue;
        };
        if server.generated {
            mismatches.push(mismatch(
                Some(&server.ty),
                "a generated column cannot be written; leave the field out with #[batch(skip)]"
                    .to_owned(),
            ));
            continue;
        }
        if let Some(Err(reason)) = schema.accepts(i, &server.ty) {
            // A declared type is named: the rule is what checks it (it was a compile
            // error, through a second table of types).
            let reason = match col.declared {
                Some(d) => format!(
                    "the field type does not fit the column, declared `{d}` \
                     (#[batch(type = \"{d}\")]): {reason}"
                ),
                None => reason.to_string(),
            };
            mismatches.push(mismatch(Some(&server.ty), reason));
            continue;
        }
        if col.nullable() && server.not_null {
            mismatches.push(mismatch(
                Some(&server.ty),
                "the column is NOT NULL, so a None would fail its whole batch; \
                 make the field non-optional or drop the NOT NULL constraint"
                    .to_owned(),
            ));
            continue;
        }
        resolved.push(server.ty.clone());
    }
    for server in table {
        let required =
            server.not_null && !server.has_default && !server.identity && !server.generated;
        if required && !row.iter().any(|c| c.name == server.name) {
            mismatches.push(ColumnMismatch {
                column: server.name.clone(),
                rust_type: None,
                server_type: Some(server.ty.name().to_owned()),
                reason: "the column is NOT NULL and has no default; add a field for it".to_owned(),
            });
        }
    }
    if mismatches.is_empty() {
        Ok(resolved)
    } else {
        Err(mismatches)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use batch_derive::BatchRow;

    use super::*;
    use crate::copy::oid;
    use crate::PgBinary;

    fn server(name: &str, ty: PgType) -> ServerColumn {
        ServerColumn {
            name: name.into(),
            ty,
            not_null: false,
            has_default: false,
            identity: false,
            generated: false,
        }
    }

    fn int4() -> PgType {
        PgType::builtin(oid::INT4, "integer")
    }

    #[derive(BatchRow)]
    #[batch(crate = "batch_core")]
    #[allow(dead_code)]
    struct Row {
        id: i64,
        #[batch(rename = "Name")]
        name: String,
        note: Option<String>,
        total: i32,
        ok: bool,
    }

    #[derive(BatchRow)]
    #[batch(crate = "batch_core")]
    #[allow(dead_code)]
    struct Flag {
        ok: bool,
    }

    #[test]
    fn reports_every_mismatch() {
        let table = [
            server("id", int4()),
            server("name", PgType::builtin(oid::TEXT, "text")),
            ServerColumn {
                not_null: true,
                ..server("note", PgType::builtin(oid::TEXT, "text"))
            },
            ServerColumn {
                generated: true,
                has_default: true,
                ..server("total", int4())
            },
            server("ok", PgType::builtin(oid::BOOL, "boolean")),
            ServerColumn {
                not_null: true,
                ..server("required", int4())
            },
            ServerColumn {
                not_null: true,
                identity: true,
                ..server("serial", int4())
            },
            ServerColumn {
                not_null: true,
                has_default: true,
                ..server("created", int4())
            },
        ];
        let m = compare(&Schema::checked::<Row, PgBinary>(), &table).unwrap_err();
        let lines: Vec<(String, String)> = m.into_iter().map(|m| (m.column, m.reason)).collect();
        assert_eq!(
            lines,
            [
                ("id".into(), "this field type needs bigint".into()),
                (
                    "Name".into(),
                    "the table has no such column, but has `name` (column names are case-sensitive)"
                        .into()
                ),
                (
                    "note".into(),
                    "the column is NOT NULL, so a None would fail its whole batch; make the \
                     field non-optional or drop the NOT NULL constraint"
                        .into()
                ),
                (
                    "total".into(),
                    "a generated column cannot be written; leave the field out with #[batch(skip)]"
                        .into()
                ),
                (
                    "required".into(),
                    "the column is NOT NULL and has no default; add a field for it".into()
                ),
            ]
        );
        let ok = compare(&Schema::checked::<Flag, PgBinary>(), &table[4..5]).unwrap();
        assert_eq!(ok, [PgType::builtin(oid::BOOL, "boolean")]);
        // Without the rules, only the names, generated columns and nullability are
        // compared.
        assert_eq!(compare(&Schema::of::<Row>(), &table).unwrap_err().len(), 4);
    }
}
