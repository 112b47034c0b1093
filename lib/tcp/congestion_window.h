// The congestion window (cwnd) and slow-start threshold (ssthresh) of RFC 5681 §3.1, in
// bytes, and the rules on them that do not depend on the congestion-control algorithm:
// initial window (RFC 6928), slow start with appropriate byte counting (RFC 3465), the window
// arithmetic of fast recovery (RFC 6582 NewReno, or RFC 6675 SACK), the loss window after a
// retransmission timeout, and restart after idle (RFC 5681 §4.1).
//
// NewReno and Cubic derive from this class and add what differs between them: the growth in
// congestion avoidance and the ssthresh chosen on a congestion event. CUBIC keeps fast
// recovery as it is (RFC 9438 §4.2: CUBIC "does not make any changes to the TCP Fast Recovery
// and Fast Retransmit algorithms"), so the recovery arithmetic lives here once. The derived
// classes, not this one, are what the TCB holds (inside `Congestion`, congestion_control.h);
// the constructor is protected for that reason.
//
// The TCB supplies what only it knows, as arguments to the events that need it:
// FlightSize (RFC 5681 §2: data sent but not yet cumulatively acknowledged, i.e. SND.NXT -
// SND.UNA; after the ACK has been applied when the rule says "presently outstanding") and the
// number of bytes an ACK newly acknowledges. SMSS is fixed at construction.
//
// cwnd never exceeds kMaxCongestionWindow, so sums such as cwnd + SMSS cannot overflow.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "base/clock.h"

namespace ferry::tcp {

// RFC 6928 §2: IW = min(10 * MSS, max(2 * MSS, 14600)) bytes.
constexpr uint32_t InitialWindow(uint32_t smss) {
  return std::min(10 * smss, std::max(2 * smss, uint32_t{14600}));
}

// A window larger than the largest the peer can ever advertise (2^30 with window scale 14,
// RFC 7323 §2.3) would never be used; capping there keeps all window sums in uint32_t.
inline constexpr uint32_t kMaxCongestionWindow = uint32_t{1} << 30;

// RFC 5681 §3.1: the initial ssthresh "SHOULD be set arbitrarily high".
inline constexpr uint32_t kInitialSsthresh = std::numeric_limits<uint32_t>::max();

// Which loss recovery the TCB runs: it decides what cwnd means while in recovery.
enum class FastRecovery : uint8_t {
  // RFC 6582 (no SACK): cwnd is inflated by one SMSS per duplicate ACK, since each one means a
  // segment has left the network, and deflated on partial ACKs.
  kNewReno,
  // RFC 6675 (SACK): cwnd is set to ssthresh and left alone; the scoreboard's pipe estimate
  // does the accounting that inflation does for NewReno.
  kSack,
};

class CongestionWindow {
 public:
  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  uint32_t smss() const { return smss_; }
  uint32_t initial_window() const { return InitialWindow(smss_); }
  // RFC 5681 §3.1: slow start while cwnd < ssthresh, congestion avoidance from cwnd >=
  // ssthresh (either is allowed at equality; ferry takes congestion avoidance).
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  bool in_recovery() const { return in_recovery_; }

  // Fast recovery, after OnEnterRecovery (which each algorithm defines). Only the kNewReno
  // flavour changes cwnd here; under kSack these do nothing.
  //
  // A further duplicate ACK arrived: cwnd += SMSS (RFC 6582 §3.2 step 3).
  void OnDuplicateAck();
  // A partial ACK (new data acknowledged, but not everything up to `recover`) newly
  // acknowledged `bytes_acked`: cwnd -= bytes_acked, then += SMSS if bytes_acked >= SMSS
  // (RFC 6582 §3.2 step 5). cwnd stays at least one SMSS, so the retransmission the step
  // also calls for can be sent.
  void OnPartialAck(uint32_t bytes_acked);
  // A full ACK (everything up to `recover`) ends recovery. `flight_size` is the data still
  // outstanding after it. cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS): RFC 6582 §3.2
  // step 6, option (1), which cannot release a burst when little is outstanding. Used for
  // kSack too, where cwnd already equals ssthresh and the same bound applies.
  void OnExitRecovery(uint32_t flight_size);

  // Call once, when the connection is established and before any data is sent, with how many
  // times our SYN or SYN-ACK was retransmitted. RFC 5681 §3.1 makes IW one segment after a
  // lost SYN; RFC 6928 §2 recommends doing so only after more than one SYN or SYN-ACK
  // retransmission, which is the rule here.
  void OnHandshakeComplete(uint32_t syn_retransmissions);

 protected:
  // cwnd = IW (RFC 6928), ssthresh = kInitialSsthresh. `smss` must be > 0 (asserted).
  explicit CongestionWindow(uint32_t smss);

  // RFC 5681 §3.1 slow start, with RFC 3465 §2.2 appropriate byte counting at L = 1 SMSS:
  // cwnd += min(bytes_acked, SMSS), but not beyond ssthresh. Returns the part of bytes_acked
  // left over when cwnd reaches ssthresh, for congestion avoidance to count (0 otherwise).
  // Also ends a timeout episode (see OnRetransmissionTimeoutWith).
  uint32_t SlowStart(uint32_t bytes_acked);
  // Adds `bytes` to cwnd, saturating at kMaxCongestionWindow.
  void Grow(uint32_t bytes);
  // New data was acknowledged: a following timeout is a new congestion event.
  void EndTimeoutEpisode() { timed_out_ = false; }

  // Enters fast recovery with the algorithm's new ssthresh (before the 2 * SMSS floor every
  // algorithm applies: RFC 5681 eq. (4), RFC 9438 §4.6). kNewReno: cwnd = ssthresh + 3 * SMSS
  // (RFC 6582 §3.2 step 2); kSack: cwnd = ssthresh (RFC 6675 §5 step 4.2).
  void EnterRecovery(uint32_t new_ssthresh, FastRecovery mode);

  // True from a retransmission timeout until new data is acknowledged.
  bool timed_out() const { return timed_out_; }
  // The retransmission timer expired. ssthresh = max(new_ssthresh, 2 * SMSS), except that a
  // timeout repeating before any new data was acknowledged holds ssthresh (RFC 5681 §3.1,
  // the paragraph after eq. (4)). cwnd = LW = 1 SMSS (RFC 5681 §3.1); recovery ends.
  void OnRetransmissionTimeoutWith(uint32_t new_ssthresh);

  // RFC 5681 §4.1: if nothing was sent for longer than the RTO, cwnd = min(RW, cwnd) with
  // RW = min(IW, cwnd). Returns true if cwnd was cut.
  bool RestartAfterIdle(base::Duration idle, base::Duration rto);

 private:
  uint32_t smss_;
  uint32_t cwnd_;
  uint32_t ssthresh_ = kInitialSsthresh;
  FastRecovery recovery_mode_ = FastRecovery::kNewReno;
  bool in_recovery_ = false;
  bool timed_out_ = false;
};

}  // namespace ferry::tcp
