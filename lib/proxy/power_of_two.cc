#include "proxy/power_of_two.h"

#include <cassert>

namespace ferry::proxy {
namespace {

// A uniformly drawn candidate other than `other`, if one of kDrawAttempts draws finds one.
std::optional<uint32_t> Draw(const PickContext& context, Pcg32& rng,
                             std::optional<uint32_t> other) {
  const auto n = static_cast<uint32_t>(context.backends.size());
  for (uint32_t attempt = 0; attempt < PowerOfTwoChoices::kDrawAttempts; ++attempt) {
    uint32_t i = rng.Below(n);
    if (i != other && IsCandidate(context, i)) return i;
  }
  return std::nullopt;
}

// The candidate of rank `rank` (0-based, in pool order), skipping `skip`.
uint32_t NthCandidate(const PickContext& context, uint32_t rank, std::optional<uint32_t> skip) {
  const auto n = static_cast<uint32_t>(context.backends.size());
  for (uint32_t i = 0; i < n; ++i) {
    if (i == skip || !IsCandidate(context, i)) continue;
    if (rank-- == 0) return i;
  }
  assert(false && "rank beyond the candidate count");
  return 0;
}

}  // namespace

std::optional<uint32_t> PowerOfTwoChoices::Pick(const PickContext& context,
                                                PickState& state) const {
  const auto n = static_cast<uint32_t>(context.backends.size());
  assert(context.active_connections.size() == n);
  if (n == 0) return std::nullopt;

  std::optional<uint32_t> first = Draw(context, state.rng, std::nullopt);
  std::optional<uint32_t> second;
  if (first) second = Draw(context, state.rng, first);
  if (!second) {
    uint32_t candidates = 0;
    for (uint32_t i = 0; i < n; ++i) candidates += IsCandidate(context, i);
    if (candidates == 0) return std::nullopt;
    if (candidates == 1) return context.backends[NthCandidate(context, 0, std::nullopt)].index;
    first = NthCandidate(context, state.rng.Below(candidates), std::nullopt);
    second = NthCandidate(context, state.rng.Below(candidates - 1), first);
  }
  const uint32_t a = *first;
  const uint32_t b = *second;
  const bool b_less_loaded =
      LessLoaded(ActiveConnections(context, b), context.backends[b].weight,
                 ActiveConnections(context, a), context.backends[a].weight);
  return context.backends[b_less_loaded ? b : a].index;
}

}  // namespace ferry::proxy
