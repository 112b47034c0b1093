#include "tcp/stack.h"

#include <rte_mbuf.h>

#include "net/tcp_header.h"

namespace ferry::tcp {

using net::TcpFlags;

TcpStack::TcpStack(rte_mempool* header_pool, net::Ipv4Output& output, TcpCounters& counters)
    : header_pool_(header_pool), output_(output), counters_(counters) {}

void TcpStack::Input(rte_mbuf* packet, net::Ipv4Address source, net::Ipv4Address destination,
                     base::Instant now) {
  Segment segment;
  const SegmentError error = ParseSegment(packet, source, destination, segment);
  if (error != SegmentError::kOk) {
    counters_.Add(DropCounter(error));
    rte_pktmbuf_free(packet);
    return;
  }
  counters_.Add(TcpCounter::kSegmentsIn);
  counters_.Add(TcpCounter::kBytesIn, segment.payload_length);
  // No listener and no connection yet: the CLOSED rules of RFC 9293 §3.10.7.1. "An incoming
  // segment containing a RST is discarded. An incoming segment not containing a RST causes a
  // RST to be sent in response."
  counters_.Add(TcpCounter::kDropNoConnection);
  if (!segment.rst()) SendResetFor(segment, destination, source, now);
  rte_pktmbuf_free(segment.payload);
}

void TcpStack::SendResetFor(const Segment& segment, net::Ipv4Address local,
                            net::Ipv4Address remote, base::Instant now) {
  OutSegment rst;
  rst.source_port = segment.destination_port;
  rst.destination_port = segment.source_port;
  if (segment.ack_flag()) {
    // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    rst.seq = segment.ack;
    rst.flags = TcpFlags::kRst;
  } else {
    // "If the ACK bit is off, sequence number zero is used,
    //  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
    rst.seq = Seq(0);
    rst.ack = segment.seq + segment.length();
    rst.flags = TcpFlags::kRst | TcpFlags::kAck;
  }
  rte_mbuf* packet = BuildSegment(rst, local, remote, header_pool_, /*tcp_checksum_offload=*/false);
  if (packet == nullptr) {
    counters_.Add(TcpCounter::kDropNoMbuf);
    return;
  }
  counters_.Add(TcpCounter::kSegmentsOut);
  counters_.Add(TcpCounter::kResetsOut);
  output_.SendIpv4(packet, now);
}

}  // namespace ferry::tcp
