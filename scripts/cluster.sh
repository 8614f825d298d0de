#!/usr/bin/env bash
# A small ClickHouse cluster of its own, for the cluster tests: one ZooKeeper and two
# clickhouse-server 18.16 instances, never touching the shared server on 8123.
#
#   scripts/cluster.sh start|stop|status|destroy
#
# What runs (all on 127.0.0.1):
#   ZooKeeper 3.8 (Debian's `zookeeper` package, started directly with java, standalone)
#       client port 18400; no admin server
#   cluster-r1  HTTP 18410, native 18411, interserver 18412; macros replica=r1 shard=01
#   cluster-r2  HTTP 18420, native 18421, interserver 18422; macros replica=r2 shard=02
# The ClickHouse instances are run by scripts/clickhouse-instance.sh (instance names
# cluster-r1 and cluster-r2: kill, stop, freeze or start one with that script), with a
# config.d file that adds <zookeeper>, <macros>, <interserver_http_host> and two entries
# in <remote_servers>:
#   `replicated`  1 shard x 2 replicas (r1, r2), internal_replication=true
#   `sharded`     2 shards x 1 replica (shard 1: r1, shard 2: r2)
# The same two servers serve both: a test makes ReplicatedMergeTree tables under a
# ZooKeeper path with `{shard}` for the sharded layout, and without it (one shard) for
# the replicated one.
#
# The ZooKeeper session timeout is 5 s: with ClickHouse's default of 30 s, a replica
# restarted right after SIGKILL cannot rejoin for about 30 s ("appears to be already
# active"). Start-up takes about 2 s; ZooKeeper uses about 90 MB and each server about
# 90 MB.
#
# `start` installs what is missing (zookeeper, clickhouse-server), and starts what is
# not running; it is idempotent and prints the two HTTP URLs. `stop` stops the servers
# and ZooKeeper, keeping the data; `destroy` kills everything and removes the data
# ($BATCHROW_CACHE/cluster and the two instances' directories). `status` prints one line
# per process and exits 0 only when all three run.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/lib.sh"

ZK_PORT=18400
REPLICAS=(r1:18410 r2:18420)
dir="$BATCHROW_CACHE/cluster"
zk_dir="$dir/zookeeper"
zk_pid_file="$zk_dir/zookeeper.pid"
instance() { bash "$here/clickhouse-instance.sh" "$@"; }

zk_pid() {
  [ -f "$zk_pid_file" ] || return 1
  local pid
  pid=$(cat "$zk_pid_file")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$zk_dir/zoo.cfg" || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ] || return 1
  printf '%s' "$pid"
}

# A four-letter-word command to ZooKeeper; prints the answer.
zk_say() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ZK_PORT; printf '%s' '$1' >&3; cat <&3" 2>/dev/null
}
# `ruok` answers before ZooKeeper serves: wait for `srvr` to name the mode.
zk_serving() { zk_say srvr | grep -q '^Mode: standalone'; }

start_zookeeper() {
  if zk_pid >/dev/null && zk_serving; then
    log "ZooKeeper already serves on 127.0.0.1:$ZK_PORT (pid $(zk_pid))"
    return 0
  fi
  if zk_pid >/dev/null; then
    wait_for "ZooKeeper (pid $(zk_pid), see $zk_dir/zookeeper.out)" 30 zk_serving
    return 0
  fi
  if ss -Hltn "sport = :$ZK_PORT" | grep -q .; then die "port $ZK_PORT is taken by another program"; fi
  apt_install zookeeper
  mkdir -p "$zk_dir/data"
  cat >"$zk_dir/zoo.cfg" <<EOF
tickTime=1000
initLimit=10
syncLimit=5
dataDir=$zk_dir/data
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr
autopurge.purgeInterval=1
EOF
  # A small heap, the serial collector and the client compiler: ZooKeeper serves in
  # about a second and stays under 100 MB.
  setsid java -Xms16m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k \
    -Dzookeeper.log.dir="$zk_dir" \
    -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:/etc/zookeeper/conf \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$zk_dir/zoo.cfg" \
    >"$zk_dir/zookeeper.out" 2>&1 </dev/null &
  echo $! >"$zk_pid_file"
  local i
  for ((i = 0; i < 120; i++)); do
    if zk_serving; then
      log "ZooKeeper serves on 127.0.0.1:$ZK_PORT (pid $(cat "$zk_pid_file"))"
      return 0
    fi
    zk_pid >/dev/null || die "ZooKeeper exited at start: see $zk_dir/zookeeper.out"
    sleep 0.25
  done
  die "ZooKeeper did not serve within 30 s: see $zk_dir/zookeeper.out"
}

