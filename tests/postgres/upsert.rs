//! Upsert mode of the PostgreSQL sink (`PostgresSink::on_conflict`): duplicates within
//! one batch and across batches for `DO UPDATE` (the last row of a key wins) and
//! `DO NOTHING` (the first row, or the stored one, wins), read back and compared value
//! by value; the schema check of the conflict target; and the throughput of upsert
//! against plain COPY in the same run (printed; run with `--nocapture` to see it).
//!
//! Needs PostgreSQL 15: `bash scripts/servers.sh` starts it; the URL comes from
//! `BATCHROW_POSTGRES_URL` (see `support/postgres.rs`). Each test uses its own tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use batchrow_test_support::postgres as pg;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use batchrow::postgres::{OnConflict, PostgresSink};
use batchrow::{BatchRow, Batcher, Handle, SinkErrorKind};

#[derive(BatchRow, Debug, Clone, PartialEq)]
struct User {
    id: i64,
    name: String,
    version: i32,
    note: Option<String>,
}

fn user(id: i64, version: i32) -> User {
    User {
        id,
        name: format!("user {id} v{version}"),
        version,
        note: (version % 2 == 0).then(|| format!("even {version}")),
    }
}

/// A table for [`User`] with a primary key on `id`, a column the struct leaves out (with
/// a default), and the rows `stored` in it already.
async fn users_table(c: &tokio_postgres::Client, stored: &[User]) -> String {
    let table = pg::unique("upsert");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 PRIMARY KEY, name varchar(40) NOT NULL, \
         version int4 NOT NULL, note text, created text NOT NULL DEFAULT 'by default')"
    ))
    .await
    .unwrap();
    for u in stored {
        c.execute(
            &format!("INSERT INTO {table} (id, name, version, note, created) VALUES ($1, $2, $3, $4, 'stored')"),
            &[&u.id, &u.name, &u.version, &u.note],
        )
        .await
        .unwrap();
    }
    table
}

/// Every row of the table by id: the user and its `created` column.
async fn read_back(c: &tokio_postgres::Client, table: &str) -> BTreeMap<i64, (User, String)> {
    c.query(
        &format!("SELECT id, name::text, version, note, created FROM {table} ORDER BY id"),
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let u = User {
            id: r.get(0),
            name: r.get(1),
            version: r.get(2),
            note: r.get(3),
        };
        (u.id, (u, r.get(4)))
    })
    .collect()
}

async fn batcher(table: &str, on_conflict: OnConflict) -> Handle<User, PostgresSink> {
    Batcher::builder(pg::sink(table).on_conflict(on_conflict))
        // One batch at a time, so batches commit in the order they were sealed.
        .max_in_flight(1)
        .max_wait(Duration::from_secs(60))
        .spawn::<User>()
        .await
        .unwrap()
}

/// Two batches, each flushed on its own, with duplicates inside each and between them;
/// ids 100 and 101 are stored before.
async fn send_two_batches(h: &Handle<User, PostgresSink>) {
    h.insert_many([user(1, 1), user(2, 1), user(1, 2), user(100, 5), user(1, 3)])
        .await
        .unwrap();
    h.flush().await.unwrap();
    h.insert_many([user(2, 2), user(3, 1), user(3, 2), user(1, 4)])
        .await
        .unwrap();
    h.flush().await.unwrap();
}

