// RFC 5961, "Improving TCP's Robustness to Blind In-Window Attacks" (adopted by RFC 9293
// §3.10.7.4): challenge ACKs for in-window RSTs (§3) and for SYNs (§4), the ACK acceptability
// range (§5), and the challenge-ACK rate limit (§7).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// The challenge ACK, RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
Seg ChallengeAck(uint32_t snd_nxt, uint32_t rcv_nxt) {
  return Ack().Seq(snd_nxt).Ack(rcv_nxt).Len(0);
}

// ===================================== RST (RFC 5961 §3) =====================================

// RFC 5961 §3.2: "If the RST bit is set and the sequence number exactly matches the next
// expected sequence number (RCV.NXT), then TCP MUST reset the connection."
TEST(Rfc5961Rst, ExactSequenceResets) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("12345"));
  h.Inject(Rst().Seq(6));
  EXPECT_EQ(h.Events(), Log({"data 5", "closed reset"}));
}

// RFC 5961 §3.2: "If the RST bit is set and the sequence number does not exactly match the
// next expected sequence value, yet is within the current receive window, TCP MUST send an
// acknowledgment (challenge ACK)" and keep the connection.
TEST(Rfc5961Rst, InWindowButNotExactGetsChallengeAck) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1000));
  h.Expect(ChallengeAck(1, 1).TsAny());
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
  EXPECT_EQ(h.counter(TcpCounter::kChallengeAcks), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kResetsIn), 0u);
}

// RFC 5961 §3.2: the challenge ACK lets a genuine peer answer with a RST at exactly RCV.NXT,
// which then resets.
TEST(Rfc5961Rst, GenuinePeerResetsAfterTheChallenge) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(2));
  h.Expect(ChallengeAck(1, 1));
  h.Inject(Rst().Seq(1));  // the peer's answer, at the ACK number it was told
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
}

// RFC 5961 §3.2: "If the RST bit is set and the sequence number is outside the current
// receive window, silently drop the segment."
TEST(Rfc5961Rst, OutOfWindowIsDroppedSilently) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1 + 70000));  // window is 65535
  h.Inject(Rst().Seq(0xfffffff0));
  h.ExpectNothing();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.counter(TcpCounter::kChallengeAcks), 0u);
}

// RFC 5961 §3.2 applies "in all states except SYN-SENT": in SYN-RECEIVED an in-window RST
// that is not exact is challenged and the half-open connection stays.
TEST(Rfc5961Rst, ChallengeInSynReceived) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Rst().Seq(100));
  h.Expect(ChallengeAck(1, 1));
  EXPECT_EQ(h.stack().connections(), 1u);
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept"}));
}

// RFC 5961 §3.2 applies in every synchronized state: CLOSE-WAIT here.
TEST(Rfc5961Rst, ChallengeInCloseWait) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Events();
  h.Inject(Rst().Seq(100));
  h.Expect(ChallengeAck(1, 2));
  EXPECT_TRUE(h.Events().empty());
}

// RFC 5961 §3.2 in FIN-WAIT-1 (after our FIN: SND.NXT counts it).
TEST(Rfc5961Rst, ChallengeInFinWait1CarriesSndNxt) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Rst().Seq(50));
  h.Expect(ChallengeAck(2, 1));
  EXPECT_EQ(h.tcb()->state(), TcpState::kFinWait1);
}

// ===================================== SYN (RFC 5961 §4) =====================================

// RFC 5961 §4.2: "If the SYN bit is set, irrespective of the sequence number, TCP MUST send
// an ACK (also referred to as challenge ACK) to the remote peer" and not reset.
TEST(Rfc5961Syn, InWindowSynGetsChallengeAck) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Syn().Seq(100).Mss(1460));
  h.Expect(ChallengeAck(1, 1));
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
  EXPECT_EQ(h.counter(TcpCounter::kChallengeAcks), 1u);
}

// RFC 5961 §4.2: "irrespective of the sequence number": out of window too.
TEST(Rfc5961Syn, OutOfWindowSynGetsChallengeAck) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Syn().Seq(0x80000000u).Mss(1460));
  h.Expect(ChallengeAck(1, 1));
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
}

// RFC 5961 §4.2 covers SYN-ACKs too (a SYN bit is a SYN bit).
TEST(Rfc5961Syn, SynAckInEstablishedGetsChallengeAck) {
  Harness h;
  h.EstablishPassive();
  h.Inject(SynAck().Seq(5).Ack(1).Mss(1460));
  h.Expect(ChallengeAck(1, 1));
  EXPECT_TRUE(h.Events().empty());
}

