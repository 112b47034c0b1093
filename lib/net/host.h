// The appliance as an IPv4 host on its ports, one instance per worker: Ethernet and 802.1Q
// demultiplexing, ARP (RFC 826: answer for our addresses, learn, resolve next hops, announce
// with gratuitous ARP), IPv4 input validation (RFC 791, RFC 1122 §3.2.1), ICMP echo
// (RFC 792), ICMP "fragmentation needed" handed to TCP (RFC 1191) and the IPv4 output path (route, L2 header, ARP, checksum) that the TCP stack
// will send through. Every frame that comes in is consumed: delivered, answered, or dropped
// and counted under one reason. Nothing here allocates after Create() except mbufs.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "net/address.h"
#include "net/arp_cache.h"
#include "net/net_counters.h"
#include "net/routes.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::net {

struct InterfaceConfig {
  std::string name;
  MacAddress mac;
  uint16_t vlan = 0;  // 0: untagged
  uint16_t mtu = 1500;
  std::vector<Ipv4Prefix> addresses;
  std::vector<std::pair<Ipv4Address, MacAddress>> static_arp;
  bool tx_ipv4_checksum_offload = false;  // the port fills IPv4 header checksums
};

struct HostConfig {
  std::vector<InterfaceConfig> interfaces;
  std::vector<std::pair<Ipv4Prefix, Ipv4Address>> routes;  // prefix via next hop
  ArpCache::Options arp;
  uint32_t gratuitous_count = 3;
  base::Duration gratuitous_interval = std::chrono::seconds(1);
  bool announce = true;  // this worker sends the gratuitous ARPs (one worker per host does)
};

// Where transport protocols send: an IPv4 packet starting at the mbuf's data pointer, header
// complete but for its checksum. The host implements it; tests substitute their own.
class Ipv4Output {
 public:
  virtual ~Ipv4Output() = default;
  virtual void SendIpv4(rte_mbuf* packet, base::Instant now) = 0;
};

// A transport protocol above the host (TCP). Input takes a packet addressed to one of our
// addresses, positioned at the transport header with the IP header and link padding removed,
// and consumes it.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  virtual void Input(rte_mbuf* packet, Ipv4Address source, Ipv4Address destination,
                     base::Instant now) = 0;
  // ICMP destination unreachable, fragmentation needed (RFC 1191 §4): a router could not
  // forward a datagram we sent from `local`:`local_port` to `remote`:`remote_port` because
  // its next hop's MTU is `next_hop_mtu` (68 or more, and below the quoted datagram's
  // length). `quoted_seq` is the sequence number of the quoted segment, for the transport's
  // own check that the message is about data in flight (RFC 5927 §4.1). The host has checked
  // only that the quote is well-formed and that `local` is ours. The default ignores it
  // (host.cc).
  virtual void IcmpFragmentationNeeded(Ipv4Address local, Ipv4Address remote,
                                       uint16_t local_port, uint16_t remote_port,
                                       uint32_t quoted_seq, uint16_t next_hop_mtu,
                                       base::Instant now);
};

// Where the host's outgoing frames go: the worker's TX buffers. Send takes ownership.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void Send(uint16_t interface, rte_mbuf* frame) = 0;
};

class Host final : public Ipv4Output {
 public:
  // Builds the host. Returns InvalidArgument for a route whose next hop is off-link or an
  // ARP table too small for the static entries. `pool` supplies mbufs for ARP packets.
  static absl::StatusOr<std::unique_ptr<Host>> Create(const HostConfig& config,
                                                      rte_mempool* pool, FrameSink& sink,
                                                      NetCounters& counters,
                                                      base::Instant now);
  ~Host();

  // Consumes one received frame from `interface`.
  void Input(uint16_t interface, rte_mbuf* frame, base::Instant now);

  // Sends an IPv4 packet that starts at the mbuf's data pointer, header complete except the
  // header checksum, which is filled here (in software, or by the NIC when the egress port
  // offers it) once the route has chosen the port. Consumes the mbuf; a packet with no route
  // or no ARP answer is dropped and counted.
  void SendIpv4(rte_mbuf* packet, base::Instant now) override;

  // Where TCP packets for our addresses go; without a handler they are dropped and counted
  // (drop_ipv4_unhandled_protocol). The handler must outlive the host's use of it.
  void SetTcpHandler(TransportHandler* handler) { tcp_ = handler; }

  // ARP timers and announcements. Call every few hundred milliseconds or more often.
  void Tick(base::Instant now);

  // True if `address` is one of the host's own (weak host model, RFC 1122 §3.3.4.2).
  bool IsLocalAddress(Ipv4Address address) const;

  const ArpCache& arp_cache(uint16_t interface) const;
  size_t interface_count() const { return interfaces_.size(); }

 private:
  class Interface;

  Host(rte_mempool* pool, FrameSink& sink, NetCounters& counters);

  void ArpInput(Interface& iface, rte_mbuf* frame, size_t l2_length, base::Instant now);
  void Ipv4Input(Interface& iface, rte_mbuf* frame, size_t l2_length, base::Instant now);
  void IcmpInput(rte_mbuf* packet, Ipv4Address source, Ipv4Address destination,
                 base::Instant now);
  void FragmentationNeededInput(rte_mbuf* packet, uint16_t next_hop_mtu,
                                std::span<const uint8_t> quote, base::Instant now);
  void SendGratuitous(Interface& iface);
  void Drop(rte_mbuf* frame, NetCounter reason);

  rte_mempool* pool_;
  FrameSink& sink_;
  TransportHandler* tcp_ = nullptr;
  ArpCache::Options arp_options_;
  NetCounters& counters_;
  std::vector<std::unique_ptr<Interface>> interfaces_;
  RouteTable routes_;
  std::vector<Ipv4Address> local_addresses_;
  uint32_t gratuitous_left_ = 0;
  base::Duration gratuitous_interval_{};
  base::Instant next_gratuitous_;
};

}  // namespace ferry::net
