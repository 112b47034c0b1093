// TcpStack: demultiplexing, listeners and SYN cookies, the owner's API, and the TCB pool.
#include "tcp/stack.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "net/tcp_header.h"

namespace ferry::tcp {

using net::TcpFlags;

// Keeps TCBs that reach CLOSED alive until the outermost stack call returns: a handler may
// close or abort a connection from inside one of its events, and the code that called the
// handler still holds the TCB.
class Reaper {
 public:
  explicit Reaper(TcpStack& stack) : stack_(stack) { ++stack_.depth_; }
  ~Reaper() {
    if (--stack_.depth_ == 0) stack_.Reap();
  }
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

 private:
  TcpStack& stack_;
};

namespace {

// The cookie key differs from the ISN key so the two functions never share a keyed input.
base::SipKey CookieKey(const base::SipKey& key) {
  return base::SipKey{key.k0 ^ 0x636f6f6b69657321ull, key.k1 ^ 0x73796e2d61636b21ull};
}

base::SipKey PortKey(const base::SipKey& key) {
  return base::SipKey{key.k0 ^ 0x6570686d6572616cull, key.k1 ^ 0x706f72742d6b6579ull};
}

}  // namespace

TcpStack::TcpStack(const StackOptions& options, rte_mempool* header_pool,
                   rte_mempool* indirect_pool, net::Ipv4Output& output, TcpCounters& counters,
                   const base::SipKey& key, base::Instant now)
    : options_(options),
      header_pool_(header_pool),
      indirect_pool_(indirect_pool),
      output_(output),
      counters_(counters),
      origin_(now),
      isn_(key),
      cookies_(CookieKey(key)),
      wheel_(TimerWheel::Options{.tick = options.timer_tick, .slots = options.timer_slots}, now),
      table_(options.max_connections),
      port_key_(PortKey(key)),
      challenge_window_start_(now) {
  assert(options.max_connections > 0 && options.ephemeral_first <= options.ephemeral_last);
  tcbs_.reserve(options.max_connections);
  free_.reserve(options.max_connections);
  closed_.reserve(options.max_connections);
  for (uint32_t i = 0; i < options.max_connections; ++i) {
    tcbs_.push_back(std::make_unique<Tcb>(i, options, indirect_pool));
  }
  for (uint32_t i = options.max_connections; i > 0; --i) free_.push_back(tcbs_[i - 1].get());
}

TcpStack::~TcpStack() {
  for (auto& tcb : tcbs_) {
    wheel_.Cancel(tcb->rtx_timer_);
    wheel_.Cancel(tcb->delack_timer_);
    wheel_.Cancel(tcb->keepalive_timer_);
    wheel_.Cancel(tcb->linger_timer_);
  }
}

uint32_t TcpStack::TsNow(base::Instant now) const {
  // RFC 7323 §5.4: a timestamp clock of 1 ms ticks.
  return static_cast<uint32_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - origin_).count() + 1);
}

size_t TcpStack::tcb_bytes() const {
  return tcbs_.empty() ? 0 : tcbs_.front()->footprint() + table_.bytes_per_connection();
}

uint64_t TcpStack::mbufs_held() const {
  uint64_t n = 0;
  table_.ForEach([&n](const FourTuple&, const Tcb* tcb) {
    n += tcb->send_queue_.mbufs() + tcb->reassembly_.mbufs();
  });
  return n;
}

// ---------------------------------------------------------------------------------------------
// Input and demultiplexing.

