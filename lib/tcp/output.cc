// What a connection may send now, and sending it: the usable window (RFC 5681 cwnd, RFC 3042
// limited transmit, RFC 6675 pipe in SACK recovery), sender silly-window avoidance and Nagle
// (RFC 9293 §3.8.6.2.1, §3.7.4), the FIN, ACKs with the receive window (receiver SWS
// avoidance, §3.8.6.2.2, never shrinking it) and the options every segment carries.
#include <rte_mbuf.h>

#include <algorithm>

#include "net/tcp_header.h"
#include "tcp/stack.h"

namespace ferry::tcp {

using net::TcpFlags;

namespace {

// Mbufs in one transmitted slice (indirect mbufs, one per source mbuf touched). A full-sized
// segment is one or two receive mbufs; small received segments linked together may need more.
constexpr uint16_t kMaxSliceMbufs = 32;

bool CanSendData(TcpState s) {
  switch (s) {
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
    case TcpState::kFinWait1:
    case TcpState::kClosing:
    case TcpState::kLastAck:
      return true;
    default:
      return false;
  }
}

}  // namespace

void TcpStack::Output(Tcb& tcb, base::Instant now) {
  if (!CanSendData(tcb.state_) || !tcb.cc_) {
    if (tcb.ack_now_ && tcb.state_ != TcpState::kClosed) SendAck(tcb, now);
    return;
  }
  Congestion& cc = *tcb.cc_;
  // RFC 5681 §4.1: after an idle period longer than the RTO, restart from at most IW.
  if (tcb.flight_size() == 0 && tcb.last_send_ != base::Instant() &&
      now - tcb.last_send_ > tcb.rtt_.rto()) {
    cc.OnIdleRestart(now - tcb.last_send_, tcb.rtt_.rto());
  }
  bool sent = false;
  if (tcb.sack_recovery_) {
    sent = SackRecoveryOutput(tcb, now);
  } else {
    // Bounded: each pass sends a segment or stops.
    for (uint32_t pass = 0; pass < 4096; ++pass) {
      // Resending after a timeout (SND.NXT below the highest sequence sent): skip what the
      // receiver has SACKed, and stop each segment where the next SACKed range begins.
      Seq resend_end = tcb.snd_max_;
      if (tcb.snd_nxt_ < tcb.snd_max_ && !tcb.scoreboard_.empty()) {
        for (const SackBlock& b : tcb.scoreboard_.ranges()) {
          if (b.right <= tcb.snd_nxt_) continue;
          if (b.left <= tcb.snd_nxt_) {
            tcb.snd_nxt_ = Min(b.right, tcb.snd_max_);
            continue;
          }
          resend_end = b.left;
          break;
        }
      }
      const uint32_t seg_max = tcb.snd_mss_ - (tcb.ts_ok_ ? 12 : 0);
      const Seq data_end = tcb.send_queue_.end_seq();
      uint32_t avail =
          data_end > tcb.snd_nxt_ ? static_cast<uint32_t>(data_end - tcb.snd_nxt_) : 0;
      if (tcb.snd_nxt_ < resend_end && resend_end < tcb.snd_max_) {
        avail = std::min(avail, static_cast<uint32_t>(resend_end - tcb.snd_nxt_));
      }
      const bool fin_pending = tcb.write_shutdown_ && tcb.snd_nxt_ <= tcb.fin_seq_;
      uint32_t cwnd = cc.cwnd();
      // RFC 3042 §2: the first two duplicate ACKs each allow one segment beyond cwnd.
      if (!cc.in_recovery() && tcb.dupacks_ > 0 && tcb.dupacks_ < SackScoreboard::kDupThresh) {
        cwnd += tcb.dupacks_ * tcb.snd_mss_;
      }
      const Seq window_end = tcb.snd_una_ + std::min(tcb.snd_wnd_, cwnd);
      const uint32_t usable =
          window_end > tcb.snd_nxt_ ? static_cast<uint32_t>(window_end - tcb.snd_nxt_) : 0;
      const uint32_t len = std::min({avail, usable, seg_max});
      // The FIN goes with the last of the data (or alone) when the window has room for its
      // sequence number too: Linux (6.18) drops a segment whose end passes the window, FIN
      // included. With a closed window, persist sends it.
      const bool fin = fin_pending && len == avail && len < usable;
      if (len == 0 && !fin) break;
      if (len < avail) {
        // RFC 9293 §3.8.6.2.1 sender SWS avoidance: send a partial segment only if it is at
        // least half the largest window the peer has offered (Fs = 1/2); otherwise wait for
        // the window to open (or for the persist timer's override).
        if (len < seg_max && len < tcb.max_snd_wnd_ / 2) break;
      } else if (len < seg_max && len > 0 && tcb.options_.nagle && !fin &&
                 tcb.snd_nxt_ > tcb.snd_una_ && tcb.snd_nxt_ >= tcb.snd_max_) {
        // RFC 9293 §3.7.4 Nagle: a short segment of new data waits while data is
        // unacknowledged (a resend after a timeout does not).
        break;
      }
      const uint32_t n = TransmitData(tcb, tcb.snd_nxt_, len + (fin ? 1 : 0), now);
      if (n == 0) break;
      sent = true;
      tcb.snd_nxt_ += n;
      if (tcb.snd_nxt_ > tcb.snd_max_) tcb.snd_max_ = tcb.snd_nxt_;
    }
  }
  if (!sent) {
    // RFC 9293 §3.8.6.1: data waits behind a zero (or, SWS, too small) window with nothing
    // in flight to bring an ACK: the persist timer probes the window.
    const bool pending =
        tcb.unsent() > 0 || (tcb.write_shutdown_ && tcb.snd_nxt_ <= tcb.fin_seq_);
    if (pending && tcb.flight_size() == 0 && !TimerWheel::scheduled(tcb.rtx_timer_)) {
      tcb.persisting_ = true;
      tcb.persist_unanswered_ = 0;
      wheel_.Schedule(tcb.rtx_timer_, now + tcb.rtt_.rto());
    }
  }
  if (tcb.ack_now_) SendAck(tcb, now);
}

bool TcpStack::SackRecoveryOutput(Tcb& tcb, base::Instant now) {
  Congestion& cc = *tcb.cc_;
  bool sent = false;
  for (uint32_t pass = 0; pass < 4096; ++pass) {
    const uint32_t smss = tcb.snd_mss_;
    const uint32_t seg_max = smss - (tcb.ts_ok_ ? 12 : 0);
    const uint32_t pipe =
        tcb.scoreboard_.Pipe(tcb.snd_una_, tcb.snd_max_, tcb.high_rxt_, smss);
    // RFC 6675 §5 (C): "while (cwnd - pipe) >= 1 SMSS".
    if (pipe >= cc.cwnd() || cc.cwnd() - pipe < smss) break;
    const uint32_t unsent = tcb.unsent();
    const Seq window_end = tcb.snd_una_ + tcb.snd_wnd_;
    const bool new_data_ready =
        unsent > 0 && window_end >= tcb.snd_nxt_ + std::min(unsent, seg_max);
    const SackScoreboard::NextSegment next = tcb.scoreboard_.NextSeg(SackScoreboard::NextSegQuery{
        .snd_una = tcb.snd_una_,
        .snd_max = tcb.snd_max_,
        .high_rxt = tcb.high_rxt_,
        .smss = seg_max,
        .new_data_ready = new_data_ready,
        .rescue_allowed = !tcb.rescue_valid_ || tcb.snd_una_ > tcb.rescue_rxt_});
    uint32_t n = 0;
    switch (next.rule) {
      case SackScoreboard::NextSegment::Rule::kNone:
        return sent;
      case SackScoreboard::NextSegment::Rule::kLost:
      case SackScoreboard::NextSegment::Rule::kUnsacked:
        n = TransmitData(tcb, next.seq, next.len, now);
        if (n > 0) tcb.high_rxt_ = Max(tcb.high_rxt_, next.seq + n);
        break;
      case SackScoreboard::NextSegment::Rule::kRescue:
        n = TransmitData(tcb, next.seq, next.len, now);
        if (n > 0) {
          tcb.rescue_rxt_ = tcb.recover_;
          tcb.rescue_valid_ = true;
        }
        break;
      case SackScoreboard::NextSegment::Rule::kNewData: {
        const uint32_t len = std::min(unsent, seg_max);
        const bool fin = tcb.write_shutdown_ && tcb.snd_nxt_ + len == tcb.fin_seq_;
        n = TransmitData(tcb, tcb.snd_nxt_, len + (fin ? 1 : 0), now);
        tcb.snd_nxt_ += n;
        if (tcb.snd_nxt_ > tcb.snd_max_) tcb.snd_max_ = tcb.snd_nxt_;
        break;
      }
    }
    if (n == 0) break;
    sent = true;
  }
  return sent;
}

uint32_t TcpStack::TransmitData(Tcb& tcb, Seq seq, uint32_t length, base::Instant now) {
  OutSegment out;
  out.seq = seq;
  out.ack = tcb.rcv_nxt_;
  out.flags = TcpFlags::kAck;
  FillOptions(tcb, out, now);
  // RFC 6691: the MSS bounds the data; options beyond the fixed header come out of it.
  const uint32_t room = tcb.snd_mss_ - static_cast<uint32_t>(OptionsLength(out.options, false));
  const Seq data_end = tcb.send_queue_.end_seq();
  uint32_t data_len =
      seq < data_end ? std::min({length, static_cast<uint32_t>(data_end - seq), room}) : 0;
  bool fin = tcb.write_shutdown_ && seq + data_len == tcb.fin_seq_ && length > data_len;
  if (data_len > 0) {
    const SendQueue::SliceResult slice = tcb.send_queue_.Slice(seq, data_len, kMaxSliceMbufs);
    if (slice.chain == nullptr) {
      counters_.Add(TcpCounter::kDropNoMbuf);
      return 0;
    }
    if (slice.length < data_len) {
      data_len = slice.length;
      fin = false;
    }
    out.payload = slice.chain;
    out.payload_length = data_len;
    if (seq + data_len == data_end) out.flags |= TcpFlags::kPsh;
  }
  if (fin) out.flags |= TcpFlags::kFin;
  const uint32_t seq_len = data_len + (fin ? 1 : 0);
  if (seq_len == 0) return 0;
  const bool retransmission = seq < tcb.snd_max_;
  if (!Transmit(tcb, out, now)) return 0;
  if (retransmission) {
    counters_.Add(TcpCounter::kRetransmits);
    counters_.Add(TcpCounter::kRetransmittedBytes, data_len);
    // RFC 6298 §3, Karn: a retransmitted segment yields no sample.
    if (tcb.rtt_timing_ && InWindow(tcb.rtt_seq_, seq, seq + seq_len)) tcb.rtt_timing_ = false;
  } else if (!tcb.ts_ok_ && !tcb.rtt_timing_) {
    tcb.rtt_timing_ = true;
    tcb.rtt_seq_ = seq;
    tcb.rtt_start_ = now;
  }
  if (fin && !tcb.fin_sent_) {
    tcb.fin_sent_ = true;
    // RFC 9293 §3.10.4 CLOSE: ESTABLISHED → FIN-WAIT-1, CLOSE-WAIT → LAST-ACK.
    if (tcb.state_ == TcpState::kEstablished) SetState(tcb, TcpState::kFinWait1);
    if (tcb.state_ == TcpState::kCloseWait) SetState(tcb, TcpState::kLastAck);
  }
  if (data_len > 0) tcb.last_send_ = now;
  if (!tcb.persisting_ && !TimerWheel::scheduled(tcb.rtx_timer_)) ArmRetransmit(tcb, now);
  return seq_len;
}

void TcpStack::SendSyn(Tcb& tcb, base::Instant now) {
  OutSegment out;
  out.seq = tcb.iss_;
  out.flags = TcpFlags::kSyn;
  out.options.mss = options_.mss;
  const ConnectionOptions& o = tcb.options_;
  if (tcb.state_ == TcpState::kSynSent) {
    if (o.window_scaling) out.options.window_scale = tcb.rcv_wscale_;
    out.options.sack_permitted = o.sack;
    if (o.timestamps) out.options.timestamps = TcpOptions::Timestamps{TsNow(now), 0};
  } else {
    out.flags |= TcpFlags::kAck;
    out.ack = tcb.rcv_nxt_;
    if (tcb.wscale_ok_) out.options.window_scale = tcb.rcv_wscale_;
    out.options.sack_permitted = tcb.sack_ok_;
    if (tcb.ts_ok_) out.options.timestamps = TcpOptions::Timestamps{TsNow(now), tcb.ts_recent_};
  }
  // RFC 7323 §2.2: "The window field in a segment where the SYN bit is set MUST NOT be
  // scaled."
  const uint32_t window = std::min<uint32_t>(ReceiveWindow(tcb), 0xffff);
  out.window = static_cast<uint16_t>(window);
  if (tcb.state_ == TcpState::kSynReceived) tcb.rcv_adv_ = tcb.rcv_nxt_ + window;
  const bool retransmission = tcb.snd_max_ > tcb.iss_;
  if (!Transmit(tcb, out, now)) return;
  tcb.snd_nxt_ = tcb.iss_ + 1;
  if (tcb.snd_max_ < tcb.snd_nxt_) tcb.snd_max_ = tcb.snd_nxt_;
  if (retransmission) {
    counters_.Add(TcpCounter::kRetransmits);
    tcb.rtt_timing_ = false;  // Karn
  } else if (!tcb.ts_ok_) {
    tcb.rtt_timing_ = true;
    tcb.rtt_seq_ = tcb.iss_;
    tcb.rtt_start_ = now;
  }
}

void TcpStack::SendAck(Tcb& tcb, base::Instant now) {
  OutSegment out;
  out.seq = tcb.snd_nxt_;
  out.ack = tcb.rcv_nxt_;
  out.flags = TcpFlags::kAck;
  FillOptions(tcb, out, now);
  Transmit(tcb, out, now);
}

void TcpStack::FillOptions(Tcb& tcb, OutSegment& out, base::Instant now) {
  if (tcb.ts_ok_) out.options.timestamps = TcpOptions::Timestamps{TsNow(now), tcb.ts_recent_};
  // RFC 2018 §4: every ACK sent while out-of-order data is held reports it.
  if (tcb.sack_ok_ && !tcb.reassembly_.empty()) {
    out.options.sack_block_count = static_cast<uint8_t>(
        tcb.reassembly_.SackBlocks(out.options.sack_blocks, tcb.last_ooo_seq_));
  }
}

bool TcpStack::Transmit(Tcb& tcb, OutSegment& out, base::Instant now) {
  out.source_port = tcb.tuple_.local_port;
  out.destination_port = tcb.tuple_.remote_port;
  const bool rst = out.flags & TcpFlags::kRst;
  if (!rst && !(out.flags & TcpFlags::kSyn)) out.window = AdvertiseWindow(tcb);
  if (!rst && (out.flags & TcpFlags::kAck)) {
    tcb.last_ack_sent_ = out.ack;  // RFC 7323 §4.3 Last.ACK.sent
    tcb.ack_now_ = false;
    tcb.ack_pending_segments_ = 0;
    wheel_.Cancel(tcb.delack_timer_);
  }
  return SendSegment(tcb.tuple_, out, now);
}

void TcpStack::SendResetOn(Tcb& tcb, base::Instant now) {
  OutSegment rst;
  rst.seq = tcb.snd_max_;
  rst.flags = TcpFlags::kRst;
  if (Transmit(tcb, rst, now)) counters_.Add(TcpCounter::kResetsOut);
}

uint32_t TcpStack::ReceiveWindow(const Tcb& tcb) const {
  if (memory_pressure_) return 0;  // the edge already advertised still holds
  uint32_t space = tcb.options_.receive_window;
  if (tcb.handler_ != nullptr && !tcb.owner_closed_) {
    space = std::min(space, tcb.handler_->ReceiveSpace(tcb));
  } else if (tcb.state_ == TcpState::kSynReceived && tcb.listener_ != nullptr) {
    // No owner before the handshake completes: the listener says what one will take.
    space = std::min(space, static_cast<Listener*>(tcb.listener_)->handler->AcceptReceiveSpace());
  }
  return std::min(space, uint32_t{0xffff} << tcb.rcv_wscale_);
}

uint16_t TcpStack::AdvertiseWindow(Tcb& tcb) {
  const uint8_t shift = tcb.rcv_wscale_;
  // The limit: the owner can take everything up to rcv_nxt + ReceiveWindow. The edge offered
  // never passes it, so the owner never gets more than it said it could take.
  const uint32_t space = ReceiveWindow(tcb);
  tcb.max_receive_space_ = std::max(tcb.max_receive_space_, space);
  const Seq limit = tcb.rcv_nxt_ + space;
  Seq edge = limit;
  if (limit <= tcb.rcv_adv_) {
    // RFC 9293 §3.8.6.2.2: the right edge already offered is kept (never moved left).
    edge = tcb.rcv_adv_;
  } else {
    // Receiver SWS avoidance (§3.8.6.2.2): move the right edge only by at least
    // min(half the buffer, one MSS). The buffer (RCV.BUFF) is the most the owner has ever
    // said it could take.
    const uint32_t step = std::min<uint32_t>(tcb.max_receive_space_ / 2, options_.mss);
    if (static_cast<uint32_t>(limit - tcb.rcv_adv_) < step) edge = tcb.rcv_adv_;
  }
  // The field holds (edge - RCV.NXT) >> shift, rounded down. When that falls short of the edge
  // already offered, the peer sees the window shrink by less than 2^shift octets; RFC 7323
  // §2.4 expects this of scaled windows. Rounding up instead would offer octets beyond the
  // limit, and doing that on every ACK would let the edge creep ahead of the owner's space.
  // What the connection accepts is still everything below rcv_adv_ (the largest edge it has
  // offered), so nothing the peer sent in good faith is refused.
  const uint32_t scaled =
      std::min<uint32_t>(static_cast<uint32_t>(edge - tcb.rcv_nxt_) >> shift, 0xffff);
  const Seq advertised = tcb.rcv_nxt_ + (scaled << shift);
  if (advertised > tcb.rcv_adv_) tcb.rcv_adv_ = advertised;
  return static_cast<uint16_t>(scaled);
}

void TcpStack::MaybeWindowUpdate(Tcb& tcb, base::Instant now) {
  switch (tcb.state_) {
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      break;
    default:
      return;  // no more data expected (or not yet synchronized)
  }
  const Seq offered = tcb.rcv_nxt_ + ReceiveWindow(tcb);
  if (offered <= tcb.rcv_adv_) return;
  const uint32_t growth = static_cast<uint32_t>(offered - tcb.rcv_adv_);
  const uint32_t open = tcb.rcv_adv_ > tcb.rcv_nxt_
                            ? static_cast<uint32_t>(tcb.rcv_adv_ - tcb.rcv_nxt_)
                            : 0;
  // A window update is worth a segment when the window was closed (or nearly: less than an
  // MSS open) and now offers an MSS, or when it grows by two MSS or half the buffer.
  const uint32_t mss = options_.mss;
  const bool reopened = open < mss && growth >= std::min<uint32_t>(mss, tcb.max_receive_space_);
  const bool grown = growth >= std::min<uint32_t>(2 * mss, tcb.max_receive_space_ / 2);
  if (reopened || grown) SendAck(tcb, now);
}

}  // namespace ferry::tcp
