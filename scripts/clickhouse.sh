#!/usr/bin/env bash
# Installs (if missing) and starts the ClickHouse server on 127.0.0.1:8123 (HTTP).
# Idempotent. Debian ships ClickHouse 18.16, the server batchrow's integration tests use.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ping() { curl -fsS --max-time 5 "$BATCHROW_CLICKHOUSE_URL/?query=SELECT%201" | grep -q '^1$'; }

if ping 2>/dev/null; then log "ClickHouse answers at $BATCHROW_CLICKHOUSE_URL"; exit 0; fi
case "$BATCHROW_CLICKHOUSE_URL" in
  http://127.0.0.1:8123|http://localhost:8123|http://127.0.0.1:8123/|http://localhost:8123/) ;;
  *) die "ClickHouse at $BATCHROW_CLICKHOUSE_URL does not answer, and it is not the local default";;
esac

apt_install curl clickhouse-server clickhouse-client
for d in /var/lib/clickhouse /var/log/clickhouse-server; do
  as_root mkdir -p "$d"
  as_root chown -R clickhouse:clickhouse "$d"
done
if ss -ltn "sport = :8123" | grep -q LISTEN; then
  die "port 8123 is taken by a program that does not answer ClickHouse queries"
fi
log "starting ClickHouse on 127.0.0.1:8123"
# The server drops to the clickhouse user itself when started as root.
as_root clickhouse-server --config-file=/etc/clickhouse-server/config.xml --daemon \
  --pid-file=/var/lib/clickhouse/clickhouse-server.pid >/dev/null 2>&1 || true
wait_for "ClickHouse (see /var/log/clickhouse-server/clickhouse-server.err.log)" 90 ping
log "ClickHouse ready at $BATCHROW_CLICKHOUSE_URL ($(curl -fsS --max-time 5 "$BATCHROW_CLICKHOUSE_URL/?query=SELECT%20version()"))"
