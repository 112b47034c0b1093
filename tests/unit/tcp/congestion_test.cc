// Congestion control: the shared window rules (RFC 6928 initial window, RFC 5681 slow start
// with RFC 3465 byte counting, RFC 6582 / RFC 6675 recovery arithmetic, RTO loss window,
// RFC 5681 §4.1 idle restart), NewReno's congestion avoidance and halving, CUBIC (RFC 9438)
// checked against its formulas, and the `Congestion` wrapper's dispatch. Each test names the
// rule it checks.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "gtest/gtest.h"
#include "tcp/congestion_control.h"
#include "tcp/congestion_window.h"
#include "tcp/cubic.h"
#include "tcp/newreno.h"

namespace ferry::tcp {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kMss = 1460;
constexpr uint32_t Segs(uint32_t n) { return n * kMss; }

const base::Instant kT0 = base::Instant{} + hours(1);
constexpr base::Duration kNoRtt{0};

// Slow start from IW to `segments` with one ACK per SMSS (ssthresh is still infinite, or
// above the target).
template <typename Cc>
void SlowStartTo(Cc& cc, uint32_t segments, base::Instant now = kT0) {
  ASSERT_TRUE(cc.in_slow_start());
  while (cc.cwnd() < Segs(segments)) cc.OnAck(kMss, now, kNoRtt);
  ASSERT_EQ(cc.cwnd(), Segs(segments));
}

// One round trip of a window-limited sender: one ACK of `ack_bytes` for each `ack_bytes` of
// the window at the start of the round, spread evenly over `rtt` from `start`. Returns the
// time the round ends.
template <typename Cc>
base::Instant AckOneRound(Cc& cc, base::Instant start, base::Duration rtt,
                          uint32_t ack_bytes = kMss) {
  const uint32_t acks = cc.cwnd() / ack_bytes;
  for (uint32_t i = 0; i < acks; ++i) cc.OnAck(ack_bytes, start + rtt * i / acks, rtt);
  return start + rtt;
}

double SegmentsOf(uint32_t bytes) { return static_cast<double>(bytes) / kMss; }

// The TCB embeds a Congestion: a plain value of modest size, no vtable, no heap.
static_assert(sizeof(Congestion) <= 128);
static_assert(std::is_trivially_copyable_v<Congestion>);
static_assert(!std::is_polymorphic_v<Congestion>);

// ---------------------------------------------------------------------------------------------
// Initial window (RFC 6928 §2: min(10 * MSS, max(2 * MSS, 14600)))

TEST(InitialWindowTest, Rfc6928Values) {
  EXPECT_EQ(InitialWindow(536), 5360u);     // 10 segments
  EXPECT_EQ(InitialWindow(1460), 14600u);   // 10 segments
  EXPECT_EQ(InitialWindow(4380), 14600u);   // the 14600-byte bound: 3.33 segments
  EXPECT_EQ(InitialWindow(9000), 18000u);   // jumbo: the 2-segment floor
  EXPECT_EQ(InitialWindow(65495), 130990u);  // loopback-sized MSS: still 2 segments
}

TEST(InitialWindowTest, EveryAlgorithmStartsAtIwWithInfiniteSsthresh) {
  for (uint32_t mss : {536u, 1460u, 9000u}) {
    NewReno reno(mss);
    Cubic cubic(mss);
    EXPECT_EQ(reno.cwnd(), InitialWindow(mss));
    EXPECT_EQ(cubic.cwnd(), InitialWindow(mss));
    // RFC 5681 §3.1: initial ssthresh "arbitrarily high".
    EXPECT_EQ(reno.ssthresh(), kInitialSsthresh);
    EXPECT_TRUE(reno.in_slow_start());
    EXPECT_FALSE(reno.in_recovery());
  }
}

TEST(InitialWindowTest, RepeatedSynLossFallsBackToOneSegment) {
  // RFC 6928 §2: one SYN retransmission keeps IW; more than one falls back to 1 SMSS.
  NewReno once(kMss);
  once.OnHandshakeComplete(1);
  EXPECT_EQ(once.cwnd(), Segs(10));
  NewReno twice(kMss);
  twice.OnHandshakeComplete(2);
  EXPECT_EQ(twice.cwnd(), kMss);
}

// ---------------------------------------------------------------------------------------------
// Slow start (RFC 5681 §3.1, RFC 3465 §2.2 with L = 1 SMSS)

TEST(SlowStartTest, EachAckOfAFullSegmentAddsOneSmss) {
  NewReno cc(kMss);
  for (uint32_t i = 1; i <= 20; ++i) {
    cc.OnAck(kMss, kT0, kNoRtt);
    EXPECT_EQ(cc.cwnd(), Segs(10 + i));
  }
}

TEST(SlowStartTest, ByteCountingLimitsAStretchAckToOneSmss) {
  NewReno cc(kMss);
  cc.OnAck(3 * kMss, kT0, kNoRtt);  // cwnd += min(N, SMSS)
  EXPECT_EQ(cc.cwnd(), Segs(11));
  cc.OnAck(500, kT0, kNoRtt);  // a small segment counts its bytes only
  EXPECT_EQ(cc.cwnd(), Segs(11) + 500);
}

TEST(SlowStartTest, GrowsToSsthreshThenCongestionAvoidanceTakesOver) {
  NewReno cc(kMss);
  SlowStartTo(cc, 40);
  cc.OnRetransmissionTimeout(Segs(40));  // ssthresh = 20 SMSS, cwnd = 1 SMSS
  ASSERT_EQ(cc.ssthresh(), Segs(20));
  ASSERT_EQ(cc.cwnd(), kMss);
  for (uint32_t i = 2; i <= 20; ++i) {
    cc.OnAck(kMss, kT0, kNoRtt);
    EXPECT_EQ(cc.cwnd(), Segs(i));
  }
  EXPECT_FALSE(cc.in_slow_start());
  cc.OnAck(kMss, kT0, kNoRtt);  // congestion avoidance: counted, not added
  EXPECT_EQ(cc.cwnd(), Segs(20));
  EXPECT_EQ(cc.bytes_acked(), kMss);
}

TEST(SlowStartTest, AckCrossingSsthreshStopsThereAndCountsTheRest) {
  NewReno cc(kMss);
  SlowStartTo(cc, 40);
  cc.OnRetransmissionTimeout(Segs(40) + 1000);  // ssthresh = 20 SMSS + 500
  SlowStartTo(cc, 20);
  cc.OnAck(kMss, kT0, kNoRtt);  // 500 bytes to reach ssthresh; 960 left for avoidance
  EXPECT_EQ(cc.cwnd(), cc.ssthresh());
  EXPECT_EQ(cc.bytes_acked(), 960u);
}

// ---------------------------------------------------------------------------------------------
// NewReno congestion avoidance (RFC 5681 §3.1, byte counting per RFC 3465 §2.1)

// Builds a NewReno in congestion avoidance at cwnd = ssthresh = `segments` SMSS.
NewReno RenoInAvoidance(uint32_t segments) {
  NewReno cc(kMss);
  SlowStartTo(cc, 2 * segments);
  cc.OnRetransmissionTimeout(Segs(2 * segments));
  SlowStartTo(cc, segments);
  return cc;
}

TEST(NewRenoAvoidanceTest, GrowsOneSmssPerRoundTrip) {
  NewReno cc = RenoInAvoidance(20);
  ASSERT_FALSE(cc.in_slow_start());
  base::Instant now = kT0;
  for (uint32_t round = 1; round <= 10; ++round) {
    now = AckOneRound(cc, now, milliseconds(50));
    EXPECT_EQ(cc.cwnd(), Segs(20 + round)) << "round " << round;
  }
}

TEST(NewRenoAvoidanceTest, DelayedAcksGrowAsFastAsOneAckPerSegment) {
  // Byte counting: one ACK per two segments still earns one SMSS per window acknowledged,
  // where eq. (3) per ACK would give half of that.
  NewReno cc = RenoInAvoidance(20);
  base::Instant now = kT0;
  for (uint32_t round = 1; round <= 10; ++round) {
    now = AckOneRound(cc, now, milliseconds(50), 2 * kMss);
  }
  // Rounds of 21+ segments leave odd segments unacknowledged at the round boundary; the byte
  // count carries them, so growth is one SMSS per cwnd of bytes: 10 rounds, ~10 SMSS.
  EXPECT_GE(cc.cwnd(), Segs(29));
  EXPECT_LE(cc.cwnd(), Segs(30));
}

TEST(NewRenoAvoidanceTest, NeverMoreThanOneSmssPerAck) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnAck(Segs(50), kT0, kNoRtt);  // a stretch ACK worth 2.5 windows
  EXPECT_EQ(cc.cwnd(), Segs(21));
  EXPECT_LT(cc.bytes_acked(), cc.cwnd());
}

