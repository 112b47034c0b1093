# Helpers for the fault suite: tcp_lib.sh (ferryd with its echo/discard/chargen services, a
# Linux peer in ferry-t$ID) plus the NFQUEUE impairer, started inside the peer's namespace and
# fed by iptables rules there. On exit the trap stops every impairer before lib.sh's cleanup.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/tcp_lib.sh"

[ -x "${FERRY_IMPAIRER:-}" ] || { echo "FERRY_IMPAIRER (the impairer binary) is not set"; exit 1; }

# Duplicates leave through a raw socket with this mark; the NFQUEUE rules skip it.
IMPAIRER_MARK=1
declare -A IMPAIRER_PID=()

fault_cleanup() {
  local q
  for q in "${!IMPAIRER_PID[@]}"; do
    kill -KILL "${IMPAIRER_PID[$q]}" 2>/dev/null || true
    wait "${IMPAIRER_PID[$q]}" 2>/dev/null || true
  done
}
TCP_CLEANUP_HOOKS+=(fault_cleanup)

# Starts an impairer on NFQUEUE $1 in the peer's namespace (further arguments are its flags),
# waits (5 s at most) until it has bound the queue, then adds the rule that feeds it: $2 is
# "out" (Linux to ferry: OUTPUT) or "in" (ferry to Linux: INPUT). Output: impairer.$1.log.
impairer_start() {
  local q=$1 dir=$2; shift 2
  local out=$FERRY_WORK/impairer.$q.log
  ip netns exec "$FERRY_NS" taskset -c "$TCP_CLIENT_CPU" "$FERRY_IMPAIRER" --queue="$q" \
    --mark="$IMPAIRER_MARK" --lifetime_s=150 "$@" >"$out" 2>&1 &
  IMPAIRER_PID[$q]=$!
  wait_for 5 grep -q "impairer ready" "$out" || fail "impairer on queue $q did not start: $(cat "$out")"
  case $dir in
    out) in_ns iptables -A OUTPUT -p tcp -d "$FERRY_ADDR" -m mark ! --mark "$IMPAIRER_MARK/$IMPAIRER_MARK" \
           -j NFQUEUE --queue-num "$q" ;;
    in) in_ns iptables -A INPUT -p tcp -s "$FERRY_ADDR" -j NFQUEUE --queue-num "$q" ;;
    *) fail "impairer_start: direction '$dir' is neither in nor out" ;;
  esac
  log "impairer on queue $q ($dir): $(head -n 1 "$out")"
}

# Removes every NFQUEUE rule (so no packet waits on a queue nobody reads), then stops the
# impairer on queue $1 with SIGTERM (10 s at most) and checks it exited 0.
impairer_stop() {
  local q=$1 pid=${IMPAIRER_PID[$1]} rc=0 i
  in_ns iptables -F INPUT
  in_ns iptables -F OUTPUT
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "impairer on queue $q still running 10 s after SIGTERM"
  wait "$pid" || rc=$?
  unset "IMPAIRER_PID[$q]"
  [ "$rc" = 0 ] || fail "impairer on queue $q exited with $rc: $(tail -n 5 "$FERRY_WORK/impairer.$q.log")"
  log "impairer on queue $q: $(grep '^impairer stats:' "$FERRY_WORK/impairer.$q.log" | cut -d' ' -f3-)"
}

# Statistic $2 (dropped, corrupted, duplicated, reordered, ...) of the stopped impairer on $1.
impairer_stat() {
  grep '^impairer stats:' "$FERRY_WORK/impairer.$1.log" | tr ' ' '\n' \
    | awk -F= -v n="$2" '$1 == n { v = $2 } END { if (v == "") exit 1; print v }'
}

# Fails unless counter $1 grew between snapshots $2 and $3 by at least $4 (default 1).
expect_growth() {
  local d
  d=$(tcp_delta "$1" "$2" "$3")
  [ "$d" -ge "${4:-1}" ] || fail "$1 grew by $d, want at least ${4:-1}"
}


# The usual start: topology, ferryd with the diagnostic services, baseline.
fault_setup() {
  ferry_topology_one_arm
  tcp_steer_peer_rx
  tcp_write_config "$FERRY_WORK/ferryd.conf"
  ferry_start "$FERRY_WORK/ferryd.conf"
  tcp_capture_start "$(basename "$0" .sh)"
  tcp_take_baseline
}
