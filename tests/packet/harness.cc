#include "harness.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "gtest/gtest.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ipv4.h"

namespace ferry::tcp::packet {
namespace {

// A fixed key: runs are reproducible, and the harness learns the ISS anyway.
constexpr base::SipKey kKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
// The fake clock starts well away from zero (and from a SYN-cookie period boundary's
// neighbourhood of the epoch) so nothing depends on Instant{} being special.
constexpr base::Duration kStart = std::chrono::seconds(1'000'000) + std::chrono::seconds(10);
constexpr uint32_t kPeerTsBase = 1'000'000;

std::string Pattern(const char* alphabet, uint32_t start, uint32_t length) {
  // Period 36 plus a drift every 36 bytes, so a stream shifted by any small amount (or by a
  // multiple of the period) reads differently.
  std::string s(length, '\0');
  for (uint32_t i = 0; i < length; ++i) {
    const uint32_t x = start + i;
    s[i] = alphabet[(x + x / 36) % 36];
  }
  return s;
}

std::string Printable(const std::string& bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < 24; ++i) {
    const char c = bytes[i];
    out += (c >= 32 && c < 127 && c != '"') ? c : '.';
  }
  if (bytes.size() > 24) out += "...";
  return out;
}

std::string FlagString(uint8_t flags) {
  std::string s;
  if (flags & TcpFlags::kSyn) s += 'S';
  if (flags & TcpFlags::kFin) s += 'F';
  if (flags & TcpFlags::kRst) s += 'R';
  if (flags & TcpFlags::kPsh) s += 'P';
  if (flags & TcpFlags::kUrg) s += 'U';
  if (flags & TcpFlags::kEce) s += 'E';
  if (flags & TcpFlags::kCwr) s += 'W';
  if (flags & TcpFlags::kAck) s += '.';
  if (s.empty()) s = "none";
  return s;
}

// Relative numbers print signed so a value just below the base reads as -1, not 4294967295.
std::string Rel(uint32_t relative) {
  const int32_t r = static_cast<int32_t>(relative);
  return std::to_string(r);
}

std::string Join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

rte_mempool* MakePool(const char* name, uint32_t n, uint16_t data_room) {
  rte_mempool* pool = rte_pktmbuf_pool_create(name, n, 0, 0, data_room, SOCKET_ID_ANY);
  if (pool == nullptr) ADD_FAILURE() << "cannot create mbuf pool " << name;
  return pool;
}

}  // namespace

const SegmentCodec::Pools& SegmentCodec::pools() {
  static const Pools pools{
      .header = MakePool("packet_header", 4095, RTE_PKTMBUF_HEADROOM + 128),
      .indirect = MakePool("packet_indirect", 8191, 0),
      .data = MakePool("packet_data", 4095, RTE_MBUF_DEFAULT_BUF_SIZE),
  };
  return pools;
}

base::Instant SegmentCodec::ClockStart() { return base::Instant(kStart); }

std::string PeerPattern(uint32_t seq, uint32_t length) {
  return Pattern("abcdefghijklmnopqrstuvwxyz0123456789", seq, length);
}
std::string OwnerPattern(uint32_t offset, uint32_t length) {
  return Pattern("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", offset, length);
}

class Harness::Output final : public net::Ipv4Output {
 public:
  explicit Output(Harness& h) : h_(h) {}
  void SendIpv4(rte_mbuf* packet, base::Instant now) override {
    if (now != h_.now_) {
      ADD_FAILURE() << "segment sent with time " << (now - h_.start_).count()
                    << " ns, harness time is " << (h_.now_ - h_.start_).count() << " ns";
    }
    h_.Capture(packet);
  }

 private:
  Harness& h_;
};

Harness::Harness()
    : output_(std::make_unique<Output>(*this)),
      start_(SegmentCodec::ClockStart()),
      now_(start_) {
  connection_options_.receive_window = 65535;
  // The TCB pool is allocated whole at construction; ferry's 16384 cost a second per test.
  stack_options_.max_connections = 256;
  header_pool_ = SegmentCodec::pools().header;
  indirect_pool_ = SegmentCodec::pools().indirect;
  data_pool_ = SegmentCodec::pools().data;
  for (rte_mempool* pool : {header_pool_, indirect_pool_, data_pool_}) {
    in_use_at_start_.push_back(pool != nullptr ? rte_mempool_in_use_count(pool) : 0);
  }
  flows_[default_flow_] = Flow{};
  Flow& f = flows_[default_flow_];
  f.local_port = default_flow_.first;
  f.remote_port = default_flow_.second;
  f.peer_isn = 1'000'000'000u + default_flow_.second;
}

Harness::~Harness() {
  ReleasePool();
  stack_.reset();
  for (auto& [key, flow] : flows_) {
    for (auto& [chain, length] : flow.held_chains) rte_pktmbuf_free(chain);
    flow.held_chains.clear();
  }
  captured_.clear();
  size_t i = 0;
  for (rte_mempool* pool : {header_pool_, indirect_pool_, data_pool_}) {
    const unsigned before = in_use_at_start_[i++];
    if (pool == nullptr) continue;
    EXPECT_EQ(rte_mempool_in_use_count(pool), before)
        << "mbufs of pool " << pool->name << " not returned after the stack was destroyed";
  }
}