void TcpStack::Input(rte_mbuf* packet, net::Ipv4Address source, net::Ipv4Address destination,
                     base::Instant now) {
  Reaper reaper(*this);
  Segment segment;
  const SegmentError error = ParseSegment(packet, source, destination, segment);
  if (error != SegmentError::kOk) {
    counters_.Add(DropCounter(error));
    rte_pktmbuf_free(packet);
    return;
  }
  counters_.Add(TcpCounter::kSegmentsIn);
  counters_.Add(TcpCounter::kBytesIn, segment.payload_length);
  if (segment.payload_length == 0) {
    rte_pktmbuf_free(segment.payload);
    segment.payload = nullptr;
  }
  const FourTuple tuple{.local_ip = destination,
                        .remote_ip = source,
                        .local_port = segment.destination_port,
                        .remote_port = segment.source_port};

  if (Tcb* tcb = table_.Find(tuple); tcb != nullptr) {
    // RFC 6191 §2: a SYN for a TIME-WAIT connection may start a new incarnation if its
    // timestamp (or, without timestamps, its sequence number) is newer than the old one's.
    if (tcb->state_ == TcpState::kTimeWait && segment.syn() && !segment.ack_flag() &&
        !segment.rst()) {
      const bool newer = (tcb->ts_ok_ && segment.options.timestamps)
                             ? Seq(segment.options.timestamps->value) > Seq(tcb->ts_recent_)
                             : segment.seq > tcb->rcv_nxt_;
      Listener* listener = newer ? FindListener(destination, segment.destination_port) : nullptr;
      if (listener != nullptr) {
        ReleaseTcb(*tcb);
        ListenInput(*listener, tuple, segment, now);
        rte_pktmbuf_free(segment.payload);
        return;
      }
    }
    if (tcb->state_ != TcpState::kClosed) {
      SegmentArrives(*tcb, segment, now);
      rte_pktmbuf_free(segment.payload);  // whatever the connection did not take
      return;
    }
  }
  if (Listener* listener = FindListener(destination, segment.destination_port)) {
    ListenInput(*listener, tuple, segment, now);
    rte_pktmbuf_free(segment.payload);
    return;
  }
  // No listener and no connection: the CLOSED rules of RFC 9293 §3.10.7.1. "An incoming
  // segment containing a RST is discarded. An incoming segment not containing a RST causes a
  // RST to be sent in response."
  counters_.Add(TcpCounter::kDropNoConnection);
  if (!segment.rst()) SendReset(tuple, segment, now);
  rte_pktmbuf_free(segment.payload);
}

TcpStack::Listener* TcpStack::FindListener(net::Ipv4Address address, uint16_t port) {
  Listener* wildcard = nullptr;
  for (auto& l : listeners_) {
    if (l->port != port) continue;
    if (l->address == address) return l.get();
    if (l->address == net::Ipv4Address()) wildcard = l.get();
  }
  return wildcard;
}

void TcpStack::SendReset(const FourTuple& tuple, const Segment& segment, base::Instant now) {
  OutSegment rst;
  rst.source_port = tuple.local_port;
  rst.destination_port = tuple.remote_port;
  if (segment.ack_flag()) {
    // "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>"
    rst.seq = segment.ack;
    rst.flags = TcpFlags::kRst;
  } else {
    // "If the ACK bit is off, sequence number zero is used,
    //  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"
    rst.seq = Seq(0);
    rst.ack = segment.seq + segment.length();
    rst.flags = TcpFlags::kRst | TcpFlags::kAck;
  }
  if (SendSegment(tuple, rst, now)) counters_.Add(TcpCounter::kResetsOut);
}

bool TcpStack::SendSegment(const FourTuple& tuple, OutSegment& out, base::Instant now) {
  const uint32_t payload = out.payload_length;
  rte_mbuf* packet = BuildSegment(out, tuple.local_ip, tuple.remote_ip, header_pool_,
                                  options_.tcp_checksum_offload);
  if (packet == nullptr) {
    counters_.Add(TcpCounter::kDropNoMbuf);
    return false;
  }
  counters_.Add(TcpCounter::kSegmentsOut);
  counters_.Add(TcpCounter::kBytesOut, payload);
  output_.SendIpv4(packet, now);
  return true;
}

