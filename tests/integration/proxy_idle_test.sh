#!/usr/bin/env bash
# 10,000 idle sessions through ferry's proxy (proxy_hold.py: a client in the client namespace
# opens them, a server on backend 198.18.1.10:9000 accepts and holds them, echoing anything):
#   - every one is established on both sides and counted (proxy.sessions_active = 10,000);
#   - idle sessions cost no mbufs: tcp.mbufs_held = 0 and loop.mbufs_in_use at its baseline;
#   - the memory they cost is logged: ferryd's VmRSS growth per session, beside the session
#     slot size ferry reports (proxy.session_slot_bytes);
#   - they still carry data: a line on 100 of them, spread over the whole set, comes back;
#   - once the client closes them all, every session, TCB and mbuf is released.
# ferry needs two TCBs per session (client and backend side), and TIME-WAIT ones as they close:
# tcp.max_connections 32768; the listener allows 12,000 sessions. PROXY_IDLE_CONNS lowers the
# count for a quick look (at most 19,000: one process holds at most 20,000 files, TESTING.md).
source "$(dirname "$0")/proxy_lib.sh"

N=${PROXY_IDLE_CONNS:-10000}
CONF=$FERRY_WORK/ferryd.conf
PROXY_TCP="time_wait_ms: 1000 max_connections: 32768 syn_backlog: 4096"

proxy_topology
proxy_write_config "$CONF" "$(proxy_listener idle 80 hold "max_sessions: 12000 idle_timeout_s: 300 max_in_flight_bytes: $PROXY_MAX_IN_FLIGHT")
$(proxy_pool hold round_robin "connect_timeout_ms: 2000 connect_attempts: 1" "$(proxy_backend h1 198.18.1.10 9000)")"
proxy_spawn hold-server "$PROXY_BACKEND_NS" "$PY" "$PROXY_HOLD" serve 198.18.1.10:9000 --timeout 240
proxy_wait_line hold-server '^LISTENING' 10
proxy_start "$CONF"
proxy_capture_start proxy_idle
rss_before=$(proxy_rss_kb)

log "opening $N sessions"
proxy_spawn hold-client "$PROXY_CLIENT_NS" "$PY" "$PROXY_HOLD" connect "$FERRY_ADDR:80" --conns "$N" \
  --in-flight 256 --sample 100 --timeout 180
proxy_wait_line hold-client "^ESTABLISHED $N " 120
proxy_wait_line hold-server "^HELD $N\$" 30
log "  $(grep '^ESTABLISHED' "${PROXY_LOG[hold-client]}"); the backend holds $N"
proxy_wait_counter 15 sessions_active "$N"
proxy_wait_counter 5 listener.sessions_active idle "$N"

# Idle: nothing queued anywhere. (Polled: a delayed ACK may still be on its way out.)
idle_costs_no_mbufs() {
  proxy_snapshot idle
  [ "$(proxy_value idle tcp_mbufs_held)" = 0 ] && [ "$(proxy_value idle mbufs_in_use)" -le "$TCP_BASE_MBUFS" ]
}
proxy_poll 5 idle_costs_no_mbufs \
  || fail "$N idle sessions: tcp.mbufs_held $(proxy_value idle tcp_mbufs_held), loop.mbufs_in_use $(proxy_value idle mbufs_in_use) (baseline $TCP_BASE_MBUFS)"
log "  idle: tcp.mbufs_held 0, loop.mbufs_in_use $(proxy_value idle mbufs_in_use) (baseline $TCP_BASE_MBUFS)"

rss_after=$(proxy_rss_kb)
slot=$(proxy_value idle session_slot_bytes 2>/dev/null \
  || grep -Eo 'proxy\.session_slot_bytes[ =:]+[0-9]+' "$FERRYD_LOG" | grep -Eo '[0-9]+$' | tail -n 1 || true)
[ -n "$slot" ] || fail "ferry reports no proxy.session_slot_bytes (counter or log line)"
log "  memory: ferryd's VmRSS $rss_before KiB idle, $rss_after KiB with $N sessions: $(((rss_after - rss_before) * 1024 / N)) bytes per session; ferry's session slot: $slot bytes ($(proxy_value idle session_slots) slots)"

log "a line on 100 of them, then close them all"
kill -USR1 "${PROXY_PID[hold-client]}"
proxy_wait hold-client 60
[ "$PROXY_RC" = 0 ] && [ "$(proxy_field echoed)" = 100 ] || fail "client: $PROXY_RESULT"
proxy_wait_line hold-server '^HELD 0$' 30
proxy_expect_baseline 30

ferry_stop
proxy_log_final_counters
log "PASS"
