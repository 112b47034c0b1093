// The ACK field in the synchronized states (RFC 9293 §3.10.7.4 fifth) and everything it
// drives on the sending side: the send window (§3.10.7.4, SND.WL1/WL2), RTT samples (RFC 6298,
// RFC 7323 §4), congestion control (RFC 5681), and loss recovery: NewReno (RFC 6582), SACK
// based (RFC 6675) and limited transmit (RFC 3042).
#include <rte_mbuf.h>

#include <algorithm>

#include "tcp/stack.h"

namespace ferry::tcp {

bool TcpStack::ProcessAck(Tcb& tcb, const Segment& segment, base::Instant now) {
  // RFC 5961 §5.2: the ACK is acceptable only in [SND.UNA - MAX.SND.WND, SND.NXT]; outside,
  // send a (rate-limited) challenge ACK and drop the segment. RFC 9293: "If the ACK acks
  // something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment".
  const uint32_t max_wnd = std::max<uint32_t>(tcb.max_snd_wnd_, 0xffff);
  if (segment.ack > tcb.snd_max_ || segment.ack < tcb.snd_una_ - max_wnd) {
    ChallengeAck(tcb, now);
    return false;
  }
  // The scoreboard first: IsLost for the duplicate-ACK decision needs this ACK's blocks.
  uint32_t newly_sacked = 0;
  if (tcb.sack_ok_ && (segment.options.sack_block_count > 0 || !tcb.scoreboard_.empty())) {
    newly_sacked = tcb.scoreboard_
                       .Update(Max(tcb.snd_una_, segment.ack),
                               std::span<const SackBlock>(segment.options.sack_blocks.data(),
                                                          segment.options.sack_block_count),
                               tcb.snd_max_)
                       .newly_sacked;
  }
  const uint32_t old_wnd = tcb.snd_wnd_;
  const Seq old_una = tcb.snd_una_;
  // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated." First: OnNewAck
  // tells the owner, who may send at once, and must see the window this ACK offers (the new
  // SND.UNA with the old, larger SND.WND would reach past the peer's right edge).
  if (segment.ack >= tcb.snd_una_) UpdateSendWindow(tcb, segment);
  if (segment.ack > tcb.snd_una_) {
    OnNewAck(tcb, segment, static_cast<uint32_t>(segment.ack - tcb.snd_una_), now);
    if (tcb.state_ == TcpState::kClosed) return false;
  }
  // Duplicate ACKs, against SND.UNA before this ACK (one that advanced it is new):
  // - with SACK, RFC 6675 §2: an ACK that leaves SND.UNA where it was and newly SACKs data
  //   (whatever else it carries: a peer sending data of its own, or changing its window,
  //   still reports losses this way);
  // - without, RFC 5681 §2: data outstanding, no text, no SYN/FIN, SEG.ACK == SND.UNA and
  //   the window unchanged.
  // Answers to zero-window probes (persisting) are not duplicates of anything.
  const bool duplicate =
      segment.ack == old_una && tcb.flight_size() > 0 && !tcb.persisting_ &&
      (tcb.sack_ok_ ? newly_sacked > 0
                    : segment.payload_length == 0 && !segment.fin() && tcb.snd_wnd_ == old_wnd);
  if (duplicate) {
    OnDuplicateAck(tcb, segment, now);
  } else if (tcb.sack_ok_ && tcb.cc_ && !tcb.cc_->in_recovery() && !tcb.recover_active_ &&
             tcb.flight_size() > 0 && !tcb.scoreboard_.empty() &&
             tcb.scoreboard_.IsLost(tcb.snd_una_, tcb.snd_mss_)) {
    // RFC 6675 §5: "IsLost (HighACK + 1) returns true" also starts recovery.
    EnterRecovery(tcb, now);
  }
  // Whatever ended persist or recovery above, data in flight always has a timer (RFC 6298
  // §5.1).
  if (!tcb.persisting_ && tcb.flight_size() > 0 && !TimerWheel::scheduled(tcb.rtx_timer_)) {
    ArmRetransmit(tcb, now);
  }
  return true;
}

void TcpStack::UpdateSendWindow(Tcb& tcb, const Segment& segment) {
  // RFC 9293 §3.10.7.4: "If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),
  // set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK." The window
  // is scaled by the peer's shift (RFC 7323 §2.3). Also, as Linux does
  // (tcp_may_update_window), for any ACK that advances SND.UNA: a peer's retransmission
  // carries an old SEG.SEQ but its newest ACK and window, and taking the new SND.UNA without
  // its window would put the usable window's right edge past the one the peer offers.
  if (!(segment.ack > tcb.snd_una_ || tcb.snd_wl1_ < segment.seq ||
        (tcb.snd_wl1_ == segment.seq && tcb.snd_wl2_ <= segment.ack))) {
    return;
  }
  const uint32_t was = tcb.snd_wnd_;
  tcb.snd_wnd_ = uint32_t{segment.window} << tcb.snd_wscale_;
  tcb.max_snd_wnd_ = std::max(tcb.max_snd_wnd_, tcb.snd_wnd_);
  tcb.snd_wl1_ = segment.seq;
  tcb.snd_wl2_ = segment.ack;
  if (tcb.persisting_ && tcb.snd_wnd_ > 0 && was == 0) {
    // The window opened: persist ends and the retransmission timer takes over again.
    tcb.persisting_ = false;
    tcb.persist_backoff_ = 0;
    wheel_.Cancel(tcb.rtx_timer_);
  }
}

void TcpStack::OnNewAck(Tcb& tcb, const Segment& segment, uint32_t acked, base::Instant now) {
  // RTT (RFC 6298 §3 with Karn's rule, or RFC 7323 §4.1 with timestamps), one sample per RTT.
  const bool sample_due = !tcb.rtt_.has_measurement() ||
                          now - tcb.last_rtt_sample_ >= tcb.rtt_.srtt();
  if (tcb.ts_ok_ && segment.options.timestamps && segment.options.timestamps->echo_reply != 0) {
    if (sample_due) {
      const int32_t ms =
          static_cast<int32_t>(TsNow(now) - segment.options.timestamps->echo_reply);
      tcb.rtt_.OnMeasurement(std::chrono::milliseconds(std::max(ms, 0)));
      tcb.last_rtt_sample_ = now;
    }
  } else if (tcb.rtt_timing_ && segment.ack > tcb.rtt_seq_) {
    tcb.rtt_.OnMeasurement(now - tcb.rtt_start_);
    tcb.last_rtt_sample_ = now;
    tcb.rtt_timing_ = false;
  }

  const uint32_t data_acked = tcb.send_queue_.Acknowledge(segment.ack);
  tcb.snd_una_ = segment.ack;
  if (tcb.snd_nxt_ < tcb.snd_una_) tcb.snd_nxt_ = tcb.snd_una_;
  tcb.retransmits_ = 0;
  // RFC 6582 §3.2 step 1: a new recovery may start once the ACK covers more than "recover".
  if (tcb.recover_active_ && tcb.snd_una_ > tcb.recover_) tcb.recover_active_ = false;

  if (tcb.cc_) {
    Congestion& cc = *tcb.cc_;
    if (cc.in_recovery()) {
      if (segment.ack >= tcb.recover_) {
        // RFC 6582 §3.2 step 6 / RFC 6675 §5: a full ACK ends recovery.
        cc.OnExitRecovery(tcb.flight_size());
        tcb.sack_recovery_ = false;
        tcb.dupacks_ = 0;
      } else {
        // Partial ACK.
        cc.OnPartialAck(acked);
        if (!tcb.sack_recovery_) {
          // RFC 6582 §3.2 step 5: "retransmit the first unacknowledged segment ... If this
          // is the first partial ACK, reset the retransmit timer" (every one, here: the
          // "impatient" variant would time out more often on long recoveries).
          const uint32_t len = std::min<uint32_t>(tcb.snd_mss_, tcb.flight_size());
          TransmitData(tcb, tcb.snd_una_, len, now);
          ArmRetransmit(tcb, now);
        }
      }
    } else {
      cc.OnAck(data_acked, now, tcb.rtt_.srtt());
      tcb.dupacks_ = 0;
    }
  }

  // RFC 6298 §5.2-5.3: all acknowledged: stop the timer; else restart it.
  if (!tcb.persisting_) {
    if (tcb.flight_size() == 0) {
      wheel_.Cancel(tcb.rtx_timer_);
    } else {
      ArmRetransmit(tcb, now);
    }
  }
  if (data_acked > 0 && tcb.handler_ != nullptr && !tcb.owner_closed_) {
    tcb.handler_->OnAcked(tcb, data_acked);
  }
}

void TcpStack::OnDuplicateAck(Tcb& tcb, const Segment& segment, base::Instant now) {
  (void)segment;
  if (!tcb.cc_) return;
  Congestion& cc = *tcb.cc_;
  // RFC 5681 §3.2 step 2: FlightSize for ssthresh excludes what limited transmit sends, so
  // remember it at the first duplicate ACK.
  if (++tcb.dupacks_ == 1) tcb.flight_at_first_dupack_ = tcb.flight_size();
  if (cc.in_recovery()) {
    // RFC 6582 §3.2 step 4: each further duplicate ACK inflates cwnd (no-op under SACK,
    // where pipe does the accounting) and may let a segment go.
    if (!tcb.sack_recovery_) cc.OnDuplicateAck();
    Output(tcb, now);
    return;
  }
  // RFC 6675 §5: recovery starts at DupThresh duplicate ACKs or when the scoreboard shows the
  // first unacknowledged octet lost. RFC 6582 §3.2 step 1: not if SND.UNA has not passed the
  // "recover" of an earlier recovery (the duplicate ACKs are of the same loss event).
  const bool lost = tcb.dupacks_ >= SackScoreboard::kDupThresh ||
                    (tcb.sack_ok_ && tcb.scoreboard_.IsLost(tcb.snd_una_, tcb.snd_mss_));
  if (lost && !tcb.recover_active_) {
    EnterRecovery(tcb, now);
    return;
  }
  // RFC 3042: on the first and second duplicate ACK, send one new segment each if the
  // receiver's window allows (Output counts dupacks_ into the usable window).
  if (tcb.dupacks_ <= 2) Output(tcb, now);
}

void TcpStack::EnterRecovery(Tcb& tcb, base::Instant now) {
  Congestion& cc = *tcb.cc_;
  tcb.recover_ = tcb.snd_max_;
  tcb.recover_active_ = true;
  tcb.sack_recovery_ = tcb.sack_ok_;
  const uint32_t flight =
      tcb.dupacks_ >= 1 ? std::min(tcb.flight_at_first_dupack_, tcb.flight_size())
                        : tcb.flight_size();
  cc.OnEnterRecovery(flight,
                     tcb.sack_recovery_ ? FastRecovery::kSack : FastRecovery::kNewReno);
  counters_.Add(tcb.sack_recovery_ ? TcpCounter::kSackRecoveries : TcpCounter::kFastRecoveries);
  tcb.rtt_timing_ = false;  // Karn: the timed segment may be the one retransmitted
  // RFC 5681 §3.2 step 4 / RFC 6675 §5 (4.3): retransmit the first unacknowledged segment.
  const uint32_t len = std::min<uint32_t>(tcb.snd_mss_, tcb.flight_size());
  TransmitData(tcb, tcb.snd_una_, len, now);
  tcb.high_rxt_ = tcb.snd_una_ + len;
  tcb.rescue_valid_ = false;
  ArmRetransmit(tcb, now);
  // RFC 6675 §5 (4.4): then run SetPipe / NextSeg while cwnd allows.
  if (tcb.sack_recovery_) Output(tcb, now);
}

}  // namespace ferry::tcp
