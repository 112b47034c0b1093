// Snapshots and their publication (snapshot.h).
#include "proxy/snapshot.h"

#include <rte_malloc.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "proxy/balancer_factory.h"

namespace ferry::proxy {

absl::StatusOr<std::unique_ptr<ProxySnapshot>> BuildSnapshot(const ProxySettings& settings,
                                                             uint64_t version, uint32_t workers,
                                                             const ProxySnapshot* previous) {
  auto next = std::make_unique<ProxySnapshot>();
  next->version = version;
  next->settings = settings;
  for (const PoolSettings& pool : next->settings.pools) {
    absl::StatusOr<std::unique_ptr<const Balancer>> balancer = MakeBalancer(pool);
    if (!balancer.ok()) {
      return absl::Status(balancer.status().code(),
                          absl::StrCat("pool ", pool.name, ": ", balancer.status().message()));
    }
    next->balancers.push_back(*std::move(balancer));
  }
  // Records are taken over by name; the sizes are small (tens of listeners, hundreds of
  // backends) and this runs on the control thread, so a scan will do.
  for (const ListenerSettings& l : next->settings.listeners) {
    std::shared_ptr<ListenerRecord> record;
    if (previous != nullptr) {
      for (size_t i = 0; i < previous->settings.listeners.size(); ++i) {
        if (previous->settings.listeners[i].name == l.name) {
          record = previous->listener_records[i];
          break;
        }
      }
    }
    if (record == nullptr) record = std::make_shared<ListenerRecord>(l.name, workers);
    next->listener_records.push_back(std::move(record));
  }
  for (const PoolSettings& pool : next->settings.pools) {
    const PoolSettings* old_pool = nullptr;
    size_t old_index = 0;
    if (previous != nullptr) {
      for (size_t p = 0; p < previous->settings.pools.size(); ++p) {
        if (previous->settings.pools[p].name == pool.name) {
          old_pool = &previous->settings.pools[p];
          old_index = p;
          break;
        }
      }
    }
    std::vector<std::shared_ptr<BackendRecord>> records;
    for (const BackendSettings& b : pool.backends) {
      std::shared_ptr<BackendRecord> record;
      if (old_pool != nullptr) {
        for (size_t i = 0; i < old_pool->backends.size(); ++i) {
          if (old_pool->backends[i].name == b.name) {
            record = previous->backend_records[old_index][i];
            break;
          }
        }
      }
      if (record == nullptr) record = std::make_shared<BackendRecord>(pool.name, b.name, workers);
      records.push_back(std::move(record));
    }
    next->backend_records.push_back(std::move(records));
  }
  return next;
}

absl::StatusOr<std::unique_ptr<SnapshotCell>> SnapshotCell::Create(
    uint32_t workers, std::unique_ptr<const ProxySnapshot> first) {
  const size_t size = rte_rcu_qsbr_get_memsize(workers);
  auto* qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ferry_snapshot_qsbr", size,
                                                      RTE_CACHE_LINE_SIZE));
  if (qsbr == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate the snapshot's QSBR state for ", workers, " workers"));
  }
  if (rte_rcu_qsbr_init(qsbr, workers) != 0) {
    rte_free(qsbr);
    return absl::InvalidArgumentError(absl::StrCat("rte_rcu_qsbr_init(", workers, ") failed"));
  }
  for (uint32_t w = 0; w < workers; ++w) rte_rcu_qsbr_thread_register(qsbr, w);
  return std::unique_ptr<SnapshotCell>(new SnapshotCell(qsbr, std::move(first)));
}

SnapshotCell::SnapshotCell(rte_rcu_qsbr* qsbr, std::unique_ptr<const ProxySnapshot> first)
    : qsbr_(qsbr), owned_(std::move(first)), current_(owned_.get()) {}

SnapshotCell::~SnapshotCell() { rte_free(qsbr_); }

void SnapshotCell::Online(uint32_t worker) { rte_rcu_qsbr_thread_online(qsbr_, worker); }

void SnapshotCell::Offline(uint32_t worker) { rte_rcu_qsbr_thread_offline(qsbr_, worker); }

uint64_t SessionsActive(const ListenerRecord& record) {
  uint64_t sum = 0;
  for (uint32_t w = 0; w < record.stats.workers(); ++w) {
    sum += record.stats.at(w).counters.Load(ListenerCounter::kSessionsActive);
  }
  return sum;
}

uint64_t SessionsActive(const BackendRecord& record) {
  uint64_t sum = 0;
  for (uint32_t w = 0; w < record.stats.workers(); ++w) {
    sum += record.stats.at(w).counters.Load(BackendCounter::kSessionsActive);
  }
  return sum;
}

namespace {

template <typename R>
bool Contains(const std::vector<std::shared_ptr<R>>& records, const R* r) {
  for (const auto& x : records) {
    if (x.get() == r) return true;
  }
  return false;
}

// Drops the records whose gauges read 0. The workers' last writes to a record come before
// their decrement to 0 (release fence there), which this acquire fence pairs with.
template <typename R>
void DropDrained(std::vector<std::shared_ptr<R>>& records) {
  std::atomic_thread_fence(std::memory_order_acquire);
  std::erase_if(records, [](const std::shared_ptr<R>& r) { return SessionsActive(*r) == 0; });
}

}  // namespace

size_t SnapshotCell::ReleaseDrained() {
  DropDrained(retired_listeners_);
  DropDrained(retired_backends_);
  return retired_listeners_.size() + retired_backends_.size();
}

void SnapshotCell::Publish(std::unique_ptr<const ProxySnapshot> next) {
  std::unique_ptr<const ProxySnapshot> old = std::move(owned_);
  for (const auto& r : old->listener_records) {
    if (!Contains(next->listener_records, r.get())) retired_listeners_.push_back(r);
  }
  for (const auto& pool : old->backend_records) {
    for (const auto& r : pool) {
      bool kept = false;
      for (const auto& next_pool : next->backend_records) kept = kept || Contains(next_pool, r.get());
      if (!kept) retired_backends_.push_back(r);
    }
  }

  owned_ = std::move(next);
  current_.store(owned_.get(), std::memory_order_release);
  // Blocks until every online worker has reported a quiescent state since the store: none
  // can still use `old` then. A worker's loop reports once per iteration (an idle sleep is at
  // most idle_sleep_max), so this takes about one iteration.
  rte_rcu_qsbr_synchronize(qsbr_, RTE_QSBR_THRID_INVALID);
  ReleaseDrained();
}

}  // namespace ferry::proxy
