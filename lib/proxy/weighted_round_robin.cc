#include "proxy/weighted_round_robin.h"

#include <cassert>

namespace ferry::proxy {

std::optional<uint32_t> WeightedRoundRobin::Pick(const PickContext& context,
                                                 PickState& state) const {
  const auto n = static_cast<uint32_t>(context.backends.size());
  assert(state.wrr_current.size() >= n);
  if (state.wrr_current.size() < n) return std::nullopt;

  int64_t total = 0;
  std::optional<uint32_t> best;
  for (uint32_t i = 0; i < n; ++i) {
    if (!IsCandidate(context, i)) continue;
    const int64_t weight = context.backends[i].weight;
    state.wrr_current[i] += weight;
    total += weight;
    // Strictly greater: the first of equal current weights wins, as in nginx.
    if (!best || state.wrr_current[i] > state.wrr_current[*best]) best = i;
  }
  if (!best) return std::nullopt;
  state.wrr_current[*best] -= total;
  return context.backends[*best].index;
}

}  // namespace ferry::proxy
