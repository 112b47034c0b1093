// Host: the appliance as an IPv4 host, driven frame by frame with real mbufs (EAL without
// hugepages, see eal_main.cc) and a fake clock. Each test injects frames built with the Reprs
// and checks the frames that come out, the counters, and that no mbuf is leaked.
#include "net/host.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "net/arp.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/ipv4.h"

namespace ferry::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Bytes = std::vector<uint8_t>;

const MacAddress kOurMac{{0x02, 0xfe, 0, 0, 0, 0x01}};
const MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddress kGatewayMac{{0x02, 0, 0, 0, 0, 0xfe}};
const Ipv4Address kOurIp = Ipv4Address::FromOctets(198, 18, 0, 1);
const Ipv4Address kPeerIp = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kGatewayIp = Ipv4Address::FromOctets(198, 18, 0, 254);
const Ipv4Address kFarIp = Ipv4Address::FromOctets(198, 19, 7, 7);

struct SentFrame {
  uint16_t interface;
  Bytes bytes;
  uint64_t ol_flags;
  uint64_t l2_len;
  uint64_t l3_len;
};

class RecordingFrameSink : public FrameSink {
 public:
  void Send(uint16_t interface, rte_mbuf* frame) override {
    const uint8_t* p = rte_pktmbuf_mtod(frame, const uint8_t*);
    frames.push_back({interface, Bytes(p, p + rte_pktmbuf_data_len(frame)), frame->ol_flags,
                      frame->l2_len, frame->l3_len});
    rte_pktmbuf_free(frame);
  }
  std::vector<SentFrame> frames;
};

// ---- Frame builders ---------------------------------------------------------------------

