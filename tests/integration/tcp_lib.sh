# Helpers for tests that drive ferryd's own TCP stack (its diagnostic echo, discard and chargen
# services) from Linux clients: the interop tests here and the fault suite (tests/fault/).
# Sources lib.sh, so the same rules hold: namespaces ferry-*, 198.18.0.0/15 only, every wait
# bounded, everything torn down by the trap.
#
# Usage: source tcp_lib.sh; ferry_topology_one_arm; tcp_write_config F; ferry_start F;
#        tcp_take_baseline; ... tcp_load echo 7 --bytes N ...; tcp_expect_baseline
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TCP_LOAD=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tcp_load.py

# Extra cleanup before lib.sh's (background tools in the namespace): functions named here run
# first on exit, whatever the exit status; lib.sh's cleanup then sees the test's own status.
TCP_CLEANUP_HOOKS=()
tcp_cleanup() {
  local hook
  for hook in "${TCP_CLEANUP_HOOKS[@]}"; do "$hook" || true; done
  tcp_save_artifacts
}
# (set +e: under set -e the trap itself would stop at `(exit $rc)` when rc is not 0.)
trap 'rc=$?; set +e; tcp_cleanup; (exit $rc); ferry_cleanup' EXIT
# Background tools in the namespace are started with `ip netns exec` itself, not through
# in_ns: a backgrounded shell function is a subshell, so $! would not be the tool's pid (and
# that subshell ignores SIGINT and holds the test's stdout open).

FERRY_ADDR=198.18.0.1
# ferryd's worker runs on lcore 1 (workers below), the Linux clients on CPU 0: on a 2-core box
# neither starves the other (TESTING.md).
TCP_CLIENT_CPU=0
TCP_WORKER_LCORE=1

# The ferry.v1.Config for the TCP tests: lan0 on $FERRY_IF as in ferry_write_config, one worker
# pinned to lcore 1 with a pool of $2 mbufs (default 32767: 200 connections with windows open
# hold many), the echo (7), discard (9) and chargen (19) services, a short TIME-WAIT so that
# the table drains within a second of the last close, and any extra text in $3.
tcp_write_config() {
  local mbufs=${2:-32767}
  local eal=${FERRY_EAL:-"hugepages: false memory_mb: 512 file_prefix: \"ferry-t$FERRY_ID\" extra_args: \"--no-shconf\""}
  cat >"$1" <<CONF
interfaces {
  name: "lan0"
  driver: "af_packet"
  device: "iface=$FERRY_IF"
  ipv4 { address: "$FERRY_ADDR" prefix_length: 24 }
}
workers { count: 1 main_lcore: 0 lcores: $TCP_WORKER_LCORE mbufs_per_worker: $mbufs }
eal { $eal }
control { socket_path: "$FERRY_SOCKET" }
tcp { time_wait_ms: 1000 }
diagnostics { service: "echo" port: 7 }
diagnostics { service: "discard" port: 9 }
diagnostics { service: "chargen" port: 19 }
${3:-}
CONF
}

# Moves the peer's receive processing (veth backlog, TCP input) to the clients' CPU: without
# it the kernel handles ferryd's frames in softirq on ferryd's own core, taking time from it.
tcp_steer_peer_rx() {
  in_ns sh -c "echo 1 > /sys/class/net/$FERRY_PEER_IF/queues/rx-0/rps_cpus" 2>/dev/null || true
}

# Asks ferryd for a counters report (SIGUSR1) and waits, at most 5 s, until all of it is in
# the log; ferry_counter then reads this report's values.
ferry_report() {
  local n
  n=$(grep -c '^  worker 0: busy' "$FERRYD_LOG" || true)
  kill -USR1 "$FERRYD_PID"
  wait_for 5 tcp__reports_at_least $((n + 1)) || fail "no counters report 5 s after SIGUSR1"
}
tcp__reports_at_least() { [ "$(grep -c '^  worker 0: busy' "$FERRYD_LOG")" -ge "$1" ]; }

# Counter $1 from a fresh report.
ferry_counter_now() {
  ferry_report
  ferry_counter "$1" || fail "counter $1 missing from the report"
}

# Several counters from one fresh report, as NAME=VALUE words.
ferry_counters_now() {
  ferry_report
  local name v out=()
  for name in "$@"; do
    v=$(ferry_counter "$name") || fail "counter $name missing from the report"
    out+=("$name=$v")
  done
  echo "${out[*]}"
}

# Value of NAME in a NAME=VALUE word list ($2).
tcp_pick() { tr ' ' '\n' <<<"$2" | awk -F= -v n="$1" '$1 == n { print $2 }'; }

