// Loss recovery without a timeout: fast retransmit and NewReno fast recovery (RFC 5681 §3.2,
// RFC 6582), limited transmit (RFC 3042), and SACK-based recovery (RFC 6675 with RFC 2018).
// Connections here run NewReno without timestamps, so segments are exactly kMss bytes.
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// Sequence number of segment i (0-based) of a flight of full segments.
constexpr uint32_t S(uint32_t i) { return 1 + i * kMss; }

// An established connection with `sent` full segments in flight (at most the initial window
// of 10) and `unsent` more full segments queued behind them.
void Flight(Harness& h, bool sack, uint32_t sent, uint32_t unsent = 0) {
  h.connection_options().congestion = CongestionAlgorithm::kNewReno;
  h.EstablishPassive(Peer{.sack = sack, .ts = false});
  h.SendBytes((sent + unsent) * kMss);
  for (uint32_t i = 0; i < sent; ++i) h.Expect(Ack().Seq(S(i)).Ack(1).Len(kMss));
  h.ExpectNothing();
}

void DupAck(Harness& h, int n = 1) {
  for (int i = 0; i < n; ++i) h.Inject(Ack().Seq(1).Ack(1));
}

// ============================== Fast retransmit (RFC 5681 §3.2) ==============================

// RFC 5681 §3.2 steps 1-3: the third duplicate ACK retransmits the segment at SND.UNA at once.
TEST(FastRetransmit, ThirdDuplicateAckRetransmits) {
  Harness h;
  Flight(h, /*sack=*/false, 10);
  DupAck(h, 2);
  h.ExpectNothing();
  DupAck(h);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kFastRecoveries), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kRtoExpiries), 0u);
}

// RFC 5681 §3.2: two duplicate ACKs are not enough (reordering); nothing happens before the
// RTO.
TEST(FastRetransmit, TwoDuplicateAcksAreNotEnough) {
  Harness h;
  Flight(h, false, 10);
  DupAck(h, 2);
  h.Advance(150ms);
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kFastRecoveries), 0u);
}

// RFC 5681 §2, duplicate ACK condition (d): an ACK that advances SND.UNA is not a duplicate,
// so one new ACK and two duplicates make only two.
TEST(FastRetransmit, NewAckIsNotADuplicate) {
  Harness h;
  Flight(h, false, 10);
  h.Inject(Ack().Seq(1).Ack(S(1)));
  h.Inject(Ack().Seq(1).Ack(S(1)));
  h.Inject(Ack().Seq(1).Ack(S(1)));
  h.Advance(100ms);
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kFastRecoveries), 0u);
}

// RFC 5681 §2, duplicate ACK condition (e): an ACK that changes the advertised window is a
// window update, not a duplicate.
TEST(FastRetransmit, WindowUpdatesAreNotDuplicates) {
  Harness h;
  Flight(h, false, 10);
  h.Inject(Ack().Seq(1).Ack(1).Win(60000));
  h.Inject(Ack().Seq(1).Ack(1).Win(50000));
  h.Inject(Ack().Seq(1).Ack(1).Win(40000));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kFastRecoveries), 0u);
}

// RFC 5681 §2, condition (b): an ACK that carries data is not a duplicate.
TEST(FastRetransmit, AcksWithDataAreNotDuplicates) {
  Harness h;
  Flight(h, false, 10);
  h.Inject(Ack().Seq(1).Ack(1).Data("a"));
  h.Inject(Ack().Seq(2).Ack(1).Data("b"));
  h.Inject(Ack().Seq(3).Ack(1).Data("c"));
  h.Advance(100ms);
  while (std::optional<Captured> c = h.Take()) {
    EXPECT_TRUE(c->payload.empty()) << "retransmitted on ACKs with data: " << h.Describe(*c);
  }
  EXPECT_EQ(h.counter(TcpCounter::kFastRecoveries), 0u);
}

// RFC 5681 §3.2 step 2 (eq. 4) and RFC 6582 §3.2 step 2: ssthresh = max(FlightSize / 2,
// 2 * SMSS), cwnd = ssthresh + 3 * SMSS.
TEST(FastRetransmit, EntryHalvesSsthreshAndInflatesCwnd) {
  Harness h;
  Flight(h, false, 10);
  DupAck(h, 3);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  const Congestion* cc = h.tcb()->congestion();
  ASSERT_NE(cc, nullptr);
  EXPECT_TRUE(cc->in_recovery());
  EXPECT_EQ(cc->ssthresh(), 5 * kMss);
  EXPECT_EQ(cc->cwnd(), 8 * kMss);
}

