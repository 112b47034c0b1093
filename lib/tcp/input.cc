// Segment arrival for a connection, by state: RFC 9293 §3.10.7.3 (SYN-SENT) and §3.10.7.4
// (the other states), with RFC 5961 (blind in-window attacks), RFC 7323 (PAWS) and RFC 6191
// (TIME-WAIT reuse, in stack.cc). Each step below cites the text it implements.
#include <rte_mbuf.h>

#include <algorithm>

#include "net/tcp_header.h"
#include "tcp/stack.h"

namespace ferry::tcp {

using net::TcpFlags;

namespace {

// RFC 7323 §5.5: TS.Recent is invalid after 24 days of idleness.
constexpr base::Duration kTsRecentLifetime = std::chrono::hours(24 * 24);

}  // namespace

void TcpStack::SegmentArrives(Tcb& tcb, Segment& segment, base::Instant now) {
  if (tcb.state_ == TcpState::kSynSent) {
    SynSentInput(tcb, segment, now);
    return;
  }
  tcb.last_receive_ = now;
  tcb.keepalive_probes_ = 0;

  // RFC 9293 §3.10.7.4 first: check sequence number, preceded by RFC 7323 §5.3 PAWS.
  if (PawsReject(tcb, segment, now)) return;
  // TIME-WAIT, eighth step: "The only thing that can arrive in this state is a retransmission
  // of the remote FIN. Acknowledge it, and restart the 2 MSL timeout." It lies just below
  // RCV.NXT, so the acceptability test would drop it before the FIN step is reached.
  if (tcb.state_ == TcpState::kTimeWait && segment.fin() && !segment.rst() &&
      segment.seq + segment.payload_length + 1 == tcb.rcv_nxt_) {
    SendAck(tcb, now);
    wheel_.Schedule(tcb.linger_timer_, now + options_.time_wait);
    return;
  }
  if (!SequenceAcceptable(tcb, segment)) {
    // RFC 9293 §3.10.7.4 first: "If an incoming segment is not acceptable, an acknowledgment
    // should be sent in reply (unless the RST bit is set, if so drop the segment and return)".
    // A retransmitted SYN in SYN-RECEIVED means our SYN-ACK was lost: send it again.
    counters_.Add(TcpCounter::kDropOutOfWindow);
    if (segment.rst()) return;
    if (tcb.state_ == TcpState::kSynReceived && segment.syn() && segment.seq == tcb.irs_) {
      SendSyn(tcb, now);
      return;
    }
    SendAck(tcb, now);
    return;
  }
  // RFC 7323 §4.3 (2): remember TSval if the segment covers Last.ACK.sent.
  if (tcb.ts_ok_ && segment.options.timestamps && segment.seq <= tcb.last_ack_sent_ &&
      Seq(segment.options.timestamps->value) >= Seq(tcb.ts_recent_)) {
    tcb.ts_recent_ = segment.options.timestamps->value;
    tcb.ts_recent_age_ = now;
  }

  // Second: check the RST bit, as RFC 5961 §3.2 amends it: only an exact match resets; one
  // elsewhere in the window gets a challenge ACK.
  if (segment.rst()) {
    if (segment.seq != tcb.rcv_nxt_) {
      ChallengeAck(tcb, now);
      return;
    }
    counters_.Add(TcpCounter::kResetsIn);
    switch (tcb.state_) {
      case TcpState::kSynReceived:
        // "If this connection was initiated with a passive OPEN ... return this connection
        // to LISTEN state": the listener has nothing to undo; the TCB just goes.
        Terminate(tcb, tcb.passive_ ? CloseReason::kReset : CloseReason::kRefused, now);
        return;
      case TcpState::kClosing:
      case TcpState::kLastAck:
      case TcpState::kTimeWait:
        // "enter the CLOSED state, delete the TCB, and return"
        Terminate(tcb, CloseReason::kNormal, now);
        return;
      default:
        // ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "signal the user 'connection reset'".
        Terminate(tcb, CloseReason::kReset, now);
        return;
    }
  }

  // Fourth: check the SYN bit. RFC 5961 §4.2: in any synchronized state (and SYN-RECEIVED),
  // any SYN gets a challenge ACK and is dropped.
  if (segment.syn()) {
    ChallengeAck(tcb, now);
    return;
  }

  // Fifth: check the ACK field. "if the ACK bit is off, drop the segment and return".
  if (!segment.ack_flag()) return;
  if (tcb.state_ == TcpState::kSynReceived) {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
    // processing ... If the segment acknowledgment is not acceptable, form a reset segment
    // <SEQ=SEG.ACK><CTL=RST> and send it."
    if (!(tcb.snd_una_ < segment.ack && segment.ack <= tcb.snd_max_)) {
      SendReset(tcb.tuple_, segment, now);
      return;
    }
    tcb.snd_wnd_ = uint32_t{segment.window} << tcb.snd_wscale_;
    tcb.max_snd_wnd_ = std::max(tcb.max_snd_wnd_, tcb.snd_wnd_);
    tcb.snd_wl1_ = segment.seq;
    tcb.snd_wl2_ = segment.ack;
    Established(tcb, now);
    if (tcb.state_ == TcpState::kClosed) return;
  }
  if (tcb.state_ == TcpState::kTimeWait) {
    // "The only thing that can arrive in this state is a retransmission of the remote FIN.
    // Acknowledge it, and restart the 2 MSL timeout." (below, in the FIN step)
  } else if (!ProcessAck(tcb, segment, now)) {
    return;
  }
  if (tcb.state_ == TcpState::kClosed) return;
  const bool fin_acked = tcb.fin_sent_ && tcb.snd_una_ > tcb.fin_seq_;
  switch (tcb.state_) {
    case TcpState::kFinWait1:
      // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now
      // acknowledged, then enter FIN-WAIT-2 and continue processing in that state."
      if (fin_acked) {
        SetState(tcb, TcpState::kFinWait2);
        if (tcb.owner_closed_) {
          wheel_.Schedule(tcb.linger_timer_, now + options_.fin_wait_2_timeout);
        }
      }
      break;
    case TcpState::kClosing:
      // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state"
      if (fin_acked) {
        EnterTimeWait(tcb, now);
        return;
      }
      break;
    case TcpState::kLastAck:
      // "The only thing that can arrive in this state is an acknowledgment of our FIN. If
      // our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return."
      if (fin_acked) {
        Terminate(tcb, CloseReason::kNormal, now);
        return;
      }
      break;
    default:
      break;
  }

  // Sixth, URG: ferry has no urgent mode; the pointer is ignored and the data delivered in
  // line (RFC 6093 §5 recommends applications not rely on it).
  // Seventh: process the segment text.
  if (segment.payload_length > 0) {
    switch (tcb.state_) {
      case TcpState::kEstablished:
      case TcpState::kFinWait1:
      case TcpState::kFinWait2:
        if (tcb.owner_closed_) {
          // RFC 1122 §4.2.2.13: data arriving after CLOSE: "its TCP SHOULD send a RST to
          // show that data was lost".
          SendResetOn(tcb, now);
          SetState(tcb, TcpState::kClosed);
          return;
        }
        ProcessText(tcb, segment, now);
        break;
      default:
        // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has
        // been received from the remote side. Ignore the segment text."
        break;
    }
  }
  if (tcb.state_ == TcpState::kClosed) return;

  // Eighth: check the FIN bit.
  if (segment.fin()) ProcessFin(tcb, segment, now);
  if (tcb.state_ == TcpState::kClosed) return;

  Output(tcb, now);
  if (tcb.ack_pending_segments_ > 0 && !TimerWheel::scheduled(tcb.delack_timer_)) {
    ScheduleDelayedAck(tcb, now);
  }
}

// RFC 9293 §3.10.7.3: SYN-SENT.
void TcpStack::SynSentInput(Tcb& tcb, Segment& segment, base::Instant now) {
  // "First, check the ACK bit: If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
  // the RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
  const bool ack_ok =
      segment.ack_flag() && tcb.iss_ < segment.ack && segment.ack <= tcb.snd_max_;
  if (segment.ack_flag() && !ack_ok) {
    if (segment.rst()) return;
    SendReset(tcb.tuple_, segment, now);
    // An ACK for something else: the peer still holds an older connection on this tuple,
    // most often in TIME-WAIT after we restarted and reused the port, with an ISN and TSval
    // that RFC 6191 does not let it take as a new incarnation. Our RST clears that state, so
    // the SYN goes again now rather than a retransmission timeout later (once per
    // connection, so a peer that keeps answering this way gets the usual backoff).
    if (!tcb.syn_resent_after_reset_) {
      tcb.syn_resent_after_reset_ = true;
      SendSyn(tcb, now);
    }
    return;
  }
  // "Second, check the RST bit: If the ACK was acceptable, then signal to the user 'error:
  // connection reset', drop the segment, enter CLOSED state ... Otherwise (no ACK), drop the
  // segment and return." (RFC 5961 §3.2 keeps this for SYN-SENT.)
  if (segment.rst()) {
    if (ack_ok) {
      counters_.Add(TcpCounter::kResetsIn);
      Terminate(tcb, CloseReason::kRefused, now);
    }
    return;
  }
  // "Fourth, check the SYN bit"; "if neither of the SYN or RST bits is set, then drop".
  if (!segment.syn()) return;
  tcb.irs_ = segment.seq;
  tcb.rcv_nxt_ = segment.seq + 1;
  NegotiateOptions(tcb, segment.options);
  // The edge our SYN offered (its window is unscaled): the receive window starts there.
  tcb.rcv_adv_ = tcb.rcv_nxt_ + std::min<uint32_t>(ReceiveWindow(tcb), 0xffff);
  if (tcb.ts_ok_) {
    tcb.ts_recent_ = segment.options.timestamps->value;
    tcb.ts_recent_age_ = now;
  }
  tcb.last_receive_ = now;
  if (ack_ok) {
    // "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has been
    // ACKed), change the connection state to ESTABLISHED, form an ACK segment
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it." 
    tcb.snd_una_ = segment.ack;
    tcb.send_queue_.Acknowledge(segment.ack);
    wheel_.Cancel(tcb.rtx_timer_);
    // RFC 7323 §2.2: the window of a SYN segment is never scaled.
    tcb.snd_wnd_ = segment.window;
    tcb.max_snd_wnd_ = tcb.snd_wnd_;
    tcb.snd_wl1_ = segment.seq;
    tcb.snd_wl2_ = segment.ack;
    // RTT sample from the handshake (RFC 6298 §3 Karn: not if the SYN was retransmitted).
    if (tcb.ts_ok_ && segment.options.timestamps->echo_reply != 0) {
      tcb.rtt_.OnMeasurement(std::chrono::milliseconds(
          static_cast<int32_t>(TsNow(now) - segment.options.timestamps->echo_reply)));
      tcb.last_rtt_sample_ = now;
    } else if (tcb.rtt_timing_) {
      tcb.rtt_.OnMeasurement(now - tcb.rtt_start_);
      tcb.last_rtt_sample_ = now;
    }
    tcb.rtt_timing_ = false;
    tcb.ack_now_ = true;
    Established(tcb, now);
    if (tcb.state_ == TcpState::kClosed) return;
    // "Data or controls that were queued for transmission may be included. ... If there are
    // other controls or text in the segment, then continue processing at the sixth step":
    // the text starts one past the SYN.
    if (segment.payload_length > 0 || segment.fin()) {
      segment.seq += 1;
      segment.flags &= static_cast<uint8_t>(~TcpFlags::kSyn);
      if (segment.payload_length > 0) ProcessText(tcb, segment, now);
      if (tcb.state_ == TcpState::kClosed) return;
      if (segment.fin()) ProcessFin(tcb, segment, now);
      if (tcb.state_ == TcpState::kClosed) return;
    }
    Output(tcb, now);
    return;
  }
  // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT>
  // <CTL=SYN,ACK> and send it." (simultaneous open)
  tcb.snd_wnd_ = segment.window;
  tcb.max_snd_wnd_ = tcb.snd_wnd_;
  SetState(tcb, TcpState::kSynReceived);
  SendSyn(tcb, now);
  ArmRetransmit(tcb, now);
}

// RFC 7323 §5.3 R1-R3: a segment whose TSval is older than TS.Recent is a duplicate from an
// earlier wrap of the sequence space; send an ACK and drop it. RST segments are exempt.
bool TcpStack::PawsReject(Tcb& tcb, const Segment& segment, base::Instant now) {
  if (!tcb.ts_ok_ || segment.rst()) return false;
  if (!segment.options.timestamps) {
    // RFC 7323 §3.2: once timestamps are in use, "a TSopt MUST be sent in every non-<RST>
    // segment", and a segment without one "SHOULD [be] silently drop[ped]". A SYN goes on to
    // RFC 5961 §4's challenge ACK instead (it may be a restarted peer's new connection).
    if (segment.syn()) return false;
    counters_.Add(TcpCounter::kDropNoTimestamp);
    return true;
  }
  if (Seq(segment.options.timestamps->value) >= Seq(tcb.ts_recent_)) return false;
  if (now - tcb.ts_recent_age_ > kTsRecentLifetime) {
    // §5.5: TS.Recent is too old to judge by; take the new value instead.
    tcb.ts_recent_ = segment.options.timestamps->value;
    tcb.ts_recent_age_ = now;
    return false;
  }
  counters_.Add(TcpCounter::kDropPaws);
  SendAck(tcb, now);
  return true;
}

// RFC 9293 §3.10.7.4 first, the four cases of segment length and window.
bool TcpStack::SequenceAcceptable(const Tcb& tcb, const Segment& segment) const {
  const uint32_t rcv_wnd =
      tcb.rcv_adv_ > tcb.rcv_nxt_ ? static_cast<uint32_t>(tcb.rcv_adv_ - tcb.rcv_nxt_) : 0;
  const uint32_t len = segment.length();
  const Seq end = tcb.rcv_nxt_ + rcv_wnd;
  if (len == 0) {
    if (rcv_wnd == 0) return segment.seq == tcb.rcv_nxt_;
    return InWindow(segment.seq, tcb.rcv_nxt_, end);
  }
  if (rcv_wnd == 0) {
    // Nothing is acceptable but the ACK, window and RST it carries: "If the RCV.WND is zero,
    // no segments will be acceptable, but special allowance should be made to accept valid
    // ACKs, URGs, and RSTs." The text is trimmed away in ProcessText.
    return segment.seq == tcb.rcv_nxt_;
  }
  return InWindow(segment.seq, tcb.rcv_nxt_, end) ||
         InWindow(segment.seq + len - 1, tcb.rcv_nxt_, end);
}

void TcpStack::ChallengeAck(Tcb& tcb, base::Instant now) {
  // RFC 5961 §7: a per-worker budget of challenge ACKs per second.
  if (now - challenge_window_start_ >= std::chrono::seconds(1)) {
    challenge_window_start_ = now;
    challenge_acks_in_window_ = 0;
  }
  if (challenge_acks_in_window_ >= options_.challenge_ack_limit) {
    counters_.Add(TcpCounter::kChallengeAcksLimited);
    return;
  }
  ++challenge_acks_in_window_;
  counters_.Add(TcpCounter::kChallengeAcks);
  SendAck(tcb, now);
}

// RFC 9293 §3.10.7.4 seventh: "Once in the ESTABLISHED state, it is possible to deliver
// segment text to user RECEIVE buffers." Here: to the owner, as the mbufs that came in.
void TcpStack::ProcessText(Tcb& tcb, Segment& segment, base::Instant) {
  // Trim the text to the window we offered (the head is trimmed by the reassembly queue).
  const Seq window_end = Max(tcb.rcv_adv_, tcb.rcv_nxt_);
  uint32_t length = segment.payload_length;
  if (segment.seq + length > window_end) {
    length = segment.seq < window_end ? static_cast<uint32_t>(window_end - segment.seq) : 0;
    segment.flags &= static_cast<uint8_t>(~TcpFlags::kFin);  // the FIN lies beyond: not taken
  }
  if (length == 0) {
    tcb.ack_now_ = true;  // a zero-window probe: answer with the window
    return;
  }
  const bool in_order = segment.seq <= tcb.rcv_nxt_;
  const bool filled_hole = in_order && !tcb.reassembly_.empty();
  if (memory_reserve_ && !filled_hole) {
    // The pool is down to its reserve (StackOptions::reserve_free_mbufs): the text is refused
    // as if lost, and the peer sends it again. Text that fills a hole is still taken, since it
    // releases what the reassembly queue holds. The ACK goes out at once: its duplicates tell
    // the peer to slow down (RFC 5681 §3.2).
    segment.flags &= static_cast<uint8_t>(~TcpFlags::kFin);  // the FIN lies after the text
    counters_.Add(TcpCounter::kTextDroppedMemory);
    tcb.ack_now_ = true;
    return;
  }
  rte_mbuf* payload = segment.payload;
  segment.payload = nullptr;
  const auto result = tcb.reassembly_.Insert(tcb.rcv_nxt_, segment.seq, payload, length);
  switch (result) {
    case ReassemblyQueue::InsertResult::kDroppedFull:
      counters_.Add(TcpCounter::kReassemblyDrops);
      tcb.ack_now_ = true;
      return;
    case ReassemblyQueue::InsertResult::kDuplicate:
      // RFC 5681 §4.2: an out-of-order or duplicate segment is acknowledged at once.
      tcb.ack_now_ = true;
      return;
    case ReassemblyQueue::InsertResult::kQueuedAfterReneging:
      counters_.Add(TcpCounter::kReassemblyDrops);
      break;
    case ReassemblyQueue::InsertResult::kQueued:
      break;
  }
  if (!in_order) {
    counters_.Add(TcpCounter::kOutOfOrderSegments);
    tcb.last_ooo_seq_ = segment.seq;
    tcb.ack_now_ = true;  // RFC 5681 §4.2: "an immediate ACK when an out-of-order segment
                          // arrives", with SACK blocks (RFC 2018 §4)
    return;
  }
  // RFC 5681 §4.2: ACK immediately when a segment fills (part of) a gap; otherwise at least
  // every second full-sized segment (RFC 9293 §3.8.6.3), within delayed_ack. Counted before
  // the owner sees the data: a reply it sends at once carries the ACK and clears this.
  if (filled_hole) tcb.ack_now_ = true;
  if (++tcb.ack_pending_segments_ >= 2) tcb.ack_now_ = true;
  for (;;) {
    uint32_t bytes = 0;
    rte_mbuf* chain = tcb.reassembly_.PopInOrder(tcb.rcv_nxt_, &bytes);
    if (chain == nullptr) break;
    if (tcb.handler_ != nullptr && !tcb.owner_closed_) {
      tcb.handler_->OnData(tcb, chain, bytes);
      if (tcb.state_ == TcpState::kClosed) return;
    } else {
      rte_pktmbuf_free(chain);
    }
  }
}

void TcpStack::ProcessFin(Tcb& tcb, const Segment& segment, base::Instant now) {
  // "Do not process the FIN if the state is CLOSED, LISTEN, or SYN-SENT since the SEG.SEQ
  // cannot be validated." A FIN is processed only once everything before it has arrived; an
  // out-of-order FIN is not acknowledged and comes again.
  const Seq fin_seq = segment.seq + segment.payload_length;
  if (tcb.peer_fin_) {
    if (tcb.state_ == TcpState::kTimeWait && fin_seq + 1 == tcb.rcv_nxt_) {
      // "Acknowledge it, and restart the 2 MSL timeout."
      SendAck(tcb, now);
      wheel_.Schedule(tcb.linger_timer_, now + options_.time_wait);
    } else {
      tcb.ack_now_ = true;
    }
    return;
  }
  if (fin_seq != tcb.rcv_nxt_) {
    tcb.ack_now_ = true;
    return;
  }
  // "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN."
  tcb.peer_fin_ = true;
  tcb.rcv_nxt_ += 1;
  tcb.ack_now_ = true;
  const bool fin_acked = tcb.fin_sent_ && tcb.snd_una_ > tcb.fin_seq_;
  switch (tcb.state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      // "Enter the CLOSE-WAIT state", before the owner hears of it: an owner that closes in
      // OnPeerFin then sends its FIN from CLOSE-WAIT (LAST-ACK, no TIME-WAIT on our side).
      SetState(tcb, TcpState::kCloseWait);
      NotifyPeerFin(tcb);
      break;
    case TcpState::kFinWait1:
      // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT ...
      // otherwise, enter the CLOSING state."
      NotifyPeerFin(tcb);
      if (tcb.state_ == TcpState::kClosed) return;
      if (fin_acked) {
        SendAck(tcb, now);
        EnterTimeWait(tcb, now);
      } else {
        SetState(tcb, TcpState::kClosing);
      }
      break;
    case TcpState::kFinWait2:
      // "Enter the TIME-WAIT state. Start the time-wait timer, turn off the other timers."
      NotifyPeerFin(tcb);
      if (tcb.state_ == TcpState::kClosed) return;
      SendAck(tcb, now);
      EnterTimeWait(tcb, now);
      break;
    default:
      break;
  }
}

void TcpStack::NotifyPeerFin(Tcb& tcb) {
  if (tcb.handler_ != nullptr && !tcb.owner_closed_) tcb.handler_->OnPeerFin(tcb);
}

void TcpStack::Established(Tcb& tcb, base::Instant now) {
  auto* listener = static_cast<Listener*>(tcb.listener_);  // SetState forgets it
  SetState(tcb, TcpState::kEstablished);
  tcb.cc_.emplace(tcb.options_.congestion, tcb.snd_mss_);
  tcb.cc_->OnHandshakeComplete(tcb.syn_retransmits_);
  if (tcb.syn_retransmits_ > 0) tcb.rtt_.ReinitializeAfterSynTimeout();
  tcb.retransmits_ = 0;
  if (tcb.options_.keepalive) {
    wheel_.Schedule(tcb.keepalive_timer_, now + tcb.options_.keepalive_idle);
  }
  if (tcb.passive_) {
    // The ACK of our SYN-ACK (or a valid cookie): hand the connection to the listener.
    ConnectionHandler* handler =
        listener != nullptr ? listener->handler->OnAccept(tcb) : nullptr;
    if (handler == nullptr) {
      if (tcb.state_ != TcpState::kClosed) Abort(tcb, now);
      return;
    }
    tcb.handler_ = handler;
  } else if (tcb.handler_ != nullptr) {
    tcb.handler_->OnConnected(tcb);
  }
}

void TcpStack::EnterTimeWait(Tcb& tcb, base::Instant now) {
  SetState(tcb, TcpState::kTimeWait);
  wheel_.Cancel(tcb.rtx_timer_);
  wheel_.Cancel(tcb.delack_timer_);
  wheel_.Cancel(tcb.keepalive_timer_);
  wheel_.Schedule(tcb.linger_timer_, now + options_.time_wait);
  tcb.send_queue_.Clear();
  tcb.reassembly_.Clear();
  // The owner is done with it: both directions are closed and our FIN is acknowledged.
  if (tcb.handler_ != nullptr && !tcb.owner_closed_) {
    ConnectionHandler* handler = tcb.handler_;
    tcb.owner_closed_ = true;
    tcb.handler_ = nullptr;
    handler->OnClosed(tcb, CloseReason::kNormal);
  }
}

void TcpStack::Terminate(Tcb& tcb, CloseReason reason, base::Instant now) {
  (void)now;
  if (tcb.state_ == TcpState::kClosed) return;
  wheel_.Cancel(tcb.rtx_timer_);
  wheel_.Cancel(tcb.delack_timer_);
  wheel_.Cancel(tcb.keepalive_timer_);
  wheel_.Cancel(tcb.linger_timer_);
  ConnectionHandler* handler = tcb.owner_closed_ ? nullptr : tcb.handler_;
  tcb.owner_closed_ = true;
  tcb.handler_ = nullptr;
  SetState(tcb, TcpState::kClosed);
  if (handler != nullptr) handler->OnClosed(tcb, reason);
}

}  // namespace ferry::tcp
