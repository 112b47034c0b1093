#!/usr/bin/env bash
# ferry's performance harness (perf/README.md): ferry and HAProxy, measured in one run on the
# same topology, the same generators and the same core budget, plus the deterministic cost in
# instructions. Run as root; see --help.
#
#   [ferry-perf-c: clients 198.18.0.2 (+ .3 .. for the idle workload)]   wrk, curl, iperf3 -c,
#        fpc1 ==veth== fpc0                                              hold.py clients: CPU 0
#   [ferry-perf-p: the proxy under test, CPU 1: ferryd on fpc0/fpc1 through af_packet (the
#    kernel holds no address there), or HAProxy through the kernel (198.18.0.1 on fpc0,
#    198.18.1.1 on fpb0); the VIP is 198.18.0.1]
#        fpb0 ==veth== fpb1
#   [ferry-perf-b: backends 198.18.1.10: nginx :80, iperf3 -s :5201, hold.py servers :9000: CPU 0]
#
# Rules (TESTING.md): traffic only inside these namespaces, addresses only in 198.18.0.0/15,
# every wait bounded, everything torn down on exit (trap), failure included.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(dirname "$HERE")
PY=/usr/bin/python3   # Debian's interpreter (matplotlib); pyenv's python3 does not see it

usage() {
  cat <<EOF
Usage: perf/run.sh [--quick] [--build DIR] [--out DIR] [--reps N] [--keep] [--help]

Measures ferry (ferryd on af_packet) and HAProxy (Debian's, mode tcp, nbthread 1) between a
client namespace and a backend namespace, each proxy pinned to CPU 1 and every generator and
backend to CPU 0, and counts ferry's instructions per proxied connection and per forwarded
segment with callgrind. Writes <out>/<UTC date>-<commit>.json (every figure, its repetitions,
both cores' utilisation, the machine, the configs, the ratios to HAProxy) and a .png chart
beside it, and prints a summary table. Needs root and the packages deploy/setup.sh installs.

  --quick        CI mode, under 5 minutes: one repetition, short runs, 5,000 idle connections;
                 checks every figure is produced and sane, never fails on speed
  --build DIR    meson build directory with app/ferryd/ferryd and perf/ferry_perf_cost
                 (default: $SRC/build)
  --out DIR      where the JSON and PNG go (default: $SRC/perf/results; --quick: /tmp/ferry-perf-quick)
  --reps N       repetitions of each workload (default 3; --quick 1)
  --keep         keep the work directory (logs, configs) instead of removing it
  --only GROUPS  for development: run only these of saturation,fixed,idle,cost (comma
                 separated); the report then lacks the other figures and is not checked
  --rate N       the fixed rate when saturation is not run (default 1000 connections/s)
  -h, --help     this help

Full mode: 3 repetitions of 10 s runs; 9,000 idle connections through both proxies and
100,000 through ferry. Exit status: 0 when every figure was produced and passed its integrity
checks; 1 otherwise; 77 when not root.
EOF
}

QUICK=0
BUILD=$SRC/build
OUT=
REPS=
KEEP=0
ONLY=saturation,fixed,idle,cost
FIXED_RATE=
while (($# > 0)); do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --build) BUILD=$2; shift 2 ;;
    --build=*) BUILD=${1#*=}; shift ;;
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --reps) REPS=$2; shift 2 ;;
    --reps=*) REPS=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --rate) FIXED_RATE=$2; shift 2 ;;
    --rate=*) FIXED_RATE=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "perf/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# ---- parameters ----------------------------------------------------------------------------
if ((QUICK)); then
  MODE=quick
  REPS=${REPS:-1}
  DUR=3                      # s per wrk run
  IPERF_BYTES=$((64 << 20))  # per iperf3 direction
  LAT_SECONDS=4              # fixed-rate run (latency and CPU cost)
  IDLE_RUNS="haproxy:5000 ferry:5000"
  COST_K=200
  COST_M=2000
  OUT=${OUT:-/tmp/ferry-perf-quick}
else
  MODE=full
  REPS=${REPS:-3}
  DUR=10
  IPERF_BYTES=$((1024 << 20))
  LAT_SECONDS=10
  IDLE_RUNS="haproxy:9000 ferry:9000 ferry:100000"
  COST_K=1000
  COST_M=10000
  OUT=${OUT:-$SRC/perf/results}
fi
WRK_CONNS=32
LAT_CLIENTS=4           # curl processes in the fixed-rate run
LAT_MAX_PER_CLIENT=1000 # curl --rate's ceiling per process
PROXY_CPU=1
GEN_CPU=0
SMALL_BYTES=1024

NS_C=ferry-perf-c
NS_P=ferry-perf-p
NS_B=ferry-perf-b
VIP=198.18.0.1
CLIENT=198.18.0.2
SOURCE=198.18.1.1
BACKEND=198.18.1.10
FERRYD=${FERRYD:-$BUILD/app/ferryd/ferryd}
COST_BIN=$BUILD/perf/ferry_perf_cost
DRIVERS_DIR=${FERRY_DRIVERS_DIR:-$SRC/drivers-config}

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
  log "FAIL: $*"
  [ -n "${FERRYD_LOG:-}" ] && [ -f "$FERRYD_LOG" ] && { echo "--- ferryd log (tail)"; tail -n 30 "$FERRYD_LOG"; }
  exit 1
}

[ "$(id -u)" = 0 ] || { echo "perf/run.sh: needs root (network namespaces)"; exit 77; }
for tool in ip ethtool taskset haproxy nginx wrk iperf3 curl valgrind flock; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run deploy/setup.sh"
done
[ -x "$FERRYD" ] || fail "no ferryd at $FERRYD (build first, or --build DIR)"
[ -x "$COST_BIN" ] || fail "no $COST_BIN (build with -Dtests=true)"
"$PY" -c 'import matplotlib' 2>/dev/null || fail "$PY has no matplotlib (python3-matplotlib)"

