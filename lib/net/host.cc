#include "net/host.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "net/arp.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/ipv4.h"

namespace ferry::net {
namespace {

using base::Instant;

// Ethernet's minimum frame without FCS (IEEE 802.3 §4.2.3.3). Not every PMD pads short frames.
constexpr size_t kMinFrameLength = 60;

std::span<uint8_t> MbufBytes(rte_mbuf* m) {
  return {rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m)};
}

// A received mbuf turned into a reply must not carry its RX flags (checksum verdicts, VLAN,
// RSS) to the transmit path, where a PMD could read them as requests. Only the flags that
// describe the buffer itself stay.
void ResetOffloadFlags(rte_mbuf* m) {
  m->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
  m->tx_offload = 0;
}

// Pads a frame to the Ethernet minimum with zeros. Frames built here are single-segment.
void PadFrame(rte_mbuf* m) {
  if (rte_pktmbuf_pkt_len(m) >= kMinFrameLength || m->nb_segs != 1) return;
  const uint16_t pad = static_cast<uint16_t>(kMinFrameLength - rte_pktmbuf_pkt_len(m));
  if (char* p = rte_pktmbuf_append(m, pad)) std::memset(p, 0, pad);
}

// RFC 1191 §5: a router that predates it sends a next-hop MTU of 0. The sender then guesses
// the largest plateau of the §7 table below the refused datagram's length (0 if there is none).
uint16_t MtuPlateauBelow(uint16_t datagram_length) {
  static constexpr uint16_t kPlateaus[] = {65535, 32000, 17914, 8166, 4352, 2002,
                                           1492,  1006,  508,   296,  68};
  for (uint16_t plateau : kPlateaus) {
    if (plateau < datagram_length) return plateau;
  }
  return 0;
}

}  // namespace

// RFC 1191 is optional for a transport: one that does no path MTU discovery ignores it.
void TransportHandler::IcmpFragmentationNeeded(Ipv4Address, Ipv4Address, uint16_t, uint16_t,
                                               uint32_t, uint16_t, Instant) {}

// One port's addresses, ARP cache and L2 framing, as the host sees it.
class Host::Interface final : public ArpCache::Sink {
 public:
  Interface(Host& host, uint16_t index, const InterfaceConfig& config)
      : host_(host), index_(index), config_(config), arp_(host.arp_options_, host.counters_) {}

  uint16_t index() const { return index_; }
  const InterfaceConfig& config() const { return config_; }
  ArpCache& arp() { return arp_; }
  size_t l2_length() const { return config_.vlan ? EthernetRepr::kLength + VlanTagRepr::kLength
                                                 : EthernetRepr::kLength; }

  bool OwnsAddress(Ipv4Address a) const {
    return std::any_of(config_.addresses.begin(), config_.addresses.end(),
                       [a](const Ipv4Prefix& p) { return p.address == a; });
  }

  // Our address to speak from toward `peer`: the one whose subnet holds it, else the first.
  Ipv4Address SourceFor(Ipv4Address peer) const {
    for (const Ipv4Prefix& p : config_.addresses) {
      if (p.Contains(peer)) return p.address;
    }
    return config_.addresses.empty() ? Ipv4Address() : config_.addresses.front().address;
  }

  // Writes the Ethernet (and 802.1Q) header at the start of `frame`.
  void WriteL2(std::span<uint8_t> frame, const MacAddress& destination, uint16_t ethertype) {
    if (config_.vlan) {
      EthernetRepr{destination, config_.mac, EtherType::kVlan}.Emit(frame);
      VlanTagRepr{config_.vlan, 0, ethertype}.Emit(frame.subspan(EthernetRepr::kLength));
    } else {
      EthernetRepr{destination, config_.mac, ethertype}.Emit(frame);
    }
  }

  void Emit(rte_mbuf* frame) {
    PadFrame(frame);
    host_.sink_.Send(index_, frame);
  }

