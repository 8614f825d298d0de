//! The PostgreSQL sink's schema check and error classification against a real server:
//! every mismatch in one error, missing table / schema, missing privileges, a table that
//! changes under a running sink, and bad rows reported with their index.
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test uses its own tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::postgres as pg;

use std::sync::{Arc, Mutex};

use batchrow::postgres::PostgresSink;
use batchrow::{BatchRow, Batcher, FailedBatch, FailureCause, Sender, SinkErrorKind};

#[derive(BatchRow, Debug, Clone)]
struct Item {
    id: i32,
    name: String,
}

#[derive(BatchRow)]
struct Wrong {
    id: i64,
    name: String,
    note: Option<String>,
    #[batch(rename = "Flag")]
    flag: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn five_mismatches_in_one_error() {
    let c = pg::client().await;
    let table = pg::unique("mismatch");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4, name timestamp, note text NOT NULL, flag bool, \
         must int4 NOT NULL, later int4 NOT NULL DEFAULT 0, \
         serial int8 GENERATED ALWAYS AS IDENTITY)"
    ))
    .await
    .unwrap();
    let sink = pg::sink(&table);
    let err = pg::prepare::<Wrong>(sink).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(
        err.to_string(),
        format!(
            "the row type does not match table public.{table} (5 columns):\n  \
             - column `id`: field type `i64`, server type `integer`: this field type needs \
             bigint\n  \
             - column `name`: field type `String`, server type `timestamp without time zone`: \
             this field type needs text, varchar(n), character(n), name, citext, an enum \
             type, json or jsonb\n  \
             - column `note`: field type `Option<String>`, server type `text`: the column is \
             NOT NULL, so a None would fail its whole batch; make the field non-optional or \
             drop the NOT NULL constraint\n  \
             - column `Flag`: field type `bool`, not in the table: the table has no such \
             column, but has `flag` (column names are case-sensitive)\n  \
             - column `must`: server type `integer`, not in the struct: the column is NOT \
             NULL and has no default; add a field for it"
        )
    );
    let mismatch = err.mismatch().unwrap();
    let names: Vec<&str> = mismatch.columns.iter().map(|c| c.column.as_str()).collect();
    assert_eq!(names, ["id", "name", "note", "Flag", "must"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_table_schema_and_views_are_config_errors() {
    let c = pg::client().await;
    let table = pg::unique("nosuch");
    let err = pg::prepare::<Item>(pg::sink(&table)).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        format!("table \"{table}\" does not exist in the search_path (schemas: public)")
    );

    let schema = pg::unique("nosuch_schema");
    let err = pg::prepare::<Item>(pg::sink("item").schema(&schema))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        format!("schema \"{schema}\" does not exist")
    );

    // A table outside the search_path: the error says where it is.
    let other = pg::unique("elsewhere");
    c.batch_execute(&format!(
        "CREATE SCHEMA {other}; CREATE TABLE {other}.{table} (id int4, name text)"
    ))
    .await
    .unwrap();
    let err = pg::prepare::<Item>(pg::sink(&table)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "table \"{table}\" does not exist in the search_path (schemas: public); schema \
             \"{other}\" has a table of that name: name the schema to use it"
        )
    );
    let sink = pg::prepare::<Item>(pg::sink(&table).schema(&other))
        .await
        .unwrap();
    assert_eq!(
        sink.statement(),
        format!("COPY \"{other}\".\"{table}\" (\"id\", \"name\") FROM STDIN (FORMAT binary)")
    );

    let view = pg::unique("a_view");
    c.batch_execute(&format!(
        "CREATE VIEW {view} AS SELECT 1::int4 AS id, ''::text AS name"
    ))
    .await
    .unwrap();
    let err = pg::prepare::<Item>(pg::sink(&view)).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        format!("public.{view} is a view, and COPY FROM writes only to tables")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_privileges_are_config_errors() {
    let c = pg::client().await;
    let role = pg::unique("norights");
    let schema = pg::unique("locked");
    let table = pg::unique("guarded");
    c.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN PASSWORD 'pw'; \
         CREATE TABLE {table} (id int4, name text); \
         CREATE SCHEMA {schema}; CREATE TABLE {schema}.{table} (id int4, name text); \
         GRANT SELECT ON {table} TO {role}"
    ))
    .await
    .unwrap();
    let mut config: batchrow::postgres::tokio_postgres::Config = pg::url().parse().unwrap();
    config.user(&role).password("pw");
    let as_role = || {
        PostgresSink::builder(config.clone())
            .pool_size(2)
            .build()
            .unwrap()
            .table(&table)
    };

    let err = pg::prepare::<Item>(as_role()).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        format!(
            "permission denied: role \"{role}\" may not INSERT into table public.{table} \
             (columns: id, name); GRANT INSERT ON \"public\".\"{table}\" TO \"{role}\""
        )
    );

    let err = pg::prepare::<Item>(as_role().schema(&schema))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Config);
    assert_eq!(
        err.to_string(),
        format!(
            "permission denied: role \"{role}\" has no USAGE privilege on schema \"{schema}\" \
             (GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\")"
        )
    );

    // Column privileges are enough when they cover the struct's columns.
    c.batch_execute(&format!("GRANT INSERT (id, name) ON {table} TO {role}"))
        .await
        .unwrap();
    let sink = pg::prepare::<Item>(as_role()).await.unwrap();
    let columns = sink.columns().to_vec();
    let rows = [Item {
        id: 1,
        name: "a".into(),
    }];
    sink.send(&pg::batch_of(&rows, &columns, 100).unwrap())
        .await
        .unwrap();

    drop(sink);
    c.batch_execute(&format!(
        "DROP TABLE {table}; DROP SCHEMA {schema} CASCADE; DROP OWNED BY {role}; DROP ROLE {role}"
    ))
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_table_that_changes_is_checked_again() {
    let c = pg::client().await;
    let table = pg::unique("changing");
    c.batch_execute(&format!("CREATE TABLE {table} (id int4, name text)"))
        .await
        .unwrap();
    let sink = pg::prepare::<Item>(pg::sink(&table)).await.unwrap();
    let columns = sink.columns().to_vec();
    let rows: Vec<Item> = (0..10)
        .map(|id| Item {
            id,
            name: "x".into(),
        })
        .collect();
    let batch = pg::batch_of(&rows, &columns, 4).unwrap();
    sink.send(&batch).await.unwrap();

    // A type change: the bytes encoded for int4 no longer fit.
    c.batch_execute(&format!("ALTER TABLE {table} ALTER COLUMN id TYPE int8"))
        .await
        .unwrap();
    let err = sink.send(&batch).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(
        err.to_string(),
        format!(
            "the row type does not match table public.{table} (1 column):\n  \
             - column `id`: field type `i32`, server type `bigint`: this field type needs \
             integer"
        )
    );

    // A dropped column.
    c.batch_execute(&format!(
        "ALTER TABLE {table} ALTER COLUMN id TYPE int4; ALTER TABLE {table} DROP COLUMN name"
    ))
    .await
    .unwrap();
    let err = sink.send(&batch).await.unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(
        err.to_string(),
        format!(
            "the row type does not match table public.{table} (1 column):\n  \
             - column `name`: field type `String`, not in the table: the table has no such column"
        )
    );
    let n: i64 = c
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_permanent_errors_with_their_index() {
    let c = pg::client().await;
    let table = pg::unique("bad_rows");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4 PRIMARY KEY CHECK (id <> 13), name text NOT NULL)"
    ))
    .await
    .unwrap();
    let sink = pg::prepare::<Item>(pg::sink(&table)).await.unwrap();
    let columns = sink.columns().to_vec();
    let rows = |from: i32, n: i32| -> Vec<Item> {
        (from..from + n)
            .map(|id| Item {
                id,
                name: format!("n{id}"),
            })
            .collect()
    };
    sink.send(&pg::batch_of(&rows(100, 3000), &columns, 700).unwrap())
        .await
        .unwrap();

    // A CHECK violation in row 1777 (of chunks of 700 rows).
    let mut bad = rows(10_000, 2500);
    bad[1777].id = 13;
    let err = sink
        .send(&pg::batch_of(&bad, &columns, 700).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Permanent);
    assert_eq!(err.code(), Some("23514"));
    assert_eq!(err.row(), Some(1777));
    assert_eq!(
        err.to_string(),
        format!(
            "COPY into public.{table}: row 1777 of the batch: new row for relation \"{table}\" \
             violates check constraint \"{table}_id_check\" (Failing row contains (13, n11777).)"
        )
    );

    // A UNIQUE violation within the batch, found when the server flushes its buffered
    // rows (every 1000 rows): still the right row.
    let mut dup = rows(20_000, 2500);
    dup[2222].id = dup[5].id;
    let err = sink
        .send(&pg::batch_of(&dup, &columns, 1000).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Permanent);
    assert_eq!(err.code(), Some("23505"));
    assert_eq!(err.row(), Some(2222));

    // A UNIQUE violation against committed rows, in the first row.
    let err = sink
        .send(&pg::batch_of(&rows(100, 1), &columns, 1000).unwrap())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.row()), (Some("23505"), Some(0)));

    // A data error raised while the server reads a field (22003 numeric overflow).
    let num = pg::unique("bad_numeric");
    c.batch_execute(&format!(
        "CREATE TABLE {num} (id int4, name text, n numeric(5, -2) DEFAULT 0)"
    ))
    .await
    .unwrap();
    #[derive(BatchRow)]
    struct Num {
        id: i32,
        n: rust_decimal::Decimal,
    }
    let sink = pg::prepare::<Num>(pg::sink(&num)).await.unwrap();
    let columns = sink.columns().to_vec();
    let mut nums: Vec<Num> = (0..50)
        .map(|id| Num {
            id,
            n: rust_decimal::Decimal::new(12_345_678, 1),
        })
        .collect();
    nums[42].n = rust_decimal::Decimal::new(1_234_567_890, 0);
    let err = sink
        .send(&pg::batch_of(&nums, &columns, 10).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.code(), err.row()),
        (SinkErrorKind::Permanent, Some("22003"), Some(42))
    );

    let n: i64 = c
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3000, "failed batches commit nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_batcher_isolates_the_bad_row_the_sink_names() {
    let c = pg::client().await;
    let table = pg::unique("isolate");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4 PRIMARY KEY CHECK (id <> 537), name text NOT NULL)"
    ))
    .await
    .unwrap();
    let failed: Arc<Mutex<Vec<FailedBatch>>> = Arc::default();
    let sink_failed = failed.clone();
    let handle = Batcher::builder(pg::sink(&table))
        .max_rows(1000)
        .isolate_bad_rows(true)
        .dead_letter(move |f| sink_failed.lock().unwrap().push(f))
        .spawn::<Item>()
        .await
        .unwrap();
    for id in 0..1000 {
        handle
            .insert(Item {
                id,
                name: format!("n{id}"),
            })
            .await
            .unwrap();
    }
    let stats = handle.close().await.unwrap();
    assert_eq!(
        (stats.committed.rows, stats.failed.rows),
        (999, 1),
        "{stats:?}"
    );
    {
        let failed = failed.lock().unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].rows(), 1);
        match failed[0].cause() {
            FailureCause::Rejected(e) => {
                assert_eq!(
                    (e.kind(), e.code()),
                    (SinkErrorKind::Permanent, Some("23514"))
                );
            }
            other => panic!("expected a rejection, got {other}"),
        }
    }
    let row = c
        .query_one(
            &format!("SELECT count(*), count(*) FILTER (WHERE id = 537) FROM {table}"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (999, 0));
}

