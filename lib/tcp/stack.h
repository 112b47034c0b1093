// One worker's TCP stack (docs/tcp.md): every TCP segment for the appliance's addresses comes
// in through Input, timers advance through Tick, and the owners of connections (the proxy,
// ferryd's diagnostic services, tests) use the API below and hear back through the handlers
// of events.h. Time is always an argument; nothing here reads a clock or touches a NIC:
// segments leave through net::Ipv4Output.
//
// The work is split by concern over several files, all members of TcpStack:
//   stack.cc     demultiplexing, listeners, SYN cookies, the API, the TCB pool
//   input.cc     segment arrival by state (RFC 9293 §3.10.7), RFC 5961, PAWS
//   ack.cc       the ACK: send window, RTT, congestion control, loss recovery (RFC 5681,
//                6582, 6675, 3042)
//   output.cc    what may be sent now and building it (Nagle, SWS, cwnd, delayed ACK, FIN)
//   timers.cc    retransmission, persist, delayed ACK, keep-alive, FIN-WAIT-2, TIME-WAIT
// Everything per worker, preallocated at construction: no allocation per segment.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "base/clock.h"
#include "base/siphash.h"
#include "net/host.h"
#include "tcp/connection_table.h"
#include "tcp/events.h"
#include "tcp/four_tuple.h"
#include "tcp/isn.h"
#include "tcp/segment.h"
#include "tcp/stack_options.h"
#include "tcp/syn_cookie.h"
#include "tcp/tcb.h"
#include "tcp/tcp_counters.h"
#include "tcp/timer_wheel.h"

struct rte_mempool;

namespace ferry::tcp {

// Why Connect could not start a connection.
enum class ConnectError : uint8_t {
  kOk,
  kNoTcb,           // the TCB pool is exhausted (StackOptions::max_connections)
  kTupleInUse,      // the 4-tuple belongs to a live connection
  kNoEphemeralPort, // local port 0 and every ephemeral port to that peer is in use
  kNoMbuf,          // the SYN could not be built
};

class TcpStack final : public net::TransportHandler {
 public:
  // `header_pool` supplies the mbufs that carry headers of segments sent from here;
  // `indirect_pool` the indirect mbufs of send-queue slices (any pktmbuf pool works);
  // `output` sends the IPv4 packets (the worker's host); `key` keys ISNs and SYN cookies
  // (RFC 6528: secret, random per boot). Allocates every TCB and the tables now. `options`
  // must be valid (asserted; the config layer checks it).
  TcpStack(const StackOptions& options, rte_mempool* header_pool, rte_mempool* indirect_pool,
           net::Ipv4Output& output, TcpCounters& counters, const base::SipKey& key,
           base::Instant now);
  ~TcpStack() override;
  TcpStack(const TcpStack&) = delete;
  TcpStack& operator=(const TcpStack&) = delete;

  // net::TransportHandler: consumes the packet (starts at the TCP header).
  void Input(rte_mbuf* packet, net::Ipv4Address source, net::Ipv4Address destination,
             base::Instant now) override;

  // net::TransportHandler: forwards to FragmentationNeeded.
  void IcmpFragmentationNeeded(net::Ipv4Address local, net::Ipv4Address remote,
                               uint16_t local_port, uint16_t remote_port, uint32_t quoted_seq,
                               uint16_t next_hop_mtu, base::Instant now) override {
    FragmentationNeeded(FourTuple{.local_ip = local,
                                  .remote_ip = remote,
                                  .local_port = local_port,
                                  .remote_port = remote_port},
                        Seq(quoted_seq), next_hop_mtu, now);
  }

  // ICMP "fragmentation needed" (RFC 1191) for a segment we sent on `tuple` whose first bytes
  // came back quoted: `quoted_seq` is the sequence number in the quoted header. Lowers the
  // connection's MSS to fit `next_hop_mtu` if the quote is plausible (RFC 5927 §4.1: the
  // sequence number must lie in [SND.UNA, SND.NXT)). Returns true if the MSS changed.
  bool FragmentationNeeded(const FourTuple& tuple, Seq quoted_seq, uint16_t next_hop_mtu,
                           base::Instant now);

  // Fires the timers due by `now`. Call once per loop iteration.
  void Tick(base::Instant now);

  // Passive open on `address`:`port` (address 0.0.0.0: any of ours). Errors: the port is
  // already listened on (AlreadyExists), the handler is null (InvalidArgument).
  absl::Status Listen(net::Ipv4Address address, uint16_t port, const ConnectionOptions& options,
                      ListenHandler* handler);
  // Stops accepting on address:port; connections already made are not affected. NotFound if
  // nothing listens there.
  absl::Status StopListening(net::Ipv4Address address, uint16_t port);