void Harness::SqueezePool(uint32_t leave_free) {
  while (rte_mempool_avail_count(header_pool_) > leave_free) {
    rte_mbuf* m = rte_pktmbuf_alloc(header_pool_);
    if (m == nullptr) break;
    squeezed_.push_back(m);
  }
}

void Harness::ReleasePool() {
  for (rte_mbuf* m : squeezed_) rte_pktmbuf_free(m);
  squeezed_.clear();
}

StackOptions& Harness::stack_options() {
  if (stack_) ADD_FAILURE() << "StackOptions changed after the stack was built: no effect";
  return stack_options_;
}

TcpStack& Harness::stack() {
  if (!stack_) {
    stack_ = std::make_unique<TcpStack>(stack_options_, header_pool_, indirect_pool_, *output_,
                                        counters_, kKey, now_);
  }
  return *stack_;
}

// --- Flows ---

Harness::Flow& Harness::FlowFor(uint16_t local_port, uint16_t remote_port) {
  auto [it, inserted] = flows_.try_emplace({local_port, remote_port});
  if (inserted) {
    it->second.local_port = local_port;
    it->second.remote_port = remote_port;
    it->second.peer_isn = 1'000'000'000u + remote_port;
  }
  return it->second;
}

Harness::Flow& Harness::FlowOf(const Tcb& connection) {
  return FlowFor(connection.tuple().local_port, connection.tuple().remote_port);
}

Harness::Flow& Harness::FlowOf(const Seg& s) {
  return FlowFor(s.local_port_.value_or(default_flow_.first),
                 s.remote_port_.value_or(default_flow_.second));
}

Harness::Flow& Harness::DefaultFlow() { return FlowFor(default_flow_.first, default_flow_.second); }
const Harness::Flow& Harness::DefaultFlow() const { return flows_.at(default_flow_); }

void Harness::UseFlow(uint16_t local_port, uint16_t remote_port) {
  default_flow_ = {local_port, remote_port};
  FlowFor(local_port, remote_port);
}

void Harness::SetPeerIsn(uint32_t absolute, std::optional<uint16_t> remote_port) {
  FlowFor(default_flow_.first, remote_port.value_or(default_flow_.second)).peer_isn = absolute;
}
uint32_t Harness::peer_isn() const { return DefaultFlow().peer_isn; }
uint32_t Harness::iss() const {
  const Flow& f = DefaultFlow();
  if (!f.iss) ADD_FAILURE() << "ferry's ISS is not known yet on the default flow";
  return f.iss.value_or(0);
}
const std::vector<uint32_t>& Harness::iss_history() const { return DefaultFlow().iss_history; }
Tcb* Harness::tcb() const { return DefaultFlow().tcb; }
const std::string& Harness::Received() const { return DefaultFlow().received; }
uint32_t Harness::held() const { return DefaultFlow().held; }
std::vector<std::string> Harness::Deliveries() {
  std::vector<std::string> out;
  out.swap(DefaultFlow().deliveries);
  return out;
}
uint32_t Harness::last_tsval() const {
  const Flow& f = DefaultFlow();
  if (!f.last_tsval) ADD_FAILURE() << "ferry has sent no timestamp on the default flow";
  return f.last_tsval.value_or(0);
}

uint32_t Harness::PeerTsNow() { return SegmentCodec::PeerTsNow(DefaultFlow(), elapsed()); }

// --- Connections ---

void Harness::Listen(uint16_t port) {
  UseFlow(port, kPeerPort);
  listening_.insert(port);
  const absl::Status s = stack().Listen(kFerryIp, port, connection_options_, this);
  EXPECT_TRUE(s.ok()) << s;
}

Tcb* Harness::Connect(uint16_t remote_port, uint16_t local_port, ConnectError* error) {
  FourTuple tuple{kFerryIp, kPeerIp, local_port, remote_port};
  ConnectError e = ConnectError::kOk;
  // The flow must exist (and be the default) before the SYN is captured when the port is
  // known; with an ephemeral port it is made from the SYN.
  if (local_port != 0) UseFlow(local_port, remote_port);
  Tcb* t = stack().Connect(tuple, connection_options_, this, now_, &e);
  if (error != nullptr) *error = e;
  if (t == nullptr) return nullptr;
  UseFlow(t->tuple().local_port, remote_port);
  DefaultFlow().tcb = t;
  return t;
}