/// Declares types that are not the table's: `json` on a `jsonb` column, and a
/// ClickHouse spelling.
#[derive(BatchRow)]
struct DeclaredWrong {
    #[batch(type = "integer")]
    id: i32,
    #[batch(type = "varchar(20)")]
    name: String,
    #[batch(type = "json")]
    doc: String,
    #[batch(type = "LowCardinality(String)")]
    kind: String,
}

/// Declares the table's types, in other spellings PostgreSQL knows.
#[derive(BatchRow)]
struct DeclaredRight {
    #[batch(type = "int4")]
    id: i32,
    #[batch(type = "character varying")]
    name: String,
    #[batch(type = "JSONB")]
    doc: String,
    #[batch(type = "text")]
    kind: String,
}

/// `#[batch(type = "..")]` is checked against the table before the first row, as the
/// ClickHouse sink checks it: a PostgreSQL spelling must name the column's type (the
/// server reads the spelling; modifiers such as the length are not compared), and a
/// ClickHouse spelling is refused. The PostgreSQL sink used to ignore declared types.
#[tokio::test(flavor = "multi_thread")]
async fn declared_types_are_checked_against_the_table() {
    let c = pg::client().await;
    let table = pg::unique("declared");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int4 NOT NULL, name varchar(10) NOT NULL, \
         doc jsonb NOT NULL, kind text NOT NULL)"
    ))
    .await
    .unwrap();
    let err = pg::prepare::<DeclaredWrong>(pg::sink(&table))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), SinkErrorKind::Schema);
    assert_eq!(
        err.to_string(),
        format!(
            "the row type does not match table public.{table} (2 columns):\n  \
             - column `doc`: field type `String`, server type `jsonb`: the field declares the \
             type `json` (#[batch(type = \"json\")], which is `json`), but the column's is \
             different\n  \
             - column `kind`: field type `String`, server type `text`: the field declares \
             `LowCardinality(String)`, which is a ClickHouse type, not a PostgreSQL one; \
             declare the PostgreSQL type, such as `text`, or remove #[batch(type = \"..\")]"
        )
    );
    pg::prepare::<DeclaredRight>(pg::sink(&table))
        .await
        .unwrap();
}

