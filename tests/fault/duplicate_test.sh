#!/usr/bin/env bash
# Duplication: the impairer sends 5% of Linux's packets to ferry twice (SYNs, ACKs and FINs
# included). Echo of 30 MB must be byte-exact (ferry must not deliver a duplicate's bytes twice:
# the sha256 would differ), every connection must close, and the table must drain.
source "$(dirname "$0")/fault_lib.sh"

MB=$((1 << 20))
SIZE_MB=${FAULT_DUPLICATE_MB:-30}
fault_setup

impairer_start 21 out --seed=201 --duplicate=0.05
linux_before=$(tcp_peer_nstat)
tcp_snapshot BEFORE
tcp_load echo 7 --bytes $((SIZE_MB * MB)) --seed 61 --timeout 90 --stall 20
log "and 50 short connections (duplicated SYNs, ACKs and FINs)"
tcp_load echo 7 --bytes 65536 --conns 50 --chunk 16384 --seed 62 --timeout 60 --stall 20
tcp_snapshot AFTER
linux_after=$(tcp_peer_nstat)
impairer_stop 21
log "ferry: $(tcp_delta_line "$BEFORE" "$AFTER")"
log "linux before: $linux_before"
log "linux after:  $linux_after"

tcp_expect_within_peer_window "$linux_before" "$linux_after"
dups=$(impairer_stat 21 duplicated)
[ "$dups" -gt 0 ] || fail "nothing was duplicated"
# Every duplicate is a segment ferry has seen already: it arrives, is counted in, and its bytes
# are not delivered again (the sha256 above). ferry saw at least the copies on top of the rest.
in=$(tcp_delta tcp.segments_in "$BEFORE" "$AFTER")
[ "$in" -gt "$dups" ] || fail "ferry counted $in segments in, fewer than the $dups duplicates alone"

tcp_expect_baseline
ferry_stop
tcp_log_final_counters
log "PASS"