# The counters the tests report and compare, taken before and after each phase.
TCP_WATCHED=(tcp.segments_in tcp.segments_out tcp.payload_bytes_in tcp.payload_bytes_out
  tcp.retransmitted_segments tcp.retransmitted_bytes tcp.fast_recoveries tcp.sack_recoveries
  tcp.rto_expiries tcp.out_of_order_segments tcp.reassembly_drops tcp.drop_bad_checksum
  tcp.drop_out_of_window tcp.drop_paws tcp.drop_no_mbuf tcp.text_dropped_memory
  tcp.resets_in tcp.resets_out
  tcp.passive_opens tcp.challenge_acks net.drop_no_mbuf net.drop_tx_ring_full)

# Snapshot of TCP_WATCHED (only those the report has) into the variable named $1.
tcp_snapshot() {
  ferry_report
  local name v out=()
  for name in "${TCP_WATCHED[@]}"; do
    v=$(ferry_counter "$name") && out+=("$name=$v")
  done
  printf -v "$1" '%s' "${out[*]}"
}

# Counter deltas between two snapshots ($1 before, $2 after), the non-zero ones, one line.
tcp_delta_line() {
  local name a b out=()
  for name in "${TCP_WATCHED[@]}"; do
    a=$(tcp_pick "$name" "$1"); b=$(tcp_pick "$name" "$2")
    [ -n "$a" ] && [ -n "$b" ] && [ "$b" != "$a" ] && out+=("${name#tcp.}+$((b - a))")
  done
  echo "${out[*]:-no change}"
}

# Delta of one counter between snapshots $2 and $3.
tcp_delta() { echo $(($(tcp_pick "$1" "$3") - $(tcp_pick "$1" "$2"))); }

# Runs tcp_load.py in the peer namespace on the clients' CPU against ferry:$2 (mode $1, then
# its options). Its output goes to the log; TCP_RESULT holds its RESULT line. Fails the test
# unless it exits 0 within its own deadline (plus a margin enforced here by timeout).
TCP_RESULT=
tcp_load() {
  local mode=$1 port=$2; shift 2
  local out=$FERRY_WORK/load.$mode.$$.$RANDOM rc=0
  # Its own --timeout bounds it; timeout(1) is the backstop if it wedges in a system call.
  in_ns timeout -k 5 400 taskset -c "$TCP_CLIENT_CPU" "$PY" "$TCP_LOAD" "$mode" "$FERRY_ADDR" \
    "$port" "$@" >"$out" 2>&1 || rc=$?
  sed 's/^/    /' "$out"
  TCP_RESULT=$(grep '^RESULT ' "$out" | tail -n 1 || true)
  if [ "$rc" != 0 ]; then
    # ferry's side of the story, while the connections may still be there.
    local n
    n=$(grep -c '^  worker 0: busy' "$FERRYD_LOG" || true)
    kill -USR1 "$FERRYD_PID" 2>/dev/null && { wait_for 5 tcp__reports_at_least $((n + 1)) || true; }
    log "ferry at the failure: $(tcp__report_nonzero)"
    fail "$mode client failed (exit $rc): $(grep FAILED "$out" | head -n 1)"
  fi
}

# The last report's non-zero tcp.* and diag.* counters, one line.
tcp__report_nonzero() {
  tac "$FERRYD_LOG" | awk '/^ferryd: (counters on SIGUSR1|final counters)/ { exit } { print }' | tac \
    | awk '$1 ~ /^(tcp|diag)\./ && $2 != 0 { printf "%s=%s ", $1, $2 }'
}

# Field $1 (mb_per_s, seconds, bytes) of TCP_RESULT.
tcp_result() { tr ' ' '\n' <<<"$TCP_RESULT" | awk -F= -v n="$1" '$1 == n { print $2 }'; }

# Records loop.mbufs_in_use with nothing open, for tcp_expect_baseline.
TCP_BASE_MBUFS=
tcp_take_baseline() {
  TCP_BASE_MBUFS=$(ferry_counter_now loop.mbufs_in_use)
  log "baseline: loop.mbufs_in_use=$TCP_BASE_MBUFS"
}

TCP_GAUGES=(tcp.connections_syn_sent tcp.connections_syn_received tcp.connections_established
  tcp.connections_closing tcp.connections_time_wait tcp.mbufs_held diag.connections_open
  loop.mbufs_in_use)

# Waits (at most $1 s, default 15: TIME-WAIT is 1 s in these configs) until every connection
# is gone from ferry's table, no mbuf is held by TCP and the worker's pool is back to the
# baseline; fails with the gauges as they last were. The gauges are only visible through
# reports, so this polls: one report every 0.5 s.
tcp_expect_baseline() {
  local limit=${1:-15} deadline now name v ok
  deadline=$((SECONDS + limit))
  while :; do
    now=$(ferry_counters_now "${TCP_GAUGES[@]}")
    ok=1
    for name in "${TCP_GAUGES[@]}"; do
      v=$(tcp_pick "$name" "$now")
      if [ "$name" = loop.mbufs_in_use ]; then
        [ "$v" -le "$TCP_BASE_MBUFS" ] || ok=0
      else
        [ "$v" = 0 ] || ok=0
      fi
    done
    if [ $ok = 1 ]; then
      log "back to baseline: $now"
      return 0
    fi
    [ $SECONDS -lt $deadline ] || fail "not back to baseline after $limit s (mbufs_in_use baseline $TCP_BASE_MBUFS): $now"
    sleep 0.5
  done
}