void Harness::EstablishPassive(const Peer& peer) {
  if (!listening_.contains(default_flow_.first)) Listen(default_flow_.first);
  Seg syn = Syn().Seq(0).Win(peer.win);
  if (peer.mss) syn.Mss(*peer.mss);
  if (peer.ws) syn.Ws(*peer.ws);
  if (peer.sack) syn.SackOk();
  if (peer.ts) syn.Ts(PeerTsNow(), 0); else syn.NoTs();
  Inject(syn);
  Expect(SynAck().Seq(0).Ack(1));
  Inject(Ack().Seq(1).Ack(1).Win(peer.win));
  const EventLog events = Events();
  EXPECT_EQ(events, Log({"accept"})) << "passive open did not complete";
  DefaultFlow().peer_window = peer.win;
}

void Harness::EstablishActive(const Peer& peer) {
  if (tcb() == nullptr && Connect() == nullptr) {
    ADD_FAILURE() << "Connect failed";
    return;
  }
  Expect(Syn().Seq(0));
  Seg synack = SynAck().Seq(0).Ack(1).Win(peer.win);
  if (peer.mss) synack.Mss(*peer.mss);
  if (peer.ws) synack.Ws(*peer.ws);
  if (peer.sack) synack.SackOk();
  if (peer.ts) synack.Ts(PeerTsNow(), DefaultFlow().last_tsval.value_or(0)); else synack.NoTs();
  Inject(synack);
  Expect(Ack().Seq(1).Ack(1));
  EXPECT_EQ(Events(), Log({"connected"})) << "active open did not complete";
  DefaultFlow().peer_window = peer.win;
}

// --- Owner actions ---

rte_mbuf* Harness::MakeChain(std::string_view bytes) {
  return SegmentCodec::MakeChain(bytes, data_pool_);
}

uint32_t Harness::Send(std::string_view bytes) {
  Flow& f = DefaultFlow();
  if (f.tcb == nullptr) {
    ADD_FAILURE() << "Send without a connection";
    return 0;
  }
  rte_mbuf* chain = MakeChain(bytes);
  // The stack may transmit from inside Send: the bytes must be known by then.
  const size_t before = f.sent.size();
  f.sent.append(bytes);
  const uint32_t taken = stack().Send(*f.tcb, chain, now_);
  f.sent.resize(before + taken);
  if (chain != nullptr) rte_pktmbuf_free(chain);
  return taken;
}

uint32_t Harness::SendBytes(uint32_t length) {
  return Send(OwnerPattern(static_cast<uint32_t>(DefaultFlow().sent.size()), length));
}

void Harness::Shutdown() {
  if (tcb() == nullptr) { ADD_FAILURE() << "Shutdown without a connection"; return; }
  stack().Shutdown(*tcb(), now_);
}

void Harness::Close() {
  if (tcb() == nullptr) { ADD_FAILURE() << "Close without a connection"; return; }
  Tcb* t = tcb();
  DefaultFlow().tcb = nullptr;
  stack().Close(*t, now_);
}

void Harness::Abort() {
  if (tcb() == nullptr) { ADD_FAILURE() << "Abort without a connection"; return; }
  Tcb* t = tcb();
  DefaultFlow().tcb = nullptr;
  stack().Abort(*t, now_);
}

void Harness::SetReceiveBuffer(uint32_t bytes) {
  DefaultFlow().buffer = bytes;
  if (tcb() != nullptr) stack().ReceiveSpaceChanged(*tcb(), now_);
}

void Harness::SetAutoRead(bool on) { DefaultFlow().auto_read = on; }

void Harness::Read(std::optional<uint32_t> n) {
  Flow& f = DefaultFlow();
  uint32_t left = std::min(n.value_or(f.held), f.held);
  f.held -= left;
  while (left > 0 && !f.held_chains.empty()) {
    auto& [chain, length] = f.held_chains.front();
    const uint32_t take = std::min(left, length);
    length -= take;
    left -= take;
    if (length == 0) {
      rte_pktmbuf_free(chain);
      f.held_chains.pop_front();
    }
  }
  if (f.tcb != nullptr) stack().ReceiveSpaceChanged(*f.tcb, now_);
}

bool Harness::FragmentationNeeded(uint32_t quoted_seq, uint16_t next_hop_mtu) {
  Flow& f = DefaultFlow();
  const FourTuple tuple{kFerryIp, kPeerIp, f.local_port, f.remote_port};
  return stack().FragmentationNeeded(tuple, Seq(f.iss.value_or(0) + quoted_seq), next_hop_mtu,
                                     now_);
}

// --- Handlers ---

void Harness::Event(Flow& flow, std::string text) {
  if (std::make_pair(flow.local_port, flow.remote_port) != default_flow_) {
    text = std::to_string(flow.remote_port) + ": " + text;
  }
  events_.push_back(text);
  if (on_event) on_event(text);
}

EventLog Harness::Events() {
  EventLog out;
  out.swap(events_);
  return out;
}

ConnectionHandler* Harness::OnAccept(Tcb& connection) {
  Flow& f = FlowOf(connection);
  if (refuse_accept_) {
    Event(f, "accept refused");
    return nullptr;
  }
  f.tcb = &connection;
  Event(f, "accept");
  return this;
}

