// Power of two choices: draw two distinct candidates uniformly at random and take the less
// loaded, load being this worker's active connections / weight (as in least_connections.h).
//
// Why: M. Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing" (IEEE TPDS,
// 2001): sending each arrival to the less loaded of d = 2 random servers cuts the maximum
// load from Theta(log n / log log n) (one random choice) to Theta(log log n), nearly all of
// least connections' benefit, while looking at two backends instead of all of them, and
// without least connections' herding on whichever backend was least loaded a moment ago.
//
// Drawing: up to kDrawAttempts uniform draws over all positions for each of the two, taking
// the first that is a candidate (for the second, also different from the first). That is
// O(1) when most backends are candidates. When it fails (few candidates), the candidates are
// counted and the two are chosen by rank, O(backends). Both ways give every ordered pair of
// distinct candidates the same probability, and the fast path's success does not depend on
// which pair it draws, so the mixture is uniform too. With one candidate it is the pick.
// On equal loads the first draw wins, which is itself uniform, so an idle pool is spread
// evenly.
//
// Randomness: PickState::rng, a PCG32 seeded per worker (balancer.h).
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/balancer.h"

namespace ferry::proxy {

class PowerOfTwoChoices final : public Balancer {
 public:
  static constexpr uint32_t kDrawAttempts = 4;

  // See Balancer::Pick. Returns nullopt only when no backend is a candidate.
  // context.active_connections should have one count per backend (missing counts read 0).
  std::optional<uint32_t> Pick(const PickContext& context, PickState& state) const override;
  BalancingPolicy policy() const override { return BalancingPolicy::kPowerOfTwoChoices; }
};

}  // namespace ferry::proxy
