// Segments on the wire: BuildSegment then ParseSegment round-trips every field and the payload
// bytes (by reference, never copied); every malformed segment is refused with its reason.
#include "tcp/segment.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/tcp_header.h"

namespace ferry::tcp {
namespace {

using Bytes = std::vector<uint8_t>;
using net::TcpFlags;

const net::Ipv4Address kClient = net::Ipv4Address::FromOctets(198, 18, 0, 2);
const net::Ipv4Address kFerry = net::Ipv4Address::FromOctets(198, 18, 0, 1);

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    pool_ = rte_pktmbuf_pool_create(("segment_test" + std::to_string(n++)).c_str(), 255, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
    rte_mempool_free(pool_);
  }

  // A chain holding `data`, split into mbufs of the given sizes.
  rte_mbuf* Chain(const Bytes& data, std::vector<size_t> sizes) {
    rte_mbuf* head = nullptr;
    size_t at = 0;
    for (size_t size : sizes) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(size)), data.data() + at, size);
      at += size;
      if (head == nullptr) {
        head = m;
      } else {
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
      }
    }
    EXPECT_EQ(at, data.size());
    return head;
  }

  // Every byte of a chain.
  static Bytes Read(const rte_mbuf* m) {
    Bytes out;
    for (; m != nullptr; m = m->next) {
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
      out.insert(out.end(), p, p + rte_pktmbuf_data_len(m));
    }
    return out;
  }

  // A received TCP segment as the host hands it over: one mbuf starting at the TCP header.
  rte_mbuf* Received(const Bytes& tcp) { return Chain(tcp, {tcp.size()}); }

  // Builds a segment, checks its IPv4 header, and returns the TCP part as bytes.
  Bytes BuildToBytes(const OutSegment& out, bool offload = false) {
    rte_mbuf* packet = BuildSegment(out, kFerry, kClient, pool_, offload);
    EXPECT_NE(packet, nullptr);
    Bytes bytes = Read(packet);
    rte_pktmbuf_free(packet);
    net::Ipv4View ip;
    EXPECT_EQ(net::Ipv4View::Parse(bytes, ip, /*verify_checksum=*/false), net::ParseError::kOk);
    EXPECT_EQ(ip.protocol(), net::IpProtocol::kTcp);
    EXPECT_EQ(ip.source(), kFerry);
    EXPECT_EQ(ip.total_length(), bytes.size());
    return Bytes(bytes.begin() + 20, bytes.end());
  }

  rte_mempool* pool_ = nullptr;
};

OutSegment DataSegment(rte_mbuf* payload, uint32_t length) {
  OutSegment s;
  s.source_port = 80;
  s.destination_port = 40000;
  s.seq = Seq(0xfffffff0);  // the payload wraps 2^32
  s.ack = Seq(12345);
  s.flags = TcpFlags::kAck | TcpFlags::kPsh;
  s.window = 5000;
  s.options.timestamps = TcpOptions::Timestamps{111, 222};
  s.options.sack_blocks[0] = SackBlock{Seq(20000), Seq(21000)};
  s.options.sack_block_count = 1;
  s.payload = payload;
  s.payload_length = length;
  return s;
}

Bytes Pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  return b;
}

TEST_F(SegmentTest, BuiltSegmentParsesBackFieldForField) {
  const Bytes data = Pattern(301);
  const Bytes tcp = BuildToBytes(DataSegment(Chain(data, {100, 1, 200}), 301));
  net::TcpHeaderView view;
  ASSERT_EQ(net::TcpHeaderView::Parse(tcp, view), net::ParseError::kOk);
  EXPECT_TRUE(net::TcpChecksumValid(view, kFerry, kClient));  // software checksum over the chain

  // Now receive it, as the client would see it (addresses from its side of the wire).
  Segment s;
  rte_mbuf* m = Received(tcp);
  ASSERT_EQ(ParseSegment(m, kFerry, kClient, s), SegmentError::kOk);
  EXPECT_EQ(s.source_port, 80);
  EXPECT_EQ(s.destination_port, 40000);
  EXPECT_EQ(s.seq, Seq(0xfffffff0));
  EXPECT_EQ(s.ack, Seq(12345));
  EXPECT_EQ(s.flags, TcpFlags::kAck | TcpFlags::kPsh);
  EXPECT_EQ(s.window, 5000);
  ASSERT_TRUE(s.options.timestamps.has_value());
  EXPECT_EQ(s.options.timestamps->value, 111u);
  EXPECT_EQ(s.options.sack_block_count, 1);
  EXPECT_EQ(s.payload_length, 301u);
  EXPECT_EQ(s.length(), 301u);
  EXPECT_EQ(s.payload, m);  // the same mbuf, advanced: nothing copied
  EXPECT_EQ(Read(s.payload), data);
  rte_pktmbuf_free(s.payload);
}