# Sets TCP sysctl $1 (e.g. tcp_sack) to $2 in the peer namespace (these are per netns).
tcp_peer_sysctl() { in_ns sysctl -qw "net.ipv4.$1=$2"; }

# Some of Linux's own TCP counters in the peer namespace (nstat, absolute: the namespace is the
# test's own), one line of NAME=VALUE words.
tcp_peer_nstat() {
  in_ns nstat -asz 2>/dev/null | awk '
    $1 ~ /^(TcpRetransSegs|TcpInCsumErrors|TcpExtBeyondWindow|TcpExtPAWSEstab|TcpExtTCPSACKReorder|TcpExtTCPDSACKRecv|TcpExtTCPDSACKOfoRecv|TcpExtTCPLossProbes|TcpExtTCPTimeouts|TcpExtTCPOFOQueue|TcpExtTCPFastRetrans|TcpExtTCPSpuriousRTOs)$/ {
      printf "%s=%s ", $1, $2 }'
}

# Value of Linux counter $1 in a tcp_peer_nstat line ($2); 0 if absent.
nstat_pick() { tr ' ' '\n' <<<"$2" | awk -F= -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'; }

# Fails if, between two tcp_peer_nstat lines ($1 before, $2 after), Linux dropped segments of
# ferry's for lying beyond the window it had advertised (TcpExtBeyondWindow). RFC 9293
# §3.8.6.2.1: the usable window is SND.UNA + SND.WND - SND.NXT, and nothing is sent past it
# (a one-octet zero-window probe is the only exception, and Linux accepts that one).
tcp_expect_within_peer_window() {
  local d
  d=$(($(nstat_pick TcpExtBeyondWindow "$2") - $(nstat_pick TcpExtBeyondWindow "$1")))
  [ "$d" = 0 ] || fail "Linux dropped $d of ferry's segments as beyond the window it advertised (TcpExtBeyondWindow)"
}

# With FERRY_ARTIFACTS_DIR set, a test keeps its evidence in $FERRY_ARTIFACTS_DIR/NAME-ID/:
# ferryd's log (every counters report), the tools' logs, and a capture of the TCP headers
# (first 128 bytes of each frame) on the peer's interface for the whole test. Off by default:
# at these rates the capture costs CPU and disk.
TCP_CAPTURE_PID=
TCP_ARTIFACTS=
tcp_capture_start() {
  [ -n "${FERRY_ARTIFACTS_DIR:-}" ] || return 0
  TCP_ARTIFACTS=$FERRY_ARTIFACTS_DIR/$1-$FERRY_ID
  mkdir -p "$TCP_ARTIFACTS"
  ip netns exec "$FERRY_NS" timeout 900 tcpdump -i "$FERRY_PEER_IF" -n -s 128 -B 262144 -U \
    -w "$TCP_ARTIFACTS/tcp.pcap" tcp >"$FERRY_WORK/capture.log" 2>&1 &
  TCP_CAPTURE_PID=$!
  TCP_CLEANUP_HOOKS+=(tcp_capture_stop)
  wait_for 10 grep -q "listening on" "$FERRY_WORK/capture.log" || fail "tcpdump did not start"
  log "keeping logs and a capture of TCP headers in $TCP_ARTIFACTS"
}
tcp_capture_stop() {
  [ -n "$TCP_CAPTURE_PID" ] || return 0
  kill -TERM "$TCP_CAPTURE_PID" 2>/dev/null || true  # timeout(1) passes it on to tcpdump
  wait "$TCP_CAPTURE_PID" 2>/dev/null || true
  TCP_CAPTURE_PID=
}
tcp_save_artifacts() {
  [ -n "$TCP_ARTIFACTS" ] && [ -d "$FERRY_WORK" ] || return 0
  cp -r "$FERRY_WORK/." "$TCP_ARTIFACTS/"
}

# After ferry_stop: logs the final report's non-zero tcp.* and diag.* counters on one line, and
# fails if the echo service ever had to throw bytes away (diag.echo_dropped_bytes: the window
# it offers must never let in more than its send queue can take back).
tcp_log_final_counters() {
  log "final counters (non-zero): $(tcp__report_nonzero)"
  local dropped
  dropped=$(ferry_counter diag.echo_dropped_bytes || echo 0)
  [ "$dropped" = 0 ] || fail "the echo service dropped $dropped bytes that did not fit its send queue"
}
