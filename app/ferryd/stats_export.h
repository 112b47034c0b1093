// The control thread's read of the statistics (ARCHITECTURE.md "Statistics"): every worker's
// counters and histograms, summed on read into a ferry.v1.Stats, which the gRPC service
// returns, /metrics exposes, and the SIGUSR1 report prints. One read, three renderings, so the
// names and figures agree everywhere.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ferry/v1/service.pb.h"
#include "proxy/snapshot.h"
#include "worker.h"

namespace ferry::ferryd {

// Reads the workers' counters and the statistics records of `published` and of the retired
// records (removed backends whose sessions carry on, state REMOVED). The caller holds whatever
// keeps `cell`'s control side still (ControlPlane's lock).
v1::Stats CollectStats(const std::vector<std::unique_ptr<Worker>>& workers,
                       const proxy::SnapshotCell& cell, bool per_worker);

// The SIGUSR1 and shutdown report: one "  name value" line per metric, the listeners' as
// proxy.listener.<name>.<metric> and the backends' as proxy.backend.<pool>.<name>.<metric>,
// histograms as <name>_count, _p50_us, _p99_us, _max_us, then each worker's busy share.
std::string CountersReport(const v1::Stats& stats,
                           const std::vector<std::unique_ptr<Worker>>& workers, uint64_t tsc_hz);

}  // namespace ferry::ferryd
