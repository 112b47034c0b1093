// The retransmission timeout (RTO) of one connection, estimated from round-trip time samples
// as RFC 6298 specifies: a smoothed RTT (SRTT) and its mean deviation (RTTVAR), RTO = SRTT +
// max(G, 4 * RTTVAR), clamped to [min, max], doubled on each expiry of the timer.
//
// The estimator only does the arithmetic. Deciding which ACKs yield a sample is the caller's
// (the TCB's) job, and RFC 6298 makes it a MUST:
//
// - Karn's algorithm (RFC 6298 §3): never take a sample from a segment that was retransmitted,
//   because the ACK cannot tell which transmission it answers. Without timestamps, time one
//   segment at a time (e.g. record SND.NXT and the send time when no segment is being timed;
//   the first ACK covering that sequence number gives the sample) and abandon the timing when
//   that segment is retransmitted.
// - RFC 6298 §3 also requires at least one sample per RTT (when Karn's rule allows one).
// - With the TCP timestamp option (RFC 7323 §4, RTTM), the sample is now - TSecr of an ACK that
//   acknowledges new data. TSecr echoes the transmission that actually elicited the ACK, so
//   retransmitted segments are not ambiguous and may be sampled. Feed at most one sample per
//   RTT all the same: alpha and beta below assume one sample per RTT (RFC 7323 Appendix G
//   explains how per-ACK samples would shorten SRTT's memory to a fraction of an RTT).
// - After the timer expires, the backed-off RTO stays in force until the next valid sample
//   (RFC 6298 §5, the note after (5.7): a new sample "may result in 'collapsing' RTO back
//   down"). OnMeasurement therefore clears the backoff itself; the caller does not call
//   ResetBackoff separately.
//
// All times are base::Duration (nanoseconds) passed in by the caller; nothing here reads a
// clock (STYLE.md habit 2). No allocation: the estimator is a few words inside the TCB.
#pragma once

#include <chrono>
#include <cstdint>

#include "base/clock.h"

namespace ferry::tcp {

struct RtoOptions {
  // RFC 6298 §2.1: until a sample is taken the RTO SHOULD be 1 s.
  base::Duration initial = std::chrono::seconds(1);
  // Lower bound on RTO. RFC 6298 §2.4 says RTO SHOULD be rounded up to 1 s; like Linux
  // (TCP_RTO_MIN) ferry defaults to 200 ms, because a proxy's paths are mostly short and a
  // 1 s floor turns every tail loss on them into a second of dead air. Configurable: set it
  // to 1 s for strict RFC behaviour.
  base::Duration min = std::chrono::milliseconds(200);
  // Upper bound on RTO, and on its backoff. RFC 6298 §2.5: a maximum MAY be placed on RTO
  // provided it is at least 60 s.
  base::Duration max = std::chrono::seconds(60);
  // G, the clock granularity (RFC 6298 §2.2-2.3): keeps RTO above SRTT by at least one tick of
  // the timer that will run it (the timing wheel's tick).
  base::Duration clock_granularity = std::chrono::milliseconds(1);
};

class RttEstimator {
 public:
  // RFC 6298 §5.7: after a SYN (or SYN-ACK) timed out, the RTO is re-initialized to 3 s.
  static constexpr base::Duration kSynTimeoutRto = std::chrono::seconds(3);

  // True if an estimator can be built from `options`: 0 < min <= initial <= max and G >= 0.
  // The config layer checks this (and names the bad field) before any connection exists.
  static constexpr bool Valid(const RtoOptions& o) {
    return o.min.count() > 0 && o.min <= o.initial && o.initial <= o.max &&
           o.clock_granularity.count() >= 0;
  }

  // `options` must be Valid (asserted). RTO starts at options.initial, with no samples.
  explicit RttEstimator(const RtoOptions& options = {});

  // Feeds one RTT sample (see the caller's duties above). The first sample sets SRTT = R and
  // RTTVAR = R/2 (RFC 6298 §2.2); later ones smooth with alpha = 1/8, beta = 1/4 (§2.3).
  // Either way RTO is recomputed and clamped (§2.4, §2.5), and any backoff is cleared (§5, the
  // note after (5.7)). A negative sample (a bogus echoed timestamp) is taken as zero.
  void OnMeasurement(base::Duration rtt);

  // The retransmission timer expired: RTO doubles, up to options.max (RFC 6298 §5.5).
  void Backoff();

  // Returns RTO to the value computed from the samples (or the initial value), undoing every
  // Backoff. OnMeasurement does this on each sample, so the TCB rarely needs it directly.
  void ResetBackoff();

  // RFC 6298 §5.7: call once, when the handshake completes, if the timer expired while
  // awaiting the ACK of our SYN or SYN-ACK. If the RTO in force is below 3 s it becomes 3 s
  // (clamped to options.max) until the next sample; a larger (backed-off) RTO is kept.
  void ReinitializeAfterSynTimeout();

  // The RTO to arm the retransmission timer with, backoff included.
  base::Duration rto() const { return rto_; }
  // Zero until the first sample.
  base::Duration srtt() const { return srtt_; }
  base::Duration rttvar() const { return rttvar_; }
  bool has_measurement() const { return has_measurement_; }
  // Backoffs since the last sample (or ResetBackoff): the count of consecutive timeouts, for
  // the caller's give-up limit.
  uint32_t backoffs() const { return backoffs_; }
  const RtoOptions& options() const { return options_; }

 private:
  // RFC 6298 §2.2-2.5: SRTT + max(G, K * RTTVAR) with K = 4, clamped to [min, max].
  base::Duration ComputeRto() const;

  RtoOptions options_;
  base::Duration srtt_{0};
  base::Duration rttvar_{0};
  base::Duration base_rto_;  // from the samples, before backoff
  base::Duration rto_;       // base_rto_ backed off
  uint32_t backoffs_ = 0;
  bool has_measurement_ = false;
};

}  // namespace ferry::tcp
