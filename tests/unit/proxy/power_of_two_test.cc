// Power of two choices (power_of_two.h): two distinct uniformly drawn candidates, the less
// loaded wins; never an ineligible backend; even spread on an idle pool; deterministic for a
// given seed. Statistical checks use fixed seeds, so they pass or fail the same way every run;
// their thresholds are chi-square critical values at p = 0.001.
#include "proxy/power_of_two.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/balancer.h"

namespace ferry::proxy {
namespace {

std::vector<BackendView> Views(uint32_t n) {
  std::vector<BackendView> views;
  for (uint32_t i = 0; i < n; ++i) views.push_back({i, 1, true});
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

// Pearson's chi-square of `count` against equal expected counts over the entries of
// `which` (the candidates).
double ChiSquare(const std::vector<uint32_t>& count, const std::vector<uint32_t>& which) {
  double total = 0;
  for (uint32_t i : which) total += count[i];
  const double expected = total / which.size();
  double chi2 = 0;
  for (uint32_t i : which) chi2 += (count[i] - expected) * (count[i] - expected) / expected;
  return chi2;
}

// With exactly two candidates both are always drawn, so the less loaded always wins.
TEST(PowerOfTwoTest, OfTwoCandidatesAlwaysTakesTheLessLoaded) {
  const PowerOfTwoChoices p2c;
  auto views = Views(6);
  for (uint32_t i : {0u, 2u, 3u, 5u}) views[i].eligible = false;
  const std::vector<uint32_t> active = {0, 10, 0, 0, 2, 0};
  PickState state(6, 1);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(p2c.Pick(Context(views, active), state), 4u);
}

// Whatever the draw, the strictly most loaded candidate loses to the other one drawn; the
// least loaded wins whenever it is drawn, 2/N of picks (a random pick would give it 1/N); in
// general the k-th least loaded wins 2 (N - k) / (N (N - 1)) of picks.
TEST(PowerOfTwoTest, NeverPicksTheMostLoadedAndFavoursTheLeast) {
  const PowerOfTwoChoices p2c;
  constexpr uint32_t kN = 5;
  const auto views = Views(kN);
  const std::vector<uint32_t> active = {7, 3, 9, 1, 5};  // 2 is the most, 3 the least loaded
  PickState state(kN, 2);
  std::vector<uint32_t> count(kN, 0);
  const int picks = 50000;
  for (int i = 0; i < picks; ++i) ++count[p2c.Pick(Context(views, active), state).value()];
  EXPECT_EQ(count[2], 0u);
  EXPECT_NEAR(static_cast<double>(count[3]) / picks, 2.0 / kN, 0.01);
  EXPECT_NEAR(static_cast<double>(count[1]) / picks, 2.0 * 3 / 20, 0.01);
  EXPECT_NEAR(static_cast<double>(count[4]) / picks, 2.0 * 2 / 20, 0.01);
  EXPECT_NEAR(static_cast<double>(count[0]) / picks, 2.0 * 1 / 20, 0.01);
}

TEST(PowerOfTwoTest, LoadIsPerUnitOfWeight) {
  const PowerOfTwoChoices p2c;
  std::vector<BackendView> views = {{0, 3, true}, {1, 1, true}};
  PickState state(2, 3);
  // 6/3 = 2 < 3/1.
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(p2c.Pick(Context(views, std::vector<uint32_t>{6, 3}), state), 0u);
  }
}

TEST(PowerOfTwoTest, EvenSpreadOverAnIdlePool) {
  const PowerOfTwoChoices p2c;
  constexpr uint32_t kN = 10;
  const auto views = Views(kN);
  const std::vector<uint32_t> idle(kN, 0);
  PickState state(kN, 0x5eed);
  std::vector<uint32_t> count(kN, 0);
  for (int i = 0; i < 100000; ++i) ++count[p2c.Pick(Context(views, idle), state).value()];
  std::vector<uint32_t> all(kN);
  for (uint32_t i = 0; i < kN; ++i) all[i] = i;
  const double chi2 = ChiSquare(count, all);
  std::printf("p2c idle pool, 10 backends, 100000 picks: chi-square %.2f (9 df, p=0.001 at "
              "27.88); min %u max %u\n",
              chi2, *std::min_element(count.begin(), count.end()),
              *std::max_element(count.begin(), count.end()));
  EXPECT_LT(chi2, 27.88);
}

// Counted picks (each pick opens a connection) keep the pool nearly level: the spread
// between the most and least loaded stays small, unlike random picks whose spread grows
// with the square root of the count.
TEST(PowerOfTwoTest, CountedPicksKeepThePoolNearlyLevel) {
  const PowerOfTwoChoices p2c;
  constexpr uint32_t kN = 10;
  const auto views = Views(kN);
  std::vector<uint32_t> active(kN, 0);
  PickState state(kN, 9);
  for (int i = 0; i < 100000; ++i) ++active[p2c.Pick(Context(views, active), state).value()];
  const uint32_t spread = *std::max_element(active.begin(), active.end()) -
                          *std::min_element(active.begin(), active.end());
  std::printf("p2c counted picks, 10 backends, 100000 picks: max - min = %u\n", spread);
  EXPECT_LE(spread, 10u);
}

// Few candidates among many backends: the random draws mostly miss and the counted path
// chooses; still uniform over the candidates and never anything else.
TEST(PowerOfTwoTest, FewCandidatesAmongManyStayUniformAndEligible) {
  const PowerOfTwoChoices p2c;
  constexpr uint32_t kN = 100;
  auto views = Views(kN);
  for (BackendView& v : views) v.eligible = false;
  const std::vector<uint32_t> candidates = {4, 50, 97};
  for (uint32_t i : candidates) views[i].eligible = true;
  const std::vector<uint32_t> idle(kN, 0);
  PickState state(kN, 11);
  std::vector<uint32_t> count(kN, 0);
  for (int i = 0; i < 30000; ++i) ++count[p2c.Pick(Context(views, idle), state).value()];
  uint32_t elsewhere = 0;
  for (uint32_t i = 0; i < kN; ++i) {
    if (!views[i].eligible) elsewhere += count[i];
  }
  EXPECT_EQ(elsewhere, 0u);
  EXPECT_LT(ChiSquare(count, candidates), 13.82);  // 2 df
}

// The same pool with loads: every pair of the three is equally likely, so the least loaded
// wins the two pairs it is in (2/3), the middle one the pair without it (1/3), the most
// loaded none. (A second draw biased towards low positions would hand backend 4 more.)
TEST(PowerOfTwoTest, FewCandidatesAmongManyDrawUniformPairs) {
  const PowerOfTwoChoices p2c;
  constexpr uint32_t kN = 100;
  auto views = Views(kN);
  for (BackendView& v : views) v.eligible = false;
  for (uint32_t i : {4u, 50u, 97u}) views[i].eligible = true;
  std::vector<uint32_t> active(kN, 0);
  active[4] = 0;
  active[50] = 1;
  active[97] = 2;
  PickState state(kN, 12);
  std::vector<uint32_t> count(kN, 0);
  const int picks = 30000;
  for (int i = 0; i < picks; ++i) ++count[p2c.Pick(Context(views, active), state).value()];
  EXPECT_NEAR(static_cast<double>(count[4]) / picks, 2.0 / 3, 0.015);
  EXPECT_NEAR(static_cast<double>(count[50]) / picks, 1.0 / 3, 0.015);
  EXPECT_EQ(count[97], 0u);
}

TEST(PowerOfTwoTest, OneCandidateIsThePick) {
  const PowerOfTwoChoices p2c;
  auto views = Views(8);
  for (BackendView& v : views) v.eligible = false;
  views[6].eligible = true;
  const std::vector<uint32_t> active(8, 0);
  PickState state(8, 4);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p2c.Pick(Context(views, active), state), 6u);
}

TEST(PowerOfTwoTest, SameSeedSamePicksOtherSeedOtherPicks) {
  const PowerOfTwoChoices p2c;
  const auto views = Views(10);
  const std::vector<uint32_t> idle(10, 0);
  PickState a(10, 42), b(10, 42), c(10, 43);
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    std::optional<uint32_t> x = p2c.Pick(Context(views, idle), a);
    EXPECT_EQ(x, p2c.Pick(Context(views, idle), b));
    differ += x != p2c.Pick(Context(views, idle), c);
  }
  EXPECT_GT(differ, 100);
}

TEST(PowerOfTwoTest, RetryExcludesTried) {
  const PowerOfTwoChoices p2c;
  const auto views = Views(3);
  const std::vector<uint32_t> active = {0, 5, 9};
  PickState state(3, 8);
  TriedBackends tried;
  tried.Add(0);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(p2c.Pick(Context(views, active, tried.indices()), state), 1u);
  }
}

TEST(PowerOfTwoTest, AllIneligibleReturnsNullopt) {
  const PowerOfTwoChoices p2c;
  auto views = Views(4);
  for (BackendView& v : views) v.eligible = false;
  const std::vector<uint32_t> active(4, 0);
  PickState state(4, 1);
  EXPECT_EQ(p2c.Pick(Context(views, active), state), std::nullopt);
  EXPECT_EQ(p2c.Pick(Context({}, {}), state), std::nullopt);
}

}  // namespace
}  // namespace ferry::proxy