// ---------------------------------------------------------------------------------------------
// NewReno fast recovery (RFC 6582 §3.2)

TEST(NewRenoRecoveryTest, EntrySetsSsthreshToHalfTheFlightAndInflatesByThree) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), Segs(10));  // step 1: max(FlightSize / 2, 2 * SMSS)
  EXPECT_EQ(cc.cwnd(), Segs(13));      // step 2: ssthresh + 3 * SMSS
}

TEST(NewRenoRecoveryTest, SsthreshUsesFlightSizeNotCwnd) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(12), FastRecovery::kNewReno);  // application-limited: 12 in flight
  EXPECT_EQ(cc.ssthresh(), Segs(6));
}

TEST(NewRenoRecoveryTest, SsthreshIsAtLeastTwoSegments) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(3), FastRecovery::kNewReno);
  EXPECT_EQ(cc.ssthresh(), Segs(2));
  EXPECT_EQ(cc.cwnd(), Segs(5));
}

TEST(NewRenoRecoveryTest, DuplicateAcksInflatePartialAcksDeflate) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  cc.OnDuplicateAck();  // step 3: + SMSS each
  cc.OnDuplicateAck();
  EXPECT_EQ(cc.cwnd(), Segs(15));
  // Step 5: deflate by the amount acked, add back one SMSS since it was >= SMSS.
  cc.OnPartialAck(Segs(3));
  EXPECT_EQ(cc.cwnd(), Segs(13));
  // Less than one SMSS acknowledged: no add-back.
  cc.OnPartialAck(500);
  EXPECT_EQ(cc.cwnd(), Segs(13) - 500);
  EXPECT_TRUE(cc.in_recovery());
}

