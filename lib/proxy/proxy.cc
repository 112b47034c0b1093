// Proxy set-up, accept, backend choice, connect with retries, timers and release (proxy.h).
#include "proxy/proxy.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <limits>

#include "absl/strings/str_format.h"
#include "base/status_macros.h"

namespace ferry::proxy {
namespace {

// The proxy's own wheel: its timers (connect, backoff, idle, lifetime) are milliseconds to
// hours, so a 1 ms tick and 4096 slots (4 s per turn) suffice; later deadlines go round.
constexpr tcp::TimerWheel::Options kWheel{std::chrono::milliseconds(1), 4096};

}  // namespace

Proxy::Proxy(uint32_t worker, const ProxySnapshot& first, tcp::TcpStack& stack,
             rte_mempool* pool, uint64_t seed, base::Instant now)
    : worker_(worker),
      snapshot_(&first),
      stack_(stack),
      pool_(pool),
      seed_(seed),
      now_(now),
      rng_(seed, 0x70726f7879ull),
      wheel_(kWheel, now) {
  uint32_t capacity = first.settings.max_sessions;
  if (capacity == 0) capacity = std::max<uint32_t>(1, stack_.options().max_connections / 2);
  sessions_.reserve(capacity);
  free_.reserve(capacity);
  for (uint32_t i = 0; i < capacity; ++i) sessions_.push_back(std::make_unique<Session>(i));
  for (uint32_t i = capacity; i-- > 0;) free_.push_back(sessions_[i].get());
  for (size_t i = 0; i < first.settings.listeners.size(); ++i) {
    ListenerRecord& record = *first.listener_records[i];
    listeners_.push_back(std::make_unique<ListenerState>(ListenerState{
        .record = &record,
        .stats = &record.stats.at(worker_),
        .settings = first.settings.listeners[i],
        .pool = static_cast<int32_t>(first.settings.listeners[i].pool),
    }));
  }
  BuildPools();
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

uint32_t Proxy::ListenerHandler::AcceptReceiveSpace() const {
  return listener_.settings.max_in_flight_bytes;
}

absl::Status Proxy::Listen(ListenerState& l) {
  const ListenerSettings& settings = l.settings;
  auto handler = std::make_unique<ListenerHandler>(*this, l);
  tcp::ConnectionOptions options = settings.connection;
  options.send_buffer = settings.max_in_flight_bytes;
  const absl::Status status = stack_.Listen(settings.address, settings.port, options,
                                            handler.get());
  if (!status.ok()) {
    counters_.Add(ProxyCounter::kListenFailures);
    return absl::Status(status.code(),
                        absl::StrFormat("proxy listener %s (%s:%d): %s", settings.name,
                                        settings.address.ToString(), settings.port,
                                        status.message()));
  }
  l.handler = std::move(handler);
  return absl::OkStatus();
}

void Proxy::StopListening(ListenerState& l) {
  if (l.handler == nullptr) return;
  // Handshakes in progress lose their listener and are reset when they complete (stack.h).
  (void)stack_.StopListening(l.settings.address, l.settings.port);
  l.handler.reset();
}

absl::Status Proxy::Start() {
  for (auto& l : listeners_) RETURN_IF_ERROR(Listen(*l));
  return absl::OkStatus();
}

void Proxy::BuildPools() {
  const ProxySettings& settings = snapshot_->settings;
  pools_.clear();
  pools_.reserve(settings.pools.size());
  for (size_t p = 0; p < settings.pools.size(); ++p) {
    const PoolSettings& pool = settings.pools[p];
    const size_t n = pool.backends.size();
    PoolState state{
        .settings = &pool,
        .balancer = snapshot_->balancers[p].get(),
        .pick = PickState(static_cast<uint32_t>(n),
                          seed_ ^ (0x9e3779b97f4a7c15ull * (p + 1)) ^ epoch_),
        .views = std::vector<BackendView>(n),
        .active = std::vector<uint32_t>(n, 0),
    };
    for (size_t b = 0; b < n; ++b) {
      BackendRecord& record = *snapshot_->backend_records[p][b];
      state.backends.push_back(BackendSlot{.settings = &pool.backends[b],
                                           .record = &record,
                                           .stats = &record.stats.at(worker_)});
    }
    for (const TlvSettings& t : pool.proxy_protocol_tlvs) {
      state.tlvs.push_back(Tlv{.type = t.type, .value = t.value});
    }
    pools_.push_back(std::move(state));
  }
}

absl::Status Proxy::Adopt(const ProxySnapshot& next) {
  const ProxySettings& settings = next.settings;
  // Listeners are known by their records (the same record, the same listener: snapshot.h).
  std::vector<std::unique_ptr<ListenerState>> adopted(settings.listeners.size());
  for (size_t i = 0; i < settings.listeners.size(); ++i) {
    for (auto& old : listeners_) {
      if (old != nullptr && old->record == next.listener_records[i].get()) {
        adopted[i] = std::move(old);
        break;
      }
    }
  }
  // First every address and port that is given up, so that a listener renamed, or two that
  // swap ports, can take them in the second pass.
  for (auto& old : listeners_) {
    if (old == nullptr) continue;
    // Removed: no new clients; its sessions carry on, and retry nowhere.
    StopListening(*old);
    old->pool = -1;
    if (old->sessions > 0) retired_listeners_.push_back(std::move(old));
  }
  std::vector<bool> listen(settings.listeners.size(), false);
  for (size_t i = 0; i < settings.listeners.size(); ++i) {
    const ListenerSettings& wanted = settings.listeners[i];
    ListenerState* state = adopted[i].get();
    if (state == nullptr) {
      ListenerRecord* record = next.listener_records[i].get();
      adopted[i] = std::make_unique<ListenerState>(
          ListenerState{.record = record, .stats = &record->stats.at(worker_)});
      listen[i] = true;
    } else if (state->settings.address != wanted.address || state->settings.port != wanted.port ||
               state->settings.max_in_flight_bytes != wanted.max_in_flight_bytes ||
               !(state->settings.connection == wanted.connection)) {
      // Handshakes in progress on the old one are reset when they complete (stack.h).
      StopListening(*state);
      listen[i] = true;
    } else if (state->handler == nullptr) {
      listen[i] = true;  // an earlier Listen failed: try again
    }
  }
  absl::Status first_error;
  for (size_t i = 0; i < settings.listeners.size(); ++i) {
    ListenerState& state = *adopted[i];
    state.settings = settings.listeners[i];
    state.pool = static_cast<int32_t>(settings.listeners[i].pool);
    if (!listen[i]) continue;
    const absl::Status status = Listen(state);
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  listeners_ = std::move(adopted);
  snapshot_ = &next;
  ++epoch_;
  BuildPools();
  return first_error;
}

// ---- Accept ----------------------------------------------------------------------------------

tcp::ConnectionHandler* Proxy::Accept(ListenerState& listener, tcp::Tcb& client) {
  const ListenerSettings& l = listener.settings;
  ListenerStats& stats = *listener.stats;
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
  s.listener = &listener;
  s.client = &client;
  s.backend = nullptr;
  s.backend_record = nullptr;
  s.backend_stats = nullptr;
  s.backend_counted = false;
  s.attempts = 0;
  s.bytes_from_client = 0;
  s.bytes_from_backend = 0;
  s.tried.Clear();
  s.epoch = epoch_;
  s.accepted_at = now_;
  s.last_activity = now_;
  client.user_data = &s;
  ++listener.sessions;
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
  BackendCounters& c = s.backend_stats->counters;
  if (active) {
    c.Add(BackendCounter::kSessionsActive);
  } else {
    // The session's last touch of the backend's record: once every worker's gauge is 0 the
    // control thread may free a removed backend's record (snapshot.h).
    std::atomic_thread_fence(std::memory_order_release);
    c.Sub(BackendCounter::kSessionsActive);
  }
}

void Proxy::StartAttempt(Session& s) {
  ListenerStats& lstats = *s.listener->stats;
  if (s.listener->pool < 0) {
    // The listener was removed while this session waited to retry: nowhere to go.
    lstats.counters.Add(ListenerCounter::kConnectGaveUp);
    EndSession(s, Ending::kBroken);
    return;
  }
  PoolState& pool = pools_[static_cast<uint32_t>(s.listener->pool)];
  const PoolSettings& pool_settings = *pool.settings;
  if (s.epoch != epoch_) {
    // A new snapshot since the last attempt: positions may have moved, so what was tried is
    // forgotten (the pool may have new backends to try).
    s.tried.Clear();
    s.epoch = epoch_;
  }
  for (uint32_t i = 0; i < pool.backends.size(); ++i) {
    const BackendSettings& b = *pool.backends[i].settings;
    pool.active[i] = static_cast<uint32_t>(
        pool.backends[i].stats->counters.Load(BackendCounter::kSessionsActive));
    pool.views[i] = BackendView{
        .index = i,
        .weight = b.weight,
        .eligible = b.enabled && !b.drain &&
                    (b.max_sessions == 0 || pool.active[i] < b.max_sessions),
    };
  }
  PickContext context{
      .client_address = s.client->tuple().remote_ip,
      .client_port = s.client->tuple().remote_port,
      .backends = pool.views,
      .active_connections = pool.active,
      .excluded = s.tried.indices(),
  };
  std::optional<uint32_t> pick = pool.balancer->Pick(context, pool.pick);
  if (!pick && s.tried.size() > 0) {
    // Every backend still eligible has been tried: try them again rather than give up while
    // attempts are left (a pool of one backend still gets its retries).
    context.excluded = {};
    pick = pool.balancer->Pick(context, pool.pick);
  }
  if (!pick) {
    lstats.counters.Add(s.attempts == 0 ? ListenerCounter::kNoBackend
                                        : ListenerCounter::kConnectGaveUp);
    EndSession(s, Ending::kBroken);
    return;
  }
  s.backend_index = *pick;
  s.backend_record = pool.backends[*pick].record;
  s.backend_stats = pool.backends[*pick].stats;
  s.tried.Add(*pick);
  ++s.attempts;
  counters_.Add(ProxyCounter::kConnectAttempts);
  const BackendSettings& b = *pool.backends[*pick].settings;
  tcp::ConnectionOptions options = pool_settings.connection;
  options.send_buffer = s.listener->settings.max_in_flight_bytes;
  const std::vector<net::Ipv4Address>& source_addresses = snapshot_->settings.source_addresses;

  // Sources in turn; a source whose ephemeral ports to this backend are all taken gives way to
  // the next.
  const size_t sources = source_addresses.size();
  tcp::Tcb* backend = nullptr;
  tcp::ConnectError error = tcp::ConnectError::kOk;
  for (size_t tries = 0; tries < std::max<size_t>(sources, 1); ++tries) {
    net::Ipv4Address source = b.default_source;
    if (sources > 0) {
      source = source_addresses[pool.next_source % sources];
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
  ListenerStats& lstats = *s.listener->stats;
  if (s.listener->pool < 0 ||
      s.attempts >= pools_[static_cast<uint32_t>(s.listener->pool)].settings->connect_attempts) {
    lstats.counters.Add(ListenerCounter::kConnectGaveUp);
    EndSession(s, Ending::kBroken);
    return;
  }
  const PoolSettings& pool = *pools_[static_cast<uint32_t>(s.listener->pool)].settings;
  counters_.Add(ProxyCounter::kRetries);
  lstats.counters.Add(ListenerCounter::kRetries);
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
  const ListenerSettings& l = s.listener->settings;
  switch (static_cast<SessionTimer>(node.kind)) {
    case SessionTimer::kConnect:
      if (s.state == SessionState::kBackoff) {
        StartAttempt(s);
      } else if (s.state == SessionState::kConnecting && s.backend != nullptr) {
        s.backend_stats->counters.Add(BackendCounter::kConnectTimeouts);
        tcp::Tcb* backend = s.backend;
        backend->user_data = nullptr;
        s.backend = nullptr;
        stack_.Abort(*backend, now_);
        AttemptFailed(s);
      }
      return;
    case SessionTimer::kIdle:
      if (now_ - s.last_activity >= l.idle_timeout) {
        s.listener->stats->counters.Add(ListenerCounter::kIdleTimeouts);
        EndSession(s, Ending::kTimedOut);
      } else {
        wheel_.Schedule(s.idle_timer, s.last_activity + l.idle_timeout);
      }
      return;
    case SessionTimer::kLifetime:
      s.listener->stats->counters.Add(ListenerCounter::kLifetimeExpiries);
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
  counters_.Sub(ProxyCounter::kSessionsActive);
  ListenerState& listener = *s.listener;
  s.listener = nullptr;
  s.backend_record = nullptr;
  s.backend_stats = nullptr;
  listener.stats->session_duration.Record(now_ - s.accepted_at);
  // The last touch of the listener's record (as in BackendActive).
  std::atomic_thread_fence(std::memory_order_release);
  listener.stats->counters.Sub(ListenerCounter::kSessionsActive);
  if (--listener.sessions == 0 && listener.pool < 0) {
    // A removed listener's last session: its state goes.
    for (auto& r : retired_listeners_) {
      if (r.get() != &listener) continue;
      r = std::move(retired_listeners_.back());
      retired_listeners_.pop_back();
      break;
    }
  }
  s.state = SessionState::kFree;
  free_.push_back(&s);
}

}  // namespace ferry::proxy
