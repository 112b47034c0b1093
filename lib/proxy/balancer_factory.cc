#include "proxy/balancer_factory.h"

#include <utility>
#include <vector>

#include "proxy/least_connections.h"
#include "proxy/maglev.h"
#include "proxy/power_of_two.h"
#include "proxy/round_robin.h"
#include "proxy/weighted_round_robin.h"

namespace ferry::proxy {

absl::StatusOr<std::unique_ptr<const Balancer>> MakeBalancer(const PoolSettings& pool) {
  switch (pool.policy) {
    case BalancingPolicy::kRoundRobin:
      return std::make_unique<const RoundRobin>();
    case BalancingPolicy::kWeightedRoundRobin:
      return std::make_unique<const WeightedRoundRobin>();
    case BalancingPolicy::kLeastConnections:
      return std::make_unique<const LeastConnections>();
    case BalancingPolicy::kPowerOfTwoChoices:
      return std::make_unique<const PowerOfTwoChoices>();
    case BalancingPolicy::kMaglev: {
      std::vector<MaglevBackend> backends;
      backends.reserve(pool.backends.size());
      for (const BackendSettings& b : pool.backends) {
        backends.push_back(MaglevBackend{b.name, b.weight});
      }
      absl::StatusOr<MaglevTable> table = MaglevTable::Build(backends, pool.maglev_table_size);
      if (!table.ok()) return table.status();
      return std::make_unique<const MaglevTable>(*std::move(table));
    }
  }
  return absl::InvalidArgumentError("unknown balancing policy");
}

}  // namespace ferry::proxy
