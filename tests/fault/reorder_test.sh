#!/usr/bin/env bash
# Reordering, both ways: the impairer holds 5% of the packets in each direction and lets them go
# after the next two have passed (or 5 ms). Echo of 30 MB must be byte-exact; ferry must have
# queued out-of-order segments (RFC 9293 §3.10.7.4: kept and acknowledged, not dropped), and
# the impairer must have reordered packets both ways.
source "$(dirname "$0")/fault_lib.sh"

MB=$((1 << 20))
SIZE_MB=${FAULT_REORDER_MB:-30}
fault_setup

impairer_start 11 out --seed=101 --reorder=0.05 --reorder_gap=2 --reorder_max_ms=5
impairer_start 12 in --seed=102 --reorder=0.05 --reorder_gap=2 --reorder_max_ms=5
linux_before=$(tcp_peer_nstat)
tcp_snapshot BEFORE
tcp_load echo 7 --bytes $((SIZE_MB * MB)) --seed 51 --timeout 90 --stall 20
tcp_snapshot AFTER
linux_after=$(tcp_peer_nstat)
impairer_stop 11
impairer_stop 12
log "echo with reordering: $(tcp_result mb_per_s) MB/s"
log "ferry: $(tcp_delta_line "$BEFORE" "$AFTER")"
log "linux before: $linux_before"
log "linux after:  $linux_after"

[ "$(impairer_stat 11 reordered)" -gt 0 ] || fail "nothing was reordered towards ferry"
[ "$(impairer_stat 12 reordered)" -gt 0 ] || fail "nothing was reordered towards Linux"
tcp_expect_within_peer_window "$linux_before" "$linux_after"
expect_growth tcp.out_of_order_segments "$BEFORE" "$AFTER"

tcp_expect_baseline
ferry_stop
tcp_log_final_counters
log "PASS"
