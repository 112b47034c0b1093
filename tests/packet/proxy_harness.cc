#include "proxy_harness.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <utility>

#include "gtest/gtest.h"
#include "net/bytes.h"
#include "proxy/balancer_factory.h"

namespace ferry::proxy::packet {
namespace {

using tcp::packet::SegmentCodec;

// A fixed key: runs are reproducible, and the harness learns every ISS anyway.
constexpr base::SipKey kKey{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};

}  // namespace

BackendSettings ProxyHarness::MakeBackend(uint32_t i) {
  BackendSettings b;
  b.name = "b" + std::to_string(i);
  b.address = BackendIp(i);
  b.port = kBackendPort;
  b.default_source = kSourceIp;
  return b;
}

class ProxyHarness::Output final : public net::Ipv4Output {
 public:
  explicit Output(ProxyHarness& h) : h_(h) {}
  void SendIpv4(rte_mbuf* packet, base::Instant now) override {
    if (now != h_.now_) {
      ADD_FAILURE() << "segment sent with time " << (now - h_.start_).count()
                    << " ns, harness time is " << (h_.now_ - h_.start_).count() << " ns";
    }
    h_.Capture(packet);
  }

 private:
  ProxyHarness& h_;
};

ProxyHarness::ProxyHarness()
    : output_(std::make_unique<Output>(*this)),
      start_(SegmentCodec::ClockStart()),
      now_(start_) {
  // The TCB pool is allocated whole at construction; ferry's 16384 cost a second per test.
  stack_options_.max_connections = 256;
  header_pool_ = SegmentCodec::pools().header;
  indirect_pool_ = SegmentCodec::pools().indirect;
  data_pool_ = SegmentCodec::pools().data;
  for (rte_mempool* pool : {header_pool_, indirect_pool_, data_pool_}) {
    in_use_at_start_.push_back(pool != nullptr ? rte_mempool_in_use_count(pool) : 0);
  }
  PoolSettings pool;
  pool.name = "app";
  pool.backends = {MakeBackend(0), MakeBackend(1)};
  pool.connection.receive_window = 65535;
  ListenerSettings listener;
  listener.name = "web";
  listener.address = kVip;
  listener.port = kVipPort;
  listener.pool = 0;
  listener.connection.receive_window = 65535;
  settings_.pools.push_back(std::move(pool));
  settings_.listeners.push_back(std::move(listener));
}

ProxyHarness::~ProxyHarness() {
  if (proxy_) {
    // Every test ends with its sessions over (docs/proxy.md "A session's life", 5).
    EXPECT_EQ(proxy_->counters().Load(ProxyCounter::kSessionsActive), 0u)
        << "sessions still open at the end of the test";
    EXPECT_EQ(proxy_->counters().Load(ProxyCounter::kBytesHeld), 0u);
    // Every record any snapshot had, removed listeners and backends included.
    for (const auto& snapshot : snapshots_) {
      for (const auto& l : snapshot->listener_records) {
        EXPECT_EQ(SessionsActive(*l), 0u) << "listener " << l->name;
      }
      for (const auto& pool : snapshot->backend_records) {
        for (const auto& b : pool) {
          EXPECT_EQ(SessionsActive(*b), 0u) << "backend " << b->pool << "/" << b->name;
        }
      }
    }
  }
  proxy_.reset();
  stack_.reset();
  for (auto& f : flows_) f->pending.clear();
  size_t i = 0;
  for (rte_mempool* pool : {header_pool_, indirect_pool_, data_pool_}) {
    const unsigned before = in_use_at_start_[i++];
    if (pool == nullptr) continue;
    EXPECT_EQ(rte_mempool_in_use_count(pool), before)
        << "mbufs of pool " << pool->name << " not returned after the proxy and the stack "
        << "were destroyed";
  }
}

// --- Setup ---

ProxySettings& ProxyHarness::settings() {
  if (proxy_) ADD_FAILURE() << "ProxySettings changed after the proxy was built: no effect";
  return settings_;
}

tcp::StackOptions& ProxyHarness::stack_options() {
  if (stack_) ADD_FAILURE() << "StackOptions changed after the stack was built: no effect";
  return stack_options_;
}

void ProxyHarness::Start() {
  if (proxy_) return;
  stack_ = std::make_unique<tcp::TcpStack>(stack_options_, header_pool_, indirect_pool_,
                                           *output_, tcp_counters_, kKey, now_);
  absl::StatusOr<std::unique_ptr<ProxySnapshot>> snapshot =
      BuildSnapshot(settings_, /*version=*/1, /*workers=*/1, nullptr);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  snapshots_.push_back(*std::move(snapshot));
  // The proxy's own mbufs (PROXY protocol headers) come from the data pool, which has room for
  // any header; the worker's one pool does in ferryd.
  // A fixed seed: round robin's first backend and the backoff draws are the same every run.
  proxy_ = std::make_unique<Proxy>(/*worker=*/0, *snapshots_.back(), *stack_, data_pool_,
                                   /*seed=*/1, now_);
  const absl::Status status = proxy_->Start();
  EXPECT_TRUE(status.ok()) << status;
}

tcp::TcpStack& ProxyHarness::stack() {
  Start();
  return *stack_;
}

Proxy& ProxyHarness::proxy() {
  Start();
  return *proxy_;
}

uint64_t ProxyHarness::counter(ProxyCounter c) { return proxy().counters().Load(c); }

uint64_t ProxyHarness::counter(ListenerCounter c, uint32_t listener) {
  return proxy().listener_stats(listener).counters.Load(c);
}

uint64_t ProxyHarness::counter(BackendCounter c, uint32_t backend) {
  return proxy().backend_stats(0, backend).counters.Load(c);
}

absl::Status ProxyHarness::Reconfigure(const ProxySettings& next) {
  Start();
  absl::StatusOr<std::unique_ptr<ProxySnapshot>> snapshot = BuildSnapshot(
      next, snapshots_.back()->version + 1, /*workers=*/1, snapshots_.back().get());
  if (!snapshot.ok()) return snapshot.status();
  snapshots_.push_back(*std::move(snapshot));
  return proxy_->Adopt(*snapshots_.back());
}

// --- Flows ---

Flow& ProxyHarness::NewFlow(const tcp::FourTuple& tuple) {
  flows_.push_back(std::make_unique<Flow>());
  Flow& f = *flows_.back();
  f.tuple = tuple;
  f.local_port = tuple.local_port;
  f.remote_port = tuple.remote_port;
  // Peer ISNs differ per flow and sit well apart from each other.
  f.peer_isn = (tuple.remote_ip == kClientIp ? 1'000'000'000u : 2'000'000'000u) +
               tuple.remote_port + 65536u * static_cast<uint32_t>(flows_.size());
  const ProxySettings& settings = current();
  for (uint32_t i = 0; i < settings.pools[0].backends.size(); ++i) {
    const BackendSettings& b = settings.pools[0].backends[i];
    if (b.address == tuple.remote_ip && b.port == tuple.remote_port) f.backend = i;
  }
  f.name = f.backend ? settings.pools[0].backends[*f.backend].name + " from " +
                           tuple.local_ip.ToString() + ":" + std::to_string(tuple.local_port)
                     : tuple.remote_ip.ToString() + ":" + std::to_string(tuple.remote_port) +
                           " to " + tuple.local_ip.ToString() + ":" +
                           std::to_string(tuple.local_port);
  by_tuple_[KeyOf(tuple)] = &f;
  return f;
}

const ProxySettings& ProxyHarness::current() const {
  return proxy_ != nullptr ? proxy_->snapshot().settings : settings_;
}

Flow& ProxyHarness::Client(uint16_t port, uint32_t listener) {
  const ListenerSettings& l = current().listeners[listener];
  return ClientTo(port, l.address, l.port);
}

Flow& ProxyHarness::ClientTo(uint16_t port, net::Ipv4Address address, uint16_t vip_port) {
  const tcp::FourTuple tuple{
      .local_ip = address, .remote_ip = kClientIp, .local_port = vip_port, .remote_port = port};
  const auto it = by_tuple_.find(KeyOf(tuple));
  if (it != by_tuple_.end()) return *it->second;
  Flow& f = NewFlow(tuple);
  f.name = "client " + std::to_string(port);
  return f;
}

Flow& ProxyHarness::ExpectSyn(std::optional<uint32_t> backend, const Seg& want,
                              std::source_location loc) {
  Start();
  Flow* oldest = nullptr;
  for (auto& f : flows_) {
    if (f->taken || !f->backend || f->pending.empty()) continue;
    if (oldest == nullptr || f->pending.front().first < oldest->pending.front().first) {
      oldest = f.get();
    }
  }
  if (oldest == nullptr) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "expected a SYN to " << (backend ? "b" + std::to_string(*backend) : "a backend")
        << ", but ferry sent none (t=" << Ms(elapsed()) << " ms)";
    // A flow to nowhere, so the test can go on (and fail further on).
    Flow& nowhere = NewFlow(tcp::FourTuple{});
    nowhere.taken = true;
    nowhere.name = "no SYN";
    return nowhere;
  }
  Flow& f = *oldest;
  f.taken = true;
  if (backend && f.backend != backend) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "the SYN went to " << f.name << ", expected b" << *backend;
  }
  // docs/proxy.md 2: from the next source address, or the backend's default_source.
  const std::vector<net::Ipv4Address>& sources = settings_.source_addresses;
  const bool source_ok =
      sources.empty()
          ? f.tuple.local_ip == settings_.pools[0].backends[*f.backend].default_source
          : std::find(sources.begin(), sources.end(), f.tuple.local_ip) != sources.end();
  EXPECT_TRUE(source_ok) << "SYN to a backend from " << f.tuple.local_ip.ToString();
  EXPECT_GE(f.tuple.local_port, stack_options_.ephemeral_first) << "not an ephemeral port";
  EXPECT_LE(f.tuple.local_port, stack_options_.ephemeral_last) << "not an ephemeral port";
  Expect(f, want, loc);
  return f;
}