TEST_F(SegmentTest, PayloadIsChainedNotCopied) {
  const Bytes data = Pattern(64);
  rte_mbuf* payload = Chain(data, {64});
  OutSegment out = DataSegment(payload, 64);
  rte_mbuf* packet = BuildSegment(out, kFerry, kClient, pool_, false);
  ASSERT_NE(packet, nullptr);
  EXPECT_EQ(packet->next, payload);
  EXPECT_EQ(packet->nb_segs, 2);
  EXPECT_EQ(rte_pktmbuf_pkt_len(packet), 20u + 20 + 12 + 12 + 64);  // IP, TCP, TS, SACK, data
  rte_pktmbuf_free(packet);
}

TEST_F(SegmentTest, SynCarriesSynOptionsAndCountsInSegLen) {
  OutSegment syn;
  syn.source_port = 1;
  syn.destination_port = 2;
  syn.seq = Seq(1000);
  syn.flags = TcpFlags::kSyn;
  syn.window = 65535;
  syn.options.mss = 1460;
  syn.options.window_scale = 7;
  syn.options.sack_permitted = true;
  const Bytes tcp = BuildToBytes(syn);
  Segment s;
  ASSERT_EQ(ParseSegment(Received(tcp), kFerry, kClient, s), SegmentError::kOk);
  EXPECT_EQ(s.options.mss, 1460);
  EXPECT_EQ(s.options.window_scale, 7);
  EXPECT_TRUE(s.options.sack_permitted);
  EXPECT_EQ(s.length(), 1u);  // RFC 9293 §3.4: SYN occupies one sequence number
  rte_pktmbuf_free(s.payload);
}

TEST_F(SegmentTest, ChecksumOffloadSeedsThePseudoHeader) {
  const Bytes tcp = BuildToBytes(DataSegment(nullptr, 0), /*offload=*/true);
  EXPECT_EQ(net::LoadBe16(&tcp[16]),
            net::PseudoHeaderSum(kFerry, kClient, net::IpProtocol::kTcp,
                                 static_cast<uint16_t>(tcp.size())));
  rte_mbuf* packet = BuildSegment(DataSegment(nullptr, 0), kFerry, kClient, pool_, true);
  EXPECT_TRUE(packet->ol_flags & RTE_MBUF_F_TX_TCP_CKSUM);
  EXPECT_EQ(packet->l3_len, 20u);
  EXPECT_EQ(packet->l4_len, tcp.size());
  rte_pktmbuf_free(packet);
}

// ---- Refusals --------------------------------------------------------------------------------

class ParseRefusals : public SegmentTest {
 protected:
  Bytes ValidAck() {
    const Bytes tcp = BuildToBytes(DataSegment(Chain(Pattern(10), {10}), 10));
    return tcp;
  }
  SegmentError ParseBytes(const Bytes& tcp, uint64_t ol_flags = 0) {
    rte_mbuf* m = Received(tcp);
    m->ol_flags = ol_flags;
    Segment s;
    const SegmentError e = ParseSegment(m, kFerry, kClient, s);
    rte_pktmbuf_free(e == SegmentError::kOk ? s.payload : m);
    return e;
  }
  static Bytes FixChecksum(Bytes tcp) {
    net::StoreBe16(&tcp[16], 0);
    net::StoreBe16(&tcp[16], net::TransportChecksum(kFerry, kClient, net::IpProtocol::kTcp, tcp));
    return tcp;
  }
};

