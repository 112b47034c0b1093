// MakeBalancer (balancer_factory.h): each BalancingPolicy gives its implementation, and a
// Maglev pool's table is the one MaglevTable::Build makes from the backends' names and weights
// at the pool's table size, every backend in pool order.
#include "proxy/balancer_factory.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proxy/balancer.h"
#include "proxy/least_connections.h"
#include "proxy/maglev.h"
#include "proxy/power_of_two.h"
#include "proxy/proxy_settings.h"
#include "proxy/round_robin.h"
#include "proxy/weighted_round_robin.h"

namespace ferry::proxy {
namespace {

BackendSettings Backend(const std::string& name, uint32_t weight = 1) {
  BackendSettings b;
  b.name = name;
  b.weight = weight;
  return b;
}

PoolSettings Pool(BalancingPolicy policy, std::vector<BackendSettings> backends) {
  PoolSettings pool;
  pool.name = "web";
  pool.policy = policy;
  pool.backends = std::move(backends);
  return pool;
}

std::unique_ptr<const Balancer> Make(const PoolSettings& pool) {
  auto balancer = MakeBalancer(pool);
  EXPECT_TRUE(balancer.ok()) << balancer.status();
  return balancer.ok() ? *std::move(balancer) : nullptr;
}

TEST(MakeBalancerTest, EachPolicyGivesItsImplementation) {
  const std::vector<BackendSettings> backends = {Backend("a"), Backend("b")};
  const auto rr = Make(Pool(BalancingPolicy::kRoundRobin, backends));
  const auto wrr = Make(Pool(BalancingPolicy::kWeightedRoundRobin, backends));
  const auto lc = Make(Pool(BalancingPolicy::kLeastConnections, backends));
  const auto p2c = Make(Pool(BalancingPolicy::kPowerOfTwoChoices, backends));
  const auto maglev = Make(Pool(BalancingPolicy::kMaglev, backends));
  ASSERT_TRUE(rr && wrr && lc && p2c && maglev);
  EXPECT_EQ(rr->policy(), BalancingPolicy::kRoundRobin);
  EXPECT_NE(dynamic_cast<const RoundRobin*>(rr.get()), nullptr);
  EXPECT_EQ(wrr->policy(), BalancingPolicy::kWeightedRoundRobin);
  EXPECT_NE(dynamic_cast<const WeightedRoundRobin*>(wrr.get()), nullptr);
  EXPECT_EQ(lc->policy(), BalancingPolicy::kLeastConnections);
  EXPECT_NE(dynamic_cast<const LeastConnections*>(lc.get()), nullptr);
  EXPECT_EQ(p2c->policy(), BalancingPolicy::kPowerOfTwoChoices);
  EXPECT_NE(dynamic_cast<const PowerOfTwoChoices*>(p2c.get()), nullptr);
  EXPECT_EQ(maglev->policy(), BalancingPolicy::kMaglev);
  EXPECT_NE(dynamic_cast<const MaglevTable*>(maglev.get()), nullptr);
}

TEST(MakeBalancerTest, TheDefaultPoolIsRoundRobin) {
  const auto balancer = Make(PoolSettings{});
  ASSERT_TRUE(balancer);
  EXPECT_EQ(balancer->policy(), BalancingPolicy::kRoundRobin);
}

// The balancer picks among the pool's positions: round robin from cursor 0 visits them in
// order, and an empty pool picks nothing.
TEST(MakeBalancerTest, PicksArePositionsInThePool) {
  const auto balancer =
      Make(Pool(BalancingPolicy::kRoundRobin, {Backend("a"), Backend("b"), Backend("c")}));
  ASSERT_TRUE(balancer);
  const std::vector<BackendView> views = {{0, 1, true}, {1, 1, true}, {2, 1, true}};
  PickContext context;
  context.backends = views;
  PickState state(3, 0);
  state.cursor = 0;
  std::vector<uint32_t> picks;
  for (int i = 0; i < 4; ++i) picks.push_back(balancer->Pick(context, state).value_or(99));
  EXPECT_EQ(picks, (std::vector<uint32_t>{0, 1, 2, 0}));

  const auto empty = Make(Pool(BalancingPolicy::kRoundRobin, {}));
  ASSERT_TRUE(empty);
  PickState empty_state(0, 0);
  EXPECT_EQ(empty->Pick(PickContext{}, empty_state), std::nullopt);
}

// ---- Maglev ----------------------------------------------------------------------------------

// The table MakeBalancer builds is exactly Build's for (names, weights) at the pool's size.
TEST(MakeBalancerTest, MaglevTableIsBuiltFromNamesAndWeightsAtThePoolsSize) {
  PoolSettings pool = Pool(BalancingPolicy::kMaglev,
                           {Backend("web-1", 1), Backend("web-2", 3), Backend("web-3", 2)});
  pool.maglev_table_size = 1009;
  const auto balancer = Make(pool);
  ASSERT_TRUE(balancer);
  const auto* table = dynamic_cast<const MaglevTable*>(balancer.get());
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->table_size(), 1009u);
  EXPECT_EQ(table->backend_count(), 3u);