size_t ProxyHarness::syns_waiting() const {
  return std::count_if(flows_.begin(), flows_.end(), [](const auto& f) {
    return !f->taken && f->backend && !f->pending.empty();
  });
}

Seg ProxyHarness::SynOf(const Flow& f, const Peer& peer) {
  Seg syn = Syn().Seq(0).Win(peer.win);
  if (peer.mss) syn.Mss(*peer.mss);
  if (peer.ws) syn.Ws(*peer.ws);
  if (peer.sack) syn.SackOk();
  if (peer.ts) {
    syn.Ts(SegmentCodec::PeerTsNow(f, elapsed()), 0);
  } else {
    syn.NoTs();
  }
  return syn;
}

Seg ProxyHarness::SynAckOf(const Flow& f, const Peer& peer) {
  Seg synack = SynAck().Seq(0).Ack(1).Win(peer.win);
  if (peer.mss) synack.Mss(*peer.mss);
  if (peer.ws) synack.Ws(*peer.ws);
  if (peer.sack) synack.SackOk();
  if (peer.ts) {
    synack.Ts(SegmentCodec::PeerTsNow(f, elapsed()), f.last_tsval.value_or(0));
  } else {
    synack.NoTs();
  }
  return synack;
}

void ProxyHarness::Handshake(Flow& client, const Peer& peer, std::source_location loc) {
  Inject(client, SynOf(client, peer), loc);
  Expect(client, SynAck().Seq(0).Ack(1), loc);
  Inject(client, Ack().Seq(1).Ack(1).Win(peer.win), loc);
  client.peer_window = peer.win;
}