Bytes EthernetFrame(const MacAddress& dst, const MacAddress& src, uint16_t type, const Bytes& payload,
                    uint16_t vlan = 0) {
  Bytes f(EthernetRepr::kLength + (vlan ? VlanTagRepr::kLength : 0));
  if (vlan) {
    EthernetRepr{dst, src, EtherType::kVlan}.Emit(f);
    VlanTagRepr{vlan, 0, type}.Emit(std::span(f).subspan(EthernetRepr::kLength));
  } else {
    EthernetRepr{dst, src, type}.Emit(f);
  }
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes Arp(uint16_t op, const MacAddress& sha, Ipv4Address spa, const MacAddress& tha,
          Ipv4Address tpa) {
  Bytes b(ArpRepr::kLength);
  ArpRepr{op, sha, spa, tha, tpa}.Emit(b);
  return b;
}

Bytes Ipv4Packet(Ipv4Address src, Ipv4Address dst, uint8_t protocol, const Bytes& payload,
                 uint8_t ttl = 64) {
  Bytes b(Ipv4Repr::kLength);
  Ipv4Repr r{};
  r.source = src;
  r.destination = dst;
  r.protocol = protocol;
  r.ttl = ttl;
  r.payload_length = static_cast<uint16_t>(payload.size());
  r.Emit(b);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes EchoRequest(uint16_t id, uint16_t seq, const Bytes& data) {
  Bytes b(8);
  b[0] = IcmpType::kEchoRequest;
  StoreBe16(&b[4], id);
  StoreBe16(&b[6], seq);
  b.insert(b.end(), data.begin(), data.end());
  InternetChecksum sum;
  sum.Add(b);
  StoreBe16(&b[2], sum.Finish());
  return b;
}

Bytes PingFrame(Ipv4Address src, const MacAddress& src_mac, uint16_t seq = 1) {
  return EthernetFrame(kOurMac, src_mac, EtherType::kIpv4,
                       Ipv4Packet(src, kOurIp, IpProtocol::kIcmp,
                                  EchoRequest(0x4242, seq, Bytes{'f', 'e', 'r', 'r', 'y'})));
}

// ---- Fixture ----------------------------------------------------------------------------

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    pool_ = rte_pktmbuf_pool_create(("host_test" + std::to_string(n++)).c_str(), 255, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    host_.reset();
    // Every frame that went in was consumed: delivered to the sink (and freed there), or
    // dropped. Anything else in use is a leak.
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
    rte_mempool_free(pool_);
  }

  HostConfig Config(uint16_t vlan = 0) {
    HostConfig c;
    InterfaceConfig i;
    i.name = "lan0";
    i.mac = kOurMac;
    i.vlan = vlan;
    i.addresses = {Ipv4Prefix{kOurIp, 24}};
    c.interfaces.push_back(i);
    c.routes.push_back({Ipv4Prefix{Ipv4Address(), 0}, kGatewayIp});
    c.gratuitous_count = 2;
    c.arp.request_interval = seconds(1);
    return c;
  }

  void Start(const HostConfig& config) {
    auto host = Host::Create(config, pool_, sink_, counters_, now_);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  void Inject(const Bytes& frame, uint64_t ol_flags = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    m->ol_flags = ol_flags;
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
    ASSERT_NE(p, nullptr);
    std::memcpy(p, frame.data(), frame.size());
    host_->Input(0, m, now_);
  }

  std::vector<SentFrame> TakeSent() { return std::exchange(sink_.frames, {}); }
  uint64_t Count(NetCounter c) { return counters_.Load(c); }

  rte_mempool* pool_ = nullptr;
  base::Instant now_{seconds(1000)};
  NetCounters counters_;
  RecordingFrameSink sink_;
  std::unique_ptr<Host> host_;
};

// Parses an emitted frame down to ARP; fails the test if it is not one.
ArpView ExpectArp(const Bytes& frame, uint16_t op) {
  EthernetView eth;
  EXPECT_EQ(EthernetView::Parse(frame, eth), ParseError::kOk);
  EXPECT_EQ(eth.ethertype(), EtherType::kArp);
  ArpView arp;
  EXPECT_EQ(ArpView::Parse(eth.payload(), arp), ParseError::kOk);
  EXPECT_EQ(arp.operation(), op);
  return arp;
}

// ---- ARP --------------------------------------------------------------------------------

TEST_F(HostTest, AnswersArpRequestForOurAddressInPlace) {
  Start(Config());
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp,
                       Arp(1, kPeerMac, kPeerIp, MacAddress::Zero(), kOurIp)));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes.size(), 60u);  // padded to the Ethernet minimum
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  EXPECT_EQ(eth.destination(), kPeerMac);
  EXPECT_EQ(eth.source(), kOurMac);
  ArpView arp = ExpectArp(sent[0].bytes, 2);
  EXPECT_EQ(arp.sender_mac(), kOurMac);
  EXPECT_EQ(arp.sender_ip(), kOurIp);
  EXPECT_EQ(arp.target_mac(), kPeerMac);
  EXPECT_EQ(arp.target_ip(), kPeerIp);
  EXPECT_EQ(Count(NetCounter::kArpRequestsIn), 1u);
  EXPECT_EQ(Count(NetCounter::kArpRepliesOut), 1u);
  // RFC 826: the requester was added, since we were the target.
  EXPECT_EQ(host_->arp_cache(0).StateOf(kPeerIp), ArpCache::State::kReachable);
}

TEST_F(HostTest, RequestForAnotherAddressIsNeitherAnsweredNorLearned) {
  Start(Config());
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp,
                       Arp(1, kPeerMac, kPeerIp, MacAddress::Zero(), kGatewayIp)));
  EXPECT_TRUE(TakeSent().empty());
  EXPECT_EQ(Count(NetCounter::kDropArpNotForUs), 1u);
  EXPECT_FALSE(host_->arp_cache(0).StateOf(kPeerIp).has_value());
}

TEST_F(HostTest, ProbeForOurAddressIsAnsweredButNotLearned) {
  Start(Config());
  // RFC 5227 §2.1.1: sender address 0.0.0.0.
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp,
                       Arp(1, kPeerMac, Ipv4Address(), MacAddress::Zero(), kOurIp)));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(ExpectArp(sent[0].bytes, 2).target_ip(), Ipv4Address());
  EXPECT_EQ(host_->arp_cache(0).size(), 0u);
}

TEST_F(HostTest, SenderClaimingOurAddressIsRefused) {
  Start(Config());
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp,
                       Arp(1, kPeerMac, kOurIp, MacAddress::Zero(), kOurIp)));
  EXPECT_TRUE(TakeSent().empty());
  EXPECT_EQ(Count(NetCounter::kDropArpBadSender), 1u);
}

