// The transmission control block (RFC 9293 §3.3.1): one connection's state. Owners hold a
// Tcb& as the connection's handle and read it through the public accessors; TcpStack, which
// runs the state machine (stack.h), reads and writes the rest. TCBs come from the stack's
// pool, built once at start-up with their queues, so a connection allocates nothing.
#pragma once

#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "tcp/congestion_control.h"
#include "tcp/events.h"
#include "tcp/four_tuple.h"
#include "tcp/reassembly.h"
#include "tcp/rtt.h"
#include "tcp/sack_scoreboard.h"
#include "tcp/send_queue.h"
#include "tcp/seq.h"
#include "tcp/stack_options.h"
#include "tcp/timer_wheel.h"

namespace ferry::tcp {

// RFC 9293 §3.3.2. LISTEN is a listener, not a TCB, and CLOSED a TCB on its way back to the
// pool; the other nine are the states a connection lives in.
enum class TcpState : uint8_t {
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
};

constexpr std::string_view Name(TcpState s) {
  switch (s) {
    case TcpState::kClosed: return "CLOSED";
    case TcpState::kListen: return "LISTEN";
    case TcpState::kSynSent: return "SYN-SENT";
    case TcpState::kSynReceived: return "SYN-RECEIVED";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kFinWait1: return "FIN-WAIT-1";
    case TcpState::kFinWait2: return "FIN-WAIT-2";
    case TcpState::kCloseWait: return "CLOSE-WAIT";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kLastAck: return "LAST-ACK";
    case TcpState::kTimeWait: return "TIME-WAIT";
  }
  return "unknown";
}

// Timer kinds (TimerNode::kind).
enum class TimerKind : uint32_t {
  kRetransmit,  // RTO, SYN and FIN retransmission, and the persist timer (never both at once)
  kDelayedAck,
  kKeepalive,
  kLinger,      // TIME-WAIT 2MSL, FIN-WAIT-2 timeout
};

class Tcb {
 public:
  Tcb(uint32_t index, const StackOptions& stack, rte_mempool* indirect_pool);
  Tcb(const Tcb&) = delete;
  Tcb& operator=(const Tcb&) = delete;

  // For owners.
  const FourTuple& tuple() const { return tuple_; }
  TcpState state() const { return state_; }
  // Bytes Send would take now.
  uint32_t send_space() const {
    return write_shutdown_ ? 0 : send_queue_.space();
  }
  // Queued and not yet acknowledged (sent or not).
  uint32_t send_queued() const { return send_queue_.bytes(); }
  uint16_t mss() const { return snd_mss_; }
  const Congestion* congestion() const { return cc_ ? &*cc_ : nullptr; }
  const RttEstimator& rtt() const { return rtt_; }
  // Bytes this TCB holds whatever its state: the record and its preallocated queues.
  size_t footprint() const {
    return sizeof(*this) + send_queue_.storage_bytes() + reassembly_.storage_bytes() +
           scoreboard_.storage_bytes();
  }
  // The owner's pointer, untouched by the stack.
  void* user_data = nullptr;

 private:
  friend class TcpStack;
  friend class TcbInspector;  // tests

  // Back to a fresh CLOSED TCB for `tuple` (queues emptied, timers cancelled by the caller).
  void Reset(const FourTuple& tuple, const ConnectionOptions& options, const RtoOptions& rto);
  bool synchronized() const {
    return state_ >= TcpState::kEstablished;
  }
  // FlightSize (RFC 5681 §2): sent and not acknowledged, SYN and FIN included.
  uint32_t flight_size() const { return snd_max_ - snd_una_; }
  // Data bytes queued but never sent.
  uint32_t unsent() const {
    const Seq data_end = send_queue_.end_seq();
    return data_end > snd_nxt_ ? static_cast<uint32_t>(data_end - snd_nxt_) : 0;
  }