TEST(NewRenoRecoveryTest, PartialAckNeverDeflatesBelowOneSegment) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);  // cwnd 13 SMSS
  cc.OnPartialAck(Segs(19));
  EXPECT_EQ(cc.cwnd(), kMss);
}

TEST(NewRenoRecoveryTest, FullAckDeflatesToSsthreshOrFlightPlusOne) {
  // Step 6, option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  NewReno plenty = RenoInAvoidance(20);
  plenty.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  plenty.OnDuplicateAck();
  plenty.OnExitRecovery(Segs(12));
  EXPECT_FALSE(plenty.in_recovery());
  EXPECT_EQ(plenty.cwnd(), Segs(10));  // ssthresh

  NewReno little = RenoInAvoidance(20);
  little.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  little.OnExitRecovery(Segs(4));
  EXPECT_EQ(little.cwnd(), Segs(5));  // FlightSize + SMSS: no burst of 6 segments

  NewReno none = RenoInAvoidance(20);
  none.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  none.OnExitRecovery(0);
  EXPECT_EQ(none.cwnd(), Segs(2));  // max(FlightSize, SMSS) + SMSS
  EXPECT_TRUE(none.in_slow_start());  // back up to ssthresh by slow start
}

TEST(NewRenoRecoveryTest, AvoidanceResumesFromTheNewWindow) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnAck(Segs(10), kT0, kNoRtt);  // half a window counted before the loss
  cc.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  cc.OnExitRecovery(Segs(10));
  EXPECT_EQ(cc.bytes_acked(), 0u);  // the count belonged to the old window
  base::Instant now = AckOneRound(cc, kT0, milliseconds(50));
  EXPECT_EQ(cc.cwnd(), Segs(11));
  AckOneRound(cc, now, milliseconds(50));
  EXPECT_EQ(cc.cwnd(), Segs(12));
}

// ---------------------------------------------------------------------------------------------
// SACK recovery (RFC 6675 §5): cwnd = ssthresh, no inflation

TEST(SackRecoveryTest, CwndIsSsthreshAndInflationCallsAreIgnored) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(20), FastRecovery::kSack);
  EXPECT_EQ(cc.ssthresh(), Segs(10));
  EXPECT_EQ(cc.cwnd(), Segs(10));
  cc.OnDuplicateAck();
  cc.OnPartialAck(Segs(3));
  EXPECT_EQ(cc.cwnd(), Segs(10));
  cc.OnExitRecovery(Segs(15));
  EXPECT_EQ(cc.cwnd(), Segs(10));
  EXPECT_FALSE(cc.in_recovery());
}

TEST(SackRecoveryTest, InflationOutsideRecoveryIsIgnored) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnDuplicateAck();
  cc.OnPartialAck(Segs(3));
  cc.OnExitRecovery(0);
  EXPECT_EQ(cc.cwnd(), Segs(20));
}

// ---------------------------------------------------------------------------------------------
// Retransmission timeout (RFC 5681 §3.1: eq. (4) and the loss window)

TEST(RetransmissionTimeoutTest, CollapsesToOneSegmentAndHalvesSsthresh) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnRetransmissionTimeout(Segs(20));
  EXPECT_EQ(cc.cwnd(), kMss);          // LW = 1 SMSS
  EXPECT_EQ(cc.ssthresh(), Segs(10));  // max(FlightSize / 2, 2 * SMSS)
  EXPECT_TRUE(cc.in_slow_start());
}

