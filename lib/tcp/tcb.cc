#include "tcp/tcb.h"

namespace ferry::tcp {

Tcb::Tcb(uint32_t index, const StackOptions& stack, rte_mempool* indirect_pool)
    : index_(index),
      scoreboard_(stack.sack_ranges),
      reassembly_(ReassemblyQueue::Options{.max_bytes = 1 << 20,
                                           .max_segments = stack.reassembly_segments}),
      send_queue_(SendQueue::Options{.max_bytes = 1 << 20,
                                     .max_entries = stack.send_queue_entries},
                  indirect_pool),
      rtx_timer_(index, static_cast<uint32_t>(TimerKind::kRetransmit)),
      delack_timer_(index, static_cast<uint32_t>(TimerKind::kDelayedAck)),
      keepalive_timer_(index, static_cast<uint32_t>(TimerKind::kKeepalive)),
      linger_timer_(index, static_cast<uint32_t>(TimerKind::kLinger)) {}

void Tcb::Reset(const FourTuple& tuple, const ConnectionOptions& options,
                const RtoOptions& rto) {
  tuple_ = tuple;
  state_ = TcpState::kClosed;
  options_ = options;
  handler_ = nullptr;
  listener_ = nullptr;
  user_data = nullptr;
  passive_ = false;
  owner_closed_ = false;
  write_shutdown_ = false;
  fin_sent_ = false;
  peer_fin_ = false;
  syn_resent_after_reset_ = false;
  in_closed_list_ = false;
  fin_seq_ = Seq(0);
  iss_ = snd_una_ = snd_nxt_ = snd_max_ = snd_wl1_ = snd_wl2_ = Seq(0);
  snd_wnd_ = 0;
  max_snd_wnd_ = 0;
  irs_ = rcv_nxt_ = rcv_adv_ = Seq(0);
  max_receive_space_ = 0;
  snd_mss_ = peer_mss_ = 536;
  snd_wscale_ = rcv_wscale_ = 0;
  wscale_ok_ = ts_ok_ = sack_ok_ = false;
  ts_recent_ = 0;
  ts_recent_age_ = base::Instant();
  last_ack_sent_ = Seq(0);
  syn_retransmits_ = 0;
  dupacks_ = 0;
  flight_at_first_dupack_ = 0;
  recover_ = high_rxt_ = rescue_rxt_ = Seq(0);
  sack_recovery_ = rescue_valid_ = recover_active_ = false;
  rtt_timing_ = false;
  rtt_seq_ = Seq(0);
  rtt_start_ = last_rtt_sample_ = base::Instant();
  retransmits_ = 0;
  persisting_ = false;
  persist_backoff_ = 0;
  persist_unanswered_ = 0;
  last_probe_ = base::Instant();
  last_send_ = last_receive_ = base::Instant();
  keepalive_probes_ = 0;
  ack_pending_segments_ = 0;
  ack_now_ = false;
  last_ooo_seq_ = Seq(0);
  rtt_ = RttEstimator(rto);
  cc_.reset();
  scoreboard_.Reset(Seq(0));
  reassembly_.Reset(options.receive_window);
}

}  // namespace ferry::tcp