// RFC 9293 §3.10.7.2: a segment for a LISTEN port with no connection on its 4-tuple.
void TcpStack::ListenInput(Listener& listener, const FourTuple& tuple, Segment& segment,
                           base::Instant now) {
  // "First, check for a RST: An incoming RST should be ignored."
  if (segment.rst()) return;
  // "Second, check for an ACK: Any acknowledgment is bad if it arrives on a connection still
  // in the LISTEN state. An acceptable reset segment should be formed for any arriving
  // ACK-bearing segment." Unless it completes a SYN-cookie handshake (RFC 4987 §3.6).
  if (segment.ack_flag()) {
    if (!segment.syn() && options_.syn_cookies) {
      CookieAckInput(listener, tuple, segment, now);
      return;
    }
    counters_.Add(TcpCounter::kDropNoConnection);
    SendReset(tuple, segment, now);
    return;
  }
  // "Third, check for a SYN". Anything else: "drop the segment and return".
  if (!segment.syn()) {
    counters_.Add(TcpCounter::kDropNoConnection);
    return;
  }
  if (listener.syn_received >= options_.syn_backlog) {
    if (options_.syn_cookies) {
      SendSynAckCookie(listener, tuple, segment, now);
    } else {
      counters_.Add(TcpCounter::kDropBacklogFull);
    }
    return;
  }
  Tcb* tcb = AllocateTcb(tuple, listener.options, now);
  if (tcb == nullptr) {
    if (options_.syn_cookies) {
      SendSynAckCookie(listener, tuple, segment, now);
    } else {
      counters_.Add(TcpCounter::kDropTableFull);
    }
    return;
  }
  // "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ ... ISS should be selected and a SYN
  // segment sent of the form <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>". Text or a FIN on the SYN
  // is not taken: it is not acknowledged, so the peer sends it again.
  tcb->passive_ = true;
  tcb->listener_ = &listener;
  ++listener.syn_received;
  tcb->irs_ = segment.seq;
  tcb->rcv_nxt_ = segment.seq + 1;
  NegotiateOptions(*tcb, segment.options);
  if (tcb->ts_ok_) {
    tcb->ts_recent_ = segment.options.timestamps->value;
    tcb->ts_recent_age_ = now;
  }
  tcb->snd_wnd_ = segment.window;  // RFC 7323 §2.2: the window of a SYN is never scaled
  tcb->max_snd_wnd_ = tcb->snd_wnd_;
  tcb->iss_ = isn_.Next(tuple, now);
  tcb->snd_una_ = tcb->snd_nxt_ = tcb->snd_max_ = tcb->iss_;
  tcb->send_queue_.Reset(tcb->iss_ + 1, tcb->options_.send_buffer);
  tcb->last_receive_ = now;
  SetState(*tcb, TcpState::kSynReceived);
  counters_.Add(TcpCounter::kPassiveOpens);
  SendSyn(*tcb, now);
  ArmRetransmit(*tcb, now);
}

namespace {

// Our window scale: the smallest shift that lets `window` be advertised (RFC 7323 §2.3).
uint8_t WindowShift(uint32_t window) {
  uint8_t shift = 0;
  while (shift < kMaxWindowScale && (uint32_t{0xffff} << shift) < window) ++shift;
  return shift;
}

}  // namespace

void TcpStack::NegotiateOptions(Tcb& tcb, const TcpOptions& syn) {
  const ConnectionOptions& o = tcb.options_;
  // RFC 9293 §3.7.1: 536 when the SYN carries no MSS option; RFC 6691: ours from the MTU.
  // A tiny MSS would let a peer make us send a segment per few bytes; 64 is the floor.
  tcb.peer_mss_ = std::max<uint16_t>(syn.mss.value_or(536), 64);
  tcb.snd_mss_ = std::min(tcb.peer_mss_, options_.mss);
  // RFC 7323 §2.2: scaling is in force only if both SYNs carried the option.
  tcb.wscale_ok_ = o.window_scaling && syn.window_scale.has_value();
  tcb.snd_wscale_ = tcb.wscale_ok_ ? *syn.window_scale : 0;
  tcb.rcv_wscale_ = tcb.wscale_ok_ ? WindowShift(o.receive_window) : 0;
  // RFC 2018 §2, RFC 7323 §3.2: likewise SACK and timestamps.
  tcb.sack_ok_ = o.sack && syn.sack_permitted;
  tcb.ts_ok_ = o.timestamps && syn.timestamps.has_value();
}