  // Builds and sends an ARP packet from this interface. Counts drop_no_mbuf on failure.
  void SendArp(uint16_t operation, const MacAddress& eth_destination, Ipv4Address sender_ip,
               const MacAddress& target_mac, Ipv4Address target_ip) {
    rte_mbuf* m = rte_pktmbuf_alloc(host_.pool_);
    if (m == nullptr) {
      host_.counters_.Add(NetCounter::kDropNoMbuf);
      return;
    }
    const size_t l2 = l2_length();
    char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(l2 + ArpRepr::kLength));
    std::span<uint8_t> frame(reinterpret_cast<uint8_t*>(data), l2 + ArpRepr::kLength);
    WriteL2(frame, eth_destination, EtherType::kArp);
    ArpRepr{operation, config_.mac, sender_ip, target_mac, target_ip}.Emit(frame.subspan(l2));
    Emit(m);
  }

  // ArpCache::Sink
  void SendRequest(Ipv4Address target, const MacAddress* unicast_to) override {
    SendArp(static_cast<uint16_t>(ArpOp::kRequest),
            unicast_to ? *unicast_to : MacAddress::Broadcast(), SourceFor(target),
            MacAddress::Zero(), target);
  }
  void Transmit(rte_mbuf* packet, const MacAddress& destination) override {
    // The L2 header is already in place (SendIpv4); only the destination was unknown.
    std::memcpy(rte_pktmbuf_mtod(packet, uint8_t*), destination.bytes.data(), 6);
    Emit(packet);
  }
  void Drop(rte_mbuf* packet) override { rte_pktmbuf_free(packet); }

 private:
  Host& host_;
  uint16_t index_;
  InterfaceConfig config_;
  ArpCache arp_;
};

Host::Host(rte_mempool* pool, FrameSink& sink, NetCounters& counters)
    : pool_(pool), sink_(sink), counters_(counters) {}

Host::~Host() = default;

absl::StatusOr<std::unique_ptr<Host>> Host::Create(const HostConfig& config, rte_mempool* pool,
                                                   FrameSink& sink, NetCounters& counters,
                                                   Instant now) {
  std::unique_ptr<Host> host(new Host(pool, sink, counters));
  host->arp_options_ = config.arp;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const InterfaceConfig& ic = config.interfaces[i];
    auto iface = std::make_unique<Interface>(*host, static_cast<uint16_t>(i), ic);
    for (const Ipv4Prefix& p : ic.addresses) {
      host->routes_.AddConnected(p, static_cast<uint16_t>(i));
      host->local_addresses_.push_back(p.address);
    }
    for (const auto& [ip, mac] : ic.static_arp) {
      if (!iface->arp().AddStatic(ip, mac)) {
        return absl::InvalidArgumentError("interface " + ic.name +
                                          ": more static ARP entries than the ARP capacity");
      }
    }
    host->interfaces_.push_back(std::move(iface));
  }
  for (const auto& [prefix, via] : config.routes) {
    if (absl::Status s = host->routes_.AddStatic(prefix, via); !s.ok()) return s;
  }
  if (config.announce) host->gratuitous_left_ = config.gratuitous_count;
  host->gratuitous_interval_ = config.gratuitous_interval;
  host->next_gratuitous_ = now;
  return host;
}

const ArpCache& Host::arp_cache(uint16_t interface) const {
  return interfaces_[interface]->arp();
}

bool Host::IsLocalAddress(Ipv4Address address) const {
  return std::find(local_addresses_.begin(), local_addresses_.end(), address) !=
         local_addresses_.end();
}

void Host::Drop(rte_mbuf* frame, NetCounter reason) {
  counters_.Add(reason);
  rte_pktmbuf_free(frame);
}

void Host::Input(uint16_t interface, rte_mbuf* frame, Instant now) {
  counters_.Add(NetCounter::kRxFrames);
  counters_.Add(NetCounter::kRxBytes, rte_pktmbuf_pkt_len(frame));
  // Pools are sized so that a frame up to the MTU fits one mbuf and scattered RX is off; a
  // chained frame means a misconfigured port, and its headers cannot be viewed in one piece.
  if (unlikely(frame->nb_segs != 1)) return Drop(frame, NetCounter::kDropRxScattered);
  Interface& iface = *interfaces_[interface];

  EthernetView eth;
  if (EthernetView::Parse(MbufBytes(frame), eth) != ParseError::kOk) {
    return Drop(frame, NetCounter::kDropEthTruncated);
  }
  const MacAddress dst = eth.destination();
  if (dst != iface.config().mac && !dst.IsBroadcast()) {
    return Drop(frame, NetCounter::kDropEthNotForUs);
  }
  uint16_t ethertype = eth.ethertype();
  size_t l2_length = EthernetRepr::kLength;
  // Tags are parsed in software: ports never enable VLAN stripping (port.cc), so the tag is
  // still in the frame and an in-place reply keeps it.
  uint16_t vlan = 0;
  if (ethertype == EtherType::kVlan) {
    VlanTagView tag;
    if (VlanTagView::Parse(eth.payload(), tag) != ParseError::kOk) {
      return Drop(frame, NetCounter::kDropVlanTruncated);
    }
    vlan = tag.vlan_id();
    ethertype = tag.inner_ethertype();
    l2_length += VlanTagRepr::kLength;
  }
  if (vlan != iface.config().vlan) return Drop(frame, NetCounter::kDropVlanUnknown);

  switch (ethertype) {
    case EtherType::kArp:
      return ArpInput(iface, frame, l2_length, now);
    case EtherType::kIpv4:
      return Ipv4Input(iface, frame, l2_length, now);
    default:
      return Drop(frame, NetCounter::kDropEthUnknownType);
  }
}