TEST(RetransmissionTimeoutTest, RepeatedTimeoutHoldsSsthresh) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnRetransmissionTimeout(Segs(20));
  cc.OnRetransmissionTimeout(Segs(20));  // same segment, timed out again
  EXPECT_EQ(cc.ssthresh(), Segs(10));    // not 10 / 2 of anything
  EXPECT_EQ(cc.cwnd(), kMss);
  // New data acknowledged ends the episode: the next timeout is a new congestion event.
  cc.OnAck(kMss, kT0, kNoRtt);
  cc.OnRetransmissionTimeout(Segs(8));
  EXPECT_EQ(cc.ssthresh(), Segs(4));
}

TEST(RetransmissionTimeoutTest, EndsRecovery) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnEnterRecovery(Segs(20), FastRecovery::kNewReno);
  cc.OnRetransmissionTimeout(Segs(20));
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), kMss);
}

// ---------------------------------------------------------------------------------------------
// Restart after idle (RFC 5681 §4.1)

TEST(IdleRestartTest, IdleLongerThanRtoRestartsFromTheInitialWindow) {
  NewReno cc = RenoInAvoidance(30);
  EXPECT_FALSE(cc.OnIdleRestart(milliseconds(900), seconds(1)));
  EXPECT_EQ(cc.cwnd(), Segs(30));
  EXPECT_FALSE(cc.OnIdleRestart(seconds(1), seconds(1)));  // "exceeding" the RTO
  EXPECT_EQ(cc.cwnd(), Segs(30));
  EXPECT_TRUE(cc.OnIdleRestart(seconds(2), seconds(1)));
  EXPECT_EQ(cc.cwnd(), Segs(10));     // RW = min(IW, cwnd)
  EXPECT_EQ(cc.ssthresh(), Segs(30));  // untouched: slow start back up
  EXPECT_TRUE(cc.in_slow_start());
}

TEST(IdleRestartTest, WindowBelowIwIsKept) {
  NewReno cc = RenoInAvoidance(20);
  cc.OnRetransmissionTimeout(Segs(20));  // cwnd 1 SMSS
  EXPECT_FALSE(cc.OnIdleRestart(seconds(10), seconds(1)));
  EXPECT_EQ(cc.cwnd(), kMss);
}

// ---------------------------------------------------------------------------------------------
// CUBIC (RFC 9438)

// A Cubic that has slow-started to 100 segments and then lost a segment there (W_max = 100),
// recovered with SACK, and is about to start congestion avoidance at 70 segments.
Cubic CubicAfterLossAt100(const CubicOptions& options = {}) {
  Cubic cc(kMss, options);
  SlowStartTo(cc, 100);
  cc.OnEnterRecovery(Segs(100), FastRecovery::kSack);
  cc.OnExitRecovery(Segs(100));
  return cc;
}

TEST(CubicTest, Constants) {
  // RFC 9438 §4.1.1: C = 0.4 (§5.1), beta_cubic = 0.7 (§4.6),
  // alpha_cubic = 3 * (1 - 0.7) / (1 + 0.7) = 0.9 / 1.7 (§4.3).
  EXPECT_DOUBLE_EQ(Cubic::kC, 0.4);
  EXPECT_DOUBLE_EQ(Cubic::kBeta, 0.7);
  EXPECT_NEAR(Cubic::kAlpha, 0.529412, 1e-6);
}

TEST(CubicTest, LossAtOneHundredSegmentsReducesToSeventy) {
  Cubic cc(kMss);
  SlowStartTo(cc, 100);
  cc.OnEnterRecovery(Segs(100), FastRecovery::kSack);
  // RFC 9438 §4.6: ssthresh = flight_size * beta_cubic; cwnd = ssthresh (RFC 6675).
  EXPECT_EQ(cc.ssthresh(), Segs(70));
  EXPECT_EQ(cc.cwnd(), Segs(70));
  EXPECT_DOUBLE_EQ(cc.w_max(), 100.0);       // §4.7 (first loss): W_max = cwnd
  EXPECT_DOUBLE_EQ(cc.cwnd_prior(), 100.0);  // §4.6
}

TEST(CubicTest, NewRenoStyleRecoveryInflatesAndDeflatesToSeventy) {
  // §4.2: CUBIC leaves fast recovery alone: RFC 6582's + 3 SMSS on entry, ssthresh on exit.
  Cubic cc(kMss);
  SlowStartTo(cc, 100);
  cc.OnEnterRecovery(Segs(100), FastRecovery::kNewReno);
  EXPECT_EQ(cc.ssthresh(), Segs(70));
  EXPECT_EQ(cc.cwnd(), Segs(73));
  cc.OnDuplicateAck();
  EXPECT_EQ(cc.cwnd(), Segs(74));
  cc.OnExitRecovery(Segs(90));
  EXPECT_EQ(cc.cwnd(), Segs(70));
}

TEST(CubicTest, SsthreshUsesFlightSize) {
  Cubic cc(kMss);
  SlowStartTo(cc, 100);
  cc.OnEnterRecovery(Segs(50), FastRecovery::kSack);  // only 50 segments were in flight
  EXPECT_EQ(cc.ssthresh(), Segs(35));
  EXPECT_DOUBLE_EQ(cc.w_max(), 100.0);  // W_max still remembers cwnd
}

