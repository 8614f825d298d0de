# Shared helpers for batchrow's scripts. Sourced, not run.
# Connection settings live here and nowhere else: tests, examples and benchmarks read
# BATCHROW_CLICKHOUSE_URL and BATCHROW_POSTGRES_URL, whose defaults match what
# scripts/servers.sh starts.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BATCHROW_CACHE="${BATCHROW_CACHE:-$ROOT/target/batchrow-cache}"
# Where scripts/postgres.sh records a port it had to choose (when 5432 is taken).
SERVERS_ENV="$BATCHROW_CACHE/servers.env"

# A URL the user set is theirs: the scripts never change it.
if [ -n "${BATCHROW_POSTGRES_URL:-}" ]; then export BATCHROW_POSTGRES_URL_FROM_USER=1; fi
if [ -n "${BATCHROW_CLICKHOUSE_URL:-}" ]; then export BATCHROW_CLICKHOUSE_URL_FROM_USER=1; fi

# Loads the URLs the scripts chose, for the ones the user did not set.
load_server_env() {
  if [ -z "${BATCHROW_POSTGRES_URL_FROM_USER:-}" ] && [ -f "$SERVERS_ENV" ]; then
    # shellcheck disable=SC1090
    source "$SERVERS_ENV"
  fi
  : "${BATCHROW_CLICKHOUSE_URL:=http://127.0.0.1:8123}"
  : "${BATCHROW_POSTGRES_URL:=postgres://batchrow:batchrow@127.0.0.1:5432/batchrow}"
  export BATCHROW_CLICKHOUSE_URL BATCHROW_POSTGRES_URL
}
load_server_env

log() { printf '[batchrow] %s\n' "$*" >&2; }
die() { printf '[batchrow] error: %s\n' "$*" >&2; exit 1; }

# Runs a PostgreSQL cluster-inventory command (pg_lsclusters, pg_createcluster,
# pg_dropcluster) as root under a lock. The inventory (/etc/postgresql/<version>/*) is
# shared: tests run scripts/pg-instance.sh concurrently, and pg_lsclusters fails
# ("Invalid data directory") on a cluster that another run is half-way through creating
# or dropping, so these commands run one at a time.
inventory() { as_root flock /tmp/batchrow-pg-clusters.lock "$@"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "this step needs root: $*"; fi
}

apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local i
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$what did not come up within ${secs}s"
}
