// RttEstimator against RFC 6298: the first sample (§2.2), smoothing (§2.3) checked against
// values worked by hand, the G term, the min/max clamps (§2.4, §2.5), backoff (§5.5) and its
// collapse on a new sample (§5, after (5.7)), and the SYN-timeout rule (§5.7).
#include "tcp/rtt.h"

#include <chrono>

#include "gtest/gtest.h"

namespace ferry::tcp {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

RtoOptions Opts(base::Duration min, base::Duration max, base::Duration g) {
  RtoOptions o;
  o.min = min;
  o.max = max;
  o.clock_granularity = g;
  return o;
}

static_assert(RttEstimator::Valid(RtoOptions{}));
static_assert(!RttEstimator::Valid(RtoOptions{seconds(1), nanoseconds(0), seconds(60), {}}));
static_assert(!RttEstimator::Valid(RtoOptions{seconds(1), seconds(2), seconds(60), {}}));
static_assert(!RttEstimator::Valid(RtoOptions{seconds(61), seconds(1), seconds(60), {}}));
static_assert(!RttEstimator::Valid(RtoOptions{seconds(1), seconds(1), seconds(60), -seconds(1)}));

// ---------------------------------------------------------------------------------------------
// Before and at the first sample

TEST(RttEstimatorTest, InitialRtoIsOneSecondWithNoSample) {
  // RFC 6298 §2.1.
  RttEstimator est;
  EXPECT_FALSE(est.has_measurement());
  EXPECT_EQ(est.rto(), seconds(1));
  EXPECT_EQ(est.srtt(), nanoseconds(0));
  EXPECT_EQ(est.rttvar(), nanoseconds(0));
}

TEST(RttEstimatorTest, FirstSampleSetsSrttToRAndRttvarToHalfR) {
  // RFC 6298 §2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 * RTTVAR) = 100 + 200 ms.
  RttEstimator est;
  est.OnMeasurement(milliseconds(100));
  EXPECT_TRUE(est.has_measurement());
  EXPECT_EQ(est.srtt(), milliseconds(100));
  EXPECT_EQ(est.rttvar(), milliseconds(50));
  EXPECT_EQ(est.rto(), milliseconds(300));
}

TEST(RttEstimatorTest, NegativeSampleIsTakenAsZero) {
  RttEstimator est(Opts(milliseconds(1), seconds(60), milliseconds(1)));
  est.OnMeasurement(-milliseconds(5));
  EXPECT_EQ(est.srtt(), nanoseconds(0));
  EXPECT_EQ(est.rttvar(), nanoseconds(0));
  EXPECT_EQ(est.rto(), milliseconds(1));  // 0 + max(G, 0), at the 1 ms floor
}

// ---------------------------------------------------------------------------------------------
// Smoothing (RFC 6298 §2.3)

TEST(RttEstimatorTest, SequenceOfSamplesMatchesHandComputedValues) {
  RttEstimator est;
  est.OnMeasurement(milliseconds(100));

  // R' = 200 ms: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms (from the *old* SRTT);
  // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms; RTO = 112.5 + 4 * 62.5 = 362.5 ms.
  est.OnMeasurement(milliseconds(200));
  EXPECT_EQ(est.rttvar(), microseconds(62'500));
  EXPECT_EQ(est.srtt(), microseconds(112'500));
  EXPECT_EQ(est.rto(), microseconds(362'500));

  // R' = 80 ms: RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 80| = 46.875 + 8.125 = 55 ms;
  // SRTT = 7/8 * 112.5 + 1/8 * 80 = 98.4375 + 10 = 108.4375 ms; RTO = 108.4375 + 220.
  est.OnMeasurement(milliseconds(80));
  EXPECT_EQ(est.rttvar(), milliseconds(55));
  EXPECT_EQ(est.srtt(), microseconds(108'437) + nanoseconds(500));
  EXPECT_EQ(est.rto(), microseconds(328'437) + nanoseconds(500));
}

TEST(RttEstimatorTest, SteadySamplesConvergeAndVarianceDecays) {
  RttEstimator est(Opts(milliseconds(1), seconds(60), milliseconds(1)));
  for (int i = 0; i < 200; ++i) est.OnMeasurement(milliseconds(40));
  EXPECT_EQ(est.srtt(), milliseconds(40));
  // RTTVAR = 20 ms * (3/4)^199, far below G: RTO = SRTT + G.
  EXPECT_LT(est.rttvar(), microseconds(1));
  EXPECT_EQ(est.rto(), milliseconds(41));
}

TEST(RttEstimatorTest, GranularityTermWhenFourRttvarIsBelowG) {
  // G = 50 ms. Constant 100 ms samples: RTTVAR = 50 ms * (3/4)^(n-1).
  RttEstimator est(Opts(milliseconds(1), seconds(60), milliseconds(50)));
  est.OnMeasurement(milliseconds(100));
  EXPECT_EQ(est.rto(), milliseconds(300));  // 4 * 50 > G
  est.OnMeasurement(milliseconds(100));
  EXPECT_EQ(est.rttvar(), microseconds(37'500));
  EXPECT_EQ(est.rto(), milliseconds(250));  // 4 * 37.5 > G
  for (int i = 0; i < 4; ++i) est.OnMeasurement(milliseconds(100));
  // Six samples: RTTVAR = 50 * (3/4)^5 = 11.865... ms, 4 * RTTVAR = 47.46 ms < G.
  EXPECT_LT(4 * est.rttvar(), milliseconds(50));
  EXPECT_EQ(est.rto(), milliseconds(150));  // SRTT + G
}

// ---------------------------------------------------------------------------------------------
// Clamping (RFC 6298 §2.4, §2.5)

TEST(RttEstimatorTest, RtoIsClampedToTheMinimum) {
  RttEstimator est;  // min 200 ms (Linux's, see RtoOptions)
  est.OnMeasurement(milliseconds(1));  // 1 + max(1, 2) = 3 ms
  EXPECT_EQ(est.rto(), milliseconds(200));

  RtoOptions strict;
  strict.min = seconds(1);  // the RFC 6298 §2.4 floor
  RttEstimator rfc(strict);
  rfc.OnMeasurement(milliseconds(100));  // 300 ms computed
  EXPECT_EQ(rfc.rto(), seconds(1));
}

TEST(RttEstimatorTest, RtoIsClampedToTheMaximum) {
  RttEstimator est;
  est.OnMeasurement(seconds(30));  // 30 + 4 * 15 = 90 s
  EXPECT_EQ(est.rto(), seconds(60));
  EXPECT_EQ(est.srtt(), seconds(30));  // the estimate itself is not clamped
}

// ---------------------------------------------------------------------------------------------
// Backoff (RFC 6298 §5.5) and its collapse

TEST(RttEstimatorTest, BackoffDoublesUpToTheMaximum) {
  RttEstimator est;
  const base::Duration expected[] = {seconds(2),  seconds(4),  seconds(8), seconds(16),
                                     seconds(32), seconds(60), seconds(60)};
  uint32_t n = 0;
  for (base::Duration want : expected) {
    est.Backoff();
    ++n;
    EXPECT_EQ(est.rto(), want) << "after " << n << " backoffs";
    EXPECT_EQ(est.backoffs(), n);
  }
}

TEST(RttEstimatorTest, BackoffStartsFromTheComputedRto) {
  RttEstimator est;
  est.OnMeasurement(milliseconds(100));  // 300 ms
  est.Backoff();
  EXPECT_EQ(est.rto(), milliseconds(600));
  est.Backoff();
  EXPECT_EQ(est.rto(), milliseconds(1200));
}

TEST(RttEstimatorTest, NewSampleCollapsesTheBackoff) {
  RttEstimator est;
  est.OnMeasurement(milliseconds(100));
  est.Backoff();
  est.Backoff();
  est.Backoff();
  EXPECT_EQ(est.rto(), milliseconds(2400));
  // RFC 6298 §5, after (5.7): the next sample recomputes RTO from SRTT/RTTVAR, no backoff.
  est.OnMeasurement(milliseconds(100));  // RTTVAR 37.5, SRTT 100: RTO 250 ms
  EXPECT_EQ(est.rto(), milliseconds(250));
  EXPECT_EQ(est.backoffs(), 0u);
}

TEST(RttEstimatorTest, ResetBackoffRestoresTheUnbackedRto) {
  RttEstimator est;
  est.Backoff();
  est.Backoff();
  EXPECT_EQ(est.rto(), seconds(4));
  est.ResetBackoff();
  EXPECT_EQ(est.rto(), seconds(1));
  EXPECT_EQ(est.backoffs(), 0u);
  EXPECT_FALSE(est.has_measurement());
}

// ---------------------------------------------------------------------------------------------
// SYN timeout (RFC 6298 §5.7)

TEST(RttEstimatorTest, SynTimeoutReinitializesRtoToThreeSeconds) {
  RttEstimator est;
  est.Backoff();  // the SYN timed out once: 2 s
  est.ReinitializeAfterSynTimeout();
  EXPECT_EQ(est.rto(), seconds(3));
  EXPECT_EQ(est.backoffs(), 0u);
  est.Backoff();  // data timeout doubles from 3 s
  EXPECT_EQ(est.rto(), seconds(6));
  est.OnMeasurement(milliseconds(100));  // the next sample replaces it
  EXPECT_EQ(est.rto(), milliseconds(300));
}

TEST(RttEstimatorTest, SynTimeoutKeepsALargerBackedOffRto) {
  RttEstimator est;
  est.Backoff();
  est.Backoff();  // 4 s
  est.ReinitializeAfterSynTimeout();
  EXPECT_EQ(est.rto(), seconds(4));
  EXPECT_EQ(est.backoffs(), 2u);
}

TEST(RttEstimatorTest, SynTimeoutRtoIsClampedToTheMaximum) {
  RttEstimator est(Opts(milliseconds(200), seconds(2), milliseconds(1)));
  est.ReinitializeAfterSynTimeout();
  EXPECT_EQ(est.rto(), seconds(2));
}

}  // namespace
}  // namespace ferry::tcp