TEST(CubicTest, EpochStartsAtTheFirstAvoidanceAckWithKFromWmax) {
  Cubic cc = CubicAfterLossAt100();
  EXPECT_FALSE(cc.epoch_started());
  cc.OnAck(kMss, kT0, milliseconds(100));
  ASSERT_TRUE(cc.epoch_started());
  EXPECT_EQ(cc.t_epoch(), kT0);
  EXPECT_DOUBLE_EQ(cc.cwnd_epoch(), 70.0);
  // §4.2: K = cbrt((W_max - cwnd_epoch) / C) = cbrt(30 / 0.4) = cbrt(75).
  EXPECT_NEAR(cc.k(), 4.21716, 1e-5);
  // W_cubic(0) = cwnd_epoch and W_cubic(K) = W_max.
  EXPECT_NEAR(cc.WindowAt(0), 70.0, 1e-9);
  EXPECT_NEAR(cc.WindowAt(cc.k()), 100.0, 1e-9);
  EXPECT_LT(cc.WindowAt(cc.k() - 1), 100.0);
  EXPECT_GT(cc.WindowAt(cc.k() + 1), 100.0);
}

TEST(CubicTest, ConcaveUpToWmaxAtKThenConvex) {
  // RTT 200 ms: long enough that the cubic curve, not W_est, governs (see the Reno-friendly
  // test for short RTTs). One round per RTT, one ACK per segment.
  Cubic cc = CubicAfterLossAt100();
  const base::Duration rtt = milliseconds(200);
  base::Instant now = kT0;
  cc.OnAck(kMss, now, rtt);  // starts the epoch at kT0
  const double k = cc.k();

  std::vector<double> t_of_round;
  std::vector<double> cwnd_of_round;
  while (std::chrono::duration<double>(now - kT0).count() < k + 3.0) {
    t_of_round.push_back(std::chrono::duration<double>(now - kT0).count());
    cwnd_of_round.push_back(SegmentsOf(cc.cwnd()));
    now = AckOneRound(cc, now, rtt);
    if (t_of_round.back() > 0.5 && t_of_round.back() + 0.2 < k) {
      EXPECT_EQ(cc.region(), CubicRegion::kConcave) << "t=" << t_of_round.back();
    }
    if (t_of_round.back() > k) {
      EXPECT_EQ(cc.region(), CubicRegion::kConvex) << "t=" << t_of_round.back();
    }
  }

  bool checked_at_k = false;
  for (size_t i = 0; i + 2 < cwnd_of_round.size(); ++i) {
    const double t = t_of_round[i];
    const double grew = cwnd_of_round[i + 1] - cwnd_of_round[i];
    const double grew_next = cwnd_of_round[i + 2] - cwnd_of_round[i + 1];
    EXPECT_GE(grew, 0) << "t=" << t;
    // §4.4: below W_max (rounds ending before K) each round adds less than the last.
    if (t > 0.3 && t_of_round[i + 2] < k) {
      EXPECT_LT(grew_next, grew) << "t=" << t;
    }
    // §4.5: past K each round adds more than the last.
    if (t > k) {
      EXPECT_GT(grew_next, grew) << "t=" << t;
    }
    // W_cubic(K) = W_max: the round nearest K finds cwnd within a segment of 100.
    if (std::abs(t - k) <= 0.1) {
      EXPECT_NEAR(cwnd_of_round[i], 100.0, 1.0) << "t=" << t;
      checked_at_k = true;
    }
  }
  EXPECT_TRUE(checked_at_k);
  // And cwnd follows the curve throughout, one RTT ahead at most.
  for (size_t i = 1; i < cwnd_of_round.size(); ++i) {
    const double t = t_of_round[i];
    EXPECT_GE(cwnd_of_round[i], cc.WindowAt(t) - 1.0) << "t=" << t;
    EXPECT_LE(cwnd_of_round[i], cc.WindowAt(t + 0.2) + 1.0) << "t=" << t;
  }
}

TEST(CubicTest, TargetIsCappedAtOneAndAHalfCwnd) {
  // §4.2: target <= 1.5 * cwnd, so one ACK adds at most half of what it acknowledged.
  // After a timeout (K = 0, W_max = 14) with a 3 s RTT, W_cubic(t + RTT) at t = 1 s is
  // 0.4 * 4^3 + 14 = 39.6 segments, far above 1.5 * cwnd.
  Cubic cc(kMss);
  SlowStartTo(cc, 20);
  cc.OnRetransmissionTimeout(Segs(20));  // ssthresh 14 segments
  while (cc.in_slow_start()) cc.OnAck(kMss, kT0, seconds(3));
  ASSERT_EQ(cc.cwnd(), Segs(14));
  cc.OnAck(kMss, kT0, seconds(3));  // starts the epoch
  ASSERT_DOUBLE_EQ(cc.k(), 0.0);
  const uint32_t before = cc.cwnd();
  cc.OnAck(kMss, kT0 + seconds(1), seconds(3));
  ASSERT_EQ(cc.region(), CubicRegion::kConvex);
  EXPECT_NEAR(static_cast<double>(cc.cwnd() - before), kMss / 2.0, 1.0);
}

