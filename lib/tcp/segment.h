// TCP segments on the wire (RFC 9293 §3.1): checking and parsing a received segment into a
// Segment, and building an outgoing one (IPv4 and TCP headers in a header mbuf, the payload
// chained behind it by reference, never copied). The connection logic works on Segment and
// OutSegment only; this file is the one place that knows the byte layout.
#pragma once

#include <cstdint>

#include "net/address.h"
#include "tcp/options.h"
#include "tcp/seq.h"
#include "tcp/tcp_counters.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::tcp {

// A received segment after the checks. `payload` is the received mbuf (chain) advanced past
// the TCP header: it holds exactly payload_length bytes (possibly 0), and the caller owns it.
struct Segment {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  Seq seq;
  Seq ack;
  uint8_t flags = 0;   // net::TcpFlags bits
  uint16_t window = 0;  // as sent, not yet scaled
  TcpOptions options;
  rte_mbuf* payload = nullptr;
  uint32_t payload_length = 0;

  bool syn() const { return flags & 0x02; }
  bool fin() const { return flags & 0x01; }
  bool rst() const { return flags & 0x04; }
  bool ack_flag() const { return flags & 0x10; }
  // SEG.LEN (RFC 9293 §3.4): payload octets plus one each for SYN and FIN.
  uint32_t length() const { return payload_length + (syn() ? 1 : 0) + (fin() ? 1 : 0); }
};

// Why a received segment was refused before any connection saw it. Each is a counter.
enum class SegmentError : uint8_t {
  kOk,
  kTruncated,      // fewer than 20 bytes, or a header not in the first mbuf
  kBadDataOffset,  // data offset < 5 or past the segment
  kBadChecksum,    // RFC 9293 §3.1: a segment with a bad checksum is discarded
  kBadOptions,     // RFC 9293 §3.1 MUST-7: an illegal option length
  kBadFlags,       // SYN with FIN or RST, or none of SYN, ACK, RST (see segment.cc)
};

// The counter a refused segment is counted under.
constexpr TcpCounter DropCounter(SegmentError e) {
  switch (e) {
    case SegmentError::kTruncated: return TcpCounter::kDropTruncated;
    case SegmentError::kBadDataOffset: return TcpCounter::kDropBadDataOffset;
    case SegmentError::kBadChecksum: return TcpCounter::kDropBadChecksum;
    case SegmentError::kBadOptions: return TcpCounter::kDropBadOptions;
    case SegmentError::kBadFlags: return TcpCounter::kDropBadFlags;
    case SegmentError::kOk: break;
  }
  return TcpCounter::kCount;  // not a drop
}

// Checks and parses the segment in `m`, which starts at the TCP header (the IPv4 host removed
// the link and IP headers and any link padding). The checksum is verified in software unless
// the port already did (RTE_MBUF_F_RX_L4_CKSUM_GOOD or _NONE; _BAD is refused). On kOk, `m` is
// advanced past the header and becomes out.payload; on an error `m` is untouched and still
// the caller's.
SegmentError ParseSegment(rte_mbuf* m, net::Ipv4Address source, net::Ipv4Address destination,
                          Segment& out);

// What a connection wants sent. `payload` (may be null) is a chain of slices the segment takes
// ownership of; payload_length must equal its pkt_len.
struct OutSegment {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  Seq seq;
  Seq ack;
  uint8_t flags = 0;
  uint16_t window = 0;  // already scaled down by our window shift
  TcpOptions options;
  rte_mbuf* payload = nullptr;
  uint32_t payload_length = 0;
};

// Builds an IPv4 packet (20-byte IPv4 header, TCP header with options, payload chained) ready
// for net::Host::SendIpv4, which fills the IPv4 checksum. The TCP checksum is computed in
// software over the whole chain, or left to the NIC when `tcp_checksum_offload` (pseudo-header
// sum in the field, RTE_MBUF_F_TX_TCP_CKSUM, l3_len/l4_len set). Returns nullptr if no header
// mbuf could be had or the chain would exceed the segment limit; the payload is freed then
// (the connection still holds the data and will send it again).
rte_mbuf* BuildSegment(const OutSegment& segment, net::Ipv4Address source,
                       net::Ipv4Address destination, rte_mempool* header_pool,
                       bool tcp_checksum_offload);

}  // namespace ferry::tcp
