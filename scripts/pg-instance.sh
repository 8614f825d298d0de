#!/usr/bin/env bash
# A PostgreSQL cluster of its own for a fault test, so that stopping or restarting it
# never touches the shared server that scripts/postgres.sh starts.
#
#   scripts/pg-instance.sh start|stop|restart-fast|restart-immediate|status|promote|drop NAME PORT
#   scripts/pg-instance.sh standby NAME PORT PRIMARY_PORT
#
# start creates the cluster on first use (pg_createcluster, listening on 127.0.0.1:PORT
# only, started by hand rather than at boot), starts it, and makes sure the batchrow
# role and database exist (postgres://batchrow:batchrow@127.0.0.1:PORT/batchrow).
# stop stops it (fast mode); restart-fast and restart-immediate restart it in that
# shutdown mode and wait until it accepts connections; status prints online, down or
# absent; drop stops and removes it. Every command is idempotent. Needs the PostgreSQL
# packages that scripts/postgres.sh installs; installs nothing itself.
#
# standby creates NAME on PORT as a streaming standby of the cluster on PRIMARY_PORT
# (which must be online; its default pg_hba lets the postgres user replicate over the
# local socket): pg_basebackup -R (standby.signal and primary_conninfo, WAL streamed
# during the copy), then starts it as a hot standby and waits until it accepts
# read-only connections. The batchrow role and database come with the copy. promote
# makes a standby the primary (pg_ctlcluster promote) and waits until it accepts
# writes; a cluster that is already a primary is left alone.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PGCONNECT_TIMEOUT=5

usage="usage: $0 start|stop|restart-fast|restart-immediate|status|promote|drop NAME PORT, or standby NAME PORT PRIMARY_PORT"
[ $# -eq 3 ] || { [ $# -eq 4 ] && [ "$1" = standby ]; } || die "$usage"
cmd=$1 name=$2 port=$3 primary_port=${4:-}
case "$name" in *[!a-zA-Z0-9_]*|'') die "cluster name must be letters, digits and _: $name";; esac
case "$port" in *[!0-9]*|'') die "port must be a number: $port";; esac
ver=15
command -v pg_createcluster >/dev/null && [ -d "/usr/lib/postgresql/$ver" ] \
  || die "PostgreSQL $ver is not installed; run scripts/postgres.sh first"

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
# Field $1 of this cluster's pg_lsclusters line (3: port, 4: status), empty if absent.
field() { inventory pg_lsclusters -h | awk -v v="$ver" -v n="$name" -v f="$1" '$1==v && $2==n {print $f}'; }
status() { local s; s=$(field 4); case "$s" in '') echo absent;; online*) echo online;; *) echo down;; esac; }
ready() { wait_for "PostgreSQL cluster $name on port $port" 60 as_postgres psql -p "$port" -qAtc 'select 1'; }
ctl() { as_root pg_ctlcluster "$@"; }

case "$cmd" in
  start)
    if [ "$(status)" = absent ]; then
      inventory pg_createcluster --start-conf=manual -p "$port" "$ver" "$name" >/dev/null
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
  standby)
    case "$primary_port" in *[!0-9]*|'') die "port must be a number: $primary_port";; esac
    if [ "$(status)" = absent ]; then
      # The copy first, then pg_createcluster adopts it (no initdb), with the primary's
      # configuration files, which it rewrites for this cluster's port and paths.
      primary=$(inventory pg_lsclusters -h | awk -v v="$ver" -v p="$primary_port" '$1==v && $3==p {print $2}')
      [ -n "$primary" ] || die "no PostgreSQL $ver cluster on port $primary_port"
      data=/var/lib/postgresql/$ver/$name
      as_root rm -rf "$data"
      as_root install -d -o postgres -g postgres -m 700 "$data"
      as_postgres pg_basebackup -h /var/run/postgresql -p "$primary_port" -D "$data" -R \
        -X stream -c fast
      for f in postgresql.conf pg_hba.conf pg_ident.conf; do
        as_root install -o postgres -g postgres -m 644 "/etc/postgresql/$ver/$primary/$f" "$data/$f"
      done
      inventory pg_createcluster --start-conf=manual -p "$port" -d "$data" "$ver" "$name" >/dev/null
    fi
    [ "$(field 3)" = "$port" ] || die "cluster $name exists on port $(field 3), not $port"
    if [ "$(status)" != online ]; then
      # A hot standby opens for reads at the primary's next snapshot record, which an
      # idle primary logs every 15 s; a checkpoint logs one now.
      ctl "$ver" "$name" start &
      starting=$!
      for _ in $(seq 1 120); do
        as_postgres psql -p "$port" -qAtc 'select 1' >/dev/null 2>&1 && break
        as_postgres psql -p "$primary_port" -qAtc 'checkpoint' >/dev/null 2>&1 || true
        sleep 0.5
      done
      wait "$starting"
    fi
    ready
    ;;
  promote)
    [ "$(status)" = online ] || die "cluster $name is not online"
    if [ "$(as_postgres psql -p "$port" -qAtc 'select pg_is_in_recovery()')" = t ]; then
      ctl "$ver" "$name" promote
    fi
    writable() { [ "$(as_postgres psql -p "$port" -qAtc 'select pg_is_in_recovery()')" = f ]; }
    wait_for "PostgreSQL cluster $name accepting writes" 60 writable
    ;;
  status)
    status
    ;;
  drop)
    if [ "$(status)" != absent ]; then inventory pg_dropcluster --stop "$ver" "$name"; fi
    ;;
  *) die "unknown command $cmd";;
esac
