#!/usr/bin/env bash
# Backends and clients that fail, and ferry's proxy coping: clients served when another backend
# can serve them, reset when none can, every failure counted, and after each case every
# session, TCB and mbuf released (proxy.sessions_active 0, loop.mbufs_in_use at its baseline).
#   a. a refusing backend (198.18.1.12:81, nothing listens): RST to ferry's SYN; every client
#      is still served (by b1, after a retry), connect_refused and retries counted;
#   b. a black-holed backend (198.18.1.12:80, the backend namespace drops everything to it):
#      after connect_timeout_ms (500) ferry gives up on it and serves the client from b2;
#      connect_timeouts counted; no request waits much longer than the timeout;
#   c. every backend refusing: the client gets a reset (curl exit 7 if its SYN is refused, 56
#      if its connection is reset after the handshake), quickly; counted;
#   d. a backend killed (SIGKILL) mid-transfer, with bytes of the client's unread, so its
#      kernel resets: the client sees its connection end (RST or FIN) short of the 1 GiB;
#      counted as a reset from the backend;
#   e. a client killed mid-transfer (its kernel resets: unread bytes): the backend sees its
#      connection end before it has sent everything; counted as a reset from the client;
#   f. a listener with max_sessions 2 and two sessions open: a third client is reset and
#      counted (rejected_over_limit); once the two close, two new ones are served;
#   g. a client that vanishes without a word (the client namespace drops its segments, then
#      it is killed): ferry closes the session after the listener's idle_timeout_s (2 s),
#      counted as an idle timeout, and the backend's connection ends.
source "$(dirname "$0")/proxy_lib.sh"

MIB=$((1 << 20))
GIB=$((1 << 30))
CONF=$FERRY_WORK/ferryd.conf
HOLE=198.18.1.12
FAST="connect_timeout_ms: 500 connect_attempts: 3"
ONCE="connect_timeout_ms: 1000 connect_attempts: 1"

proxy_topology
proxy_nginx_start b1 198.18.1.10
proxy_nginx_start b2 198.18.1.11
proxy_write_config "$CONF" "$(proxy_listener web 80 mixed)
$(proxy_pool mixed round_robin "$FAST" "$(proxy_backend refuser "$HOLE" "$PROXY_REFUSED_PORT")" \
  "$(proxy_backend b1 198.18.1.10 80)")
$(proxy_listener hole 81 hole)
$(proxy_pool hole round_robin "$FAST" "$(proxy_backend hole "$HOLE" 80)" "$(proxy_backend b2 198.18.1.11 80)")
$(proxy_listener dead 82 dead)
$(proxy_pool dead round_robin "$FAST" "$(proxy_backend d1 198.18.1.10 "$PROXY_REFUSED_PORT")" \
  "$(proxy_backend d2 198.18.1.11 "$PROXY_REFUSED_PORT")")
$(proxy_listener stream 83 stream)
$(proxy_pool stream round_robin "$ONCE" "$(proxy_backend s1 "$HOLE" 9000)")
$(proxy_listener short 84 stream2 "max_sessions: 0 idle_timeout_s: 2 max_in_flight_bytes: $PROXY_MAX_IN_FLIGHT")
$(proxy_pool stream2 round_robin "$ONCE" "$(proxy_backend s2 "$HOLE" 9001)")
$(proxy_listener small 85 hold "max_sessions: 2 idle_timeout_s: 300 max_in_flight_bytes: $PROXY_MAX_IN_FLIGHT")
$(proxy_pool hold round_robin "$ONCE" "$(proxy_backend h1 "$HOLE" 9002)")"
proxy_start "$CONF"
proxy_capture_start proxy_faults

# ---- a. refused -----------------------------------------------------------------------------
log "a. pool [refuser, b1]: 20 requests"
proxy_snapshot a0
proxy_curl_ids 20
[ "$PROXY_IDS" = "b1=20" ] || fail "refusing backend: $PROXY_IDS"
proxy_snapshot a1
refused=$(proxy_delta a0 a1 backend.connect_refused mixed refuser)
retries=$(proxy_delta a0 a1 retries)
log "  all served by b1; connect_refused +$refused, retries +$retries"
[ "$refused" -ge 1 ] && [ "$refused" -le 20 ] || fail "connect_refused grew by $refused, want 1..20"
[ "$retries" -ge "$refused" ] || fail "retries +$retries < connect_refused +$refused"
[ "$(proxy_delta a0 a1 backend.sessions_total mixed b1)" = 20 ] \
  || fail "b1 counted $(proxy_delta a0 a1 backend.sessions_total mixed b1) sessions, want 20"
