#!/usr/bin/env bash
# Bulk bytes through ferry's proxy, sha256-exact at both ends (proxy_stream.py: a client in the
# client namespace, a server on backend 198.18.1.10:9000; each sends a seeded stream and checks
# the other's, and each end's sha256 is compared with the other's):
#   a. 200 MiB each way at once on one session;
#   b. the client half-closes first: it sends 16 MiB and shuts down its sending side; only once
#      the backend has read to that FIN does it send its 64 MiB, which must all arrive (ferry
#      keeps the backend-to-client direction open after the client's FIN, RFC 9293 §3.6);
#   c. the backend half-closes first: it sends 16 MiB and FIN; the client reads to EOF, then
#      sends 64 MiB, which must all arrive.
# Each session must end with FINs at both ends, ferry sending no reset; ferry's byte counters
# must equal what was sent; afterwards every session and TCB is gone and the mbuf pool is back
# to its baseline.
# Sizes can be changed: PROXY_BULK_MB (a.), PROXY_AFTER_MB and PROXY_HALF_MB (b., c.).
source "$(dirname "$0")/proxy_lib.sh"

MIB=$((1 << 20))
BULK=$((${PROXY_BULK_MB:-200} * MIB))
AFTER=$((${PROXY_AFTER_MB:-64} * MIB))
HALF=$((${PROXY_HALF_MB:-16} * MIB))
BACKEND=198.18.1.10:9000
CONF=$FERRY_WORK/ferryd.conf

proxy_topology
proxy_write_config "$CONF" "$(proxy_listener bulk 80 bulk)
$(proxy_pool bulk round_robin "connect_timeout_ms: 1000 connect_attempts: 1" \
  "$(proxy_backend s1 198.18.1.10 9000)")"
proxy_start "$CONF"
proxy_capture_start proxy_bulk

# One transfer ($1 label, then proxy_transfer's up, down, client order, server order), then
# the checks common to all: the counters saw exactly those bytes, nobody was reset, and
# everything is released.
phase() {
  local label=$1 up=$2 down=$3 corder=$4 sorder=$5
  log "$label"
  proxy_snapshot before
  proxy_transfer 80 "$BACKEND" "$up" "$down" "$corder" "$sorder" 180
  [ "$(proxy_field end "$PROXY_CLIENT_RESULT")" = eof ] && [ "$(proxy_field end "$PROXY_SERVER_RESULT")" = eof ] \
    || fail "a side did not end on a FIN: client $(proxy_field end "$PROXY_CLIENT_RESULT"), server $(proxy_field end "$PROXY_SERVER_RESULT")"
  proxy_expect_baseline
  proxy_snapshot after
  local name want got
  for name in listener.bytes_from_client:bulk:"$up" backend.bytes_to_backend:bulk:s1:"$up" \
    backend.bytes_from_backend:bulk:s1:"$down" listener.bytes_to_client:bulk:"$down"; do
    IFS=: read -r -a f <<<"$name"
    want=${f[-1]}
    got=$(proxy_delta before after "${f[@]:0:${#f[@]}-1}")
    [ "$got" = "$want" ] || fail "$label: $(proxy_counter_name "${f[@]:0:${#f[@]}-1}") grew by $got, want $want"
  done
  # Ferry must not have aborted either connection. (A reset from a peer after both ends have
  # closed is Linux answering a segment for a connection it has already forgotten, e.g. a
  # second ACK of its FIN after LAST-ACK; it shows in the line below as tcp.resets_in.)
  [ "$(proxy_raw_delta before after tcp.resets_out)" = 0 ] \
    || fail "$label: ferry sent $(proxy_raw_delta before after tcp.resets_out) resets"
  log "  ferry: $(proxy_delta_line before after)"
}

phase "a. $((BULK / MIB)) MiB each way at once" "$BULK" "$BULK" both both
phase "b. client sends $((HALF / MIB)) MiB and FIN first; then the backend sends $((AFTER / MIB)) MiB" \
  "$HALF" "$AFTER" send-first recv-first
phase "c. backend sends $((HALF / MIB)) MiB and FIN first; then the client sends $((AFTER / MIB)) MiB" \
  "$AFTER" "$HALF" recv-first send-first

ferry_stop
proxy_log_final_counters
log "PASS"
