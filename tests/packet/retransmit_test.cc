// The retransmission timer (RFC 6298 §5), Karn's rule (§3, §5.7), the RTO after a SYN timeout
// (§5.7), go-back-N after a timeout with the loss window (RFC 5681 §3.1), and giving up
// (RFC 9293 §3.8.3, R2).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// RFC 6298 §5.1/§5.4: the earliest unacknowledged segment is retransmitted when the timer,
// armed with the current RTO at transmission, expires.
TEST(Retransmit, DataRetransmittedWhenRtoExpires) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  EXPECT_GE(rto, 200) << "RtoOptions::min";
  EXPECT_LE(rto, 1000) << "RFC 6298 §2.1: 1 s until a sample, less after";
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), rto);
  h.ExpectRetransmit(Ack().Seq(1).Ack(1).Len(100));
  EXPECT_EQ(h.counter(TcpCounter::kRtoExpiries), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kRetransmits), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kRetransmittedBytes), 100u);
}

// RFC 6298 §5.5: "The host MUST set RTO <- RTO * 2 ("back off the timer")".
TEST(Retransmit, BackoffDoublesEachTime) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  for (int64_t factor : {1, 2, 4, 8, 16}) {
    EXPECT_EQ(Ms(h.AdvanceUntilOutput(120s)), rto * factor) << "expiry x" << factor;
    h.ExpectRetransmit(Ack().Seq(1).Ack(1).Len(100));
  }
}

// RFC 6298 §2.5: a maximum MAY be placed on RTO (RtoOptions::max, 60 s by default).
TEST(Retransmit, BackoffIsCappedAtMaxRto) {
  Harness h;
  h.stack_options().rto.max = 3s;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(10);
  h.Expect(Ack().Seq(1).Ack(1).Len(10));
  h.Advance(10s);
  h.Flush();
  h.AdvanceUntilOutput(10s);  // backoff has reached the cap by now
  h.Expect(Ack().Seq(1).Ack(1).Len(10));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 3000);
  h.Expect(Ack().Seq(1).Ack(1).Len(10));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 3000);
  h.Expect(Ack().Seq(1).Ack(1).Len(10));
}

// RFC 6298 §2.4 as ferry configures it (RtoOptions::min = 200 ms, like Linux): a near-zero
// RTT gives the minimum RTO.
TEST(Retransmit, RtoIsNeverBelowTheMinimum) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(101));  // RTT 0
  h.Events();
  h.SendBytes(100);
  h.Expect(Ack().Seq(101).Ack(1).Len(100));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 200);
  h.Expect(Ack().Seq(101).Ack(1).Len(100));
}

// RFC 6298 §2.2-2.3: the RTO follows the measured RTT: with 150 ms round trips (below the
// 200 ms minimum RTO, so no spurious timeout) SRTT converges on 150 ms and the timer runs for
// exactly the RTO computed.
TEST(Retransmit, RtoFollowsTheMeasuredRtt) {
  Harness h;
  h.EstablishPassive();
  constexpr uint32_t kRounds = 25;
  for (uint32_t i = 0; i < kRounds; ++i) {
    h.SendBytes(100);
    h.Expect(Ack().Seq(1 + 100 * i).Ack(1).Len(100));
    h.Advance(150ms);
    h.Inject(Ack().Seq(1).Ack(101 + 100 * i));
  }
  h.Events();
  const base::Duration rto = h.tcb()->rtt().rto();
  EXPECT_GT(Ms(rto), 150);
  EXPECT_GE(Ms(h.tcb()->rtt().srtt()), 130) << "SRTT converges on 150 ms";
  EXPECT_LE(Ms(h.tcb()->rtt().srtt()), 150);
  h.SendBytes(100);
  h.Expect(Ack().Seq(1 + 100 * kRounds).Ack(1).Len(100));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), Ms(rto));
}

// RFC 6298 §5.3: "When an ACK is received that acknowledges new data, restart the
// retransmission timer so that it will expire after RTO seconds".
TEST(Retransmit, NewAckRestartsTheTimer) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(2 * kMssTs);
  h.Expect(Ack().Seq(1).Ack(1).Len(kMssTs));
  h.Expect(Ack().Seq(1 + kMssTs).Ack(1).Len(kMssTs));
  h.Advance(150ms);
  h.Inject(Ack().Seq(1).Ack(1 + kMssTs));
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), rto);
  h.Expect(Ack().Seq(1 + kMssTs).Ack(1).Len(kMssTs));
}

// RFC 6298 §5.2: "When all outstanding data has been acknowledged, turn off the
// retransmission timer."
TEST(Retransmit, TimerStopsWhenEverythingIsAcked) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(500);
  h.Expect(Ack().Seq(1).Ack(1).Len(500));
  h.Inject(Ack().Seq(1).Ack(501));
  EXPECT_EQ(h.Events(), Log({"acked 500"}));
  h.Advance(120s);
  h.ExpectNothing();
}

