#!/usr/bin/env bash
# ferry's proxy tells its backends who the client is with the PROXY protocol (haproxy's
# proxy-protocol.txt, v1 §2.1 and v2 §2.2), checked by the backends that need it:
#   a. nginx with "listen ... proxy_protocol" behind pools with v1, v2 with a TLV (0xE0
#      "ferry-test") and a CRC32C, and bare v2: requests from two client addresses are
#      answered, and nginx logs each request's real client address and port (198.18.0.x and
#      curl's own port) while the connection itself comes from ferry (198.18.1.1);
#   b. a pool without PROXY protocol in front of the same nginx port: nginx refuses the request
#      (so the header is what made a. work);
#   c. a strict reader (proxy_pp_server.py) behind v1 and v2 pools: every field is right
#      (source and destination addresses and ports, the TLV's value) and v2's CRC32C matches.
source "$(dirname "$0")/proxy_lib.sh"

CONF=$FERRY_WORK/ferryd.conf
PP=$PROXY_NGINX_PP_PORT
READER=198.18.1.12:9100
TLVS='tlvs { type: 0xE0 value: "ferry-test" } crc32c: true'

proxy_topology
proxy_client_addresses 2
for i in 0 1 2; do proxy_nginx_start "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}"; done
proxy_spawn reader "$PROXY_BACKEND_NS" "$PY" "$PROXY_PP" serve "$READER" --timeout 240
proxy_wait_line reader '^LISTENING' 10

FIELDS="connect_timeout_ms: 1000 connect_attempts: 1"
proxy_write_config "$CONF" "$(proxy_listener pp1 81 pp1)
$(proxy_pool pp1 round_robin "$FIELDS proxy_protocol { version: \"v1\" }" "$(proxy_backend b1 198.18.1.10 "$PP")")
$(proxy_listener pp2 82 pp2)
$(proxy_pool pp2 round_robin "$FIELDS proxy_protocol { version: \"v2\" $TLVS }" "$(proxy_backend b2 198.18.1.11 "$PP")")
$(proxy_listener pp2bare 83 pp2bare)
$(proxy_pool pp2bare round_robin "$FIELDS proxy_protocol { version: \"v2\" }" "$(proxy_backend b3 198.18.1.12 "$PP")")
$(proxy_listener plain 84 plain)
$(proxy_pool plain round_robin "$FIELDS" "$(proxy_backend b1 198.18.1.10 "$PP")")
$(proxy_listener raw1 85 raw1)
$(proxy_pool raw1 round_robin "$FIELDS proxy_protocol { version: \"v1\" }" "$(proxy_backend reader "${READER%:*}" "${READER#*:}")")
$(proxy_listener raw2 86 raw2)
$(proxy_pool raw2 round_robin "$FIELDS proxy_protocol { version: \"v2\" $TLVS }" "$(proxy_backend reader "${READER%:*}" "${READER#*:}")")"
proxy_start "$CONF"
proxy_capture_start proxy_protocol

# ---- a. nginx -------------------------------------------------------------------------------
# A request from client address $2 through ferry's port $1 to backend $3, tagged so that its
# log line can be found; nginx must have logged the client's address and port as the PROXY
# header's and ferry's address as the peer's.
nginx_request() {
  local port=$1 addr=$2 backend=$3 tag=pp$1-$RANDOM out cport line
  out=$(in_ns curl -sS --connect-timeout 3 --max-time 10 --interface "$addr" -w ' %{local_port}' \
    "http://$FERRY_ADDR:$port/id?$tag" 2>&1) || fail "request through :$port from $addr: $out"
  [ "${out% *}" = "$backend" ] || fail "request through :$port: answer '$out', want $backend"
  cport=${out##* }
  line=$(grep -F "\"GET /id?$tag " "$(proxy_nginx_log "$backend")" || true)
  [[ $line == "$PP $PROXY_SOURCE:"* && $line == *" pp=$addr:$cport \"GET /id?$tag HTTP/1.1\" 200 "* ]] \
    || fail "$backend logged '${line:-nothing}' for a request from $addr:$cport through :$port"
}
for addr in "${PROXY_CLIENT_ADDRS[@]}"; do
  log "a. from $addr: v1 to b1, v2 with a TLV and CRC32C to b2, bare v2 to b3"
  for i in 1 2 3; do
    nginx_request 81 "$addr" b1
    nginx_request 82 "$addr" b2
    nginx_request 83 "$addr" b3
  done
done
log "  nginx logged every client's own address and port"

# ---- b. no header, no answer ----------------------------------------------------------------
log "b. a pool without PROXY protocol in front of nginx's proxy_protocol port"
rc=0
out=$(in_ns curl -sS --connect-timeout 3 --max-time 10 "http://$FERRY_ADDR:84/id" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "nginx answered '$out' without a PROXY header: the pool sent one anyway?"
log "  refused (curl exit $rc)"

# ---- c. strict reader -----------------------------------------------------------------------
# Through ferry's port $1 from client address $2 to the reader; $3 the version, $4 the TLVs
# wanted (JSON), $5 the CRC32C verdict wanted.
reader_request() {
  local port=$1 addr=$2 out local_ep reply
  out=$(in_ns timeout -k 2 20 "$PY" "$PROXY_PP" connect "$FERRY_ADDR:$port" --bind "$addr") \
    || fail "reader through :$port from $addr: $out"
  local_ep=$(sed -n 's/^LOCAL //p' <<<"$out")
  reply=$(sed -n 's/^REPLY //p' <<<"$out")
  "$PY" - "$reply" "$local_ep" "$FERRY_ADDR" "$port" "$3" "$4" "$5" "$PROXY_SOURCE" <<'PYEOF' \
    || fail "reader through :$port from $addr: $reply"
import json, sys
reply, local, dst, dport, version, tlvs, crc, source = sys.argv[1:]
got = json.loads(reply)
src, sport = local.split(":")
want = {"version": int(version), "src": src, "sport": int(sport), "dst": dst, "dport": int(dport),
        "tlvs": json.loads(tlvs), "crc32c": crc}
bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
if not got.get("peer", "").startswith(source + ":"):
    bad["peer"] = (got.get("peer"), source + ":*")
if bad:
    sys.exit("got, want: %s" % bad)
PYEOF
}
log "c. the strict reader: v1, and v2 with a TLV and CRC32C"
for addr in "${PROXY_CLIENT_ADDRS[@]}"; do
  reader_request 85 "$addr" 1 '{}' absent
  reader_request 86 "$addr" 2 '{"0xe0": "ferry-test"}' ok
done
log "  every field right, CRC32C good"

proxy_expect_baseline
ferry_stop
proxy_log_final_counters
log "PASS"