void Harness::OnConnected(Tcb& connection) {
  Flow& f = FlowOf(connection);
  f.tcb = &connection;
  Event(f, "connected");
}

void Harness::OnData(Tcb& connection, rte_mbuf* chain, uint32_t length) {
  Flow& f = FlowOf(connection);
  if (chain == nullptr || length == 0) {
    ADD_FAILURE() << "OnData with an empty chain";
    if (chain != nullptr) rte_pktmbuf_free(chain);
    return;
  }
  // The chain must be well formed and exactly `length` bytes (events.h).
  uint32_t sum = 0;
  uint16_t segs = 0;
  std::string bytes;
  for (const rte_mbuf* m = chain; m != nullptr; m = m->next) {
    sum += rte_pktmbuf_data_len(m);
    ++segs;
    bytes.append(rte_pktmbuf_mtod(m, const char*), rte_pktmbuf_data_len(m));
  }
  EXPECT_EQ(rte_pktmbuf_pkt_len(chain), length) << "OnData: pkt_len differs from length";
  EXPECT_EQ(sum, length) << "OnData: data_len sum differs from length";
  EXPECT_EQ(chain->nb_segs, segs) << "OnData: nb_segs wrong";
  f.received += bytes;
  f.deliveries.push_back(bytes);
  last_delivered_ = chain;
  Event(f, "data " + std::to_string(length));
  if (f.auto_read) {
    rte_pktmbuf_free(chain);
  } else {
    f.held += length;
    f.held_chains.emplace_back(chain, length);
  }
}

void Harness::OnAcked(Tcb& connection, uint32_t bytes) {
  Event(FlowOf(connection), "acked " + std::to_string(bytes));
}

void Harness::OnPeerFin(Tcb& connection) { Event(FlowOf(connection), "peer_fin"); }

void Harness::OnClosed(Tcb& connection, CloseReason reason) {
  Flow& f = FlowOf(connection);
  f.tcb = nullptr;
  Event(f, "closed " + std::string(Name(reason)));
}

uint32_t Harness::AcceptReceiveSpace() const {
  auto it = flows_.find(default_flow_);
  return it == flows_.end() ? 1u << 20 : it->second.buffer;
}

uint32_t Harness::ReceiveSpace(const Tcb& connection) const {
  auto it = flows_.find({connection.tuple().local_port, connection.tuple().remote_port});
  if (it == flows_.end()) return 1u << 20;
  const Flow& f = it->second;
  return f.buffer > f.held ? f.buffer - f.held : 0;
}

// --- Time ---

void Harness::Advance(base::Duration d, std::optional<base::Duration> step_option) {
  const base::Instant end = now_ + d;
  const base::Duration step = step_option.value_or(stack_options_.timer_tick);
  while (now_ < end) {
    now_ = std::min(end, now_ + step);
    stack().Tick(now_);
  }
}

base::Duration Harness::AdvanceUntilOutput(base::Duration limit) {
  const base::Instant begin = now_;
  const size_t before = captured_.size();
  const base::Duration step = stack_options_.timer_tick;
  while (now_ - begin < limit && captured_.size() == before) {
    now_ = std::min(begin + limit, now_ + step);
    stack().Tick(now_);
  }
  return now_ - begin;
}

// --- Capture ---

void Harness::Capture(rte_mbuf* packet) {
  std::optional<SentSegment> sent = SegmentCodec::ParseSent(packet, now_);
  if (!sent) return;
  EXPECT_EQ(sent->source, kFerryIp);
  EXPECT_EQ(sent->destination, kPeerIp);
  Captured& c = sent->segment;
  Flow& f = FlowFor(c.local_port, c.remote_port);
  SegmentCodec::Track(c, f);
  // Data must be the bytes the owner queued at those sequence numbers.
  if (!c.payload.empty() && f.iss && !c.syn()) {
    const uint32_t offset = c.seq - *f.iss - 1;
    if (offset > f.sent.size() || f.sent.size() - offset < c.payload.size()) {
      ADD_FAILURE() << "ferry sent " << c.payload.size() << " bytes at seq " << Rel(offset + 1)
                    << " but the owner queued only " << f.sent.size();
    } else if (f.sent.compare(offset, c.payload.size(), c.payload) != 0) {
      ADD_FAILURE() << "ferry sent bytes at seq " << Rel(offset + 1)
                    << " that differ from what the owner queued there";
    }
  }
  captured_.push_back(std::move(c));
}

std::optional<Captured> Harness::Take() {
  if (captured_.empty()) return std::nullopt;
  Captured c = std::move(captured_.front());
  captured_.pop_front();
  return c;
}

// --- Inject ---

void Harness::Inject(const Seg& s, std::source_location loc) {
  rte_mbuf* m = SegmentCodec::BuildInjected(s, FlowOf(s), kPeerIp, kFerryIp, elapsed(),
                                            PeerTsNow(), data_pool_, loc);
  if (m == nullptr) return;
  last_injected_ = m;
  stack().Input(m, kPeerIp, kFerryIp, now_);
}