void ProxyHarness::Accept(Flow& backend, const Peer& peer, std::source_location loc) {
  Inject(backend, SynAckOf(backend, peer), loc);
  Expect(backend, Ack().Seq(1).Ack(1), loc);
  backend.peer_window = peer.win;
}

ProxyHarness::Session ProxyHarness::Splice(uint16_t client_port,
                                           std::optional<uint32_t> backend,
                                           std::source_location loc) {
  Flow& c = Client(client_port);
  Handshake(c, {}, loc);
  Flow& b = ExpectSyn(backend, Syn().Seq(0), loc);
  Accept(b, {}, loc);
  return Session{c, b};
}

// --- Script steps ---

void ProxyHarness::Inject(Flow& f, const Seg& s, std::source_location loc) {
  Start();
  if (SegmentCodec::local_port(s) || SegmentCodec::remote_port(s)) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "the proxy harness names connections by Flow: no .Port/.Ports";
    return;
  }
  rte_mbuf* m = SegmentCodec::BuildInjected(s, f, f.tuple.remote_ip, f.tuple.local_ip,
                                            elapsed(), SegmentCodec::PeerTsNow(f, elapsed()),
                                            data_pool_, loc);
  if (m == nullptr) return;
  // What the peer sent, at its relative sequence numbers (the payload follows the 20-byte
  // header and its options).
  const uint32_t header = (uint32_t{rte_pktmbuf_mtod(m, const uint8_t*)[12]} >> 4) * 4;
  const uint32_t length = rte_pktmbuf_data_len(m) - header;
  if (length > 0) {
    const uint32_t seq = net::LoadBe32(rte_pktmbuf_mtod_offset(m, const uint8_t*, 4));
    const uint32_t syn = (rte_pktmbuf_mtod(m, const uint8_t*)[13] & TcpFlags::kSyn) ? 1 : 0;
    const uint32_t offset = seq - f.peer_isn + syn - 1;
    if (offset < (1u << 24)) {
      if (f.from_peer.size() < offset + length) f.from_peer.resize(offset + length, '\0');
      f.from_peer.replace(offset, length,
                          rte_pktmbuf_mtod_offset(m, const char*, header), length);
    }
  }
  if (rte_pktmbuf_mtod(m, const uint8_t*)[13] & TcpFlags::kRst) f.reset = true;
  last_injected_ = m;
  proxy_->set_now(now_);
  stack_->Input(m, f.tuple.remote_ip, f.tuple.local_ip, now_);
}

