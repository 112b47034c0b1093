#include "tcp/newreno.h"

#include <algorithm>

namespace ferry::tcp {

NewReno::NewReno(uint32_t smss) : CongestionWindow(smss) {}

void NewReno::OnAck(uint32_t bytes_acked, base::Instant, base::Duration) {
  uint32_t rest = bytes_acked;
  if (in_slow_start()) {
    rest = SlowStart(bytes_acked);
    if (rest == 0) return;
  } else {
    EndTimeoutEpisode();
  }
  // RFC 5681 §3.1, congestion avoidance by byte counting (RFC 3465 §2.1): when bytes_acked
  // reaches cwnd, subtract cwnd and add one SMSS. At most one increase per ACK, so cwnd grows
  // by no more than SMSS per RTT ("MUST NOT be increased by more than SMSS bytes per RTT").
  const uint64_t counted = uint64_t{bytes_acked_} + rest;
  if (counted >= cwnd()) {
    bytes_acked_ = static_cast<uint32_t>(std::min<uint64_t>(counted - cwnd(), cwnd()));
    Grow(smss());
  } else {
    bytes_acked_ = static_cast<uint32_t>(counted);
  }
}

void NewReno::OnEnterRecovery(uint32_t flight_size, FastRecovery mode) {
  // RFC 6582 §3.2 step 1 -> RFC 5681 eq. (4): ssthresh = max(FlightSize / 2, 2 * SMSS); the
  // 2 * SMSS floor is applied by EnterRecovery. The byte count belonged to the old window.
  EnterRecovery(flight_size / 2, mode);
  bytes_acked_ = 0;
}

void NewReno::OnRetransmissionTimeout(uint32_t flight_size) {
  // RFC 5681 §3.1 eq. (4), then cwnd = LW.
  OnRetransmissionTimeoutWith(flight_size / 2);
  bytes_acked_ = 0;
}

bool NewReno::OnIdleRestart(base::Duration idle, base::Duration rto) {
  return RestartAfterIdle(idle, rto);
}

}  // namespace ferry::tcp
