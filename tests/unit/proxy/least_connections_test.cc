// Least connections (least_connections.h): the candidate with the fewest active connections
// per unit of weight; ties rotate from the worker's cursor instead of piling onto backend 0.
#include "proxy/least_connections.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/balancer.h"

namespace ferry::proxy {
namespace {

std::vector<BackendView> Views(uint32_t n, uint32_t weight = 1) {
  std::vector<BackendView> views;
  for (uint32_t i = 0; i < n; ++i) views.push_back({i, weight, true});
  return views;
}

PickContext Context(std::span<const BackendView> views, std::span<const uint32_t> active,
                    std::span<const uint32_t> excluded = {}) {
  PickContext context;
  context.backends = views;
  context.active_connections = active;
  context.excluded = excluded;
  return context;
}

PickState StateAt(uint32_t n, uint32_t cursor) {
  PickState state(n, 0);
  state.cursor = cursor;
  return state;
}

TEST(LeastConnectionsTest, PicksTheMinimum) {
  const LeastConnections lc;
  const auto views = Views(5);
  const std::vector<uint32_t> active = {5, 2, 7, 1, 3};
  for (uint32_t cursor = 0; cursor < 5; ++cursor) {
    PickState state = StateAt(5, cursor);
    EXPECT_EQ(lc.Pick(Context(views, active), state), 3u) << cursor;
  }
}

// Counts that do not change between picks (a burst picked before any connection is
// counted, or an idle pool): the tied backends take turns.
TEST(LeastConnectionsTest, TiesRotate) {
  const LeastConnections lc;
  const auto views = Views(4);
  const std::vector<uint32_t> idle = {0, 0, 0, 0};
  PickState state = StateAt(4, 0);
  std::vector<uint32_t> picks;
  for (int i = 0; i < 8; ++i) picks.push_back(lc.Pick(Context(views, idle), state).value());
  EXPECT_EQ(picks, (std::vector<uint32_t>{0, 1, 2, 3, 0, 1, 2, 3}));

  const std::vector<uint32_t> two_tied = {5, 2, 7, 2};
  picks.clear();
  for (int i = 0; i < 4; ++i) picks.push_back(lc.Pick(Context(views, two_tied), state).value());
  EXPECT_EQ(picks, (std::vector<uint32_t>{1, 3, 1, 3}));
}

// Each pick opens a connection: the pool fills level, one connection per backend per round.
TEST(LeastConnectionsTest, CountedPicksFillThePoolEvenly) {
  const LeastConnections lc;
  const auto views = Views(4);
  std::vector<uint32_t> active = {0, 3, 0, 1};
  PickState state(4, 77);
  for (int i = 0; i < 4 + 4 * 10; ++i) ++active[lc.Pick(Context(views, active), state).value()];
  EXPECT_EQ(active, (std::vector<uint32_t>{12, 12, 12, 12}));
}

// Load is connections / weight: a weight-3 backend takes three connections for each one a
// weight-1 backend takes.
TEST(LeastConnectionsTest, WeightsScaleTheCount) {
  const LeastConnections lc;
  std::vector<BackendView> views = {{0, 3, true}, {1, 1, true}, {2, 1, true}};
  PickState state(3, 0);
  EXPECT_EQ(lc.Pick(Context(views, std::vector<uint32_t>{5, 2, 2}), state), 0u);  // 5/3 < 2
  EXPECT_EQ(lc.Pick(Context(views, std::vector<uint32_t>{6, 2, 3}), state), 1u);  // 6/3 == 2, 2 < 3
  std::vector<uint32_t> active = {0, 0, 0};
  for (int i = 0; i < 50; ++i) ++active[lc.Pick(Context(views, active), state).value()];
  EXPECT_EQ(active, (std::vector<uint32_t>{30, 10, 10}));
}

// Equal counts, different weights: the heavier backend is the less loaded.
TEST(LeastConnectionsTest, EqualCountsGoToTheHeavierBackend) {
  const LeastConnections lc;
  std::vector<BackendView> views = {{0, 1, true}, {1, 4, true}, {2, 2, true}};
  PickState state = StateAt(3, 0);
  EXPECT_EQ(lc.Pick(Context(views, std::vector<uint32_t>{3, 3, 3}), state), 1u);
}

TEST(LeastConnectionsTest, IgnoresIneligibleAndZeroWeightEvenWhenLeastLoaded) {
  const LeastConnections lc;
  std::vector<BackendView> views = {{0, 1, false}, {1, 0, true}, {2, 1, true}, {3, 1, true}};
  const std::vector<uint32_t> active = {0, 0, 9, 4};
  PickState state = StateAt(4, 0);
  EXPECT_EQ(lc.Pick(Context(views, active), state), 3u);
}

TEST(LeastConnectionsTest, RetryExcludesTheLeastLoadedAndTakesTheNext) {
  const LeastConnections lc;
  const auto views = Views(4);
  const std::vector<uint32_t> active = {4, 1, 3, 2};
  PickState state = StateAt(4, 0);
  TriedBackends tried;
  tried.Add(1);
  EXPECT_EQ(lc.Pick(Context(views, active, tried.indices()), state), 3u);
  tried.Add(3);
  EXPECT_EQ(lc.Pick(Context(views, active, tried.indices()), state), 2u);
}

TEST(LeastConnectionsTest, AllIneligibleReturnsNullopt) {
  const LeastConnections lc;
  auto views = Views(3);
  for (BackendView& v : views) v.eligible = false;
  const std::vector<uint32_t> active = {0, 0, 0};
  PickState state = StateAt(3, 2);
  EXPECT_EQ(lc.Pick(Context(views, active), state), std::nullopt);
  EXPECT_EQ(state.cursor, 2u);
  EXPECT_EQ(lc.Pick(Context({}, {}), state), std::nullopt);
}

}  // namespace
}  // namespace ferry::proxy
