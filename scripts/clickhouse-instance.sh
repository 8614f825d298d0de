#!/usr/bin/env bash
# A ClickHouse server instance of its own, for fault tests: start, stop, kill, freeze
# (SIGSTOP), thaw (SIGCONT) or destroy it, without touching the server on 8123.
#
#   scripts/clickhouse-instance.sh start|stop|kill|freeze|thaw|status|destroy NAME [HTTP_PORT]
#
# HTTP_PORT is needed by `start` (the other commands find the instance by NAME). The
# instance listens on 127.0.0.1 only: HTTP on HTTP_PORT, the native protocol on
# HTTP_PORT+1, interserver HTTP on HTTP_PORT+2. Every command is idempotent: starting a
# running instance, or stopping a stopped one, succeeds and does nothing.
#
# Its files live in $BATCHROW_CACHE/clickhouse/NAME (target/batchrow-cache by default):
#   etc/config.xml, etc/users.xml  copies of the packaged ones, with the instance's ports
#                                  and paths, every `incl=` removed (with the empty
#                                  elements that only named a substitution)
#   etc/config.d/*.xml             merged over config.xml by the server: a cluster script
#                                  puts <zookeeper>, <macros>, <remote_servers> or
#                                  <interserver_http_host> here (or in $EXTRA_CONFIG_DIR,
#                                  whose *.xml files `start` copies in)
#   data/, tmp/, user_files/, format_schemas/, log/, server.pid, server.out
#
# `stop` asks the server to shut down (SIGTERM) and waits for it to exit, at most
# $CLICKHOUSE_STOP_TIMEOUT seconds (20 by default), then kills it (as systemd would): on
# SIGTERM, 18.16 stops accepting connections but keeps answering on open keep-alive
# connections until they are idle for 3 s, which a steady client never is. `kill` sends
# SIGKILL. Data is kept across both, so `start` brings the same tables back. `destroy` kills the instance
# and removes its directory. Only the process recorded in server.pid, and running this
# instance's config, is ever signalled.
#
# Facts about 18.16 this relies on: the server refuses to start when an `incl=`
# substitution or the `include_from` file is missing, so every `incl=` is removed and
# include_from points at an empty file; `--pid-file` is ignored without `--daemon`, so
# the script starts the server in the background and records its pid itself. An
# instance starts in under a second and uses about 90 MB.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start|stop|kill|freeze|thaw|status|destroy NAME [HTTP_PORT]"; }
[ $# -ge 2 ] || usage
cmd=$1 name=$2 http_port=${3:-}
case "$name" in *[!A-Za-z0-9_-]* | "") die "instance names are letters, digits, - and _: '$name'";; esac

dir="$BATCHROW_CACHE/clickhouse/$name"
etc="$dir/etc"
pid_file="$dir/server.pid"
url_of() { printf 'http://127.0.0.1:%s' "$1"; }

# The pid of the instance's server if it is alive (running or stopped by SIGSTOP).
server_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  # The pid must still be this instance's server, not a recycled pid.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--config-file=$etc/config.xml" || return 1
  # A zombie is gone.
  [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ] || return 1
  printf '%s' "$pid"
}

state_of() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo gone; }

recorded_port() { cat "$dir/http_port" 2>/dev/null || true; }

ping() { curl -fsS --max-time 2 "$(url_of "$1")/?query=SELECT%201" 2>/dev/null | grep -q '^1$'; }

port_in_use() { ss -Hltn "sport = :$1" | grep -q .; }