void TcpStack::SendSynAckCookie(const Listener& listener, const FourTuple& tuple,
                                const Segment& segment, base::Instant now) {
  const ConnectionOptions& o = listener.options;
  const uint16_t peer_mss = segment.options.mss.value_or(536);
  OutSegment out;
  out.source_port = tuple.local_port;
  out.destination_port = tuple.remote_port;
  out.seq = cookies_.MakeCookie(tuple, segment.seq, peer_mss, now);
  out.ack = segment.seq + 1;
  out.flags = TcpFlags::kSyn | TcpFlags::kAck;
  out.window = static_cast<uint16_t>(std::min<uint32_t>(
      {o.receive_window, 0xffff, listener.handler->AcceptReceiveSpace()}));
  out.options.mss = options_.mss;
  // RFC 4987 §3.6: the cookie holds only the MSS. Window scale and SACK can be offered only
  // when timestamps carry them back (EncodeTsval); otherwise the connection runs without.
  if (o.timestamps && segment.options.timestamps) {
    const bool wscale = o.window_scaling && segment.options.window_scale.has_value();
    const bool sack = o.sack && segment.options.sack_permitted;
    out.options.timestamps = TcpOptions::Timestamps{
        .value = EncodeTsval(TsNow(now),
                             wscale ? *segment.options.window_scale : kCookieNoWindowScale, sack),
        .echo_reply = segment.options.timestamps->value};
    if (wscale) out.options.window_scale = WindowShift(o.receive_window);
    out.options.sack_permitted = sack;
  }
  if (SendSegment(tuple, out, now)) counters_.Add(TcpCounter::kCookiesSent);
}

// An ACK for a listener with no TCB: the third segment of a SYN-cookie handshake, or junk.
void TcpStack::CookieAckInput(Listener& listener, const FourTuple& tuple, Segment& segment,
                              base::Instant now) {
  const std::optional<uint16_t> mss =
      cookies_.CheckCookie(tuple, segment.seq - 1, segment.ack - 1, now);
  if (!mss) {
    counters_.Add(TcpCounter::kCookiesRejected);
    SendReset(tuple, segment, now);  // RFC 9293 §3.10.7.2: an ACK to LISTEN gets a RST
    return;
  }
  Tcb* tcb = AllocateTcb(tuple, listener.options, now);
  if (tcb == nullptr) {
    counters_.Add(TcpCounter::kDropTableFull);
    return;
  }
  counters_.Add(TcpCounter::kCookiesAccepted);
  counters_.Add(TcpCounter::kPassiveOpens);
  tcb->passive_ = true;
  tcb->listener_ = &listener;
  ++listener.syn_received;  // it passes through SYN-RECEIVED, whose exit counts it down
  tcb->irs_ = segment.seq - 1;
  tcb->rcv_nxt_ = segment.seq;
  tcb->iss_ = segment.ack - 1;
  tcb->snd_una_ = tcb->snd_nxt_ = tcb->snd_max_ = segment.ack;
  tcb->send_queue_.Reset(segment.ack, tcb->options_.send_buffer);
  TcpOptions syn;  // what the SYN offered, as far as the cookie remembers
  syn.mss = *mss;
  if (segment.options.timestamps && tcb->options_.timestamps) {
    const CookieTsOptions ts = DecodeTsecr(segment.options.timestamps->echo_reply);
    syn.timestamps = segment.options.timestamps;
    if (ts.wscale) syn.window_scale = *ts.wscale;
    syn.sack_permitted = ts.sack_ok;
  }
  NegotiateOptions(*tcb, syn);
  if (tcb->ts_ok_) {
    tcb->ts_recent_ = segment.options.timestamps->value;
    tcb->ts_recent_age_ = now;
  }
  tcb->snd_wnd_ = uint32_t{segment.window} << tcb->snd_wscale_;
  tcb->max_snd_wnd_ = tcb->snd_wnd_;
  tcb->snd_wl1_ = segment.seq;
  tcb->snd_wl2_ = segment.ack;
  // What the cookie SYN-ACK advertised (SendSynAckCookie), unscaled.
  tcb->rcv_adv_ = tcb->rcv_nxt_ + std::min<uint32_t>({tcb->options_.receive_window, 0xffff,
                                                      listener.handler->AcceptReceiveSpace()});
  tcb->last_receive_ = now;
  SetState(*tcb, TcpState::kSynReceived);
  Established(*tcb, now);
  if (tcb->state_ == TcpState::kClosed) return;
  // The ACK may carry data (and a FIN): process it as in ESTABLISHED.
  SegmentArrives(*tcb, segment, now);
}

