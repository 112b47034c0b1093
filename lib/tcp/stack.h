// One worker's TCP: every TCP packet for the appliance's addresses comes here from the host.
//
// This is the stack's entry point as it grows (docs/tcp.md). Today it checks each segment
// (segment.h), counts it, and answers as RFC 9293 §3.10.7.1 requires of a port with no
// connection and no listener ("CLOSED"): a RST for anything but a RST. Listeners, the
// connection table and TCBs plug in in front of that fallback.
#pragma once

#include <cstdint>

#include "base/clock.h"
#include "net/host.h"
#include "tcp/segment.h"
#include "tcp/tcp_counters.h"

struct rte_mempool;

namespace ferry::tcp {

class TcpStack final : public net::TransportHandler {
 public:
  // `header_pool` supplies the mbufs that carry headers of segments sent from here; `output`
  // sends the resulting IPv4 packets (the worker's host).
  TcpStack(rte_mempool* header_pool, net::Ipv4Output& output, TcpCounters& counters);

  // net::TransportHandler: consumes the packet (starts at the TCP header).
  void Input(rte_mbuf* packet, net::Ipv4Address source, net::Ipv4Address destination,
             base::Instant now) override;

 private:
  // RFC 9293 §3.10.7.1: the reset answering `segment`, sent from `local` to `remote`.
  void SendResetFor(const Segment& segment, net::Ipv4Address local, net::Ipv4Address remote,
                    base::Instant now);

  rte_mempool* header_pool_;
  net::Ipv4Output& output_;
  TcpCounters& counters_;
};

}  // namespace ferry::tcp