// RFC 5681 §3.2 steps 4-5 / RFC 6582 §3.2 step 3: each further duplicate ACK inflates cwnd by
// one SMSS and new data goes out once FlightSize fits under it.
TEST(FastRetransmit, FurtherDuplicatesInflateTheWindow) {
  Harness h;
  Flight(h, false, 10);
  DupAck(h, 3);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  h.SendBytes(5 * kMss);  // now there is new data to send; cwnd 8 < FlightSize 10
  h.ExpectNothing();
  DupAck(h, 2);  // cwnd 9, 10
  h.ExpectNothing();
  DupAck(h);  // cwnd 11
  h.Expect(Ack().Seq(S(10)).Ack(1).Len(kMss));
  DupAck(h);  // cwnd 12
  h.Expect(Ack().Seq(S(11)).Ack(1).Len(kMss));
  h.ExpectNothing();
}

// RFC 6582 §3.2 step 1 / RFC 5681: one fast retransmit per window: duplicate ACKs after
// the third do not retransmit SND.UNA again.
TEST(FastRetransmit, OnlyOneRetransmissionPerWindow) {
  Harness h;
  Flight(h, false, 10);
  DupAck(h, 3);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  DupAck(h, 6);
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kFastRecoveries), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kRetransmits), 1u);
}

// ==================================== NewReno (RFC 6582) ====================================

// RFC 6582 §3.2 step 5: a partial ACK (new data acked, not all of `recover`) retransmits the
// first unacknowledged segment at once and stays in recovery.
TEST(NewReno, PartialAckRetransmitsTheNextHole) {
  Harness h;
  Flight(h, false, 10);  // segments 0 and 3 are lost
  DupAck(h, 3);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  DupAck(h, 4);
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(S(3)));  // the retransmission filled segment 0
  h.ExpectRetransmit(Ack().Seq(S(3)).Ack(1).Len(kMss));
  EXPECT_TRUE(h.tcb()->congestion()->in_recovery());
  EXPECT_EQ(h.counter(TcpCounter::kRtoExpiries), 0u);
}

// RFC 6582 §3.2 step 6 and congestion_window.h (option 1): the ACK covering `recover` ends
// recovery with cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
TEST(NewReno, FullAckEndsRecovery) {
  Harness h;
  Flight(h, false, 10);
  DupAck(h, 3);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1).Ack(S(10)));
  const Congestion* cc = h.tcb()->congestion();
  EXPECT_FALSE(cc->in_recovery());
  EXPECT_EQ(cc->ssthresh(), 5 * kMss);
  EXPECT_EQ(cc->cwnd(), 2 * kMss);  // FlightSize 0 after the ACK
  EXPECT_EQ(h.Events(), Log({"acked 14600"}));
}

// RFC 6582 §3.2 step 5: after a partial ACK, cwnd deflates by the amount acknowledged and
// adds back one SMSS (when at least one SMSS was acknowledged).
TEST(NewReno, PartialAckDeflatesTheWindow) {
  Harness h;
  Flight(h, false, 10);
  DupAck(h, 3);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  const uint32_t before = h.tcb()->congestion()->cwnd();
  h.Inject(Ack().Seq(1).Ack(S(3)));
  h.ExpectRetransmit(Ack().Seq(S(3)).Ack(1).Len(kMss));
  EXPECT_EQ(h.tcb()->congestion()->cwnd(), before - 3 * kMss + kMss);
}

// ================================ Limited transmit (RFC 3042) ================================

// RFC 3042 §2: on each of the first two duplicate ACKs, one new segment is sent if the
// receiver's window allows and FlightSize stays <= cwnd + 2 * SMSS.
TEST(LimitedTransmit, FirstTwoDuplicatesSendNewSegments) {
  Harness h;
  Flight(h, false, 10, /*unsent=*/4);
  DupAck(h);
  h.Expect(Ack().Seq(S(10)).Ack(1).Len(kMss));
  DupAck(h);
  h.Expect(Ack().Seq(S(11)).Ack(1).Len(kMss));
  DupAck(h);
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));  // the third: fast retransmit
  h.ExpectNothing();
}

// RFC 5681 §3.2 step 2: "When [RFC3042] is in use, additional data sent in limited transmit
// MUST NOT be included in this calculation" (of ssthresh).
TEST(LimitedTransmit, SegmentsAreExcludedFromSsthresh) {
  Harness h;
  Flight(h, false, 10, 4);
  DupAck(h, 3);
  h.Flush();
  EXPECT_EQ(h.tcb()->congestion()->ssthresh(), 5 * kMss);
}

// RFC 3042 §2: limited transmit never exceeds the receiver's advertised window.
TEST(LimitedTransmit, RespectsThePeersWindow) {
  Harness h;
  h.connection_options().congestion = CongestionAlgorithm::kNewReno;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 10 * kMss});
  h.SendBytes(12 * kMss);
  for (uint32_t i = 0; i < 10; ++i) h.Expect(Ack().Seq(S(i)).Ack(1).Len(kMss));
  DupAck(h, 2);
  h.ExpectNothing();
}

// ============================== SACK-based recovery (RFC 6675) ==============================

