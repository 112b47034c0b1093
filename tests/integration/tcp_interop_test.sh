#!/usr/bin/env bash
# ferry's TCP stack against Linux's, end to end: the real ferryd (one worker on lcore 1) serves
# echo (RFC 862), discard (RFC 863) and chargen (RFC 864) on 198.18.0.1; Linux clients in a
# namespace (on CPU 0) check every byte:
#   a. 200 MB each way through echo (sha256 of what was sent = sha256 of what came back),
#      200 MB into discard (ferry counts every byte, the connection closes cleanly), 100 MB
#      from chargen checked byte for byte against RFC 864;
#   b. echo again with the Linux client's SACK, timestamps and window scaling each off in turn
#      (RFC 2018 §2, RFC 7323 §§1.3, 3.2: an option the SYN did not offer must not come back in
#      the SYN-ACK; the pcap of each handshake shows it);
#   c. 200 concurrent echo connections of 256 KB each, every one sha256-checked.
# After each phase: Linux must not have dropped any of ferry's segments as beyond the window it
# advertised (TcpExtBeyondWindow), ferry's echo service must not have dropped any byte
# (diag.echo_dropped_bytes), and every connection must leave ferry's table and every mbuf come
# back. Throughput (MB/s) and both sides' retransmission counters are logged per phase.
# Sizes can be lowered for a quick look: TCP_INTEROP_ECHO_MB, _OPTION_MB, _PARALLEL.
source "$(dirname "$0")/tcp_lib.sh"

MB=$((1 << 20))
ECHO_MB=${TCP_INTEROP_ECHO_MB:-200}
OPTION_MB=${TCP_INTEROP_OPTION_MB:-50}
PARALLEL=${TCP_INTEROP_PARALLEL:-200}

ferry_topology_one_arm
tcp_steer_peer_rx
tcp_write_config "$FERRY_WORK/ferryd.conf"
ferry_start "$FERRY_WORK/ferryd.conf"
tcp_capture_start tcp_interop
tcp_take_baseline
SUMMARY=()

# Counters before a phase: ferry's (BEFORE) and Linux's (LINUX_BEFORE).
phase_start() {
  tcp_snapshot BEFORE
  LINUX_BEFORE=$(tcp_peer_nstat)
}

# Logs the phase's rate and counter deltas, checks that ferry kept inside Linux's window and
# that the table drains. $1: phase name.
phase_done() {
  local after linux_after
  tcp_snapshot after
  linux_after=$(tcp_peer_nstat)
  log "$1: $(tcp_result mb_per_s) MB/s; ferry: $(tcp_delta_line "$BEFORE" "$after")"
  log "  linux: retransmitted $(($(nstat_pick TcpRetransSegs "$linux_after") - $(nstat_pick TcpRetransSegs "$LINUX_BEFORE"))) segments; now $linux_after"
  SUMMARY+=("$1: $(tcp_result mb_per_s) MB/s, retransmitted $(tcp_delta tcp.retransmitted_segments "$BEFORE" "$after") segments, fast/sack recoveries $(tcp_delta tcp.fast_recoveries "$BEFORE" "$after")/$(tcp_delta tcp.sack_recoveries "$BEFORE" "$after"), rto $(tcp_delta tcp.rto_expiries "$BEFORE" "$after")")
  AFTER=$after
  tcp_expect_within_peer_window "$LINUX_BEFORE" "$linux_after"
  local dropped
  dropped=$(ferry_counter diag.echo_dropped_bytes || echo 0)
  [ "$dropped" = 0 ] || fail "$1: ferry's echo service dropped $dropped bytes (diag.echo_dropped_bytes)"
  tcp_expect_baseline
}

# ---- a. bulk: echo, discard, chargen -------------------------------------------------------
log "a1. echo: $ECHO_MB MB each way on one connection, sha256 both ways"
phase_start
tcp_load echo 7 --bytes $((ECHO_MB * MB)) --seed 11 --timeout 100
phase_done "echo ${ECHO_MB} MB"
[ "$(tcp_delta tcp.payload_bytes_in "$BEFORE" "$AFTER")" -ge $((ECHO_MB * MB)) ] \
  || fail "ferry counted fewer payload bytes in than the client sent"
[ "$(tcp_delta tcp.payload_bytes_out "$BEFORE" "$AFTER")" -ge $((ECHO_MB * MB)) ] \
  || fail "ferry counted fewer payload bytes out than the client got back"