TEST_F(HostTest, SenderWithGroupMacIsRefused) {
  Start(Config());
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp,
                       Arp(1, MacAddress::Broadcast(), kPeerIp, MacAddress::Zero(), kOurIp)));
  EXPECT_EQ(Count(NetCounter::kDropArpBadSender), 1u);
}

TEST_F(HostTest, MalformedArpIsCountedByReason) {
  Start(Config());
  Bytes arp = Arp(1, kPeerMac, kPeerIp, MacAddress::Zero(), kOurIp);
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp, Bytes(arp.begin(), arp.begin() + 20)));
  Bytes bad_hlen = arp;
  bad_hlen[4] = 8;
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp, bad_hlen));
  Bytes bad_op = arp;
  bad_op[7] = 9;
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp, bad_op));
  EXPECT_EQ(Count(NetCounter::kDropArpTruncated), 1u);
  EXPECT_EQ(Count(NetCounter::kDropArpUnsupported), 1u);
  EXPECT_EQ(Count(NetCounter::kDropArpBadOperation), 1u);
  EXPECT_TRUE(TakeSent().empty());
}

TEST_F(HostTest, AnnouncesEachAddressWithGratuitousArpAtStart) {
  Start(Config());
  host_->Tick(now_);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ArpView garp = ExpectArp(sent[0].bytes, 1);
  EXPECT_EQ(garp.sender_ip(), kOurIp);  // RFC 5227 §3: sender and target both ours
  EXPECT_EQ(garp.target_ip(), kOurIp);
  host_->Tick(now_ + milliseconds(500));
  EXPECT_TRUE(TakeSent().empty());
  host_->Tick(now_ + seconds(1));
  EXPECT_EQ(TakeSent().size(), 1u);
  host_->Tick(now_ + seconds(5));
  EXPECT_TRUE(TakeSent().empty());  // gratuitous_count = 2
  EXPECT_EQ(Count(NetCounter::kArpGratuitousOut), 2u);
}

TEST_F(HostTest, WorkerThatDoesNotAnnounceSendsNoGratuitousArp) {
  HostConfig c = Config();
  c.announce = false;
  Start(c);
  host_->Tick(now_);
  EXPECT_TRUE(TakeSent().empty());
}

// ---- ICMP echo ----------------------------------------------------------------------------

TEST_F(HostTest, EchoRequestFromKnownNeighborIsAnswered) {
  HostConfig c = Config();
  c.interfaces[0].static_arp = {{kPeerIp, kPeerMac}};
  Start(c);
  Inject(PingFrame(kPeerIp, kPeerMac, 7));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  EXPECT_EQ(eth.destination(), kPeerMac);
  EXPECT_EQ(eth.source(), kOurMac);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(eth.payload(), ip), ParseError::kOk);  // checksum verified
  EXPECT_EQ(ip.source(), kOurIp);
  EXPECT_EQ(ip.destination(), kPeerIp);
  EXPECT_EQ(ip.protocol(), IpProtocol::kIcmp);
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(ip.payload(), icmp), ParseError::kOk);  // checksum verified
  EXPECT_EQ(icmp.type(), IcmpType::kEchoReply);
  EXPECT_EQ(icmp.identifier(), 0x4242);
  EXPECT_EQ(icmp.sequence(), 7);
  EXPECT_EQ(Bytes(icmp.payload().begin(), icmp.payload().end()), (Bytes{'f', 'e', 'r', 'r', 'y'}));
  EXPECT_EQ(Count(NetCounter::kIcmpEchoRequestsIn), 1u);
  EXPECT_EQ(Count(NetCounter::kIcmpEchoRepliesOut), 1u);
}