void ProxyHarness::Expect(Flow& f, const Seg& want, std::source_location loc) {
  if (SegmentCodec::local_port(want) || SegmentCodec::remote_port(want)) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "the proxy harness names connections by Flow: no .Port/.Ports";
  }
  if (f.pending.empty()) {
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "expected on " << f.name << ": " << SegmentCodec::Describe(want)
        << "\n  but ferry sent nothing there (t=" << Ms(elapsed()) << " ms)";
    return;
  }
  const Captured got = std::move(f.pending.front().second);
  f.pending.pop_front();
  std::vector<std::string> why;
  if (!SegmentCodec::Compare(want, got, f, why)) {
    std::string reasons;
    for (const std::string& w : why) reasons += (reasons.empty() ? "" : ", ") + w;
    ADD_FAILURE_AT(loc.file_name(), loc.line())
        << "segment on " << f.name << " differs in: " << reasons
        << "\n  expected: " << SegmentCodec::Describe(want)
        << "\n    actual: " << Describe(f, got);
  }
}

void ProxyHarness::ExpectNothing(Flow& f, std::source_location loc) {
  if (f.pending.empty()) return;
  std::string all;
  for (const auto& [order, c] : f.pending) all += "\n    " + Describe(f, c);
  ADD_FAILURE_AT(loc.file_name(), loc.line())
      << "expected no segment on " << f.name << ", but ferry sent:" << all;
  f.pending.clear();
}

void ProxyHarness::ExpectNothing(std::source_location loc) {
  for (auto& f : flows_) ExpectNothing(*f, loc);
}

std::optional<Captured> ProxyHarness::Take(Flow& f) {
  if (f.pending.empty()) return std::nullopt;
  Captured c = std::move(f.pending.front().second);
  f.pending.pop_front();
  return c;
}