TEST(CubicTest, TimeoutAfterALossForgetsWmax) {
  // §4.8: the first stage after a timeout uses W_max = cwnd_epoch and K = 0, not the W_max
  // of the loss before the timeout.
  Cubic cc = CubicAfterLossAt100();
  ASSERT_DOUBLE_EQ(cc.w_max(), 100.0);
  cc.OnRetransmissionTimeout(Segs(70));  // ssthresh 49 segments
  while (cc.in_slow_start()) cc.OnAck(kMss, kT0, milliseconds(100));
  cc.OnAck(kMss, kT0, milliseconds(100));
  EXPECT_DOUBLE_EQ(cc.k(), 0.0);
  EXPECT_DOUBLE_EQ(cc.w_max(), 49.0);
}

TEST(CubicTest, RenoFriendlyEstimateFollowsTheFormula) {
  Cubic cc = CubicAfterLossAt100();
  cc.OnAck(kMss, kT0, milliseconds(1));
  // §4.3: W_est starts at cwnd_epoch = 70 and grows by alpha_cubic * segments_acked / cwnd.
  EXPECT_DOUBLE_EQ(cc.w_est(), 70.0 + Cubic::kAlpha / 70.0);
  EXPECT_DOUBLE_EQ(cc.alpha(), Cubic::kAlpha);
  // Half a segment acknowledged counts as half (segments_acked is fractional, §4.1.2).
  const double before = cc.w_est();
  const double cwnd = SegmentsOf(cc.cwnd());
  cc.OnAck(kMss / 2, kT0 + milliseconds(1), milliseconds(1));
  EXPECT_DOUBLE_EQ(cc.w_est(), before + Cubic::kAlpha * 0.5 / cwnd);
}

TEST(CubicTest, RenoFriendlyRegionDominatesAtShortRtt) {
  // RTT 1 ms: in 0.1 s the cubic curve rises ~2 segments, while W_est rises alpha_cubic
  // (~0.53) segments per RTT, ~50 segments. cwnd must follow W_est (§4.3).
  Cubic cc = CubicAfterLossAt100();
  const base::Duration rtt = milliseconds(1);
  base::Instant now = kT0;
  now = AckOneRound(cc, now, rtt);
  // One round of 70 ACKs: W_est ~ 70 + alpha_cubic.
  EXPECT_NEAR(cc.w_est(), 70.0 + Cubic::kAlpha, 0.01);
  EXPECT_EQ(cc.region(), CubicRegion::kRenoFriendly);
  for (int round = 0; round < 100; ++round) {
    now = AckOneRound(cc, now, rtt);
    EXPECT_EQ(cc.region(), CubicRegion::kRenoFriendly);
    EXPECT_NEAR(SegmentsOf(cc.cwnd()), cc.w_est(), 1.0 / kMss);
  }
  const double t = std::chrono::duration<double>(now - kT0).count();
  EXPECT_GT(cc.w_est(), cc.WindowAt(t) + 20);
}

TEST(CubicTest, AlphaBecomesOneOnceWestReachesCwndPrior) {
  // §4.3: once W_est >= cwnd_prior (100), alpha_cubic = 1: Reno's one segment per RTT.
  Cubic cc = CubicAfterLossAt100();
  const base::Duration rtt = milliseconds(1);
  base::Instant now = kT0;
  while (cc.w_est() < 100.0) {
    EXPECT_DOUBLE_EQ(cc.alpha(), Cubic::kAlpha);
    now = AckOneRound(cc, now, rtt);
  }
  EXPECT_DOUBLE_EQ(cc.alpha(), 1.0);
  const double before = cc.w_est();
  AckOneRound(cc, now, rtt);
  EXPECT_NEAR(cc.w_est() - before, 1.0, 0.02);
}