// ---------------------------------------------------------------------------------------------
// The pool and the state gauges.

Tcb* TcpStack::AllocateTcb(const FourTuple& tuple, const ConnectionOptions& options,
                           base::Instant now) {
  (void)now;
  if (free_.empty()) return nullptr;
  Tcb* tcb = free_.back();
  if (table_.Insert(tuple, tcb) != ConnectionTable<Tcb>::InsertResult::kInserted) {
    return nullptr;
  }
  free_.pop_back();
  tcb->Reset(tuple, options, options_.rto);
  return tcb;
}

void TcpStack::ReleaseTcb(Tcb& tcb) {
  wheel_.Cancel(tcb.rtx_timer_);
  wheel_.Cancel(tcb.delack_timer_);
  wheel_.Cancel(tcb.keepalive_timer_);
  wheel_.Cancel(tcb.linger_timer_);
  SetState(tcb, TcpState::kClosed);
  tcb.send_queue_.Clear();
  tcb.reassembly_.Clear();
  tcb.handler_ = nullptr;
  table_.Erase(tcb.tuple_);
  free_.push_back(&tcb);
}

void TcpStack::Reap() {
  // A handler called while reaping cannot add to closed_: nothing here calls handlers.
  for (Tcb* tcb : closed_) {
    tcb->in_closed_list_ = false;
    if (tcb->state_ == TcpState::kClosed) ReleaseTcb(*tcb);
  }
  closed_.clear();
}

namespace {

std::optional<TcpCounter> Gauge(TcpState s) {
  switch (s) {
    case TcpState::kSynSent: return TcpCounter::kConnectionsSynSent;
    case TcpState::kSynReceived: return TcpCounter::kConnectionsSynReceived;
    case TcpState::kEstablished: return TcpCounter::kConnectionsEstablished;
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kCloseWait:
    case TcpState::kClosing:
    case TcpState::kLastAck: return TcpCounter::kConnectionsClosing;
    case TcpState::kTimeWait: return TcpCounter::kConnectionsTimeWait;
    case TcpState::kClosed:
    case TcpState::kListen: break;
  }
  return std::nullopt;
}

}  // namespace

void TcpStack::SetState(Tcb& tcb, TcpState state) {
  if (tcb.state_ == state) return;
  if (auto g = Gauge(tcb.state_)) counters_.Sub(*g);
  if (auto g = Gauge(state)) counters_.Add(*g);
  if (tcb.state_ == TcpState::kSynReceived && tcb.listener_ != nullptr) {
    --static_cast<Listener*>(tcb.listener_)->syn_received;
    tcb.listener_ = nullptr;
  }
  tcb.state_ = state;
  if (state == TcpState::kClosed && !tcb.in_closed_list_) {
    tcb.in_closed_list_ = true;
    closed_.push_back(&tcb);
  }
}

// ---------------------------------------------------------------------------------------------
// The owner's API.

absl::Status TcpStack::Listen(net::Ipv4Address address, uint16_t port,
                              const ConnectionOptions& options, ListenHandler* handler) {
  if (handler == nullptr) return absl::InvalidArgumentError("Listen: null handler");
  if (port == 0) return absl::InvalidArgumentError("Listen: port 0");
  for (const auto& l : listeners_) {
    if (l->port == port && l->address == address) {
      return absl::AlreadyExistsError(
          absl::StrCat("already listening on ", address.ToString(), ":", port));
    }
  }
  auto listener = std::make_unique<Listener>();
  listener->address = address;
  listener->port = port;
  listener->options = options;
  listener->handler = handler;
  listeners_.push_back(std::move(listener));
  return absl::OkStatus();
}

