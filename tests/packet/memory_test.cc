// Memory pressure (StackOptions::pressure_free_mbufs and reserve_free_mbufs): what a worker
// whose pool runs low does with arriving text and with the windows it offers. The rules come
// from RFC 9293 §3.10.7.4 ("If the RCV.WND is zero ... special allowance should be made to
// accept valid ACKs, URGs, and RSTs"), §3.8.6 (the right edge never moves left) and RFC 5681
// §3.2 (duplicate ACKs for what was not taken).
#include <gtest/gtest.h>

#include "harness.h"

namespace ferry::tcp::packet {
namespace {

constexpr uint32_t kPressure = 256;
constexpr uint32_t kReserve = 128;

void SetThresholds(Harness& h) {
  h.stack_options().pressure_free_mbufs = kPressure;
  h.stack_options().reserve_free_mbufs = kReserve;
}

// Down to the reserve, text is refused as if lost, and acknowledged at once with RCV.NXT
// unchanged; the ACK field of the same segment is still taken (RFC 9293 §3.10.7.4), so the
// data it acknowledges leaves the send queue and frees its mbufs.
TEST(MemoryReserve, TextIsRefusedButItsAckIsTaken) {
  Harness h;
  SetThresholds(h);
  h.EstablishPassive(Peer{.ts = false});
  h.Send("hello");
  h.Expect(Ack().Seq(1).Ack(1).Data("hello"));
  h.SqueezePool(kReserve / 2);
  h.Advance(1ms);
  h.Inject(Ack().Seq(1).Ack(6).Len(500));
  h.Expect(Ack().Seq(6).Ack(1));
  EXPECT_EQ(h.Events(), Log({"acked 5"}));
  EXPECT_EQ(h.Received(), "");
  EXPECT_EQ(h.counter(TcpCounter::kTextDroppedMemory), 1u);
}

// Once mbufs are free again the peer's retransmission is taken as usual.
TEST(MemoryReserve, RetransmissionIsTakenOnceMbufsAreBack) {
  Harness h;
  SetThresholds(h);
  h.EstablishPassive(Peer{.ts = false});
  h.SqueezePool(kReserve / 2);
  h.Advance(1ms);
  h.Inject(Ack().Seq(1).Ack(1).Len(500));
  h.Expect(Ack().Seq(1).Ack(1));
  h.ReleasePool();
  h.Advance(1ms);
  h.Inject(Ack().Seq(1).Ack(1).Len(500).Flags(TcpFlags::kPsh));
  h.Advance(200ms);
  h.Expect(Ack().Seq(1).Ack(501));
  EXPECT_EQ(h.Received(), PeerPattern(1, 500));
}

// A FIN after refused text lies beyond RCV.NXT: it is not taken either (the peer sends both
// again), so the owner never sees a FIN with data missing before it.
TEST(MemoryReserve, FinAfterRefusedTextIsNotTaken) {
  Harness h;
  SetThresholds(h);
  h.EstablishPassive(Peer{.ts = false});
  h.SqueezePool(kReserve / 2);
  h.Advance(1ms);
  h.Inject(Fin().Seq(1).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({}));
}

// A FIN with no text costs no mbuf beyond the one it came in: it is taken.
TEST(MemoryReserve, BareFinIsTaken) {
  Harness h;
  SetThresholds(h);
  h.EstablishPassive(Peer{.ts = false});
  h.SqueezePool(kReserve / 2);
  h.Advance(1ms);
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin"}));
}

// Text that fills a hole is still taken: it releases the out-of-order segments queued behind
// it, where refusing it would keep them (and their mbufs) until the peer gave up. Text beyond
// the hole is refused, and the SACK block still reports what is held (RFC 2018 §4).
TEST(MemoryReserve, TextFillingAHoleIsTaken) {
  Harness h;
  SetThresholds(h);
  h.EstablishPassive();
  h.Inject(Ack().Seq(101).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{101, 201}}));
  h.SqueezePool(kReserve / 2);
  h.Advance(1ms);
  h.Inject(Ack().Seq(201).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{101, 201}}));
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(201).NoSack());
  EXPECT_EQ(h.Received(), PeerPattern(1, 200));
  EXPECT_EQ(h.counter(TcpCounter::kTextDroppedMemory), 1u);
}

// Under pressure (above the reserve) text is still taken, but the window stops opening: an
// owner that reads frees space the stack does not offer (RFC 9293 §3.8.6.2.2 lets a receiver
// hold the edge), and the edge already offered is kept.
TEST(MemoryPressure, WindowStopsOpeningButTheEdgeStays) {
  Harness h;
  SetThresholds(h);
  h.connection_options().receive_window = 10000;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(10000);
  h.EstablishPassive(Peer{.ts = false});
  h.SqueezePool((kPressure + kReserve) / 2);
  h.Advance(1ms);
  h.Inject(Ack().Seq(1).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1 + kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1).Ack(1 + 2 * kMss).Win(10000 - 2 * kMss));
  h.Read();
  h.ExpectNothing();  // no window update: the space is not offered
  h.Inject(Ack().Seq(1 + 2 * kMss).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1 + 3 * kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1).Ack(1 + 4 * kMss).Win(10000 - 4 * kMss));
  EXPECT_EQ(h.counter(TcpCounter::kTextDroppedMemory), 0u);
}

// Once the pool has room again the window opens with the next segment sent.
TEST(MemoryPressure, WindowReopensWhenMbufsAreBack) {
  Harness h;
  SetThresholds(h);
  h.connection_options().receive_window = 10000;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(10000);
  h.EstablishPassive(Peer{.ts = false});
  h.SqueezePool((kPressure + kReserve) / 2);
  h.Advance(1ms);
  h.Inject(Ack().Seq(1).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1 + kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1).Ack(1 + 2 * kMss).Win(10000 - 2 * kMss));
  h.Read();
  h.ReleasePool();
  h.Advance(1ms);
  h.Send("x");
  h.Expect(Ack().Seq(1).Ack(1 + 2 * kMss).Win(10000).Data("x"));
}

}  // namespace
}  // namespace ferry::tcp::packet