TEST(CubicTest, FastConvergenceLowersWmaxWhenLossComesEarlier) {
  Cubic cc = CubicAfterLossAt100();
  base::Instant now = kT0;
  while (cc.cwnd() < Segs(90)) now = AckOneRound(cc, now, milliseconds(1));
  const double at_loss = SegmentsOf(cc.cwnd());
  ASSERT_LT(at_loss, 100.0);
  cc.OnEnterRecovery(cc.cwnd(), FastRecovery::kSack);
  // §4.7: cwnd < W_max, so W_max = cwnd * (1 + beta_cubic) / 2.
  EXPECT_DOUBLE_EQ(cc.w_max(), at_loss * 0.85);
  EXPECT_DOUBLE_EQ(cc.cwnd_prior(), at_loss);

  CubicOptions off;
  off.fast_convergence = false;
  Cubic plain = CubicAfterLossAt100(off);
  now = kT0;
  while (plain.cwnd() < Segs(90)) now = AckOneRound(plain, now, milliseconds(1));
  const double plain_at_loss = SegmentsOf(plain.cwnd());
  plain.OnEnterRecovery(plain.cwnd(), FastRecovery::kSack);
  EXPECT_DOUBLE_EQ(plain.w_max(), plain_at_loss);
}

TEST(CubicTest, LossAboveWmaxRemembersTheNewCwnd) {
  Cubic cc = CubicAfterLossAt100();
  base::Instant now = kT0;
  while (cc.cwnd() < Segs(110)) now = AckOneRound(cc, now, milliseconds(1));
  const double at_loss = SegmentsOf(cc.cwnd());
  cc.OnEnterRecovery(cc.cwnd(), FastRecovery::kSack);
  EXPECT_DOUBLE_EQ(cc.w_max(), at_loss);  // §4.7 "otherwise": W_max = cwnd
}

TEST(CubicTest, TimeoutCollapsesThenStartsTheCurveFlatAtCwnd) {
  Cubic cc(kMss);
  SlowStartTo(cc, 100);
  cc.OnRetransmissionTimeout(Segs(100));
  // §4.8: cwnd as Reno (1 SMSS), ssthresh with beta_cubic.
  EXPECT_EQ(cc.cwnd(), kMss);
  EXPECT_EQ(cc.ssthresh(), Segs(70));
  EXPECT_TRUE(cc.in_slow_start());
  cc.OnRetransmissionTimeout(Segs(1));  // repeated: ssthresh held (RFC 5681 §3.1)
  EXPECT_EQ(cc.ssthresh(), Segs(70));

  while (cc.in_slow_start()) cc.OnAck(kMss, kT0, milliseconds(100));
  EXPECT_EQ(cc.cwnd(), Segs(70));
  cc.OnAck(kMss, kT0 + seconds(1), milliseconds(100));
  // §4.8: the first stage after a timeout has K = 0, W_max = cwnd_epoch, W_est = cwnd_epoch.
  EXPECT_TRUE(cc.epoch_started());
  EXPECT_DOUBLE_EQ(cc.k(), 0.0);
  EXPECT_DOUBLE_EQ(cc.w_max(), 70.0);
  EXPECT_DOUBLE_EQ(cc.cwnd_epoch(), 70.0);
  EXPECT_DOUBLE_EQ(cc.cwnd_prior(), 100.0);
  EXPECT_NEAR(cc.w_est(), 70.0, 0.01);
}

TEST(CubicTest, SlowStartAfterRecoveryRestartsTheEpoch) {
  Cubic cc = CubicAfterLossAt100();
  cc.OnAck(kMss, kT0, milliseconds(100));
  ASSERT_TRUE(cc.epoch_started());
  const double at_loss = SegmentsOf(cc.cwnd());  // just above 70
  cc.OnEnterRecovery(Segs(70), FastRecovery::kSack);
  EXPECT_FALSE(cc.epoch_started());
  cc.OnExitRecovery(Segs(10));  // little outstanding: cwnd = 11 SMSS < ssthresh 49
  ASSERT_TRUE(cc.in_slow_start());
  while (cc.in_slow_start()) cc.OnAck(kMss, kT0 + seconds(5), milliseconds(100));
  EXPECT_EQ(cc.cwnd(), Segs(49));
  EXPECT_FALSE(cc.epoch_started());  // slow start is not part of the epoch
  cc.OnAck(kMss, kT0 + seconds(6), milliseconds(100));
  EXPECT_TRUE(cc.epoch_started());
  EXPECT_EQ(cc.t_epoch(), kT0 + seconds(6));
  EXPECT_DOUBLE_EQ(cc.cwnd_epoch(), 49.0);
  // The second loss came below the first W_max (100): fast convergence set W_max to
  // 0.85 * cwnd at the loss, and K = cbrt((W_max - cwnd_epoch) / C).
  EXPECT_DOUBLE_EQ(cc.w_max(), at_loss * 0.85);
  EXPECT_NEAR(cc.k(), std::cbrt((at_loss * 0.85 - 49.0) / 0.4), 1e-12);
}

