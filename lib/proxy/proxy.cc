// Proxy set-up, accept, backend choice, connect with retries, timers and release (proxy.h).
#include "proxy/proxy.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <cassert>
#include <limits>

#include "absl/strings/str_format.h"

namespace ferry::proxy {
namespace {

// The proxy's own wheel: its timers (connect, backoff, idle, lifetime) are milliseconds to
// hours, so a 1 ms tick and 4096 slots (4 s per turn) suffice; later deadlines go round.
constexpr tcp::TimerWheel::Options kWheel{std::chrono::milliseconds(1), 4096};

}  // namespace

Proxy::Proxy(const ProxySettings& settings,
             std::vector<std::unique_ptr<const Balancer>> balancers, tcp::TcpStack& stack,
             rte_mempool* pool, uint64_t seed, base::Instant now)
    : settings_(settings),
      balancers_(std::move(balancers)),
      stack_(stack),
      pool_(pool),
      now_(now),
      rng_(seed, 0x70726f7879ull),
      wheel_(kWheel, now),
      listener_stats_(settings.listeners.size()) {
  assert(balancers_.size() == settings_.pools.size());
  uint32_t capacity = settings_.max_sessions;
  if (capacity == 0) capacity = std::max<uint32_t>(1, stack_.options().max_connections / 2);
  sessions_.reserve(capacity);
  free_.reserve(capacity);
  for (uint32_t i = 0; i < capacity; ++i) sessions_.push_back(std::make_unique<Session>(i));
  for (uint32_t i = capacity; i-- > 0;) free_.push_back(sessions_[i].get());
  pools_.reserve(settings_.pools.size());
  for (size_t p = 0; p < settings_.pools.size(); ++p) {
    const size_t n = settings_.pools[p].backends.size();
    pools_.push_back(PoolState{
        .pick = PickState(static_cast<uint32_t>(n), seed ^ (0x9e3779b97f4a7c15ull * (p + 1))),
        .views = std::vector<BackendView>(n),
        .active = std::vector<uint32_t>(n, 0),
        .stats = std::vector<BackendStats>(n),
    });
    for (const TlvSettings& t : settings_.pools[p].proxy_protocol_tlvs) {
      pools_.back().tlvs.push_back(Tlv{.type = t.type, .value = t.value});
    }
  }
}

Proxy::~Proxy() {
  // Sessions still open at shutdown: the stack goes away with the worker (it may be gone
  // already: the TCBs are not touched), so only the mbufs held here and the timers need
  // releasing.
  for (auto& s : sessions_) {
    if (s->state == SessionState::kFree) continue;
    for (Side side : {Side::kClient, Side::kBackend}) {
      HeldData& held = s->held_for(side);
      if (held.head != nullptr) rte_pktmbuf_free(held.head);
      held = HeldData{};
    }
    wheel_.Cancel(s->connect_timer);
    wheel_.Cancel(s->idle_timer);
    wheel_.Cancel(s->lifetime_timer);
  }
}

absl::Status Proxy::Start() {
  for (uint32_t i = 0; i < settings_.listeners.size(); ++i) {
    const ListenerSettings& l = settings_.listeners[i];
    listener_handlers_.push_back(std::make_unique<ListenerHandler>(*this, i));
    tcp::ConnectionOptions options = l.connection;
    options.send_buffer = l.max_in_flight_bytes;
    const absl::Status status = stack_.Listen(l.address, l.port, options,
                                              listener_handlers_.back().get());
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrFormat("proxy listener %s (%s:%d): %s", l.name,
                                          l.address.ToString(), l.port, status.message()));
    }
  }
  return absl::OkStatus();
}

std::span<const BackendStats> Proxy::backend_stats(uint32_t pool) const {
  return pools_[pool].stats;
}

// ---- Accept ----------------------------------------------------------------------------------

tcp::ConnectionHandler* Proxy::Accept(uint32_t listener, tcp::Tcb& client) {
  const ListenerSettings& l = settings_.listeners[listener];
  ListenerStats& stats = listener_stats_[listener];
  if (l.max_sessions != 0 &&
      stats.counters.Load(ListenerCounter::kSessionsActive) >= l.max_sessions) {
    stats.counters.Add(ListenerCounter::kRejectedOverLimit);
    return nullptr;  // the stack resets the client
  }
  if (free_.empty()) {
    counters_.Add(ProxyCounter::kRejectedNoSession);
    return nullptr;
  }
  Session& s = *free_.back();
  free_.pop_back();
  s.state = SessionState::kConnecting;
  s.listener = listener;
  s.pool = l.pool;
  s.client = &client;
  s.backend = nullptr;
  s.backend_counted = false;
  s.attempts = 0;
  s.tried.Clear();
  s.accepted_at = now_;
  s.last_activity = now_;
  client.user_data = &s;
  counters_.Add(ProxyCounter::kSessionsActive);
  counters_.Add(ProxyCounter::kSessionsTotal);
  stats.counters.Add(ListenerCounter::kSessionsActive);
  stats.counters.Add(ListenerCounter::kSessionsTotal);
  if (l.idle_timeout.count() > 0) wheel_.Schedule(s.idle_timer, now_ + l.idle_timeout);
  if (l.max_lifetime.count() > 0) wheel_.Schedule(s.lifetime_timer, now_ + l.max_lifetime);
  StartAttempt(s);
  // StartAttempt ends the session at once when no backend can be tried; the client has then
  // been reset, and the stack is told there is no owner.
  return client.user_data != nullptr ? this : nullptr;
}

