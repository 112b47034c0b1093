// The balancing vocabulary (balancer.h: TriedBackends, Pcg32, PickState, the candidate and
// load helpers), and the contract every policy shares, checked on all five at once: never an
// ineligible, zero-weight or excluded backend; nullopt when nothing is a candidate; a retry
// with the tried backends excluded walks through every backend exactly once.
#include "proxy/balancer.h"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/least_connections.h"
#include "proxy/maglev.h"
#include "proxy/power_of_two.h"
#include "proxy/round_robin.h"
#include "proxy/weighted_round_robin.h"

namespace ferry::proxy {
namespace {

PickContext Context(std::span<const BackendView> views, std::span<const uint32_t> active = {},
                    std::span<const uint32_t> excluded = {}, net::Ipv4Address client = {}) {
  PickContext context;
  context.client_address = client;
  context.backends = views;
  context.active_connections = active;
  context.excluded = excluded;
  return context;
}

// ---------------------------------------------------------------------------------------------
// TriedBackends

TEST(TriedBackendsTest, RecordsInOrderUpToCapacityThenRefuses) {
  TriedBackends tried;
  EXPECT_EQ(tried.size(), 0u);
  EXPECT_TRUE(tried.indices().empty());
  for (uint32_t i = 0; i < TriedBackends::kCapacity; ++i) EXPECT_TRUE(tried.Add(100 + i));
  EXPECT_FALSE(tried.Add(7));
  ASSERT_EQ(tried.size(), TriedBackends::kCapacity);
  for (uint32_t i = 0; i < TriedBackends::kCapacity; ++i) EXPECT_EQ(tried.indices()[i], 100 + i);
  tried.Clear();
  EXPECT_EQ(tried.size(), 0u);
  EXPECT_TRUE(tried.Add(3));
  EXPECT_EQ(tried.indices().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Pcg32

// The first outputs of the PCG reference demo (pcg32-demo.c: pcg32_srandom_r(&rng, 42, 54)).
TEST(Pcg32Test, MatchesTheReferenceSequence) {
  Pcg32 rng(42, 54);
  const std::array<uint32_t, 6> expected = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                            0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (uint32_t want : expected) EXPECT_EQ(rng.Next(), want);
}

TEST(Pcg32Test, SameSeedSameSequenceOtherSeedOtherSequence) {
  Pcg32 a(7), b(7), c(8);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    uint32_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differ += x != c.Next();
  }
  EXPECT_GT(differ, 95);
}

TEST(Pcg32Test, BelowStaysInRangeAndCoversIt) {
  Pcg32 rng(1);
  for (uint32_t bound : {1u, 2u, 3u, 7u, 10u, 1000u, 0x80000001u, 0xffffffffu}) {
    std::set<uint32_t> seen;
    for (int i = 0; i < 2000; ++i) {
      uint32_t x = rng.Below(bound);
      ASSERT_LT(x, bound);
      seen.insert(x);
    }
    if (bound <= 10) {
      EXPECT_EQ(seen.size(), bound) << bound;
    }
  }
}

// A bound just above 2^31 is where plain multiply-shift is most biased: 2^32 mod bound is
// almost half of 2^32. Lemire's rejection makes the lower and upper halves equally likely.
TEST(Pcg32Test, BelowIsUnbiasedForAnAwkwardBound) {
  Pcg32 rng(3);
  const uint32_t bound = 0x80000001u;
  int low = 0;
  const int draws = 200000;
  for (int i = 0; i < draws; ++i) low += rng.Below(bound) < bound / 2;
  EXPECT_NEAR(static_cast<double>(low) / draws, 0.5, 0.005);
}

// ---------------------------------------------------------------------------------------------
// PickState and the helpers

TEST(PickStateTest, SizesWrrStateAndStartsCursorInRangeVaryingBySeed) {
  std::set<uint32_t> starts;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    PickState state(10, seed);
    EXPECT_EQ(state.wrr_current.size(), 10u);
    EXPECT_LT(state.cursor, 10u);
    starts.insert(state.cursor);
  }
  EXPECT_GT(starts.size(), 3u);  // workers do not all start at backend 0
  PickState empty(0, 5);
  EXPECT_EQ(empty.cursor, 0u);
  EXPECT_TRUE(empty.wrr_current.empty());
}

TEST(HelpersTest, IsCandidateRequiresEligibleNonzeroWeightNotExcludedInRange) {
  const std::vector<BackendView> views = {
      {0, 1, true}, {1, 1, false}, {2, 0, true}, {3, 5, true}};
  const std::vector<uint32_t> excluded = {3};
  PickContext context = Context(views);
  EXPECT_TRUE(IsCandidate(context, 0));
  EXPECT_FALSE(IsCandidate(context, 1));  // ineligible
  EXPECT_FALSE(IsCandidate(context, 2));  // weight 0
  EXPECT_TRUE(IsCandidate(context, 3));
  EXPECT_FALSE(IsCandidate(context, 4));  // out of range
  context.excluded = excluded;
  EXPECT_FALSE(IsCandidate(context, 3));
}

TEST(HelpersTest, LessLoadedComparesConnectionsPerWeightExactly) {
  EXPECT_TRUE(LessLoaded(1, 1, 2, 1));
  EXPECT_FALSE(LessLoaded(2, 1, 2, 1));        // equal is not less
  EXPECT_TRUE(LessLoaded(5, 3, 2, 1));         // 5/3 < 2
  EXPECT_FALSE(LessLoaded(6, 3, 2, 1));        // 6/3 == 2
  EXPECT_TRUE(LessLoaded(3, 1000, 3, 999));    // equal counts: the heavier is less loaded
  // Products beyond 32 bits compare correctly.
  EXPECT_TRUE(LessLoaded(0xffffffffu, 1000, 0xffffffffu, 999));
  EXPECT_FALSE(LessLoaded(0xffffffffu, 999, 0xffffffffu, 1000));
  EXPECT_TRUE(LessLoaded(0xfffffffeu, 0xffffffffu, 0xffffffffu, 0xffffffffu));
}

TEST(HelpersTest, ActiveConnectionsReadsZeroPastTheEnd) {
  const std::vector<BackendView> views = {{0, 1, true}, {1, 1, true}};
  const std::vector<uint32_t> active = {4};
  PickContext context = Context(views, active);
  EXPECT_EQ(ActiveConnections(context, 0), 4u);
  EXPECT_EQ(ActiveConnections(context, 1), 0u);
}

// ---------------------------------------------------------------------------------------------
// Every policy: the shared contract

constexpr uint32_t kBackends = 10;

std::vector<MaglevBackend> MaglevBackends(uint32_t n) {
  std::vector<MaglevBackend> backends;
  for (uint32_t i = 0; i < n; ++i) {
    backends.push_back({"10.1.0." + std::to_string(i + 1) + ":8080", 1 + i % 3});
  }
  return backends;
}

struct Policy {
  std::string name;
  std::unique_ptr<const Balancer> balancer;
};

std::vector<Policy> AllPolicies() {
  std::vector<Policy> policies;
  policies.push_back({"round_robin", std::make_unique<RoundRobin>()});
  policies.push_back({"weighted_round_robin", std::make_unique<WeightedRoundRobin>()});
  policies.push_back({"least_connections", std::make_unique<LeastConnections>()});
  policies.push_back({"power_of_two", std::make_unique<PowerOfTwoChoices>()});
  auto maglev = MaglevTable::Build(MaglevBackends(kBackends));
  EXPECT_TRUE(maglev.ok()) << maglev.status();
  policies.push_back({"maglev", std::make_unique<MaglevTable>(std::move(*maglev))});
  return policies;
}

TEST(EveryPolicyTest, ReportsItsPolicy) {
  std::vector<Policy> policies = AllPolicies();
  EXPECT_EQ(policies[0].balancer->policy(), BalancingPolicy::kRoundRobin);
  EXPECT_EQ(policies[1].balancer->policy(), BalancingPolicy::kWeightedRoundRobin);
  EXPECT_EQ(policies[2].balancer->policy(), BalancingPolicy::kLeastConnections);
  EXPECT_EQ(policies[3].balancer->policy(), BalancingPolicy::kPowerOfTwoChoices);
  EXPECT_EQ(policies[4].balancer->policy(), BalancingPolicy::kMaglev);
}

// Random pools (eligibility, weights including 0, loads, exclusions, clients): whatever a
// policy returns is a candidate, and the policies that scan the whole pool (all but Maglev,
// which probes a bounded number of slots) return something whenever a candidate exists.
TEST(EveryPolicyTest, NeverReturnsAnIneligibleZeroWeightOrExcludedBackend) {
  Pcg32 rng(2024);
  for (const Policy& policy : AllPolicies()) {
    PickState state(kBackends, 99);
    int picked = 0;
    int none = 0;
    for (int round = 0; round < 20000; ++round) {
      std::vector<BackendView> views;
      std::vector<uint32_t> active;
      for (uint32_t i = 0; i < kBackends; ++i) {
        views.push_back({i, rng.Below(8) == 0 ? 0u : 1 + rng.Below(5), rng.Below(3) != 0});
        active.push_back(rng.Below(20));
      }
      TriedBackends tried;
      for (uint32_t k = rng.Below(4); k > 0; --k) tried.Add(rng.Below(kBackends));
      PickContext context =
          Context(views, active, tried.indices(), net::Ipv4Address(rng.Next()));
      context.client_port = static_cast<uint16_t>(rng.Next());
      bool any_candidate = false;
      for (uint32_t i = 0; i < kBackends; ++i) any_candidate |= IsCandidate(context, i);

      std::optional<uint32_t> pick = policy.balancer->Pick(context, state);
      if (pick) {
        ++picked;
        ASSERT_LT(*pick, kBackends) << policy.name;
        EXPECT_TRUE(views[*pick].eligible) << policy.name;
        EXPECT_NE(views[*pick].weight, 0u) << policy.name;
        for (uint32_t t : tried.indices()) EXPECT_NE(*pick, t) << policy.name;
      } else {
        ++none;
        if (policy.balancer->policy() != BalancingPolicy::kMaglev) {
          EXPECT_FALSE(any_candidate) << policy.name << " round " << round;
        }
      }
      if (!any_candidate) {
        EXPECT_FALSE(pick) << policy.name;
      }
    }
    EXPECT_GT(picked, 15000) << policy.name;
    EXPECT_GT(none, 0) << policy.name;  // the random pools did include hopeless ones
  }
}

TEST(EveryPolicyTest, AllIneligibleReturnsNullopt) {
  std::vector<BackendView> views;
  for (uint32_t i = 0; i < kBackends; ++i) views.push_back({i, 1, false});
  const std::vector<uint32_t> active(kBackends, 0);
  for (const Policy& policy : AllPolicies()) {
    PickState state(kBackends, 1);
    for (uint32_t client = 0; client < 1000; ++client) {
      PickContext context = Context(views, active, {}, net::Ipv4Address(client * 2654435761u));
      EXPECT_EQ(policy.balancer->Pick(context, state), std::nullopt) << policy.name;
    }
  }
}

TEST(EveryPolicyTest, EmptyPoolReturnsNullopt) {
  auto empty_maglev = MaglevTable::Build({});
  ASSERT_TRUE(empty_maglev.ok()) << empty_maglev.status();
  std::vector<Policy> policies = AllPolicies();
  policies.push_back({"maglev (empty)", std::make_unique<MaglevTable>(std::move(*empty_maglev))});
  for (const Policy& policy : policies) {
    PickState state(0, 1);
    EXPECT_EQ(policy.balancer->Pick(PickContext{}, state), std::nullopt) << policy.name;
  }
}

// A session retries with every backend it has tried excluded: each retry gets a backend not
// tried before, and once all are tried, nullopt. The pool is smaller than TriedBackends'
// capacity so that the whole pool can be excluded.
TEST(EveryPolicyTest, RetryWithTriedExcludedVisitsEveryBackendOnceThenNullopt) {
  constexpr uint32_t kSmall = TriedBackends::kCapacity;
  auto maglev = MaglevTable::Build(MaglevBackends(kSmall));
  ASSERT_TRUE(maglev.ok()) << maglev.status();
  std::vector<Policy> policies = AllPolicies();
  policies[4].balancer = std::make_unique<MaglevTable>(std::move(*maglev));

  std::vector<BackendView> views;
  for (uint32_t i = 0; i < kSmall; ++i) views.push_back({i, 1 + i % 3, true});
  const std::vector<uint32_t> active = {3, 1, 4, 1, 5, 9, 2, 6};
  for (const Policy& policy : policies) {
    PickState state(kSmall, 17);
    for (uint32_t client = 1; client <= 50; ++client) {
      TriedBackends tried;
      PickContext context = Context(views, active, {}, net::Ipv4Address(client * 0x9e3779b9u));
      for (uint32_t attempt = 0; attempt < kSmall; ++attempt) {
        context.excluded = tried.indices();
        std::optional<uint32_t> pick = policy.balancer->Pick(context, state);
        ASSERT_TRUE(pick.has_value()) << policy.name << " attempt " << attempt;
        for (uint32_t t : tried.indices()) ASSERT_NE(*pick, t) << policy.name;
        ASSERT_TRUE(tried.Add(*pick));
      }
      context.excluded = tried.indices();
      EXPECT_EQ(policy.balancer->Pick(context, state), std::nullopt) << policy.name;
    }
  }
}

}  // namespace
}  // namespace ferry::proxy