  // Active open from tuple.local_ip:tuple.local_port (0: an ephemeral port the stack picks)
  // to tuple.remote_ip:tuple.remote_port; sends the SYN now. `user_data` is set on the TCB
  // before the SYN is built, so the handler's ReceiveSpace can find its owner for the SYN's
  // window. Returns the connection (in SYN-SENT), or nullptr with *error set.
  Tcb* Connect(const FourTuple& tuple, const ConnectionOptions& options,
               ConnectionHandler* handler, base::Instant now, ConnectError* error,
               void* user_data = nullptr);

  // Queues the leading bytes of `chain` for sending, as many as the send queue has room for,
  // and sends what the windows allow. Returns the bytes taken; `chain` is nullptr if all were
  // taken, else the remainder (still the caller's; see SendQueue::Append). Data given during
  // the handshake waits in the queue (RFC 9293 §3.10.2). Takes nothing once the owner has
  // shut down writing, or after the peer's side and ours are both closing.
  uint32_t Send(Tcb& connection, rte_mbuf*& chain, base::Instant now);

  // Half-close: a FIN follows the queued data (RFC 9293 §3.10.4). Receiving continues.
  void Shutdown(Tcb& connection, base::Instant now);
  // Shutdown, and the owner lets go: no more events. Data arriving afterwards is answered
  // with RST (RFC 1122 §4.2.2.13). The stack finishes the close on its own.
  void Close(Tcb& connection, base::Instant now);
  // RST now and the connection is gone (RFC 9293 §3.10.5); no more events.
  void Abort(Tcb& connection, base::Instant now);
  // The owner can take more (ConnectionHandler::ReceiveSpace grew): sends a window update if
  // the receiver silly-window rule allows (RFC 9293 §3.8.6.2.2).
  void ReceiveSpaceChanged(Tcb& connection, base::Instant now);

  const StackOptions& options() const { return options_; }
  TcpCounters& counters() { return counters_; }
  // Connections in the table, TIME-WAIT included.
  size_t connections() const { return table_.size(); }
  size_t free_tcbs() const { return free_.size(); }
  // Bytes one connection slot reserves: a TCB with its queues (Tcb::footprint) and its share
  // of the connection table.
  size_t tcb_bytes() const;
  // Mbufs held by send and reassembly queues of all connections (also a counter gauge).
  uint64_t mbufs_held() const;

 private:
  struct Listener {
    net::Ipv4Address address;
    uint16_t port = 0;
    ConnectionOptions options;
    ListenHandler* handler = nullptr;
    uint32_t syn_received = 0;  // TCBs in SYN-RECEIVED from this listener
  };

  // stack.cc
  Listener* FindListener(net::Ipv4Address address, uint16_t port);
  Tcb* AllocateTcb(const FourTuple& tuple, const ConnectionOptions& options, base::Instant now);
  void ReleaseTcb(Tcb& tcb);  // unlinks and returns it to the pool
  void SetState(Tcb& tcb, TcpState state);
  void ListenInput(Listener& listener, const FourTuple& tuple, Segment& segment,
                   base::Instant now);
  void CookieAckInput(Listener& listener, const FourTuple& tuple, Segment& segment,
                      base::Instant now);
  void SendReset(const FourTuple& tuple, const Segment& segment, base::Instant now);
  // Builds `out`, counts it and hands it to the output; false (counted) if no mbuf.
  bool SendSegment(const FourTuple& tuple, OutSegment& out, base::Instant now);
  void SendSynAckCookie(const Listener& listener, const FourTuple& tuple,
                        const Segment& segment, base::Instant now);
  uint32_t TsNow(base::Instant now) const;
  void Reap();  // releases TCBs that reached CLOSED during this call

  // input.cc
  void SegmentArrives(Tcb& tcb, Segment& segment, base::Instant now);
  void SynSentInput(Tcb& tcb, Segment& segment, base::Instant now);
  bool SequenceAcceptable(const Tcb& tcb, const Segment& segment) const;
  bool PawsReject(Tcb& tcb, const Segment& segment, base::Instant now);
  void ChallengeAck(Tcb& tcb, base::Instant now);
  void ProcessText(Tcb& tcb, Segment& segment, base::Instant now);
  void ProcessFin(Tcb& tcb, const Segment& segment, base::Instant now);
  void NotifyPeerFin(Tcb& tcb);
  void NegotiateOptions(Tcb& tcb, const TcpOptions& peer_syn_options);
  void Established(Tcb& tcb, base::Instant now);  // SYN-SENT/SYN-RECEIVED → ESTABLISHED
  void EnterTimeWait(Tcb& tcb, base::Instant now);
  // Tells the owner (if any) and moves to CLOSED; the TCB is released at Reap.
  void Terminate(Tcb& tcb, CloseReason reason, base::Instant now);