// --- Expect ---

bool Harness::Compare(const Seg& want, const Captured& got, const Flow& f,
                      std::vector<std::string>& why) const {
  const bool same_flow = want.local_port_.value_or(default_flow_.first) == got.local_port &&
                         want.remote_port_.value_or(default_flow_.second) == got.remote_port;
  if (!same_flow) why.push_back("ports");
  return SegmentCodec::Compare(want, got, f, why) && same_flow;
}

void Harness::Expect(const Seg& want, std::source_location loc) {
  if (captured_.empty()) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "expected " << Describe(want) << "\n  but ferry sent nothing (t=" 
        << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed()).count() << " ms)";
    return;
  }
  const Captured got = std::move(captured_.front());
  captured_.pop_front();
  const Flow& f = flows_.at({got.local_port, got.remote_port});
  std::vector<std::string> why;
  if (!Compare(want, got, f, why)) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "segment differs in: " << Join(why, ", ") << "\n  expected: " << Describe(want)
        << "\n    actual: " << Describe(got);
  }
}

void Harness::ExpectRetransmit(const Seg& want, std::source_location loc) {
  if (!captured_.empty() && !captured_.front().retransmission) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "expected a retransmission, but this is new: " << Describe(captured_.front());
  }
  Expect(want, loc);
}

void Harness::ExpectNothing(std::source_location loc) {
  if (captured_.empty()) return;
  std::string all;
  for (const Captured& c : captured_) all += "\n    " + Describe(c);
  ADD_FAILURE_AT(loc.file_name(), loc.line()) << "expected no segment, but ferry sent:" << all;
  captured_.clear();
}

// --- Describe ---

std::string Harness::Describe(const Captured& c) const {
  const auto it = flows_.find({c.local_port, c.remote_port});
  return std::to_string(c.local_port) + ">" + std::to_string(c.remote_port) + " " +
         SegmentCodec::Describe(c, it != flows_.end() ? &it->second : nullptr, start_);
}

std::string Harness::Describe(const Seg& s) const {
  return std::to_string(s.local_port_.value_or(default_flow_.first)) + ">" +
         std::to_string(s.remote_port_.value_or(default_flow_.second)) + " " +
         SegmentCodec::Describe(s);
}

// --- SegmentCodec ---

uint32_t SegmentCodec::PeerTsNow(const FlowNumbers& f, base::Duration elapsed) {
  uint32_t ts = kPeerTsBase + static_cast<uint32_t>(
                                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed)
                                      .count());
  if (f.peer_last_tsval && static_cast<int32_t>(ts - *f.peer_last_tsval) < 0) {
    ts = *f.peer_last_tsval;
  }
  return ts;
}

rte_mbuf* SegmentCodec::MakeChain(std::string_view bytes, rte_mempool* pool) {
  constexpr size_t kPerMbuf = 2000;
  rte_mbuf* head = nullptr;
  for (size_t at = 0; at < bytes.size(); at += kPerMbuf) {
    const size_t n = std::min(kPerMbuf, bytes.size() - at);
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      ADD_FAILURE() << "data pool exhausted";
      break;
    }
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), bytes.data() + at, n);
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      ADD_FAILURE() << "chain too long";
      rte_pktmbuf_free(m);
      break;
    }
  }
  return head;
}

