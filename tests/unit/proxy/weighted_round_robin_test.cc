// Smooth weighted round robin (weighted_round_robin.h, nginx's algorithm): deterministic,
// exact proportions over every cycle of sum(weights) picks, heavy backends spread through the
// cycle, non-candidates left out without disturbing the others' proportions.
#include "proxy/weighted_round_robin.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/balancer.h"

namespace ferry::proxy {
namespace {

std::vector<BackendView> Weighted(std::vector<uint32_t> weights) {
  std::vector<BackendView> views;
  for (uint32_t i = 0; i < weights.size(); ++i) views.push_back({i, weights[i], true});
  return views;
}

PickContext Context(std::span<const BackendView> views, std::span<const uint32_t> excluded = {}) {
  PickContext context;
  context.backends = views;
  context.excluded = excluded;
  return context;
}

// The picks as letters, a for backend 0, b for 1, ...
std::string Sequence(const WeightedRoundRobin& wrr, std::span<const BackendView> views,
                     PickState& state, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    std::optional<uint32_t> pick = wrr.Pick(Context(views), state);
    out += pick ? static_cast<char>('a' + *pick) : '-';
  }
  return out;
}

uint32_t Total(std::span<const BackendView> views) {
  uint32_t total = 0;
  for (const BackendView& v : views) total += v.weight;
  return total;
}

// The example in nginx's commit message and ngx_http_upstream_get_peer's comment: weights
// {5, 1, 1} give a a b a c a a, and the cycle then repeats from the same state.
TEST(WeightedRoundRobinTest, NginxExampleSequence) {
  const WeightedRoundRobin wrr;
  const auto views = Weighted({5, 1, 1});
  PickState state(3, 0);
  EXPECT_EQ(Sequence(wrr, views, state, 7), "aabacaa");
  EXPECT_EQ(state.wrr_current, (std::vector<int64_t>{0, 0, 0}));  // back where it started
  EXPECT_EQ(Sequence(wrr, views, state, 14), "aabacaaaabacaa");
}

// Smoothness: within the cycle the weight-5 backend is never picked more than twice in a
// row (plain WRR would give a a a a a b c).
TEST(WeightedRoundRobinTest, NginxExampleHasNoRunLongerThanTwoWithinACycle) {
  const WeightedRoundRobin wrr;
  const auto views = Weighted({5, 1, 1});
  PickState state(3, 0);
  const std::string cycle = Sequence(wrr, views, state, 7);
  size_t longest = 0, run = 0;
  for (size_t i = 0; i < cycle.size(); ++i) {
    run = i > 0 && cycle[i] == cycle[i - 1] ? run + 1 : 1;
    longest = std::max(longest, run);
  }
  EXPECT_LE(longest, 2u) << cycle;
}

TEST(WeightedRoundRobinTest, ProportionsExactOverEveryFullCycle) {
  const WeightedRoundRobin wrr;
  for (const std::vector<uint32_t>& weights :
       {std::vector<uint32_t>{5, 1, 1}, {3, 7, 1, 10, 4}, {1, 1, 1, 1}, {1000, 1, 999, 17},
        {2, 3}}) {
    const auto views = Weighted(weights);
    const uint32_t total = Total(views);
    PickState state(static_cast<uint32_t>(weights.size()), 0);
    for (int cycle = 0; cycle < 3; ++cycle) {
      std::vector<uint32_t> count(weights.size(), 0);
      for (uint32_t i = 0; i < total; ++i) ++count[wrr.Pick(Context(views), state).value()];
      EXPECT_EQ(count, weights) << "cycle " << cycle;
    }
  }
}

// Every prefix of the {5, 1, 1} cycle is within one pick of its proportional share, which is
// what "smooth" means for the client-visible load.
TEST(WeightedRoundRobinTest, NginxExampleEveryPrefixWithinOnePickOfItsShare) {
  const WeightedRoundRobin wrr;
  const auto views = Weighted({5, 1, 1});
  PickState state(3, 0);
  std::vector<uint32_t> count(3, 0);
  for (uint32_t k = 1; k <= 7; ++k) {
    ++count[wrr.Pick(Context(views), state).value()];
    for (uint32_t i = 0; i < 3; ++i) {
      EXPECT_LT(std::abs(count[i] - k * views[i].weight / 7.0), 1.0) << k << " " << i;
    }
  }
}

// An ineligible backend is left out of both the additions and the total: the others keep
// exact proportions among themselves, and the left-out one's current weight waits.
TEST(WeightedRoundRobinTest, IneligibleBackendsAreLeftOutAndOthersStayExact) {
  const WeightedRoundRobin wrr;
  auto views = Weighted({5, 2, 1});
  views[0].eligible = false;
  PickState state(3, 0);
  EXPECT_EQ(Sequence(wrr, views, state, 6), "bcbbcb");
  EXPECT_EQ(state.wrr_current[0], 0);
  views[0].eligible = true;
  std::vector<uint32_t> count(3, 0);
  for (int i = 0; i < 8 * 10; ++i) ++count[wrr.Pick(Context(views), state).value()];
  EXPECT_EQ(count, (std::vector<uint32_t>{50, 20, 10}));
}

TEST(WeightedRoundRobinTest, WeightZeroIsNeverPicked) {
  const WeightedRoundRobin wrr;
  const auto views = Weighted({0, 3, 0, 1});
  PickState state(4, 0);
  EXPECT_EQ(Sequence(wrr, views, state, 8), "bbdbbbdb");
}

TEST(WeightedRoundRobinTest, RetryExcludesTried) {
  const WeightedRoundRobin wrr;
  const auto views = Weighted({5, 1, 1});
  PickState state(3, 0);
  TriedBackends tried;
  tried.Add(0);
  std::optional<uint32_t> retry = wrr.Pick(Context(views, tried.indices()), state);
  ASSERT_TRUE(retry.has_value());
  EXPECT_NE(*retry, 0u);
  tried.Add(*retry);
  std::optional<uint32_t> again = wrr.Pick(Context(views, tried.indices()), state);
  EXPECT_EQ(again, 3u - *retry);  // the one left
  tried.Add(*again);
  EXPECT_EQ(wrr.Pick(Context(views, tried.indices()), state), std::nullopt);
}

TEST(WeightedRoundRobinTest, AllIneligibleReturnsNulloptAndLeavesStateAlone) {
  const WeightedRoundRobin wrr;
  auto views = Weighted({5, 1, 1});
  for (BackendView& v : views) v.eligible = false;
  PickState state(3, 0);
  state.wrr_current = {4, -3, -1};
  EXPECT_EQ(wrr.Pick(Context(views), state), std::nullopt);
  EXPECT_EQ(state.wrr_current, (std::vector<int64_t>{4, -3, -1}));
  EXPECT_EQ(wrr.Pick(Context({}), state), std::nullopt);
}

}  // namespace
}  // namespace ferry::proxy
