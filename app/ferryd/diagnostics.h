// ferryd's diagnostic TCP services, to exercise the worker's TCP stack from any TCP client
// without the proxy: echo (RFC 862), discard (RFC 863) and chargen (RFC 864), on the
// addresses and ports of config.diagnostics.
//
// One DiagnosticServices per worker, on that worker's TcpStack and mbuf pool. Each service is
// one handler object for every connection it accepts; what a connection needs beyond its Tcb
// (chargen's place in its pattern) is kept in Tcb::user_data, so a connection allocates
// nothing. The handlers run inside the stack's calls (events.h); the stack's API wants the
// time, which the worker sets here (set_now) before every call into the stack.
//
// Flow control, per service:
//   echo     ReceiveSpace() is the send queue's free space, and the listener offers no more
//            window than the send queue holds (the SYN-ACK's is set before any handler is
//            asked), so whatever the window let in can be queued back at once;
//            acknowledgements free send space and re-open the window (ReceiveSpaceChanged).
//            Bytes that would not fit are counted (diag.echo_dropped_bytes) and must stay 0.
//   discard  ReceiveSpace() is unbounded (the stack clamps it to its receive window).
//   chargen  the send queue is kept full of pattern text, refilled as the peer acknowledges;
//            refills stop short of the last quarter of the pool, which stays for receiving
//            (the acknowledgements that free chargen's own mbufs come in through it).
// On the peer's FIN every service closes its side (Close: FIN after what is queued), and
// hears nothing more of the connection.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "base/clock.h"
#include "base/counters.h"
#include "control/tcp_config.h"
#include "tcp/events.h"
#include "tcp/stack.h"

struct rte_mempool;
struct rte_mbuf;

namespace ferry::ferryd {

#define FERRY_DIAG_COUNTERS(X)                                                          \
  X(kEchoAccepted, "echo_connections")                                                  \
  X(kDiscardAccepted, "discard_connections")                                            \
  X(kChargenAccepted, "chargen_connections")                                            \
  X(kEchoBytes, "echo_bytes")                  /* received and queued back */            \
  X(kEchoDroppedBytes, "echo_dropped_bytes")   /* did not fit the send queue: a bug */   \
  X(kDiscardBytes, "discard_bytes")                                                     \
  X(kChargenBytes, "chargen_bytes")            /* generated and queued */                \
  X(kChargenDiscardedBytes, "chargen_received_bytes") /* thrown away, RFC 864 */         \
  X(kChargenPoolLow, "chargen_refills_held")   /* pool at its reserve: retried later */  \
  X(kClosedOnPeerFin, "closed_on_peer_fin")    /* we closed after the peer's FIN */      \
  X(kClosedNormal, "closed_normal")            /* OnClosed, by tcp::CloseReason */       \
  X(kClosedReset, "closed_reset")                                                       \
  X(kClosedRefused, "closed_refused")                                                   \
  X(kClosedTimedOut, "closed_timed_out")                                                \
  X(kClosedKeepaliveTimeout, "closed_keepalive_timeout")                                \
  X(kClosedFinWait2Timeout, "closed_fin_wait_2_timeout")                                \
  X(kConnectionsOpen, "connections_open")      /* gauge: accepted, not yet closed */

FERRY_DECLARE_COUNTERS(DiagCounter, FERRY_DIAG_COUNTERS)

using DiagCounters = base::CounterSet<DiagCounter>;

// RFC 864's pattern: the 95 printing ASCII characters (32..126) as a ring; line N holds
// characters N..N+71 (mod 95) and ends with CR LF. The stream repeats every 95 lines.
inline constexpr uint32_t kChargenLineLength = 72;
inline constexpr uint32_t kChargenPeriod = 95 * (kChargenLineLength + 2);  // 7030 bytes
// Byte `i` of the chargen stream (i counted from the connection's first byte).
char ChargenByte(uint64_t i);

class DiagnosticServices {
 public:
  // `stack` and `pool` are the worker's and must outlive this object (the stack holds this
  // object's handlers). `now` is the worker's time at construction.
  DiagnosticServices(tcp::TcpStack& stack, rte_mempool* pool, DiagCounters& counters,
                     base::Instant now);
  DiagnosticServices(const DiagnosticServices&) = delete;
  DiagnosticServices& operator=(const DiagnosticServices&) = delete;

