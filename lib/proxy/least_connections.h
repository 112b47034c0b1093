// Least connections: the candidate with the least load, load being this worker's active
// connections to it divided by its weight (a weight-3 backend is as loaded with 3
// connections as a weight-1 backend with 1). With equal weights this is simply the fewest
// active connections. Weighting the count, rather than using weight only to break ties
// between equal counts, is what makes a weight mean the same thing here as in the other
// policies (nginx's least_conn and HAProxy's leastconn weigh it the same way).
//
// Ties go to the first tied candidate found scanning forward from the worker's cursor,
// and the cursor then moves to just past the pick, so that a run of ties (an idle pool, a
// burst of connections all picked before any closes) rotates over the tied backends instead
// of piling onto backend 0.
//
// The counts are the worker's own (balancer.h): each worker balances the connections it
// holds. Cost: O(backends) per pick, which a pool of hundreds of backends can afford once
// per new connection.
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/balancer.h"

namespace ferry::proxy {

class LeastConnections final : public Balancer {
 public:
  // See Balancer::Pick. Returns nullopt only when no backend is a candidate.
  // context.active_connections should have one count per backend (missing counts read 0).
  std::optional<uint32_t> Pick(const PickContext& context, PickState& state) const override;
  BalancingPolicy policy() const override { return BalancingPolicy::kLeastConnections; }
};

}  // namespace ferry::proxy
