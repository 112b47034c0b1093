// The proxy's per-worker statistics (ARCHITECTURE.md "Statistics"): counters for the worker as
// a whole, per listener and per backend, each declared once here (base/counters.h), and two
// histograms. The control thread sums them over workers when it reads.
#pragma once

#include "base/counters.h"
#include "base/histogram.h"

namespace ferry::proxy {

// The worker as a whole: what happens before a session has a listener's or backend's name,
// and totals.
#define FERRY_PROXY_COUNTERS(X)                                                          \
  X(kSessionsActive, "sessions_active")           /* gauge */                           \
  X(kSessionsTotal, "sessions_total")                                                  \
  X(kRejectedNoSession, "rejected_no_session")    /* session pool exhausted: RST */     \
  X(kConnectAttempts, "connect_attempts")                                              \
  X(kConnectLocalErrors, "connect_local_errors")  /* no TCB / port / mbuf for the SYN */ \
  X(kRetries, "retries")                                                               \
  X(kProxyHeaderFailures, "proxy_header_failures") /* no mbuf: session reset */         \
  X(kPendingOverflows, "pending_overflows")       /* chain too long: session reset */   \
  X(kBytesHeld, "bytes_held")                     /* gauge: received, not yet queued */ \
  X(kListenFailures, "listen_failures")           /* a listener of a new config refused */

FERRY_DECLARE_COUNTERS(ProxyCounter, FERRY_PROXY_COUNTERS)

#define FERRY_LISTENER_COUNTERS(X)                                                       \
  X(kSessionsActive, "sessions_active")          /* gauge */                            \
  X(kSessionsTotal, "sessions_total")            /* accepted and given a session */     \
  X(kBytesFromClient, "bytes_from_client")                                              \
  X(kBytesToClient, "bytes_to_client")           /* handed to the client's connection */ \
  X(kRejectedOverLimit, "rejected_over_limit")   /* max_sessions reached: RST */        \
  X(kNoBackend, "no_backend")                    /* none could be picked: RST */        \
  X(kConnectGaveUp, "connect_gave_up")           /* every attempt failed: RST */        \
  X(kRetries, "retries")                         /* attempts after a session's first */  \
  X(kClientResets, "client_resets")              /* client's RST, sent on to backend */ \
  X(kClientTimeouts, "client_timeouts")          /* client unreachable (TCP gave up) */ \
  X(kIdleTimeouts, "idle_timeouts")                                                     \
  X(kLifetimeExpiries, "lifetime_expiries")

FERRY_DECLARE_COUNTERS(ListenerCounter, FERRY_LISTENER_COUNTERS)

#define FERRY_BACKEND_COUNTERS(X)                                                        \
  X(kSessionsActive, "sessions_active")          /* gauge: connecting or connected */   \
  X(kSessionsTotal, "sessions_total")            /* connections established */          \
  X(kBytesToBackend, "bytes_to_backend")         /* handed to the backend's connection */ \
  X(kBytesFromBackend, "bytes_from_backend")                                            \
  X(kConnectRefused, "connect_refused")          /* RST to our SYN */                   \
  X(kConnectTimeouts, "connect_timeouts")        /* connect_timeout passed */           \
  X(kBackendResets, "backend_resets")            /* backend's RST, sent on to client */ \
  X(kBackendTimeouts, "backend_timeouts")        /* backend unreachable (TCP gave up) */

FERRY_DECLARE_COUNTERS(BackendCounter, FERRY_BACKEND_COUNTERS)

using ProxyCounters = base::CounterSet<ProxyCounter>;
using ListenerCounters = base::CounterSet<ListenerCounter>;
using BackendCounters = base::CounterSet<BackendCounter>;

// One listener's statistics on one worker.
struct ListenerStats {
  ListenerCounters counters;
  base::Histogram session_duration;  // accept to release
};

// One backend's statistics on one worker.
struct BackendStats {
  BackendCounters counters;
  base::Histogram connect_time;  // SYN sent to connected, per successful attempt
};

}  // namespace ferry::proxy
