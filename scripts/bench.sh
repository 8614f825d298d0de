#!/usr/bin/env bash
# The end-to-end benchmark (benches/e2e/): starts the servers, builds in release, then
# times every contender (batchrow, the clickhouse crate, tokio-postgres, curl, psql,
# server-side COPY) on the same rows in one run, alternating, and prints the table.
# Each run is verified on the server (count and column sums); one that does not verify
# fails the script.
#
#   bash scripts/bench.sh [--rows N] [--runs R] [--only clickhouse|postgres]
#
# Defaults: 1,000,000 rows, 3 runs of each contender. The table also goes to
# target/batchrow-cache/bench/e2e.md. Needs both servers on this machine.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/servers.sh"
source "$here/lib.sh"
load_server_env
cd "$ROOT"
log "building the benchmark (release)"
cargo bench --features chrono --bench e2e --no-run
log "ClickHouse $(curl -fsS --max-time 5 "$BATCHROW_CLICKHOUSE_URL/?query=SELECT%20version()"), $(psql "$BATCHROW_POSTGRES_URL" -qAtc 'SHOW server_version'), $(nproc) CPUs"
cargo bench --features chrono --bench e2e -- "$@"
