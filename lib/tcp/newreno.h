// NewReno congestion control: RFC 5681 slow start and congestion avoidance, with RFC 3465
// appropriate byte counting, halving on loss, and the RFC 6582 fast-recovery arithmetic
// (shared with CUBIC, in CongestionWindow).
//
// Congestion avoidance counts bytes rather than applying eq. (3), cwnd += SMSS*SMSS/cwnd per
// ACK: RFC 5681 §3.1 recommends counting the bytes acknowledged and adding one SMSS each time
// they reach cwnd (RFC 3465 §2.1). The result is exactly one SMSS per window of data
// acknowledged, about one per RTT, whatever the ACK pattern (delayed ACKs, stretch ACKs, small
// segments), where eq. (3) grows more slowly under delayed ACKs and can be gamed by a receiver
// that splits its ACKs.
#pragma once

#include <cstdint>

#include "base/clock.h"
#include "tcp/congestion_window.h"

namespace ferry::tcp {

class NewReno : public CongestionWindow {
 public:
  // cwnd = IW for `smss` (RFC 6928), ssthresh arbitrarily high (RFC 5681 §3.1).
  explicit NewReno(uint32_t smss);

  // An ACK outside recovery newly acknowledged `bytes_acked`: slow start or congestion
  // avoidance. Time and SRTT are not used by NewReno (they are by CUBIC).
  void OnAck(uint32_t bytes_acked, base::Instant now, base::Duration srtt);

  // Loss detected (third duplicate ACK, or SACK loss detection): ssthresh =
  // max(FlightSize / 2, 2 * SMSS) (RFC 5681 eq. (4), RFC 6582 §3.2 step 1), then cwnd per
  // `mode` (see CongestionWindow::EnterRecovery). `flight_size` is FlightSize when the loss
  // is detected.
  void OnEnterRecovery(uint32_t flight_size, FastRecovery mode);

  // The retransmission timer expired: ssthresh = max(FlightSize / 2, 2 * SMSS) (RFC 5681
  // eq. (4); held on a repeated timeout), cwnd = 1 SMSS.
  void OnRetransmissionTimeout(uint32_t flight_size);

  // Call before sending when nothing is outstanding; `idle` is the time since the last
  // segment was sent. RFC 5681 §4.1 restart window if idle > rto. Returns true if cwnd was cut.
  bool OnIdleRestart(base::Duration idle, base::Duration rto);

  // Bytes counted towards the next congestion-avoidance increase (RFC 3465 §2.1).
  uint32_t bytes_acked() const { return bytes_acked_; }

 private:
  uint32_t bytes_acked_ = 0;
};

}  // namespace ferry::tcp