void Host::ArpInput(Interface& iface, rte_mbuf* frame, size_t l2_length, Instant now) {
  ArpView arp;
  switch (ArpView::Parse(MbufBytes(frame).subspan(l2_length), arp)) {
    case ParseError::kOk:
      break;
    case ParseError::kTruncated:
      return Drop(frame, NetCounter::kDropArpTruncated);
    default:
      return Drop(frame, NetCounter::kDropArpUnsupported);
  }
  const uint16_t op = arp.operation();
  if (op != static_cast<uint16_t>(ArpOp::kRequest) && op != static_cast<uint16_t>(ArpOp::kReply)) {
    return Drop(frame, NetCounter::kDropArpBadOperation);
  }
  const MacAddress sender_mac = arp.sender_mac();
  const Ipv4Address sender_ip = arp.sender_ip();
  const Ipv4Address target_ip = arp.target_ip();
  // A sender claiming a group MAC, or one of our own addresses (a conflict), must not be
  // learned or answered.
  if (sender_mac.IsMulticast() || sender_mac.IsZero() || IsLocalAddress(sender_ip) ||
      sender_ip.IsMulticast() || sender_ip.IsLimitedBroadcast()) {
    return Drop(frame, NetCounter::kDropArpBadSender);
  }
  const bool is_request = op == static_cast<uint16_t>(ArpOp::kRequest);
  counters_.Add(is_request ? NetCounter::kArpRequestsIn : NetCounter::kArpRepliesIn);

  const bool target_is_us = iface.OwnsAddress(target_ip);
  // RFC 826 "Packet Reception": merge the sender into an existing entry; add it only if we
  // are the target. A sender of 0.0.0.0 is an address probe (RFC 5227 §2.1.1): nothing to
  // learn, but a probe for our address is answered so that the prober sees the conflict.
  bool merged = false;
  if (!sender_ip.IsUnspecified()) {
    merged = iface.arp().Learn(sender_ip, sender_mac, target_is_us, now, iface);
  }
  if (!target_is_us) {
    if (merged) {
      rte_pktmbuf_free(frame);
    } else {
      Drop(frame, NetCounter::kDropArpNotForUs);
    }
    return;
  }
  if (!is_request) {
    rte_pktmbuf_free(frame);
    return;
  }
  // Answer in place: the request's buffer becomes the reply.
  ResetOffloadFlags(frame);
  std::span<uint8_t> bytes = MbufBytes(frame);
  iface.WriteL2(bytes, sender_mac, EtherType::kArp);
  ArpRepr{static_cast<uint16_t>(ArpOp::kReply), iface.config().mac, target_ip, sender_mac,
          sender_ip}
      .Emit(bytes.subspan(l2_length));
  rte_pktmbuf_trim(frame, static_cast<uint16_t>(bytes.size() - l2_length - ArpRepr::kLength));
  counters_.Add(NetCounter::kArpRepliesOut);
  iface.Emit(frame);
}

