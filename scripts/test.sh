#!/usr/bin/env bash
# The whole test suite: starts the servers if needed, then fmt, clippy, docs, unit tests,
# doctests, trybuild UI tests and the integration tests against real PostgreSQL and
# ClickHouse servers.
#
# BATCHROW_SKIP_SERVERS=1 is the only way to run without servers: it runs everything that
# needs none and prints which integration tests it did not run. Otherwise an unreachable
# server fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

step() { printf '\n[batchrow] === %s\n' "$*" >&2; }

if [ "${BATCHROW_SKIP_SERVERS:-0}" != 1 ]; then
  step "servers"
  bash scripts/servers.sh
  load_server_env
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc -D warnings"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps -q

if [ "${BATCHROW_SKIP_SERVERS:-0}" = 1 ]; then
  step "tests without servers (BATCHROW_SKIP_SERVERS=1)"
  cargo test --workspace --all-features --lib --bins --examples --doc
  cargo test --workspace --all-features --exclude batchrow --tests
  not_run=$( (ls tests/*.rs; ls -d tests/*/ | while read -r d; do [ -f "$d/main.rs" ] && echo "$d"; done) 2>/dev/null \
    | xargs -n1 basename | sed 's/\.rs$//' | tr '\n' ' ')
  printf '\n[batchrow] NOT RUN (need servers): integration tests %s\n' "$not_run" >&2
  exit 0
fi

step "cargo test (unit, doc, UI and integration tests against the real servers)"
cargo test --workspace --all-features
