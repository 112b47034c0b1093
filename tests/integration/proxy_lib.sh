# shellcheck shell=bash disable=SC2034  # (variables set here are read by the tests)
# Helpers for the proxy tests (proxy_*_test.sh): the real ferryd proxying between Linux clients
# in one namespace and Linux backends (nginx, and the Python peers beside this file) in another.
# Sources tcp_lib.sh (and so lib.sh): the same rules hold: namespaces ferry-*, addresses in
# 198.18.0.0/15 only, every wait bounded, everything torn down by the trap.
#
#   [ferry-c$ID: client 198.18.0.2/24 (+ .3, .4, ... on demand)]
#        fy${ID}cb ==veth== fy${ID}ca   lan0  198.18.0.1 (the listeners' address)
#                                       [ferryd, one worker on lcore 1]
#        fy${ID}bb ==veth== fy${ID}ba   lan1  198.18.1.1 (the source of backend connections)
#   [ferry-b$ID: backends b1 198.18.1.10, b2 .11, b3 .12; gateway .254]
#        fy${ID}fa ==veth== fy${ID}fb
#   [ferry-f$ID: backend "far" 198.19.0.10/24, reached by ferry through the route
#    198.19.0.0/24 via 198.18.1.254 (the backend namespace forwards); only with --far]
#
# Usage: source proxy_lib.sh; proxy_topology; proxy_nginx_start b1 198.18.1.10; ...
#        proxy_write_config F "$(proxy_listener web 80 web)$(proxy_pool web round_robin ...)"
#        proxy_start F; proxy_curl_ids 300; ...; proxy_expect_baseline; ferry_stop
source "$(dirname "${BASH_SOURCE[0]}")/tcp_lib.sh"

PROXY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROXY_STREAM=$PROXY_DIR/proxy_stream.py
PROXY_HOLD=$PROXY_DIR/proxy_hold.py
PROXY_PP=$PROXY_DIR/proxy_pp_server.py

# ---- counter names ------------------------------------------------------------------------
# Every counter the tests read, by a short key; keys with %s take the listener's name, or the
# pool's and the backend's (lib/proxy/proxy_counters.h, app/ferryd/counters_report.cc). Rename
# here if ferryd's names change.
declare -A PROXY_COUNTER=(
  [sessions_active]=proxy.sessions_active          # gauge, the worker's
  [sessions_total]=proxy.sessions_total
  [connect_attempts]=proxy.connect_attempts
  [retries]=proxy.retries                          # attempts after a session's first
  [bytes_held]=proxy.bytes_held                    # gauge: received, not yet queued
  [session_slot_bytes]=proxy.session_slot_bytes    # constant: one session's record
  [session_slots]=proxy.session_slots
  [listener.sessions_active]=proxy.listener.%s.sessions_active
  [listener.sessions_total]=proxy.listener.%s.sessions_total
  [listener.bytes_from_client]=proxy.listener.%s.bytes_from_client
  [listener.bytes_to_client]=proxy.listener.%s.bytes_to_client
  [listener.rejected_over_limit]=proxy.listener.%s.rejected_over_limit
  [listener.no_backend]=proxy.listener.%s.no_backend
  [listener.connect_gave_up]=proxy.listener.%s.connect_gave_up    # every attempt failed: RST
  [listener.client_resets]=proxy.listener.%s.client_resets        # client's RST
  [listener.client_timeouts]=proxy.listener.%s.client_timeouts
  [listener.idle_timeouts]=proxy.listener.%s.idle_timeouts
  [backend.sessions_active]=proxy.backend.%s.%s.sessions_active
  [backend.sessions_total]=proxy.backend.%s.%s.sessions_total     # connections established
  [backend.bytes_to_backend]=proxy.backend.%s.%s.bytes_to_backend
  [backend.bytes_from_backend]=proxy.backend.%s.%s.bytes_from_backend
  [backend.connect_refused]=proxy.backend.%s.%s.connect_refused
  [backend.connect_timeouts]=proxy.backend.%s.%s.connect_timeouts
  [backend.backend_resets]=proxy.backend.%s.%s.backend_resets     # backend's RST mid-session
  [backend.backend_timeouts]=proxy.backend.%s.%s.backend_timeouts
  [mbufs_in_use]=loop.mbufs_in_use
  [tcp_mbufs_held]=tcp.mbufs_held
)

# The counter's full name: proxy_counter_name KEY [LISTENER | POOL BACKEND].
proxy_counter_name() {
  local template=${PROXY_COUNTER[$1]:-}
  [ -n "$template" ] || { echo "proxy_lib: no counter key '$1'" >&2; return 1; }
  shift
  # shellcheck disable=SC2059  # the template is ours
  printf "$template" "$@"
}