# One run at a time on this machine (namespaces, veths and the DPDK prefix are fixed names).
mkdir -p /run/lock
exec 9>/run/lock/ferry-perf.lock
flock -w 600 9 || fail "another perf/run.sh still holds /run/lock/ferry-perf.lock after 10 min"

WORK=$(mktemp -d /tmp/ferry-perf.XXXXXX)
RAW=$WORK/raw.txt
: >"$RAW"
declare -A PIDS=()
FERRYD_PID=
FERRYD_LOG=
HAPROXY_PID=

stop_pid() {  # pid: TERM, 5 s, then KILL for it and its children
  local pid=$1 children i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  children=$(pgrep -P "$pid" || true)
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  # shellcheck disable=SC2086
  kill -KILL "$pid" $children 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? name ns pid
  set +e
  trap - EXIT INT TERM
  for name in "${!PIDS[@]}"; do stop_pid "${PIDS[$name]}"; done
  [ -n "$FERRYD_PID" ] && stop_pid "$FERRYD_PID"
  [ -n "$HAPROXY_PID" ] && stop_pid "$HAPROXY_PID"
  # Anything still inside our namespaces was started by this run.
  for ns in "$NS_C" "$NS_B" "$NS_P"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  sleep 0.2
  for ns in "$NS_C" "$NS_B" "$NS_P"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf /var/run/dpdk/ferry-perf*
  if ((KEEP)) || [ "$rc" != 0 ]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # seconds cmd...: poll every 0.1 s
  local limit=$1 deadline
  shift
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# spawn NAME NS CPU cmd...: in the background, pinned, log in $WORK/NAME.log.
spawn() {
  local name=$1 ns=$2 cpu=$3
  shift 3
  ip netns exec "$ns" taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
  PIDS[$name]=$!
}
stop() { local p=${PIDS[$1]:-}; [ -z "$p" ] || { stop_pid "$p"; unset "PIDS[$1]"; }; }

# ---- measurement helpers -------------------------------------------------------------------
# "busy total" jiffies of CPU $1 from /proc/stat (idle and iowait are not busy).
cpu_jiffies() {
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
CPU_MARK=()
cpu_mark() { CPU_MARK=("$(cpu_jiffies 0)" "$(cpu_jiffies 1)"); }
# "core0=U core1=U core1_busy_s=S" since cpu_mark (U in % of the core).
cpu_since() {
  local now0 now1
  now0=$(cpu_jiffies 0)
  now1=$(cpu_jiffies 1)
  awk -v a="${CPU_MARK[0]}" -v b="$now0" -v c="${CPU_MARK[1]}" -v d="$now1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    split(a, x, " "); split(b, y, " "); split(c, p, " "); split(d, q, " ");
    u0 = (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0;
    u1 = (q[2] > p[2]) ? 100 * (q[1] - p[1]) / (q[2] - p[2]) : 0;
    printf "core0=%.1f core1=%.1f core1_busy_s=%.3f", u0, u1, (q[1] - p[1]) / hz }'
}
now_s() { date +%s.%N; }

# Process CPU seconds (utime + stime) of pid $1.
proc_cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
# Slab memory in bytes (/proc/slabinfo: objects in use times their size): slab_bytes, every cache;
# sock_slab_bytes, the caches a TCP socket and its file and epoll registration allocate from
# (measured here: a socket, its sockfs inode and dentry, its struct file, its epoll item,
# their LSM blobs), which is what per-connection kernel memory is read from: the other caches
# (inodes of files, page-cache metadata) move with whatever else runs on the machine.
# meminfo_slab: Slab of /proc/meminfo (all caches, with partially used slab pages).
SOCK_CACHES="TCP request_sock_TCP tw_sock_TCP sock_inode_cache dentry filp eventpoll_epi eventpoll_pwq ep_head lsm_file_cache lsm_inode_cache skbuff_head_cache skbuff_small_head"
slab_bytes() { awk 'NR > 2 { s += $2 * $4 } END { printf "%d", s }' /proc/slabinfo; }
sock_slab_bytes() {
  awk -v names="$SOCK_CACHES" 'BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
    NR > 2 && ($1 in want) { s += $2 * $4 } END { printf "%d", s }' /proc/slabinfo
}
meminfo_slab() { awk '$1 == "Slab:" { print $2 * 1024 }' /proc/meminfo; }
# TCP sockets in use in namespace $1 (/proc/net/sockstat "inuse": per namespace; "alloc" is global).
ns_tcp_sockets() { ip netns exec "$1" awk '$1 == "TCP:" { print $3 }' /proc/net/sockstat; }

# record KEY=VALUE...: one line of raw results (report.py reads them).
record() { echo "$*" >>"$RAW"; log "  -> $*"; }

# ---- topology ------------------------------------------------------------------------------
topology() {
  local ns
  for ns in "$NS_C" "$NS_P" "$NS_B"; do
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_P" link add fpc0 type veth peer name fpc1 netns "$NS_C"
  ip -n "$NS_P" link add fpb0 type veth peer name fpb1 netns "$NS_B"
  local a
  ip -n "$NS_C" addr add "$CLIENT/24" dev fpc1
  # Extra client addresses for the idle workload (one per client process).
  for a in $(seq 3 12); do ip -n "$NS_C" addr add "198.18.0.$a/24" dev fpc1; done
  ip -n "$NS_B" addr add "$BACKEND/24" dev fpb1
  # Local client addresses for the direct (no proxy) idle baseline.
  for a in $(seq 20 29); do ip -n "$NS_B" addr add "198.18.1.$a/24" dev fpb1; done
  for ns in "$NS_C" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" \
      net.ipv4.conf.all.arp_accept=1 net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
  done
  ip netns exec "$NS_P" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" \
    net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
  ip -n "$NS_C" link set fpc1 up
  ip -n "$NS_B" link set fpb1 up
  ip -n "$NS_P" link set fpc0 up
  ip -n "$NS_P" link set fpb0 up
  # Kernel peers send complete checksums and MTU-sized frames (TESTING.md: veth offload).
  ip netns exec "$NS_C" ethtool -K fpc1 tx off tso off gso off >/dev/null 2>&1 || true
  ip netns exec "$NS_B" ethtool -K fpb1 tx off tso off gso off >/dev/null 2>&1 || true
  # Receive processing on the core of the receiver: the peers' on CPU 0, the proxy's (its
  # kernel TCP for HAProxy, the af_packet copy for ferry) on CPU 1.
  ip netns exec "$NS_C" sh -c "echo 1 > /sys/class/net/fpc1/queues/rx-0/rps_cpus"
  ip netns exec "$NS_B" sh -c "echo 1 > /sys/class/net/fpb1/queues/rx-0/rps_cpus"
  ip netns exec "$NS_P" sh -c "echo 2 > /sys/class/net/fpc0/queues/rx-0/rps_cpus; echo 2 > /sys/class/net/fpb0/queues/rx-0/rps_cpus"
  log "topology: $NS_C -- fpc1/fpc0 -- $NS_P -- fpb0/fpb1 -- $NS_B"
}

# The kernel addresses of the proxy namespace: on for HAProxy, off for ferry (which owns them).
proxy_ns_addresses() {
  ip -n "$NS_P" addr flush dev fpc0
  ip -n "$NS_P" addr flush dev fpb0
  if [ "$1" = on ]; then
    ip -n "$NS_P" addr add "$VIP/24" dev fpc0
    ip -n "$NS_P" addr add "$SOURCE/24" dev fpb0
  fi
  ip -n "$NS_C" neigh flush dev fpc1 2>/dev/null || true
  ip -n "$NS_B" neigh flush dev fpb1 2>/dev/null || true
}

# ---- backends ------------------------------------------------------------------------------
backends_start() {
  mkdir -p "$WORK/www" "$WORK/nginx/tmp"
  head -c "$SMALL_BYTES" /dev/urandom >"$WORK/www/small"
  head -c $((1 << 20)) /dev/urandom >"$WORK/www/1m"
  SHA_1M=$(sha256sum "$WORK/www/1m" | cut -d' ' -f1)
  cat >"$WORK/nginx/nginx.conf" <<NGINX
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 19000;
user root;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  server {
    listen $BACKEND:80 backlog=8192;
    root $WORK/www;
    default_type application/octet-stream;
  }
}
NGINX
  spawn nginx "$NS_B" "$GEN_CPU" nginx -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log"
  wait_for 10 ip netns exec "$NS_B" curl -sf -o /dev/null "http://$BACKEND/small" \
    || fail "nginx does not answer: $(cat "$WORK/nginx/error.log" "$WORK/nginx.log" 2>/dev/null)"
  spawn iperf3-server "$NS_B" "$GEN_CPU" iperf3 -s -B "$BACKEND" -p 5201
  wait_for 10 ip netns exec "$NS_B" sh -c "ss -ltnH 'sport = :5201' | grep -q ." || fail "iperf3 -s did not start"
  log "backends: nginx ($SMALL_BYTES B and 1 MiB objects) and iperf3 -s on $BACKEND"
}

# hold.py servers on $BACKEND:9000 for $1 connections (at most ~12,500 each; SO_REUSEPORT).
HOLD_SERVERS=0
hold_servers_start() {
  local n=$1 i
  HOLD_SERVERS=$(((n + 12499) / 12500 + (n > 12500 ? 1 : 0)))
  for i in $(seq 1 "$HOLD_SERVERS"); do
    spawn "hold-server-$i" "$NS_B" "$GEN_CPU" "$PY" "$HERE/hold.py" serve "$BACKEND:9000" --timeout 1200
  done
  for i in $(seq 1 "$HOLD_SERVERS"); do
    wait_for 10 grep -q '^LISTENING' "$WORK/hold-server-$i.log" || fail "hold server $i did not start"
  done
}
hold_servers_stop() { local i; for i in $(seq 1 "$HOLD_SERVERS"); do stop "hold-server-$i"; done; }
held_total() {  # connections the hold servers report holding
  local i t=0 v
  for i in $(seq 1 "$HOLD_SERVERS"); do
    v=$(awk '/^HELD / { v = $2 } END { print v + 0 }' "$WORK/hold-server-$i.log")
    t=$((t + v))
  done
  echo "$t"
}
held_is() { [ "$(held_total)" = "$1" ]; }

# ---- ferryd --------------------------------------------------------------------------------
# ferry_config FILE MAX_CONNECTIONS MAX_SESSIONS SOURCE_COUNT
ferry_config() {
  local file=$1 maxconn=$2 sessions=$3 nsrc=$4 i srcs="" addrs=""
  for i in $(seq 1 "$nsrc"); do
    addrs+="  ipv4 { address: \"198.18.1.$i\" prefix_length: 24 }"$'\n'
    srcs+="  source_addresses: \"198.18.1.$i\""$'\n'
  done
  cat >"$file" <<CONF
# ferryd for perf/run.sh: one worker on lcore $PROXY_CPU (the control thread on lcore 0),
# af_packet on the proxy namespace's veth ends, no hugepages (as the tests), idle back-off on.
interfaces {
  name: "lan0"
  driver: "af_packet"
  device: "iface=fpc0"
  ipv4 { address: "$VIP" prefix_length: 24 }
}
interfaces {
  name: "lan1"
  driver: "af_packet"
  device: "iface=fpb0"
$addrs}
workers { count: 1 main_lcore: 0 lcores: $PROXY_CPU mbufs_per_worker: 32767 }
eal { hugepages: false memory_mb: 512 file_prefix: "ferry-perf" extra_args: "--no-shconf" }
tcp { time_wait_ms: 1000 max_connections: $maxconn syn_backlog: 4096 }
proxy {
  listeners { name: "http" address: "$VIP" port: 80 pool: "http" idle_timeout_s: 600 }
  listeners { name: "iperf" address: "$VIP" port: 5201 pool: "iperf" idle_timeout_s: 600 }
  listeners { name: "hold" address: "$VIP" port: 9000 pool: "hold" idle_timeout_s: 1200 }
  pools { name: "http" policy: "round_robin" connect_timeout_ms: 2000 connect_attempts: 2
          backends { name: "nginx" address: "$BACKEND" port: 80 } }
  pools { name: "iperf" policy: "round_robin" connect_timeout_ms: 2000 connect_attempts: 2
          backends { name: "iperf3" address: "$BACKEND" port: 5201 } }
  pools { name: "hold" policy: "round_robin" connect_timeout_ms: 5000 connect_attempts: 2
          backends { name: "hold" address: "$BACKEND" port: 9000 } }
$srcs  max_sessions: $sessions
}
CONF
}

ferry_start() {  # config file
  proxy_ns_addresses off
  rm -rf /var/run/dpdk/ferry-perf*
  FERRYD_LOG=$WORK/ferryd.$((++FERRY_RUNS)).log
  ip netns exec "$NS_P" "$FERRYD" --config="$1" --drivers_dir="$DRIVERS_DIR" >"$FERRYD_LOG" 2>&1 &
  FERRYD_PID=$!
  wait_for 90 grep -q "ferryd ready" "$FERRYD_LOG" || fail "ferryd did not become ready in 90 s"
  # Clients and backends learn ferry's MAC (its gratuitous ARP, or their own request).
  wait_for 10 ip netns exec "$NS_C" curl -sf -o /dev/null --max-time 1 "http://$VIP/small" \
    || fail "no answer through ferry"
  log "ferryd ready (pid $FERRYD_PID)"
}
FERRY_RUNS=0
ferry_stop() {
  kill -TERM "$FERRYD_PID"
  wait_for 20 sh -c "! kill -0 $FERRYD_PID" || { kill -KILL "$FERRYD_PID"; fail "ferryd still running 20 s after SIGTERM"; }
  local rc=0
  wait "$FERRYD_PID" || rc=$?
  FERRYD_PID=
  [ "$rc" = 0 ] || fail "ferryd exited with $rc"
  rm -rf /var/run/dpdk/ferry-perf*
}
ferry__reports() { grep -c '^  worker 0: busy' "$FERRYD_LOG" || true; }
ferry__has_reports() { [ "$(ferry__reports)" -ge "$1" ]; }
# A fresh counters report (SIGUSR1) into $WORK/snap.$1 (with the time it was asked for).
ferry_snapshot() {
  local n t
  n=$(ferry__reports)
  t=$(now_s)
  kill -USR1 "$FERRYD_PID"
  wait_for 10 ferry__has_reports $((n + 1)) || fail "no counters report 10 s after SIGUSR1"
  awk '/^ferryd: (counters on SIGUSR1|final counters)/ { n = 0; next } { line[++n] = $0 }
       END { for (i = 1; i <= n; i++) print line[i] }' "$FERRYD_LOG" >"$WORK/snap.$1"
  echo "wall_time $t" >>"$WORK/snap.$1"
}
ferry_value() {  # snapshot counter
  awk -v n="$2" '$1 == n { v = $2 } END { if (v == "") exit 1; print v }' "$WORK/snap.$1" \
    || fail "counter $2 missing from ferryd's report"
}
# Busy CPU seconds of ferry's worker between snapshots $1 and $2: the busy share of the loop's
# TSC cycles (busy + idle cover the loop's whole time) times the wall time between them.
ferry_busy_s() {
  local b1 b2 i1 i2 t1 t2
  b1=$(ferry_value "$1" loop.busy_cycles); b2=$(ferry_value "$2" loop.busy_cycles)
  i1=$(ferry_value "$1" loop.idle_cycles); i2=$(ferry_value "$2" loop.idle_cycles)
  t1=$(ferry_value "$1" wall_time); t2=$(ferry_value "$2" wall_time)
  awk -v b="$((b2 - b1))" -v i="$((i2 - i1))" -v t="$t1" -v u="$t2" \
    'BEGIN { printf "%.4f", (b + i > 0) ? b / (b + i) * (u - t) : 0 }'
}

# ---- HAProxy -------------------------------------------------------------------------------
haproxy_config() {
  cat >"$WORK/haproxy.cfg" <<CFG
# HAProxy for perf/run.sh: one process, one thread (pinned to CPU $PROXY_CPU by taskset),
# mode tcp, the same three services as ferry's listeners. maxconn 9900: two files per proxied
# connection under the 20,000 open-file limit.
global
  nbthread 1
  maxconn 9900
  log stdout format raw local0 err
defaults
  mode tcp
  maxconn 9900
  timeout connect 5s
  timeout client 1200s
  timeout server 1200s
frontend http
  bind $VIP:80 backlog 8192
  default_backend http
backend http
  server nginx $BACKEND:80
frontend iperf
  bind $VIP:5201
  default_backend iperf
backend iperf
  server iperf3 $BACKEND:5201
frontend hold
  bind $VIP:9000 backlog 8192
  default_backend hold
backend hold
  server hold $BACKEND:9000
CFG
  haproxy -c -f "$WORK/haproxy.cfg" >/dev/null || fail "haproxy rejects its config"
}
haproxy_start() {
  proxy_ns_addresses on
  ip netns exec "$NS_P" taskset -c "$PROXY_CPU" haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  wait_for 10 ip netns exec "$NS_C" curl -sf -o /dev/null --max-time 1 "http://$VIP/small" \
    || fail "no answer through haproxy: $(tail -n 5 "$WORK/haproxy.log")"
  log "haproxy ready (pid $HAPROXY_PID)"
}
haproxy_stop() {
  stop_pid "$HAPROXY_PID"
  HAPROXY_PID=
  proxy_ns_addresses off
}

proxy_start() {
  case "$1" in
    ferry) ferry_start "$WORK/ferryd.conf" ;;
    haproxy) haproxy_start ;;
  esac
}
proxy_stop() { case "$1" in ferry) ferry_stop ;; haproxy) haproxy_stop ;; esac; }

