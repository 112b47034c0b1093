// A proxied session: the client's connection, the backend's, and what the splice needs between
// them. Records live in the worker's preallocated pool (Proxy); a session allocates nothing.
#pragma once

#include <cstdint>

#include "base/clock.h"
#include "proxy/balancer.h"
#include "tcp/timer_wheel.h"

struct rte_mbuf;

namespace ferry::tcp {
class Tcb;
}

namespace ferry::proxy {

struct ListenerState;
struct BackendRecord;
struct BackendStats;

// The two connections of a session.
enum class Side : uint8_t { kClient, kBackend };
constexpr Side Other(Side s) { return s == Side::kClient ? Side::kBackend : Side::kClient; }

enum class SessionState : uint8_t {
  kFree,
  kConnecting,  // the SYN to a backend is out
  kBackoff,     // an attempt failed; the next waits for its backoff
  kSpliced,     // both connections up; data flows
};

// Timer kinds (TimerNode::kind).
enum class SessionTimer : uint32_t {
  kConnect,   // connect timeout, or the end of a backoff (one at a time: the session's state
              // says which)
  kIdle,
  kLifetime,
};

// Mbufs received from one side and not yet taken by the other side's send queue: before the
// backend is connected, or when a send queue took less than was delivered. A chain with its
// last segment, so appending is O(segments appended).
struct HeldData {
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  uint32_t bytes = 0;
};

struct Session {
  explicit Session(uint32_t index)
      : connect_timer(index, static_cast<uint32_t>(SessionTimer::kConnect)),
        idle_timer(index, static_cast<uint32_t>(SessionTimer::kIdle)),
        lifetime_timer(index, static_cast<uint32_t>(SessionTimer::kLifetime)) {}

  tcp::Tcb*& connection(Side s) { return s == Side::kClient ? client : backend; }
  HeldData& held_for(Side s) { return s == Side::kClient ? held_for_client : held_for_backend; }
  const HeldData& held_for(Side s) const {
    return s == Side::kClient ? held_for_client : held_for_backend;
  }
  bool& fin_from(Side s) { return s == Side::kClient ? client_fin : backend_fin; }
  bool& shut_down(Side s) { return s == Side::kClient ? client_shut_down : backend_shut_down; }

  SessionState state = SessionState::kFree;
  ListenerState* listener = nullptr;
  // The backend of the attempt in progress or connected: its position in the pool when it
  // was picked (epoch says which snapshot's), its record and this worker's statistics.
  uint32_t backend_index = 0;
  BackendRecord* backend_record = nullptr;
  BackendStats* backend_stats = nullptr;
  // backend_stats' sessions_active includes this session. While it does, the record stays
  // (snapshot.h): the decrement is the session's last touch of it.
  bool backend_counted = false;
  uint64_t epoch = 0;  // Proxy's epoch of `tried`
  tcp::Tcb* client = nullptr;
  tcp::Tcb* backend = nullptr;
  HeldData held_for_client;   // from the backend
  HeldData held_for_backend;  // from the client
  bool client_fin = false;    // the client's FIN arrived
  bool backend_fin = false;
  bool client_shut_down = false;   // our FIN to the client is queued
  bool backend_shut_down = false;
  uint32_t attempts = 0;       // connection attempts started
  uint64_t bytes_from_client = 0;
  uint64_t bytes_from_backend = 0;
  TriedBackends tried;
  base::Instant accepted_at;
  base::Instant attempt_started_at;
  base::Instant last_activity;
  tcp::TimerNode connect_timer;
  tcp::TimerNode idle_timer;
  tcp::TimerNode lifetime_timer;
};

}  // namespace ferry::proxy
