#!/usr/bin/env bash
# The demo: starts the servers if needed, then streams rows into ClickHouse and
# PostgreSQL through the batcher and reads the counts back. It installs only the two
# servers: the chdb type oracle is for the tests (scripts/test.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
bash scripts/postgres.sh
bash scripts/clickhouse.sh
load_server_env
exec cargo run --release --quiet --all-features --example demo -- "$@"
