#!/usr/bin/env bash
# Installs and starts everything the tests and the demo need: PostgreSQL, ClickHouse and
# chdb. Idempotent: a second run only checks that the servers answer.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/postgres.sh"
bash "$here/clickhouse.sh"
bash "$here/chdb.sh" >/dev/null
