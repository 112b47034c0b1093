#include "tcp/cubic.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace ferry::tcp {
namespace {

double Seconds(base::Duration d) { return std::chrono::duration<double>(d).count(); }

// bytes * beta_cubic, rounded to the nearest byte (0.7 has no exact binary form, and
// truncation would leave ssthresh a byte short of a whole number of segments).
uint32_t TimesBeta(uint32_t bytes) {
  return static_cast<uint32_t>(std::llround(static_cast<double>(bytes) * Cubic::kBeta));
}

}  // namespace

Cubic::Cubic(uint32_t smss, const CubicOptions& options)
    : CongestionWindow(smss), options_(options) {}

double Cubic::WindowAt(double t_seconds) const {
  // RFC 9438 §4.2: W_cubic(t) = C * (t - K)^3 + W_max.
  const double d = t_seconds - k_;
  return kC * d * d * d + w_max_;
}

void Cubic::OnAck(uint32_t bytes_acked, base::Instant now, base::Duration srtt) {
  uint32_t rest = bytes_acked;
  if (in_slow_start()) {
    // RFC 9438 §4.10: slow start (RFC 5681's). The congestion-avoidance stage, and so the
    // epoch, begins when it ends.
    epoch_started_ = false;
    rest = SlowStart(bytes_acked);
    if (rest == 0) return;
  } else {
    EndTimeoutEpisode();
  }
  if (!epoch_started_) StartEpoch(now);
  GrowInCongestionAvoidance(rest, now, srtt);
}

void Cubic::StartEpoch(base::Instant now) {
  epoch_started_ = true;
  t_epoch_ = now;
  carry_ = 0;
  cwnd_epoch_ = segments(cwnd());
  // RFC 9438 §4.10: when the first slow start ends without a loss, cwnd_prior = cwnd.
  if (cwnd_prior_ == 0) cwnd_prior_ = cwnd_epoch_;
  if (w_max_ <= cwnd_epoch_) {
    // No loss yet (§4.10), the first stage after a timeout (§4.8), or recovery left cwnd at
    // or above W_max: K = 0 and W_max = cwnd_epoch, so the curve starts flat at cwnd and
    // probes upwards (convex).
    w_max_ = cwnd_epoch_;
    k_ = 0;
  } else {
    // RFC 9438 §4.2: K = cbrt((W_max - cwnd_epoch) / C).
    k_ = std::cbrt((w_max_ - cwnd_epoch_) / kC);
  }
  // RFC 9438 §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion
  // avoidance stage"; alpha_cubic until W_est reaches cwnd_prior, then 1.
  w_est_ = cwnd_epoch_;
  alpha_ = w_est_ >= cwnd_prior_ ? 1.0 : kAlpha;
}

void Cubic::GrowInCongestionAvoidance(uint32_t bytes_acked, base::Instant now,
                                      base::Duration srtt) {
  const double cwnd_segments = segments(cwnd());
  const double acked = segments(bytes_acked);
  const double t = std::max(0.0, Seconds(now - t_epoch_));

  // RFC 9438 §4.3: W_est += alpha_cubic * segments_acked / cwnd; alpha_cubic
  // becomes 1 once W_est >= cwnd_prior ("SHOULD set alpha_cubic to 1").
  w_est_ += alpha_ * acked / cwnd_segments;
  if (w_est_ >= cwnd_prior_) alpha_ = 1.0;

  double next;
  if (WindowAt(t) < w_est_) {
    // RFC 9438 §4.3: W_cubic(t) < W_est is the Reno-friendly region; cwnd SHOULD be W_est.
    // (Never lower than now: the t + RTT target may already have taken cwnd past W_est.)
    region_ = CubicRegion::kRenoFriendly;
    next = std::max(cwnd_segments, w_est_);
  } else {
    // RFC 9438 §4.2: target = W_cubic(t + RTT), bounded to [cwnd, 1.5 * cwnd] so the rate of
    // increase never falls and never exceeds slow start's.
    const double target =
        std::clamp(WindowAt(t + Seconds(srtt)), cwnd_segments, 1.5 * cwnd_segments);
    // §4.4 (concave, cwnd < W_max) and §4.5 (convex, cwnd >= W_max) both add
    // (target - cwnd) / cwnd per ACK; with byte counting, per segment acknowledged.
    region_ = cwnd_segments < w_max_ ? CubicRegion::kConcave : CubicRegion::kConvex;
    next = cwnd_segments + (target - cwnd_segments) / cwnd_segments * acked;
  }

  carry_ += (next - cwnd_segments) * smss();
  if (carry_ >= 1.0) {
    const double whole = std::min(std::floor(carry_), static_cast<double>(kMaxCongestionWindow));
    Grow(static_cast<uint32_t>(whole));
    carry_ -= whole;
    if (cwnd() == kMaxCongestionWindow) carry_ = 0;
  }
}

void Cubic::OnEnterRecovery(uint32_t flight_size, FastRecovery mode) {
  const double cwnd_segments = segments(cwnd());
  // RFC 9438 §4.7, before the reduction: if this loss came below the last W_max, the
  // available capacity shrank, so release more: W_max = cwnd * (1 + beta_cubic) / 2.
  // Otherwise W_max = cwnd.
  if (options_.fast_convergence && cwnd_segments < w_max_) {
    w_max_ = cwnd_segments * (1.0 + kBeta) / 2.0;
  } else {
    w_max_ = cwnd_segments;
  }
  // RFC 9438 §4.6: cwnd_prior = cwnd; ssthresh = flight_size * beta_cubic, at least 2 SMSS
  // (the floor is EnterRecovery's).
  cwnd_prior_ = cwnd_segments;
  EnterRecovery(TimesBeta(flight_size), mode);
  epoch_started_ = false;
}

void Cubic::OnRetransmissionTimeout(uint32_t flight_size) {
  if (!timed_out()) {
    // A new congestion event. In recovery cwnd is inflated and cwnd_prior was set on entry.
    if (!in_recovery()) cwnd_prior_ = segments(cwnd());
    // RFC 9438 §4.8: the first stage after a timeout has K = 0 and W_max = cwnd_epoch;
    // StartEpoch does that for an unset W_max.
    w_max_ = 0;
  }
  // RFC 9438 §4.8: cwnd as Reno (RFC 5681: LW), ssthresh with beta_cubic as in §4.6.
  OnRetransmissionTimeoutWith(TimesBeta(flight_size));
  epoch_started_ = false;
}

bool Cubic::OnIdleRestart(base::Duration idle, base::Duration rto) {
  // RFC 9438 §5.8 (and §4.2: t "MUST NOT include periods during which cwnd has not been
  // updated due to application-limited behavior"): shift the epoch by the idle time.
  if (epoch_started_) t_epoch_ += idle;
  return RestartAfterIdle(idle, rto);
}

}  // namespace ferry::tcp