// RFC 6675 §5 (entering recovery): when DupThresh segments above SND.UNA are SACKed,
// SND.UNA's segment is lost (IsLost) and is retransmitted.
TEST(SackRecovery, ThreeSackedSegmentsMarkTheFirstLost) {
  Harness h;
  Flight(h, /*sack=*/true, 10);
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(2)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(3)}}));
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(4)}}));
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  EXPECT_EQ(h.counter(TcpCounter::kSackRecoveries), 1u);
}

// RFC 6675 §5 step 4.2: on entering SACK recovery cwnd = ssthresh (no inflation; the pipe
// estimate does that accounting).
TEST(SackRecovery, CwndEqualsSsthresh) {
  Harness h;
  Flight(h, true, 10);
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(2)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(3)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(4)}}));
  h.Flush();
  const Congestion* cc = h.tcb()->congestion();
  EXPECT_TRUE(cc->in_recovery());
  EXPECT_EQ(cc->ssthresh(), 5 * kMss);
  EXPECT_EQ(cc->cwnd(), 5 * kMss);
}

// RFC 6675 §4 NextSeg rule 1 and §3 (never resend SACKed data): only the holes are
// retransmitted. Segments 0 and 4 are lost; 1-3 and 5-7 arrive, 8-9 are still in flight;
// with pipe below cwnd and no hole left, NextSeg rule 4 sends one rescue retransmission of
// the highest unSACKed segment (9).
TEST(SackRecovery, RetransmitsOnlyTheHoles) {
  Harness h;
  Flight(h, true, 10);
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(2)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(3)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(4)}}));
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(5), S(6)}, {S(1), S(4)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(5), S(7)}, {S(1), S(4)}}));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(5), S(8)}, {S(1), S(4)}}));
  h.ExpectRetransmit(Ack().Seq(S(4)).Ack(1).Len(kMss));  // now three SACKed above it
  h.ExpectRetransmit(Ack().Seq(S(9)).Ack(1).Len(kMss));  // rescue (rule 4), once per recovery
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(5), S(8)}, {S(1), S(4)}}));
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(S(10)));
  h.ExpectNothing();
  EXPECT_FALSE(h.tcb()->congestion()->in_recovery());
  EXPECT_EQ(h.counter(TcpCounter::kRetransmits), 3u);
}

// RFC 6675 §4 NextSeg rule 2: with the holes repaired and pipe below cwnd, new data is sent.
TEST(SackRecovery, SendsNewDataWhenPipeAllows) {
  Harness h;
  Flight(h, true, 10, /*unsent=*/10);
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(2)}}));
  h.Expect(Ack().Seq(S(10)).Ack(1).Len(kMss));  // limited transmit (RFC 6675 §5 step 2)
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(3)}}));
  h.Expect(Ack().Seq(S(11)).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(4)}}));
  h.ExpectRetransmit(Ack().Seq(S(0)).Ack(1).Len(kMss));
  // Segments 1..9 all SACKed: pipe is the retransmission plus 10 and 11, under cwnd 5.
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(1), S(10)}}));
  h.Expect(Ack().Seq(S(12)).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(S(13)).Ack(1).Len(kMss));
  h.ExpectNothing();
}

// RFC 2018 / RFC 6675 §4: a SACK block for data never sent (beyond SND.MAX) is ignored: three
// "SACKed segments" there do not make SND.UNA lost (two duplicate ACKs are below DupThresh).
TEST(SackRecovery, BlocksBeyondWhatWasSentAreIgnored) {
  Harness h;
  Flight(h, true, 4);
  for (int i = 0; i < 2; ++i) h.Inject(Ack().Seq(1).Ack(1).Sack({{S(20), S(24)}}));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kSackRecoveries), 0u);
  h.Inject(Ack().Seq(1).Ack(S(4)));
  EXPECT_EQ(h.Events(), Log({"acked 5840"}));
}

// RFC 2883 (D-SACK): a first block below the cumulative ACK reports a duplicate; it is not
// a loss signal and nothing is retransmitted for it.
TEST(SackRecovery, DuplicateSackBlockIsHarmless) {
  Harness h;
  Flight(h, true, 10);
  h.Inject(Ack().Seq(1).Ack(S(2)).Sack({{S(0), S(1)}}));
  h.Inject(Ack().Seq(1).Ack(S(4)).Sack({{S(1), S(2)}}));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kSackRecoveries), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kRetransmits), 0u);
  h.Inject(Ack().Seq(1).Ack(S(10)));
  EXPECT_EQ(h.tcb()->send_queued(), 0u);
}

// RFC 2018 §2: SACK options from a peer that did not negotiate SACK-permitted are ignored;
// recovery is NewReno's, by duplicate ACK count.
TEST(SackRecovery, SackWithoutPermissionIsIgnored) {
  Harness h;
  Flight(h, /*sack=*/false, 10);
  h.Inject(Ack().Seq(1).Ack(1).Sack({{S(5), S(9)}}));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kSackRecoveries), 0u);
}

}  // namespace
}  // namespace ferry::tcp::packet