// Found by fuzzing: identifier, sequence and data all zero leave the echo request's checksum
// 0xf7ff; an RFC 1624 adjustment would give the reply 0x0000, which no receiver accepts.
TEST_F(HostTest, AllZeroEchoRequestGetsAValidReply) {
  HostConfig c = Config();
  c.interfaces[0].static_arp = {{kPeerIp, kPeerMac}};
  Start(c);
  Inject(EthernetFrame(kOurMac, kPeerMac, EtherType::kIpv4,
                       Ipv4Packet(kPeerIp, kOurIp, IpProtocol::kIcmp, EchoRequest(0, 0, {}))));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EthernetView eth;
  Ipv4View ip;
  IcmpView icmp;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  ASSERT_EQ(Ipv4View::Parse(eth.payload(), ip), ParseError::kOk);
  ASSERT_EQ(IcmpView::Parse(ip.payload(), icmp), ParseError::kOk);
  EXPECT_EQ(icmp.checksum(), 0xffff);
}

TEST_F(HostTest, ReplyToUnknownNeighborWaitsForArpResolution) {
  Start(Config());
  Inject(PingFrame(kPeerIp, kPeerMac));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);  // the reply is queued; a request goes out for its next hop
  ArpView request = ExpectArp(sent[0].bytes, 1);
  EXPECT_EQ(request.target_ip(), kPeerIp);
  EXPECT_EQ(request.sender_ip(), kOurIp);
  Inject(EthernetFrame(kOurMac, kPeerMac, EtherType::kArp,
                       Arp(2, kPeerMac, kPeerIp, kOurMac, kOurIp)));
  sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  EXPECT_EQ(eth.destination(), kPeerMac);
  EXPECT_EQ(eth.ethertype(), EtherType::kIpv4);
}

TEST_F(HostTest, ReplyToOffLinkSourceGoesThroughTheGateway) {
  HostConfig c = Config();
  c.interfaces[0].static_arp = {{kGatewayIp, kGatewayMac}};
  Start(c);
  Inject(PingFrame(kFarIp, kGatewayMac));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  EXPECT_EQ(eth.destination(), kGatewayMac);
}

TEST_F(HostTest, NoRouteDropsTheReply) {
  HostConfig c = Config();
  c.routes.clear();
  Start(c);
  Inject(PingFrame(kFarIp, kGatewayMac));
  EXPECT_TRUE(TakeSent().empty());
  EXPECT_EQ(Count(NetCounter::kDropNoRoute), 1u);
}

TEST_F(HostTest, UnresolvedNextHopDropsQueuedReplyAfterRetries) {
  Start(Config());
  Inject(PingFrame(kPeerIp, kPeerMac));
  for (int s = 1; s <= 3; ++s) host_->Tick(now_ + seconds(s));
  EXPECT_EQ(Count(NetCounter::kDropArpUnresolved), 1u);
}

// ---- VLAN ----------------------------------------------------------------------------------

TEST_F(HostTest, TaggedInterfaceAnswersWithTheTag) {
  Start(Config(/*vlan=*/100));
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp,
                       Arp(1, kPeerMac, kPeerIp, MacAddress::Zero(), kOurIp), 100));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  ASSERT_EQ(eth.ethertype(), EtherType::kVlan);
  VlanTagView tag;
  ASSERT_EQ(VlanTagView::Parse(eth.payload(), tag), ParseError::kOk);
  EXPECT_EQ(tag.vlan_id(), 100);
  EXPECT_EQ(tag.inner_ethertype(), EtherType::kArp);
}

TEST_F(HostTest, WrongOrMissingTagIsDropped) {
  Start(Config(/*vlan=*/100));
  Bytes arp = Arp(1, kPeerMac, kPeerIp, MacAddress::Zero(), kOurIp);
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp, arp, 200));
  Inject(EthernetFrame(MacAddress::Broadcast(), kPeerMac, EtherType::kArp, arp));
  Inject(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00});
  EXPECT_EQ(Count(NetCounter::kDropVlanUnknown), 2u);
  EXPECT_EQ(Count(NetCounter::kDropVlanTruncated), 1u);
  EXPECT_TRUE(TakeSent().empty());
}

// ---- Drops: every malformed or foreign frame is counted under one reason -------------------