// ---- Choosing a backend and connecting -------------------------------------------------------

void Proxy::BackendActive(Session& s, bool active) {
  if (s.backend_counted == active) return;
  s.backend_counted = active;
  PoolState& pool = pools_[s.pool];
  BackendCounters& c = pool.stats[s.backend_index].counters;
  if (active) {
    ++pool.active[s.backend_index];
    c.Add(BackendCounter::kSessionsActive);
  } else {
    --pool.active[s.backend_index];
    c.Sub(BackendCounter::kSessionsActive);
  }
}

void Proxy::StartAttempt(Session& s) {
  const PoolSettings& pool_settings = settings_.pools[s.pool];
  PoolState& pool = pools_[s.pool];
  ListenerStats& lstats = listener_stats_[s.listener];
  for (uint32_t i = 0; i < pool.views.size(); ++i) {
    const BackendSettings& b = pool_settings.backends[i];
    pool.views[i] = BackendView{
        .index = i,
        .weight = b.weight,
        .eligible = b.enabled && (b.max_sessions == 0 || pool.active[i] < b.max_sessions),
    };
  }
  PickContext context{
      .client_address = s.client->tuple().remote_ip,
      .client_port = s.client->tuple().remote_port,
      .backends = pool.views,
      .active_connections = pool.active,
      .excluded = s.tried.indices(),
  };
  std::optional<uint32_t> pick = balancers_[s.pool]->Pick(context, pool.pick);
  if (!pick && s.tried.size() > 0) {
    // Every backend still eligible has been tried: try them again rather than give up while
    // attempts are left (a pool of one backend still gets its retries).
    context.excluded = {};
    pick = balancers_[s.pool]->Pick(context, pool.pick);
  }
  if (!pick) {
    lstats.counters.Add(s.attempts == 0 ? ListenerCounter::kNoBackend
                                        : ListenerCounter::kConnectGaveUp);
    EndSession(s, Ending::kBroken);
    return;
  }
  s.backend_index = *pick;
  s.tried.Add(*pick);
  ++s.attempts;
  counters_.Add(ProxyCounter::kConnectAttempts);
  const BackendSettings& b = pool_settings.backends[*pick];
  tcp::ConnectionOptions options = pool_settings.connection;
  options.send_buffer = settings_.listeners[s.listener].max_in_flight_bytes;

  // Sources in turn; a source whose ephemeral ports to this backend are all taken gives way to
  // the next.
  const size_t sources = settings_.source_addresses.size();
  tcp::Tcb* backend = nullptr;
  tcp::ConnectError error = tcp::ConnectError::kOk;
  for (size_t tries = 0; tries < std::max<size_t>(sources, 1); ++tries) {
    net::Ipv4Address source = b.default_source;
    if (sources > 0) {
      source = settings_.source_addresses[pool.next_source % sources];
      pool.next_source = static_cast<uint32_t>((pool.next_source + 1) % sources);
    }
    const tcp::FourTuple tuple{.local_ip = source,
                               .remote_ip = b.address,
                               .local_port = 0,
                               .remote_port = b.port};
    backend = stack_.Connect(tuple, options, this, now_, &error, &s);
    if (backend != nullptr || error != tcp::ConnectError::kNoEphemeralPort) break;
  }
  s.attempt_started_at = now_;
  if (backend == nullptr) {
    // Our side could not start it (no TCB, port or mbuf): a failed attempt, as if refused.
    counters_.Add(ProxyCounter::kConnectLocalErrors);
    AttemptFailed(s);
    return;
  }
  s.backend = backend;
  s.state = SessionState::kConnecting;
  BackendActive(s, true);
  wheel_.Schedule(s.connect_timer, now_ + pool_settings.connect_timeout);
}