# CPU accounting of the proxy under test around a measurement: proxy_cpu_mark P, then
# proxy_cpu_since P prints the proxy's own CPU seconds (ferry: its worker's busy cycles;
# HAProxy: utime + stime) and, for ferry, the whole process's utime + stime as well.
proxy_cpu_mark() {
  case "$1" in
    ferry) ferry_snapshot m0; PCPU0=$(proc_cpu_s "$FERRYD_PID") ;;
    haproxy) PCPU0=$(proc_cpu_s "$HAPROXY_PID") ;;
  esac
}
proxy_cpu_since() {
  case "$1" in
    ferry)
      ferry_snapshot m1
      echo "proxy_cpu_s=$(ferry_busy_s m0 m1) process_cpu_s=$(awk -v a="$PCPU0" -v b="$(proc_cpu_s "$FERRYD_PID")" 'BEGIN { printf "%.3f", b - a }')"
      ;;
    haproxy)
      local c
      c=$(awk -v a="$PCPU0" -v b="$(proc_cpu_s "$HAPROXY_PID")" 'BEGIN { printf "%.3f", b - a }')
      echo "proxy_cpu_s=$c process_cpu_s=$c"
      ;;
  esac
}

# ---- workloads -----------------------------------------------------------------------------
# Both objects through proxy $1, byte-exact.
integrity() {
  local p=$1 f=$WORK/download
  rm -f "$f"
  ip netns exec "$NS_C" curl -sS --max-time 20 -o "$f" "http://$VIP/1m" || fail "$p: GET /1m failed"
  [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$SHA_1M" ] || fail "$p: the 1 MiB object's sha256 differs ($(stat -c %s "$f") bytes)"
  ip netns exec "$NS_C" curl -sS --max-time 5 -o "$f" "http://$VIP/small" || fail "$p: GET /small failed"
  cmp -s "$f" "$WORK/www/small" || fail "$p: the small object differs"
  record "workload=integrity proxy=$p rep=$REP value=1 unit=ok sha256_1m=$SHA_1M"
}

# wrk $2 (cps: a new connection per request; rps: keep-alive) through proxy $1.
WRK_RPS=
run_wrk() {
  local p=$1 kind=$2 out=$WORK/wrk.$1.$2.$REP.log extra=() cpu pcpu
  [ "$kind" = cps ] && extra=(-H 'Connection: close')
  cpu_mark
  proxy_cpu_mark "$p"
  ip netns exec "$NS_C" timeout -k 5 $((DUR + 30)) taskset -c "$GEN_CPU" wrk -t1 -c"$WRK_CONNS" \
    -d"${DUR}s" --timeout 5s "${extra[@]}" "http://$VIP/small" >"$out" 2>&1 || fail "wrk failed: $(cat "$out")"
  cpu=$(cpu_since)
  pcpu=$(proxy_cpu_since "$p")
  local reqs rps errors non2xx
  reqs=$(awk '/ requests in / { print $1 }' "$out")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  errors=$(awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
  non2xx=$(awk -F': ' '/Non-2xx or 3xx responses/ { print $2 }' "$out")
  [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || fail "$p $kind: wrk made no request: $(cat "$out")"
  [ -z "$non2xx" ] || fail "$p $kind: $non2xx non-2xx responses"
  # A few resets under saturation are recorded; more than 1% of the requests is a failure.
  [ "${errors:-0}" -le $((reqs / 100)) ] || fail "$p $kind: ${errors} socket errors in $reqs requests: $(grep 'Socket errors' "$out")"
  WRK_RPS=$rps
  local unit=conn/s
  [ "$kind" = rps ] && unit=req/s
  record "workload=$kind proxy=$p rep=$REP value=$rps unit=$unit requests=$reqs errors=${errors:-0} $cpu $pcpu"
}

# iperf3 through proxy $1, $IPERF_BYTES in direction $2 (up: client to backend; down).
run_iperf() {
  local p=$1 dir=$2 out=$WORK/iperf.$1.$2.$REP.json rflag=() cpu
  [ "$dir" = down ] && rflag=(-R)
  cpu_mark
  ip netns exec "$NS_C" timeout -k 5 120 taskset -c "$GEN_CPU" iperf3 -c "$VIP" -p 5201 \
    -n "$IPERF_BYTES" "${rflag[@]}" --json >"$out" 2>&1 || fail "$p iperf3 $dir failed: $(tail -c 400 "$out")"
  cpu=$(cpu_since)
  local res
  res=$("$PY" - "$out" "$IPERF_BYTES" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
want = int(sys.argv[2])
end = d["end"]
sent = end["sum_sent"]["bytes"]
recv = end["sum_received"]["bytes"]
secs = end["sum_received"]["seconds"]
# The receiver counts until the test ends, when the last bytes sent may still be on the way
# (in socket buffers and, for HAProxy, its own buffers): at most 32 MiB, and half of it all.
ok = sent >= want and recv >= max(sent - (32 << 20), sent / 2)
print(f"{recv * 8 / secs / 1e9:.4f} {sent} {recv} {secs:.3f} {int(ok)} {end['sum_sent'].get('retransmits', 0)}")
EOF
  ) || fail "$p iperf3 $dir: unreadable result"
  read -r gbps sent recv secs ok retr <<<"$res"
  [ "$ok" = 1 ] || fail "$p iperf3 $dir: sent $sent bytes, received $recv (wanted $IPERF_BYTES)"
  record "workload=throughput_$dir proxy=$p rep=$REP value=$gbps unit=Gbit/s bytes_sent=$sent bytes_received=$recv seconds=$secs retransmits=$retr $cpu"
}

# The fixed-rate run through proxy $1 at $RATE new connections/s for $LAT_SECONDS: curl
# processes ($LAT_CLIENTS, each at most $LAT_MAX_PER_CLIENT/s) fetch the small object, each
# on a new connection; latency figures from curl's timings, the CPU cost from the proxy's
# accounting over the same interval.
run_fixed_rate() {
  local p=$1 per n i cpu pcpu start end
  per=$(((RATE + LAT_CLIENTS - 1) / LAT_CLIENTS))
  n=$((per * LAT_SECONDS))
  cpu_mark
  proxy_cpu_mark "$p"
  start=$(now_s)
  for i in $(seq 1 "$LAT_CLIENTS"); do
    ip netns exec "$NS_C" timeout -k 5 $((LAT_SECONDS * 3 + 30)) taskset -c "$GEN_CPU" \
      curl -s --rate "${per}/s" -H 'Connection: close' --max-time 5 -o /dev/null \
      -w '%{http_code} %{size_download} %{time_connect} %{time_starttransfer} %{time_total}\n' \
      "http://$VIP/small?[1-$n]" >"$WORK/lat.$p.$REP.$i.txt" 2>/dev/null &
    PIDS[lat-$i]=$!
  done
  for i in $(seq 1 "$LAT_CLIENTS"); do
    wait "${PIDS[lat-$i]}" || true
    unset "PIDS[lat-$i]"
  done
  end=$(now_s)
  cpu=$(cpu_since)
  pcpu=$(proxy_cpu_since "$p")
  local res
  res=$(cat "$WORK"/lat."$p"."$REP".*.txt | "$PY" -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
ok = [r for r in rows if r[0] == "200" and int(r[1]) == int(sys.argv[1])]
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] * 1e6 if v else 0
ttfb = [float(r[3]) for r in ok]
ttlb = [float(r[4]) for r in ok]
print(len(rows), len(ok), "%.0f %.0f %.0f %.0f" % (q(ttfb, .5), q(ttfb, .99), q(ttlb, .5), q(ttlb, .99)))
' "$SMALL_BYTES")
  read -r total good f50 f99 l50 l99 <<<"$res"
  [ "$total" = $((n * LAT_CLIENTS)) ] && [ "$good" -ge $((total * 99 / 100)) ] \
    || fail "$p fixed rate: $good good responses of $total, wanted $((n * LAT_CLIENTS))"
  local secs achieved pc
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  achieved=$(awk -v n="$good" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
  pc=$(sed 's/.*proxy_cpu_s=\([0-9.]*\).*/\1/' <<<"$pcpu")
  record "workload=latency proxy=$p rep=$REP offered_rate=$RATE achieved_rate=$achieved requests=$good errors=$((total - good)) ttfb_p50_us=$f50 ttfb_p99_us=$f99 ttlb_p50_us=$l50 ttlb_p99_us=$l99 seconds=$secs $cpu $pcpu"
  local c1
  c1=$(sed 's/.*core1_busy_s=\([0-9.]*\).*/\1/' <<<"$cpu")
  local proc
  proc=$(sed 's/.*process_cpu_s=\([0-9.]*\).*/\1/' <<<"$pcpu")
  record "workload=cpu_per_1k_conns proxy=$p rep=$REP value=$(awk -v c="$pc" -v n="$good" 'BEGIN { printf "%.5f", 1000 * c / n }') unit=cpu_s process_per_1k_s=$(awk -v c="$proc" -v n="$good" 'BEGIN { printf "%.5f", 1000 * c / n }') core1_per_1k_s=$(awk -v c="$c1" -v n="$good" 'BEGIN { printf "%.5f", 1000 * c / n }') offered_rate=$RATE achieved_rate=$achieved connections=$good $cpu $pcpu"
}

# ---- idle connections ----------------------------------------------------------------------
# $1 idle connections through proxy $2 (ferry, haproxy or direct: clients in the backend
# namespace straight to the hold servers, the baseline for the kernel memory of the
# clients' and backends' own sockets). Records memory per connection.
run_idle() {
  local n=$1 p=$2 per procs i ns target bind c
  procs=$(((n + 14999) / 15000))
  per=$(((n + procs - 1) / procs))
  hold_servers_start "$n"
  ns=$NS_C
  target=$VIP:9000
  [ "$p" = direct ] && { ns=$NS_B; target=$BACKEND:9000; }
  local rss0=0 rss1=0 ppid=
  case "$p" in
    ferry) ppid=$FERRYD_PID; ferry_snapshot idle0 ;;
    haproxy) ppid=$HAPROXY_PID ;;
  esac
  sleep 1
  [ -n "$ppid" ] && rss0=$(rss_kb "$ppid")
  # Sockets of the proxy's own (its namespace's): HAProxy's two per connection, none for
  # ferry; for the direct baseline, the clients' and servers' (the backend namespace).
  local sockns=$NS_P sock0 sock1
  [ "$p" = direct ] && sockns=$NS_B
  sock0=$(ns_tcp_sockets "$sockns")
  local slab0 mslab0 sslab0
  slab0=$(slab_bytes)
  sslab0=$(sock_slab_bytes)
  mslab0=$(meminfo_slab)
  cpu_mark
  local t0=$SECONDS left=$n
  for i in $(seq 1 "$procs"); do
    c=$((left < per ? left : per))
    left=$((left - c))
    if [ "$p" = direct ]; then bind=198.18.1.$((19 + i)); else bind=198.18.0.$((1 + i)); fi
    spawn "hold-client-$i" "$ns" "$GEN_CPU" "$PY" "$HERE/hold.py" connect "$target" --conns "$c" \
      --bind "$bind" --in-flight 256 --sample 20 --timeout 900
  done
  for i in $(seq 1 "$procs"); do
    wait_for 600 grep -Eq '^(ESTABLISHED|FAILED)' "$WORK/hold-client-$i.log" || fail "idle $p: client $i not done in 600 s"
    grep -q '^ESTABLISHED' "$WORK/hold-client-$i.log" || fail "idle $p: client $i: $(tail -n 2 "$WORK/hold-client-$i.log")"
  done
  wait_for 60 held_is "$n" || fail "idle $p: the backends hold $(held_total) of $n connections"
  local est_s=$((SECONDS - t0))
  sleep 3  # settle: delayed ACKs, timers
  local rss_per=0 extra=""
  if [ "$p" = ferry ]; then
    ferry_snapshot idle1
    local active mbufs0 mbufs1 held slot slots
    active=$(ferry_value idle1 proxy.sessions_active)
    [ "$active" = "$n" ] || fail "idle ferry: proxy.sessions_active is $active, not $n"
    mbufs0=$(ferry_value idle0 loop.mbufs_in_use)
    mbufs1=$(ferry_value idle1 loop.mbufs_in_use)
    held=$(ferry_value idle1 tcp.mbufs_held)
    slot=$(ferry_value idle1 proxy.session_slot_bytes)
    slots=$(ferry_value idle1 proxy.session_slots)
    extra="mbufs_in_use_before=$mbufs0 mbufs_in_use=$mbufs1 tcp_mbufs_held=$held session_slot_bytes=$slot session_slots=$slots"
  fi
  [ -n "$ppid" ] && rss1=$(rss_kb "$ppid")
  local slab1 mslab1 sslab1 cpu
  slab1=$(slab_bytes)
  sslab1=$(sock_slab_bytes)
  sock1=$(ns_tcp_sockets "$sockns")
  mslab1=$(meminfo_slab)
  cpu=$(cpu_since)
  # Still alive end to end: a line echoed on a sample of each client's connections; then all
  # are closed.
  for i in $(seq 1 "$procs"); do kill -USR1 "${PIDS[hold-client-$i]}"; done
  for i in $(seq 1 "$procs"); do
    wait_for 900 grep -Eq '^(ECHOED|FAILED)' "$WORK/hold-client-$i.log" || fail "idle $p: client $i did not echo"
    if ! grep -q '^ECHOED' "$WORK/hold-client-$i.log"; then
      idle_diagnose "$p" "$WORK/hold-client-$i.log"
      fail "idle $p: client $i: $(tail -n 2 "$WORK/hold-client-$i.log")"
    fi
  done
  for i in $(seq 1 "$procs"); do kill -USR1 "${PIDS[hold-client-$i]}"; done
  for i in $(seq 1 "$procs"); do
    wait_for 120 grep -Eq '^(RESULT|FAILED)' "$WORK/hold-client-$i.log" || fail "idle $p: client $i did not close"
    grep -q '^RESULT ok=1' "$WORK/hold-client-$i.log" || fail "idle $p: client $i: $(tail -n 2 "$WORK/hold-client-$i.log")"
    stop "hold-client-$i"
  done
  local slow
  slow=$(cat "$WORK"/hold-client-*.log | grep -c '^SLOW' || true)
  [ "$slow" = 0 ] || log "idle $p: $slow echoes took more than 1 s: $(grep -h '^SLOW' "$WORK"/hold-client-*.log | head -n 3 | tr '\n' ' ')"
  wait_for 120 held_is 0 || log "idle $p: the backends still hold $(held_total) connections"
  hold_servers_stop
  record "workload=idle proxy=$p rep=1 conns=$n rss_before_kb=$rss0 rss_after_kb=$rss1 rss_per_conn_b=$(((rss1 - rss0) * 1024 / n)) slab_delta_b=$((slab1 - slab0)) slab_all_per_conn_b=$(((slab1 - slab0) / n)) slab_per_conn_b=$(((sslab1 - sslab0) / n)) meminfo_slab_delta_b=$((mslab1 - mslab0)) sockets=$((sock1 - sock0)) sock_slab_delta_b=$((sslab1 - sslab0)) client_procs=$procs establish_s=$est_s slow_echoes=$slow $extra $cpu"
  if [ "$p" = ferry ]; then
    # Everything released once the clients close (TIME-WAIT is 1 s).
    local k
    for k in $(seq 1 30); do
      ferry_snapshot idle2
      [ "$(ferry_value idle2 proxy.sessions_active)" = 0 ] && break
      sleep 1
    done
    [ "$(ferry_value idle2 proxy.sessions_active)" = 0 ] || fail "idle ferry: sessions left after the clients closed"
  fi
}

# What the kernel and ferry say about a connection whose echo failed (client log $2).
idle_diagnose() {
  local port
  port=$(sed -n 's/^FAILED: echo on sample [0-9]* ([0-9.]*:\([0-9]*\)).*/\1/p' "$2" | head -n 1)
  [ -n "$port" ] && log "client socket: $(ip netns exec "$NS_C" ss -tnioH "( sport = :$port )" | tr -s ' \n' ' ')"
  if [ "$1" = ferry ]; then
    ferry_snapshot diag
    log "ferry since the connections were up: $(awk 'FNR == 1 { f++ } NF == 2 { v[f, $1] = $2; n[$1] }
      END { for (k in n) if (v[2, k] != v[1, k]) printf "%s%+d ", k, v[2, k] - v[1, k] }' "$WORK/snap.idle1" "$WORK/snap.diag")"
  fi
  grep -h '^SLOW' "$WORK"/hold-client-*.log | head -n 5 || true
}

# ---- the deterministic cost ----------------------------------------------------------------
run_cost() {
  local dir=$WORK/callgrind
  mkdir -p "$dir"
  log "instructions: callgrind on ferry_perf_cost (K=$COST_K connections, M=$COST_M segments)"
  FERRY_COST_CONNECTIONS=$COST_K FERRY_COST_SEGMENTS=$COST_M timeout -k 5 900 \
    valgrind --tool=callgrind --collect-atstart=no \
    --toggle-collect='ferry::tcp::TcpStack::Input(*' \
    --toggle-collect='ferry::tcp::TcpStack::Tick(*' \
    --toggle-collect='ferry::proxy::Proxy::Tick(*' \
    --toggle-collect='ferry::proxy::packet::ProxyHarness::Capture(*' \
    --callgrind-out-file="$dir/cg.out" "$COST_BIN" >"$WORK/cost.log" 2>&1 \
    || fail "ferry_perf_cost under callgrind failed: $(tail -n 20 "$WORK/cost.log")"
  grep -q '\[  PASSED  \] 2 tests' "$WORK/cost.log" || fail "ferry_perf_cost: $(grep -E 'FAILED|Failure' "$WORK/cost.log" | head -n 5)"
  local f phase total conn_ir=0 seg_ir=0
  for f in "$dir"/cg.out*; do
    phase=$(awk '/^desc: Trigger: Client Request: / { print $NF }' "$f")
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$f")
    case "$phase" in
      connections) conn_ir=$total ;;
      segments) seg_ir=$total ;;
    esac
  done
  [ "$conn_ir" -gt 0 ] && [ "$seg_ir" -gt 0 ] || fail "callgrind counted nothing ($conn_ir, $seg_ir): $(ls "$dir")"
  # The same run natively: wall time per connection (informative, not stable).
  local native
  native=$(FERRY_COST_CONNECTIONS=$COST_K FERRY_COST_SEGMENTS=$COST_M timeout 300 "$COST_BIN" 2>&1 | grep '^RESULT' | tr '\n' ' ')
  local perf_ok=0
  perf stat -x, -e instructions -- true 2>"$WORK/perfstat.txt" >/dev/null \
    && grep -q '^[0-9]' "$WORK/perfstat.txt" && perf_ok=1
  record "workload=instructions_per_conn proxy=ferry rep=1 value=$(awk -v a="$conn_ir" -v k="$COST_K" 'BEGIN { printf "%.0f", a / k }') unit=instructions total=$conn_ir count=$COST_K tool=callgrind perf_counters_available=$perf_ok"
  record "workload=instructions_per_segment proxy=ferry rep=1 value=$(awk -v a="$seg_ir" -v m="$COST_M" 'BEGIN { printf "%.0f", a / m }') unit=instructions total=$seg_ir count=$COST_M tool=callgrind"
  log "  native: $native"
}