TEST(CubicTest, IdleTimeIsNotCountedInTheEpoch) {
  // §5.8: two identical flows, one of which pauses for 800 ms (under the RTO, so cwnd is
  // not cut) and then carries on: the pause is not time on the curve.
  const base::Duration rtt = milliseconds(200);
  Cubic busy = CubicAfterLossAt100();
  Cubic paused = CubicAfterLossAt100();
  base::Instant now = kT0;
  for (int round = 0; round < 5; ++round) {
    AckOneRound(busy, now, rtt);
    now = AckOneRound(paused, now, rtt);
  }
  const base::Duration idle = milliseconds(800);
  EXPECT_FALSE(paused.OnIdleRestart(idle, seconds(1)));
  EXPECT_EQ(paused.t_epoch(), kT0 + idle);
  for (int round = 0; round < 10; ++round) {
    AckOneRound(busy, now, rtt);
    AckOneRound(paused, now + idle, rtt);
    now += rtt;
  }
  EXPECT_EQ(paused.cwnd(), busy.cwnd());

  // Without the shift the pause would have counted: a third flow that ignores it is ahead.
  Cubic unshifted = CubicAfterLossAt100();
  now = kT0;
  for (int round = 0; round < 5; ++round) now = AckOneRound(unshifted, now, rtt);
  for (int round = 0; round < 10; ++round) {
    AckOneRound(unshifted, now + idle, rtt);
    now += rtt;
  }
  EXPECT_GT(unshifted.cwnd(), paused.cwnd());
}

TEST(CubicTest, IdleLongerThanRtoRestartsFromTheInitialWindow) {
  Cubic cc = CubicAfterLossAt100();
  cc.OnAck(kMss, kT0, milliseconds(100));
  EXPECT_TRUE(cc.OnIdleRestart(seconds(5), seconds(1)));  // RFC 5681 §4.1
  EXPECT_EQ(cc.cwnd(), Segs(10));
  EXPECT_EQ(cc.ssthresh(), Segs(70));
  EXPECT_TRUE(cc.in_slow_start());
}

// ---------------------------------------------------------------------------------------------
// The Congestion wrapper: dispatch to the chosen algorithm

TEST(CongestionTest, DispatchesToTheChosenAlgorithm) {
  Congestion reno(CongestionAlgorithm::kNewReno, kMss);
  Congestion cubic(CongestionAlgorithm::kCubic, kMss);
  EXPECT_EQ(reno.algorithm(), CongestionAlgorithm::kNewReno);
  EXPECT_EQ(cubic.algorithm(), CongestionAlgorithm::kCubic);
  ASSERT_NE(reno.newreno(), nullptr);
  EXPECT_EQ(reno.cubic(), nullptr);
  ASSERT_NE(cubic.cubic(), nullptr);
  EXPECT_EQ(cubic.newreno(), nullptr);

  for (Congestion* cc : {&reno, &cubic}) {
    EXPECT_EQ(cc->cwnd(), Segs(10));
    EXPECT_EQ(cc->smss(), kMss);
    for (int i = 0; i < 90; ++i) cc->OnAck(kMss, kT0, kNoRtt);
    EXPECT_EQ(cc->cwnd(), Segs(100));
    cc->OnEnterRecovery(Segs(100), FastRecovery::kNewReno);
    EXPECT_TRUE(cc->in_recovery());
  }
  EXPECT_EQ(reno.ssthresh(), Segs(50));   // FlightSize / 2
  EXPECT_EQ(cubic.ssthresh(), Segs(70));  // FlightSize * beta_cubic
  EXPECT_DOUBLE_EQ(cubic.cubic()->w_max(), 100.0);

  for (Congestion* cc : {&reno, &cubic}) {
    const uint32_t before = cc->cwnd();
    cc->OnDuplicateAck();
    EXPECT_EQ(cc->cwnd(), before + kMss);
    cc->OnPartialAck(Segs(2));
    EXPECT_EQ(cc->cwnd(), before);
    cc->OnExitRecovery(Segs(90));
    EXPECT_FALSE(cc->in_recovery());
    EXPECT_EQ(cc->cwnd(), cc->ssthresh());
    cc->OnRetransmissionTimeout(Segs(90));
    EXPECT_EQ(cc->cwnd(), kMss);
    EXPECT_TRUE(cc->in_slow_start());
    EXPECT_FALSE(cc->OnIdleRestart(seconds(5), seconds(1)));  // 1 SMSS < IW: nothing to cut
  }
  EXPECT_EQ(reno.ssthresh(), Segs(45));
  EXPECT_EQ(cubic.ssthresh(), Segs(63));
}

TEST(CongestionTest, HandshakeRuleReachesTheAlgorithm) {
  Congestion cc(CongestionAlgorithm::kCubic, kMss);
  cc.OnHandshakeComplete(3);
  EXPECT_EQ(cc.cwnd(), kMss);
}

}  // namespace
}  // namespace ferry::tcp