proxy_expect_baseline

# ---- b. black hole --------------------------------------------------------------------------
log "b. pool [hole, b2], $HOLE:80 black-holed: 6 requests"
proxy_blackhole "$HOLE" 80
proxy_snapshot b0
PROXY_URL=http://$FERRY_ADDR:81 proxy_curl_ids 6
[ "$PROXY_IDS" = "b2=6" ] || fail "black-holed backend: $PROXY_IDS"
proxy_snapshot b1
timeouts=$(proxy_delta b0 b1 backend.connect_timeouts hole hole)
slowest=$(awk '{ print $5 }' "$PROXY_CURL_LOG" | sort -g | tail -n 1)
log "  all served by b2; connect_timeouts +$timeouts; slowest request ${slowest} s"
[ "$timeouts" -ge 1 ] || fail "connect_timeouts did not grow"
# A request that met the hole first waited out the 500 ms connect timeout (plus a backoff of
# at most a second), not a SYN retransmission schedule.
awk -v s="$slowest" 'BEGIN { exit !(s >= 0.45 && s < 3) }' \
  || fail "slowest request took $slowest s: want 0.45..3 (connect_timeout_ms 500)"
# The SYN-SENT TCBs towards the hole must be gone too (tcp.connections_syn_sent is a gauge).
proxy_expect_baseline
proxy_unblackhole "$HOLE" 80

# Whether curl's exit status $1 says its connection was reset. Where the RST meets it depends on
# timing: before the handshake completes (7, "couldn't connect"), while it sends the request
# (55, "failed sending": ECONNRESET or EPIPE) or while it waits for the answer (56).
curl_was_reset() { [ "$1" = 7 ] || [ "$1" = 55 ] || [ "$1" = 56 ]; }

# ---- c. every backend down ------------------------------------------------------------------
log "c. pool [d1, d2], both refusing: 3 requests, each reset"
proxy_snapshot c0
for i in 1 2 3; do
  rc=0
  start=$SECONDS
  in_ns curl -sS --connect-timeout 5 --max-time 10 "http://$FERRY_ADDR:82/id" >/dev/null 2>&1 || rc=$?
  curl_was_reset "$rc" || fail "request $i with every backend down: curl exit $rc, want 7, 55 or 56 (a reset)"
  [ $((SECONDS - start)) -le 4 ] || fail "request $i took $((SECONDS - start)) s to be reset"
done
proxy_snapshot c1
refused=$(($(proxy_delta c0 c1 backend.connect_refused dead d1) + $(proxy_delta c0 c1 backend.connect_refused dead d2)))
gave_up=$(proxy_delta c0 c1 listener.connect_gave_up dead)
log "  curl saw resets; connect_refused +$refused, connect_gave_up +$gave_up"
[ "$refused" -ge 3 ] && [ "$refused" -le 9 ] || fail "connect_refused grew by $refused: want 3..9 (1..3 attempts per session)"
[ "$gave_up" = 3 ] || fail "listener dead: connect_gave_up grew by $gave_up, want 3"
proxy_expect_baseline

# ---- d. backend killed mid-transfer ---------------------------------------------------------
log "d. the backend is killed mid-transfer"
proxy_snapshot d0
# The client's 64 KiB stay unread in the server's socket, so its kernel resets on the kill.
proxy_stream_serve s1 "$HOLE:9000" "$PROXY_BACKEND_NS" --send $GIB --expect 65536 --order send-first --timeout 120
proxy_stream_connect victim 83 --send 65536 --expect $GIB --progress $((4 * MIB)) --timeout 60
proxy_wait_received victim $((8 * MIB)) 30
proxy_kill s1
proxy_wait victim 20
end=$(proxy_field end)
received=$(proxy_field received)
log "  the client's connection ended: $end after $received bytes"
[ "$end" = reset ] || [ "$end" = eof ] || fail "the client's connection ended with '$end', want reset or eof"
[ "$received" -lt $GIB ] || fail "the client got all $received bytes from a killed backend"
proxy_snapshot d1
[ "$(proxy_delta d0 d1 backend.backend_resets stream s1)" -ge 1 ] || fail "the backend's reset was not counted (backend_resets)"
proxy_expect_baseline