TEST_F(HostTest, LinkLayerDrops) {
  Start(Config());
  Inject(Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  Inject(EthernetFrame(MacAddress{{0x02, 9, 9, 9, 9, 9}}, kPeerMac, EtherType::kIpv4, Bytes(40)));
  Inject(EthernetFrame(MacAddress{{0x33, 0x33, 0, 0, 0, 1}}, kPeerMac, EtherType::kIpv6, Bytes(40)));
  Inject(EthernetFrame(kOurMac, kPeerMac, EtherType::kIpv6, Bytes(40)));
  EXPECT_EQ(Count(NetCounter::kDropEthTruncated), 1u);
  EXPECT_EQ(Count(NetCounter::kDropEthNotForUs), 2u);
  EXPECT_EQ(Count(NetCounter::kDropEthUnknownType), 1u);
  EXPECT_EQ(Count(NetCounter::kRxFrames), 4u);
}

TEST_F(HostTest, Ipv4HeaderDrops) {
  Start(Config());
  const Bytes good = Ipv4Packet(kPeerIp, kOurIp, IpProtocol::kIcmp, EchoRequest(1, 1, {}));
  auto inject_ip = [&](const Bytes& ip) { Inject(EthernetFrame(kOurMac, kPeerMac, EtherType::kIpv4, ip)); };
  auto with_checksum = [](Bytes ip) {
    StoreBe16(&ip[10], 0);
    StoreBe16(&ip[10], Ipv4HeaderChecksum(std::span(ip).first((ip[0] & 0xf) * 4u)));
    return ip;
  };
  inject_ip(Bytes(good.begin(), good.begin() + 12));                 // truncated
  Bytes v6 = good; v6[0] = 0x65; inject_ip(with_checksum(v6));        // version 6
  Bytes ihl4 = good; ihl4[0] = 0x44; inject_ip(ihl4);                 // IHL 4
  Bytes big = good; StoreBe16(&big[2], 1000); inject_ip(with_checksum(big));  // total > frame
  Bytes sum = good; sum[10] ^= 0xff; inject_ip(sum);                  // checksum
  Bytes frag = good; frag[6] = 0x20; inject_ip(with_checksum(frag));  // MF
  Bytes ttl0 = good; ttl0[8] = 0; inject_ip(with_checksum(ttl0));
  inject_ip(Ipv4Packet(Ipv4Address::FromOctets(224, 0, 0, 1), kOurIp, IpProtocol::kIcmp, EchoRequest(1, 1, {})));
  inject_ip(Ipv4Packet(kOurIp, kOurIp, IpProtocol::kIcmp, EchoRequest(1, 1, {})));
  inject_ip(Ipv4Packet(kPeerIp, kGatewayIp, IpProtocol::kIcmp, EchoRequest(1, 1, {})));
  inject_ip(Ipv4Packet(kPeerIp, kOurIp, IpProtocol::kUdp, Bytes(8)));
  EXPECT_EQ(Count(NetCounter::kDropIpv4Truncated), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4BadVersion), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4BadHeaderLength), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4BadTotalLength), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4BadChecksum), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4Fragment), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4TtlZero), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4BadSource), 2u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4NotForUs), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIpv4UnhandledProtocol), 1u);
  EXPECT_TRUE(TakeSent().empty());
}

