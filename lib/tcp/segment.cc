#include "tcp/segment.h"

#include <rte_mbuf.h>

#include <span>

#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/tcp_header.h"

namespace ferry::tcp {
namespace {

using net::TcpFlags;

// The TCP checksum (RFC 9293 §3.1, "Checksum"): the pseudo-header, then `head`, then every
// byte of the mbufs from `rest` on. Over a received segment with its checksum in place the
// result is 0.
uint16_t TcpChecksum(net::Ipv4Address source, net::Ipv4Address destination, uint32_t l4_length,
                     std::span<const uint8_t> head, const rte_mbuf* rest) {
  net::InternetChecksum sum;
  sum.AddU32(source.value);
  sum.AddU32(destination.value);
  sum.AddU16(net::IpProtocol::kTcp);
  sum.AddU16(static_cast<uint16_t>(l4_length));
  sum.Add(head);
  for (const rte_mbuf* seg = rest; seg != nullptr; seg = seg->next) {
    sum.Add({rte_pktmbuf_mtod(seg, const uint8_t*), rte_pktmbuf_data_len(seg)});
  }
  return sum.Finish();
}

// Flag combinations no conforming sender produces. RFC 9293 §3.10.7 discards every segment
// that has none of SYN, ACK and RST in every state (LISTEN: "must have an ACK and thus would
// be discarded"; SYN-SENT: "if neither of the SYN or RST bits is set then drop"; synchronized
// states: "if the ACK bit is off drop the segment"), so they are dropped here, once. SYN with
// FIN or RST is a scanner's probe, not a connection attempt; Linux drops both as well.
bool FlagsImpossible(uint8_t flags) {
  const bool syn = flags & TcpFlags::kSyn;
  if (syn && (flags & (TcpFlags::kFin | TcpFlags::kRst))) return true;
  return !(flags & (TcpFlags::kSyn | TcpFlags::kAck | TcpFlags::kRst));
}

}  // namespace

SegmentError ParseSegment(rte_mbuf* m, net::Ipv4Address source, net::Ipv4Address destination,
                          Segment& out) {
  const uint32_t length = rte_pktmbuf_pkt_len(m);
  // The header is viewed in the first mbuf: ports deliver single-segment frames (the host
  // refuses scattered ones), and segments built here keep the header in one mbuf.
  net::TcpHeaderView tcp;
  switch (net::TcpHeaderView::Parse({rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)},
                                    tcp)) {
    case net::ParseError::kOk:
      break;
    case net::ParseError::kBadDataOffset:
      return SegmentError::kBadDataOffset;
    default:
      return SegmentError::kTruncated;
  }
  const uint64_t csum = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (csum == RTE_MBUF_F_RX_L4_CKSUM_BAD) return SegmentError::kBadChecksum;
  if (csum == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN &&
      TcpChecksum(source, destination, length,
                  {rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m)}, m->next) != 0) {
    return SegmentError::kBadChecksum;
  }
  if (FlagsImpossible(tcp.flags())) return SegmentError::kBadFlags;
  Segment s;
  if (ParseOptions(tcp.options(), tcp.syn(), s.options) != OptionsError::kOk) {
    return SegmentError::kBadOptions;
  }
  s.source_port = tcp.source_port();
  s.destination_port = tcp.destination_port();
  s.seq = Seq(tcp.seq_number());
  s.ack = Seq(tcp.ack_number());
  s.flags = tcp.flags();
  s.window = tcp.window();
  s.payload_length = length - static_cast<uint32_t>(tcp.data_offset());
  rte_pktmbuf_adj(m, static_cast<uint16_t>(tcp.data_offset()));
  s.payload = m;
  out = s;
  return SegmentError::kOk;
}

rte_mbuf* BuildSegment(const OutSegment& segment, net::Ipv4Address source,
                       net::Ipv4Address destination, rte_mempool* header_pool,
                       bool tcp_checksum_offload) {
  rte_mbuf* header = rte_pktmbuf_alloc(header_pool);
  if (header == nullptr) {
    if (segment.payload != nullptr) rte_pktmbuf_free(segment.payload);
    return nullptr;
  }
  const bool syn = segment.flags & TcpFlags::kSyn;
  std::array<uint8_t, kMaxOptionsLength> options{};
  const size_t options_length = EmitOptions(segment.options, syn, options);
  net::TcpHeaderRepr tcp;
  tcp.source_port = segment.source_port;
  tcp.destination_port = segment.destination_port;
  tcp.seq_number = segment.seq.raw();
  tcp.ack_number = segment.ack.raw();
  tcp.flags = segment.flags;
  tcp.window = segment.window;
  tcp.options = std::span<const uint8_t>(options.data(), options_length);
  const size_t tcp_length = tcp.length();
  const size_t header_length = net::Ipv4Repr::kLength + tcp_length;
  uint8_t* bytes = reinterpret_cast<uint8_t*>(
      rte_pktmbuf_append(header, static_cast<uint16_t>(header_length)));
  net::Ipv4Repr ip;
  ip.source = source;
  ip.destination = destination;
  ip.protocol = net::IpProtocol::kTcp;
  ip.payload_length = static_cast<uint16_t>(tcp_length + segment.payload_length);
  ip.Emit({bytes, net::Ipv4Repr::kLength}, /*fill_checksum=*/false);  // the host fills it
  std::span<uint8_t> tcp_bytes(bytes + net::Ipv4Repr::kLength, tcp_length);
  tcp.Emit(tcp_bytes);
  if (segment.payload != nullptr && rte_pktmbuf_chain(header, segment.payload) != 0) {
    rte_pktmbuf_free(header);
    rte_pktmbuf_free(segment.payload);
    return nullptr;
  }
  const uint16_t l4_length = static_cast<uint16_t>(tcp_length + segment.payload_length);
  if (tcp_checksum_offload) {
    header->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
    header->l3_len = net::Ipv4Repr::kLength;
    header->l4_len = tcp_length;
    net::StoreBe16(&tcp_bytes[16],
                   net::PseudoHeaderSum(source, destination, net::IpProtocol::kTcp, l4_length));
  } else {
    net::StoreBe16(&tcp_bytes[16],
                   TcpChecksum(source, destination, l4_length, tcp_bytes, header->next));
  }
  return header;
}

}  // namespace ferry::tcp
