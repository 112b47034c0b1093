// Flow control through the proxy (docs/proxy.md "Flow control: the window is the other side's
// queue"): the window a connection offers is what the other connection's send queue can still
// take, less what the session holds for it, so a fast sender behind a slow receiver sees its
// window close, and nothing queues up in ferry beyond max_in_flight_bytes. The window never
// shrinks (RFC 9293 §3.8.6.2.2: the right edge is never moved left).
#include <algorithm>

#include "gtest/gtest.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

// Right edges (ACK + window) of the segments ferry sent to a peer, in order, for a connection
// whose window is not scaled (the harness's receive_window keeps ferry's shift at 0).
class Edges {
 public:
  explicit Edges(uint32_t first) : last_(first) {}
  // Takes every unchecked segment on `f`, checks none moves the right edge left, and returns
  // the last one (nullopt if none).
  std::optional<Captured> Take(ProxyHarness& h, Flow& f) {
    std::optional<Captured> last;
    while (std::optional<Captured> c = h.Take(f)) {
      if (c->flags & TcpFlags::kAck) {
        const uint32_t edge = c->ack - f.peer_isn + c->window;
        EXPECT_GE(edge, last_) << "the right edge moved left: " << h.Describe(f, *c);
        last_ = std::max(last_, edge);
        max_window_ = std::max<uint32_t>(max_window_, c->window);
      }
      last = std::move(c);
    }
    return last;
  }
  uint32_t edge() const { return last_; }
  uint32_t max_window() const { return max_window_; }

 private:
  uint32_t last_;
  uint32_t max_window_ = 0;
};

// ============================== A slow backend, a fast client ===============================

// The backend advertises a zero window: what the client sends fills the backend connection's
// send queue up to max_in_flight_bytes, and the window offered to the client goes to 0 with
// the right edge where the SYN-ACK put it. Bytes beyond it are refused (RFC 9293 §3.10.7.4
// first: not acceptable, ACK and drop). When the backend opens its window the queue drains,
// and when the backend acknowledges, the client's window reopens.
TEST(FlowControl, ClientWindowClosesBehindAZeroWindowBackend) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 4000;
  Flow& c = h.Client();
  h.Inject(c, h.SynOf(c));
  h.Expect(c, SynAck().Seq(0).Ack(1).Win(4000));
  h.Inject(c, Ack().Seq(1).Ack(1));
  Flow& b = h.ExpectSyn();
  h.Accept(b, Peer{.win = 0});

  Edges edges(1 + 4000);
  for (uint32_t i = 0; i < 4; ++i) h.Inject(c, Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  h.Advance(50ms);
  std::optional<Captured> last = edges.Take(h, c);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ack - c.peer_isn, 4001u);
  EXPECT_EQ(last->window, 0u);
  EXPECT_EQ(edges.edge(), 4001u);
  h.ExpectNothing(b);  // a zero window: nothing may go (the persist timer waits its RTO)
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), 4000u);
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 0u) << "it is all in the send queue";

  // The client ignores the closed window: the bytes are refused, not held.
  h.Inject(c, Ack().Seq(4001).Ack(1).Len(500));
  h.Expect(c, Ack().Seq(1).Ack(4001).Win(0));
  EXPECT_EQ(h.counter(ListenerCounter::kBytesFromClient), 4000u);
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 0u);

  // The backend opens its window: the queue drains to it; the client's window stays closed
  // until the backend acknowledges.
  h.Inject(b, Ack().Seq(1).Ack(1).Win(65535));
  h.Advance(1ms);
  EXPECT_EQ(b.from_ferry, PeerPattern(1, 4000));
  h.Flush(b);
  h.ExpectNothing(c);
  h.Inject(b, Ack().Seq(1).Ack(4001));
  last = edges.Take(h, c);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ack - c.peer_isn, 4001u);
  EXPECT_EQ(last->window, 4000u);

  h.Inject(c, Rst().Seq(4001));
  h.Expect(b, Rst().AckBitOptional().Seq(4001));
}

// Part of the queue acknowledged: the client's window grows by as much (once the receiver SWS
// rule of RFC 9293 §3.8.6.2.2 allows an update), never past max_in_flight_bytes.
TEST(FlowControl, ClientWindowGrowsWithWhatTheBackendAcknowledges) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 6000;
  auto [c, b] = h.Splice();
  Edges edges(1 + 6000);
  for (uint32_t i = 0; i < 6; ++i) h.Inject(c, Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  h.Advance(50ms);
  std::optional<Captured> last = edges.Take(h, c);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->window, 0u);
  EXPECT_EQ(b.from_ferry, PeerPattern(1, 6000));
  h.Flush(b);

  h.Inject(b, Ack().Seq(1).Ack(1001));  // 1000 bytes: less than an MSS, no update yet
  h.ExpectNothing(c);
  h.Inject(b, Ack().Seq(1).Ack(3001));
  last = edges.Take(h, c);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->window, 3000u);
  h.Inject(b, Ack().Seq(1).Ack(6001));
  last = edges.Take(h, c);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->window, 6000u);
  EXPECT_EQ(edges.edge(), 6001u + 6000u);

  h.Inject(b, Rst().Seq(1));
  h.Expect(c, Rst().AckBitOptional().Seq(1));
}