#[tokio::test]
async fn do_update_keeps_the_last_row_of_each_key_within_and_across_batches() {
    let c = pg::client().await;
    let table = users_table(&c, &[user(100, 1), user(101, 1)]).await;
    let h = batcher(&table, OnConflict::update(["id"])).await;
    send_two_batches(&h).await;
    let stats = h.close().await.unwrap();
    assert_eq!((stats.committed.rows, stats.failed.rows), (9, 0));

    let got = read_back(&c, &table).await;
    let by_default = || "by default".to_owned();
    let want: BTreeMap<i64, (User, String)> = [
        (1, (user(1, 4), by_default())), // v3 won in batch 1, v4 in batch 2
        (2, (user(2, 2), by_default())),
        (3, (user(3, 2), by_default())),
        (100, (user(100, 5), "stored".to_owned())), // updated; `created` is not a field
        (101, (user(101, 1), "stored".to_owned())), // untouched
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn do_nothing_keeps_the_first_row_of_each_key_and_the_stored_ones() {
    let c = pg::client().await;
    let table = users_table(&c, &[user(100, 1), user(101, 1)]).await;
    let h = batcher(&table, OnConflict::do_nothing(["id"])).await;
    send_two_batches(&h).await;
    let stats = h.close().await.unwrap();
    assert_eq!((stats.committed.rows, stats.failed.rows), (9, 0));

    let got = read_back(&c, &table).await;
    let by_default = || "by default".to_owned();
    let want: BTreeMap<i64, (User, String)> = [
        (1, (user(1, 1), by_default())),
        (2, (user(2, 1), by_default())),
        (3, (user(3, 1), by_default())),
        (100, (user(100, 1), "stored".to_owned())),
        (101, (user(101, 1), "stored".to_owned())),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_composite_key_in_another_order_than_the_index() {
    #[derive(BatchRow, Debug, Clone, PartialEq)]
    struct Reading {
        sensor: String,
        at: i64,
        value: f64,
    }
    let c = pg::client().await;
    let table = pg::unique("upsert_pair");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (sensor text NOT NULL, at int8 NOT NULL, value float8 NOT NULL, \
         UNIQUE (sensor, at))"
    ))
    .await
    .unwrap();
    let h = Batcher::builder(pg::sink(&table).on_conflict(OnConflict::update(["at", "sensor"])))
        .spawn::<Reading>()
        .await
        .unwrap();
    let r = |sensor: &str, at, value| Reading {
        sensor: sensor.into(),
        at,
        value,
    };
    h.insert_many([
        r("a", 1, 1.0),
        r("b", 1, 2.0),
        r("a", 1, 3.0),
        r("a", 2, 4.0),
    ])
    .await
    .unwrap();
    h.close().await.unwrap();
    let got: Vec<(String, i64, f64)> = c
        .query(
            &format!("SELECT sensor, at, value FROM {table} ORDER BY 1, 2"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    assert_eq!(
        got,
        [
            ("a".to_owned(), 1, 3.0),
            ("a".to_owned(), 2, 4.0),
            ("b".to_owned(), 1, 2.0)
        ]
    );
}

#[tokio::test]
async fn the_schema_check_verifies_the_conflict_target() {
    let c = pg::client().await;
    let table = pg::unique("upsert_target");
    c.batch_execute(&format!(
        "CREATE TABLE {table} (id int8 NOT NULL, name text NOT NULL, version int4 NOT NULL, \
         note text UNIQUE); \
         CREATE UNIQUE INDEX {table}_partial ON {table} (name) WHERE version > 0; \
         ALTER TABLE {table} ADD CONSTRAINT {table}_deferred UNIQUE (version) DEFERRABLE"
    ))
    .await
    .unwrap();
    let refused = |key: &'static str| {
        let table = table.clone();
        async move {
            let sink = pg::sink(&table).on_conflict(OnConflict::update([key]));
            let err = pg::prepare::<User>(sink).await.unwrap_err();
            assert_eq!(err.kind(), SinkErrorKind::Config, "{key}: {err}");
            err.to_string()
        }
    };
    let e = refused("id").await;
    assert!(
        e.contains("no primary key or unique index") && e.contains("(id)"),
        "{e}"
    );
    let e = refused("name").await;
    assert!(e.contains("is partial"), "{e}");
    let e = refused("version").await;
    assert!(e.contains("deferrable"), "{e}");
    let e = refused("note").await;
    assert!(e.contains("may be NULL"), "{e}");
    let e = refused("other").await;
    assert!(e.contains("not a field of the row type"), "{e}");

    // With a primary key, the same row type is accepted.
    c.batch_execute(&format!("ALTER TABLE {table} ADD PRIMARY KEY (id)"))
        .await
        .unwrap();
    let sink = pg::prepare::<User>(pg::sink(&table).on_conflict(OnConflict::do_nothing(["id"])))
        .await
        .unwrap();
    assert!(sink.statement().contains("batchrow_stage"));
}

/// Throughput of the same rows by plain COPY, by upsert into an empty table (every row
/// new), and by upsert over those rows (every row an update), in the same run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upsert_throughput_against_plain_copy() {
    const ROWS: i64 = 200_000;
    let c = pg::client().await;
    let plain = users_table(&c, &[]).await;
    let upserted = users_table(&c, &[]).await;

    async fn run(sink: PostgresSink, version: i32) -> f64 {
        let h = Batcher::builder(sink)
            .max_rows(50_000)
            .spawn::<User>()
            .await
            .unwrap();
        let start = Instant::now();
        h.insert_many((0..ROWS).map(|id| user(id, version)))
            .await
            .unwrap();
        let stats = h.close().await.unwrap();
        assert_eq!(stats.committed.rows, ROWS as u64);
        ROWS as f64 / start.elapsed().as_secs_f64()
    }
    let copy = run(pg::sink(&plain), 1).await;
    let insert = run(
        pg::sink(&upserted).on_conflict(OnConflict::update(["id"])),
        1,
    )
    .await;
    let update = run(
        pg::sink(&upserted).on_conflict(OnConflict::update(["id"])),
        2,
    )
    .await;
    let nothing = run(
        pg::sink(&upserted).on_conflict(OnConflict::do_nothing(["id"])),
        3,
    )
    .await;
    eprintln!(
        "{ROWS} rows, batches of 50,000: plain COPY {copy:.0} rows/s; upsert DO UPDATE into \
         an empty table {insert:.0} rows/s ({:.2}x COPY), over existing rows {update:.0} \
         rows/s ({:.2}x); DO NOTHING over existing rows {nothing:.0} rows/s ({:.2}x)",
        insert / copy,
        update / copy,
        nothing / copy
    );
    let row = c
        .query_one(
            &format!("SELECT count(*), sum(version)::int8, count(*) FILTER (WHERE name = 'user ' || id || ' v2') FROM {upserted}"),
            &[],
        )
        .await
        .unwrap();
    let (n, versions, named): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((n, versions, named), (ROWS, 2 * ROWS, ROWS));
}
