// One worker: the poll-mode loop on its own lcore. It owns its queue on every port, its mbuf
// pool, its host (ARP, ICMP, IPv4), its TCP stack with the diagnostic services on it, and its
// counters, and shares none of them (ARCHITECTURE.md, "Threads and cores"). The control
// thread only reads its counters and asks it to stop.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/counters.h"
#include "control/config.h"
#include "diagnostics.h"
#include "net/host.h"
#include "net/net_counters.h"
#include "net/port.h"
#include "net/tx_queue.h"
#include "proxy/proxy.h"
#include "proxy/proxy_settings.h"
#include "proxy/snapshot.h"
#include "tcp/stack.h"
#include "tcp/tcp_counters.h"

struct rte_mempool;

namespace ferry::ferryd {

#define FERRY_LOOP_COUNTERS(X)                                           \
  X(kIterations, "iterations")                                           \
  X(kBusyIterations, "busy_iterations")                                  \
  X(kIdleSleeps, "idle_sleeps")                                          \
  X(kBusyCycles, "busy_cycles")     /* TSC cycles in iterations that did work */ \
  X(kIdleCycles, "idle_cycles")     /* TSC cycles in empty polls and sleeps */   \
  X(kMbufsInUse, "mbufs_in_use")    /* gauge: this worker's pool, sampled per tick */

FERRY_DECLARE_COUNTERS(LoopCounter, FERRY_LOOP_COUNTERS)

class Worker final : public net::FrameSink {
 public:
  // Builds the worker's host over the started ports, its TCP stack (keyed from getrandom(2);
  // TCP checksums left to the NICs if every port offers it) and the diagnostic listeners.
  // Returns the host's configuration errors, a failure of the random source, or the first
  // listener the stack refused ("diagnostics[i] (...): ...").
  // The proxy starts on `snapshots`' current snapshot and adopts each one published after it.
  static absl::StatusOr<std::unique_ptr<Worker>> Create(uint32_t index,
                                                        const control::Settings& settings,
                                                        const std::vector<net::Port>& ports,
                                                        rte_mempool* pool,
                                                        proxy::SnapshotCell& snapshots);

  // The loop; returns when Stop() is called. Runs on the worker's lcore. Each iteration
  // adopts a newly published snapshot first, answers a pending session query, and reports a
  // quiescent state last (proxy/snapshot.h).
  void Run();

  // A request for a page of this worker's sessions, answered by the worker's loop (the
  // control thread never reads a worker's sessions itself). `visit` runs on the worker, once
  // per session in use from slot `from` on, until it returns false; `next` is then the slot
  // to continue from (session_capacity() at the end).
  struct SessionQuery {
    uint32_t from = 0;
    std::function<bool(const proxy::Session&, const proxy::Proxy&)> visit;
    uint32_t next = 0;
    std::atomic<bool> answered{false};  // set (release) by the worker when `next` is final
  };
  // Hands `query` to the worker and waits for its answer, at most `timeout`. False if the
  // worker did not answer in time (the query is then withdrawn). One query at a time per
  // worker: the caller serialises.
  bool Query(SessionQuery& query, base::Duration timeout);
  void Stop() { stop_.store(true, std::memory_order_relaxed); }

  // FrameSink: queue a frame on this worker's TX queue of `interface`.
  void Send(uint16_t interface, rte_mbuf* frame) override { tx_[interface].Add(frame); }

  uint32_t index() const { return index_; }
  uint32_t lcore() const { return settings_.lcores[index_]; }
  rte_mempool* pool() const { return pool_; }
  const net::NetCounters& net_counters() const { return net_counters_; }
  const tcp::TcpCounters& tcp_counters() const { return tcp_counters_; }
  const DiagCounters& diag_counters() const { return diag_counters_; }
  const base::CounterSet<LoopCounter>& loop_counters() const { return loop_counters_; }
  const proxy::Proxy& proxy() const { return *proxy_; }
  // Bytes reserved per proxied session slot: the session record and two TCBs with their
  // preallocated queues (what an idle proxied connection costs, whatever it holds).
  size_t session_slot_bytes() const;

 private:
  Worker(uint32_t index, const control::WorkerSettings& settings, rte_mempool* pool,
         proxy::SnapshotCell& snapshots);
  void AdoptIfNew();
  void AnswerQuery();

  // The counters first: everything below writes to them until it is destroyed.
  net::NetCounters net_counters_;
  tcp::TcpCounters tcp_counters_;
  DiagCounters diag_counters_;
  base::CounterSet<LoopCounter> loop_counters_;
  uint32_t index_;
  control::WorkerSettings settings_;
  rte_mempool* pool_;
  std::vector<uint16_t> port_ids_;
  std::vector<uint16_t> bursts_;
  std::vector<net::TxQueue> tx_;
  std::unique_ptr<base::TscClock> clock_;
  std::unique_ptr<net::Host> host_;
  // Before the stack, so that they outlive the stack, which holds their handlers.
  std::unique_ptr<DiagnosticServices> diagnostics_;
  std::unique_ptr<proxy::Proxy> proxy_;
  std::unique_ptr<tcp::TcpStack> tcp_;
  proxy::SnapshotCell& snapshots_;
  const proxy::ProxySnapshot* adopted_ = nullptr;
  // The pending session query (nullptr: none). The control thread stores it; the worker takes
  // it (exchange), answers, and sets its `answered`.
  std::atomic<SessionQuery*> query_{nullptr};
  std::atomic<bool> stop_{false};
};

}  // namespace ferry::ferryd