  // Control path, once at start-up: listens on each of `listeners` (config order). Returns
  // the stack's error for the first that fails, prefixed with "diagnostics[i] (echo on
  // 198.18.0.1:7): ".
  absl::Status Listen(const std::vector<control::DiagnosticListenerSettings>& listeners);

  // The time handed to the stack from inside its events. The worker calls this with the
  // loop's time before host input, Tick and Poll.
  void set_now(base::Instant now) { now_ = now; }

  // Retries the chargen refills that were held back for lack of mbufs. Call once per loop
  // iteration; costs a branch when nothing is waiting.
  void Poll() {
    if (!starved_.empty()) RetryStarved();
  }

 private:
  // One service: the listener's handler and every accepted connection's.
  class Service : public tcp::ListenHandler, public tcp::ConnectionHandler {
   public:
    Service(DiagnosticServices& owner, DiagCounter accepted)
        : owner_(owner), accepted_(accepted) {}
    tcp::ConnectionHandler* OnAccept(tcp::Tcb& connection) override;
    // Passive opens only: OnConnected is the active open's event.
    void OnConnected(tcp::Tcb&) override {}
    void OnPeerFin(tcp::Tcb& connection) override;
    void OnClosed(tcp::Tcb& connection, tcp::CloseReason reason) override;

   protected:
    // Accept-time work of the service (chargen starts sending).
    virtual void Opened(tcp::Tcb&) {}
    // Before the connection is let go, by us or by the stack.
    virtual void Released(tcp::Tcb&) {}

    DiagnosticServices& owner_;

   private:
    const DiagCounter accepted_;
  };

  class Echo final : public Service {
   public:
    explicit Echo(DiagnosticServices& owner) : Service(owner, DiagCounter::kEchoAccepted) {}
    void OnData(tcp::Tcb& connection, rte_mbuf* chain, uint32_t length) override;
    void OnAcked(tcp::Tcb& connection, uint32_t bytes) override;
    uint32_t ReceiveSpace(const tcp::Tcb& connection) const override;
  };

  class Discard final : public Service {
   public:
    explicit Discard(DiagnosticServices& owner)
        : Service(owner, DiagCounter::kDiscardAccepted) {}
    void OnData(tcp::Tcb& connection, rte_mbuf* chain, uint32_t length) override;
    void OnAcked(tcp::Tcb&, uint32_t) override {}  // nothing is ever sent
    uint32_t ReceiveSpace(const tcp::Tcb& connection) const override;
  };

  class Chargen final : public Service {
   public:
    explicit Chargen(DiagnosticServices& owner)
        : Service(owner, DiagCounter::kChargenAccepted) {}
    void OnData(tcp::Tcb& connection, rte_mbuf* chain, uint32_t length) override;
    void OnAcked(tcp::Tcb& connection, uint32_t bytes) override;
    uint32_t ReceiveSpace(const tcp::Tcb& connection) const override;
    // Queues pattern text while the send queue has room and the pool is above its reserve;
    // otherwise marks the connection starved, for Poll.
    void Fill(tcp::Tcb& connection);

   private:
    void Opened(tcp::Tcb& connection) override;
    void Released(tcp::Tcb& connection) override;
  };

  // A receive window no connection will reach: the stack clamps it to its own limit.
  static constexpr uint32_t kUnboundedReceiveSpace = 1u << 30;

  void RetryStarved();
  void MarkStarved(tcp::Tcb& connection);
  void Unstarve(tcp::Tcb& connection);
  // Mbufs chargen may take now: what the pool has beyond its reserve.
  uint32_t PoolBudget() const;

  tcp::TcpStack& stack_;
  rte_mempool* const pool_;
  DiagCounters& counters_;
  base::Instant now_;
  const uint32_t pool_reserve_;
  Echo echo_{*this};
  Discard discard_{*this};
  Chargen chargen_{*this};
  // Chargen connections waiting for mbufs. Reserved for every TCB at construction, so
  // marking one never allocates.
  std::vector<tcp::Tcb*> starved_;
  std::vector<tcp::Tcb*> retrying_;
};

}  // namespace ferry::ferryd
