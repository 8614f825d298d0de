//! The PostgreSQL integration tests, one binary with a module per subject, against the
//! server `bash scripts/servers.sh` starts (`BATCHROW_POSTGRES_URL`), and clusters of the
//! tests' own for the fault and failover tests (`scripts/pg-instance.sh`). Each module
//! says what it needs.

mod dead_letters;
mod e2e;
mod failover;
mod faults;
mod hardening;
mod ledger;
mod roundtrip;
mod schema;
mod types;
mod upsert;