void Host::Ipv4Input(Interface& iface, rte_mbuf* frame, size_t l2_length, Instant now) {
  const uint64_t csum_flags = frame->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (csum_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
    return Drop(frame, NetCounter::kDropIpv4BadChecksum);
  }
  // Verify in software unless the port already did: GOOD, or NONE ("not computed, but the
  // data is valid", which virtio reports for traffic from its host).
  Ipv4View ip;
  const bool verify = csum_flags == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN;
  switch (Ipv4View::Parse(MbufBytes(frame).subspan(l2_length), ip, verify)) {
    case ParseError::kOk:
      break;
    case ParseError::kTruncated:
      return Drop(frame, NetCounter::kDropIpv4Truncated);
    case ParseError::kBadVersion:
      return Drop(frame, NetCounter::kDropIpv4BadVersion);
    case ParseError::kBadHeaderLength:
      return Drop(frame, NetCounter::kDropIpv4BadHeaderLength);
    case ParseError::kBadTotalLength:
      return Drop(frame, NetCounter::kDropIpv4BadTotalLength);
    default:
      return Drop(frame, NetCounter::kDropIpv4BadChecksum);
  }
  // Reassembly is not done: fragments of a TCP proxy's traffic mean a path MTU problem that
  // the peers must solve (we set DF and answer with MSS), so they are dropped and counted.
  if (ip.is_fragment()) return Drop(frame, NetCounter::kDropIpv4Fragment);
  if (ip.ttl() == 0) return Drop(frame, NetCounter::kDropIpv4TtlZero);
  const Ipv4Address source = ip.source();
  // RFC 1122 §3.2.1.3: silently discard datagrams from a broadcast, multicast, loopback or
  // class E source, or (a loop) from one of our own addresses.
  if (source.IsLimitedBroadcast() || source.IsMulticast() || (source.value >> 24) == 127 ||
      (source.value >> 28) == 0xf || IsLocalAddress(source)) {
    return Drop(frame, NetCounter::kDropIpv4BadSource);
  }
  const Ipv4Address destination = ip.destination();
  if (!IsLocalAddress(destination)) return Drop(frame, NetCounter::kDropIpv4NotForUs);
  (void)iface;

  // From here on the packet is ours: drop the link header and any link-layer padding.
  const uint16_t header_length = static_cast<uint16_t>(ip.header_length());
  const uint8_t protocol = ip.protocol();
  rte_pktmbuf_trim(frame, static_cast<uint16_t>(rte_pktmbuf_pkt_len(frame) - l2_length -
                                                ip.total_length()));
  rte_pktmbuf_adj(frame, static_cast<uint16_t>(l2_length + header_length));
  counters_.Add(NetCounter::kIpv4Delivered);
  switch (protocol) {
    case IpProtocol::kIcmp:
      return IcmpInput(frame, source, destination, now);
    case IpProtocol::kTcp:
      if (tcp_ != nullptr) return tcp_->Input(frame, source, destination, now);
      return Drop(frame, NetCounter::kDropIpv4UnhandledProtocol);
    default:
      return Drop(frame, NetCounter::kDropIpv4UnhandledProtocol);
  }
}

void Host::IcmpInput(rte_mbuf* packet, Ipv4Address source, Ipv4Address destination,
                     Instant now) {
  IcmpView icmp;
  switch (IcmpView::Parse(MbufBytes(packet), icmp)) {
    case ParseError::kOk:
      break;
    case ParseError::kTruncated:
      return Drop(packet, NetCounter::kDropIcmpTruncated);
    default:
      return Drop(packet, NetCounter::kDropIcmpBadChecksum);
  }
  if (icmp.type() == IcmpType::kDestinationUnreachable &&
      icmp.code() == IcmpCode::kFragmentationNeeded) {
    return FragmentationNeededInput(packet, icmp.next_hop_mtu(), icmp.payload(), now);
  }
  if (icmp.type() != IcmpType::kEchoRequest || icmp.code() != 0) {
    return Drop(packet, NetCounter::kDropIcmpUnhandledType);
  }
  counters_.Add(NetCounter::kIcmpEchoRequestsIn);
  // RFC 792 echo: the reply carries the request's identifier, sequence and data; only the
  // type changes. The checksum is recomputed, not adjusted: RFC 1624's update yields 0x0000
  // where the sum must be 0xffff when every other word is zero (found by fuzzing: an all-zero
  // echo request, scapy's default ping), and echo is not a hot path.
  ResetOffloadFlags(packet);
  std::span<uint8_t> message = MbufBytes(packet);
  message[0] = IcmpType::kEchoReply;
  StoreBe16(&message[2], 0);
  InternetChecksum sum;
  sum.Add(message);
  StoreBe16(&message[2], sum.Finish());
  const uint16_t length = static_cast<uint16_t>(message.size());
  char* header = rte_pktmbuf_prepend(packet, Ipv4Repr::kLength);
  if (header == nullptr) return Drop(packet, NetCounter::kDropNoMbuf);
  Ipv4Repr reply{};
  reply.source = destination;
  reply.destination = source;
  reply.protocol = IpProtocol::kIcmp;
  reply.payload_length = length;
  reply.Emit({reinterpret_cast<uint8_t*>(header), Ipv4Repr::kLength}, /*fill_checksum=*/false);
  counters_.Add(NetCounter::kIcmpEchoRepliesOut);
  SendIpv4(packet, now);
}

