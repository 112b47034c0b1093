#include "tcp/rtt.h"

#include <algorithm>
#include <cassert>

namespace ferry::tcp {

RttEstimator::RttEstimator(const RtoOptions& options)
    : options_(options), base_rto_(options.initial), rto_(options.initial) {
  assert(Valid(options));
}

void RttEstimator::OnMeasurement(base::Duration rtt) {
  const base::Duration r = std::max(rtt, base::Duration{0});
  if (!has_measurement_) {
    // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2.
    srtt_ = r;
    rttvar_ = r / 2;
    has_measurement_ = true;
  } else {
    // RFC 6298 §2.3, in this order (RTTVAR uses the SRTT from before this sample):
    //   RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|, beta = 1/4
    //   SRTT   <- (1 - alpha) * SRTT + alpha * R',          alpha = 1/8
    const base::Duration deviation = srtt_ > r ? srtt_ - r : r - srtt_;
    rttvar_ = (3 * rttvar_ + deviation) / 4;
    srtt_ = (7 * srtt_ + r) / 8;
  }
  base_rto_ = ComputeRto();
  // RFC 6298 §5, after (5.7): a new sample recomputes RTO, collapsing any backoff.
  ResetBackoff();
}

void RttEstimator::Backoff() {
  // RFC 6298 §5.5: RTO <- RTO * 2, bounded by the §2.5 maximum.
  rto_ = std::min(rto_ * 2, options_.max);
  ++backoffs_;
}

void RttEstimator::ResetBackoff() {
  rto_ = base_rto_;
  backoffs_ = 0;
}

void RttEstimator::ReinitializeAfterSynTimeout() {
  // RFC 6298 §5.7: "the RTO MUST be re-initialized to 3 seconds when data transmission
  // begins" if it is less than that.
  if (rto_ >= kSynTimeoutRto) return;
  base_rto_ = std::min(kSynTimeoutRto, options_.max);
  ResetBackoff();
}

base::Duration RttEstimator::ComputeRto() const {
  // RFC 6298 §2.3: RTO <- SRTT + max(G, K * RTTVAR), K = 4; §2.4 lower and §2.5 upper bound.
  const base::Duration rto = srtt_ + std::max(options_.clock_granularity, 4 * rttvar_);
  return std::clamp(rto, options_.min, options_.max);
}

}  // namespace ferry::tcp
