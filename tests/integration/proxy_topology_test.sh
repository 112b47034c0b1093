#!/usr/bin/env bash
# The proxy tests' ground, without the proxy: proxy_lib.sh's topology with ferryd driving both
# arms and nothing but its own addresses, and the peers the proxy tests rely on, each talking
# to the others directly inside the backend namespace. If this fails, so will every
# proxy_*_test.sh, for reasons that are not the proxy's.
#   a. ferry answers ping on 198.18.0.1 (client side) and 198.18.1.1 (backend side), and from
#      the far subnet 198.19.0.0/24, which it reaches only through its route via 198.18.1.254;
#   b. nginx backends: /id answers each one's name, /bytes/<n> the file's bytes; the PROXY
#      protocol port refuses a request without the header and logs the header's address;
#      curl's and wrk's helpers see every response right;
#   c. the stream peers move 16 MiB each way in the three orders, sha256-equal at both ends;
#   d. the PROXY protocol reader parses v1 from curl and v2 with a TLV, and catches a wrong
#      CRC32C;
#   e. the hold peers open, hold, check and close 2,000 connections.
source "$(dirname "$0")/proxy_lib.sh"

MIB=$((1 << 20))
proxy_topology --far
proxy_write_config "$FERRY_WORK/ferryd.conf"
ferry_start "$FERRY_WORK/ferryd.conf"

log "a. ping ferry from both sides, and from behind the gateway"
out=$(in_ns ping -c 3 -i 0.1 -W 2 "$FERRY_ADDR") || fail "client -> $FERRY_ADDR: $out"
out=$(in_backend ping -c 3 -i 0.1 -W 2 -I 198.18.1.10 "$PROXY_SOURCE") || fail "backend -> $PROXY_SOURCE: $out"
# ferry's replies to 198.19.0.10 can only go through its route: nobody on lan1 answers ARP for
# that address.
out=$(in_far ping -c 3 -i 0.1 -W 2 "$PROXY_SOURCE") || fail "far -> $PROXY_SOURCE (ferry's route): $out"

log "b. nginx backends"
for i in 0 1 2; do proxy_nginx_start "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}"; done
proxy_nginx_start far "$PROXY_FAR_ADDR" "$PROXY_FAR_NS"
for size in "${PROXY_WWW_SIZES[@]}"; do
  got=$(in_backend curl -sS --max-time 10 "http://198.18.1.11/bytes/$size" | sha256sum | cut -d' ' -f1)
  [ "$got" = "${PROXY_WWW_SHA[$size]}" ] || fail "b2 /bytes/$size: wrong sha256"
done
rc=0
in_backend curl -sS --max-time 3 "http://198.18.1.10:$PROXY_NGINX_PP_PORT/id" >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "nginx answered on its PROXY protocol port without a header"
out=$(in_backend curl -sS --max-time 3 --haproxy-protocol --interface 198.18.1.11 \
  -w ' %{local_port}' "http://198.18.1.10:$PROXY_NGINX_PP_PORT/id?pp-probe") || fail "PROXY v1 request: $out"
