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
#include "proxy/snapshot.h"
#include "tcp/events.h"
#include "tcp/stack.h"
#include "tcp/timer_wheel.h"

struct rte_mempool;
struct rte_mbuf;

namespace ferry::proxy {

// A listener as one worker runs it: made when a snapshot brings it, kept after a snapshot
// removes it until its last session ends (sessions point here).
struct ListenerState {
  ListenerRecord* record;
  ListenerStats* stats;       // this worker's slot of record->stats
  ListenerSettings settings;  // the adopted snapshot's (sessions read their limits here)
  int32_t pool = -1;          // index into the adopted snapshot's pools; -1 once removed
  std::unique_ptr<tcp::ListenHandler> handler;  // while listening
  uint32_t sessions = 0;
};

class Proxy final : public tcp::ConnectionHandler {
 public:
  // The proxy of worker `worker` (its slot in the snapshots' statistics records), starting
  // on `first` (valid: lib/control checks it), which must stay alive until the next Adopt.
  // Its session records are preallocated: first.settings.max_sessions of them (0: half of
  // the stack's max_connections), for the proxy's life. `pool` supplies the mbufs of PROXY
  // protocol headers. `seed` seeds the per-worker random numbers (balancing, backoff
  // jitter): it should differ per worker.
  Proxy(uint32_t worker, const ProxySnapshot& first, tcp::TcpStack& stack, rte_mempool* pool,
        uint64_t seed, base::Instant now);
  ~Proxy() override;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Listens on every listener of the first snapshot. Errors name the listener: "proxy
  // listener web (198.18.0.1:80): ...".
  absl::Status Start();

  // Switches to `next` (snapshot.h), which must stay alive until the next Adopt: new
  // listeners listen, removed ones stop (their sessions carry on), a listener whose address,
  // port or connection options changed listens anew (handshakes in progress on the old one
  // are reset); pools take their new backends, policies and settings. Sessions keep their
  // backend connection whatever happened to the backend; sessions still connecting retry in
  // the pool as it is now. Returns the first listener that could not listen (counted as
  // listen_failures; the others are adopted all the same).
  absl::Status Adopt(const ProxySnapshot& next);

  // Fires the proxy's timers due by `now` (connect timeouts, backoffs, idle and lifetime).
  // Call once per loop iteration, like TcpStack::Tick.
  void Tick(base::Instant now);
  // The worker's notion of now for events (the stack's events carry no time).
  void set_now(base::Instant now) { now_ = now; }

  const ProxyCounters& counters() const { return counters_; }
  // The snapshot in use, and this worker's statistics of its listener i and of backend b of
  // its pool p.
  const ProxySnapshot& snapshot() const { return *snapshot_; }
  const ListenerStats& listener_stats(uint32_t i) const { return *listeners_[i]->stats; }
  const BackendStats& backend_stats(uint32_t p, uint32_t b) const {
    return *pools_[p].backends[b].stats;
  }
  uint32_t worker() const { return worker_; }
  uint32_t session_capacity() const { return static_cast<uint32_t>(sessions_.size()); }
  // Bytes reserved per session slot: the record itself (the TCBs are the stack's).
  static constexpr size_t session_bytes() { return sizeof(Session); }

  // Calls `f(const Session&)` for every session in use whose slot index is >= `from`, in
  // slot order, until f returns false; returns the index after the last one visited (or
  // session_capacity()). For the control thread's session listing, through the worker.
  template <typename F>
  uint32_t ForEachSession(uint32_t from, F&& f) const {
    for (uint32_t i = from; i < sessions_.size(); ++i) {
      if (sessions_[i]->state == SessionState::kFree) continue;
      if (!f(*sessions_[i])) return i + 1;
    }
    return static_cast<uint32_t>(sessions_.size());
  }
  base::Instant now() const { return now_; }

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
    ListenerHandler(Proxy& proxy, ListenerState& listener)
        : proxy_(proxy), listener_(listener) {}
    tcp::ConnectionHandler* OnAccept(tcp::Tcb& connection) override {
      return proxy_.Accept(listener_, connection);
    }
    uint32_t AcceptReceiveSpace() const override;

   private:
    Proxy& proxy_;
    ListenerState& listener_;
  };

  // A backend of a pool in the adopted snapshot.
  struct BackendSlot {
    const BackendSettings* settings;
    BackendRecord* record;
    BackendStats* stats;  // this worker's slot of record->stats
  };

  // Per (worker, pool) in the adopted snapshot: what balancing reads and writes.
  struct PoolState {
    const PoolSettings* settings;
    const Balancer* balancer;
    PickState pick;
    std::vector<BackendSlot> backends;
    std::vector<BackendView> views;          // rebuilt before each pick
    std::vector<uint32_t> active;            // sessions per backend, copied before each pick
    uint32_t next_source = 0;                // settings.source_addresses, in turn
    std::vector<Tlv> tlvs;                   // PROXY v2 TLVs, viewing the settings' values
  };

  // Builds pools_ from the snapshot_ (Adopt).
  void BuildPools();
  // Starts listening on `l`; the error names it.
  absl::Status Listen(ListenerState& l);
  void StopListening(ListenerState& l);

  // proxy.cc
  tcp::ConnectionHandler* Accept(ListenerState& listener, tcp::Tcb& client);
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

  const uint32_t worker_;
  const ProxySnapshot* snapshot_;
  uint64_t epoch_ = 0;  // Adopts so far: a session's tried set is from one epoch
  tcp::TcpStack& stack_;
  rte_mempool* const pool_;
  const uint64_t seed_;
  base::Instant now_;
  Pcg32 rng_;
  tcp::TimerWheel wheel_;
  std::vector<std::unique_ptr<Session>> sessions_;  // preallocated; index = TimerNode::id
  std::vector<Session*> free_;
  // The adopted snapshot's listeners in its order, and removed ones whose sessions remain.
  std::vector<std::unique_ptr<ListenerState>> listeners_;
  std::vector<std::unique_ptr<ListenerState>> retired_listeners_;
  std::vector<PoolState> pools_;  // the adopted snapshot's, in its order
  ProxyCounters counters_;
};

}  // namespace ferry::proxy
