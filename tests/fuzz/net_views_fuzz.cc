// Fuzzes lib/net's checked views (STYLE.md habit 3: check, then parse) with arbitrary bytes.
// Once a Parse returns kOk no accessor may read outside the bytes given, which ASan checks as
// every accessor is called; and what a view promises about lengths must hold. Each view is
// tried both where it sits in a frame (Ethernet, VLAN, IPv4, then ICMP/UDP/TCP) and on the raw
// input, so that the deeper views are reached without a well-formed frame around them.
//
// The checksum code (checksum.cc) is checked against its own definition: a stream split
// anywhere sums the same (RFC 1071 §2(B)), and a segment whose checksum field is filled with
// TransportChecksum then verifies.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include "net/address.h"
#include "net/arp.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/parse_error.h"
#include "net/tcp_header.h"
#include "net/udp.h"
#include "fuzz_check.h"

namespace ferry::net {
namespace {

using Bytes = std::span<const uint8_t>;

// Accessor results land here so that the compiler cannot drop the reads.
volatile uint64_t g_sink;
void Touch(uint64_t v) { g_sink = g_sink + v; }
void Touch(Bytes b) {
  Touch(b.size());
  if (!b.empty()) Touch(b.front() ^ b.back());
}
void Touch(const MacAddress& m) { Touch(m.bytes[0] ^ m.bytes[5] ^ m.IsBroadcast()); }
void Touch(Ipv4Address a) { Touch(a.value); }

// Sums `bytes` split at `at`: the result must not depend on where the split falls.
void CheckChecksumSplit(Bytes bytes, size_t at) {
  at = bytes.empty() ? 0 : at % (bytes.size() + 1);
  InternetChecksum whole;
  whole.Add(bytes);
  InternetChecksum split;
  split.Add(bytes.first(at));
  split.Add(bytes.subspan(at));
  FUZZ_CHECK(whole.Sum() == split.Sum());
  FUZZ_CHECK(whole.Finish() == static_cast<uint16_t>(~whole.Sum()));
}

// With `field` (offset of the checksum in `segment`) filled by TransportChecksum, the segment
// must verify: the emit and verify halves of checksum.h's contract.
void CheckTransportChecksumRoundTrip(Bytes segment, size_t field, Ipv4Address src,
                                     Ipv4Address dst, uint8_t protocol) {
  std::vector<uint8_t> copy(segment.begin(), segment.end());
  StoreBe16(&copy[field], 0);
  StoreBe16(&copy[field], TransportChecksum(src, dst, protocol, copy));
  FUZZ_CHECK(TransportChecksum(src, dst, protocol, copy) == 0);
}

void FuzzIcmp(Bytes bytes) {
  IcmpView unchecked;
  const ParseError e = IcmpView::Parse(bytes, unchecked, /*verify_checksum=*/false);
  Touch(Name(e).size());
  if (e != ParseError::kOk) return;
  FUZZ_CHECK(unchecked.message().size() == bytes.size());
  FUZZ_CHECK(unchecked.payload().size() == bytes.size() - IcmpView::kHeaderLength);
  Touch(unchecked.type());
  Touch(unchecked.code());
  Touch(unchecked.checksum());
  Touch(unchecked.identifier());
  Touch(unchecked.sequence());
  Touch(unchecked.next_hop_mtu());
  Touch(unchecked.rest_of_header());
  Touch(unchecked.payload());
  IcmpView checked;
  const ParseError v = IcmpView::Parse(bytes, checked, /*verify_checksum=*/true);
  FUZZ_CHECK(v == ParseError::kOk || v == ParseError::kBadChecksum);
  InternetChecksum sum;
  sum.Add(bytes);
  FUZZ_CHECK((v == ParseError::kOk) == (sum.Finish() == 0));
}

void FuzzUdp(Bytes bytes, Ipv4Address src, Ipv4Address dst) {
  UdpView udp;
  const ParseError e = UdpView::Parse(bytes, udp);
  Touch(Name(e).size());
  if (e != ParseError::kOk) return;
  FUZZ_CHECK(udp.length() >= UdpView::kHeaderLength && udp.length() <= bytes.size());
  FUZZ_CHECK(udp.datagram().size() == udp.length());
  FUZZ_CHECK(udp.payload().size() == udp.length() - UdpView::kHeaderLength);
  Touch(udp.source_port());
  Touch(udp.destination_port());
  Touch(udp.checksum());
  Touch(udp.payload());
  Touch(UdpChecksumValid(udp, src, dst));
  CheckTransportChecksumRoundTrip(udp.datagram(), 6, src, dst, IpProtocol::kUdp);
}

void FuzzTcp(Bytes bytes, Ipv4Address src, Ipv4Address dst) {
  TcpHeaderView tcp;
  const ParseError e = TcpHeaderView::Parse(bytes, tcp);
  Touch(Name(e).size());
  if (e != ParseError::kOk) return;
  FUZZ_CHECK(tcp.data_offset() >= TcpHeaderView::kMinHeaderLength &&
             tcp.data_offset() <= TcpHeaderView::kMaxHeaderLength &&
             tcp.data_offset() <= bytes.size());
  FUZZ_CHECK(tcp.options().size() == tcp.data_offset() - TcpHeaderView::kMinHeaderLength);
  FUZZ_CHECK(tcp.payload().size() == bytes.size() - tcp.data_offset());
  FUZZ_CHECK(tcp.segment().size() == bytes.size());
  Touch(tcp.source_port());
  Touch(tcp.destination_port());
  Touch(tcp.seq_number());
  Touch(tcp.ack_number());
  Touch(tcp.flags());
  Touch(tcp.fin() + 2 * tcp.syn() + 4 * tcp.rst() + 8 * tcp.psh() + 16 * tcp.ack() +
        32 * tcp.urg());
  Touch(tcp.window());
  Touch(tcp.checksum());
  Touch(tcp.urgent_pointer());
  Touch(tcp.options());
  Touch(tcp.payload());
  Touch(TcpChecksumValid(tcp, src, dst));
  if (bytes.size() <= 0xffff) {
    CheckTransportChecksumRoundTrip(tcp.segment(), 16, src, dst, IpProtocol::kTcp);
  }
}

void FuzzIpv4(Bytes bytes) {
  Ipv4View unchecked;
  const ParseError e = Ipv4View::Parse(bytes, unchecked, /*verify_checksum=*/false);
  Touch(Name(e).size());
  Ipv4View checked;
  const ParseError v = Ipv4View::Parse(bytes, checked, /*verify_checksum=*/true);
  // Verification adds one check after all the others.
  FUZZ_CHECK(v == e || (e == ParseError::kOk && v == ParseError::kBadChecksum));
  if (e != ParseError::kOk) return;
  const Ipv4View& ip = unchecked;
  FUZZ_CHECK(ip.version() == 4);
  FUZZ_CHECK(ip.header_length() >= Ipv4View::kMinHeaderLength);
  FUZZ_CHECK(ip.total_length() >= ip.header_length() && ip.total_length() <= bytes.size());
  FUZZ_CHECK(ip.header().size() == ip.header_length());
  FUZZ_CHECK(ip.options().size() == ip.header_length() - Ipv4View::kMinHeaderLength);
  FUZZ_CHECK(ip.payload().size() == size_t{ip.total_length()} - ip.header_length());
  FUZZ_CHECK((v == ParseError::kOk) == (Ipv4HeaderChecksum(ip.header()) == 0));
  Touch(ip.dscp());
  Touch(ip.ecn());
  Touch(ip.identification());
  Touch(ip.dont_fragment() + 2 * ip.more_fragments() + 4 * ip.is_fragment());
  Touch(ip.fragment_offset());
  Touch(ip.ttl());
  Touch(ip.header_checksum());
  Touch(ip.source());
  Touch(ip.destination());
  Touch(ip.options());
  switch (ip.protocol()) {
    case IpProtocol::kIcmp:
      FuzzIcmp(ip.payload());
      break;
    case IpProtocol::kUdp:
      FuzzUdp(ip.payload(), ip.source(), ip.destination());
      break;
    case IpProtocol::kTcp:
      FuzzTcp(ip.payload(), ip.source(), ip.destination());
      break;
    default:
      Touch(ip.payload());
  }
}

void FuzzArp(Bytes bytes) {
  ArpView arp;
  const ParseError e = ArpView::Parse(bytes, arp);
  Touch(Name(e).size());
  if (e != ParseError::kOk) return;
  Touch(arp.operation());
  Touch(arp.sender_mac());
  Touch(arp.sender_ip());
  Touch(arp.target_mac());
  Touch(arp.target_ip());
  // What parses re-emits to the same 28 bytes (RFC 826 layout, Ethernet/IPv4 only).
  uint8_t emitted[ArpRepr::kLength];
  ArpRepr{arp.operation(), arp.sender_mac(), arp.sender_ip(), arp.target_mac(), arp.target_ip()}
      .Emit(emitted);
  FUZZ_CHECK(std::memcmp(emitted, bytes.data(), ArpRepr::kLength) == 0);
}

// The payload of an Ethernet header or VLAN tag, by EtherType.
void FuzzL3(uint16_t ethertype, Bytes payload) {
  switch (ethertype) {
    case EtherType::kArp:
      FuzzArp(payload);
      break;
    case EtherType::kIpv4:
      FuzzIpv4(payload);
      break;
    default:
      Touch(payload);
  }
}

void FuzzFrame(Bytes frame) {
  EthernetView eth;
  const ParseError e = EthernetView::Parse(frame, eth);
  Touch(Name(e).size());
  if (e != ParseError::kOk) return;
  FUZZ_CHECK(eth.payload().size() == frame.size() - EthernetView::kHeaderLength);
  Touch(eth.destination());
  Touch(eth.source());
  Touch(eth.header_length());
  uint8_t emitted[EthernetRepr::kLength];
  EthernetRepr{eth.destination(), eth.source(), eth.ethertype()}.Emit(emitted);
  FUZZ_CHECK(std::memcmp(emitted, frame.data(), EthernetRepr::kLength) == 0);
  if (eth.ethertype() != EtherType::kVlan && eth.ethertype() != EtherType::kQinQ) {
    return FuzzL3(eth.ethertype(), eth.payload());
  }
  VlanTagView tag;
  if (VlanTagView::Parse(eth.payload(), tag) != ParseError::kOk) return;
  FUZZ_CHECK(tag.payload().size() == eth.payload().size() - VlanTagView::kHeaderLength);
  FUZZ_CHECK(tag.vlan_id() <= 0x0fff && tag.pcp() <= 7);
  Touch(tag.dei());
  Touch(tag.header_length());
  if (!tag.dei()) {
    uint8_t tci[VlanTagRepr::kLength];
    VlanTagRepr{tag.vlan_id(), tag.pcp(), tag.inner_ethertype()}.Emit(tci);
    FUZZ_CHECK(std::memcmp(tci, eth.payload().data(), VlanTagRepr::kLength) == 0);
  }
  FuzzL3(tag.inner_ethertype(), tag.payload());
}

}  // namespace
}  // namespace ferry::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::net;
  const std::span<const uint8_t> bytes(data, size);
  FuzzFrame(bytes);
  // The deeper views on the raw bytes as well, with addresses for the pseudo-header taken
  // from the input when it is long enough.
  const Ipv4Address src(size >= 4 ? LoadBe32(data) : 0);
  const Ipv4Address dst(size >= 8 ? LoadBe32(data + 4) : 0);
  FuzzIpv4(bytes);
  FuzzArp(bytes);
  FuzzIcmp(bytes);
  FuzzUdp(bytes, src, dst);
  FuzzTcp(bytes, src, dst);
  VlanTagView tag;
  if (VlanTagView::Parse(bytes, tag) == ParseError::kOk) Touch(tag.inner_ethertype());
  CheckChecksumSplit(bytes, size >= 1 ? data[0] * 7u + size / 2 : 0);
  return 0;
}
