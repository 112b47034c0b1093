#include "proxy/least_connections.h"

#include <cassert>

namespace ferry::proxy {

std::optional<uint32_t> LeastConnections::Pick(const PickContext& context,
                                               PickState& state) const {
  const auto n = static_cast<uint32_t>(context.backends.size());
  assert(context.active_connections.size() == n);
  if (n == 0) return std::nullopt;

  std::optional<uint32_t> best;
  uint32_t i = state.cursor % n;
  for (uint32_t step = 0; step < n; ++step, i = i + 1 == n ? 0 : i + 1) {
    if (!IsCandidate(context, i)) continue;
    // Strictly less: among equals the first from the cursor stays, which is the rotation.
    if (!best || LessLoaded(ActiveConnections(context, i), context.backends[i].weight,
                            ActiveConnections(context, *best),
                            context.backends[*best].weight)) {
      best = i;
    }
  }
  if (!best) return std::nullopt;
  state.cursor = *best + 1 == n ? 0 : *best + 1;
  return context.backends[*best].index;
}

}  // namespace ferry::proxy
