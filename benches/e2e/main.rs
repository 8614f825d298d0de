//! The end-to-end benchmark: every way this project knows to put the same rows into
//! ClickHouse and PostgreSQL, timed in one run, each verified on the server.
//!
//! Run it with `bash scripts/bench.sh` (which starts the servers and builds in
//! release), or `cargo bench --features chrono --bench e2e -- [--rows N] [--runs R]
//! [--only clickhouse|postgres]`. Defaults: 1,000,000 rows, 3 runs of each contender.
//!
//! The workload: `id UInt64`/`int8`, `ts DateTime`/`timestamptz`, `user_id
//! UInt32`/`int4`, `event` (one of 8 names; `LowCardinality(String)`/`text`), `value
//! Float64`/`float8`, `payload` (40 to 56 ASCII characters), all from the row index.
//!
//! How it measures: the driver (this process with no `--child`) prepares the tables
//! and, for the file contenders, the files (written from a verified batchrow run). Then,
//! round after round, it runs each contender once, in turn (each round starting at
//! another contender: the order rotates between rounds), each in a fresh child
//! process (this binary with `--child NAME`), so that each run's peak RSS and CPU are
//! its own. The child times the insert (from building the client to the last answer),
//! with the CPU (and, of it, the user time) and minor page faults of this process and of
//! the tools it waited for (getrusage `RUSAGE_SELF` and `RUSAGE_CHILDREN`) and the server's CPU (`/proc/<pid>/stat` of
//! `clickhouse-server`; of the postmaster and all its children for PostgreSQL). After
//! each run the driver reads `count()` and a sum over every column from the server and
//! fails unless they match the rows sent. The table goes to stdout, and to
//! `$BATCHROW_CACHE/bench/e2e.md`.
//!
//! Needs both servers on this machine (`BATCHROW_CLICKHOUSE_URL`,
//! `BATCHROW_POSTGRES_URL`), `ss`, `curl` and `psql`. Linux only.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod clickhouse;
mod measure;
mod postgres;
mod report;
mod workload;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use batchrow::clickhouse::{InsertCompression, InsertFormat};

use measure::{Figures, Server, Snapshot};
use workload::Workload;

/// Which server a contender writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    ClickHouse,
    Postgres,
}

/// One way of inserting the rows.
#[derive(Debug)]
struct Contender {
    /// The `--child` argument.
    name: &'static str,
    /// Its line in the table.
    label: &'static str,
    backend: Backend,
    /// Whether another program (curl, psql) does the client's work, and the peak RSS is
    /// that program's.
    external: bool,
    /// The contender whose client CPU this one's is compared with (the same
    /// compression), if any.
    cpu_baseline: Option<&'static str>,
}

const fn c(name: &'static str, label: &'static str, backend: Backend, external: bool) -> Contender {
    let cpu_baseline = match backend {
        _ if external => None,
        Backend::ClickHouse => Some("ch-crate-inserter"),
        Backend::Postgres => Some("pg-binary-copy"),
    };
    Contender {
        name,
        label,
        backend,
        external,
        cpu_baseline,
    }
}

/// A contender without a client (the server reads a file): no client CPU to compare.
const fn serverside(name: &'static str, label: &'static str) -> Contender {
    Contender {
        name,
        label,
        backend: Backend::Postgres,
        external: false,
        cpu_baseline: None,
    }
}

/// A contender that sends without compression: its client CPU is compared with the
/// crate's `Inserter` without compression.
const fn uncompressed(name: &'static str, label: &'static str) -> Contender {
    Contender {
        name,
        label,
        backend: Backend::ClickHouse,
        external: false,
        cpu_baseline: Some("ch-crate-inserter-none"),
    }
}

