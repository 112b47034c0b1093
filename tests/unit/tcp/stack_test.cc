// TcpStack with no listener and no connection: RFC 9293 §3.10.7.1 (CLOSED) for every segment.
#include "tcp/stack.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "net/ipv4.h"
#include "net/tcp_header.h"

namespace ferry::tcp {
namespace {

using net::TcpFlags;

const net::Ipv4Address kPeer = net::Ipv4Address::FromOctets(198, 18, 0, 2);
const net::Ipv4Address kFerry = net::Ipv4Address::FromOctets(198, 18, 0, 1);

class RecordingOutput : public net::Ipv4Output {
 public:
  void SendIpv4(rte_mbuf* packet, base::Instant) override {
    std::vector<uint8_t> bytes;
    for (const rte_mbuf* m = packet; m != nullptr; m = m->next) {
      const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
      bytes.insert(bytes.end(), p, p + rte_pktmbuf_data_len(m));
    }
    packets.push_back(bytes);
    rte_pktmbuf_free(packet);
  }
  std::vector<std::vector<uint8_t>> packets;
};

class ClosedPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    pool_ = rte_pktmbuf_pool_create(("stack_test" + std::to_string(n++)).c_str(), 127, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    StackOptions options;
    options.max_connections = 4;
    stack_ = std::make_unique<TcpStack>(options, pool_, pool_, output_, counters_,
                                        base::SipKey{1, 2}, base::Instant());
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
    rte_mempool_free(pool_);
  }

  // Sends `segment` from the peer to ferry through the stack, as the host would.
  void Inject(OutSegment segment, const char* payload = "") {
    const size_t n = std::strlen(payload);
    if (n > 0) {
      rte_mbuf* data = rte_pktmbuf_alloc(pool_);
      std::memcpy(rte_pktmbuf_append(data, static_cast<uint16_t>(n)), payload, n);
      segment.payload = data;
      segment.payload_length = static_cast<uint32_t>(n);
    }
    rte_mbuf* packet = BuildSegment(segment, kPeer, kFerry, pool_, false);
    ASSERT_NE(packet, nullptr);
    ASSERT_EQ(rte_pktmbuf_linearize(packet), 0);
    rte_pktmbuf_adj(packet, net::Ipv4Repr::kLength);  // the host strips the IPv4 header
    stack_->Input(packet, kPeer, kFerry, base::Instant{});
  }

  // The one reply, parsed.
  net::TcpHeaderView Reply() {
    EXPECT_EQ(output_.packets.size(), 1u);
    reply_ = output_.packets.at(0);
    net::Ipv4View ip;
    EXPECT_EQ(net::Ipv4View::Parse(reply_, ip, false), net::ParseError::kOk);
    EXPECT_EQ(ip.source(), kFerry);
    EXPECT_EQ(ip.destination(), kPeer);
    net::TcpHeaderView tcp;
    EXPECT_EQ(net::TcpHeaderView::Parse(ip.payload(), tcp), net::ParseError::kOk);
    EXPECT_TRUE(net::TcpChecksumValid(tcp, kFerry, kPeer));
    return tcp;
  }

  static OutSegment From(uint16_t port, uint32_t seq, uint8_t flags, uint32_t ack = 0) {
    OutSegment s;
    s.source_port = 40000;
    s.destination_port = port;
    s.seq = Seq(seq);
    s.ack = Seq(ack);
    s.flags = flags;
    s.window = 1000;
    return s;
  }

  rte_mempool* pool_ = nullptr;
  TcpCounters counters_;
  RecordingOutput output_;
  std::unique_ptr<TcpStack> stack_;
  std::vector<uint8_t> reply_;
};

TEST_F(ClosedPortTest, SynIsRefusedWithRstAck) {
  Inject(From(80, 1000, TcpFlags::kSyn));
  net::TcpHeaderView rst = Reply();
  // "If the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>" (RFC 9293 §3.10.7.1)
  EXPECT_EQ(rst.flags(), TcpFlags::kRst | TcpFlags::kAck);
  EXPECT_EQ(rst.seq_number(), 0u);
  EXPECT_EQ(rst.ack_number(), 1001u);  // the SYN counts one
  EXPECT_EQ(rst.source_port(), 80);
  EXPECT_EQ(rst.destination_port(), 40000);
  EXPECT_EQ(counters_.Load(TcpCounter::kResetsOut), 1u);
  EXPECT_EQ(counters_.Load(TcpCounter::kDropNoConnection), 1u);
}

TEST_F(ClosedPortTest, AckIsRefusedWithRstAtItsAckNumber) {
  Inject(From(80, 5000, TcpFlags::kAck | TcpFlags::kPsh, 777), "hello");
  net::TcpHeaderView rst = Reply();
  // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
  EXPECT_EQ(rst.flags(), TcpFlags::kRst);
  EXPECT_EQ(rst.seq_number(), 777u);
  EXPECT_EQ(counters_.Load(TcpCounter::kBytesIn), 5u);
}

TEST_F(ClosedPortTest, SynWithDataCountsItsLengthInTheAck) {
  Inject(From(80, 100, TcpFlags::kSyn), "abc");
  EXPECT_EQ(Reply().ack_number(), 100u + 1 + 3);  // SEG.LEN = SYN + 3 octets
}

// "An incoming segment containing a RST is discarded": never answer a reset with a reset.
TEST_F(ClosedPortTest, ResetIsNeverAnswered) {
  Inject(From(80, 100, TcpFlags::kRst));
  Inject(From(80, 100, TcpFlags::kRst | TcpFlags::kAck, 5));
  EXPECT_TRUE(output_.packets.empty());
  EXPECT_EQ(counters_.Load(TcpCounter::kResetsOut), 0u);
  EXPECT_EQ(counters_.Load(TcpCounter::kSegmentsIn), 2u);
}

TEST_F(ClosedPortTest, MalformedSegmentsAreDroppedAndCountedNotAnswered) {
  OutSegment bad = From(80, 1, TcpFlags::kSyn | TcpFlags::kFin);
  Inject(bad);
  EXPECT_TRUE(output_.packets.empty());
  EXPECT_EQ(counters_.Load(TcpCounter::kDropBadFlags), 1u);
  EXPECT_EQ(counters_.Load(TcpCounter::kSegmentsIn), 0u);
}

}  // namespace
}  // namespace ferry::tcp