  const std::vector<MaglevBackend> same = {{"web-1", 1}, {"web-2", 3}, {"web-3", 2}};
  auto expected = MaglevTable::Build(same, 1009);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_TRUE(std::equal(table->slots().begin(), table->slots().end(),
                         expected->slots().begin(), expected->slots().end()));

  // Weights count: slots are owned in proportion 1:3:2, to within a slot per backend
  // (maglev.h).
  std::vector<uint32_t> owned(3, 0);
  for (uint16_t slot : table->slots()) ++owned[slot];
  EXPECT_NEAR(owned[0], 1009.0 / 6, 3);
  EXPECT_NEAR(owned[1], 1009.0 * 3 / 6, 3);
  EXPECT_NEAR(owned[2], 1009.0 * 2 / 6, 3);
}

// The ids are the names: the same names give the same table in every build (a restart keeps
// clients on their backends), and renaming one backend changes it.
TEST(MakeBalancerTest, MaglevIdsAreTheBackendNames) {
  PoolSettings a = Pool(BalancingPolicy::kMaglev, {Backend("x"), Backend("y")});
  PoolSettings again = a;
  PoolSettings renamed = Pool(BalancingPolicy::kMaglev, {Backend("x"), Backend("z")});
  a.maglev_table_size = again.maglev_table_size = renamed.maglev_table_size = 101;
  const auto ta = Make(a);
  const auto tagain = Make(again);
  const auto trenamed = Make(renamed);
  ASSERT_TRUE(ta && tagain && trenamed);
  const auto sa = dynamic_cast<const MaglevTable&>(*ta).slots();
  const auto sagain = dynamic_cast<const MaglevTable&>(*tagain).slots();
  const auto srenamed = dynamic_cast<const MaglevTable&>(*trenamed).slots();
  EXPECT_TRUE(std::equal(sa.begin(), sa.end(), sagain.begin(), sagain.end()));
  EXPECT_FALSE(std::equal(sa.begin(), sa.end(), srenamed.begin(), srenamed.end()));
}

TEST(MakeBalancerTest, MaglevTakesTheDefaultSizeAndKeepsDisabledBackends) {
  PoolSettings pool = Pool(BalancingPolicy::kMaglev, {Backend("a"), Backend("b"), Backend("c")});
  pool.backends[1].enabled = false;
  const auto balancer = Make(pool);
  ASSERT_TRUE(balancer);
  const auto& table = dynamic_cast<const MaglevTable&>(*balancer);
  EXPECT_EQ(table.table_size(), MaglevTable::kDefaultTableSize);
  // Positions stay those of the pool: the disabled backend still owns its slots, and the
  // worker marks it ineligible.
  EXPECT_EQ(table.backend_count(), 3u);
  EXPECT_TRUE(std::find(table.slots().begin(), table.slots().end(), 1) != table.slots().end());
}

TEST(MakeBalancerTest, EmptyMaglevPoolPicksNothing) {
  const auto balancer = Make(Pool(BalancingPolicy::kMaglev, {}));
  ASSERT_TRUE(balancer);
  PickState state(0, 0);
  PickContext context;
  context.client_address = net::Ipv4Address::FromOctets(192, 0, 2, 1);
  EXPECT_EQ(balancer->Pick(context, state), std::nullopt);
}

TEST(MakeBalancerTest, MaglevErrorsAreBuildsErrors) {
  PoolSettings not_prime = Pool(BalancingPolicy::kMaglev, {Backend("a")});
  not_prime.maglev_table_size = 65536;
  auto r = MakeBalancer(not_prime);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("65536"), absl::string_view::npos) << r.status();

  PoolSettings twice = Pool(BalancingPolicy::kMaglev, {Backend("a"), Backend("a")});
  EXPECT_EQ(MakeBalancer(twice).status().code(), absl::StatusCode::kInvalidArgument);

  PoolSettings heavy = Pool(BalancingPolicy::kMaglev, {Backend("a", kMaxBackendWeight + 1)});
  EXPECT_EQ(MakeBalancer(heavy).status().code(), absl::StatusCode::kInvalidArgument);

  PoolSettings crowded =
      Pool(BalancingPolicy::kMaglev, {Backend("a"), Backend("b"), Backend("c"), Backend("d")});
  crowded.maglev_table_size = 3;
  EXPECT_EQ(MakeBalancer(crowded).status().code(), absl::StatusCode::kInvalidArgument);

  // The other policies have nothing to build, so nothing to refuse.
  PoolSettings rr = twice;
  rr.policy = BalancingPolicy::kRoundRobin;
  EXPECT_TRUE(MakeBalancer(rr).ok());
}

}  // namespace
}  // namespace ferry::proxy