# ---- the run -------------------------------------------------------------------------------
START_TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_S=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
log "perf/run.sh $MODE: commit $COMMIT, $REPS repetitions, load average $LOAD_START"

topology
backends_start
ferry_config "$WORK/ferryd.conf" 32768 16384 1
haproxy_config
PROXIES=(ferry haproxy)

wanted() { [[ ",$ONLY," == *",$1,"* ]]; }

# 1. Saturation figures, each proxy in turn within every repetition.
wanted saturation && for REP in $(seq 1 "$REPS"); do
  for P in "${PROXIES[@]}"; do
    log "repetition $REP: $P (integrity, CPS, RPS, throughput)"
    proxy_start "$P"
    integrity "$P"
    run_wrk "$P" cps
    run_wrk "$P" rps
    run_iperf "$P" up
    run_iperf "$P" down
    proxy_stop "$P"
  done
done

# 2. Latency and CPU cost at one fixed rate both sustain: half the lower median CPS, within
#    what the curl clients can offer.
RATE=${FIXED_RATE:-1000}
wanted saturation && RATE=$("$PY" - "$RAW" "$LAT_CLIENTS" "$LAT_MAX_PER_CLIENT" <<'EOF'
import statistics, sys
cps = {}
for line in open(sys.argv[1]):
    kv = dict(w.split("=", 1) for w in line.split())
    if kv.get("workload") == "cps":
        cps.setdefault(kv["proxy"], []).append(float(kv["value"]))
low = min(statistics.median(v) for v in cps.values())
print(int(max(100, min(low / 2, int(sys.argv[2]) * int(sys.argv[3])))))
EOF
)
wanted fixed && log "fixed rate for latency and CPU cost: $RATE connections/s"
wanted fixed && for REP in $(seq 1 "$REPS"); do
  for P in "${PROXIES[@]}"; do
    log "repetition $REP: $P (latency and CPU cost at $RATE conn/s)"
    proxy_start "$P"
    run_fixed_rate "$P"
    proxy_stop "$P"
  done