// ============================== A slow client, a fast backend ===============================

// The other direction: a client that stops reading (zero window) closes the window the
// backend is offered once max_in_flight_bytes wait for the client.
TEST(FlowControl, BackendWindowClosesBehindAZeroWindowClient) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 3000;
  Flow& c = h.Client();
  h.Handshake(c, Peer{.win = 0});
  // The SYN already offers the cap (stack.h Connect: user_data is set before the SYN is
  // built, so ReceiveSpace finds the session).
  Flow& b = h.ExpectSyn(std::nullopt, Syn().Seq(0).Win(3000));
  h.Inject(b, h.SynAckOf(b));
  h.Expect(b, Ack().Seq(1).Ack(1).Win(3000));

  Edges edges(1 + 3000);
  for (uint32_t i = 0; i < 3; ++i) h.Inject(b, Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  h.Advance(50ms);
  std::optional<Captured> last = edges.Take(h, b);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ack - b.peer_isn, 3001u);
  EXPECT_EQ(last->window, 0u);
  h.ExpectNothing(c);
  EXPECT_EQ(h.counter(ListenerCounter::kBytesToClient), 3000u);

  h.Inject(c, Ack().Seq(1).Ack(1).Win(65535));
  h.Advance(1ms);
  EXPECT_EQ(c.from_ferry, PeerPattern(1, 3000));
  h.Flush(c);
  h.Inject(c, Ack().Seq(1).Ack(3001));
  last = edges.Take(h, b);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->window, 3000u);

  h.Inject(c, Rst().Seq(1));
  h.Expect(b, Rst().AckBitOptional().Seq(1));
}

// ==================================== Held after connect ===================================

// docs/proxy.md "Flow control": a queue that takes less than was delivered leaves the rest
// held, sent first on the next acknowledgement. The PROXY header takes queue space the client
// was already offered: with the cap filled before the backend is up, the last 43 bytes (the
// v1 line's length) stay held until the backend acknowledges; the stream is still exact.
TEST(FlowControl, BytesTheQueueCannotTakeAreHeldUntilTheNextAck) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 4000;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV1;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  for (uint32_t i = 0; i < 4; ++i) h.Inject(c, Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 4000u);

  const std::string header = "PROXY TCP4 198.18.0.2 198.18.0.1 40000 80\r\n";
  ASSERT_EQ(header.size(), 43u);
  h.Inject(b, h.SynAckOf(b));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 43u);
  h.Advance(1ms);
  EXPECT_EQ(b.from_ferry, header + PeerPattern(1, 4000 - 43));
  h.Flush(b);

  h.Inject(b, Ack().Seq(1).Ack(1 + 4000));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 0u);
  h.Advance(1ms);
  EXPECT_EQ(b.from_ferry, header + PeerPattern(1, 4000));
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), 4000u);
  h.FlushAll();

  h.Inject(c, Rst().Seq(4001));
  h.Expect(b, Rst().AckBitOptional().Seq(1 + 4043));
}

// ====================================== Bulk transfer ======================================

// A client that sends whatever window it is offered, through a backend that acknowledges each
// segment as it arrives: 200 KB with max_in_flight_bytes 8000. The stream arrives exact, the
// window offered to the client never exceeds the cap nor moves its right edge left, and the
// session never holds more than the cap.
TEST(FlowControl, BulkTransferStaysWithinTheCap) {
  ProxyHarness h;
  constexpr uint32_t kCap = 8000;
  constexpr uint32_t kTotal = 200'000;
  h.listener().max_in_flight_bytes = kCap;
  auto [c, b] = h.Splice();
  Edges edges(1 + kCap);
  uint32_t sent = 0;      // bytes the client has sent
  uint32_t received = 0;  // bytes the backend has received and acknowledged
  while (received < kTotal) {
    ASSERT_LT(Ms(h.elapsed()), 60'000) << "stalled at " << received;
    bool moved = false;
    while (sent < kTotal && 1 + sent < edges.edge()) {
      const uint32_t n = std::min({kMssTs, kTotal - sent, edges.edge() - (1 + sent)});
      h.Inject(c, Ack().Seq(1 + sent).Ack(1).Len(n));
      sent += n;
      moved = true;
      ASSERT_LE(h.counter(ProxyCounter::kBytesHeld), kCap);
    }
    while (std::optional<Captured> seg = h.Take(b)) {
      if (seg->payload.empty()) continue;
      received = std::max(received, seg->seq - *b.iss - 1 + uint32_t(seg->payload.size()));
      h.Inject(b, Ack().Seq(1).Ack(1 + received));
      moved = true;
    }
    edges.Take(h, c);
    if (!moved) h.Advance(1ms);
  }
  EXPECT_LE(edges.max_window(), kCap);
  EXPECT_EQ(b.from_ferry, PeerPattern(1, kTotal));
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), kTotal);
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 0u);
  h.FlushAll();

  h.Inject(c, Rst().Seq(1 + kTotal));
  h.Expect(b, Rst().AckBitOptional().Seq(1 + kTotal));
}

}  // namespace
}  // namespace ferry::proxy::packet