port=${out#b1 }
grep -q "^$PROXY_NGINX_PP_PORT 198.18.1.11:$port pp=198.18.1.11:$port \"GET /id?pp-probe" \
  "$(proxy_nginx_log b1)" || fail "b1 did not log the PROXY header's address: $(tail -n 2 "$(proxy_nginx_log b1)")"
# The request helpers, pointed straight at a backend.
FERRY_NS=$PROXY_BACKEND_NS PROXY_URL=http://198.18.1.12 proxy_curl_ids 20
[ "$PROXY_IDS" = "b3=20" ] || fail "curl helper: $PROXY_IDS"
FERRY_NS=$PROXY_BACKEND_NS PROXY_URL=http://198.18.1.12 proxy_wrk 1 8 -H 'Connection: close'
log "  wrk straight to b3 with a connection per request: $PROXY_WRK_RPS requests/s"
FERRY_NS=$PROXY_FAR_NS PROXY_URL=http://$PROXY_FAR_ADDR proxy_curl_ids 5
[ "$PROXY_IDS" = "far=5" ] || fail "curl helper in the far namespace: $PROXY_IDS"

log "c. stream peers, 16 MiB each way, directly"
direct_stream() {
  local corder=$1 sorder=$2 seed=$3 c s
  proxy_stream_serve direct-server 198.18.1.10:9000 "$PROXY_BACKEND_NS" --send $((16 * MIB)) \
    --expect $((16 * MIB)) --order "$sorder" --seed "$seed" --timeout 60
  proxy_spawn direct-client "$PROXY_BACKEND_NS" "$PY" "$PROXY_STREAM" connect 198.18.1.10:9000 \
    --bind 198.18.1.11 --send $((16 * MIB)) --expect $((16 * MIB)) --order "$corder" --seed "$seed" --timeout 60
  proxy_wait direct-client 70
  c=$PROXY_RESULT
  proxy_wait direct-server 10
  s=$PROXY_RESULT
  proxy_expect_streams_match "$c" "$s"
}
direct_stream both both 1
direct_stream send-first recv-first 2
direct_stream recv-first send-first 3
# A stream that does not match must fail: the client expects a byte more than is sent.
proxy_stream_serve direct-server 198.18.1.10:9000 "$PROXY_BACKEND_NS" --send 1000 --expect 0 --timeout 20
proxy_spawn direct-client "$PROXY_BACKEND_NS" "$PY" "$PROXY_STREAM" connect 198.18.1.10:9000 \
  --expect 1001 --timeout 20
proxy_wait direct-client 30
[ "$PROXY_RC" != 0 ] && [ "$(proxy_field ok)" = 0 ] || fail "a short stream passed: $PROXY_RESULT"
proxy_wait direct-server 10

log "d. PROXY protocol reader"
proxy_spawn pp "$PROXY_BACKEND_NS" "$PY" "$PROXY_PP" serve 198.18.1.12:9100 --timeout 60
proxy_wait_line pp '^LISTENING' 10
out=$(in_backend curl -sS --max-time 3 --haproxy-protocol --interface 198.18.1.11 -w ' %{local_port}' \
  http://198.18.1.12:9100/ 2>&1 || true)
port=${out##* }
grep -q "\"crc32c\": \"absent\".*\"sport\": $port, \"src\": \"198.18.1.11\", \"tlvs\": {}, \"version\": 1" \
  "${PROXY_LOG[pp]}" || fail "v1 from curl not parsed: $(tail -n 1 "${PROXY_LOG[pp]}")"
in_backend "$PY" - <<'PYEOF' || fail "v2 with a TLV and CRC32C not read as expected: $(tail -n 2 "${PROXY_LOG[pp]}")"
import json, socket, struct, sys
SIG = b"\r\n\r\n\x00\r\nQUIT\n"

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF

def header(good_crc):
    addrs = socket.inet_aton("198.18.0.2") + socket.inet_aton("198.18.0.1") + struct.pack("!HH", 40000, 80)
    tlvs = struct.pack("!BH", 0xE0, 10) + b"ferry-test" + struct.pack("!BH", 0x03, 4) + b"\0\0\0\0"
    h = bytearray(SIG + struct.pack("!BBH", 0x21, 0x11, len(addrs) + len(tlvs)) + addrs + tlvs)
    crc = crc32c(bytes(h)) ^ (0 if good_crc else 1)
    h[-4:] = struct.pack("!I", crc)
    return bytes(h)

for good in (True, False):
    s = socket.create_connection(("198.18.1.12", 9100), timeout=5)
    s.sendall(header(good) + b"hello\n")
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while chunk := s.recv(4096):
        reply += chunk
    got = json.loads(reply)
    want = {"version": 2, "src": "198.18.0.2", "dst": "198.18.0.1", "sport": 40000, "dport": 80,
            "tlvs": {"0xe0": "ferry-test"}, "crc32c": "ok" if good else "bad"}
    if any(got.get(k) != v for k, v in want.items()):
        sys.exit(f"got {got}, want {want}")
PYEOF
proxy_stop pp

log "e. hold peers: 2,000 connections held, 50 echoed, all closed"
proxy_spawn hold-server "$PROXY_BACKEND_NS" "$PY" "$PROXY_HOLD" serve 198.18.1.10:9200 --timeout 60
proxy_wait_line hold-server '^LISTENING' 10
proxy_spawn hold-client "$PROXY_BACKEND_NS" "$PY" "$PROXY_HOLD" connect 198.18.1.10:9200 \
  --bind 198.18.1.11 --conns 2000 --sample 50 --timeout 60
proxy_wait_line hold-client '^ESTABLISHED 2000' 30
proxy_wait_line hold-server '^HELD 2000$' 10
kill -USR1 "${PROXY_PID[hold-client]}"
proxy_wait hold-client 30
[ "$PROXY_RC" = 0 ] && [ "$(proxy_field echoed)" = 50 ] || fail "hold client: $PROXY_RESULT"
proxy_wait_line hold-server '^HELD 0$' 10
proxy_stop hold-server

ferry_stop
log "PASS"