/// Declared types that do not fit their fields (the field types of the derive's old UI
/// tests `type_does_not_fit` and `generic_type_does_not_fit`, in PostgreSQL spellings):
/// the table is as declared.
#[derive(BatchRow)]
struct Misfit<K> {
    #[batch(type = "bigint")]
    key: K,
    #[batch(type = "timestamp(3)")]
    at: String,
    #[batch(type = "integer")]
    count: i64,
    #[batch(type = "bytea")]
    code: Vec<i32>,
}

/// A declared type the field's Rust type does not fit is refused before the first row
/// by the field type's `accepts` (the rule for every column), every such field at once,
/// naming the declared type and what the field needs. It was a compile error through a
/// second table of types (`Fits`).
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_type_the_field_does_not_fit_is_refused_before_the_first_row() {
    let c = pg::client().await;
    let table = pg::unique("misfit");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (key bigint NOT NULL, at timestamp(3) NOT NULL, \
         count integer NOT NULL, code bytea NOT NULL)"
    ))
    .await
    .unwrap();
    let err = batchrow_test_support::schema_error(
        Batcher::builder(pg::sink(&table))
            .spawn::<Misfit<String>>()
            .await
            .unwrap_err(),
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the row type does not match table public.{table} (4 columns):
  - column `key`: field type `K`, server type `bigint`: the field type does not fit the column, declared `bigint` (#[batch(type = \"bigint\")]): this field type needs text, varchar(n), character(n), name, citext, an enum type, json or jsonb
  - column `at`: field type `String`, server type `timestamp(3) without time zone`: the field type does not fit the column, declared `timestamp(3)` (#[batch(type = \"timestamp(3)\")]): this field type needs text, varchar(n), character(n), name, citext, an enum type, json or jsonb
  - column `count`: field type `i64`, server type `integer`: the field type does not fit the column, declared `integer` (#[batch(type = \"integer\")]): this field type needs bigint
  - column `code`: field type `Vec<i32>`, server type `bytea`: the field type does not fit the column, declared `bytea` (#[batch(type = \"bytea\")]): this field type needs an array of integer"
        )
    );
}