# The proxy's gauges join the ones tcp_expect_baseline wants at 0 with nothing open.
TCP_GAUGES+=("${PROXY_COUNTER[sessions_active]}" "${PROXY_COUNTER[bytes_held]}")

# ---- topology -----------------------------------------------------------------------------
# lib.sh's one-arm names are the client arm here, so its helpers (in_ns, tcp_load,
# tcp_steer_peer_rx, tcp_peer_nstat, ferry_cleanup) work on the client side unchanged.
FERRY_NS=ferry-c$FERRY_ID
FERRY_IF=fy${FERRY_ID}ca
FERRY_PEER_IF=fy${FERRY_ID}cb
PROXY_CLIENT_NS=$FERRY_NS
PROXY_BACKEND_NS=ferry-b$FERRY_ID
PROXY_B_IF=fy${FERRY_ID}ba
PROXY_B_PEER_IF=fy${FERRY_ID}bb
PROXY_FAR_NS=ferry-f$FERRY_ID
PROXY_F_IF=fy${FERRY_ID}fa        # in the backend namespace
PROXY_F_PEER_IF=fy${FERRY_ID}fb   # in the far namespace

FERRY_ADDR=198.18.0.1             # lan0: every listener's address
PROXY_SOURCE=198.18.1.1           # lan1: ferry's address towards the backends
PROXY_CLIENT=198.18.0.2
PROXY_CLIENT_ADDRS=("$PROXY_CLIENT")
PROXY_BACKEND_NAMES=(b1 b2 b3)
PROXY_BACKEND_ADDRS=(198.18.1.10 198.18.1.11 198.18.1.12)
PROXY_GATEWAY=198.18.1.254
PROXY_FAR_NET=198.19.0.0/24
PROXY_FAR_GATEWAY=198.19.0.1
PROXY_FAR_ADDR=198.19.0.10
# Nothing ever listens on this port in the backend namespace: a backend there is refused.
PROXY_REFUSED_PORT=81
# nginx backends answer on port 80, and on this port only after a PROXY protocol header.
PROXY_NGINX_PP_PORT=8080

# Background programs (nginx masters, Python peers, clients) by name: pid and log.
declare -A PROXY_PID=()
declare -A PROXY_LOG=()
PROXY_FERRY_RUNS=0

proxy_teardown() {
  local name
  for name in "${!PROXY_PID[@]}"; do proxy_stop "$name"; done
  ip link del "$PROXY_B_IF" 2>/dev/null || true
  ip netns del "$PROXY_FAR_NS" 2>/dev/null || true
  ip netns del "$PROXY_BACKEND_NS" 2>/dev/null || true
}
TCP_CLEANUP_HOOKS+=(proxy_teardown)

in_backend() { ip netns exec "$PROXY_BACKEND_NS" "$@"; }
in_far() { ip netns exec "$PROXY_FAR_NS" "$@"; }

# The backend arm: ferry_topology_one_arm's veth (offloads off, no IPv6, arp_accept) with the
# backend namespace's names; it gives the peer the client's address, swapped here for the
# backends' (and the gateway's) addresses.
proxy__backend_arm() {
  local FERRY_NS=$PROXY_BACKEND_NS FERRY_IF=$PROXY_B_IF FERRY_PEER_IF=$PROXY_B_PEER_IF FERRY_MAC=
  ferry_topology_one_arm
  in_ns ip addr del 198.18.0.2/24 dev "$FERRY_PEER_IF"
  local a
  for a in "${PROXY_BACKEND_ADDRS[@]}" "$PROXY_GATEWAY"; do
    in_ns ip addr add "$a/24" dev "$FERRY_PEER_IF"
  done
  tcp_steer_peer_rx
}

# Backend "far" on another subnet: the backend namespace routes between 198.18.1.0/24 and
# 198.19.0.0/24, so ferry reaches 198.19.0.10 only through its route via 198.18.1.254.
proxy__far_arm() {
  ip netns add "$PROXY_FAR_NS"
  ip -n "$PROXY_BACKEND_NS" link add "$PROXY_F_IF" type veth peer name "$PROXY_F_PEER_IF" \
    netns "$PROXY_FAR_NS"
  in_far sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_backend sysctl -qw net.ipv4.ip_forward=1
  in_far ip link set lo up
  in_backend ip addr add "$PROXY_FAR_GATEWAY/24" dev "$PROXY_F_IF"
  in_far ip addr add "$PROXY_FAR_ADDR/24" dev "$PROXY_F_PEER_IF"
  in_backend ip link set "$PROXY_F_IF" up
  in_far ip link set "$PROXY_F_PEER_IF" up
  in_far ip route add default via "$PROXY_FAR_GATEWAY"
  # Forwarded segments leave through the backend veth, whose tx offload is off: the kernel
  # finishes their checksums there (TESTING.md); off here too so that nothing depends on it.
  in_backend ethtool -K "$PROXY_F_IF" tx off tso off gso off >/dev/null 2>&1 || true
  in_far ethtool -K "$PROXY_F_PEER_IF" tx off tso off gso off >/dev/null 2>&1 || true
}

