#!/usr/bin/env bash
# The foundation, end to end: the real ferryd on a veth (net_af_packet), a Linux peer in a
# namespace. Checks gratuitous ARP at start, arping and ping answers, ferryd resolving a
# neighbour it has never heard from, a burst of malformed frames dropped and counted by reason
# with ferryd still answering, idle CPU under the back-off, and a clean exit on SIGTERM.
source "$(dirname "$0")/lib.sh"

ferry_topology_one_arm
ferry_write_config "$FERRY_WORK/ferryd.conf"
ferry_start "$FERRY_WORK/ferryd.conf"

log "gratuitous ARP: the peer learns ferry's MAC without asking (arp_accept=1)"
wait_for 5 sh -c "ip -n $FERRY_NS neigh show 198.18.0.1 | grep -q '$FERRY_MAC'" \
  || fail "no neighbour entry for 198.18.0.1 from gratuitous ARP"

log "arping: three requests, three replies from ferry's MAC"
out=$(in_ns arping -c 3 -w 5 -I "$FERRY_PEER_IF" 198.18.0.1) || fail "arping: $out"
[ "$(grep -c "from $FERRY_MAC" <<<"$out")" = 3 ] || fail "arping replies: $out"

log "ping: ten echo requests, ten replies"
out=$(in_ns ping -c 10 -i 0.05 -W 2 198.18.0.1) || fail "ping: $out"
grep -q " 0% packet loss" <<<"$out" || fail "ping loss: $out"

log "ferry resolves a neighbour it never heard from: peer speaks from 198.18.0.3 with a static entry"
in_ns ip addr add 198.18.0.3/24 dev "$FERRY_PEER_IF"
in_ns ip neigh replace 198.18.0.1 lladdr "$FERRY_MAC" dev "$FERRY_PEER_IF" nud permanent
out=$(in_ns ping -c 3 -i 0.2 -W 3 -I 198.18.0.3 198.18.0.1) || fail "ping from .3: $out"
grep -q " 0% packet loss" <<<"$out" || fail "ping from .3 loss: $out"

log "TCP to a port with no listener is refused at once (RST, RFC 9293 §3.10.7.1)"
out=$(in_ns "$PY" - <<'PYEOF'
import socket
s = socket.socket()
s.settimeout(5)
try:
    s.connect(("198.18.0.1", 80))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error", e)
PYEOF
)
[ "$out" = refused ] || fail "connect to 198.18.0.1:80: $out"

log "malformed burst: 18 kinds x 20 frames"
expected=$(in_ns "$PY" "$(dirname "$0")/malformed.py" "$FERRY_PEER_IF" "$FERRY_MAC" 198.18.0.1 198.18.0.2 20) \
  || fail "malformed.py failed"

log "ferry still answers after the burst"
out=$(in_ns ping -c 5 -i 0.05 -W 2 198.18.0.1) || fail "ping after burst: $out"
grep -q " 0% packet loss" <<<"$out" || fail "ping after burst: $out"

cpu=$(ferry_cpu_percent 3)
log "idle CPU of ferryd over 3 s: ${cpu}% of one core"
awk -v c="$cpu" 'BEGIN { exit !(c < 25) }' || fail "idle ferryd uses ${cpu}% of a core: back-off not working"

ferry_stop
log "final counters checked against what was sent"
for name in $("$PY" -c 'import json,sys; print(" ".join(json.loads(sys.argv[1])))' "$expected"); do
  want=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$expected" "$name")
  got=$(ferry_counter "$name") || fail "counter $name missing from the report"
  [ "$got" = "$want" ] || fail "$name: counted $got, sent $want"
done
[ "$(ferry_counter net.arp_requests_out)" -ge 1 ] || fail "ferry never sent an ARP request"
[ "$(ferry_counter net.arp_gratuitous_out)" -ge 1 ] || fail "no gratuitous ARP counted"
[ "$(ferry_counter tcp.resets_out)" -ge 1 ] || fail "no RST counted for the refused connect"
[ "$(ferry_counter net.icmp_echo_replies_out)" -ge 18 ] || fail "echo replies: $(ferry_counter net.icmp_echo_replies_out)"
[ "$(ferry_counter loop.mbufs_in_use)" -le 64 ] || fail "mbufs in use at exit: $(ferry_counter loop.mbufs_in_use)"
log "PASS"