  const uint32_t index_;
  FourTuple tuple_;
  TcpState state_ = TcpState::kClosed;
  ConnectionOptions options_;
  ConnectionHandler* handler_ = nullptr;
  // The listener that made this TCB, while it is in SYN-RECEIVED (for its backlog count), and
  // its handler, to call at accept.
  void* listener_ = nullptr;
  bool passive_ = false;
  bool owner_closed_ = false;    // Close() or Abort(): no more events
  bool write_shutdown_ = false;  // Shutdown(): FIN after the queued data
  bool fin_sent_ = false;        // our FIN has a sequence number: fin_seq_
  bool peer_fin_ = false;        // the peer's FIN was processed
  bool syn_resent_after_reset_ = false;  // SynSentInput: the prompt SYN after our RST, once
  bool in_closed_list_ = false;
  Seq fin_seq_;

  // RFC 9293 §3.3.1 send sequence variables. snd_max_ is one past the highest sequence number
  // ever sent (snd_nxt_ goes back to snd_una_ on a retransmission timeout).
  Seq iss_;
  Seq snd_una_;
  Seq snd_nxt_;
  Seq snd_max_;
  uint32_t snd_wnd_ = 0;  // scaled
  Seq snd_wl1_;
  Seq snd_wl2_;
  uint32_t max_snd_wnd_ = 0;  // largest window the peer offered (sender SWS, §3.8.6.2.1)
  // Receive sequence variables.
  Seq irs_;
  Seq rcv_nxt_;
  Seq rcv_adv_;  // right edge of the window last advertised (RCV.NXT + RCV.WND then)
  uint32_t max_receive_space_ = 0;  // RCV.BUFF for receiver SWS: the most ever offered
  // Negotiated options.
  uint16_t snd_mss_ = 536;   // payload per segment we send, before options
  uint16_t peer_mss_ = 536;  // RFC 9293 §3.7.1: 536 when the SYN carried none
  uint8_t snd_wscale_ = 0;   // the peer's shift, applied to windows it sends
  uint8_t rcv_wscale_ = 0;   // our shift, applied to windows we send
  bool wscale_ok_ = false;
  bool ts_ok_ = false;
  bool sack_ok_ = false;
  uint32_t ts_recent_ = 0;       // RFC 7323 §4.3 TS.Recent
  base::Instant ts_recent_age_;  // when TS.Recent was set (§5.5: invalid after 24 days)
  Seq last_ack_sent_;            // RFC 7323 §4.3 Last.ACK.sent
  // Options seen on the SYN, kept in SYN-SENT/SYN-RECEIVED for the SYN-ACK retransmissions.
  uint16_t syn_retransmits_ = 0;

  // Loss recovery (RFC 5681 §3.2, RFC 6582, RFC 6675).
  uint32_t dupacks_ = 0;
  uint32_t flight_at_first_dupack_ = 0;  // FlightSize before limited transmit (RFC 5681 §3.2)
  Seq recover_;             // RFC 6582 "recover": snd_max when recovery or an RTO began
  bool recover_active_ = false;  // SND.UNA has not yet passed recover_
  bool sack_recovery_ = false;
  Seq high_rxt_;            // RFC 6675 HighRxt + 1
  Seq rescue_rxt_;
  bool rescue_valid_ = false;
  // RTT timing without timestamps (Karn, RFC 6298 §3): one segment at a time.
  bool rtt_timing_ = false;
  Seq rtt_seq_;
  base::Instant rtt_start_;
  base::Instant last_rtt_sample_;
  uint32_t retransmits_ = 0;    // consecutive timeouts of the segment at snd_una
  bool persisting_ = false;     // the retransmit timer is the persist timer
  uint32_t persist_backoff_ = 0;
  uint32_t persist_unanswered_ = 0;  // probes sent with nothing heard back since
  base::Instant last_probe_;
  base::Instant last_send_;     // for the idle restart (RFC 5681 §4.1)
  base::Instant last_receive_;  // for keep-alives
  uint32_t keepalive_probes_ = 0;

  // Receiving.
  uint32_t ack_pending_segments_ = 0;  // full segments received since our last ACK
  bool ack_now_ = false;               // an ACK must go out at the end of this input
  Seq last_ooo_seq_;                   // first byte of the latest out-of-order segment

  RttEstimator rtt_;
  std::optional<Congestion> cc_;
  SackScoreboard scoreboard_;
  ReassemblyQueue reassembly_;
  SendQueue send_queue_;

  TimerNode rtx_timer_;
  TimerNode delack_timer_;
  TimerNode keepalive_timer_;
  TimerNode linger_timer_;
};

}  // namespace ferry::tcp
