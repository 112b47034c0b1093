// Round robin (round_robin.h): each candidate in turn, skipping the others without handing
// their turns to a neighbour, so that over whole cycles every candidate gets the same count.
#include "proxy/round_robin.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/balancer.h"

namespace ferry::proxy {
namespace {

std::vector<BackendView> Views(uint32_t n, std::vector<uint32_t> ineligible = {}) {
  std::vector<BackendView> views;
  for (uint32_t i = 0; i < n; ++i) {
    bool eligible = std::find(ineligible.begin(), ineligible.end(), i) == ineligible.end();
    views.push_back({i, 1, eligible});
  }
  return views;
}

PickContext Context(std::span<const BackendView> views, std::span<const uint32_t> excluded = {}) {
  PickContext context;
  context.backends = views;
  context.excluded = excluded;
  return context;
}

// A state whose cursor starts at `cursor` (the seed picks a random start otherwise).
PickState StateAt(uint32_t n, uint32_t cursor) {
  PickState state(n, 0);
  state.cursor = cursor;
  return state;
}

std::vector<uint32_t> Picks(const RoundRobin& rr, const PickContext& context, PickState& state,
                            int count) {
  std::vector<uint32_t> picks;
  for (int i = 0; i < count; ++i) {
    std::optional<uint32_t> pick = rr.Pick(context, state);
    EXPECT_TRUE(pick.has_value());
    picks.push_back(pick.value_or(~0u));
  }
  return picks;
}

TEST(RoundRobinTest, VisitsBackendsInPoolOrderFromTheCursor) {
  const RoundRobin rr;
  const auto views = Views(4);
  PickState state = StateAt(4, 2);
  EXPECT_EQ(Picks(rr, Context(views), state, 6), (std::vector<uint32_t>{2, 3, 0, 1, 2, 3}));
}

TEST(RoundRobinTest, SkipsIneligibleBackends) {
  const RoundRobin rr;
  const auto views = Views(6, {1, 3, 4});
  PickState state = StateAt(6, 0);
  EXPECT_EQ(Picks(rr, Context(views), state, 7), (std::vector<uint32_t>{0, 2, 5, 0, 2, 5, 0}));
}

// The bias the cursor rule avoids: with the cursor advanced by one per pick instead of past
// the pick, backend 4 (after the ineligible 1, 2, 3) would take their turns and get 4x the
// share of backend 0. Here each candidate gets N * 1000 / E picks, give or take one.
TEST(RoundRobinTest, EvenOverNTimes1000PicksWithSomeIneligible) {
  constexpr uint32_t kN = 10;
  const RoundRobin rr;
  const auto views = Views(kN, {1, 2, 3, 7});
  for (uint64_t seed = 0; seed < 8; ++seed) {
    PickState state(kN, seed);
    std::vector<uint32_t> count(kN, 0);
    for (uint32_t i = 0; i < kN * 1000; ++i) {
      std::optional<uint32_t> pick = rr.Pick(Context(views), state);
      ASSERT_TRUE(pick.has_value());
      ++count[*pick];
    }
    uint32_t lo = ~0u, hi = 0;
    for (uint32_t i = 0; i < kN; ++i) {
      if (!views[i].eligible) {
        EXPECT_EQ(count[i], 0u) << i;
        continue;
      }
      lo = std::min(lo, count[i]);
      hi = std::max(hi, count[i]);
    }
    EXPECT_LE(hi - lo, 1u) << "seed " << seed;
    EXPECT_EQ(lo, kN * 1000 / 6);  // 6 candidates: 1666 or 1667 each
  }
}

TEST(RoundRobinTest, ExactlyEvenOverWholeCycles) {
  const RoundRobin rr;
  const auto views = Views(7, {0, 6});
  PickState state(7, 12345);
  std::vector<uint32_t> count(7, 0);
  for (int i = 0; i < 5 * 1000; ++i) ++count[rr.Pick(Context(views), state).value()];
  EXPECT_EQ(count, (std::vector<uint32_t>{0, 1000, 1000, 1000, 1000, 1000, 0}));
}

// Eligibility changes between picks (a backend drains, another recovers): the cursor keeps
// going from where it was, and the new set is served in turn from there.
TEST(RoundRobinTest, FollowsEligibilityChangesBetweenPicks) {
  const RoundRobin rr;
  auto views = Views(4);
  PickState state = StateAt(4, 0);
  EXPECT_EQ(rr.Pick(Context(views), state), 0u);
  views[1].eligible = false;
  EXPECT_EQ(rr.Pick(Context(views), state), 2u);
  views[1].eligible = true;
  views[3].eligible = false;
  EXPECT_EQ(Picks(rr, Context(views), state, 4), (std::vector<uint32_t>{0, 1, 2, 0}));
}

TEST(RoundRobinTest, IgnoresWeightsButNeverPicksWeightZero) {
  const RoundRobin rr;
  std::vector<BackendView> views = {{0, 100, true}, {1, 0, true}, {2, 1, true}};
  PickState state = StateAt(3, 0);
  EXPECT_EQ(Picks(rr, Context(views), state, 4), (std::vector<uint32_t>{0, 2, 0, 2}));
}

TEST(RoundRobinTest, RetryExcludesTriedAndDoesNotRewindTheCursor) {
  const RoundRobin rr;
  const auto views = Views(5);
  PickState state = StateAt(5, 3);
  TriedBackends tried;
  tried.Add(3);
  tried.Add(4);
  EXPECT_EQ(rr.Pick(Context(views, tried.indices()), state), 0u);
  EXPECT_EQ(rr.Pick(Context(views), state), 1u);
}

TEST(RoundRobinTest, AllIneligibleOrExcludedReturnsNulloptAndKeepsTheCursor) {
  const RoundRobin rr;
  const auto none = Views(3, {0, 1, 2});
  PickState state = StateAt(3, 1);
  EXPECT_EQ(rr.Pick(Context(none), state), std::nullopt);
  EXPECT_EQ(state.cursor, 1u);
  const auto views = Views(3, {0});
  const std::vector<uint32_t> excluded = {1, 2};
  EXPECT_EQ(rr.Pick(Context(views, excluded), state), std::nullopt);
  EXPECT_EQ(rr.Pick(Context({}), state), std::nullopt);
}

TEST(RoundRobinTest, CursorFromALargerPoolIsReducedNotTrusted) {
  const RoundRobin rr;
  const auto views = Views(3);
  PickState state = StateAt(3, 1000);  // 1000 mod 3 == 1
  EXPECT_EQ(rr.Pick(Context(views), state), 1u);
}

}  // namespace
}  // namespace ferry::proxy