// The port's verdict on the IPv4 header checksum is trusted: GOOD and NONE ("not computed, data
// valid") skip the software check, BAD drops, UNKNOWN is checked in software.
TEST_F(HostTest, ReceiveChecksumOffloadFlagsAreHonoured) {
  HostConfig c = Config();
  c.interfaces[0].static_arp = {{kPeerIp, kPeerMac}};
  Start(c);
  Bytes frame = PingFrame(kPeerIp, kPeerMac);
  frame[EthernetRepr::kLength + 10] ^= 0xff;  // header checksum now wrong
  Inject(frame, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  Inject(frame, RTE_MBUF_F_RX_IP_CKSUM_NONE);
  EXPECT_EQ(TakeSent().size(), 2u);
  Inject(PingFrame(kPeerIp, kPeerMac), RTE_MBUF_F_RX_IP_CKSUM_BAD);
  Inject(frame, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
  EXPECT_TRUE(TakeSent().empty());
  EXPECT_EQ(Count(NetCounter::kDropIpv4BadChecksum), 2u);
}

TEST_F(HostTest, TransmitChecksumOffloadLeavesTheFieldToTheNic) {
  HostConfig c = Config();
  c.interfaces[0].static_arp = {{kPeerIp, kPeerMac}};
  c.interfaces[0].tx_ipv4_checksum_offload = true;
  Start(c);
  Inject(PingFrame(kPeerIp, kPeerMac));
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(LoadBe16(&sent[0].bytes[EthernetRepr::kLength + 10]), 0);
  EXPECT_EQ(sent[0].ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM),
            RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(sent[0].l2_len, EthernetRepr::kLength);
  EXPECT_EQ(sent[0].l3_len, Ipv4Repr::kLength);
}

TEST_F(HostTest, TrailingLinkPaddingIsNotPartOfThePacket) {
  HostConfig c = Config();
  c.interfaces[0].static_arp = {{kPeerIp, kPeerMac}};
  Start(c);
  Bytes frame = PingFrame(kPeerIp, kPeerMac);
  frame.resize(frame.size() + 9, 0xee);  // padding after the IPv4 total length
  Inject(frame);
  auto sent = TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  Ipv4View ip;
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(sent[0].bytes, eth), ParseError::kOk);
  ASSERT_EQ(Ipv4View::Parse(eth.payload(), ip), ParseError::kOk);
  EXPECT_EQ(ip.total_length(), 20 + 8 + 5);
}

TEST_F(HostTest, IcmpDrops) {
  Start(Config());
  auto inject_icmp = [&](const Bytes& icmp) {
    Inject(EthernetFrame(kOurMac, kPeerMac, EtherType::kIpv4,
                         Ipv4Packet(kPeerIp, kOurIp, IpProtocol::kIcmp, icmp)));
  };
  inject_icmp(Bytes{8, 0, 0});
  Bytes bad = EchoRequest(1, 1, {1, 2, 3});
  bad[9] ^= 1;
  inject_icmp(bad);
  Bytes timestamp(20);
  timestamp[0] = 13;
  InternetChecksum sum;
  sum.Add(timestamp);
  StoreBe16(&timestamp[2], sum.Finish());
  inject_icmp(timestamp);
  EXPECT_EQ(Count(NetCounter::kDropIcmpTruncated), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIcmpBadChecksum), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIcmpUnhandledType), 1u);
  EXPECT_TRUE(TakeSent().empty());
}

// ---- ICMP fragmentation needed (RFC 1191) -------------------------------------------------

// What the host told the transport.
struct FragNeeded {
  Ipv4Address local;
  Ipv4Address remote;
  uint16_t local_port;
  uint16_t remote_port;
  uint32_t quoted_seq;
  uint16_t next_hop_mtu;
  base::Instant now;
};

class RecordingTransport : public TransportHandler {
 public:
  void Input(rte_mbuf* packet, Ipv4Address, Ipv4Address, base::Instant) override {
    ++inputs;
    rte_pktmbuf_free(packet);
  }
  void IcmpFragmentationNeeded(Ipv4Address local, Ipv4Address remote, uint16_t local_port,
                               uint16_t remote_port, uint32_t quoted_seq, uint16_t next_hop_mtu,
                               base::Instant now) override {
    calls.push_back({local, remote, local_port, remote_port, quoted_seq, next_hop_mtu, now});
  }
  int inputs = 0;
  std::vector<FragNeeded> calls;
};

// A transport without path MTU discovery: only Input, the default ignores the ICMP.
class InputOnlyTransport : public TransportHandler {
 public:
  void Input(rte_mbuf* packet, Ipv4Address, Ipv4Address, base::Instant) override {
    rte_pktmbuf_free(packet);
  }
};

// The start of a datagram we sent, as a router quotes it: a 20-byte IPv4 header claiming
// `total_length`, then the first `transport_bytes` of a TCP header (ports, sequence number,
// then zeros).
Bytes Quote(Ipv4Address src, Ipv4Address dst, uint16_t sport, uint16_t dport, uint32_t seq,
            uint16_t total_length = 1500, uint8_t protocol = IpProtocol::kTcp,
            size_t transport_bytes = 8) {
  Bytes b(Ipv4Repr::kLength);
  Ipv4Repr r{};
  r.source = src;
  r.destination = dst;
  r.protocol = protocol;
  r.payload_length = static_cast<uint16_t>(total_length - Ipv4Repr::kLength);
  r.Emit(b);
  Bytes tcp(std::max<size_t>(transport_bytes, 8));
  StoreBe16(&tcp[0], sport);
  StoreBe16(&tcp[2], dport);
  StoreBe32(&tcp[4], seq);
  tcp.resize(transport_bytes);
  b.insert(b.end(), tcp.begin(), tcp.end());
  return b;
}