write_config() {
  local http=$1 tcp=$(($1 + 1)) interserver=$(($1 + 2))
  mkdir -p "$etc/config.d" "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  echo '<yandex></yandex>' >"$etc/substitutions.xml"
  cp /etc/clickhouse-server/users.xml "$etc/users.xml"
  python3 - "$etc" "$dir" "$http" "$tcp" "$interserver" <<'PY'
import sys
import xml.etree.ElementTree as ET

etc, base, http, tcp, interserver = sys.argv[1:]
tree = ET.parse("/etc/clickhouse-server/config.xml")
root = tree.getroot()
# An element that only named a substitution (`<zookeeper incl="..." optional="true"/>`)
# goes: left empty, it would stand for a ZooKeeper without nodes, and config.d files
# merge with an element only when its attributes agree, so theirs would be added next
# to it instead of filling it.
for parent in list(root.iter()):
    for element in list(parent):
        if "incl" in element.attrib and len(element) == 0 and not (element.text or "").strip():
            parent.remove(element)
for element in root.iter():
    element.attrib.pop("incl", None)
    element.attrib.pop("optional", None)

def put(tag, value):
    node = root.find(tag)
    if node is None:
        node = ET.SubElement(root, tag)
    node.text = value

for tag in ("http_port", "tcp_port", "interserver_http_port", "https_port", "tcp_port_secure",
            "mysql_port", "listen_host"):
    for node in root.findall(tag):
        root.remove(node)
put("http_port", http)
put("tcp_port", tcp)
put("interserver_http_port", interserver)
put("listen_host", "127.0.0.1")
put("path", base + "/data/")
put("tmp_path", base + "/tmp/")
put("user_files_path", base + "/user_files/")
put("format_schema_path", base + "/format_schemas/")
put("users_config", etc + "/users.xml")
put("include_from", etc + "/substitutions.xml")
logger = root.find("logger")
if logger is None:
    logger = ET.SubElement(root, "logger")
# Enough to follow start, shutdown and each query in the log of a fault test.
level = logger.find("level")
if level is None:
    level = ET.SubElement(logger, "level")
level.text = "information"
for tag, file in (("log", "server.log"), ("errorlog", "server.err.log")):
    node = logger.find(tag)
    if node is None:
        node = ET.SubElement(logger, tag)
    node.text = base + "/log/" + file
tree.write(etc + "/config.xml", encoding="unicode")
PY
  if [ -n "${EXTRA_CONFIG_DIR:-}" ]; then cp "$EXTRA_CONFIG_DIR"/*.xml "$etc/config.d/"; fi
  echo "$http" >"$dir/http_port"
}

start() {
  [ -n "$http_port" ] || usage
  case "$http_port" in *[!0-9]*) die "not a port: $http_port";; esac
  local p
  for p in "$http_port" $((http_port + 1)) $((http_port + 2)); do
    case "$p" in 8123 | 9000 | 9009) die "port $p belongs to the shared server (scripts/clickhouse.sh)";; esac
  done
  local pid
  if pid=$(server_pid); then
    [ "$(recorded_port)" = "$http_port" ] || die "instance $name runs on port $(recorded_port), not $http_port"
    [ "$(state_of "$pid")" = T ] && die "instance $name is frozen (SIGSTOP): thaw it"
    wait_for "ClickHouse instance $name (pid $pid)" 30 ping "$http_port"
    log "ClickHouse instance $name already runs at $(url_of "$http_port") (pid $pid)"
    echo "$(url_of "$http_port")"
    return 0
  fi
  for p in "$http_port" $((http_port + 1)) $((http_port + 2)); do
    port_in_use "$p" && die "port $p is taken by another program"
  done
  apt_install clickhouse-server curl
  write_config "$http_port"
  # A server that exits at start (a port it needs held for a moment by another
  # process, say) is started again, at most three times in all, two seconds apart. Why
  # it exited is printed each time.
  local attempt
  for attempt in 1 2 3; do
    launch && return 0
    log "ClickHouse instance $name exited at start (attempt $attempt of 3). Its last words:"
    last_words >&2
    [ "$attempt" = 3 ] || sleep 2
  done
  die "ClickHouse instance $name exited at start three times: see $dir/server.out and $dir/log/server.err.log"
}

# launch: starts the server and waits until it answers; fails if it exits first.
launch() {
  # No --daemon: the server stays a child of this shell's background job, whose pid is
  # the server's. setsid keeps it out of the caller's process group and terminal.
  setsid /usr/sbin/clickhouse-server --config-file="$etc/config.xml" \
    >"$dir/server.out" 2>&1 </dev/null &
  echo $! >"$pid_file"
  local i
  for ((i = 0; i < 120; i++)); do
    if ping "$http_port"; then
      log "ClickHouse instance $name ready at $(url_of "$http_port") (pid $(cat "$pid_file"))"
      echo "$(url_of "$http_port")"
      return 0
    fi
    server_pid >/dev/null || return 1
    sleep 0.25
  done
  die "ClickHouse instance $name did not answer within 30 s: see $dir/log/server.err.log"
}

# The end of the server's output and error log.
last_words() {
  tail -n 5 "$dir/server.out" 2>/dev/null || true
  tail -n 15 "$dir/log/server.err.log" 2>/dev/null || true
}

# signal_and_wait SIGNAL SECONDS: sends SIGNAL and waits for the server to exit.
signal_and_wait() {
  local pid
  pid=$(server_pid) || { rm -f "$pid_file"; return 0; }
  # A frozen server must run to handle SIGTERM.
  [ "$1" = TERM ] && kill -CONT "$pid" 2>/dev/null || true
  kill "-$1" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    server_pid >/dev/null || { rm -f "$pid_file"; return 0; }
    sleep 0.1
  done
  return 1
}

stop() {
  local wait=${CLICKHOUSE_STOP_TIMEOUT:-20}
  if signal_and_wait TERM "$wait"; then
    log "ClickHouse instance $name stopped"
  else
    log "ClickHouse instance $name still runs ${wait}s after SIGTERM; killing it"
    kill_it
  fi
}

kill_it() {
  signal_and_wait KILL 10 || die "instance $name survived SIGKILL"
  log "ClickHouse instance $name killed"
}

signal_running() {
  local pid
  pid=$(server_pid) || die "ClickHouse instance $name is not running"
  kill "-$1" "$pid"
  log "ClickHouse instance $name (pid $pid): SIG$1"
}

status() {
  local pid
  if pid=$(server_pid); then
    case "$(state_of "$pid")" in
      T | t) echo "frozen pid=$pid port=$(recorded_port)";;
      *) echo "running pid=$pid port=$(recorded_port)";;
    esac
  else
    echo "stopped"
    return 3
  fi
}

case "$cmd" in
  start) start;;
  stop) stop;;
  kill) kill_it;;
  freeze) signal_running STOP;;
  thaw) signal_running CONT;;
  status) status;;
  destroy) kill_it; rm -rf "$dir"; log "ClickHouse instance $name removed";;
  *) usage;;
esac
