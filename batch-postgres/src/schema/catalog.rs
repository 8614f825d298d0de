//! Reading the table and its column types from the catalog.

use std::collections::HashMap;

use batch_core::SinkError;
use tokio_postgres::Client;

use super::compare::ServerColumn;
use super::TableName;
use crate::copy::{PgType, PgTypeKind};
use crate::sink::classify::query_error;

/// The table, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) oid: u32,
    pub(crate) schema: String,
    pub(crate) name: String,
}

impl Table {
    /// `schema.table`, for messages.
    pub(crate) fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

fn config(message: String) -> SinkError {
    SinkError::new(batch_core::SinkErrorKind::Config, message)
}

/// Finds the table: in the given schema, or through the `search_path`.
pub(crate) async fn resolve(client: &Client, name: &TableName) -> Result<Table, SinkError> {
    let user: String = client
        .query_one("SELECT current_user::text", &[])
        .await
        .map_err(query_error)?
        .get(0);
    let row = match &name.schema {
        Some(schema) => {
            let Some(ns) = client
                .query_opt(
                    "SELECT oid, has_schema_privilege(oid, 'USAGE') FROM pg_namespace \
                     WHERE nspname = $1",
                    &[schema],
                )
                .await
                .map_err(query_error)?
            else {
                return Err(config(format!("schema \"{schema}\" does not exist")));
            };
            if !ns.get::<_, bool>(1) {
                return Err(config(format!(
                    "permission denied: role \"{user}\" has no USAGE privilege on schema \
                     \"{schema}\" (GRANT USAGE ON SCHEMA \"{schema}\" TO \"{user}\")"
                )));
            }
            let ns_oid: u32 = ns.get(0);
            client
                .query_opt(
                    "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relnamespace = $1 AND c.relname = $2",
                    &[&ns_oid, &name.table],
                )
                .await
                .map_err(query_error)?
                .ok_or_else(|| {
                    config(format!(
                        "table \"{schema}\".\"{}\" does not exist",
                        name.table
                    ))
                })?
        }
        None => match client
            .query_opt(
                "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.oid = to_regclass(quote_ident($1))",
                &[&name.table],
            )
            .await
            .map_err(query_error)?
        {
            Some(row) => row,
            None => return Err(not_in_search_path(client, &name.table, &user).await),
        },
    };
    let relkind: String = row.get(3);
    let table = Table {
        oid: row.get(0),
        schema: row.get(1),
        name: row.get(2),
    };
    match relkind.as_str() {
        "r" | "p" | "f" => Ok(table),
        "v" | "m" => Err(config(format!(
            "{} is a view, and COPY FROM writes only to tables",
            table.display()
        ))),
        _ => Err(config(format!(
            "{} is not a table (relkind '{relkind}')",
            table.display()
        ))),
    }
}

/// The error for a table the `search_path` does not find, with hints.
async fn not_in_search_path(client: &Client, table: &str, user: &str) -> SinkError {
    let path: String = match client
        .query_one("SELECT array_to_string(current_schemas(false), ', ')", &[])
        .await
    {
        Ok(row) => row.get(0),
        Err(e) => return query_error(e),
    };
    let elsewhere = match client
        .query(
            "SELECT n.nspname::text, has_schema_privilege(n.oid, 'USAGE') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'f') ORDER BY 1",
            &[&table],
        )
        .await
    {
        Ok(rows) => rows,
        Err(e) => return query_error(e),
    };
    let mut message = format!(
        "table \"{table}\" does not exist in the search_path (schemas: {})",
        if path.is_empty() { "none" } else { &path }
    );
    for row in elsewhere {
        let schema: String = row.get(0);
        if row.get::<_, bool>(1) {
            message.push_str(&format!(
                "; schema \"{schema}\" has a table of that name: name the schema to use it"
            ));
        } else {
            message.push_str(&format!(
                "; schema \"{schema}\" has a table of that name, but role \"{user}\" has no \
                 USAGE privilege on that schema"
            ));
        }
    }
    config(message)
}

/// Checks that the role may run `COPY … FROM` into the columns, and that row-level
/// security does not forbid it.
pub(crate) async fn check_access(
    client: &Client,
    table: &Table,
    columns: &[&str],
) -> Result<(), SinkError> {
    let row = client
        .query_one(
            "SELECT current_user::text, has_table_privilege($1::oid, 'INSERT'), \
             row_security_active($1::oid), \
             ARRAY(SELECT a.attname::text FROM pg_attribute a \
                   WHERE a.attrelid = $1::oid AND a.attname::text = ANY($2::text[]) \
                   AND NOT has_column_privilege($1::oid, a.attnum, 'INSERT') \
                   ORDER BY a.attnum)",
            &[&table.oid, &columns],
        )
        .await
        .map_err(query_error)?;
    let user: String = row.get(0);
    let table_insert: bool = row.get(1);
    let rls: bool = row.get(2);
    let denied: Vec<String> = row.get(3);
    if !table_insert && !denied.is_empty() {
        return Err(config(format!(
            "permission denied: role \"{user}\" may not INSERT into table {} (columns: {}); \
             GRANT INSERT ON \"{}\".\"{}\" TO \"{user}\"",
            table.display(),
            denied.join(", "),
            table.schema,
            table.name
        )));
    }
    if rls {
        return Err(config(format!(
            "row-level security is active on table {} for role \"{user}\", and COPY FROM does \
             not support it; insert as a role that bypasses it (the owner, or BYPASSRLS)",
            table.display()
        )));
    }
    Ok(())
}

/// One row of `pg_type`.
#[derive(Debug)]
struct TypeRow {
    name: String,
    typtype: String,
    typelem: u32,
    typbasetype: u32,
    typtypmod: i32,
    receive: String,
    typname: String,
}

/// Reads the table's columns and resolves their types (domains, arrays, enums).
pub(crate) async fn columns(
    client: &Client,
    table: &Table,
) -> Result<Vec<ServerColumn>, SinkError> {
    let rows = client
        .query(
            "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attnotnull, a.atthasdef, \
             a.attidentity <> '', a.attgenerated <> '', format_type(a.atttypid, a.atttypmod) \
             FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 \
             AND NOT a.attisdropped ORDER BY a.attnum",
            &[&table.oid],
        )
        .await
        .map_err(query_error)?;

    // Load every type reachable from the columns: domain bases and array elements.
    let mut types: HashMap<u32, TypeRow> = HashMap::new();
    let mut wanted: Vec<u32> = rows.iter().map(|r| r.get::<_, u32>(1)).collect();
    while !wanted.is_empty() {
        wanted.sort_unstable();
        wanted.dedup();
        let found = client
            .query(
                "SELECT oid, format_type(oid, NULL), typtype::text, typelem, typbasetype, \
                 typtypmod, typreceive::text, typname::text FROM pg_type \
                 WHERE oid = ANY($1::oid[])",
                &[&wanted],
            )
            .await
            .map_err(query_error)?;
        wanted.clear();
        for r in found {
            let t = TypeRow {
                name: r.get(1),
                typtype: r.get(2),
                typelem: r.get(3),
                typbasetype: r.get(4),
                typtypmod: r.get(5),
                receive: r.get(6),
                typname: r.get(7),
            };
            for next in [t.typelem, t.typbasetype] {
                if next != 0 && !types.contains_key(&next) {
                    wanted.push(next);
                }
            }
            types.insert(r.get(0), t);
        }
        wanted.retain(|o| !types.contains_key(o));
    }
    let enums: Vec<u32> = types
        .iter()
        .filter(|(_, t)| t.typtype == "e")
        .map(|(o, _)| *o)
        .collect();
    let mut labels: HashMap<u32, Vec<String>> = HashMap::new();
    if !enums.is_empty() {
        for r in client
            .query(
                "SELECT enumtypid, enumlabel::text FROM pg_enum WHERE enumtypid = ANY($1::oid[]) \
                 ORDER BY enumtypid, enumsortorder",
                &[&enums],
            )
            .await
            .map_err(query_error)?
        {
            labels.entry(r.get(0)).or_default().push(r.get(1));
        }
    }

    Ok(rows
        .iter()
        .map(|r| {
            let mut ty = resolve_type(r.get(1), r.get(2), &types, &labels, 0);
            ty.name = r.get(7);
            ServerColumn {
                name: r.get(0),
                ty,
                not_null: r.get(3),
                has_default: r.get(4),
                identity: r.get(5),
                generated: r.get(6),
            }
        })
        .collect())
}

/// Builds the [`PgType`] of type `oid` with modifier `typmod`, looking through domains.
fn resolve_type(
    oid: u32,
    mut typmod: i32,
    types: &HashMap<u32, TypeRow>,
    labels: &HashMap<u32, Vec<String>>,
    depth: u32,
) -> PgType {
    let other = |name: String, typmod: i32| PgType {
        oid,
        base: oid,
        typmod,
        name,
        kind: PgTypeKind::Other,
    };
    let Some(own) = types.get(&oid) else {
        return other(format!("type {oid}"), typmod);
    };
    // Domains: the binary format is the base type's; a domain's typmod (varchar(5))
    // applies when the column has none.
    let mut base = oid;
    let mut t = own;
    let mut hops = 0;
    while t.typtype == "d" && hops < 32 {
        if typmod == -1 {
            typmod = t.typtypmod;
        }
        base = t.typbasetype;
        match types.get(&base) {
            Some(next) => t = next,
            None => return other(own.name.clone(), typmod),
        }
        hops += 1;
    }
    let kind = match t.typtype.as_str() {
        "e" => PgTypeKind::Enum(labels.get(&base).cloned().unwrap_or_default()),
        "b" if t.receive == "array_recv" && t.typelem != 0 && depth < 4 => PgTypeKind::Array(
            Box::new(resolve_type(t.typelem, typmod, types, labels, depth + 1)),
        ),
        "b" if t.typname == "citext" => PgTypeKind::Citext,
        "b" => PgTypeKind::Base,
        _ => PgTypeKind::Other,
    };
    PgType {
        oid,
        base,
        typmod,
        name: own.name.clone(),
        kind,
    }
}
