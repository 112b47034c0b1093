// CUBIC congestion control, RFC 9438.
//
// After a congestion event CUBIC grows the window along a cubic curve of the time t since
// the current congestion-avoidance stage (its "epoch") began:
//
//   W_cubic(t) = C * (t - K)^3 + W_max                       (RFC 9438 §4.2)
//   K = cbrt((W_max - cwnd_epoch) / C)                       (§4.2)
//
// W_max is the window where the last loss happened; K is when the curve gets back there.
// Before K the curve is concave (fast approach, flattening near W_max, §4.4); after it
// convex (slow probing, then faster, §4.5). On each ACK cwnd moves towards
// target = W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd], by (target - cwnd) / cwnd per
// segment acknowledged. Alongside, W_est estimates what Reno would have (§4.3,
// alpha_cubic = 3 * (1 - beta) / (1 + beta)); when W_cubic(t) is below it CUBIC is in the
// Reno-friendly region and follows W_est instead, so it is never slower than Reno (short
// RTTs, small windows). On loss, ssthresh = FlightSize * beta_cubic with beta_cubic = 0.7
// (§4.6), and with fast convergence (§4.7) W_max is lowered further when losses come before
// the previous W_max is reached. A timeout (§4.8) collapses cwnd like Reno; the next epoch
// starts with K = 0 and W_max = cwnd_epoch.
//
// Units: the RFC's formulas are in segments and seconds and are computed here in doubles,
// once per ACK in congestion avoidance; cwnd itself stays a byte count (uint32_t) in the
// CongestionWindow base, with sub-byte growth carried between ACKs. segments_acked is
// bytes_acked / SMSS, fractional (RFC 9438 §4.1.2, and §4.3 on ABC). Slow start, fast
// recovery arithmetic, the RTO loss window and idle restart are the shared RFC 5681/6582
// rules of CongestionWindow (§4.2: CUBIC does not change fast recovery; §4.10 allows Reno slow
// start; ferry has no HyStart++ yet).
//
// Time not spent in congestion avoidance is not counted: the epoch starts at the first ACK
// in congestion avoidance (after slow start or recovery), and idle time is added to the
// epoch's start (§5.8: t "does not include application-limited periods, such as idle
// periods"). Beyond idle restart, keeping the application-limited ACKs out of OnAck is the
// TCB's part (§5.8: CUBIC "does not increase its congestion window if a flow is
// application-limited").
#pragma once

#include <cstdint>

#include "base/clock.h"
#include "tcp/congestion_window.h"

namespace ferry::tcp {

struct CubicOptions {
  // RFC 9438 §4.7: SHOULD be implemented; SHOULD be disabled only where a single CUBIC flow
  // has the path to itself, which a proxy cannot know.
  bool fast_convergence = true;
};

// The region the last congestion-avoidance ACK grew cwnd in (RFC 9438 §4.2's three regions).
enum class CubicRegion : uint8_t { kNone, kRenoFriendly, kConcave, kConvex };

class Cubic : public CongestionWindow {
 public:
  // RFC 9438 §4.1.1 constants: C in segments / s^3 (its value, 0.4, from §5.1);
  // beta_cubic from §4.6; alpha_cubic from §4.3.
  static constexpr double kC = 0.4;
  static constexpr double kBeta = 0.7;
  static constexpr double kAlpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

  explicit Cubic(uint32_t smss, const CubicOptions& options = {});

  // An ACK outside recovery newly acknowledged `bytes_acked` at `now`; `srtt` is the smoothed
  // RTT (RttEstimator::srtt(); zero before the first sample), the RTT of §4.2's target.
  void OnAck(uint32_t bytes_acked, base::Instant now, base::Duration srtt);

  // Loss detected. W_max and cwnd_prior take the current cwnd (fast convergence lowers W_max,
  // §4.7), ssthresh = max(FlightSize * beta_cubic, 2 * SMSS) (§4.6), and cwnd per `mode`
  // (CongestionWindow::EnterRecovery). `flight_size` is FlightSize when the loss is detected.
  void OnEnterRecovery(uint32_t flight_size, FastRecovery mode);

  // The retransmission timer expired: ssthresh = max(FlightSize * beta_cubic, 2 * SMSS),
  // held on a repeated timeout; cwnd = 1 SMSS (§4.8, RFC 5681 §3.1). The next epoch starts
  // with K = 0 and W_max = cwnd_epoch.
  void OnRetransmissionTimeout(uint32_t flight_size);

  // Call before sending when nothing is outstanding; `idle` is the time since the last
  // segment was sent. The epoch start moves forward by `idle` (§5.8); then RFC 5681 §4.1
  // restart if idle > rto. Returns true if cwnd was cut.
  bool OnIdleRestart(base::Duration idle, base::Duration rto);

  // W_cubic(t) in segments for the current epoch's K and W_max (RFC 9438 §4.2).
  double WindowAt(double t_seconds) const;

  // State in segments and seconds, as RFC 9438 §4.1.2 names it (for tests and statistics).
  // w_max and cwnd_prior are 0 until first set.
  double w_max() const { return w_max_; }
  double k() const { return k_; }
  double w_est() const { return w_est_; }
  double cwnd_prior() const { return cwnd_prior_; }
  double cwnd_epoch() const { return cwnd_epoch_; }
  double alpha() const { return alpha_; }
  bool epoch_started() const { return epoch_started_; }
  base::Instant t_epoch() const { return t_epoch_; }
  CubicRegion region() const { return region_; }

 private:
  // Begins a congestion-avoidance stage at `now`: t_epoch, cwnd_epoch, K, W_est.
  void StartEpoch(base::Instant now);
  // RFC 9438 §4.2-4.5 for one ACK of `bytes_acked` in congestion avoidance.
  void GrowInCongestionAvoidance(uint32_t bytes_acked, base::Instant now, base::Duration srtt);
  double segments(uint32_t bytes) const { return static_cast<double>(bytes) / smss(); }

  CubicOptions options_;
  double w_max_ = 0;       // segments; 0: no congestion event yet, or reset by a timeout
  double cwnd_prior_ = 0;  // segments
  double k_ = 0;           // seconds
  double w_est_ = 0;       // segments
  double cwnd_epoch_ = 0;  // segments
  double alpha_ = kAlpha;
  double carry_ = 0;  // growth in bytes not yet added to cwnd (always in [0, 1))
  base::Instant t_epoch_{};
  bool epoch_started_ = false;
  CubicRegion region_ = CubicRegion::kNone;
};

}  // namespace ferry::tcp