# Builds the topology above; --far adds the far namespace behind the gateway.
proxy_topology() {
  ferry_topology_one_arm
  tcp_steer_peer_rx
  proxy__backend_arm
  [ "${1:-}" != --far ] || proxy__far_arm
  log "topology: $PROXY_CLIENT_NS (client) -- ferry -- $PROXY_BACKEND_NS (backends)${1:+ -- $PROXY_FAR_NS}"
}

# Gives the client $1 addresses in all, 198.18.0.2 and up (at most 198.18.0.200), for tests
# that need several client addresses (Maglev); they are in PROXY_CLIENT_ADDRS.
proxy_client_addresses() {
  local i
  [ "$1" -le 199 ] || fail "proxy_client_addresses: at most 199 addresses"
  for i in $(seq 3 $(($1 + 1))); do
    in_ns ip addr add "198.18.0.$i/24" dev "$FERRY_PEER_IF"
    PROXY_CLIENT_ADDRS+=("198.18.0.$i")
  done
}

# ---- ferryd's config ----------------------------------------------------------------------
# Writes ferryd's config to $1: lan0 facing the clients, lan1 facing the backends, the route to
# the far subnet, one worker on lcore $TCP_WORKER_LCORE, tcp { $PROXY_TCP } and, if $2 is not
# empty, proxy { $2 source_addresses: "198.18.1.1" } (build $2 with the three helpers below).
PROXY_TCP=${PROXY_TCP:-"time_wait_ms: 1000"}
proxy_write_config() {
  local file=$1 proxy=${2:-}
  local eal=${FERRY_EAL:-"hugepages: false memory_mb: 512 file_prefix: \"ferry-t$FERRY_ID\" extra_args: \"--no-shconf\""}
  cat >"$file" <<CONF
interfaces {
  name: "lan0"
  driver: "af_packet"
  device: "iface=$FERRY_IF"
  ipv4 { address: "$FERRY_ADDR" prefix_length: 24 }
}
interfaces {
  name: "lan1"
  driver: "af_packet"
  device: "iface=$PROXY_B_IF"
  ipv4 { address: "$PROXY_SOURCE" prefix_length: 24 }
}
routes { prefix: "$PROXY_FAR_NET" via: "$PROXY_GATEWAY" }
workers { count: 1 main_lcore: 0 lcores: $TCP_WORKER_LCORE mbufs_per_worker: ${PROXY_MBUFS:-32767} }
eal { $eal }
control { socket_path: "$FERRY_SOCKET" ${PROXY_CONTROL:-} }
tcp { $PROXY_TCP }
CONF
  [ -z "$proxy" ] || printf 'proxy {\n%s\n  source_addresses: "%s"\n}\n' "$proxy" "$PROXY_SOURCE" >>"$file"
}

# Listener $1 on $FERRY_ADDR:$2 for pool $3; $4 replaces the default limits.
PROXY_MAX_IN_FLIGHT=262144
proxy_listener() {
  local fields=${4:-"max_sessions: 0 idle_timeout_s: 300 max_in_flight_bytes: $PROXY_MAX_IN_FLIGHT"}
  printf '  listeners { name: "%s" address: "%s" port: %s pool: "%s" %s }\n' "$1" "$FERRY_ADDR" "$2" "$3" "$fields"
}
# Pool $1 with policy $2, pool fields $3 (empty: connect_timeout_ms: 1000 connect_attempts: 3)
# and the backends that follow (from proxy_backend).
proxy_pool() {
  local name=$1 policy=$2 fields=${3:-"connect_timeout_ms: 1000 connect_attempts: 3"}
  shift 3
  printf '  pools {\n    name: "%s" policy: "%s" %s\n' "$name" "$policy" "$fields"
  local b
  for b in "$@"; do printf '    %s\n' "$b"; done
  printf '  }\n'
}
# Backend $1 at $2:$3, weight ${4:-1}.
proxy_backend() { printf 'backends { name: "%s" address: "%s" port: %s weight: %s }' "$1" "$2" "$3" "${4:-1}"; }