rte_mbuf* SegmentCodec::BuildInjected(const Seg& s, FlowNumbers& f, net::Ipv4Address source,
                                      net::Ipv4Address destination, base::Duration elapsed,
                                      uint32_t explicit_tsval, rte_mempool* pool,
                                      std::source_location loc) {
  if (!s.seq_ && !s.absolute_seq_) {
    ADD_FAILURE_AT(loc.file_name(), loc.line()) << "Inject needs .Seq()";
    return nullptr;
  }
  if ((s.flags_ & TcpFlags::kAck) && !s.ack_) {
    ADD_FAILURE_AT(loc.file_name(), loc.line()) << "Inject of an ACK needs .Ack()";
    return nullptr;
  }
  const bool syn = s.flags_ & TcpFlags::kSyn;
  const bool rst = s.flags_ & TcpFlags::kRst;
  OutSegment o;
  o.source_port = f.remote_port;
  o.destination_port = f.local_port;
  o.seq = s.absolute_seq_ ? Seq(*s.absolute_seq_) : Seq(f.peer_isn + *s.seq_);
  o.ack = Seq(s.ack_ ? (f.iss.value_or(0) + *s.ack_) : 0);
  o.flags = s.flags_;
  o.window = s.win_.value_or(f.peer_window);
  if (s.mss_ && *s.mss_) o.options.mss = **s.mss_;
  if (s.ws_ && *s.ws_) {
    if (**s.ws_ > kMaxWindowScale) {
      ADD_FAILURE_AT(loc.file_name(), loc.line())
          << "the option emitter refuses shifts above 14: write the option with RawOptions";
      return nullptr;
    }
    o.options.window_scale = **s.ws_;
  }
  o.options.sack_permitted = s.sack_ok_.value_or(false);
  if (s.ts_) {
    if (*s.ts_) {
      const TsSpec& ts = **s.ts_;
      o.options.timestamps = TcpOptions::Timestamps{ts.val.value_or(explicit_tsval),
                                                    ts.ecr.value_or(f.last_tsval.value_or(0))};
    }
  } else if (f.ts_on() && !rst && !syn) {
    // A well-behaved peer stamps every segment once timestamps are on (RFC 7323 §3.2).
    o.options.timestamps =
        TcpOptions::Timestamps{PeerTsNow(f, elapsed), f.last_tsval.value_or(0)};
  }
  if (o.options.timestamps) f.peer_last_tsval = o.options.timestamps->value;
  if (syn) f.peer_syn_ts = o.options.timestamps.has_value();
  if (s.sack_) {
    o.options.sack_block_count = static_cast<uint8_t>(std::min<size_t>(s.sack_->size(), 4));
    for (size_t i = 0; i < o.options.sack_block_count; ++i) {
      o.options.sack_blocks[i] = SackBlock{Seq(f.iss.value_or(0) + (*s.sack_)[i].left),
                                           Seq(f.iss.value_or(0) + (*s.sack_)[i].right)};
    }
  }
  if (syn && s.win_) f.peer_window = *s.win_;
  std::string payload;
  if (s.data_) {
    payload = *s.data_;
  } else if (s.len_) {
    payload = PeerPattern((o.seq - Seq(f.peer_isn)) + (syn ? 1 : 0), *s.len_);
  }
  if (!payload.empty()) {
    o.payload = MakeChain(payload, pool);
    o.payload_length = static_cast<uint32_t>(payload.size());
  }
  rte_mbuf* built = BuildSegment(o, source, destination, pool, false);
  if (built == nullptr) {
    ADD_FAILURE_AT(loc.file_name(), loc.line()) << "BuildSegment failed";
    return nullptr;
  }
  std::vector<uint8_t> bytes;
  for (const rte_mbuf* m = built; m != nullptr; m = m->next) {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    bytes.insert(bytes.end(), p, p + rte_pktmbuf_data_len(m));
  }
  rte_pktmbuf_free(built);
  bytes.erase(bytes.begin(), bytes.begin() + net::Ipv4Repr::kLength);  // the host strips it

  bool recompute = false;
  if (s.raw_options_) {
    std::vector<uint8_t> raw = *s.raw_options_;
    while (raw.size() % 4 != 0) raw.push_back(OptionKind::kEndOfList);
    const size_t old_offset = (size_t{bytes[12]} >> 4) * 4;
    std::vector<uint8_t> rebuilt(bytes.begin(), bytes.begin() + 20);
    rebuilt.insert(rebuilt.end(), raw.begin(), raw.end());
    rebuilt.insert(rebuilt.end(), bytes.begin() + old_offset, bytes.end());
    rebuilt[12] = static_cast<uint8_t>(((20 + raw.size()) / 4) << 4);
    bytes = std::move(rebuilt);
    recompute = true;
  }
  if (s.urgent_ != 0) {
    net::StoreBe16(&bytes[18], s.urgent_);
    recompute = true;
  }
  if (recompute) {
    net::StoreBe16(&bytes[16], 0);
    net::StoreBe16(&bytes[16],
                   net::TransportChecksum(source, destination, net::IpProtocol::kTcp, bytes));
  }
  if (s.bad_checksum_) bytes[17] ^= 0x5a;

  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr || bytes.size() > rte_pktmbuf_tailroom(m)) {
    ADD_FAILURE_AT(loc.file_name(), loc.line()) << "segment too large to inject";
    if (m != nullptr) rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size())), bytes.data(),
              bytes.size());
  return m;
}

