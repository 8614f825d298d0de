#!/usr/bin/env bash
# Installs (if missing) and starts PostgreSQL 15 on 127.0.0.1, with a role and database
# for batchrow's tests. Idempotent. Prints nothing but progress; exits non-zero on failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# A port held by a program that accepts connections and never answers must not hang us.
export PGCONNECT_TIMEOUT=5

pg_url_part() { python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print({"host":p.hostname,"port":p.port or 5432,"user":p.username,"password":p.password or "","db":p.path.lstrip("/")}[sys.argv[2]])' "$BATCHROW_POSTGRES_URL" "$1"; }

# A user who points BATCHROW_POSTGRES_URL elsewhere runs their own server.
if psql "$BATCHROW_POSTGRES_URL" -qAtc 'select 1' >/dev/null 2>&1; then
  log "PostgreSQL answers at $BATCHROW_POSTGRES_URL"; exit 0
fi
host=$(pg_url_part host); port=$(pg_url_part port)
case "$host" in 127.0.0.1|localhost) ;; *) die "PostgreSQL at $BATCHROW_POSTGRES_URL does not answer, and it is not local";; esac

apt_install postgresql
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! inventory pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$ver/main"; then
  inventory pg_createcluster "$ver" main >/dev/null
fi
conf=/etc/postgresql/$ver/main/postgresql.conf
cluster() { inventory pg_lsclusters -h | awk -v v="$ver" -v f="$1" '$1==v && $2=="main" {print $f}'; }
listening() { ss -ltn "sport = :$1" | grep -q LISTEN; }

# Is the port the URL names held by something other than our own running cluster?
if listening "$port" && ! { [ "$(cluster 4)" = online ] && [ "$(cluster 3)" = "$port" ]; }; then
  if [ -n "${BATCHROW_POSTGRES_URL_FROM_USER:-}" ]; then
    die "port $port is taken by a server that does not accept $BATCHROW_POSTGRES_URL"
  fi
  # Our default port is taken by someone else's server: choose a free port, and record
  # the URL for the test and demo commands.
  for candidate in $(seq 55432 55532); do listening "$candidate" || break; done
  log "port $port is taken by another program; using $candidate"
  port=$candidate
  BATCHROW_POSTGRES_URL="postgres://batchrow:batchrow@127.0.0.1:$port/batchrow"
  mkdir -p "$BATCHROW_CACHE"
  echo "export BATCHROW_POSTGRES_URL='$BATCHROW_POSTGRES_URL'" > "$SERVERS_ENV"
elif [ -z "${BATCHROW_POSTGRES_URL_FROM_USER:-}" ] && [ "$port" = 5432 ]; then
  rm -f "$SERVERS_ENV"
fi

if [ "$(cluster 3)" != "$port" ]; then
  # Move the cluster to the chosen port.
  as_root pg_ctlcluster "$ver" main stop >/dev/null 2>&1 || true
  as_root sed -i "s/^#\?port = .*/port = $port/" "$conf"
fi
if [ "$(cluster 4)" != online ]; then
  as_root sed -i "s/^#\?listen_addresses = .*/listen_addresses = '127.0.0.1'/" "$conf"
  # Enough connections for parallel tests with pools.
  as_root sed -i "s/^#\?max_connections = .*/max_connections = 200/" "$conf"
  log "starting PostgreSQL $ver on 127.0.0.1:$port"
  as_root pg_ctlcluster "$ver" main start
fi
wait_for "PostgreSQL" 60 as_postgres psql -p "$port" -qAtc 'select 1'

user=$(pg_url_part user); pass=$(pg_url_part password); db=$(pg_url_part db)
as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
    CREATE ROLE "$user" LOGIN SUPERUSER PASSWORD '$pass';
  ELSE
    ALTER ROLE "$user" LOGIN SUPERUSER PASSWORD '$pass';
  END IF;
END \$\$;
SQL
if ! as_postgres psql -p "$port" -qAtc "select 1 from pg_database where datname='$db'" | grep -q 1; then
  as_postgres createdb -p "$port" -O "$user" "$db"
fi
wait_for "PostgreSQL login as $user" 30 psql "$BATCHROW_POSTGRES_URL" -qAtc 'select 1'
log "PostgreSQL ready at $BATCHROW_POSTGRES_URL"