absl::Status TcpStack::StopListening(net::Ipv4Address address, uint16_t port) {
  for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
    if ((*it)->port != port || (*it)->address != address) continue;
    Listener* gone = it->get();
    // Handshakes in progress lose their listener: they are reset when they complete.
    table_.ForEach([gone](const FourTuple&, Tcb* tcb) {
      if (tcb->listener_ == gone) tcb->listener_ = nullptr;
    });
    listeners_.erase(it);
    return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrCat("not listening on ", address.ToString(), ":", port));
}

Tcb* TcpStack::Connect(const FourTuple& requested, const ConnectionOptions& options,
                       ConnectionHandler* handler, base::Instant now, ConnectError* error,
                       void* user_data) {
  Reaper reaper(*this);
  ConnectError unused;
  if (error == nullptr) error = &unused;
  FourTuple tuple = requested;
  if (tuple.local_port == 0) {
    // RFC 6056 §3.3.2-style: a counter over the ephemeral range, skipping ports in use to
    // this peer.
    // RFC 6056 §3.3.3, Algorithm 3 (simple hash-based): each (local address, remote address,
    // remote port) walks the range from its own keyed offset. The key is random per boot, so
    // a restarted appliance does not reuse the tuples of its previous life in the same order
    // (the peer may hold them in TIME-WAIT), and nobody outside can predict the ports.
    const uint32_t range = uint32_t{options_.ephemeral_last} - options_.ephemeral_first + 1;
    const uint64_t offset = base::SipHash24Words(
        port_key_, {uint64_t{tuple.local_ip.value} << 32 | tuple.remote_ip.value,
                    tuple.remote_port});
    bool found = false;
    for (uint32_t i = 0; i < range; ++i) {
      tuple.local_port = static_cast<uint16_t>(
          options_.ephemeral_first + (next_ephemeral_ + offset) % range);
      ++next_ephemeral_;
      if (table_.Find(tuple) == nullptr) {
        found = true;
        break;
      }
    }
    if (!found) {
      *error = ConnectError::kNoEphemeralPort;
      return nullptr;
    }
  } else if (table_.Find(tuple) != nullptr) {
    *error = ConnectError::kTupleInUse;
    return nullptr;
  }
  Tcb* tcb = AllocateTcb(tuple, options, now);
  if (tcb == nullptr) {
    *error = ConnectError::kNoTcb;
    return nullptr;
  }
  tcb->handler_ = handler;
  tcb->user_data = user_data;
  tcb->iss_ = isn_.Next(tuple, now);
  tcb->snd_una_ = tcb->snd_nxt_ = tcb->snd_max_ = tcb->iss_;
  tcb->send_queue_.Reset(tcb->iss_ + 1, options.send_buffer);
  tcb->rcv_wscale_ = options.window_scaling ? WindowShift(options.receive_window) : 0;
  tcb->snd_mss_ = std::min<uint16_t>(536, options_.mss);
  tcb->last_receive_ = now;
  SetState(*tcb, TcpState::kSynSent);
  counters_.Add(TcpCounter::kActiveOpens);
  SendSyn(*tcb, now);
  ArmRetransmit(*tcb, now);
  *error = ConnectError::kOk;
  return tcb;
}

uint32_t TcpStack::Send(Tcb& tcb, rte_mbuf*& chain, base::Instant now) {
  Reaper reaper(*this);
  if (tcb.write_shutdown_ || tcb.owner_closed_) return 0;
  switch (tcb.state_) {
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      break;
    default:
      return 0;
  }
  const uint32_t taken = tcb.send_queue_.Append(chain);
  if (taken > 0) Output(tcb, now);
  return taken;
}

void TcpStack::Shutdown(Tcb& tcb, base::Instant now) {
  Reaper reaper(*this);
  if (tcb.write_shutdown_) return;
  switch (tcb.state_) {
    case TcpState::kSynSent:
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kCloseWait:
      break;
    default:
      return;
  }
  // RFC 9293 §3.10.4 CLOSE: "Queue this until all preceding SENDs have been segmentized,
  // then form a FIN segment and send it".
  tcb.write_shutdown_ = true;
  tcb.fin_seq_ = tcb.send_queue_.end_seq();
  Output(tcb, now);
}