TEST_F(ParseRefusals, Truncated) {
  const Bytes tcp = ValidAck();
  for (size_t n : {0, 1, 19}) {
    EXPECT_EQ(ParseBytes(Bytes(tcp.begin(), tcp.begin() + n)), SegmentError::kTruncated) << n;
  }
}

TEST_F(ParseRefusals, DataOffsetBelowFiveOrPastTheSegment) {
  Bytes tcp = ValidAck();
  tcp[12] = 4 << 4;
  EXPECT_EQ(ParseBytes(FixChecksum(tcp)), SegmentError::kBadDataOffset);
  tcp[12] = 15 << 4;
  Bytes short_tcp(tcp.begin(), tcp.begin() + 40);
  EXPECT_EQ(ParseBytes(FixChecksum(short_tcp)), SegmentError::kBadDataOffset);
}

TEST_F(ParseRefusals, BadChecksumUnlessThePortVouched) {
  Bytes tcp = ValidAck();
  tcp.back() ^= 0x40;
  EXPECT_EQ(ParseBytes(tcp), SegmentError::kBadChecksum);
  EXPECT_EQ(ParseBytes(tcp, RTE_MBUF_F_RX_L4_CKSUM_GOOD), SegmentError::kOk);
  EXPECT_EQ(ParseBytes(ValidAck(), RTE_MBUF_F_RX_L4_CKSUM_BAD), SegmentError::kBadChecksum);
}

TEST_F(ParseRefusals, MalformedOptions) {
  Bytes tcp = ValidAck();
  tcp[20] = 8;  // timestamps kind where NOP was...
  tcp[21] = 0;  // ...with length 0 (RFC 9293 §3.1 MUST-7)
  EXPECT_EQ(ParseBytes(FixChecksum(tcp)), SegmentError::kBadOptions);
}

TEST_F(ParseRefusals, ImpossibleFlagCombinations) {
  const Bytes base = ValidAck();
  for (uint8_t flags : {uint8_t{TcpFlags::kSyn | TcpFlags::kFin},
                        uint8_t{TcpFlags::kSyn | TcpFlags::kRst},
                        uint8_t{TcpFlags::kSyn | TcpFlags::kFin | TcpFlags::kAck}, uint8_t{0},
                        uint8_t{TcpFlags::kFin}, uint8_t{TcpFlags::kPsh | TcpFlags::kUrg}}) {
    Bytes tcp = base;
    tcp[13] = flags;
    EXPECT_EQ(ParseBytes(FixChecksum(tcp)), SegmentError::kBadFlags) << int{flags};
  }
  for (uint8_t flags : {uint8_t{TcpFlags::kSyn}, uint8_t{TcpFlags::kSyn | TcpFlags::kAck},
                        uint8_t{TcpFlags::kRst}, uint8_t{TcpFlags::kRst | TcpFlags::kAck},
                        uint8_t{TcpFlags::kFin | TcpFlags::kAck}}) {
    Bytes tcp = base;
    tcp[13] = flags;
    EXPECT_EQ(ParseBytes(FixChecksum(tcp)), SegmentError::kOk) << int{flags};
  }
}

TEST(DropCounter, EachRefusalHasItsOwnCounter) {
  std::set<TcpCounter> seen;
  for (SegmentError e : {SegmentError::kTruncated, SegmentError::kBadDataOffset,
                         SegmentError::kBadChecksum, SegmentError::kBadOptions,
                         SegmentError::kBadFlags}) {
    const TcpCounter c = DropCounter(e);
    EXPECT_NE(c, TcpCounter::kCount);
    EXPECT_TRUE(Name(c).starts_with("drop_")) << Name(c);
    EXPECT_TRUE(seen.insert(c).second);
  }
  EXPECT_EQ(DropCounter(SegmentError::kOk), TcpCounter::kCount);
}

TEST_F(ParseRefusals, RefusedSegmentIsLeftToTheCaller) {
  Bytes tcp = ValidAck();
  tcp.back() ^= 1;
  rte_mbuf* m = Received(tcp);
  const uint32_t length = rte_pktmbuf_pkt_len(m);
  Segment s;
  ASSERT_EQ(ParseSegment(m, kFerry, kClient, s), SegmentError::kBadChecksum);
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), length);  // untouched
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace ferry::tcp
