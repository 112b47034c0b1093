// ferryd's side of the control plane (docs/control.md): what the gRPC service and /metrics ask
// of the appliance (control::ApplianceView: status, statistics, sessions), and the publication
// of accepted configs to the workers as proxy snapshots under RCU. It runs on the control
// thread and gRPC's threads; it reads workers' counters (single-writer, safe to read) and the
// statistics records, and reaches a worker's sessions only through the worker's query mailbox.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/config.h"
#include "control/service.h"
#include "net/port.h"
#include "proxy/snapshot.h"
#include "worker.h"

struct rte_mempool;

namespace ferry::ferryd {

class ControlPlane final : public control::ApplianceView {
 public:
  ControlPlane(const std::vector<std::unique_ptr<Worker>>& workers,
               const std::vector<net::Port>& ports, const control::Settings& settings,
               proxy::SnapshotCell& cell, uint32_t mbufs_per_worker);

  // Builds the snapshot of `settings` (version `version`) and publishes it; returns when no
  // worker uses the previous one. The ConfigStore's Publish.
  absl::Status Publish(const control::Settings& settings, uint64_t version);

  // control::ApplianceView
  v1::Status GetStatus() override;
  v1::Stats GetStats(bool per_worker) override;
  absl::StatusOr<v1::ListSessionsResponse> ListSessions(
      const v1::ListSessionsRequest& request) override;

  // The SIGUSR1 / shutdown report.
  std::string Report(uint64_t tsc_hz);

 private:
  const std::vector<std::unique_ptr<Worker>>& workers_;
  const std::vector<net::Port>& ports_;
  const std::vector<net::InterfaceConfig> interfaces_;
  proxy::SnapshotCell& cell_;
  const uint32_t mbufs_per_worker_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  // Serialises the cell's control side: Publish, and the reads of published() and the
  // retired records.
  std::mutex cell_mu_;
  uint64_t applied_unix_ms_;  // when the published snapshot was (under cell_mu_)
  // One session query at a time per worker (their mailboxes hold one).
  std::mutex query_mu_;
};

}  // namespace ferry::ferryd