std::optional<SentSegment> SegmentCodec::ParseSent(rte_mbuf* packet, base::Instant at) {
  // The whole packet as bytes, for the IPv4 checks and the raw options.
  std::vector<uint8_t> bytes;
  for (const rte_mbuf* m = packet; m != nullptr; m = m->next) {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    bytes.insert(bytes.end(), p, p + rte_pktmbuf_data_len(m));
  }
  EXPECT_EQ(bytes.size(), rte_pktmbuf_pkt_len(packet)) << "sent chain: pkt_len is wrong";
  net::Ipv4View ip;
  // The IPv4 header checksum is the host's to fill (Ipv4Output), so it is not checked.
  const net::ParseError ip_error = net::Ipv4View::Parse(bytes, ip, /*verify_checksum=*/false);
  if (ip_error != net::ParseError::kOk) {
    ADD_FAILURE() << "ferry sent a packet with a bad IPv4 header";
    rte_pktmbuf_free(packet);
    return std::nullopt;
  }
  SentSegment sent{.source = ip.source(), .destination = ip.destination()};
  EXPECT_EQ(ip.protocol(), net::IpProtocol::kTcp);
  EXPECT_EQ(ip.total_length(), bytes.size()) << "IPv4 total length";
  EXPECT_TRUE(ip.dont_fragment()) << "DF must be set (RFC 1191 path MTU discovery)";
  EXPECT_GT(ip.ttl(), 0);
  if (rte_pktmbuf_data_len(packet) < net::Ipv4Repr::kLength + 20) {
    ADD_FAILURE() << "headers are not in the first mbuf";
    rte_pktmbuf_free(packet);
    return std::nullopt;
  }
  rte_pktmbuf_adj(packet, net::Ipv4Repr::kLength);
  Segment seg;
  const SegmentError error = ParseSegment(packet, sent.source, sent.destination, seg);
  if (error != SegmentError::kOk) {
    ADD_FAILURE() << "ferry sent a segment that does not parse (error "
                  << static_cast<int>(error) << ", see SegmentError)";
    rte_pktmbuf_free(packet);
    return std::nullopt;
  }
  Captured& c = sent.segment;
  c.at = at;
  c.local_port = seg.source_port;
  c.remote_port = seg.destination_port;
  c.seq = seg.seq.raw();
  c.ack = seg.ack.raw();
  c.flags = seg.flags;
  c.window = seg.window;
  c.options = seg.options;
  const size_t data_offset = (size_t{bytes[net::Ipv4Repr::kLength + 12]} >> 4) * 4;
  c.urgent = net::LoadBe16(&bytes[net::Ipv4Repr::kLength + 18]);
  c.raw_options.assign(bytes.begin() + net::Ipv4Repr::kLength + 20,
                       bytes.begin() + net::Ipv4Repr::kLength + data_offset);
  for (rte_mbuf* m = seg.payload; m != nullptr; m = m->next) {
    c.payload.append(rte_pktmbuf_mtod(m, const char*), rte_pktmbuf_data_len(m));
    if (rte_pktmbuf_data_len(m) == 0) continue;
    const bool indirect = RTE_MBUF_CLONED(m);
    c.pieces.push_back(Captured::Piece{
        .owner = indirect ? rte_mbuf_from_indirect(m) : m,
        .indirect = indirect,
        .data = rte_pktmbuf_mtod(m, const void*),
        .length = rte_pktmbuf_data_len(m),
    });
  }
  EXPECT_EQ(c.payload.size(), seg.payload_length);
  rte_pktmbuf_free(seg.payload);
  return sent;
}

void SegmentCodec::Track(Captured& c, FlowNumbers& f) {
  if (c.syn()) {
    if (!f.iss || *f.iss != c.seq) {
      f.iss = c.seq;
      f.iss_history.push_back(c.seq);
      f.sent_end = 0;
    }
    f.our_syn_ts = c.options.timestamps.has_value();
  }
  if (f.iss && !c.rst()) {
    const uint32_t length = static_cast<uint32_t>(c.payload.size()) + (c.syn() ? 1 : 0) +
                            ((c.flags & TcpFlags::kFin) ? 1 : 0);
    const uint32_t end = c.seq - *f.iss + length;
    if (length > 0) {
      c.retransmission = f.sent_end != 0 && static_cast<int32_t>(end - f.sent_end) <= 0;
      if (f.sent_end == 0 || static_cast<int32_t>(end - f.sent_end) > 0) f.sent_end = end;
    }
  }
  if (c.options.timestamps) {
    const uint32_t val = c.options.timestamps->value;
    // RFC 7323 §5.4 (and §4.1): TSvals come from a clock that never goes backwards. A SYN-ACK
    // made from a SYN cookie carries options in its low bits, so SYNs are exempt.
    if (!c.syn() && f.last_tsval && static_cast<int32_t>(val - *f.last_tsval) < 0) {
      ADD_FAILURE() << "TSval went backwards on " << c.local_port << ">" << c.remote_port
                    << ": " << *f.last_tsval << " then " << val;
    }
    f.last_tsval = val;
  }
}