// RFC 5961 §4.2: a retransmitted SYN of this very connection (its ACK was lost) gets the same
// challenge ACK, which is what the peer needs anyway.
TEST(Rfc5961Syn, RetransmittedOriginalSynIsChallenged) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ws(7));
  h.Expect(ChallengeAck(1, 1));
  EXPECT_EQ(h.iss_history().size(), 1u);
}

// ===================================== ACK (RFC 5961 §5) =====================================

// RFC 5961 §5.2: acceptable is (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT; anything else
// "MUST be discarded and an ACK sent back". Too old:
TEST(Rfc5961Ack, TooOldAckIsDiscardedWithAck) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 1000});
  h.Inject(Ack().Seq(1).Ack(0xfff00000u).Data("evil"));
  h.Expect(ChallengeAck(1, 1));
  EXPECT_EQ(h.Received(), "") << "the text of a discarded segment is not delivered";
}

// RFC 9293 §3.10.7.4 fifth / RFC 5961 §5.2: "If the ACK acks something not yet sent
// (SEG.ACK > SND.NXT), then send an ACK, drop the segment, and return."
TEST(Rfc5961Ack, AckOfUnsentDataIsDiscardedWithAck) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(10);
  h.Expect(Ack().Seq(1).Ack(1).Len(10));
  h.Inject(Ack().Seq(1).Ack(500).Data("evil"));
  h.Expect(ChallengeAck(11, 1));
  EXPECT_EQ(h.Received(), "");
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.tcb()->send_queued(), 10u);
}

// RFC 5961 §5.2: an old but acceptable ACK (within MAX.SND.WND below SND.UNA) is fine: the
// segment's text is processed.
TEST(Rfc5961Ack, SlightlyOldAckIsAccepted) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(1000);
  h.Expect(Ack().Seq(1).Ack(1).Len(1000));
  h.Inject(Ack().Seq(1).Ack(1001));
  EXPECT_EQ(h.Events(), Log({"acked 1000"}));
  h.Inject(Ack().Seq(1).Ack(500).Data("late"));  // SND.UNA is 1001
  EXPECT_EQ(h.Received(), "late");
}

// RFC 9293 §3.10.7.4 fifth: a segment without ACK in a synchronized state is dropped.
TEST(Rfc5961Ack, SegmentWithoutAckIsDropped) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Seg(TcpFlags::kPsh).Seq(1).Data("noack"));
  h.ExpectNothing();
  EXPECT_EQ(h.Received(), "");
}

// ================================= Rate limit (RFC 5961 §7) =================================

// RFC 5961 §7: "An implementation SHOULD include an ACK throttling mechanism": at most
// challenge_ack_limit challenge ACKs per second per worker; the rest are counted, not sent;
// the next second has a fresh budget.
TEST(Rfc5961RateLimit, ChallengeAcksAreThrottled) {
  Harness h;
  h.stack_options().challenge_ack_limit = 3;
  h.EstablishPassive();
  for (int i = 0; i < 5; ++i) h.Inject(Rst().Seq(100 + i));
  for (int i = 0; i < 3; ++i) h.Expect(ChallengeAck(1, 1));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kChallengeAcks), 3u);
  EXPECT_EQ(h.counter(TcpCounter::kChallengeAcksLimited), 2u);
  h.Advance(1001ms);
  h.Inject(Syn().Seq(7).Mss(1460));
  h.Expect(ChallengeAck(1, 1));
}

// RFC 5961 §7: the budget is shared (per worker, not per connection).
TEST(Rfc5961RateLimit, BudgetIsSharedAcrossConnections) {
  Harness h;
  h.stack_options().challenge_ack_limit = 2;
  h.EstablishPassive();
  h.UseFlow(kFerryPort, 40001);
  h.EstablishPassive();
  h.Inject(Rst().Seq(100).Port(kPeerPort));
  h.Inject(Rst().Seq(100).Port(40001));
  h.Inject(Rst().Seq(100).Port(40001));
  h.Expect(ChallengeAck(1, 1).Port(kPeerPort));
  h.Expect(ChallengeAck(1, 1).Port(40001));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kChallengeAcksLimited), 1u);
}

}  // namespace
}  // namespace ferry::tcp::packet
