#!/usr/bin/env bash
# The demo: starts the servers if needed, then streams rows into ClickHouse and
# PostgreSQL through the batcher and reads the counts back.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh
bash scripts/servers.sh
load_server_env
exec cargo run --release --quiet --all-features --example demo -- "$@"