log "a2. discard: $ECHO_MB MB in, then FIN both ways"
phase_start
tcp_load discard 9 --bytes $((ECHO_MB * MB)) --seed 12 --timeout 60
phase_done "discard ${ECHO_MB} MB"
got=$(tcp_delta tcp.payload_bytes_in "$BEFORE" "$AFTER")
[ "$got" -ge $((ECHO_MB * MB)) ] || fail "discard: ferry counted $got payload bytes in, sent $((ECHO_MB * MB))"
[ "$(tcp_delta tcp.resets_out "$BEFORE" "$AFTER")" = 0 ] || fail "discard: ferry sent a RST"

log "a3. chargen: 100 MB read and checked against RFC 864"
phase_start
tcp_load chargen 19 --bytes $((100 * MB)) --timeout 60
phase_done "chargen 100 MB"

# ---- b. the Linux client without SACK, timestamps or window scaling ------------------------
HANDSHAKE_TCPDUMP=
stop_handshake_tcpdump() { [ -z "$HANDSHAKE_TCPDUMP" ] || kill -TERM "$HANDSHAKE_TCPDUMP" 2>/dev/null; }
TCP_CLEANUP_HOOKS+=(stop_handshake_tcpdump)
# $1: the sysctl; $2: the option as tcpdump -v prints it, absent from the SYN and the SYN-ACK.
option_off() {
  local sysctl=$1 pattern=$2 pcap=$FERRY_WORK/$1.pcap tdlog=$FERRY_WORK/$1.tcpdump.log synack syn
  log "b. echo $OPTION_MB MB with the client's $sysctl=0"
  tcp_peer_sysctl "$sysctl" 0
  ip netns exec "$FERRY_NS" timeout 120 tcpdump -i "$FERRY_PEER_IF" -U -n -c 2 -w "$pcap" \
    'tcp port 7 and tcp[tcpflags] & tcp-syn != 0' >"$tdlog" 2>&1 &
  HANDSHAKE_TCPDUMP=$!
  wait_for 10 grep -q "listening on" "$tdlog" || fail "tcpdump did not start: $(cat "$tdlog")"
  phase_start
  tcp_load echo 7 --bytes $((OPTION_MB * MB)) --seed 21 --timeout 60
  wait "$HANDSHAKE_TCPDUMP" || fail "tcpdump did not see the SYN and SYN-ACK: $(cat "$tdlog")"
  HANDSHAKE_TCPDUMP=
  tcp_peer_sysctl "$sysctl" 1
  # tcpdump -v puts a TCP segment's flags and options on one line.
  syn=$(tcpdump -r "$pcap" -n -v 2>/dev/null | grep 'Flags \[S\]' || true)
  synack=$(tcpdump -r "$pcap" -n -v 2>/dev/null | grep 'Flags \[S\.\]' || true)
  log "  SYN:     $(sed 's/^ *//; s/, cksum [^,]*//' <<<"$syn")"
  log "  SYN-ACK: $(sed 's/^ *//; s/, cksum [^,]*//' <<<"$synack")"
  [ -n "$synack" ] || fail "no SYN-ACK in the capture"
  if grep -q "$pattern" <<<"$syn"; then fail "the client's SYN still has $pattern: sysctl had no effect"; fi
  if grep -q "$pattern" <<<"$synack"; then fail "ferry's SYN-ACK has $pattern though the SYN did not offer it"; fi
  phase_done "echo ${OPTION_MB} MB, $sysctl=0"
}
option_off tcp_sack sackOK
option_off tcp_timestamps 'TS val'
option_off tcp_window_scaling wscale

# ---- c. many connections at once ------------------------------------------------------------
log "c. $PARALLEL concurrent echo connections x 256 KB, each sha256-checked"
phase_start
tcp_load echo 7 --bytes $((256 * 1024)) --conns "$PARALLEL" --chunk 16384 --seed 31 --timeout 60
phase_done "echo ${PARALLEL} x 256 KB"
opens=$(tcp_delta tcp.passive_opens "$BEFORE" "$AFTER")
[ "$opens" -ge "$PARALLEL" ] || fail "passive_opens grew by $opens, want $PARALLEL"

ferry_stop
log "summary (ferry's counters are per phase):"
for line in "${SUMMARY[@]}"; do log "  $line"; done
tcp_log_final_counters
log "PASS"
