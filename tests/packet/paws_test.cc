// Timestamps (RFC 7323): negotiation and presence (§3.2), TS.Recent and the echoed value
// (§4.3), PAWS (§5.3, §5.5), and our timestamp clock (§5.4).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

constexpr uint32_t kOld = 999'000;  // below every TSval the peer sends in these tests

// RFC 7323 §3.2: once negotiated, TSopt is sent "in every non-<RST> segment", and TSecr
// echoes the peer's TSval (TS.Recent).
TEST(Timestamps, CarriedOnEverySegmentOnceNegotiated) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("abc").Ts(1'000'500, h.last_tsval()));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(4).TsEcr(1'000'500));
  h.Send("xyz");
  h.Expect(Ack().Seq(1).Ack(4).Data("xyz").TsEcr(1'000'500));
  h.Shutdown();
  h.Expect(Fin().Seq(4).Ack(4).TsEcr(1'000'500));
}

// RFC 7323 §3.2: no TSopt from the peer's SYN, none from us, ever.
TEST(Timestamps, NeverSentWhenThePeerDidNotOffer) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Data("abc"));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(4).NoTs());
  h.Send("xyz");
  h.Expect(Ack().Seq(1).Ack(4).Data("xyz").NoTs());
}

// RFC 7323 §5.4: the timestamp clock ticks between once per ms and once per second, and
// never goes backwards (the harness checks the latter on every segment).
TEST(Timestamps, ClockRateIsBetweenOneMsAndOneSecond) {
  Harness h;
  h.EstablishPassive();
  h.Send("a");
  h.Expect(Ack().Seq(1).Ack(1).Data("a"));
  h.Inject(Ack().Seq(1).Ack(2));
  const uint32_t t0 = h.last_tsval();
  h.Advance(10s);
  h.Send("b");
  h.Expect(Ack().Seq(2).Ack(1).Data("b"));
  const uint32_t ticks = h.last_tsval() - t0;
  EXPECT_GE(ticks, 10u);
  EXPECT_LE(ticks, 10'000u);
}

// =================================== PAWS (RFC 7323 §5.3) ===================================

// RFC 7323 §5.3 R1: "If ... SEG.TSval < TS.Recent, TS.Recent is valid ..., and if the RST bit
// is not set, then treat the arriving segment as not acceptable: Send an acknowledgment in
// reply ... and drop the segment."
TEST(Paws, OldTimestampIsDroppedAndAcked) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("stale").Ts(kOld, h.last_tsval()));
  h.Expect(Ack().Seq(1).Ack(1));
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.Received(), "");
  EXPECT_EQ(h.counter(TcpCounter::kDropPaws), 1u);
  h.Inject(Ack().Seq(1).Ack(1).Data("fresh"));  // the same bytes, current timestamp
  EXPECT_EQ(h.Received(), "fresh");
}

// RFC 7323 §5.3: only SEG.TSval < TS.Recent is old; an equal one is acceptable (several
// segments are sent per timestamp tick).
TEST(Paws, EqualTimestampIsAccepted) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("one").Ts(1'000'500, h.last_tsval()));
  h.Inject(Ack().Seq(4).Ack(1).Data("two").Ts(1'000'500, h.last_tsval()));
  EXPECT_EQ(h.Received(), "onetwo");
  EXPECT_EQ(h.counter(TcpCounter::kDropPaws), 0u);
}

// RFC 7323 §5.3 R1 ("if the RST bit is not set"): a RST with an old TSval is still processed.
TEST(Paws, ResetIsNotSubjectToPaws) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1).Ts(kOld, 0));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
}

// RFC 7323 §5.3: the dropped segment is not processed at all: its ACK does not acknowledge
// our data.
TEST(Paws, DroppedSegmentsAckIsIgnored) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(101).Ts(kOld, h.last_tsval()));
  h.Flush();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.tcb()->send_queued(), 100u);
}