std::optional<Captured> ProxyHarness::TakeLast(Flow& f) {
  std::optional<Captured> last;
  while (std::optional<Captured> c = Take(f)) last = std::move(c);
  return last;
}

void ProxyHarness::FlushAll() {
  for (auto& f : flows_) f->pending.clear();
}

// --- Time ---

void ProxyHarness::Advance(base::Duration d, std::optional<base::Duration> step_option) {
  Start();
  const base::Instant end = now_ + d;
  const base::Duration step = step_option.value_or(stack_options_.timer_tick);
  while (now_ < end) {
    now_ = std::min(end, now_ + step);
    // The proxy's now first: the stack's timers raise events the proxy handles.
    proxy_->set_now(now_);
    stack_->Tick(now_);
    proxy_->Tick(now_);
  }
}

base::Duration ProxyHarness::AdvanceUntilOutput(base::Duration limit) {
  Start();
  const base::Instant begin = now_;
  const uint64_t before = sent_count_;
  while (now_ - begin < limit && sent_count_ == before) {
    Advance(std::min(stack_options_.timer_tick, limit - (now_ - begin)));
  }
  return now_ - begin;
}

base::Duration ProxyHarness::AdvanceUntilOutput(Flow& f, base::Duration limit) {
  Start();
  const base::Instant begin = now_;
  const size_t before = f.pending.size();
  while (now_ - begin < limit && f.pending.size() <= before) {
    Advance(std::min(stack_options_.timer_tick, limit - (now_ - begin)));
  }
  return now_ - begin;
}

// --- Capture ---

void ProxyHarness::Capture(rte_mbuf* packet) {
  std::optional<tcp::packet::SentSegment> sent = SegmentCodec::ParseSent(packet, now_);
  if (!sent) return;
  Captured& c = sent->segment;
  const tcp::FourTuple tuple{.local_ip = sent->source,
                             .remote_ip = sent->destination,
                             .local_port = c.local_port,
                             .remote_port = c.remote_port};
  auto it = by_tuple_.find(KeyOf(tuple));
  Flow* f = it != by_tuple_.end() ? it->second : nullptr;
  // A SYN on a tuple used before (an ephemeral port used again) starts a new flow when the
  // old connection was reset or the ISS differs (the fake clock may not have moved, so the
  // ISS of RFC 6528 can repeat); old handles keep the old flow.
  const bool new_syn = c.syn() && !(c.flags & TcpFlags::kAck);
  if (f == nullptr || (new_syn && (f->reset || (f->iss && *f->iss != c.seq)))) {
    f = &NewFlow(tuple);
  }
  if (c.rst()) f->reset = true;
  if (!f->backend && sent->source != kVip) {
    bool ours = false;
    for (const ListenerSettings& l : settings_.listeners) ours |= l.address == sent->source;
    EXPECT_TRUE(ours) << "ferry sent to a client from " << sent->source.ToString();
  }
  SegmentCodec::Track(c, *f);
  // Bytes sent again at the same sequence numbers must be the same bytes.
  if (!c.payload.empty() && f->iss && !c.syn()) {
    const uint32_t offset = c.seq - *f->iss - 1;
    if (offset < (1u << 24)) {
      const size_t overlap =
          std::min(c.payload.size(),
                   f->from_ferry.size() > offset ? f->from_ferry.size() - offset : size_t{0});
      if (f->from_ferry.compare(std::min<size_t>(offset, f->from_ferry.size()), overlap,
                                c.payload, 0, overlap) != 0) {
        ADD_FAILURE() << "ferry sent other bytes at the same sequence numbers on " << f->name
                      << ": " << Describe(*f, c);
      }
      if (f->from_ferry.size() < offset + c.payload.size()) {
        f->from_ferry.resize(offset + c.payload.size(), '\0');
      }
      f->from_ferry.replace(offset, c.payload.size(), c.payload);
    }
  }
  f->pending.emplace_back(sent_count_++, std::move(c));
}

std::string ProxyHarness::Describe(const Flow& f, const Captured& c) const {
  return SegmentCodec::Describe(c, &f, start_);
}

}  // namespace ferry::proxy::packet
