//! `batchrow-codegen`: prints the `#[derive(BatchRow)]` struct for a live table.
//!
//! ```text
//! batchrow-codegen clickhouse [--url URL] --table [DATABASE.]TABLE [--struct NAME]
//!                             [--create clickhouse|postgres] [--engine ENGINE]
//! batchrow-codegen postgres   [--url URL] --table [SCHEMA.]TABLE [--struct NAME]
//!                             [--create clickhouse|postgres] [--engine ENGINE]
//! ```
//!
//! It reads the table with the catalog queries of the sinks' schema checks
//! (`system.columns`; `pg_attribute` and `pg_type`) and prints a struct whose fields have
//! the Rust types batchrow writes to each column: `Option<T>` for a nullable column,
//! `#[batch(type = "…")]` where the Rust type alone does not say the column type (such as
//! `LowCardinality(String)`, `Decimal(18, 4)` or `varchar(40)`), a
//! `#[derive(BatchEnum)]` enum for each enum column, `#[batch(rename = "…")]` for a
//! column whose name is not a Rust identifier, and a comment for each column batchrow
//! cannot write, saying whether the schema check will accept the struct without it.
//!
//! `--create clickhouse|postgres` also prints the `CREATE TABLE` statement for the
//! generated struct (`RowBinary::create_table_sql`, with `--engine`, default
//! `MergeTree ORDER BY tuple()`; or `PgBinary::create_table_sql`), for example to create
//! the same table in the other database.
//!
//! `--url` defaults to `BATCHROW_CLICKHOUSE_URL` or `BATCHROW_POSTGRES_URL`, then to the
//! servers `scripts/servers.sh` starts.

mod clickhouse;
mod model;
mod postgres;

use batchrow::clickhouse::RowBinary;
use batchrow::postgres::PgBinary;

const USAGE: &str = "usage: batchrow-codegen clickhouse|postgres [--url URL] --table TABLE \
                     [--struct NAME] [--create clickhouse|postgres] [--engine ENGINE]";

#[derive(Debug, Default)]
struct Args {
    backend: String,
    url: Option<String>,
    table: Option<String>,
    name: Option<String>,
    create: Option<String>,
    engine: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        backend: args.next().ok_or(USAGE)?,
        ..Args::default()
    };
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--url" => &mut out.url,
            "--table" => &mut out.table,
            "--struct" => &mut out.name,
            "--create" => &mut out.create,
            "--engine" => &mut out.engine,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{flag} needs a value"))?);
    }
    Ok(out)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("batchrow-codegen: {e}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse(std::env::args().skip(1))?;
    let table = args.table.as_deref().ok_or(USAGE)?;
    let env = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_owned());
    let generated = match args.backend.as_str() {
        "clickhouse" => {
            let url = args
                .url
                .unwrap_or_else(|| env("BATCHROW_CLICKHOUSE_URL", "http://127.0.0.1:8123"));
            clickhouse::generate(&url, table, args.name.as_deref()).await?
        }
        "postgres" => {
            let url = args.url.unwrap_or_else(|| {
                env(
                    "BATCHROW_POSTGRES_URL",
                    "postgres://batchrow:batchrow@127.0.0.1:5432/batchrow",
                )
            });
            postgres::generate(&url, table, args.name.as_deref()).await?
        }
        other => return Err(format!("unknown database `{other}`\n{USAGE}").into()),
    };
    print!("{}", generated.render());
    match args.create.as_deref() {
        None => {}
        Some("clickhouse") => {
            let engine = args
                .engine
                .as_deref()
                .unwrap_or("MergeTree ORDER BY tuple()");
            println!(
                "\n/*\n{};\n*/",
                RowBinary::create_table_sql(generated.schema(), engine)?
            );
        }
        Some("postgres") => {
            println!(
                "\n/*\n{};\n*/",
                PgBinary::create_table_sql(generated.schema())?
            );
        }
        Some(other) => {
            return Err(format!("--create takes clickhouse or postgres, not `{other}`").into())
        }
    }
    Ok(())
}
