#!/usr/bin/env bash
# Backpressure through ferry's proxy: a reader that stops reading must stop the writer on the
# other side, with ferry holding no more than the listener's max_in_flight_bytes (262144) of
# the session's bytes in that direction, and nothing may be lost once reading resumes.
#   a. slow client: the backend (198.18.1.10:9000) sends 1 GiB; the client connects and reads
#      nothing until told (SIGUSR1);
#   b. slow backend: the client sends 1 GiB; the backend (198.18.1.10:9001) accepts and reads
#      nothing until told.
# While the reader is stalled, once the writer has stopped making progress:
#   - ferry holds at most max_in_flight_bytes + SLACK of the stream: measured from Linux's side
#     as what the writer's kernel has had acknowledged (tcp_info bytes_acked, less the SYN)
#     minus what the reader's kernel has received (bytes_received), both from ss;
#   - loop.mbufs_in_use stays within MBUF_BOUND of its baseline and tcp.mbufs_held within
#     MBUF_BOUND (sampled five times):
#       MBUF_BOUND = 2 * ceil(262144 / 1448) + 32 = 396 mbufs.
#     Linux sends full segments of 1448 payload bytes (MSS 1460 less 12 of timestamps), so the
#     capped bytes fill 182 mbufs; the factor 2 allows for segments cut short at window edges
#     (a sender squeezed by a closing window sends less than an MSS) and for a copy of the bytes
#     in flight between ferry's two connections; 32 covers ACKs, ARP and the like in flight.
#     Without the cap ferry would hold up to its receive window plus the other side's send
#     queue (1 MiB each by default): over 1,400 mbufs.
# Then the reader reads everything: sha256 and byte count exact at both ends, and afterwards
# every session, TCB and mbuf is released. PROXY_BP_MB lowers the 1 GiB for a quick look.
source "$(dirname "$0")/proxy_lib.sh"

MIB=$((1 << 20))
BYTES=$((${PROXY_BP_MB:-1024} * MIB))
CAP=$PROXY_MAX_IN_FLIGHT
SEGMENT=1448
MBUF_BOUND=$((2 * ((CAP + SEGMENT - 1) / SEGMENT) + 32))
SLACK=16384  # a window's rounding to its scale (RFC 7323 §2.3) and a segment or two in flight
CONF=$FERRY_WORK/ferryd.conf
ONCE="connect_timeout_ms: 1000 connect_attempts: 1"

proxy_topology
proxy_write_config "$CONF" "$(proxy_listener down 80 down)
$(proxy_pool down round_robin "$ONCE" "$(proxy_backend source 198.18.1.10 9000)")
$(proxy_listener up 81 up)
$(proxy_pool up round_robin "$ONCE" "$(proxy_backend sink 198.18.1.10 9001)")"
proxy_start "$CONF"
proxy_capture_start proxy_backpressure
log "cap $CAP bytes per direction: ferry may hold $((CAP + SLACK)) bytes, $MBUF_BOUND mbufs over the baseline"

# What the writer's kernel has had acknowledged: namespace $1, ss filter $2.
acked() { local v; v=$(proxy_tcp_info "$1" bytes_acked "$2") && echo $((v - 1)); }
# Polls (every 0.5 s, at most 30 s) until the writer (namespace $1, filter $2) has made no
# progress for 1.5 s: ferry's window towards it has closed.
writer_stopped() {
  local last=-1 same=0 now i
  for i in $(seq 1 60); do
    now=$(acked "$1" "$2") || fail "writer's connection not found"
    if [ "$now" = "$last" ]; then
      same=$((same + 1))
      [ $same -lt 3 ] || { WRITER_ACKED=$now; return 0; }
    else
      same=0
    fi
    last=$now
    sleep 0.5
  done
  fail "the writer was still making progress after 30 s: $now bytes acknowledged (is the stall holding?)"
}

# The stalled phase: writer in namespace $1 (filter $2), reader in $3 (filter $4); the reader
# program is $5.
check_stalled() {
  local wns=$1 wfilter=$2 rns=$3 rfilter=$4 reader=$5 received held i max_loop=0 max_held=0 v
  proxy_wait_line "$reader" '^STALLED' 15
  writer_stopped "$wns" "$wfilter"
  received=$(proxy_tcp_info "$rns" bytes_received "$rfilter") || fail "reader's connection not found"
  held=$((WRITER_ACKED - received))
  for i in 1 2 3 4 5; do
    proxy_snapshot stall
    v=$(proxy_value stall mbufs_in_use)
    [ "$v" -le "$max_loop" ] || max_loop=$v
    v=$(proxy_value stall tcp_mbufs_held)
    [ "$v" -le "$max_held" ] || max_held=$v
    sleep 0.4
  done
  log "  stalled: writer acknowledged $WRITER_ACKED bytes, reader's kernel has $received: ferry holds $held bytes"
  log "  loop.mbufs_in_use at most $max_loop (baseline $TCP_BASE_MBUFS), tcp.mbufs_held at most $max_held"
  [ "$WRITER_ACKED" -lt "$BYTES" ] || fail "the writer finished: nothing was stalled"
  [ "$held" -le $((CAP + SLACK)) ] || fail "ferry holds $held bytes of a stalled session, cap $CAP (+$SLACK)"
  [ "$held" -ge 0 ] || fail "the reader got more than the writer had acknowledged: $held"
  [ "$max_loop" -le $((TCP_BASE_MBUFS + MBUF_BOUND)) ] \
    || fail "loop.mbufs_in_use reached $max_loop, over baseline $TCP_BASE_MBUFS + $MBUF_BOUND"
  [ "$max_held" -le "$MBUF_BOUND" ] || fail "tcp.mbufs_held reached $max_held, over $MBUF_BOUND"
}

log "a. slow client: the backend sends $((BYTES / MIB)) MiB, the client does not read"
proxy_stream_serve source 198.18.1.10:9000 "$PROXY_BACKEND_NS" --send "$BYTES" --order send-first \
  --seed 1 --timeout 240 --stall-limit 90
proxy_stream_connect client 80 --expect "$BYTES" --order recv-first --stall --seed 1 --timeout 240
check_stalled "$PROXY_BACKEND_NS" '( sport = :9000 )' "$PROXY_CLIENT_NS" '( dport = :80 )' client
kill -USR1 "${PROXY_PID[client]}"
proxy_wait client 200
client_result=$PROXY_RESULT
proxy_wait source 15
proxy_expect_streams_match "$client_result" "$PROXY_RESULT"
log "  resumed: $((BYTES / MIB)) MiB exact at $(proxy_field mb_per_s "$client_result") MB/s (stall included)"
proxy_expect_baseline

log "b. slow backend: the client sends $((BYTES / MIB)) MiB, the backend does not read"
proxy_stream_serve sink 198.18.1.10:9001 "$PROXY_BACKEND_NS" --expect "$BYTES" --order recv-first \
  --stall --seed 2 --timeout 240
proxy_stream_connect client 81 --send "$BYTES" --order send-first --seed 2 --timeout 240 --stall-limit 90
check_stalled "$PROXY_CLIENT_NS" '( dport = :81 )' "$PROXY_BACKEND_NS" '( sport = :9001 )' sink
kill -USR1 "${PROXY_PID[sink]}"
proxy_wait sink 200
sink_result=$PROXY_RESULT
proxy_wait client 15
proxy_expect_streams_match "$PROXY_RESULT" "$sink_result"
log "  resumed: $((BYTES / MIB)) MiB exact at $(proxy_field mb_per_s "$sink_result") MB/s (stall included)"
proxy_expect_baseline

ferry_stop
proxy_log_final_counters
log "PASS"