done

# 3. Idle connections: the direct baseline for each count, then each proxy.
REP=1
declare -A DIRECT_DONE=()
wanted idle || IDLE_RUNS=
for spec in $IDLE_RUNS; do
  P=${spec%%:*}
  N=${spec##*:}
  if [ -z "${DIRECT_DONE[$N]:-}" ]; then
    log "idle: $N connections direct (no proxy), the kernel baseline"
    run_idle "$N" direct
    DIRECT_DONE[$N]=1
  fi
  log "idle: $N connections through $P"
  if [ "$P" = ferry ] && [ "$N" -gt 12000 ]; then
    ferry_config "$WORK/ferryd-idle.conf" $((2 * N + 16384)) $((N + 4096)) 5
    ferry_start "$WORK/ferryd-idle.conf"
  else
    proxy_start "$P"
  fi
  run_idle "$N" "$P"
  proxy_stop "$P"
done

# 4. Instructions.
wanted cost && run_cost

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$((SECONDS - START_S))
mkdir -p "$OUT"
STAMP=$(date -u +%Y-%m-%d)-$COMMIT
cat >"$WORK/meta.txt" <<META
mode=$MODE
date=$START_TS
commit=$COMMIT
reps=$REPS
elapsed_s=$ELAPSED
load_start=$LOAD_START
load_end=$LOAD_END
wrk_seconds=$DUR
wrk_connections=$WRK_CONNS
iperf_bytes=$IPERF_BYTES
fixed_rate=$RATE
fixed_rate_seconds=$LAT_SECONDS
fixed_rate_clients=$LAT_CLIENTS
small_object_bytes=$SMALL_BYTES
cost_connections=$COST_K
cost_segments=$COST_M
proxy_cpu=$PROXY_CPU
generator_cpu=$GEN_CPU
ferryd=$FERRYD
ferryd_built=$(date -u -r "$FERRYD" +%Y-%m-%dT%H:%M:%SZ)
ferryd_sha256=$(sha256sum "$FERRYD" | cut -d' ' -f1)
META
"$PY" "$HERE/report.py" --raw "$RAW" --meta "$WORK/meta.txt" \
  --config "ferryd.conf=$WORK/ferryd.conf" --config "haproxy.cfg=$WORK/haproxy.cfg" \
  --config "nginx.conf=$WORK/nginx/nginx.conf" \
  $( [ -f "$WORK/ferryd-idle.conf" ] && echo --config "ferryd-idle.conf=$WORK/ferryd-idle.conf" ) \
  --json "$OUT/$STAMP.json" --png "$OUT/$STAMP.png" $([ "$ONLY" = saturation,fixed,idle,cost ] && echo --check) \
  || fail "report: some figure is missing or not sane (see above)"
log "done in ${ELAPSED} s: $OUT/$STAMP.json, $OUT/$STAMP.png"