const CONTENDERS: &[Contender] = &[
    c(
        "ch-batchrow-native-1",
        "batchrow, Native (default), 1 producer",
        Backend::ClickHouse,
        false,
    ),
    c(
        "ch-batchrow-native-4",
        "batchrow, Native (default), 4 producers",
        Backend::ClickHouse,
        false,
    ),
    c(
        "ch-batchrow-rowbinary-1",
        "batchrow, RowBinary, 1 producer",
        Backend::ClickHouse,
        false,
    ),
    c(
        "ch-batchrow-rowbinary-4",
        "batchrow, RowBinary, 4 producers",
        Backend::ClickHouse,
        false,
    ),
    uncompressed(
        "ch-batchrow-native-1-none",
        "batchrow, Native, no compression, 1 producer",
    ),
    uncompressed(
        "ch-batchrow-rowbinary-1-none",
        "batchrow, RowBinary, no compression, 1 producer",
    ),
    c(
        "ch-crate-insert",
        "clickhouse crate, one `Insert` (LZ4)",
        Backend::ClickHouse,
        false,
    ),
    c(
        "ch-crate-inserter",
        "clickhouse crate, `Inserter` 100k rows (LZ4)",
        Backend::ClickHouse,
        false,
    ),
    uncompressed(
        "ch-crate-inserter-none",
        "clickhouse crate, `Inserter` 100k rows (no compression)",
    ),
    c(
        "ch-curl-rowbinary",
        "curl POST, RowBinary file",
        Backend::ClickHouse,
        true,
    ),
    c(
        "ch-curl-native",
        "curl POST, Native file",
        Backend::ClickHouse,
        true,
    ),
    c(
        "pg-batchrow-1",
        "batchrow, 1 producer (max_in_flight 2, default)",
        Backend::Postgres,
        false,
    ),
    c(
        "pg-batchrow-4",
        "batchrow, 4 producers (max_in_flight 2, default)",
        Backend::Postgres,
        false,
    ),
    c(
        "pg-batchrow-4-if4",
        "batchrow, 4 producers, max_in_flight(4)",
        Backend::Postgres,
        false,
    ),
    c(
        "pg-binary-copy",
        "tokio-postgres `BinaryCopyInWriter`, one COPY",
        Backend::Postgres,
        false,
    ),
    c(
        "pg-psql-copy",
        "psql `\\copy` of a binary file",
        Backend::Postgres,
        true,
    ),
    serverside("pg-server-copy", "server-side `COPY FROM` a binary file"),
];

/// The command line.
#[derive(Debug)]
struct Args {
    rows: u64,
    runs: usize,
    only: Option<Backend>,
    child: Option<String>,
    /// The server's pid, which the driver hands to each child.
    server_pid: Option<u32>,
}

fn args() -> Args {
    let mut a = Args {
        rows: 1_000_000,
        runs: 3,
        only: None,
        child: None,
        server_pid: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |what: &str| it.next().unwrap_or_else(|| panic!("{arg} needs {what}"));
        match arg.as_str() {
            "--rows" => {
                a.rows = value("a row count")
                    .replace('_', "")
                    .parse()
                    .expect("--rows N")
            }
            "--runs" => a.runs = value("a count").parse().expect("--runs N"),
            "--only" => {
                a.only = Some(match value("clickhouse or postgres").as_str() {
                    "clickhouse" => Backend::ClickHouse,
                    "postgres" => Backend::Postgres,
                    other => panic!("--only clickhouse|postgres, not {other}"),
                });
            }
            "--child" => a.child = Some(value("a contender")),
            "--server-pid" => {
                a.server_pid = Some(value("a pid").parse().expect("--server-pid PID"))
            }
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => panic!(
                "unknown argument {other}; usage: e2e [--rows N] [--runs R] \
                 [--only clickhouse|postgres]"
            ),
        }
    }
    assert!(
        a.rows > 0 && a.runs > 0,
        "--rows and --runs must be positive"
    );
    a
}

/// Where the files of the file contenders are, and where the table is written.
fn work_dir() -> PathBuf {
    let cache = std::env::var_os("BATCHROW_CACHE")
        .map_or_else(|| PathBuf::from("target/batchrow-cache"), PathBuf::from);
    let dir = std::path::absolute(cache.join("bench")).expect("an absolute path");
    std::fs::create_dir_all(&dir).expect("creating the benchmark's directory");
    dir
}

fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("e2e-{name}.bin"))
}

/// The pid of the server process: `clickhouse-server`, or the postmaster.
fn server_pid(backend: Backend) -> u32 {
    match backend {
        Backend::ClickHouse => measure::listener_pid(measure::port_of(&clickhouse::url(), 8123)),
        Backend::Postgres => measure::listener_pid(measure::port_of(&postgres::url(), 5432)),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

const NATIVE: InsertFormat = InsertFormat::Native;
const ROWBINARY: InsertFormat = InsertFormat::RowBinary;
const LZ4: InsertCompression = InsertCompression::Lz4;
const NONE: InsertCompression = InsertCompression::None;

/// One run of one contender, in this (child) process; prints its figures.
fn child(name: &str, rows: u64, server_pid: u32) {
    let contender = CONTENDERS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no contender {name}"));
    let dir = work_dir();
    let server = match contender.backend {
        Backend::ClickHouse => Server::ClickHouse(server_pid),
        Backend::Postgres => Server::Postgres(server_pid),
    };
    let w: &'static Workload = Box::leak(Box::new(Workload::new()));
    let rt = runtime();
    let before = Snapshot::take(server);
    match name {
        "ch-batchrow-native-1" => rt.block_on(clickhouse::batchrow(w, rows, 1, NATIVE, LZ4)),
        "ch-batchrow-native-4" => rt.block_on(clickhouse::batchrow(w, rows, 4, NATIVE, LZ4)),
        "ch-batchrow-rowbinary-1" => {
            rt.block_on(clickhouse::batchrow(w, rows, 1, ROWBINARY, LZ4));
        }
        "ch-batchrow-rowbinary-4" => {
            rt.block_on(clickhouse::batchrow(w, rows, 4, ROWBINARY, LZ4));
        }
        "ch-batchrow-native-1-none" => {
            rt.block_on(clickhouse::batchrow(w, rows, 1, NATIVE, NONE));
        }
        "ch-batchrow-rowbinary-1-none" => {
            rt.block_on(clickhouse::batchrow(w, rows, 1, ROWBINARY, NONE));
        }
        "ch-crate-insert" => rt.block_on(clickhouse::crate_insert(w, rows)),
        "ch-crate-inserter" => rt.block_on(clickhouse::crate_inserter(w, rows, LZ4)),
        "ch-crate-inserter-none" => rt.block_on(clickhouse::crate_inserter(w, rows, NONE)),
        "ch-curl-rowbinary" => clickhouse::curl("RowBinary", &file(&dir, "ch-rowbinary")),
        "ch-curl-native" => clickhouse::curl("Native", &file(&dir, "ch-native")),
        "pg-batchrow-1" => rt.block_on(postgres::batchrow(w, rows, 1, None)),
        "pg-batchrow-4" => rt.block_on(postgres::batchrow(w, rows, 4, None)),
        "pg-batchrow-4-if4" => rt.block_on(postgres::batchrow(w, rows, 4, Some(4))),
        "pg-binary-copy" => rt.block_on(postgres::binary_copy_in_writer(w, rows)),
        "pg-psql-copy" => postgres::psql_copy(&file(&dir, "pg")),
        "pg-server-copy" => rt.block_on(postgres::server_copy(&file(&dir, "pg"))),
        other => panic!("no contender {other}"),
    }
    let after = Snapshot::take(server);
    println!(
        "{}",
        Figures::between(before, after, contender.external).line()
    );
}

/// Runs `name` in a child process and returns its figures.
fn spawn(name: &str, rows: u64) -> Figures {
    let backend = CONTENDERS
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.backend)
        .expect("a contender");
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let out = Command::new(exe)
        .args(["--child", name, "--rows", &rows.to_string()])
        .args(["--server-pid", &server_pid(backend).to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("running a child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} failed ({}): {stdout}",
        out.status
    );
    Figures::parse(&stdout).unwrap_or_else(|| panic!("{name} printed no figures: {stdout}"))
}

/// The driver: prepares, runs every contender `runs` times in turn, verifies, reports.
fn drive(a: &Args) {
    let dir = work_dir();
    let w = Workload::new();
    let expected = w.checksum(a.rows);
    let backends: Vec<Backend> = [Backend::ClickHouse, Backend::Postgres]
        .into_iter()
        .filter(|b| a.only.is_none_or(|o| o == *b))
        .collect();
    let rt = runtime();
    let pg = backends
        .contains(&Backend::Postgres)
        .then(|| rt.block_on(postgres::connect()));
    let verify = |name: &str| {
        let backend = CONTENDERS
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.backend);
        let got = match backend {
            Some(Backend::ClickHouse) => rt.block_on(clickhouse::checksum()),
            _ => rt.block_on(postgres::checksum(
                pg.as_ref().expect("a PostgreSQL client"),
            )),
        };
        assert_eq!(
            got, expected,
            "{name}: the server does not hold the rows that were sent"
        );
    };
    let truncate = |backend: Backend| match backend {
        Backend::ClickHouse => rt.block_on(clickhouse::truncate()),
        Backend::Postgres => rt.block_on(postgres::truncate(pg.as_ref().expect("a client"))),
    };

    // Tables, and the files of the file contenders, from a verified batchrow run (which
    // also warms up the servers).
    for &backend in &backends {
        match backend {
            Backend::ClickHouse => {
                rt.block_on(clickhouse::setup());
                spawn("ch-batchrow-native-1", a.rows);
                verify("ch-batchrow-native-1");
                clickhouse::export("RowBinary", &file(&dir, "ch-rowbinary"));
                clickhouse::export("Native", &file(&dir, "ch-native"));
            }
            Backend::Postgres => {
                rt.block_on(postgres::setup(pg.as_ref().expect("a client")));
                spawn("pg-batchrow-1", a.rows);
                verify("pg-batchrow-1");
                let f = file(&dir, "pg");
                postgres::export(&f);
                // The server reads it for `COPY FROM '<file>'`.
                std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644))
                    .expect("chmod");
            }
        }
    }

    let contenders: Vec<&Contender> = CONTENDERS
        .iter()
        .filter(|c| backends.contains(&c.backend))
        .collect();
    let mut results: BTreeMap<&str, Vec<Figures>> = BTreeMap::new();
    // Each round starts at another contender (the order rotates by a share of the
    // list), so that no contender always runs first after the setup or right after
    // the same neighbour.
    let step = (contenders.len() / a.runs).max(1);
    for round in 1..=a.runs {
        let mut order = contenders.clone();
        order.rotate_left(((round - 1) * step) % contenders.len().max(1));
        for c in &order {
            truncate(c.backend);
            std::thread::sleep(Duration::from_millis(500));
            let f = spawn(c.name, a.rows);
            verify(c.name);
            eprintln!(
                "[e2e] run {round}/{} {:<24} {:>10.0} rows/s  client {:.2} s, {} page faults  \
                 server {:.2} s  peak RSS {} MiB",
                a.runs,
                c.name,
                a.rows as f64 / f.wall_s,
                f.client_cpu_s,
                f.client_faults,
                f.server_cpu_s,
                f.peak_rss_kib / 1024
            );
            results.entry(c.name).or_default().push(f);
        }
    }
    for &backend in &backends {
        match backend {
            Backend::ClickHouse => rt.block_on(clickhouse::teardown()),
            Backend::Postgres => rt.block_on(postgres::teardown(pg.as_ref().expect("a client"))),
        }
    }
    for name in ["ch-rowbinary", "ch-native", "pg"] {
        let _ = std::fs::remove_file(file(&dir, name));
    }

    let table = report::table(&contenders, &results, a.rows, a.runs);
    print!("{table}");
    let out = dir.join("e2e.md");
    std::fs::write(&out, &table).expect("writing the table");
    eprintln!("[e2e] table written to {}", out.display());
}

fn main() {
    let a = args();
    match &a.child {
        Some(name) => child(
            name,
            a.rows,
            a.server_pid.expect("--child needs --server-pid"),
        ),
        None => drive(&a),
    }
}