stop_zookeeper() {
  local pid i
  pid=$(zk_pid) || { rm -f "$zk_pid_file"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    zk_pid >/dev/null || { rm -f "$zk_pid_file"; log "ZooKeeper stopped"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$zk_pid_file"
  log "ZooKeeper killed"
}

# The config.d file of replica $1 (r1, r2) on HTTP port $2.
write_replica_config() {
  local name=$1 shard=0${1#r} conf="$dir/config.d-$1"
  mkdir -p "$conf"
  local replicas="" shards="" r port
  for r in "${REPLICAS[@]}"; do
    port=$((${r#*:} + 1))
    replicas+="<replica><host>127.0.0.1</host><port>$port</port></replica>"
    shards+="<shard><replica><host>127.0.0.1</host><port>$port</port></replica></shard>"
  done
  cat >"$conf/cluster.xml" <<EOF
<yandex>
  <zookeeper>
    <node><host>127.0.0.1</host><port>$ZK_PORT</port></node>
    <session_timeout_ms>5000</session_timeout_ms>
  </zookeeper>
  <macros><replica>$name</replica><shard>$shard</shard></macros>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <remote_servers>
    <replicated><shard><internal_replication>true</internal_replication>$replicas</shard></replicated>
    <sharded>$shards</sharded>
  </remote_servers>
</yandex>
EOF
  printf '%s' "$conf"
}

start() {
  mkdir -p "$dir"
  start_zookeeper
  local r name port conf
  for r in "${REPLICAS[@]}"; do
    name=${r%%:*} port=${r#*:}
    conf=$(write_replica_config "$name")
    # The instance's config.d keeps the file across restarts by clickhouse-instance.sh.
    EXTRA_CONFIG_DIR="$conf" instance start "cluster-$name" "$port" >/dev/null
    cp "$conf/cluster.xml" "$BATCHROW_CACHE/clickhouse/cluster-$name/etc/config.d/"
  done
  for r in "${REPLICAS[@]}"; do echo "http://127.0.0.1:${r#*:}"; done
}

stop() {
  local r
  for r in "${REPLICAS[@]}"; do CLICKHOUSE_STOP_TIMEOUT=${CLICKHOUSE_STOP_TIMEOUT:-5} instance stop "cluster-${r%%:*}"; done
  stop_zookeeper
}

status() {
  local ok=0 r pid
  if pid=$(zk_pid) && zk_serving; then echo "zookeeper running pid=$pid port=$ZK_PORT"
  else echo "zookeeper stopped"; ok=3; fi
  for r in "${REPLICAS[@]}"; do
    printf 'cluster-%s ' "${r%%:*}"
    instance status "cluster-${r%%:*}" || ok=3
  done
  return $ok
}

destroy() {
  local r
  for r in "${REPLICAS[@]}"; do instance destroy "cluster-${r%%:*}"; done
  stop_zookeeper
  rm -rf "$dir"
  log "cluster removed"
}

case "${1:-}" in
  start) start;;
  stop) stop;;
  status) status;;
  destroy) destroy;;
  *) die "usage: $0 start|stop|status|destroy";;
esac