# ferry_start, then the mbuf baseline (tcp_take_baseline) with no session open.
proxy_start() {
  ferry_start "$1"
  tcp_take_baseline
}
# A new ferryd on config $1 (ferryd has no reload): stops the running one cleanly, keeps its log
# as ferryd.N.log and starts again.
proxy_restart() {
  ferry_stop
  PROXY_FERRY_RUNS=$((PROXY_FERRY_RUNS + 1))
  mv "$FERRYD_LOG" "$FERRY_WORK/ferryd.$PROXY_FERRY_RUNS.log"
  proxy_start "$1"
}

# ---- counters -----------------------------------------------------------------------------
# The lines of ferryd's log since its last counters report began.
proxy__last_report() {
  awk '/^ferryd: (counters on SIGUSR1|final counters)/ { n = 0; next } { line[++n] = $0 }
       END { for (i = 1; i <= n; i++) print line[i] }' "$FERRYD_LOG"
}
# Takes a fresh report and keeps it as snapshot $1, for proxy_value and proxy_delta.
proxy_snapshot() {
  ferry_report
  proxy__last_report >"$FERRY_WORK/snap.$1"
}
# Counter KEY (with its arguments) in snapshot $1. Used in $(...): complains on stderr.
proxy_value() {
  local snap=$1 name
  shift
  name=$(proxy_counter_name "$@") || return 1
  awk -v n="$name" '$1 == n { v = $2 } END { if (v == "") exit 1; print v }' "$FERRY_WORK/snap.$snap" \
    || { echo "FAIL: counter $name missing from ferryd's report" >&2; return 1; }
}
# Growth of counter KEY between snapshots $1 and $2.
proxy_delta() {
  local a=$1 b=$2 va vb
  shift 2
  va=$(proxy_value "$a" "$@") && vb=$(proxy_value "$b" "$@") && echo $((vb - va))
}
# Growth of the counter named $3 (its full name, e.g. tcp.resets_out) between snapshots $1
# and $2.
proxy_raw_delta() {
  awk -v n="$3" 'FNR == 1 { f++ } $1 == n { v[f] = $2 } END { if (!(1 in v) || !(2 in v)) exit 1; print v[2] - v[1] }' \
    "$FERRY_WORK/snap.$1" "$FERRY_WORK/snap.$2" || { echo "FAIL: counter $3 missing" >&2; return 1; }
}
# The counters matching the regex $3 (default ^tcp\.) that changed between snapshots $1 and
# $2, as "name+delta" words on one line.
proxy_delta_line() {
  awk -v re="${3:-^tcp\\.}" 'FNR == 1 { f++ } $1 ~ re && NF == 2 { v[f, $1] = $2; names[$1] }
       END { for (n in names) if (v[2, n] != v[1, n]) printf "%s%+d\n", n, v[2, n] - v[1, n] }' \
    "$FERRY_WORK/snap.$1" "$FERRY_WORK/snap.$2" | sort | tr '\n' ' '
}
# Counter KEY from a fresh report.
proxy_now() {
  proxy_snapshot now
  proxy_value now "$@"
}

# tcp_expect_baseline with the proxy's gauges among its gauges: every session gone and no byte
# held by the proxy, every TCB gone, no mbuf held by TCP, the pool back to the baseline.
# $1: limit in s (default 15).
proxy_expect_baseline() { tcp_expect_baseline "${1:-15}"; }

