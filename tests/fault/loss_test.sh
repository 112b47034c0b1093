#!/usr/bin/env bash
# Loss: 2% of the TCP packets dropped at random in each direction by iptables statistic rules in
# the Linux peer's namespace, 20 MB each way through ferry's echo service. The transfer must be
# byte-exact and finish in bounded time (no stall), and ferry must have recovered from the
# losses of its own segments (dropped in INPUT): retransmissions, and SACK-based (RFC 6675) or
# NewReno (RFC 6582) recoveries.
#
# Note: a DROP in OUTPUT is reported to Linux's TCP as a local send error (EPERM) for a whole
# (GSO-sized) skb, which it retries, so few of those drops become loss on the wire; the INPUT
# rule is what makes ferry see real loss of its segments. Real loss of Linux's segments is in
# corrupt_test.sh's mixed case (NFQUEUE drops: a queued packet counts as sent).
source "$(dirname "$0")/fault_lib.sh"

MB=$((1 << 20))
SIZE_MB=${FAULT_LOSS_MB:-20}
fault_setup

log "2% loss each way (iptables statistic), echo $SIZE_MB MB"
in_ns iptables -A INPUT -p tcp -s "$FERRY_ADDR" -m statistic --mode random --probability 0.02 -j DROP
in_ns iptables -A OUTPUT -p tcp -d "$FERRY_ADDR" -m statistic --mode random --probability 0.02 -j DROP
linux_before=$(tcp_peer_nstat)
tcp_snapshot BEFORE
tcp_load echo 7 --bytes $((SIZE_MB * MB)) --seed 41 --timeout 90 --stall 20
tcp_snapshot AFTER
linux_after=$(tcp_peer_nstat)
drops=$(in_ns iptables -nvxL INPUT | awk '$3 == "DROP" { s += $1 } END { print s + 0 }')
drops_out=$(in_ns iptables -nvxL OUTPUT | awk '$3 == "DROP" { s += $1 } END { print s + 0 }')
in_ns iptables -F INPUT
in_ns iptables -F OUTPUT
log "echo under loss: $(tcp_result mb_per_s) MB/s; iptables dropped $drops of ferry's packets, $drops_out of Linux's"
log "ferry: $(tcp_delta_line "$BEFORE" "$AFTER")"
log "linux before: $linux_before"
log "linux after:  $linux_after"

[ "$drops" -gt 0 ] || fail "the INPUT rule dropped nothing: no loss was applied"
tcp_expect_within_peer_window "$linux_before" "$linux_after"
expect_growth tcp.retransmitted_segments "$BEFORE" "$AFTER"
recoveries=$(($(tcp_delta tcp.sack_recoveries "$BEFORE" "$AFTER") + $(tcp_delta tcp.fast_recoveries "$BEFORE" "$AFTER")))
[ "$recoveries" -gt 0 ] || fail "ferry lost $drops segments but entered neither SACK nor fast recovery"
log "ferry retransmitted $(tcp_delta tcp.retransmitted_segments "$BEFORE" "$AFTER") segments in $recoveries recoveries (sack $(tcp_delta tcp.sack_recoveries "$BEFORE" "$AFTER")), $(tcp_delta tcp.rto_expiries "$BEFORE" "$AFTER") RTOs"

tcp_expect_baseline
ferry_stop
tcp_log_final_counters
log "PASS"
