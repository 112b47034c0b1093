// What the workers' proxies run on: an immutable snapshot of the proxy's configuration,
// published by the control thread and read by every worker without a lock (ARCHITECTURE.md
// "Threads and cores"; docs/control.md "Publishing a config").
//
// Publication is read-copy-update with DPDK's quiescent-state-based reclamation (rte_rcu
// QSBR): the control thread builds a new snapshot, swaps the published pointer, and frees the
// old snapshot only once every worker has reported a quiescent state after the swap. A worker
// reads the pointer at the top of its loop, adopts a new snapshot there if it changed
// (Proxy::Adopt), and reports quiescence at the bottom, so no worker holds a pointer into a
// snapshot across an iteration that straddles a swap.
//
// Statistics outlive snapshots. A listener's and a backend's statistics live in a record
// (ListenerRecord, BackendRecord) with one slot per worker, which each new snapshot carries
// over by name from the previous one. Sessions point at their worker's slot, so a record
// whose listener or backend was removed must stay until its last session is gone: the
// control thread keeps it (SnapshotCell's retired records) until its sessions_active gauges are
// all 0. Each worker lowers its gauge as its session's last touch of the record.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proxy/balancer.h"
#include "proxy/proxy_counters.h"
#include "proxy/proxy_settings.h"

namespace ferry::proxy {

// One value per worker, each on cache lines of its own: worker w writes only slot w.
template <typename T>
class PerWorker {
 public:
  explicit PerWorker(uint32_t workers) : slots_(workers) {}
  T& at(uint32_t worker) { return slots_[worker].value; }
  const T& at(uint32_t worker) const { return slots_[worker].value; }
  uint32_t workers() const { return static_cast<uint32_t>(slots_.size()); }

 private:
  struct alignas(64) Slot {
    T value;
  };
  std::vector<Slot> slots_;
};

// A listener's identity and statistics, shared by the snapshots that have it.
struct ListenerRecord {
  ListenerRecord(std::string name, uint32_t workers) : name(std::move(name)), stats(workers) {}
  const std::string name;
  PerWorker<ListenerStats> stats;
};

// A backend's identity (pool and name) and statistics.
struct BackendRecord {
  BackendRecord(std::string pool, std::string name, uint32_t workers)
      : pool(std::move(pool)), name(std::move(name)), stats(workers) {}
  const std::string pool;
  const std::string name;
  PerWorker<BackendStats> stats;
};

struct ProxySnapshot {
  uint64_t version = 0;  // the config's version
  ProxySettings settings;
  std::vector<std::unique_ptr<const Balancer>> balancers;            // [pool]
  std::vector<std::shared_ptr<ListenerRecord>> listener_records;     // [listener]
  std::vector<std::vector<std::shared_ptr<BackendRecord>>> backend_records;  // [pool][backend]
};

// Builds the snapshot of `settings` for `workers` workers: a balancer per pool (Maglev
// tables are filled here, on the control thread) and the statistics records, taken over by
// name from `previous` (which may be null) or made new. Returns the balancer factory's error
// naming the pool.
absl::StatusOr<std::unique_ptr<ProxySnapshot>> BuildSnapshot(const ProxySettings& settings,
                                                             uint64_t version, uint32_t workers,
                                                             const ProxySnapshot* previous);

// The published snapshot and the QSBR state the workers report to. Made once by the control
// thread; workers use Current() and Quiescent(), the control thread Publish().
class SnapshotCell {
 public:
  // `workers`: the thread ids 0..workers-1 that will report. Returns ResourceExhausted if the
  // QSBR variable cannot be allocated.
  static absl::StatusOr<std::unique_ptr<SnapshotCell>> Create(
      uint32_t workers, std::unique_ptr<const ProxySnapshot> first);
  ~SnapshotCell();
  SnapshotCell(const SnapshotCell&) = delete;
  SnapshotCell& operator=(const SnapshotCell&) = delete;

  // Worker side. Register before the first Current(); Offline when the loop ends, so that a
  // stopped worker does not hold up Publish.
  void Online(uint32_t worker);
  void Offline(uint32_t worker);
  const ProxySnapshot* Current() const { return current_.load(std::memory_order_acquire); }
  // Nothing read through an earlier Current() is used after this call.
  void Quiescent(uint32_t worker) { rte_rcu_qsbr_quiescent(qsbr_, worker); }

  // Control side (one thread at a time: the caller serialises these).
  //
  // Makes `next` current and returns once no worker can still be reading the snapshot it
  // replaced, which is then freed. The statistics records it had and `next` has not are
  // retired: kept while sessions point at them.
  void Publish(std::unique_ptr<const ProxySnapshot> next);
  // The published snapshot, for the control thread's reads (stats, config).
  const ProxySnapshot& published() const { return *owned_; }
  // Frees the retired records whose sessions are all gone (every worker's sessions_active
  // gauge 0); returns how many are left. Publish calls it; stats readers may.
  size_t ReleaseDrained();
  // Removed backends whose sessions carry on.
  const std::vector<std::shared_ptr<BackendRecord>>& retired_backends() const {
    return retired_backends_;
  }
  const std::vector<std::shared_ptr<ListenerRecord>>& retired_listeners() const {
    return retired_listeners_;
  }

 private:
  SnapshotCell(rte_rcu_qsbr* qsbr, std::unique_ptr<const ProxySnapshot> first);
  rte_rcu_qsbr* const qsbr_;
  std::unique_ptr<const ProxySnapshot> owned_;  // what current_ points at
  std::atomic<const ProxySnapshot*> current_;
  std::vector<std::shared_ptr<ListenerRecord>> retired_listeners_;
  std::vector<std::shared_ptr<BackendRecord>> retired_backends_;
};

// The sum over workers of a record's sessions_active gauge.
uint64_t SessionsActive(const ListenerRecord& record);
uint64_t SessionsActive(const BackendRecord& record);

}  // namespace ferry::proxy
