// lib/net's per-worker counters, declared once (base/counters.h). Every frame that net drops
// is counted under exactly one drop_* reason; operators read them with the final counters at
// shutdown (and, later, through ferryctl stats).
#pragma once

#include "base/counters.h"

namespace ferry::net {

#define FERRY_NET_COUNTERS(X)                                                      \
  X(kRxFrames, "rx_frames")                                                        \
  X(kRxBytes, "rx_bytes")                                                          \
  X(kTxFrames, "tx_frames")                                                        \
  X(kTxBytes, "tx_bytes")                                                          \
  X(kArpRequestsIn, "arp_requests_in")                                             \
  X(kArpRepliesIn, "arp_replies_in")                                               \
  X(kArpRequestsOut, "arp_requests_out")                                           \
  X(kArpRepliesOut, "arp_replies_out")                                             \
  X(kArpGratuitousOut, "arp_gratuitous_out")                                       \
  X(kArpEntriesLearned, "arp_entries_learned")                                     \
  X(kArpEntriesExpired, "arp_entries_expired")                                     \
  X(kIcmpEchoRequestsIn, "icmp_echo_requests_in")                                  \
  X(kIcmpEchoRepliesOut, "icmp_echo_replies_out")                                  \
  X(kIcmpFragNeededIn, "icmp_frag_needed_in")     /* handed to TCP, RFC 1191 */    \
  X(kIpv4Delivered, "ipv4_delivered")                                              \
  /* Drops: one reason per frame. */                                               \
  X(kDropRxScattered, "drop_rx_scattered")    \
  X(kDropEthTruncated, "drop_eth_truncated")                                     \
  X(kDropEthNotForUs, "drop_eth_not_for_us")                                       \
  X(kDropEthUnknownType, "drop_eth_unknown_ethertype")                             \
  X(kDropVlanTruncated, "drop_vlan_truncated")                                     \
  X(kDropVlanUnknown, "drop_vlan_unknown")                                         \
  X(kDropArpTruncated, "drop_arp_truncated")                                       \
  X(kDropArpUnsupported, "drop_arp_unsupported_format")                            \
  X(kDropArpBadOperation, "drop_arp_bad_operation")                                \
  X(kDropArpBadSender, "drop_arp_bad_sender")                                      \
  X(kDropArpNotForUs, "drop_arp_not_for_us")                                       \
  X(kDropIpv4Truncated, "drop_ipv4_truncated")                                     \
  X(kDropIpv4BadVersion, "drop_ipv4_bad_version")                                  \
  X(kDropIpv4BadHeaderLength, "drop_ipv4_bad_header_length")                       \
  X(kDropIpv4BadTotalLength, "drop_ipv4_bad_total_length")                         \
  X(kDropIpv4BadChecksum, "drop_ipv4_bad_checksum")                                \
  X(kDropIpv4TtlZero, "drop_ipv4_ttl_zero")                                        \
  X(kDropIpv4Fragment, "drop_ipv4_fragment")                                       \
  X(kDropIpv4BadSource, "drop_ipv4_bad_source")                                    \
  X(kDropIpv4NotForUs, "drop_ipv4_not_for_us")                                     \
  X(kDropIpv4UnhandledProtocol, "drop_ipv4_unhandled_protocol")                        \
  X(kDropIcmpTruncated, "drop_icmp_truncated")                                     \
  X(kDropIcmpBadChecksum, "drop_icmp_bad_checksum")                                \
  X(kDropIcmpUnhandledType, "drop_icmp_unhandled_type")                            \
  X(kDropIcmpFragNeededBadQuote, "drop_icmp_frag_needed_bad_quote")                \
  X(kDropIcmpFragNeededNotOurs, "drop_icmp_frag_needed_not_ours")                  \
  X(kDropIcmpFragNeededNotTcp, "drop_icmp_frag_needed_not_tcp")                    \
  X(kDropIcmpFragNeededBadMtu, "drop_icmp_frag_needed_bad_mtu")                    \
  X(kDropArpQueueFull, "drop_arp_queue_full")                                      \
  X(kDropArpTableFull, "drop_arp_table_full")                                      \
  X(kDropArpUnresolved, "drop_arp_unresolved")                                     \
  X(kDropNoRoute, "drop_no_route")                                                 \
  X(kDropNoMbuf, "drop_no_mbuf")                                                   \
  X(kDropTxRingFull, "drop_tx_ring_full")

FERRY_DECLARE_COUNTERS(NetCounter, FERRY_NET_COUNTERS)

using NetCounters = base::CounterSet<NetCounter>;

}  // namespace ferry::net
