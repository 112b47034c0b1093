// Smooth weighted round robin, the algorithm of nginx's upstream module (Maxim Dounin,
// nginx 1.3.1, 2012, "Upstream: smooth weighted round-robin balancing";
// ngx_http_upstream_get_peer in src/http/ngx_http_upstream_round_robin.c).
//
// Each backend keeps a current weight, starting at 0 (PickState::wrr_current, per worker).
// On each pick, over the candidates only:
//   1. current[i] += weight[i] for every candidate i, and total = the sum of their weights;
//   2. pick the candidate with the largest current weight (the first such, on a tie);
//   3. current[picked] -= total.
// The current weights of the candidates sum to 0 after every pick, and after `total` picks
// with an unchanged candidate set they are all back where they started, each backend having
// been picked exactly weight[i] times: the proportions are exact over every cycle of `total`
// picks, and the sequence is deterministic. It is also smooth: a heavy backend's picks are
// spread through the cycle rather than bunched, e.g. weights {a: 5, b: 1, c: 1} give
// a a b a c a a, not a a a a a b c.
//
// Backends that are not candidates for a pick (ineligible, weight 0, excluded) are left out
// of both steps, as nginx leaves out down peers: their current weight waits unchanged.
// nginx's effective_weight (lowered on failures) is not reproduced: ferry takes a failing
// backend out through health checks and eligibility instead.
//
// Cost: O(backends) per pick.
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/balancer.h"

namespace ferry::proxy {

class WeightedRoundRobin final : public Balancer {
 public:
  // See Balancer::Pick. Returns nullopt when no backend is a candidate, or when `state` was
  // built for fewer backends than the context has (a caller bug, asserted in debug builds).
  std::optional<uint32_t> Pick(const PickContext& context, PickState& state) const override;
  BalancingPolicy policy() const override { return BalancingPolicy::kWeightedRoundRobin; }
};

}  // namespace ferry::proxy