// RFC 1191 §4: a router could not forward a datagram of ours with DF set; the message
// quotes it and gives the next hop's MTU. The host checks that the quote is well-formed, that
// the quoted datagram was ours and TCP's, and that the MTU is plausible, then hands it to TCP,
// which decides whether the quote is believable (RFC 5927 §4.1) and lowers the connection's
// MSS. `quote` lies in `packet`, which is freed once TCP has seen it.
void Host::FragmentationNeededInput(rte_mbuf* packet, uint16_t next_hop_mtu,
                                    std::span<const uint8_t> quote_bytes, Instant now) {
  IcmpQuoteView quote;
  if (IcmpQuoteView::Parse(quote_bytes, quote) != ParseError::kOk) {
    return Drop(packet, NetCounter::kDropIcmpFragNeededBadQuote);
  }
  // Only a first fragment quotes a transport header; ours are never fragments (DF), so a
  // later one is not about anything we sent.
  if (quote.fragment_offset() != 0) {
    return Drop(packet, NetCounter::kDropIcmpFragNeededBadQuote);
  }
  if (!IsLocalAddress(quote.source())) {
    return Drop(packet, NetCounter::kDropIcmpFragNeededNotOurs);
  }
  if (quote.protocol() != IpProtocol::kTcp || tcp_ == nullptr) {
    return Drop(packet, NetCounter::kDropIcmpFragNeededNotTcp);
  }
  uint16_t mtu = next_hop_mtu;
  if (mtu == 0) mtu = MtuPlateauBelow(quote.total_length());
  // RFC 1191 §3: a host MUST never reduce its path MTU estimate below 68 octets (RFC 791's
  // minimum). And a datagram that fits the next hop was not refused for its size. Either claim
  // makes the message bogus, most likely forged (RFC 5927 §7).
  if (mtu < 68 || mtu >= quote.total_length()) {
    return Drop(packet, NetCounter::kDropIcmpFragNeededBadMtu);
  }
  counters_.Add(NetCounter::kIcmpFragNeededIn);
  tcp_->IcmpFragmentationNeeded(quote.source(), quote.destination(), quote.source_port(),
                                quote.destination_port(), quote.tcp_sequence(), mtu, now);
  rte_pktmbuf_free(packet);
}

void Host::SendIpv4(rte_mbuf* packet, Instant now) {
  uint8_t* ip = rte_pktmbuf_mtod(packet, uint8_t*);
  const Ipv4Address destination(LoadBe32(ip + 16));
  const std::optional<RouteResult> route = routes_.Lookup(destination);
  if (!route) return Drop(packet, NetCounter::kDropNoRoute);
  Interface& iface = *interfaces_[route->interface];
  const uint16_t header_length = static_cast<uint16_t>((ip[0] & 0x0f) * 4);
  StoreBe16(ip + 10, 0);
  if (iface.config().tx_ipv4_checksum_offload) {
    packet->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    packet->l3_len = header_length;
  } else {
    StoreBe16(ip + 10, Ipv4HeaderChecksum({ip, header_length}));
  }
  const size_t l2 = iface.l2_length();
  char* frame = rte_pktmbuf_prepend(packet, static_cast<uint16_t>(l2));
  if (frame == nullptr) return Drop(packet, NetCounter::kDropNoMbuf);
  packet->l2_len = l2;
  iface.WriteL2({reinterpret_cast<uint8_t*>(frame), l2}, MacAddress::Zero(), EtherType::kIpv4);
  iface.arp().Output(route->next_hop, packet, now, iface);
}

void Host::SendGratuitous(Interface& iface) {
  // RFC 5227 §3 "ARP Announcement": a request with sender and target both our address.
  for (const Ipv4Prefix& p : iface.config().addresses) {
    counters_.Add(NetCounter::kArpGratuitousOut);
    iface.SendArp(static_cast<uint16_t>(ArpOp::kRequest), MacAddress::Broadcast(), p.address,
                  MacAddress::Zero(), p.address);
  }
}

void Host::Tick(Instant now) {
  for (auto& iface : interfaces_) iface->arp().Tick(now, *iface);
  if (gratuitous_left_ > 0 && now >= next_gratuitous_) {
    for (auto& iface : interfaces_) SendGratuitous(*iface);
    --gratuitous_left_;
    next_gratuitous_ = now + gratuitous_interval_;
  }
}

}  // namespace ferry::net