void Proxy::AttemptFailed(Session& s) {
  wheel_.Cancel(s.connect_timer);
  BackendActive(s, false);
  s.backend = nullptr;
  const PoolSettings& pool = settings_.pools[s.pool];
  if (s.attempts >= pool.connect_attempts) {
    listener_stats_[s.listener].counters.Add(ListenerCounter::kConnectGaveUp);
    EndSession(s, Ending::kBroken);
    return;
  }
  counters_.Add(ProxyCounter::kRetries);
  listener_stats_[s.listener].counters.Add(ListenerCounter::kRetries);
  // Full jitter: uniform in [0, min(max, base * 2^(n - 1))] for the n-th retry ("Exponential
  // Backoff And Jitter", AWS Architecture Blog, 2015), so the retries of many sessions after
  // one backend failed do not arrive together.
  const uint32_t n = s.attempts;  // this is retry n
  const int64_t base = pool.retry_backoff_base.count();
  const int64_t cap = pool.retry_backoff_max.count();
  int64_t ceiling = base;
  for (uint32_t i = 1; i < n && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  const uint32_t ceiling_us = static_cast<uint32_t>(
      std::min<int64_t>(ceiling / 1000, std::numeric_limits<uint32_t>::max() - 1));
  const base::Duration delay = std::chrono::microseconds(rng_.Below(ceiling_us + 1));
  s.state = SessionState::kBackoff;
  wheel_.Schedule(s.connect_timer, now_ + delay);
}

// ---- Timers ----------------------------------------------------------------------------------

void Proxy::Tick(base::Instant now) {
  now_ = now;
  wheel_.Advance(now, [this](tcp::TimerNode& node) { OnTimer(node); });
}

void Proxy::OnTimer(tcp::TimerNode& node) {
  Session& s = *sessions_[node.id];
  if (s.state == SessionState::kFree) return;
  const ListenerSettings& l = settings_.listeners[s.listener];
  switch (static_cast<SessionTimer>(node.kind)) {
    case SessionTimer::kConnect:
      if (s.state == SessionState::kBackoff) {
        StartAttempt(s);
      } else if (s.state == SessionState::kConnecting && s.backend != nullptr) {
        pools_[s.pool].stats[s.backend_index].counters.Add(BackendCounter::kConnectTimeouts);
        tcp::Tcb* backend = s.backend;
        backend->user_data = nullptr;
        s.backend = nullptr;
        stack_.Abort(*backend, now_);
        AttemptFailed(s);
      }
      return;
    case SessionTimer::kIdle:
      if (now_ - s.last_activity >= l.idle_timeout) {
        listener_stats_[s.listener].counters.Add(ListenerCounter::kIdleTimeouts);
        EndSession(s, Ending::kTimedOut);
      } else {
        wheel_.Schedule(s.idle_timer, s.last_activity + l.idle_timeout);
      }
      return;
    case SessionTimer::kLifetime:
      listener_stats_[s.listener].counters.Add(ListenerCounter::kLifetimeExpiries);
      EndSession(s, Ending::kTimedOut);
      return;
  }
}

// ---- Ending ----------------------------------------------------------------------------------

void Proxy::EndSession(Session& s, Ending how) {
  for (Side side : {Side::kClient, Side::kBackend}) {
    tcp::Tcb*& c = s.connection(side);
    if (c == nullptr) continue;
    tcp::Tcb* connection = c;
    connection->user_data = nullptr;
    c = nullptr;
    // Timed out with bytes for this side that nobody acknowledged all that time, or with
    // bytes this side sent being dropped (still held for the other): a FIN would say all is
    // well, so a RST, and no mbuf waits out the retransmission limit.
    const bool stuck = how == Ending::kTimedOut &&
                       (connection->send_queued() > 0 || s.held_for(side).bytes > 0 ||
                        s.held_for(Other(side)).bytes > 0);
    // A backend still connecting has nothing to close gracefully; a broken session, and a
    // stuck timed-out one, are reset (proxy.h).
    if (stuck || (side == Side::kBackend && s.state != SessionState::kSpliced) ||
        how == Ending::kBroken) {
      stack_.Abort(*connection, now_);
    } else {
      stack_.Close(*connection, now_);
    }
  }
  Release(s);
}

// The record goes back to the pool: held mbufs freed, timers cancelled, gauges lowered.
void Proxy::Release(Session& s) {
  assert(s.client == nullptr && s.backend == nullptr);
  for (Side side : {Side::kClient, Side::kBackend}) {
    HeldData& held = s.held_for(side);
    if (held.head != nullptr) {
      counters_.Sub(ProxyCounter::kBytesHeld, held.bytes);
      rte_pktmbuf_free(held.head);
    }
    held = HeldData{};
    s.fin_from(side) = false;
    s.shut_down(side) = false;
  }
  BackendActive(s, false);
  wheel_.Cancel(s.connect_timer);
  wheel_.Cancel(s.idle_timer);
  wheel_.Cancel(s.lifetime_timer);
  ListenerStats& stats = listener_stats_[s.listener];
  stats.counters.Sub(ListenerCounter::kSessionsActive);
  stats.session_duration.Record(now_ - s.accepted_at);
  counters_.Sub(ProxyCounter::kSessionsActive);
  s.state = SessionState::kFree;
  free_.push_back(&s);
}

}  // namespace ferry::proxy