void TcpStack::Close(Tcb& tcb, base::Instant now) {
  Reaper reaper(*this);
  if (tcb.owner_closed_) return;
  tcb.owner_closed_ = true;
  tcb.handler_ = nullptr;
  // RFC 9293 §3.10.4: in SYN-SENT, "delete the TCB"; queued sends are lost.
  if (tcb.state_ == TcpState::kSynSent) {
    SetState(tcb, TcpState::kClosed);
    return;
  }
  // Already half-closed and our FIN acknowledged: nobody will read what the peer still
  // sends, so the orphan's FIN-WAIT-2 gets its timeout now (FIN-WAIT-1 starts it on the
  // ACK of the FIN, input.cc).
  if (tcb.state_ == TcpState::kFinWait2) {
    wheel_.Schedule(tcb.linger_timer_, now + options_.fin_wait_2_timeout);
  }
  Shutdown(tcb, now);
}

void TcpStack::Abort(Tcb& tcb, base::Instant now) {
  Reaper reaper(*this);
  if (tcb.state_ == TcpState::kClosed) return;
  tcb.owner_closed_ = true;
  tcb.handler_ = nullptr;
  // RFC 9293 §3.10.5 ABORT: in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT "send a
  // reset segment: <SEQ=SND.NXT><CTL=RST>"; in the other states just delete the TCB.
  switch (tcb.state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kCloseWait:
      SendResetOn(tcb, now);
      break;
    default:
      break;
  }
  SetState(tcb, TcpState::kClosed);
}

void TcpStack::ReceiveSpaceChanged(Tcb& tcb, base::Instant now) {
  Reaper reaper(*this);
  MaybeWindowUpdate(tcb, now);
}

bool TcpStack::FragmentationNeeded(const FourTuple& tuple, Seq quoted_seq,
                                   uint16_t next_hop_mtu, base::Instant now) {
  Reaper reaper(*this);
  Tcb* tcb = table_.Find(tuple);
  if (tcb == nullptr || !tcb->synchronized() || tcb->state_ == TcpState::kTimeWait) return false;
  // RFC 5927 §4.1: act only on a quote of data in flight.
  if (!InWindow(quoted_seq, tcb->snd_una_, tcb->snd_max_)) return false;
  // RFC 1191 §3: a plateau of 68 at least; IPv4 and TCP headers are 40 bytes.
  const uint16_t mtu = std::max<uint16_t>(next_hop_mtu, 68);
  const uint16_t mss = std::max<uint16_t>(mtu - 40, 64);
  if (mss >= tcb->snd_mss_) return false;
  tcb->snd_mss_ = mss;
  counters_.Add(TcpCounter::kPmtuReductions);
  // RFC 1191 §6.5: retransmit what was lost at the smaller size, without a congestion
  // response (the loss was not congestion).
  tcb->snd_nxt_ = tcb->snd_una_;
  tcb->rtt_timing_ = false;
  Output(*tcb, now);
  return true;
}

void TcpStack::Tick(base::Instant now) {
  Reaper reaper(*this);
  wheel_.Advance(now, [this, now](TimerNode& node) { OnTimer(node, now); });
  if (options_.pressure_free_mbufs > 0 || options_.reserve_free_mbufs > 0) {
    const uint32_t free_mbufs = rte_mempool_avail_count(header_pool_);
    memory_pressure_ = free_mbufs < options_.pressure_free_mbufs;
    memory_reserve_ = free_mbufs < options_.reserve_free_mbufs;
  }
  // The mbufs gauge walks every queue, so it is refreshed a few times a second, not per
  // segment.
  if (now - gauge_updated_ >= std::chrono::milliseconds(250)) {
    gauge_updated_ = now;
    counters_.Set(TcpCounter::kMbufsHeld, mbufs_held());
  }
}

}  // namespace ferry::tcp