# ---- e. client killed mid-transfer ----------------------------------------------------------
log "e. the client is killed mid-transfer"
proxy_snapshot e0
proxy_stream_serve s1 "$HOLE:9000" "$PROXY_BACKEND_NS" --send $GIB --order send-first --timeout 120
proxy_stream_connect gone 83 --expect $GIB --order recv-first --progress $((4 * MIB)) --timeout 60
proxy_wait_received gone $((8 * MIB)) 30
proxy_kill gone
proxy_wait s1 20
log "  the backend stopped sending: $(proxy_field send_error) after $(proxy_field sent) bytes"
[ "$(proxy_field send_error)" != - ] && [ "$(proxy_field sent)" -lt $GIB ] \
  || fail "the backend sent everything to a client that was gone: $PROXY_RESULT"
proxy_snapshot e1
[ "$(proxy_delta e0 e1 listener.client_resets stream)" -ge 1 ] || fail "the client's reset was not counted (client_resets)"
proxy_expect_baseline

# ---- f. over the listener's limit -----------------------------------------------------------
log "f. listener max_sessions 2: a third client is reset, and the slots come back"
proxy_spawn hold-server "$PROXY_BACKEND_NS" "$PY" "$PROXY_HOLD" serve "$HOLE:9002" --timeout 60
proxy_wait_line hold-server '^LISTENING' 10
proxy_snapshot f0
hold_two() {
  proxy_spawn hold-client "$PROXY_CLIENT_NS" "$PY" "$PROXY_HOLD" connect "$FERRY_ADDR:85" --conns 2 \
    --sample 2 --timeout 30
  proxy_wait_line hold-client '^ESTABLISHED 2 ' 10
  proxy_wait_line hold-server '^HELD 2$' 10
}
hold_two
rc=0
in_ns curl -sS --connect-timeout 5 --max-time 10 "http://$FERRY_ADDR:85/" >/dev/null 2>&1 || rc=$?
curl_was_reset "$rc" || fail "a third client over max_sessions 2: curl exit $rc, want 7, 55 or 56 (a reset)"
proxy_snapshot f1
[ "$(proxy_delta f0 f1 listener.rejected_over_limit small)" = 1 ] \
  || fail "rejected_over_limit grew by $(proxy_delta f0 f1 listener.rejected_over_limit small), want 1"
log "  the third was reset (curl exit $rc) and counted"
release_two() {
  kill -USR1 "${PROXY_PID[hold-client]}"
  proxy_wait hold-client 20
  [ "$PROXY_RC" = 0 ] && [ "$(proxy_field echoed)" = 2 ] || fail "held clients: $PROXY_RESULT"
  proxy_wait_line hold-server '^HELD 0$' 10
}
release_two
proxy_expect_baseline
: >"${PROXY_LOG[hold-server]}"
hold_two  # both slots are free again
release_two
proxy_stop hold-server
proxy_expect_baseline

# ---- g. client vanishes silently ------------------------------------------------------------
log "g. the client vanishes without a word (listener idle_timeout_s 2)"
proxy_stream_serve s2 "$HOLE:9001" "$PROXY_BACKEND_NS" --send $GIB --order send-first --timeout 120
proxy_stream_connect ghost 84 --expect $GIB --order recv-first --progress $((4 * MIB)) --timeout 60
proxy_wait_received ghost $((8 * MIB)) 30
proxy_snapshot g0
proxy_silence_client 84
proxy_kill ghost
idle_timed_out() { [ "$(proxy_now listener.idle_timeouts short)" -gt "$(proxy_value g0 listener.idle_timeouts short)" ]; }
proxy_poll 15 idle_timed_out || fail "no idle timeout counted 15 s after the client went silent"
proxy_wait s2 20
log "  idle timeout counted; the backend stopped: $(proxy_field send_error) after $(proxy_field sent) bytes"
[ "$(proxy_field send_error)" != - ] || fail "the backend sent everything to a client that was gone: $PROXY_RESULT"
proxy_expect_baseline
proxy_unsilence_client 84

ferry_stop
proxy_log_final_counters
log "PASS"