bool SegmentCodec::Compare(const Seg& want, const Captured& got, const FlowNumbers& f,
                           std::vector<std::string>& why) {
  const size_t before = why.size();
  uint8_t mask = want.psh_checked_ ? 0xff : static_cast<uint8_t>(~TcpFlags::kPsh);
  if (want.ack_bit_optional_) mask &= static_cast<uint8_t>(~TcpFlags::kAck);
  if ((want.flags_ & mask) != (got.flags & mask)) why.push_back("flags");
  if (want.seq_ && *want.seq_ != got.seq - f.iss.value_or(0)) why.push_back("seq");
  if (want.ack_ && *want.ack_ != got.ack - f.peer_isn) why.push_back("ack");
  if (want.win_ && *want.win_ != got.window) why.push_back("win");
  const TcpOptions& o = got.options;
  if (want.mss_ && *want.mss_ != o.mss) why.push_back("mss");
  if (want.ws_ && *want.ws_ != o.window_scale) why.push_back("wscale");
  if (want.sack_ok_ && *want.sack_ok_ != o.sack_permitted) why.push_back("sackOK");
  if (want.ts_) {
    if (!*want.ts_) {
      if (o.timestamps) why.push_back("TS");
    } else if (!o.timestamps) {
      why.push_back("TS");
    } else {
      const TsSpec& ts = **want.ts_;
      if (ts.val && *ts.val != o.timestamps->value) why.push_back("TS val");
      if (ts.ecr && *ts.ecr != o.timestamps->echo_reply) why.push_back("TS ecr");
    }
  }
  if (want.sack_) {
    bool same = want.sack_->size() == o.sack_block_count;
    for (size_t i = 0; same && i < o.sack_block_count; ++i) {
      same = (*want.sack_)[i] == Block{o.sack_blocks[i].left.raw() - f.peer_isn,
                                       o.sack_blocks[i].right.raw() - f.peer_isn};
    }
    if (!same) why.push_back("sack");
  }
  if (want.data_) {
    if (*want.data_ != got.payload) why.push_back("data");
  } else if (want.len_) {
    if (*want.len_ != got.payload.size()) why.push_back("len");
  } else if (!got.payload.empty()) {
    why.push_back("len");
  }
  return why.size() == before;
}

std::string SegmentCodec::Describe(const Captured& c, const FlowNumbers* f,
                                   base::Instant start) {
  const uint32_t iss = f != nullptr ? f->iss.value_or(0) : 0;
  const uint32_t peer_isn = f != nullptr ? f->peer_isn : 0;
  std::ostringstream os;
  os << FlagString(c.flags) << " seq " << Rel(c.seq - iss);
  if (c.flags & TcpFlags::kAck) os << " ack " << Rel(c.ack - peer_isn);
  os << " win " << c.window;
  std::vector<std::string> opts;
  const TcpOptions& o = c.options;
  if (o.mss) opts.push_back("mss " + std::to_string(*o.mss));
  if (o.sack_permitted) opts.push_back("sackOK");
  if (o.timestamps) {
    opts.push_back("TS val " + std::to_string(o.timestamps->value) + " ecr " +
                   std::to_string(o.timestamps->echo_reply));
  }
  if (o.window_scale) opts.push_back("wscale " + std::to_string(*o.window_scale));
  if (o.sack_block_count > 0) {
    std::string sack = "sack";
    for (size_t i = 0; i < o.sack_block_count; ++i) {
      sack += " " + Rel(o.sack_blocks[i].left.raw() - peer_isn) + ":" +
              Rel(o.sack_blocks[i].right.raw() - peer_isn);
    }
    opts.push_back(sack);
  }
  if (!opts.empty()) os << " <" << Join(opts, ",") << ">";
  os << " len " << c.payload.size();
  if (!c.payload.empty() && c.payload.size() <= 24) os << " \"" << Printable(c.payload) << "\"";
  os << " @" << std::chrono::duration_cast<std::chrono::milliseconds>(c.at - start).count()
     << "ms";
  return os.str();
}

std::string SegmentCodec::Describe(const Seg& s) {
  std::ostringstream os;
  os << FlagString(s.flags_);
  if (!s.psh_checked_) os << "(P?)";
  if (s.ack_bit_optional_) os << "(.?)";
  os << " seq " << (s.seq_ ? Rel(*s.seq_) : "*");
  if ((s.flags_ & TcpFlags::kAck) || s.ack_) os << " ack " << (s.ack_ ? Rel(*s.ack_) : "*");
  os << " win " << (s.win_ ? std::to_string(*s.win_) : "*");
  std::vector<std::string> opts;
  if (s.mss_) opts.push_back(*s.mss_ ? "mss " + std::to_string(**s.mss_) : "no mss");
  if (s.sack_ok_) opts.push_back(*s.sack_ok_ ? "sackOK" : "no sackOK");
  if (s.ts_) {
    if (*s.ts_) {
      const TsSpec& ts = **s.ts_;
      opts.push_back("TS val " + (ts.val ? std::to_string(*ts.val) : "*") + " ecr " +
                     (ts.ecr ? std::to_string(*ts.ecr) : "*"));
    } else {
      opts.push_back("no TS");
    }
  }
  if (s.ws_) opts.push_back(*s.ws_ ? "wscale " + std::to_string(**s.ws_) : "no wscale");
  if (s.sack_) {
    if (s.sack_->empty()) {
      opts.push_back("no sack");
    } else {
      std::string sack = "sack";
      for (const Block& b : *s.sack_) sack += " " + Rel(b.left) + ":" + Rel(b.right);
      opts.push_back(sack);
    }
  }
  os << " <" << (opts.empty() ? "*" : Join(opts, ",")) << ">";
  if (s.data_) {
    os << " len " << s.data_->size() << " \"" << Printable(*s.data_) << "\"";
  } else if (s.len_) {
    os << " len " << *s.len_;
  } else {
    os << " len 0";
  }
  return os.str();
}

}  // namespace ferry::tcp::packet
