// The connection timers, all on the worker's timing wheel: retransmission (RFC 6298, with the
// SYN rules of §5.7 and RFC 9293 §3.8.3's R2 limit), persist (RFC 9293 §3.8.6.1), delayed
// ACK (§3.8.6.3), keep-alive (§3.8.4), the orphaned FIN-WAIT-2 timeout and TIME-WAIT (2 MSL).
#include <algorithm>

#include "net/tcp_header.h"
#include "tcp/stack.h"

namespace ferry::tcp {

using net::TcpFlags;

void TcpStack::OnTimer(TimerNode& node, base::Instant now) {
  Tcb& tcb = *tcbs_[node.id];
  if (tcb.state_ == TcpState::kClosed) return;
  switch (static_cast<TimerKind>(node.kind)) {
    case TimerKind::kRetransmit:
      if (tcb.persisting_) {
        PersistTimeout(tcb, now);
      } else {
        RetransmitTimeout(tcb, now);
      }
      break;
    case TimerKind::kDelayedAck:
      if (tcb.ack_pending_segments_ > 0 || tcb.ack_now_) SendAck(tcb, now);
      break;
    case TimerKind::kKeepalive:
      KeepaliveTimeout(tcb, now);
      break;
    case TimerKind::kLinger:
      if (tcb.state_ == TcpState::kTimeWait) {
        Terminate(tcb, CloseReason::kNormal, now);
      } else if (tcb.state_ == TcpState::kFinWait2) {
        Terminate(tcb, CloseReason::kFinWait2Timeout, now);
      }
      break;
  }
}

void TcpStack::ArmRetransmit(Tcb& tcb, base::Instant now) {
  wheel_.Schedule(tcb.rtx_timer_, now + tcb.rtt_.rto());
}

void TcpStack::ScheduleDelayedAck(Tcb& tcb, base::Instant now) {
  wheel_.Schedule(tcb.delack_timer_, now + options_.delayed_ack);
}

void TcpStack::RetransmitTimeout(Tcb& tcb, base::Instant now) {
  if (tcb.state_ == TcpState::kSynSent || tcb.state_ == TcpState::kSynReceived) {
    // RFC 6298 §5.5-5.6 for the SYN (and SYN-ACK): back off and send it again, up to
    // syn_retries times.
    counters_.Add(TcpCounter::kRtoExpiries);
    if (++tcb.syn_retransmits_ > options_.syn_retries) {
      counters_.Add(TcpCounter::kUserTimeouts);
      Terminate(tcb, CloseReason::kTimedOut, now);
      return;
    }
    tcb.rtt_.Backoff();
    SendSyn(tcb, now);
    ArmRetransmit(tcb, now);
    return;
  }
  if (tcb.flight_size() == 0) return;
  if (tcb.snd_wnd_ == 0) {
    // The peer closed its window with data in flight: probe it rather than count the
    // silence as loss.
    tcb.persisting_ = true;
    tcb.persist_unanswered_ = 0;
    PersistTimeout(tcb, now);
    return;
  }
  counters_.Add(TcpCounter::kRtoExpiries);
  // RFC 9293 §3.8.3: after R2 retransmissions, close the connection and tell the owner.
  if (++tcb.retransmits_ > options_.max_retransmissions) {
    counters_.Add(TcpCounter::kUserTimeouts);
    SendResetOn(tcb, now);
    Terminate(tcb, CloseReason::kTimedOut, now);
    return;
  }
  // RFC 5681 §3.1 eq. (4) and the loss window; RFC 6298 §5.5 back off; Karn.
  tcb.cc_->OnRetransmissionTimeout(tcb.flight_size());
  tcb.rtt_.Backoff();
  tcb.rtt_timing_ = false;
  // RFC 6675 §5.1: recovery ends; the scoreboard stays ("Update() SHOULD continue to be used
  // ... to take advantage of all information provided by the receiver"), so the resend below
  // skips what the receiver holds. A second timeout in a row clears it (RFC 2018 §8: the
  // receiver may have reneged, and skipping its SACKed data would then stall). RFC 6582 §3.2
  // step 1's "recover" moves to the highest sequence sent.
  tcb.sack_recovery_ = false;
  tcb.dupacks_ = 0;
  if (tcb.retransmits_ > 1) tcb.scoreboard_.Reset(tcb.snd_una_);
  tcb.recover_ = tcb.snd_max_;
  tcb.recover_active_ = true;
  // RFC 6298 §5.4: retransmit the earliest unacknowledged segment; go-back-N from there as
  // cwnd grows again.
  tcb.snd_nxt_ = tcb.snd_una_;
  ArmRetransmit(tcb, now);
  Output(tcb, now);
}

void TcpStack::PersistTimeout(Tcb& tcb, base::Instant now) {
  if (tcb.last_probe_ != base::Instant() && tcb.last_receive_ < tcb.last_probe_) {
    // Nothing came back since the last probe. A peer that answers may keep its window
    // closed for ever (RFC 1122 §4.2.2.17); one that is gone is given R2 probes.
    if (++tcb.persist_unanswered_ > options_.max_retransmissions) {
      counters_.Add(TcpCounter::kUserTimeouts);
      Terminate(tcb, CloseReason::kTimedOut, now);
      return;
    }
  } else {
    tcb.persist_unanswered_ = 0;
  }
  tcb.last_probe_ = now;
  if (tcb.snd_wnd_ > 0) {
    // The silly-window override (RFC 9293 §3.8.6.2.1): the window is open but smaller than
    // the sender would wait for; after the timeout, send what fits.
    tcb.persisting_ = false;
    tcb.persist_backoff_ = 0;
    const uint32_t seg_max = tcb.snd_mss_ - (tcb.ts_ok_ ? 12 : 0);
    const Seq window_end = tcb.snd_una_ + tcb.snd_wnd_;
    const uint32_t usable = window_end > tcb.snd_nxt_
                                ? static_cast<uint32_t>(window_end - tcb.snd_nxt_)
                                : 0;
    const uint32_t len = std::min({tcb.unsent(), usable, seg_max});
    const bool fin = tcb.write_shutdown_ && tcb.snd_nxt_ + len == tcb.fin_seq_;
    if (len > 0 || fin) {
      const uint32_t n = TransmitData(tcb, tcb.snd_nxt_, len + (fin ? 1 : 0), now);
      tcb.snd_nxt_ += n;
      if (tcb.snd_nxt_ > tcb.snd_max_) tcb.snd_max_ = tcb.snd_nxt_;
    }
    if (tcb.flight_size() > 0) ArmRetransmit(tcb, now);
    Output(tcb, now);
    return;
  }
  // RFC 9293 §3.8.6.1 zero-window probing: the probe must make the receiver report its
  // window. ferry sends what Linux sends (tcp_xmit_probe_skb): an ACK with SEG.SEQ =
  // SND.UNA - 1 and no data, out of the window, which any TCP answers with an ACK carrying
  // its window (§3.10.7.4 first). A probe carrying an octet of new data beyond a zero window
  // is dropped by Linux 6.18 and counted as "beyond window"; this one never is, takes no
  // sequence space, and needs no retransmission bookkeeping.
  counters_.Add(TcpCounter::kPersistProbes);
  OutSegment probe;
  probe.seq = tcb.snd_una_ - 1;
  probe.ack = tcb.rcv_nxt_;
  probe.flags = TcpFlags::kAck;
  FillOptions(tcb, probe, now);
  Transmit(tcb, probe, now);
  // Backoff as for retransmissions (RFC 1122 §4.2.2.17: "exponentially backed off").
  const uint32_t shift = std::min<uint32_t>(tcb.persist_backoff_++, 16);
  const base::Duration interval =
      std::min<base::Duration>(tcb.rtt_.rto() * (int64_t{1} << shift), options_.rto.max);
  wheel_.Schedule(tcb.rtx_timer_, now + interval);
}

void TcpStack::KeepaliveTimeout(Tcb& tcb, base::Instant now) {
  if (tcb.state_ != TcpState::kEstablished && tcb.state_ != TcpState::kCloseWait) return;
  const ConnectionOptions& o = tcb.options_;
  const base::Duration idle = now - tcb.last_receive_;
  if (tcb.keepalive_probes_ == 0 && idle < o.keepalive_idle) {
    // Heard from the peer since: wait out the rest of the idle time.
    wheel_.Schedule(tcb.keepalive_timer_, tcb.last_receive_ + o.keepalive_idle);
    return;
  }
  if (tcb.keepalive_probes_ >= o.keepalive_probes) {
    counters_.Add(TcpCounter::kKeepaliveTimeouts);
    SendResetOn(tcb, now);
    Terminate(tcb, CloseReason::kKeepaliveTimeout, now);
    return;
  }
  // RFC 9293 §3.8.4: a keep-alive is a segment with SEG.SEQ = SND.NXT - 1 and no data; the
  // peer answers it with an ACK.
  OutSegment probe;
  probe.seq = tcb.snd_una_ - 1;
  probe.ack = tcb.rcv_nxt_;
  probe.flags = TcpFlags::kAck;
  FillOptions(tcb, probe, now);
  Transmit(tcb, probe, now);
  ++tcb.keepalive_probes_;
  wheel_.Schedule(tcb.keepalive_timer_, now + o.keepalive_interval);
}

}  // namespace ferry::tcp
