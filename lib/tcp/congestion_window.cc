#include "tcp/congestion_window.h"

#include <cassert>

namespace ferry::tcp {

CongestionWindow::CongestionWindow(uint32_t smss) : smss_(smss), cwnd_(InitialWindow(smss)) {
  assert(smss > 0);
}

uint32_t CongestionWindow::SlowStart(uint32_t bytes_acked) {
  EndTimeoutEpisode();
  // RFC 5681 §3.1 eq. (2), cwnd += min(N, SMSS): RFC 3465 §2.2 with L = 1 SMSS.
  const uint32_t increase = std::min(bytes_acked, smss_);
  const uint32_t room = ssthresh_ > cwnd_ ? ssthresh_ - cwnd_ : 0;
  if (increase < room) {
    Grow(increase);
    return 0;
  }
  // Reaching ssthresh ends slow start; what this ACK acknowledged beyond the part slow start
  // used counts towards congestion avoidance.
  Grow(room);
  return bytes_acked - room;
}

void CongestionWindow::Grow(uint32_t bytes) {
  cwnd_ = bytes >= kMaxCongestionWindow - cwnd_ ? kMaxCongestionWindow : cwnd_ + bytes;
}

void CongestionWindow::EnterRecovery(uint32_t new_ssthresh, FastRecovery mode) {
  // RFC 5681 eq. (4) and RFC 9438 §4.6: ssthresh is at least 2 * SMSS.
  ssthresh_ = std::max(new_ssthresh, 2 * smss_);
  recovery_mode_ = mode;
  in_recovery_ = true;
  if (mode == FastRecovery::kNewReno) {
    // RFC 6582 §3.2 step 2: cwnd = ssthresh + 3 * SMSS, inflated by the three segments the
    // duplicate ACKs say have left the network.
    cwnd_ = std::min(ssthresh_ + 3 * smss_, kMaxCongestionWindow);
  } else {
    // RFC 6675 §5 step (4.2): cwnd = ssthresh.
    cwnd_ = std::min(ssthresh_, kMaxCongestionWindow);
  }
}

void CongestionWindow::OnDuplicateAck() {
  if (!in_recovery_ || recovery_mode_ != FastRecovery::kNewReno) return;
  // RFC 6582 §3.2 step 3: inflate by one SMSS per additional duplicate ACK.
  Grow(smss_);
}

void CongestionWindow::OnPartialAck(uint32_t bytes_acked) {
  EndTimeoutEpisode();
  if (!in_recovery_ || recovery_mode_ != FastRecovery::kNewReno) return;
  // RFC 6582 §3.2 step 5: deflate by the amount newly acknowledged; add back one SMSS if that
  // was at least one SMSS, so about ssthresh remains in flight when recovery ends.
  uint32_t cwnd = cwnd_ > bytes_acked ? cwnd_ - bytes_acked : 0;
  if (bytes_acked >= smss_) cwnd += smss_;
  cwnd_ = std::max(cwnd, smss_);
}

void CongestionWindow::OnExitRecovery(uint32_t flight_size) {
  EndTimeoutEpisode();
  if (!in_recovery_) return;
  // RFC 6582 §3.2 step 6, option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  const uint32_t bound = std::min(std::max(flight_size, smss_), kMaxCongestionWindow - smss_);
  cwnd_ = std::min(ssthresh_, bound + smss_);
  in_recovery_ = false;
}

void CongestionWindow::OnRetransmissionTimeoutWith(uint32_t new_ssthresh) {
  // RFC 5681 §3.1, after eq. (4): when the segment timed out again after already being
  // retransmitted by the timer, "the value of ssthresh is held constant".
  if (!timed_out_) ssthresh_ = std::max(new_ssthresh, 2 * smss_);
  timed_out_ = true;
  // RFC 5681 §3.1: cwnd MUST be set to no more than the loss window, LW = 1 SMSS.
  cwnd_ = smss_;
  in_recovery_ = false;
}

bool CongestionWindow::RestartAfterIdle(base::Duration idle, base::Duration rto) {
  // RFC 5681 §4.1: after sending nothing for more than an RTO, restart from
  // RW = min(IW, cwnd): the ACK clock has stopped and the path may have changed.
  if (idle <= rto) return false;
  const uint32_t restart_window = std::min(InitialWindow(smss_), cwnd_);
  if (restart_window >= cwnd_) return false;
  cwnd_ = restart_window;
  return true;
}

void CongestionWindow::OnHandshakeComplete(uint32_t syn_retransmissions) {
  // RFC 6928 §2: fall back to a one-segment initial window only after more than one SYN or
  // SYN-ACK retransmission.
  if (syn_retransmissions > 1) cwnd_ = std::min(cwnd_, smss_);
}

}  // namespace ferry::tcp
