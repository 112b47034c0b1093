// The knobs of one worker's TCP stack (StackOptions) and of the connections a listener accepts
// or Connect opens (ConnectionOptions). Plain structs with the defaults ferry ships; the config
// layer (lib/control) fills them from ferry.v1.Tcp and checks them with Validate before a
// worker is built, so the stack itself only asserts.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "base/clock.h"
#include "tcp/congestion_control.h"
#include "tcp/rtt.h"

namespace ferry::tcp {

// Per connection: chosen per listener (or per backend pool, for Connect).
struct ConnectionOptions {
  CongestionAlgorithm congestion = CongestionAlgorithm::kCubic;
  // Nagle's algorithm (RFC 9293 §3.7.4). Off by default: a proxy forwards what it gets at
  // once, as HAProxy and Envoy do with TCP_NODELAY.
  bool nagle = false;
  // Options offered on our SYN / accepted from the peer's (RFC 7323, RFC 2018).
  bool window_scaling = true;
  bool timestamps = true;
  bool sack = true;
  // Bytes the send queue holds, unacknowledged plus unsent (SendQueue::Options::max_bytes).
  uint32_t send_buffer = 1024 * 1024;
  // The largest receive window offered. The window scale is the smallest shift that can carry
  // it (RFC 7323 §2.3). The window actually offered is also bounded by what the owner can
  // take (ConnectionHandler::ReceiveSpace).
  uint32_t receive_window = 1024 * 1024;
  // RFC 9293 §3.8.4 keep-alives: off unless asked for; idle time, probe interval, probes.
  bool keepalive = false;
  base::Duration keepalive_idle = std::chrono::hours(2);
  base::Duration keepalive_interval = std::chrono::seconds(75);
  uint32_t keepalive_probes = 9;

  friend bool operator==(const ConnectionOptions&, const ConnectionOptions&) = default;
};

// Per worker.
struct StackOptions {
  // TCBs in the pool and entries in the connection table (TIME-WAIT included).
  uint32_t max_connections = 16384;
  // Per listener: connections in SYN-RECEIVED. Beyond it, SYN cookies (when on) or drop.
  uint32_t syn_backlog = 1024;
  bool syn_cookies = true;
  RtoOptions rto;
  // RFC 9293 §3.8.6.3: an ACK is delayed at most this long (MUST be under 0.5 s).
  base::Duration delayed_ack = std::chrono::milliseconds(40);
  // RFC 9293 §3.3.2: TIME-WAIT lasts 2 MSL. Linux uses 60 s.
  base::Duration time_wait = std::chrono::seconds(60);
  // How long an orphaned FIN-WAIT-2 (closed by the owner, peer silent) may last.
  base::Duration fin_wait_2_timeout = std::chrono::seconds(60);
  // RFC 9293 §3.8.3 R2 (RFC 1122 4.2.3.5): retransmissions of one segment before the
  // connection is aborted and the owner told (CloseReason::kTimedOut). R2 for a SYN is
  // syn_retries.
  uint32_t max_retransmissions = 15;
  uint32_t syn_retries = 6;
  // RFC 5961 §7: challenge ACKs sent per second, per worker.
  uint32_t challenge_ack_limit = 1000;
  // The wheel's tick and slot count (TimerWheel::Options).
  base::Duration timer_tick = std::chrono::milliseconds(1);
  uint32_t timer_slots = 4096;
  // Per TCB, fixed for the pool: chains in the send queue (small ones are linked into the last
  // chain beyond this), out-of-order segments held (ReassemblyQueue), SACK ranges remembered.
  uint32_t send_queue_entries = 512;
  uint16_t reassembly_segments = 256;
  uint16_t sack_ranges = 32;
  // MSS we offer: from the interface MTU less 40 bytes of IPv4 and TCP headers.
  uint16_t mss = 1460;
  // The ports Connect may pick when the caller passes 0 (RFC 6056 range).
  uint16_t ephemeral_first = 32768;
  uint16_t ephemeral_last = 60999;
  // Memory pressure, judged by the free mbufs in the header pool (the worker's one pool,
  // which also receives). Windows already offered cannot be taken back (RFC 9293 §3.8.6), so
  // the offers of many connections can add up to more than the pool holds; two thresholds
  // keep the worker live when they do:
  // - below pressure_free_mbufs every connection offers a zero window beyond what it already
  //   advertised, so receive queues stop growing;
  // - below reserve_free_mbufs arriving text is refused (counted text_dropped_memory) unless
  //   it fills a hole and so releases queued segments. ACKs, window updates, RSTs and FINs
  //   with no text are still taken, and the mbufs left serve them and the headers of what we
  //   send, so the ACKs that free queued data always get in and retransmissions get out.
  // 0: off.
  uint32_t pressure_free_mbufs = 0;
  uint32_t reserve_free_mbufs = 0;
  // Checksums of outgoing segments left to the NIC (the port reports the offload).
  bool tcp_checksum_offload = false;
};

}  // namespace ferry::tcp
