// lib/tcp's per-worker counters, declared once (base/counters.h). Segments refused before any
// connection saw them are counted under one drop_* reason each; the gauges (connections by
// state, mbufs held) are kept current by the stack as connections change state.
#pragma once

#include "base/counters.h"

namespace ferry::tcp {

#define FERRY_TCP_COUNTERS(X)                                                   \
  X(kSegmentsIn, "segments_in")                                                 \
  X(kSegmentsOut, "segments_out")                                               \
  X(kBytesIn, "payload_bytes_in")                                               \
  X(kBytesOut, "payload_bytes_out")                                             \
  X(kRetransmits, "retransmitted_segments")                                     \
  X(kRetransmittedBytes, "retransmitted_bytes")                                 \
  X(kFastRecoveries, "fast_recoveries")                                         \
  X(kSackRecoveries, "sack_recoveries")                                         \
  X(kRtoExpiries, "rto_expiries")                                               \
  X(kChallengeAcks, "challenge_acks")           /* RFC 5961 */                  \
  X(kChallengeAcksLimited, "challenge_acks_rate_limited")                       \
  X(kCookiesSent, "syn_cookies_sent")                                           \
  X(kCookiesAccepted, "syn_cookies_accepted")                                   \
  X(kCookiesRejected, "syn_cookies_rejected")                                   \
  X(kActiveOpens, "active_opens")                                               \
  X(kPassiveOpens, "passive_opens")                                             \
  X(kResetsIn, "resets_in")                                                     \
  X(kResetsOut, "resets_out")                                                   \
  X(kUserTimeouts, "user_timeouts")             /* retry limit reached */       \
  X(kKeepaliveTimeouts, "keepalive_timeouts")                                   \
  X(kPersistProbes, "persist_probes")                                           \
  X(kOutOfOrderSegments, "out_of_order_segments")                               \
  X(kReassemblyDrops, "reassembly_drops")       /* queue bounds */              \
  X(kTextDroppedMemory, "text_dropped_memory")  /* pool down to its reserve */  \
  X(kPmtuReductions, "pmtu_mss_reductions")     /* ICMP frag needed */          \
  /* Drops before a connection: one reason per segment. */                      \
  X(kDropTruncated, "drop_truncated")                                           \
  X(kDropBadDataOffset, "drop_bad_data_offset")                                 \
  X(kDropBadChecksum, "drop_bad_checksum")                                      \
  X(kDropBadOptions, "drop_bad_options")                                        \
  X(kDropBadFlags, "drop_bad_flags")                                            \
  X(kDropNoConnection, "drop_no_connection")    /* answered with RST */         \
  X(kDropBacklogFull, "drop_syn_backlog_full")  /* and cookies off */           \
  X(kDropTableFull, "drop_connection_table_full")                               \
  X(kDropPaws, "drop_paws")                     /* RFC 7323 §5 */               \
  X(kDropNoTimestamp, "drop_missing_timestamp") /* RFC 7323 §3.2 */             \
  X(kDropOutOfWindow, "drop_out_of_window")                                     \
  X(kDropNoMbuf, "drop_no_mbuf")                                                \
  /* Gauges. */                                                                 \
  X(kConnectionsSynSent, "connections_syn_sent")                                \
  X(kConnectionsSynReceived, "connections_syn_received")                        \
  X(kConnectionsEstablished, "connections_established")                         \
  X(kConnectionsClosing, "connections_closing")  /* FIN-WAIT-1/2, CLOSING, CLOSE-WAIT, LAST-ACK */ \
  X(kConnectionsTimeWait, "connections_time_wait")                              \
  X(kMbufsHeld, "mbufs_held")                   /* send and reassembly queues */

FERRY_DECLARE_COUNTERS(TcpCounter, FERRY_TCP_COUNTERS)

using TcpCounters = base::CounterSet<TcpCounter>;

}  // namespace ferry::tcp
