#!/usr/bin/env bash
# Corruption: the impairer flips one TCP payload byte in 2% of Linux's data packets and leaves
# the checksum as it was. ferry must drop every one of them as a bad checksum (a one-byte
# change always changes the Internet checksum) and never deliver it: echo of 30 MB stays
# byte-exact because Linux retransmits what ferry dropped.
#
# Then everything at once, both ways (the mixed case): real loss (NFQUEUE drops, which Linux's
# TCP cannot see locally), reordering, duplication and corruption, over 20 connections.
source "$(dirname "$0")/fault_lib.sh"

MB=$((1 << 20))
SIZE_MB=${FAULT_CORRUPT_MB:-30}
fault_setup

log "corruption: 2% of Linux's data packets"
impairer_start 31 out --seed=301 --corrupt=0.02
linux_before=$(tcp_peer_nstat)
tcp_snapshot BEFORE
tcp_load echo 7 --bytes $((SIZE_MB * MB)) --seed 71 --timeout 90 --stall 20
tcp_snapshot AFTER
linux_after=$(tcp_peer_nstat)
impairer_stop 31
log "echo with corruption: $(tcp_result mb_per_s) MB/s"
log "ferry: $(tcp_delta_line "$BEFORE" "$AFTER")"
log "linux before: $linux_before"
log "linux after:  $linux_after"
corrupted=$(impairer_stat 31 corrupted)
[ "$corrupted" -gt 0 ] || fail "nothing was corrupted"
bad=$(tcp_delta tcp.drop_bad_checksum "$BEFORE" "$AFTER")
[ "$bad" -ge "$corrupted" ] || fail "ferry dropped $bad segments as bad checksum; $corrupted were corrupted"
tcp_expect_within_peer_window "$linux_before" "$linux_after"
expect_growth tcp.out_of_order_segments "$BEFORE" "$AFTER"
retrans=$(( $(nstat_pick TcpRetransSegs "$linux_after") - $(nstat_pick TcpRetransSegs "$linux_before") ))
[ "$retrans" -gt 0 ] || fail "Linux retransmitted nothing though ferry dropped $bad segments"
tcp_expect_baseline

log "mixed: loss 1% both ways, reordering 3% both ways, duplication 2% and corruption 1% towards ferry; 20 connections x 2 MB"
impairer_start 32 out --seed=302 --drop=0.01 --reorder=0.03 --duplicate=0.02 --corrupt=0.01 --reorder_gap=2 --reorder_max_ms=5
impairer_start 33 in --seed=303 --drop=0.01 --reorder=0.03 --reorder_gap=2 --reorder_max_ms=5
linux_before=$(tcp_peer_nstat)
tcp_snapshot BEFORE
tcp_load echo 7 --bytes $((2 * MB)) --conns 20 --chunk 32768 --seed 72 --timeout 90 --stall 20
tcp_snapshot AFTER
linux_after=$(tcp_peer_nstat)
impairer_stop 32
impairer_stop 33
log "mixed: $(tcp_result mb_per_s) MB/s; ferry: $(tcp_delta_line "$BEFORE" "$AFTER")"
for s in dropped reordered duplicated corrupted; do
  [ "$(impairer_stat 32 "$s")" -gt 0 ] || fail "mixed: towards ferry, nothing was $s"
done
[ "$(impairer_stat 33 dropped)" -gt 0 ] || fail "mixed: towards Linux, nothing was dropped"
tcp_expect_within_peer_window "$linux_before" "$linux_after"
expect_growth tcp.retransmitted_segments "$BEFORE" "$AFTER"
expect_growth tcp.out_of_order_segments "$BEFORE" "$AFTER"
expect_growth tcp.drop_bad_checksum "$BEFORE" "$AFTER" "$(impairer_stat 32 corrupted)"

tcp_expect_baseline
ferry_stop
tcp_log_final_counters
log "PASS"