// RFC 6298 §5.4 (retransmit the earliest unacknowledged segment) and RFC 5681 §3.1 (after a
// timeout cwnd = LW = 1 SMSS): one segment only; when it is acknowledged slow start sends the
// next two (go-back-N from SND.UNA).
TEST(Retransmit, TimeoutResendsOneSegmentThenSlowStarts) {
  Harness h;
  h.connection_options().congestion = CongestionAlgorithm::kNewReno;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(5 * kMss);
  for (uint32_t i = 0; i < 5; ++i) h.Expect(Ack().Seq(1 + i * kMss).Ack(1).Len(kMss));
  h.AdvanceUntilOutput(10s);
  h.Expect(Ack().Seq(1).Ack(1).Len(kMss));
  h.ExpectNothing();
  EXPECT_EQ(h.tcb()->congestion()->cwnd(), kMss);
  h.Inject(Ack().Seq(1).Ack(1 + kMss));
  h.Expect(Ack().Seq(1 + kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1 + 2 * kMss).Ack(1).Len(kMss));
  h.ExpectNothing();
}

// RFC 5681 §3.1 eq. (4) on a timeout: ssthresh = max(FlightSize / 2, 2 * SMSS).
TEST(Retransmit, TimeoutHalvesSsthresh) {
  Harness h;
  h.connection_options().congestion = CongestionAlgorithm::kNewReno;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(8 * kMss);
  h.Flush();
  h.AdvanceUntilOutput(10s);
  h.Flush();
  EXPECT_EQ(h.tcb()->congestion()->ssthresh(), 4 * kMss);
}

// RFC 9293 §3.8.3 (R2, StackOptions::max_retransmissions): after that many retransmissions
// of one segment the connection is aborted and the owner hears kTimedOut.
TEST(Retransmit, GivesUpAfterMaxRetransmissions) {
  Harness h;
  h.stack_options().max_retransmissions = 3;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  for (int i = 0; i < 3; ++i) {
    h.AdvanceUntilOutput(60s);
    h.Expect(Ack().Seq(1).Ack(1).Len(100));
  }
  EXPECT_TRUE(h.Events().empty());
  h.Advance(60s);
  h.Flush();  // a RST is allowed here
  EXPECT_EQ(h.Events(), Log({"closed timed_out"}));
  EXPECT_EQ(h.counter(TcpCounter::kUserTimeouts), 1u);
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kRetransmits), 3u);
}

// RFC 6298 §3 (Karn) and §5.7's note: without timestamps the ACK of a retransmitted segment
// gives no RTT sample, so the backed-off RTO stays for new data until a segment sent once is
// acknowledged; that sample collapses the backoff.
TEST(Retransmit, KarnKeepsTheBackoffUntilAFreshSample) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  h.AdvanceUntilOutput(60s);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.AdvanceUntilOutput(60s);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Advance(10ms);
  h.Inject(Ack().Seq(1).Ack(101));
  EXPECT_EQ(h.tcb()->rtt().backoffs(), 2u) << "no sample from a retransmitted segment";
  h.SendBytes(100);
  h.Expect(Ack().Seq(101).Ack(1).Len(100));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 4 * rto);
  h.Expect(Ack().Seq(101).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(201));
  h.SendBytes(100);
  h.Expect(Ack().Seq(201).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(301));  // sent once, acknowledged: a valid sample
  EXPECT_EQ(h.tcb()->rtt().backoffs(), 0u);
}

// RFC 7323 §4.1 (RTTM): with timestamps the ACK of a retransmission echoes that
// retransmission's TSval, so it is a valid sample and clears the backoff.
TEST(Retransmit, TimestampsSampleRetransmissions) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.AdvanceUntilOutput(60s);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  EXPECT_EQ(h.tcb()->rtt().backoffs(), 1u);
  h.Advance(20ms);
  h.Inject(Ack().Seq(1).Ack(101));  // TSecr = the retransmission's TSval
  EXPECT_EQ(h.tcb()->rtt().backoffs(), 0u);
  EXPECT_TRUE(h.tcb()->rtt().has_measurement());
}

// RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
// implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3
// seconds when data transmission begins".
TEST(Retransmit, RtoIsThreeSecondsAfterASynTimeout) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.AdvanceUntilOutput(5s);
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 3000);
}

// RFC 9293 §3.10.7.4 (the ACK field always carries RCV.NXT): a retransmission acknowledges
// what has arrived since the original was sent.
TEST(Retransmit, RetransmissionCarriesTheCurrentAck) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(1).Data("xyz"));
  h.Advance(100ms);
  h.Expect(Ack().Seq(101).Ack(4));  // the delayed ACK of "xyz"
  h.AdvanceUntilOutput(10s);
  h.Expect(Ack().Seq(1).Ack(4).Len(100));
}

// RFC 5681 §4.1 / RFC 6298 §5.1: data queued while the timer runs rides on it (no second
// timer); acking all of it stops the timer.
TEST(Retransmit, OneTimerCoversAllOutstandingData) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  h.Advance(50ms);
  h.SendBytes(100);
  h.Expect(Ack().Seq(101).Ack(1).Len(100));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), rto - 50) << "the timer was not restarted";
  // RFC 1122 §4.2.2.15: the retransmission may be repacketized (both 100-byte pieces in one).
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->seq - h.iss(), 1u) << h.Describe(*c);
  EXPECT_GE(c->payload.size(), 100u) << h.Describe(*c);
}

}  // namespace
}  // namespace ferry::tcp::packet
