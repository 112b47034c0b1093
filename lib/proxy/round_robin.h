// Round robin: each eligible backend in turn, weights ignored.
//
// The worker's cursor (PickState::cursor) names the position to try first. A pick scans
// forward from it, wrapping, to the first candidate (balancer.h: IsCandidate), and moves the
// cursor to just past the backend it picked, not just past where it started. That is what
// keeps skipping unbiased: were the cursor advanced by one per pick, every ineligible
// backend's turns would fall to the candidate after it, which would then get double (or
// more) its share. Moved past the pick, the cursor visits every candidate exactly once per
// cycle, so over k cycles each of E candidates gets exactly k picks.
//
// Cost: O(backends) in the worst case (all but one ineligible), O(1) when all are eligible.
#pragma once

#include <cstdint>
#include <optional>

#include "proxy/balancer.h"

namespace ferry::proxy {

class RoundRobin final : public Balancer {
 public:
  // See Balancer::Pick. Returns nullopt only when no backend is a candidate.
  std::optional<uint32_t> Pick(const PickContext& context, PickState& state) const override;
  BalancingPolicy policy() const override { return BalancingPolicy::kRoundRobin; }
};

}  // namespace ferry::proxy