// ICMP destination unreachable (type 3) with `code`, next-hop MTU in bytes 6..7 (RFC 1191 §4).
Bytes Unreachable(uint8_t code, uint16_t next_hop_mtu, const Bytes& quote) {
  Bytes b(8);
  b[0] = IcmpType::kDestinationUnreachable;
  b[1] = code;
  StoreBe16(&b[6], next_hop_mtu);
  b.insert(b.end(), quote.begin(), quote.end());
  InternetChecksum sum;
  sum.Add(b);
  StoreBe16(&b[2], sum.Finish());
  return b;
}

class FragmentationNeededTest : public HostTest {
 protected:
  void SetUp() override {
    HostTest::SetUp();
    Start(Config());
    host_->SetTcpHandler(&transport_);
  }
  // From a router beyond the gateway, as ICMP errors come.
  void InjectIcmp(const Bytes& icmp) {
    Inject(EthernetFrame(kOurMac, kGatewayMac, EtherType::kIpv4,
                         Ipv4Packet(Ipv4Address::FromOctets(198, 19, 0, 254), kOurIp,
                                    IpProtocol::kIcmp, icmp)));
  }
  Bytes OurSegment(uint16_t total_length = 1500) {
    return Quote(kOurIp, kFarIp, 80, 40000, 0x12345678, total_length);
  }

  RecordingTransport transport_;
};

TEST_F(FragmentationNeededTest, QuoteOfOurSegmentReachesTheTransport) {
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 1400, OurSegment()));
  ASSERT_EQ(transport_.calls.size(), 1u);
  const FragNeeded& c = transport_.calls[0];
  EXPECT_EQ(c.local, kOurIp);
  EXPECT_EQ(c.remote, kFarIp);
  EXPECT_EQ(c.local_port, 80);
  EXPECT_EQ(c.remote_port, 40000);
  EXPECT_EQ(c.quoted_seq, 0x12345678u);
  EXPECT_EQ(c.next_hop_mtu, 1400);
  EXPECT_EQ(c.now, now_);
  EXPECT_EQ(transport_.inputs, 0);
  EXPECT_EQ(Count(NetCounter::kIcmpFragNeededIn), 1u);
  EXPECT_EQ(Count(NetCounter::kDropIcmpUnhandledType), 0u);
  EXPECT_TRUE(TakeSent().empty());  // nothing is answered; TearDown checks the mbuf was freed
}

// RFC 1812 §4.3.2.3: routers may quote more than 8 bytes; the extra is not in the way.
TEST_F(FragmentationNeededTest, LongerQuoteIsAccepted) {
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 1280,
                         Quote(kOurIp, kFarIp, 443, 50000, 7, 1500, IpProtocol::kTcp, 40)));
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(transport_.calls[0].local_port, 443);
  EXPECT_EQ(transport_.calls[0].quoted_seq, 7u);
  EXPECT_EQ(transport_.calls[0].next_hop_mtu, 1280);
}

// RFC 1191 §5: a router from before RFC 1191 sends MTU 0; the next plateau of the §7 table
// below the quoted datagram's length is used instead.
TEST_F(FragmentationNeededTest, ZeroMtuFallsToThePlateauBelowTheDatagram) {
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 0, OurSegment(1500)));
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 0, OurSegment(1492)));
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 0, OurSegment(9000)));
  ASSERT_EQ(transport_.calls.size(), 3u);
  EXPECT_EQ(transport_.calls[0].next_hop_mtu, 1492);
  EXPECT_EQ(transport_.calls[1].next_hop_mtu, 1006);
  EXPECT_EQ(transport_.calls[2].next_hop_mtu, 8166);
  // No plateau below 68.
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 0, OurSegment(68)));
  EXPECT_EQ(transport_.calls.size(), 3u);
  EXPECT_EQ(Count(NetCounter::kDropIcmpFragNeededBadMtu), 1u);
}

