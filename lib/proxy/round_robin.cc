#include "proxy/round_robin.h"

namespace ferry::proxy {

std::optional<uint32_t> RoundRobin::Pick(const PickContext& context, PickState& state) const {
  const auto n = static_cast<uint32_t>(context.backends.size());
  if (n == 0) return std::nullopt;
  // Reduced so that a state built for another pool size cannot index out of range.
  uint32_t i = state.cursor % n;
  for (uint32_t step = 0; step < n; ++step) {
    if (IsCandidate(context, i)) {
      state.cursor = i + 1 == n ? 0 : i + 1;
      return context.backends[i].index;
    }
    i = i + 1 == n ? 0 : i + 1;
  }
  return std::nullopt;
}

}  // namespace ferry::proxy
