#!/usr/bin/env bash
# A worker whose pool is far smaller than the windows its connections offer: 16 echo
# connections of 4 MB at once against 2047 mbufs, where each connection may offer 1 MiB and
# hold as much again in its send queue. Windows once offered cannot be taken back, so the pool
# runs down to its reserve; ferry must then refuse arriving text (counted) while still taking
# ACKs, so queued data drains and every transfer completes byte-exact with no stall. Without
# the reserve the pool empties, no ACK can be received, and the clients' stall limit fails
# the test.
source "$(dirname "$0")/fault_lib.sh"

MB=$((1 << 20))
CONNS=${FAULT_POOL_CONNS:-16}
SIZE_MB=${FAULT_POOL_MB:-4}
MBUFS=${FAULT_POOL_MBUFS:-2047}

ferry_topology_one_arm
tcp_steer_peer_rx
tcp_write_config "$FERRY_WORK/ferryd.conf" "$MBUFS"
ferry_start "$FERRY_WORK/ferryd.conf"
tcp_take_baseline

tcp_snapshot BEFORE
tcp_load echo 7 --bytes $((SIZE_MB * MB)) --conns "$CONNS" --seed 61 --timeout 120 --stall 20
tcp_snapshot AFTER
log "echo, $CONNS connections x $SIZE_MB MB on $MBUFS mbufs: $(tcp_result mb_per_s) MB/s"
log "ferry: $(tcp_delta_line "$BEFORE" "$AFTER")"

# The test means something only if the pool did run down to its reserve.
expect_growth tcp.text_dropped_memory "$BEFORE" "$AFTER"

tcp_expect_baseline
ferry_stop
tcp_log_final_counters
log "PASS"
