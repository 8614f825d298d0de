#!/usr/bin/env bash
# A PostgreSQL cluster of its own for a fault test, so that stopping or restarting it
# never touches the shared server that scripts/postgres.sh starts.
#
#   scripts/pg-instance.sh start|stop|restart-fast|restart-immediate|status|drop NAME PORT
#
# start creates the cluster on first use (pg_createcluster, listening on 127.0.0.1:PORT
# only, started by hand rather than at boot), starts it, and makes sure the batchrow
# role and database exist (postgres://batchrow:batchrow@127.0.0.1:PORT/batchrow).
# stop stops it (fast mode); restart-fast and restart-immediate restart it in that
# shutdown mode and wait until it accepts connections; status prints online, down or
# absent; drop stops and removes it. Every command is idempotent. Needs the PostgreSQL
# packages that scripts/postgres.sh installs; installs nothing itself.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PGCONNECT_TIMEOUT=5

[ $# -eq 3 ] || die "usage: $0 start|stop|restart-fast|restart-immediate|status|drop NAME PORT"
cmd=$1 name=$2 port=$3
case "$name" in *[!a-zA-Z0-9_]*|'') die "cluster name must be letters, digits and _: $name";; esac
case "$port" in *[!0-9]*|'') die "port must be a number: $port";; esac
ver=15
command -v pg_createcluster >/dev/null && [ -d "/usr/lib/postgresql/$ver" ] \
  || die "PostgreSQL $ver is not installed; run scripts/postgres.sh first"

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
# Field $1 of this cluster's pg_lsclusters line (3: port, 4: status), empty if absent.
field() { pg_lsclusters -h | awk -v v="$ver" -v n="$name" -v f="$1" '$1==v && $2==n {print $f}'; }
status() { local s; s=$(field 4); case "$s" in '') echo absent;; online*) echo online;; *) echo down;; esac; }
ready() { wait_for "PostgreSQL cluster $name on port $port" 60 as_postgres psql -p "$port" -qAtc 'select 1'; }
ctl() { as_root pg_ctlcluster "$@"; }

case "$cmd" in
  start)
    if [ "$(status)" = absent ]; then
      as_root pg_createcluster --start-conf=manual -p "$port" "$ver" "$name" >/dev/null
      conf=/etc/postgresql/$ver/$name/postgresql.conf
      as_root sed -i "s/^#\?listen_addresses = .*/listen_addresses = '127.0.0.1'/" "$conf"
    fi
    [ "$(field 3)" = "$port" ] || die "cluster $name exists on port $(field 3), not $port"
    if [ "$(status)" != online ]; then ctl "$ver" "$name" start; fi
    ready
    as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qAt >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'batchrow') THEN
    CREATE ROLE batchrow LOGIN SUPERUSER PASSWORD 'batchrow';
  END IF;
END \$\$;
SQL
    if ! as_postgres psql -p "$port" -qAtc "select 1 from pg_database where datname='batchrow'" | grep -q 1; then
      as_postgres createdb -p "$port" -O batchrow batchrow
    fi
    ;;
  stop)
    if [ "$(status)" = online ]; then ctl -m fast "$ver" "$name" stop; fi
    ;;
  restart-fast|restart-immediate)
    [ "$(status)" != absent ] || die "cluster $name does not exist; start it first"
    if [ "$(status)" = online ]; then
      ctl -m "${cmd#restart-}" "$ver" "$name" restart
    else
      ctl "$ver" "$name" start
    fi
    ready
    ;;
  status)
    status
    ;;
  drop)
    if [ "$(status)" != absent ]; then as_root pg_dropcluster --stop "$ver" "$name"; fi
    ;;
  *) die "unknown command $cmd";;
esac
