// ICMP "fragmentation needed" (RFC 1191 path MTU discovery) as the host hands it to the stack
// (TcpStack::FragmentationNeeded), with RFC 5927 §4.1's check that the quoted sequence number
// is in flight.
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// RFC 1191 §6 (TCP MSS = path MTU - 40): a plausible "fragmentation needed" lowers the MSS;
// later segments fit the new MTU, the timestamps still coming out of them.
TEST(FragmentationNeeded, LowersTheMss) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(kMssTs);
  h.Expect(Ack().Seq(1).Ack(1).Len(kMssTs));
  EXPECT_TRUE(h.FragmentationNeeded(1, 1000));
  EXPECT_EQ(h.tcb()->mss(), 960);
  EXPECT_EQ(h.counter(TcpCounter::kPmtuReductions), 1u);
  h.Flush();  // an immediate retransmission is allowed (RFC 1191 §6)
  h.Inject(Ack().Seq(1).Ack(1 + kMssTs));
  h.SendBytes(3000);
  h.Expect(Ack().Seq(1 + kMssTs).Ack(1).Len(948));
}

// RFC 1191 §6: the segment that was too big is sent again in pieces that fit (at once, or
// when its timer expires).
TEST(FragmentationNeeded, TooBigSegmentIsResentSmaller) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(kMss);
  h.Expect(Ack().Seq(1).Ack(1).Len(kMss));
  ASSERT_TRUE(h.FragmentationNeeded(1, 1200));
  h.AdvanceUntilOutput(5s);
  h.Expect(Ack().Seq(1).Ack(1).Len(1160));
}

// RFC 5927 §4.1: the quoted sequence number must lie in [SND.UNA, SND.NXT); others are ignored
// (a blind attacker's guess, or a stale message).
TEST(FragmentationNeeded, QuoteOutsideTheFlightIsIgnored) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  EXPECT_FALSE(h.FragmentationNeeded(101, 1000));    // SND.NXT: nothing sent there
  EXPECT_FALSE(h.FragmentationNeeded(50000, 1000));  // far ahead
  EXPECT_FALSE(h.FragmentationNeeded(0, 1000));      // below SND.UNA
  EXPECT_EQ(h.tcb()->mss(), 1460);
  EXPECT_EQ(h.counter(TcpCounter::kPmtuReductions), 0u);
}

// RFC 1191 §3: an MTU at or above the current one changes nothing (PMTU only shrinks here).
TEST(FragmentationNeeded, LargerMtuIsIgnored) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  EXPECT_FALSE(h.FragmentationNeeded(1, 9000));
  EXPECT_FALSE(h.FragmentationNeeded(1, 1500));
  EXPECT_EQ(h.tcb()->mss(), 1460);
}

// RFC 1191 §3 / RFC 791: an absurdly small MTU (below 68, the IPv4 minimum) cannot shrink
// the MSS to nothing; segments still carry data.
TEST(FragmentationNeeded, TinyMtuKeepsAUsableMss) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.FragmentationNeeded(1, 20);
  EXPECT_GE(h.tcb()->mss(), 28);
  h.Inject(Ack().Seq(1).Ack(101));
  h.SendBytes(500);
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_GT(c->payload.size(), 0u);
}

// No connection on the tuple: nothing to do.
TEST(FragmentationNeeded, UnknownConnectionIsIgnored) {
  Harness h;
  h.Listen();
  EXPECT_FALSE(h.FragmentationNeeded(1, 1000));
}

}  // namespace
}  // namespace ferry::tcp::packet