// RFC 7323 §5.2 / §5.3: timestamps compare modulo 2^32 ("SEG.TSval < TS.Recent" in the
// sense of sequence-number arithmetic), so a peer clock wrapping past 2^32 is not "old".
TEST(Paws, TimestampWraparoundIsNotOld) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ts(0xffffff00u, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1).TsEcr(0xffffff00u));
  h.Inject(Ack().Seq(1).Ack(1).Ts(0xffffff80u, h.last_tsval()));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  h.Inject(Ack().Seq(1).Ack(1).Data("before").Ts(0xfffffff0u, h.last_tsval()));
  h.Advance(100ms);  // our ACK: Last.ACK.sent = 7, so the next segment updates TS.Recent
  h.Inject(Ack().Seq(7).Ack(1).Data(" after").Ts(0x10, h.last_tsval()));
  h.Advance(100ms);
  h.Flush();
  EXPECT_EQ(h.Received(), "before after");
  EXPECT_EQ(h.counter(TcpCounter::kDropPaws), 0u);
  h.Inject(Ack().Seq(13).Ack(1).Data("stale").Ts(0xfffffff8u, h.last_tsval()));
  EXPECT_EQ(h.counter(TcpCounter::kDropPaws), 1u) << "0xfffffff8 is before 0x10";
}

// RFC 7323 §5.5: TS.Recent is invalid after 24 days of idleness, so an old TSval is then
// accepted (the peer's clock may have wrapped) and becomes TS.Recent.
TEST(Paws, TimestampOlderThan24DaysIsForgotten) {
  Harness h;
  h.EstablishPassive();
  h.Advance(std::chrono::hours(24 * 25), std::chrono::hours(1));
  h.Inject(Ack().Seq(1).Ack(1).Data("back").Ts(kOld, h.last_tsval()));
  EXPECT_EQ(h.Received(), "back");
  EXPECT_EQ(h.counter(TcpCounter::kDropPaws), 0u);
}

// ================================= TS.Recent (RFC 7323 §4.3) =================================

// RFC 7323 §4.3 (2): TS.Recent is updated only from a segment with SEG.SEQ <=
// Last.ACK.sent, so an out-of-order segment does not move it, and the segment that fills
// the hole does.
TEST(TsRecent, OutOfOrderSegmentDoesNotUpdateIt) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Len(100).Ts(1'002'000, h.last_tsval()));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(101).TsEcr(1'002'000));
  h.Inject(Ack().Seq(201).Ack(1).Len(100).Ts(1'003'000, h.last_tsval()));  // hole at 101
  h.Expect(Ack().Seq(1).Ack(101).TsEcr(1'002'000));
  h.Inject(Ack().Seq(101).Ack(1).Len(100).Ts(1'002'500, h.last_tsval()));
  h.Expect(Ack().Seq(1).Ack(301).TsEcr(1'002'500));
}

// RFC 7323 §4.3 (1) and its delayed-ACK example: one ACK for several segments echoes the
// TSval of the earliest unacknowledged one.
TEST(TsRecent, DelayedAckEchoesTheEarliestSegment) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Len(10).Ts(1'002'000, h.last_tsval()));
  h.Inject(Ack().Seq(11).Ack(1).Len(10).Ts(1'002'010, h.last_tsval()));
  h.Advance(200ms);
  h.Expect(Ack().Seq(1).Ack(21).TsEcr(1'002'000));
}

// RFC 7323 §3.2: "If a non-<RST> segment is received without a TSopt, a TCP SHOULD silently
// drop the segment."
TEST(TsRecent, SegmentWithoutTimestampIsDropped) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("naked").NoTs());
  h.Advance(200ms);
  h.ExpectNothing();
  EXPECT_EQ(h.Received(), "");
}

// RFC 7323 §3.2: "A TCP MUST NOT abort a TCP connection because any segment lacks an expected
// TSopt", and a <RST> without TSopt is processed.
TEST(TsRecent, ResetWithoutTimestampIsProcessed) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1).NoTs());
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
}

// RFC 7323 §3.2: the SYN-ACK's TSecr echoes the SYN's TSval, and the third ACK's TSecr (ours,
// on an active open) the SYN-ACK's.
TEST(TsRecent, HandshakeEchoes) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0).TsEcr(0));
  const uint32_t our_syn_tsval = h.last_tsval();
  h.Inject(SynAck().Seq(0).Ack(1).Mss(1460).SackOk().Ts(777, our_syn_tsval).Ws(7));
  h.Expect(Ack().Seq(1).Ack(1).TsEcr(777));
}

}  // namespace
}  // namespace ferry::tcp::packet