# Like wait_for, for conditions that read ferry's counters (each look is a report): polls
# "$@" every 0.5 s for at most $1 s; returns 1 if it never held.
proxy_poll() {
  local limit=$1 deadline
  shift
  deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

# Waits (proxy_poll, at most $1 s) until counter KEY [ARGS] ($2...) is exactly the last
# argument; fails with its last value otherwise.
proxy__counter_is() { [ "$(proxy_now "$@")" = "$PROXY__WANT" ]; }
proxy_wait_counter() {
  local limit=$1 want=${*: -1}
  local key=("${@:2:$#-2}")
  PROXY__WANT=$want proxy_poll "$limit" proxy__counter_is "${key[@]}" \
    || fail "$(proxy_counter_name "${key[@]}") is $(proxy_value now "${key[@]}"), not $want, after $limit s"
}

# After ferry_stop: the final report's non-zero proxy.* counters, one line.
proxy_log_final_counters() {
  log "final proxy counters (non-zero): $(proxy__last_report \
    | awk '$1 ~ /^proxy\./ && $2 != 0 { printf "%s=%s ", $1, $2 }')"
}

# ferryd's resident memory in KiB.
proxy_rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$FERRYD_PID/status"; }

# With FERRY_ARTIFACTS_DIR set (tcp_capture_start): the test's logs are kept, and TCP headers
# are captured on both peers' interfaces, tcp.pcap on the client side and backend.pcap on the
# backend side.
proxy_capture_start() {
  tcp_capture_start "$1"
  [ -n "$TCP_ARTIFACTS" ] || return 0
  proxy_spawn capture-backend "$PROXY_BACKEND_NS" timeout 900 tcpdump -i "$PROXY_B_PEER_IF" -n \
    -s 128 -B 262144 -U -w "$TCP_ARTIFACTS/backend.pcap" tcp
  proxy_wait_line capture-backend 'listening on' 10
}

# ---- background programs ------------------------------------------------------------------
# Starts "$@" in namespace $2 on the clients' CPU in the background as $1 (log in
# $FERRY_WORK/$1.log). `ip netns exec` and taskset both exec, so the pid is the program's own.
proxy_spawn() {
  local name=$1 ns=$2
  shift 2
  [ -z "${PROXY_PID[$name]:-}" ] || fail "proxy_spawn: $name is already running"
  PROXY_LOG[$name]=$FERRY_WORK/$name.log
  ip netns exec "$ns" taskset -c "$TCP_CLIENT_CPU" "$@" >"${PROXY_LOG[$name]}" 2>&1 &
  PROXY_PID[$name]=$!
}

proxy__running() { kill -0 "$1" 2>/dev/null; }
proxy__gone() { ! kill -0 "$1" 2>/dev/null; }

# SIGTERM to $1, at most 5 s to go, then SIGKILL for it and its children (an nginx master
# killed outright would leave its workers behind).
proxy_stop() {
  local name=$1 pid=${PROXY_PID[$1]:-} children
  [ -n "$pid" ] || return 0
  unset "PROXY_PID[$name]"
  if proxy__running "$pid"; then
    children=$(pgrep -P "$pid" || true)
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for 5 proxy__gone "$pid"; then
      log "$name (pid $pid) still running 5 s after SIGTERM: killing it"
      # shellcheck disable=SC2086  # a list of pids
      kill -KILL "$pid" $children 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# SIGKILL to $1 (a fault: the program vanishes without closing anything itself); returns once
# it is gone. Its kernel closes its sockets as the process ends.
proxy_kill() {
  local name=$1 pid=${PROXY_PID[$1]:-}
  [ -n "$pid" ] || fail "proxy_kill: $name is not running"
  kill -KILL "$pid" 2>/dev/null || true
  # Waited for at once (SIGKILL cannot be caught or ignored), so that bash does not report the
  # job as "Killed" on its own later.
  wait "$pid" 2>/dev/null || true
  unset "PROXY_PID[$name]"
}

# Waits at most $2 s for $1 to exit; its exit status goes to PROXY_RC, its last RESULT line
# (if any) to PROXY_RESULT. Fails if it is still running then.
PROXY_RC=
PROXY_RESULT=
proxy_wait() {
  local name=$1 limit=$2 pid=${PROXY_PID[$1]:-}
  [ -n "$pid" ] || fail "proxy_wait: $name was not started"
  wait_for "$limit" proxy__gone "$pid" \
    || fail "$name still running after $limit s: $(tail -n 3 "${PROXY_LOG[$name]}")"
  PROXY_RC=0
  wait "$pid" 2>/dev/null || PROXY_RC=$?
  unset "PROXY_PID[$name]"
  PROXY_RESULT=$(grep '^RESULT ' "${PROXY_LOG[$name]}" | tail -n 1 || true)
  sed "s/^/    $name: /" "${PROXY_LOG[$name]}" | grep -v ': PROGRESS ' | tail -n 8
}

# Waits at most $3 s until $1's log has a line matching the extended regex $2.
proxy_wait_line() {
  wait_for "$3" grep -Eq "$2" "${PROXY_LOG[$1]}" \
    || fail "$1: no line matching '$2' after $3 s: $(tail -n 3 "${PROXY_LOG[$1]}")"
}
proxy__received_at_least() {
  awk -v want="$2" -F'received=' '/^PROGRESS / { v = $2 } END { exit !(v + 0 >= want) }' \
    "${PROXY_LOG[$1]}"
}
# Waits at most $3 s until stream peer $1 has reported (--progress) at least $2 bytes received.
proxy_wait_received() {
  wait_for "$3" proxy__received_at_least "$1" "$2" \
    || fail "$1 received less than $2 bytes in $3 s: $(tail -n 2 "${PROXY_LOG[$1]}")"
}

# Field $1 (sent, received_sha256, end, ...) of a RESULT line ($2, default PROXY_RESULT).
proxy_field() { tr ' ' '\n' <<<"${2:-$PROXY_RESULT}" | awk -F= -v n="$1" '$1 == n { print $2 }'; }

# ---- nginx backends -----------------------------------------------------------------------
# Files the backends serve as /bytes/<size>: random bytes of three sizes, their sha256 in
# PROXY_WWW_SHA[size].
declare -A PROXY_WWW_SHA=()
PROXY_WWW_SIZES=(1024 1048576 16777216)
proxy_www() {
  local n
  mkdir -p "$FERRY_WORK/www/bytes"
  for n in "${PROXY_WWW_SIZES[@]}"; do
    head -c "$n" /dev/urandom >"$FERRY_WORK/www/bytes/$n"
    PROXY_WWW_SHA[$n]=$(sha256sum "$FERRY_WORK/www/bytes/$n" | cut -d' ' -f1)
  done
}

proxy__answers() {  # NS URL WANT [curl options]: the body at URL is exactly WANT
  local ns=$1 url=$2 want=$3
  shift 3
  [ "$(ip netns exec "$ns" curl -s --max-time 1 "$@" "$url")" = "$want" ]
}

# An nginx backend named $1 on address $2 (in namespace ${3:-the backend one}): one master,
# one worker, everything under $FERRY_WORK/nginx/$1. It answers GET /id with its name (no
# newline) and GET /bytes/<size> with the files of proxy_www, on port 80, and on port
# $PROXY_NGINX_PP_PORT the same after a PROXY protocol header (v1 or v2, "listen ...
# proxy_protocol"). access.log has one line per request:
#   <server port> <peer addr>:<peer port> pp=<PROXY header's addr>:<port> "<request>" <status> <bytes>
# Returns once both ports answer (at most 10 s each).
proxy_nginx_start() {
  local name=$1 addr=$2 ns=${3:-$PROXY_BACKEND_NS} dir=$FERRY_WORK/nginx/$1
  [ -d "$FERRY_WORK/www" ] || proxy_www
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<NGINX
daemon off;
master_process on;
worker_processes 1;
user root;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  log_format ferry '\$server_port \$remote_addr:\$remote_port pp=\$proxy_protocol_addr:\$proxy_protocol_port "\$request" \$status \$body_bytes_sent';
  access_log $dir/access.log ferry;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000;
  server {
    listen $addr:80;
    listen $addr:$PROXY_NGINX_PP_PORT proxy_protocol;
    location = /id { default_type text/plain; return 200 "$name"; }
    location /bytes/ { root $FERRY_WORK/www; default_type application/octet-stream; }
  }
}
NGINX
  proxy_spawn "nginx-$name" "$ns" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
  wait_for 10 proxy__answers "$ns" "http://$addr/id" "$name" \
    || fail "nginx $name does not answer on $addr:80: $(cat "$dir/error.log" "${PROXY_LOG[nginx-$name]}" 2>/dev/null)"
  wait_for 10 proxy__answers "$ns" "http://$addr:$PROXY_NGINX_PP_PORT/id" "$name" --haproxy-protocol \
    || fail "nginx $name does not answer on $addr:$PROXY_NGINX_PP_PORT after a PROXY header"
  : >"$dir/access.log"  # forget the readiness probes
}
proxy_nginx_stop() { proxy_stop "nginx-$1"; }
# Requests nginx $1 has logged since it started.
proxy_nginx_requests() { wc -l <"$FERRY_WORK/nginx/$1/access.log"; }
proxy_nginx_log() { echo "$FERRY_WORK/nginx/$1/access.log"; }

# ---- HTTP through ferry -------------------------------------------------------------------
# The listener the HTTP helpers talk to.
PROXY_URL=http://$FERRY_ADDR

# $1 requests for /id through ferry from the client namespace, one after another, each on a
# new connection (Connection: close); further arguments go to curl (e.g. --interface ADDR).
# One line per request in $PROXY_CURL_LOG: "<body> <status> <connections made> <local
# addr:port> <seconds>". Fails unless every request got a backend's name with 200 on a
# connection of its own; PROXY_IDS then holds the counts per backend ("b1=100 b2=100 b3=100").
PROXY_CURL_LOG=
PROXY_IDS=
proxy_curl_ids() {
  local n=$1 out bad got
  shift
  out=$FERRY_WORK/curl.$((++PROXY_CURL_RUNS)).log
  PROXY_CURL_LOG=$out
  in_ns timeout -k 5 $((30 + n / 2)) taskset -c "$TCP_CLIENT_CPU" curl -sS --connect-timeout 3 \
    --max-time 10 -H 'Connection: close' \
    -w ' %{http_code} %{num_connects} %{local_ip}:%{local_port} %{time_total}\n' "$@" \
    "$PROXY_URL/id?[1-$n]" >"$out" 2>"$out.err" || true
  got=$(wc -l <"$out")
  bad=$(awk '!($1 ~ /^[a-z][a-z0-9]*$/ && $2 == 200 && $3 == 1) && n++ < 3' "$out")
  [ "$got" = "$n" ] && [ -z "$bad" ] \
    || fail "curl $* $PROXY_URL/id x$n: $got responses; wrong ones: ${bad:-none}; $(head -c 300 "$out.err")"
  PROXY_IDS=$(awk '{ c[$1]++ } END { for (k in c) print k "=" c[k] }' "$out" | sort | tr '\n' ' ')
  PROXY_IDS=${PROXY_IDS% }
}
PROXY_CURL_RUNS=0
# Requests backend $1 answered in the last proxy_curl_ids.
proxy_count() { local v; v=$(tcp_pick "$1" "$PROXY_IDS"); echo "${v:-0}"; }

# GET /bytes/$1 through ferry; fails unless the body's sha256 is the file's.
proxy_curl_bytes() {
  local size=$1 file=$FERRY_WORK/download rc=0
  rm -f "$file"
  in_ns timeout -k 5 60 curl -sS --connect-timeout 3 --max-time 50 -H 'Connection: close' \
    -o "$file" "$PROXY_URL/bytes/$size" || rc=$?
  [ "$rc" = 0 ] || fail "GET /bytes/$size through ferry: curl exit $rc"
  [ "$(sha256sum "$file" | cut -d' ' -f1)" = "${PROXY_WWW_SHA[$size]}" ] \
    || fail "GET /bytes/$size through ferry: $(stat -c %s "$file") bytes, sha256 differs from the file's"
}

# wrk through ferry at /id for $1 s on $2 connections, one thread on the clients' CPU; further
# arguments go to wrk (e.g. -H 'Connection: close' for a new session per request). A Lua
# check counts every response that is not 200 with a backend's name. Fails on any socket
# error, non-2xx response, bad body, or no request at all; PROXY_WRK_REQUESTS and
# PROXY_WRK_RPS hold the totals.
PROXY_WRK_REQUESTS=
PROXY_WRK_RPS=
proxy_wrk() {
  local seconds=$1 conns=$2 out=$FERRY_WORK/wrk.$((++PROXY_CURL_RUNS)).log lua=$FERRY_WORK/wrk_check.lua
  shift 2
  cat >"$lua" <<'LUA'
-- Counts, over every thread, the responses that are not 200 with a backend's name as body.
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status ~= 200 or not string.match(body or "", "^[a-z][a-z0-9]*$") then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD %d\n", total))
end
LUA
  in_ns timeout -k 5 $((seconds + 30)) taskset -c "$TCP_CLIENT_CPU" wrk -t1 -c"$conns" \
    -d"${seconds}s" --timeout 5s -s "$lua" "$@" "$PROXY_URL/id" >"$out" 2>&1 \
    || fail "wrk failed: $(cat "$out")"
  sed 's/^/    wrk: /' "$out"
  PROXY_WRK_REQUESTS=$(awk '/ requests in / { print $1 }' "$out")
  PROXY_WRK_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  local bad errors non2xx
  bad=$(awk '/^BAD / { print $2 }' "$out")
  non2xx=$(awk -F': ' '/Non-2xx or 3xx responses/ { print $2 }' "$out")
  errors=$(grep 'Socket errors' "$out" || true)
  [ -n "$PROXY_WRK_REQUESTS" ] && [ "$PROXY_WRK_REQUESTS" -gt 0 ] || fail "wrk made no request"
  [ "${bad:-x}" = 0 ] || fail "wrk: ${bad:-?} responses were not 200 with a backend's name"
  [ -z "$non2xx" ] || fail "wrk: $non2xx non-2xx responses"
  [ -z "$errors" ] || fail "wrk: $errors"
}

# ---- byte streams through ferry (proxy_stream.py) -----------------------------------------
# A stream server named $1 on $2 (ADDR:PORT) in namespace $3, with proxy_stream.py serve's
# options after; returns once it listens.
proxy_stream_serve() {
  local name=$1 addr=$2 ns=$3
  shift 3
  proxy_spawn "$name" "$ns" "$PY" "$PROXY_STREAM" serve "$addr" "$@"
  proxy_wait_line "$name" '^LISTENING' 10
}
# A stream client named $1 in the client namespace to ferry's port $2, in the background, with
# proxy_stream.py connect's options after.
proxy_stream_connect() {
  local name=$1 port=$2
  shift 2
  proxy_spawn "$name" "$PROXY_CLIENT_NS" "$PY" "$PROXY_STREAM" connect "$FERRY_ADDR:$port" "$@"
}

# Checks two finished stream peers (RESULT lines $1 client, $2 server): each exited 0 and found
# what it received correct, and each side's sent count and sha256 equal the other's received.
proxy_expect_streams_match() {
  local c=$1 s=$2
  [ "$(proxy_field ok "$c")" = 1 ] || fail "client: $c"
  [ "$(proxy_field ok "$s")" = 1 ] || fail "server: $s"
  [ "$(proxy_field sent "$c")" = "$(proxy_field received "$s")" ] \
    && [ "$(proxy_field sent_sha256 "$c")" = "$(proxy_field received_sha256 "$s")" ] \
    || fail "client to server: sent $(proxy_field sent "$c") bytes, server got $(proxy_field received "$s") (sha256 $(proxy_field sent_sha256 "$c") vs $(proxy_field received_sha256 "$s"))"
  [ "$(proxy_field sent "$s")" = "$(proxy_field received "$c")" ] \
    && [ "$(proxy_field sent_sha256 "$s")" = "$(proxy_field received_sha256 "$c")" ] \
    || fail "server to client: sent $(proxy_field sent "$s") bytes, client got $(proxy_field received "$c") (sha256 $(proxy_field sent_sha256 "$s") vs $(proxy_field received_sha256 "$c"))"
}

# One stream through ferry: a server on backend $2 (ADDR:PORT) serving one connection, a
# client to ferry's port $1; $3 bytes up (client to server), $4 down; $5 the client's order,
# $6 the server's (proxy_stream.py --order); at most $7 s (default 120). Both ends check what
# they got; then each end's sha256 is compared with the other's. Logs the rate; the RESULT
# lines are left in PROXY_CLIENT_RESULT and PROXY_SERVER_RESULT.
PROXY_CLIENT_RESULT=
PROXY_SERVER_RESULT=
PROXY_STREAM_SEED=1
proxy_transfer() {
  local port=$1 backend=$2 up=$3 down=$4 corder=$5 sorder=$6 limit=${7:-120}
  local seed=$((PROXY_STREAM_SEED++))
  proxy_stream_serve xfer-server "$backend" "$PROXY_BACKEND_NS" --send "$down" --expect "$up" \
    --order "$sorder" --seed "$seed" --timeout "$limit"
  proxy_stream_connect xfer-client "$port" --send "$up" --expect "$down" --order "$corder" \
    --seed "$seed" --timeout "$limit"
  proxy_wait xfer-client $((limit + 10))
  PROXY_CLIENT_RESULT=$PROXY_RESULT
  proxy_wait xfer-server 15
  PROXY_SERVER_RESULT=$PROXY_RESULT
  proxy_expect_streams_match "$PROXY_CLIENT_RESULT" "$PROXY_SERVER_RESULT"
  log "  $((up >> 20)) MiB up, $((down >> 20)) MiB down (client $corder, server $sorder): $(proxy_field mb_per_s "$PROXY_CLIENT_RESULT") MB/s"
}

# A field (bytes_acked, bytes_received, ...) of Linux's tcp_info for the one established
# connection in namespace $1 matching the ss filter $3.. (e.g. 'dport = :80'); $2: the field.
proxy_tcp_info() {
  local ns=$1 field=$2 out n
  shift 2
  out=$(ip netns exec "$ns" ss -tinH state established "$@")
  n=$(grep -c "$field:" <<<"$out" || true)
  [ "$n" = 1 ] || { echo "FAIL: $n connections match '$*' in $ns" >&2; return 1; }
  grep -o "$field:[0-9]*" <<<"$out" | cut -d: -f2
}

# ---- faults -------------------------------------------------------------------------------
# Backend address $1 port $2 black-holed: the backend namespace drops every segment to it.
proxy_blackhole() { in_backend iptables -w 5 -I INPUT -p tcp -d "$1" --dport "$2" -j DROP; }
proxy_unblackhole() { in_backend iptables -w 5 -D INPUT -p tcp -d "$1" --dport "$2" -j DROP; }
# The client namespace goes silent for ferry's port $1: it neither sends nor receives a segment
# of those connections (a client that vanished without a RST).
proxy_silence_client() {
  in_ns iptables -w 5 -I OUTPUT -p tcp -d "$FERRY_ADDR" --dport "$1" -j DROP
  in_ns iptables -w 5 -I INPUT -p tcp -s "$FERRY_ADDR" --sport "$1" -j DROP
}
proxy_unsilence_client() {
  in_ns iptables -w 5 -D OUTPUT -p tcp -d "$FERRY_ADDR" --dport "$1" -j DROP
  in_ns iptables -w 5 -D INPUT -p tcp -s "$FERRY_ADDR" --sport "$1" -j DROP
}