  // ack.cc: RFC 9293 §3.10.7.4 fifth, the ACK field, in the synchronized states. Returns false
  // if the segment is to be dropped.
  bool ProcessAck(Tcb& tcb, const Segment& segment, base::Instant now);
  void UpdateSendWindow(Tcb& tcb, const Segment& segment);
  void OnNewAck(Tcb& tcb, const Segment& segment, uint32_t acked, base::Instant now);
  void OnDuplicateAck(Tcb& tcb, const Segment& segment, base::Instant now);
  void EnterRecovery(Tcb& tcb, base::Instant now);

  // output.cc
  // Sends whatever the state, windows and timers allow: new data, retransmissions after a
  // timeout, the FIN, and a pending ACK if nothing else carried it.
  void Output(Tcb& tcb, base::Instant now);
  // RFC 6675 §5 (C): retransmissions and new data chosen by NextSeg while cwnd - pipe allows.
  bool SackRecoveryOutput(Tcb& tcb, base::Instant now);
  // Sends one segment of sequence space [seq, seq + length): queued data and, if the range
  // covers it, our FIN. Returns the sequence space actually sent (less when the segment is
  // full or the slice is cut short), 0 if nothing could be sent (no mbuf).
  uint32_t TransmitData(Tcb& tcb, Seq seq, uint32_t length, base::Instant now);
  void SendSyn(Tcb& tcb, base::Instant now);  // SYN in SYN-SENT, SYN-ACK in SYN-RECEIVED
  void SendAck(Tcb& tcb, base::Instant now);  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
  // Fills ports, window (unless SYN or RST) and ACK bookkeeping; builds and sends.
  bool Transmit(Tcb& tcb, OutSegment& out, base::Instant now);
  // <SEQ=SND.MAX><CTL=RST> for a connection being aborted (RFC 9293 §3.10.5).
  void SendResetOn(Tcb& tcb, base::Instant now);
  uint16_t AdvertiseWindow(Tcb& tcb);
  uint32_t ReceiveWindow(const Tcb& tcb) const;
  void FillOptions(Tcb& tcb, OutSegment& out, base::Instant now);
  void MaybeWindowUpdate(Tcb& tcb, base::Instant now);

  // timers.cc
  void OnTimer(TimerNode& node, base::Instant now);
  void ArmRetransmit(Tcb& tcb, base::Instant now);
  void RetransmitTimeout(Tcb& tcb, base::Instant now);
  void PersistTimeout(Tcb& tcb, base::Instant now);
  void KeepaliveTimeout(Tcb& tcb, base::Instant now);
  void RestartKeepalive(Tcb& tcb, base::Instant now);
  void ScheduleDelayedAck(Tcb& tcb, base::Instant now);

  const StackOptions options_;
  rte_mempool* const header_pool_;
  rte_mempool* const indirect_pool_;
  net::Ipv4Output& output_;
  TcpCounters& counters_;
  const base::Instant origin_;  // TSval clock origin
  IsnGenerator isn_;
  SynCookies cookies_;
  TimerWheel wheel_;
  ConnectionTable<Tcb> table_;
  std::vector<std::unique_ptr<Tcb>> tcbs_;
  std::vector<Tcb*> free_;
  std::vector<Tcb*> closed_;  // reached CLOSED, released at Reap
  std::vector<std::unique_ptr<Listener>> listeners_;
  uint32_t depth_ = 0;  // nesting of Input/Tick/API calls, so Reap runs at the outermost
  const base::SipKey port_key_;  // RFC 6056 Algorithm 3's secret
  uint32_t next_ephemeral_ = 0;  // the algorithm's counter
  // RFC 5961 §7 challenge-ACK budget: at most challenge_ack_limit per second.
  base::Instant challenge_window_start_;
  uint32_t challenge_acks_in_window_ = 0;
  base::Instant gauge_updated_;
  bool memory_pressure_ = false;  // refreshed by Tick: windows stop growing
  bool memory_reserve_ = false;   // refreshed by Tick: text refused (StackOptions)

  friend class Reaper;
};

}  // namespace ferry::tcp