TEST_F(FragmentationNeededTest, DropsByReason) {
  const uint8_t kCode = IcmpCode::kFragmentationNeeded;
  // Bad quotes: 4 bytes of TCP instead of 8; version 6; IHL 4; IHL 6 with 4 bytes after it; a
  // quote of a non-first fragment (no transport header in it).
  InjectIcmp(Unreachable(kCode, 1400,
                         Quote(kOurIp, kFarIp, 80, 40000, 1, 1500, IpProtocol::kTcp, 4)));
  Bytes v6 = OurSegment();
  v6[0] = 0x65;
  InjectIcmp(Unreachable(kCode, 1400, v6));
  Bytes ihl4 = OurSegment();
  ihl4[0] = 0x44;
  InjectIcmp(Unreachable(kCode, 1400, ihl4));
  Bytes ihl6 = OurSegment();
  ihl6[0] = 0x46;
  InjectIcmp(Unreachable(kCode, 1400, ihl6));
  Bytes fragment = OurSegment();
  StoreBe16(&fragment[6], 0x00b9);  // offset 185 * 8 = 1480
  InjectIcmp(Unreachable(kCode, 1400, fragment));
  EXPECT_EQ(Count(NetCounter::kDropIcmpFragNeededBadQuote), 5u);

  // Not ours: the quoted source is another host's.
  InjectIcmp(Unreachable(kCode, 1400, Quote(kPeerIp, kFarIp, 80, 40000, 1)));
  EXPECT_EQ(Count(NetCounter::kDropIcmpFragNeededNotOurs), 1u);

  // Ours but UDP.
  InjectIcmp(Unreachable(kCode, 1400,
                         Quote(kOurIp, kFarIp, 53, 53, 0, 1500, IpProtocol::kUdp)));
  EXPECT_EQ(Count(NetCounter::kDropIcmpFragNeededNotTcp), 1u);

  // RFC 1191 §3: nothing below 68; and an MTU the datagram fits cannot have refused it.
  InjectIcmp(Unreachable(kCode, 67, OurSegment()));
  InjectIcmp(Unreachable(kCode, 1500, OurSegment(1500)));
  InjectIcmp(Unreachable(kCode, 9000, OurSegment(1500)));
  EXPECT_EQ(Count(NetCounter::kDropIcmpFragNeededBadMtu), 3u);

  // Other destination-unreachable codes are not path MTU discovery.
  InjectIcmp(Unreachable(3 /* port unreachable */, 1400, OurSegment()));
  EXPECT_EQ(Count(NetCounter::kDropIcmpUnhandledType), 1u);

  EXPECT_TRUE(transport_.calls.empty());
  EXPECT_EQ(Count(NetCounter::kIcmpFragNeededIn), 0u);
  EXPECT_TRUE(TakeSent().empty());
}

TEST_F(FragmentationNeededTest, WithoutATcpHandlerItIsDropped) {
  host_->SetTcpHandler(nullptr);
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 1400, OurSegment()));
  EXPECT_EQ(Count(NetCounter::kDropIcmpFragNeededNotTcp), 1u);
  EXPECT_TRUE(transport_.calls.empty());
}

TEST_F(FragmentationNeededTest, TransportWithoutPmtudIgnoresIt) {
  InputOnlyTransport input_only;
  host_->SetTcpHandler(&input_only);
  InjectIcmp(Unreachable(IcmpCode::kFragmentationNeeded, 1400, OurSegment()));
  EXPECT_EQ(Count(NetCounter::kIcmpFragNeededIn), 1u);
  EXPECT_TRUE(transport_.calls.empty());
}

TEST_F(HostTest, ConfigWithOffLinkRouteIsRefused) {
  HostConfig c = Config();
  c.routes = {{Ipv4Prefix{kFarIp, 16}, Ipv4Address::FromOctets(10, 0, 0, 1)}};
  auto host = Host::Create(c, pool_, sink_, counters_, now_);
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.status().message().find("not in any interface's subnet"), absl::string_view::npos);
}

}  // namespace
}  // namespace ferry::net
