// One worker's proxy (docs/proxy.md): it listens on the configured virtual services of its TCP
// stack, gives each accepted client a session, picks a backend, connects to it, and splices the
// two connections: the mbufs one side delivers are queued, as they are, on the other side's
// send queue. Everything is per worker and preallocated: the session records, the statistics,
// the balancers' per-worker state, the timers.
//
// Flow control (ARCHITECTURE.md "Backpressure"): the window each connection offers is what the
// other connection's send queue can still take, less what the session holds for it. The send
// queues are max_in_flight_bytes long, so a session holds at most that much per direction,
// whoever is slow.
//
// The work is split over two files, both members of Proxy:
//   proxy.cc   set-up, accept, backend choice, connect, retries with backoff, timers, release
//   splice.cc  the connection events: data, acknowledgements, FINs, resets; the PROXY header
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "base/clock.h"
#include "proxy/balancer.h"
#include "proxy/proxy_counters.h"
#include "proxy/proxy_protocol.h"
#include "proxy/proxy_settings.h"
#include "proxy/session.h"
#include "tcp/events.h"
#include "tcp/stack.h"
#include "tcp/timer_wheel.h"

struct rte_mempool;
struct rte_mbuf;

namespace ferry::proxy {

class Proxy final : public tcp::ConnectionHandler {
 public:
  // `settings` must be valid (lib/control checks them) and outlive the proxy; `balancers[i]`
  // is pool i's policy. `pool` supplies the mbufs of PROXY protocol headers. `seed` seeds the
  // per-worker random numbers (balancing, backoff jitter): it should differ per worker.
  Proxy(const ProxySettings& settings, std::vector<std::unique_ptr<const Balancer>> balancers,
        tcp::TcpStack& stack, rte_mempool* pool, uint64_t seed, base::Instant now);
  ~Proxy() override;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Listens on every listener. Errors name the listener: "proxy listener web (198.18.0.1:80):
  // ...".
  absl::Status Start();

  // Fires the proxy's timers due by `now` (connect timeouts, backoffs, idle and lifetime).
  // Call once per loop iteration, like TcpStack::Tick.
  void Tick(base::Instant now);
  // The worker's notion of now for events (the stack's events carry no time).
  void set_now(base::Instant now) { now_ = now; }

  const ProxyCounters& counters() const { return counters_; }
  std::span<const ListenerStats> listener_stats() const { return listener_stats_; }
  // Pool p's backends' statistics: backend_stats(p)[b].
  std::span<const BackendStats> backend_stats(uint32_t pool) const;
  const ProxySettings& settings() const { return settings_; }
  uint32_t session_capacity() const { return static_cast<uint32_t>(sessions_.size()); }
  // Bytes reserved per session slot: the record itself (the TCBs are the stack's).
  static constexpr size_t session_bytes() { return sizeof(Session); }

  // tcp::ConnectionHandler (both connections of every session; splice.cc).
  void OnConnected(tcp::Tcb& connection) override;
  void OnData(tcp::Tcb& connection, rte_mbuf* chain, uint32_t length) override;
  void OnAcked(tcp::Tcb& connection, uint32_t bytes) override;
  void OnPeerFin(tcp::Tcb& connection) override;
  void OnClosed(tcp::Tcb& connection, tcp::CloseReason reason) override;
  uint32_t ReceiveSpace(const tcp::Tcb& connection) const override;

 private:
  // A ListenHandler per listener, so OnAccept knows which one.
  class ListenerHandler final : public tcp::ListenHandler {
   public:
    ListenerHandler(Proxy& proxy, uint32_t listener) : proxy_(proxy), listener_(listener) {}
    tcp::ConnectionHandler* OnAccept(tcp::Tcb& connection) override {
      return proxy_.Accept(listener_, connection);
    }
    uint32_t AcceptReceiveSpace() const override {
      return proxy_.settings_.listeners[listener_].max_in_flight_bytes;
    }

   private:
    Proxy& proxy_;
    const uint32_t listener_;
  };

  // Per (worker, pool): what balancing reads and writes.
  struct PoolState {
    PickState pick;
    std::vector<BackendView> views;          // rebuilt before each pick
    std::vector<uint32_t> active;            // sessions per backend (connecting or connected)
    std::vector<BackendStats> stats;
    uint32_t next_source = 0;                // settings.source_addresses, in turn
    std::vector<Tlv> tlvs;                   // PROXY v2 TLVs, viewing the settings' values
  };

  // proxy.cc
  tcp::ConnectionHandler* Accept(uint32_t listener, tcp::Tcb& client);
  // Picks a backend (excluding those tried, unless every one was) and sends the SYN. On
  // failure the session is ended or (for a failed attempt with attempts left) retried.
  void StartAttempt(Session& s);
  // The attempt in progress failed (the cause already counted): retries after a backoff, or
  // gives up and resets the client.
  void AttemptFailed(Session& s);
  void OnTimer(tcp::TimerNode& node);
  void IdleTimeout(Session& s);
  // How a session ends (EndSession).
  enum class Ending : uint8_t {
    kFinished,  // both directions are over: both connections Close (FIN after what is queued)
    kTimedOut,  // idle or too old: a connection with nothing queued Closes; one with data
                // queued that nobody acknowledged all this time, or whose own data is being
                // dropped, is Aborted (RST), so no mbuf waits out the retransmission limit
    kBroken,    // a RST, a dead peer, no backend: RST to whichever connection is left
  };
  // Ends the session as `how` says, then releases the record.
  void EndSession(Session& s, Ending how);
  void Release(Session& s);
  void BackendActive(Session& s, bool active);

  // splice.cc
  // Moves what the session holds for `to` into its send queue, as much as fits; then, if
  // `from`'s FIN has been received and nothing is held, shuts `to` down.
  void Flush(Session& s, Side to);
  // Appends `chain` to what the session holds for side `to`. False (chain freed) when the
  // chain cannot be linked (mbuf segment count overflow).
  bool Hold(Session& s, Side to, rte_mbuf* chain, uint32_t length);
  bool SendProxyHeader(Session& s);
  void Connected(Session& s);
  void CountBytes(Session& s, Side to, uint32_t bytes);

  Session* SessionOf(const tcp::Tcb& connection) const {
    return static_cast<Session*>(connection.user_data);
  }

  const ProxySettings& settings_;
  const std::vector<std::unique_ptr<const Balancer>> balancers_;
  tcp::TcpStack& stack_;
  rte_mempool* const pool_;
  base::Instant now_;
  Pcg32 rng_;
  tcp::TimerWheel wheel_;
  std::vector<std::unique_ptr<Session>> sessions_;  // preallocated; index = TimerNode::id
  std::vector<Session*> free_;
  std::vector<std::unique_ptr<ListenerHandler>> listener_handlers_;
  std::vector<PoolState> pools_;
  std::vector<ListenerStats> listener_stats_;
  ProxyCounters counters_;
};

}  // namespace ferry::proxy
