# Shared helpers for tests that run the real ferryd against Linux peers in network namespaces.
# Rules (TESTING.md): traffic only inside namespaces we create, named ferry-*, addresses only in
# 198.18.0.0/15, every wait bounded, everything torn down on exit (trap).
#
# Usage: source lib.sh; ferry_topology_one_arm; ferry_start CONFIG; ... ; ferry_stop
set -euo pipefail

PY=/usr/bin/python3   # Debian's interpreter: it has scapy (TESTING.md: pyenv's python does not)
FERRY_ID=${FERRY_ID:-$$}
FERRY_NS=ferry-t$FERRY_ID          # the Linux peer's namespace
FERRY_IF=fy${FERRY_ID}a            # root-side veth end, driven by ferryd (af_packet)
FERRY_PEER_IF=fy${FERRY_ID}b       # namespace-side end
FERRY_WORK=$(mktemp -d /tmp/ferry-test.XXXXXX)
FERRYD_PID=
FERRYD_LOG=$FERRY_WORK/ferryd.log
# ferryd's control socket: one per test, since tests run in parallel (ferryctl --socket).
FERRY_SOCKET=${FERRY_SOCKET:-/run/ferry/ferry-t$FERRY_ID.sock}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; [ -f "$FERRYD_LOG" ] && { echo "--- ferryd log (tail)"; tail -n 60 "$FERRYD_LOG"; }; exit 1; }
in_ns() { ip netns exec "$FERRY_NS" "$@"; }

ferry_cleanup() {
  local rc=$?
  if [ -n "$FERRYD_PID" ] && kill -0 "$FERRYD_PID" 2>/dev/null; then
    kill -KILL "$FERRYD_PID" 2>/dev/null || true
    wait "$FERRYD_PID" 2>/dev/null || true
  fi
  ip link del "$FERRY_IF" 2>/dev/null || true
  ip netns del "$FERRY_NS" 2>/dev/null || true
  # ferryd removes EAL's runtime directory when it exits cleanly; after a KILL it is left.
  rm -rf "/var/run/dpdk/ferry-t$FERRY_ID"
  # ferryd removes its socket when it exits cleanly; after a KILL it is left.
  rm -f "$FERRY_SOCKET"
  rm -rf "$FERRY_WORK"
  exit $rc
}
trap ferry_cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, raw sockets)"; exit 77; }

# Waits until "$@" succeeds, polling every 0.1 s for at most $1 seconds.
wait_for() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# One arm: [ferryd on $FERRY_IF] ==veth== [$FERRY_PEER_IF in $FERRY_NS, 198.18.0.2/24].
# The peer gets arp_accept=1 (so gratuitous ARP creates entries), no IPv6 (no NDP noise), and
# checksum/TSO offloads off (TESTING.md: veth leaves checksums unfinished).
ferry_topology_one_arm() {
  ip netns add "$FERRY_NS"
  ip link add "$FERRY_IF" type veth peer name "$FERRY_PEER_IF"
  ip link set "$FERRY_PEER_IF" netns "$FERRY_NS"
  sysctl -qw "net.ipv6.conf.$FERRY_IF.disable_ipv6=1"
  ip link set "$FERRY_IF" up
  in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns sysctl -qw "net.ipv4.conf.all.arp_accept=1" "net.ipv4.conf.$FERRY_PEER_IF.arp_accept=1"
  in_ns ip link set lo up
  in_ns ip addr add 198.18.0.2/24 dev "$FERRY_PEER_IF"
  in_ns ip link set "$FERRY_PEER_IF" up
  in_ns ethtool -K "$FERRY_PEER_IF" tx off tso off gso off >/dev/null 2>&1 || true
  FERRY_MAC=$(cat "/sys/class/net/$FERRY_IF/address")
}

# Writes the config for one interface on $FERRY_IF with address 198.18.0.1/24 to $1, plus any
# extra text in $2. Tests run without hugepages and with a unique file prefix (they run in
# parallel); the demo overrides FERRY_EAL to use hugepages.
ferry_write_config() {
  local eal=${FERRY_EAL:-"hugepages: false memory_mb: 256 file_prefix: \"ferry-t$FERRY_ID\" extra_args: \"--no-shconf\""}
  cat >"$1" <<CONF
interfaces {
  name: "lan0"
  driver: "af_packet"
  device: "iface=$FERRY_IF"
  ipv4 { address: "198.18.0.1" prefix_length: 24 }
}
workers { mbufs_per_worker: ${FERRY_MBUFS:-4095} }
eal { $eal }
control { socket_path: "$FERRY_SOCKET" }
${2:-}
CONF
}

# Starts ferryd on config $1 and waits (bounded) for it to say it is ready.
ferry_start() {
  "$FERRYD" --config="$1" --drivers_dir="$FERRY_DRIVERS_DIR" >"$FERRYD_LOG" 2>&1 &
  FERRYD_PID=$!
  wait_for 30 grep -q "ferryd ready" "$FERRYD_LOG" || fail "ferryd did not become ready"
  log "ferryd ready (pid $FERRYD_PID, mac $FERRY_MAC)"
}

# SIGTERM, bounded wait; fails unless ferryd exits 0 and says it stopped cleanly.
ferry_stop() {
  kill -TERM "$FERRYD_PID"
  local i
  for i in $(seq 1 100); do kill -0 "$FERRYD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$FERRYD_PID" 2>/dev/null && fail "ferryd still running 10 s after SIGTERM"
  local rc=0
  wait "$FERRYD_PID" || rc=$?
  FERRYD_PID=
  [ "$rc" = 0 ] || fail "ferryd exited with $rc after SIGTERM"
  grep -q "ferryd stopped cleanly" "$FERRYD_LOG" || fail "no clean-stop message"
}

# Value of counter $1 (e.g. net.drop_ipv4_bad_checksum) in the last report in the log.
ferry_counter() {
  awk -v name="$1" '$1 == name { v = $2 } END { if (v == "") exit 1; print v }' "$FERRYD_LOG"
}

# CPU used by ferryd over $1 seconds, in percent of one core (from /proc/PID/stat).
ferry_cpu_percent() {
  local hz t0 t1
  hz=$(getconf CLK_TCK)
  t0=$(awk '{ print $14 + $15 }' "/proc/$FERRYD_PID/stat")
  sleep "$1"
  t1=$(awk '{ print $14 + $15 }' "/proc/$FERRYD_PID/stat")
  awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$1" 'BEGIN { printf "%.1f", 100 * (b - a) / hz / s }'
}
