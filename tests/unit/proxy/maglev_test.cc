// Maglev consistent hashing (maglev.h; Eisenbud et al., NSDI 2016, §3.4): the population
// step against the paper's worked example; Build's validation; a full table with shares in
// proportion to weights; per-client stickiness; minimal disruption when a backend leaves
// (figures printed); identical tables from identical input; bounded fallback probing for
// ineligible and excluded backends.
#include "proxy/maglev.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "proxy/balancer.h"

namespace ferry::proxy {
namespace {

constexpr uint32_t kM = MaglevTable::kDefaultTableSize;

std::vector<MaglevBackend> Backends(uint32_t n, std::vector<uint32_t> weights = {}) {
  std::vector<MaglevBackend> backends;
  for (uint32_t i = 0; i < n; ++i) {
    backends.push_back({"10.2.0." + std::to_string(i + 1) + ":443",
                        weights.empty() ? 1 : weights[i]});
  }
  return backends;
}

MaglevTable MustBuild(std::span<const MaglevBackend> backends, uint32_t table_size = kM,
                      const base::SipKey& key = MaglevTable::kDefaultClientKey) {
  auto table = MaglevTable::Build(backends, table_size, key);
  EXPECT_TRUE(table.ok()) << table.status();
  return std::move(table).value();
}

std::vector<BackendView> Views(uint32_t n, bool eligible = true) {
  std::vector<BackendView> views;
  for (uint32_t i = 0; i < n; ++i) views.push_back({i, 1, eligible});
  return views;
}

PickContext Context(std::span<const BackendView> views, net::Ipv4Address client,
                    std::span<const uint32_t> excluded = {}) {
  PickContext context;
  context.client_address = client;
  context.backends = views;
  context.excluded = excluded;
  return context;
}

std::vector<uint32_t> SlotCounts(const MaglevTable& table) {
  std::vector<uint32_t> count(table.backend_count(), 0);
  for (uint16_t b : table.slots()) ++count.at(b);
  return count;
}

// Random client addresses, the same ones every run.
std::vector<net::Ipv4Address> Clients(uint32_t n, uint64_t seed = 1) {
  Pcg32 rng(seed);
  std::vector<net::Ipv4Address> clients;
  for (uint32_t i = 0; i < n; ++i) clients.emplace_back(rng.Next());
  return clients;
}

// ---------------------------------------------------------------------------------------------
// Population (Pseudocode 1)

// The paper's example (§3.4, Table 1): three backends, M = 7, with offset/skip B0 = (3, 4),
// B1 = (0, 2), B2 = (3, 1). Before B1 leaves the table is B1 B0 B1 B0 B2 B2 B0; after, B0
// B0 B0 B0 B2 B2 B2: slots 1, 3, 4, 5 keep their owner, 0 and 2 were B1's, and only slot 6
// changes between remaining backends.
TEST(MaglevPopulateTest, PaperExampleBeforeAndAfterB1Leaves) {
  const std::vector<MaglevPermutation> all = {{3, 4, 1}, {0, 2, 1}, {3, 1, 1}};
  EXPECT_EQ(MaglevTable::Populate(all, 7), (std::vector<uint16_t>{1, 0, 1, 0, 2, 2, 0}));
  const std::vector<MaglevPermutation> without_b1 = {{3, 4, 1}, {3, 1, 1}};
  // Positions in the shorter list: 0 is B0, 1 is B2.
  EXPECT_EQ(MaglevTable::Populate(without_b1, 7), (std::vector<uint16_t>{0, 0, 0, 0, 1, 1, 1}));
}

// Weighted turns: weight 2 against weight 1 takes every round against every other round,
// so two thirds of the slots (exactly, when the rounds come out even).
TEST(MaglevPopulateTest, WeightedTurnsClaimSlotsInProportion) {
  const std::vector<MaglevPermutation> permutations = {{0, 1, 2}, {5, 3, 1}};
  std::vector<uint16_t> slots = MaglevTable::Populate(permutations, 101);
  const auto heavy = std::count(slots.begin(), slots.end(), 0);
  EXPECT_NEAR(heavy, 101 * 2 / 3.0, 1.0);
  EXPECT_EQ(std::count(slots.begin(), slots.end(), 1), 101 - heavy);
}

// ---------------------------------------------------------------------------------------------
// Build: validation

TEST(MaglevBuildTest, RejectsATableSizeThatIsNotPrime) {
  for (uint32_t size : {0u, 1u, 4u, 65536u, 65535u, 100u}) {
    auto table = MaglevTable::Build(Backends(3), size);
    ASSERT_FALSE(table.ok()) << size;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(table.status().message().find(std::to_string(size)), std::string::npos)
        << table.status();
  }
  for (uint32_t size : {2u, 3u, 7u, 251u, 65537u, 655373u}) {
    EXPECT_TRUE(MaglevTable::Build(Backends(2), size).ok()) << size;
  }
}

TEST(MaglevBuildTest, RejectsATableSizeAboveTheMaximum) {
  // 16777259 is the least prime above 2^24.
  auto table = MaglevTable::Build(Backends(3), 16777259);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MaglevBuildTest, RejectsMoreBackendsThanSlots) {
  auto table = MaglevTable::Build(Backends(8), 7);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MaglevTable::Build(Backends(7), 7).ok());
}

TEST(MaglevBuildTest, RejectsEmptyOrRepeatedIdsAndWeightsOutOfRange) {
  auto backends = Backends(4);
  backends[2].id = backends[0].id;
  auto table = MaglevTable::Build(backends);
  ASSERT_FALSE(table.ok());
  EXPECT_NE(table.status().message().find(backends[0].id), std::string::npos) << table.status();

  backends = Backends(4);
  backends[1].id.clear();
  EXPECT_EQ(MaglevTable::Build(backends).status().code(), absl::StatusCode::kInvalidArgument);

  for (uint32_t weight : {0u, kMaxBackendWeight + 1}) {
    backends = Backends(4);
    backends[3].weight = weight;
    table = MaglevTable::Build(backends);
    ASSERT_FALSE(table.ok()) << weight;
    EXPECT_NE(table.status().message().find(backends[3].id), std::string::npos)
        << table.status();
  }
  backends = Backends(2, {kMinBackendWeight, kMaxBackendWeight});
  EXPECT_TRUE(MaglevTable::Build(backends).ok());
}

TEST(MaglevBuildTest, EmptyPoolBuildsAnEmptyTableThatPicksNothing) {
  MaglevTable table = MustBuild({});
  EXPECT_EQ(table.backend_count(), 0u);
  EXPECT_TRUE(table.slots().empty());
  EXPECT_EQ(table.Lookup(net::Ipv4Address(1)), std::nullopt);
  PickState state(0, 0);
  EXPECT_EQ(table.Pick(Context({}, net::Ipv4Address(1)), state), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// The table

TEST(MaglevTableTest, FullyPopulatedWithEveryBackendPresent) {
  for (uint32_t n : {1u, 2u, 10u, 100u, 655u}) {
    MaglevTable table = MustBuild(Backends(n));
    ASSERT_EQ(table.slots().size(), kM);
    EXPECT_EQ(table.table_size(), kM);
    EXPECT_EQ(table.backend_count(), n);
    for (uint16_t b : table.slots()) ASSERT_LT(b, n);
    for (uint32_t count : SlotCounts(table)) EXPECT_GT(count, 0u);
  }
}

// Equal weights: each of 10 backends owns 6553 or 6554 of 65537 slots.
TEST(MaglevTableTest, EqualWeightsShareWithinOneSlot) {
  MaglevTable table = MustBuild(Backends(10));
  std::vector<uint32_t> count = SlotCounts(table);
  const auto [lo, hi] = std::minmax_element(count.begin(), count.end());
  double worst = 0;
  for (uint32_t c : count) worst = std::max(worst, std::abs(c / (kM / 10.0) - 1));
  std::printf("maglev M=%u, 10 equal backends: slots min %u max %u, worst share deviation "
              "%.4f%% of the fair share\n",
              kM, *lo, *hi, 100 * worst);
  EXPECT_LE(*hi - *lo, 1u);
  EXPECT_LT(worst, 0.01);
}

// Weights 1..10: each backend's slots within 1% (relative) of weight / sum(weights) * M.
TEST(MaglevTableTest, WeightedSharesWithinOnePercentOfWeightShare) {
  const std::vector<uint32_t> weights = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  MaglevTable table = MustBuild(Backends(10, weights));
  std::vector<uint32_t> count = SlotCounts(table);
  double worst = 0;
  for (uint32_t i = 0; i < 10; ++i) {
    const double fair = kM * weights[i] / 55.0;
    worst = std::max(worst, std::abs(count[i] / fair - 1));
    EXPECT_NEAR(count[i], fair, fair * 0.01) << "backend " << i << " weight " << weights[i];
  }
  std::printf("maglev M=%u, weights 1..10: worst share deviation %.4f%% of the weight share\n",
              kM, 100 * worst);
}

TEST(MaglevTableTest, ExtremeWeightRatioStillGivesTheLightBackendSlots) {
  std::vector<uint32_t> weights(10, kMaxBackendWeight);
  weights[4] = kMinBackendWeight;
  MaglevTable table = MustBuild(Backends(10, weights));
  std::vector<uint32_t> count = SlotCounts(table);
  const double fair = kM * 1.0 / (9 * kMaxBackendWeight + 1);
  std::printf("maglev M=%u, nine weight-1000 and one weight-1 backend: the light one owns %u "
              "slots (fair %.1f)\n",
              kM, count[4], fair);
  EXPECT_GE(count[4], 1u);
  EXPECT_LE(count[4], static_cast<uint32_t>(fair) + 2);
}

TEST(MaglevTableTest, BuiltTwiceIdentical) {
  const auto backends = Backends(10, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3});
  MaglevTable a = MustBuild(backends);
  MaglevTable b = MustBuild(backends);
  EXPECT_TRUE(std::equal(a.slots().begin(), a.slots().end(), b.slots().begin(), b.slots().end()));
}

// The table and the client mapping are functions of the ids and the key, not of the process
// or the release: pinned here, so that a change to the hashing (which would remap every
// client of every pool on upgrade) cannot go unnoticed.
TEST(MaglevTableTest, MappingIsPinnedAcrossReleases) {
  MaglevTable small = MustBuild(Backends(3), 7);
  EXPECT_EQ(std::vector<uint16_t>(small.slots().begin(), small.slots().end()),
            (std::vector<uint16_t>{0, 0, 0, 2, 1, 2, 1}));

  MaglevTable table = MustBuild(Backends(10));
  struct Pinned {
    net::Ipv4Address client;
    uint32_t slot;
    uint32_t backend;
  };
  for (const Pinned& p : {Pinned{net::Ipv4Address::FromOctets(10, 0, 0, 1), 39313, 1},
                          Pinned{net::Ipv4Address::FromOctets(192, 168, 0, 1), 18705, 7},
                          Pinned{net::Ipv4Address::FromOctets(203, 0, 113, 9), 12355, 3},
                          Pinned{net::Ipv4Address::FromOctets(8, 8, 8, 8), 58566, 8}}) {
    EXPECT_EQ(table.Slot(p.client), p.slot) << p.client.ToString();
    EXPECT_EQ(table.Lookup(p.client), p.backend) << p.client.ToString();
  }
}

// ---------------------------------------------------------------------------------------------
// Lookup

TEST(MaglevLookupTest, SameClientSameBackendAcross10000Lookups) {
  MaglevTable table = MustBuild(Backends(10));
  const auto views = Views(10);
  const net::Ipv4Address client = net::Ipv4Address::FromOctets(203, 0, 113, 9);
  const std::optional<uint32_t> first = table.Lookup(client);
  ASSERT_TRUE(first.has_value());
  for (int i = 0; i < 10000; ++i) {
    PickState state(10, i);  // any worker
    PickContext context = Context(views, client);
    context.client_port = static_cast<uint16_t>(1024 + i);  // any connection
    ASSERT_EQ(table.Pick(context, state), first);
  }
}

// Two builds (two processes, two restarts, two instances) agree on every client.
TEST(MaglevLookupTest, ClientsMapTheSameInSeparatelyBuiltTables) {
  MaglevTable a = MustBuild(Backends(10));
  MaglevTable b = MustBuild(Backends(10));
  for (net::Ipv4Address client : Clients(10000)) ASSERT_EQ(a.Lookup(client), b.Lookup(client));
}

// Clients spread over backends like the slots do.
TEST(MaglevLookupTest, ClientsSpreadInProportionToSlots) {
  MaglevTable table = MustBuild(Backends(10));
  std::vector<uint32_t> count(10, 0);
  const uint32_t n = 200000;
  for (net::Ipv4Address client : Clients(n)) ++count[table.Lookup(client).value()];
  double chi2 = 0;
  for (uint32_t c : count) chi2 += (c - n / 10.0) * (c - n / 10.0) / (n / 10.0);
  EXPECT_LT(chi2, 27.88);  // 9 df, p = 0.001
}

TEST(MaglevLookupTest, ClientKeyChangesTheMappingButNotTheTable) {
  MaglevTable a = MustBuild(Backends(10));
  MaglevTable b = MustBuild(Backends(10), kM, base::SipKey{1, 2});
  EXPECT_TRUE(std::equal(a.slots().begin(), a.slots().end(), b.slots().begin(), b.slots().end()));
  uint32_t same = 0;
  const std::vector<net::Ipv4Address> clients = Clients(10000);
  for (net::Ipv4Address client : clients) same += a.Lookup(client) == b.Lookup(client);
  // Unrelated keys agree on about 1 client in 10.
  EXPECT_LT(same, clients.size() / 5);
}

// ---------------------------------------------------------------------------------------------
// Minimal disruption (§3.4: a backend leaving moves its own slots, and few others)

struct Disruption {
  double other_slots_moved = 0;    // of slots not on the removed backend, the fraction moved
  double other_clients_moved = 0;  // the same over a sample of clients
};

Disruption Remove(const std::vector<MaglevBackend>& backends, uint32_t removed) {
  MaglevTable before = MustBuild(backends);
  std::vector<MaglevBackend> fewer = backends;
  fewer.erase(fewer.begin() + removed);
  MaglevTable after = MustBuild(fewer);
  // Positions shift after `removed`: compare by id.
  auto id_before = [&](uint32_t i) { return backends[i].id; };
  auto id_after = [&](uint32_t i) { return fewer[i].id; };

  Disruption d;
  uint32_t others = 0, moved = 0;
  for (uint32_t s = 0; s < kM; ++s) {
    if (before.slots()[s] == removed) continue;
    ++others;
    moved += id_before(before.slots()[s]) != id_after(after.slots()[s]);
  }
  d.other_slots_moved = static_cast<double>(moved) / others;

  uint32_t other_clients = 0, moved_clients = 0;
  for (net::Ipv4Address client : Clients(100000, 7)) {
    const uint32_t b = before.Lookup(client).value();
    if (b == removed) continue;
    ++other_clients;
    moved_clients += id_before(b) != id_after(after.Lookup(client).value());
  }
  d.other_clients_moved = static_cast<double>(moved_clients) / other_clients;
  return d;
}

TEST(MaglevDisruptionTest, RemovingOneOfTenMovesFewOtherClients) {
  const auto backends = Backends(10);
  double worst_slots = 0, worst_clients = 0, sum_slots = 0;
  for (uint32_t removed = 0; removed < 10; ++removed) {
    Disruption d = Remove(backends, removed);
    std::printf("maglev M=%u, N=10, remove backend %u: %.3f%% of other slots moved, %.3f%% of "
                "other clients moved\n",
                kM, removed, 100 * d.other_slots_moved, 100 * d.other_clients_moved);
    worst_slots = std::max(worst_slots, d.other_slots_moved);
    worst_clients = std::max(worst_clients, d.other_clients_moved);
    sum_slots += d.other_slots_moved;
  }
  std::printf("maglev M=%u, N=10, remove one: other slots moved mean %.3f%% worst %.3f%%; "
              "other clients moved worst %.3f%%\n",
              kM, 10 * sum_slots, 100 * worst_slots, 100 * worst_clients);
  EXPECT_LT(worst_slots, 0.03);
  EXPECT_LT(worst_clients, 0.03);
}

TEST(MaglevDisruptionTest, WeightedPoolRemovingOneMovesFewOtherClients) {
  const auto backends = Backends(10, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3});
  double worst = 0;
  for (uint32_t removed = 0; removed < 10; ++removed) {
    worst = std::max(worst, Remove(backends, removed).other_slots_moved);
  }
  std::printf("maglev M=%u, N=10 weighted {3,1,4,1,5,9,2,6,5,3}, remove one: other slots moved "
              "worst %.3f%%\n",
              kM, 100 * worst);
  EXPECT_LT(worst, 0.03);
}

// The converse: a new backend takes its share, and nearly every slot that changes owner goes
// to it.
TEST(MaglevDisruptionTest, AddingAnEleventhBackendMovesFewSlotsBetweenOthers) {
  const auto backends = Backends(11);
  MaglevTable before = MustBuild(std::span(backends).first(10));
  MaglevTable after = MustBuild(backends);
  uint32_t to_new = 0, between_others = 0;
  for (uint32_t s = 0; s < kM; ++s) {
    if (after.slots()[s] == 10) {
      ++to_new;
    } else {
      between_others += before.slots()[s] != after.slots()[s];
    }
  }
  std::printf("maglev M=%u, add an 11th backend: it takes %u slots; %.3f%% of slots move "
              "between the other ten\n",
              kM, to_new, 100.0 * between_others / kM);
  EXPECT_NEAR(to_new, kM / 11.0, 1.0);
  EXPECT_LT(static_cast<double>(between_others) / kM, 0.03);
}

// Its slots are all that a removed backend's clients had; every one of them moves, and the
// table built again with it back is the original, slot for slot.
TEST(MaglevDisruptionTest, AddingTheBackendBackRestoresTheTable) {
  const auto backends = Backends(10);
  MaglevTable original = MustBuild(backends);
  std::vector<MaglevBackend> fewer = backends;
  fewer.erase(fewer.begin() + 3);
  MaglevTable without = MustBuild(fewer);
  for (uint32_t s = 0; s < kM; ++s) {
    if (original.slots()[s] == 3) {
      ASSERT_NE(fewer[without.slots()[s]].id, backends[3].id);
    }
  }
  MaglevTable restored = MustBuild(backends);
  EXPECT_TRUE(std::equal(original.slots().begin(), original.slots().end(),
                         restored.slots().begin(), restored.slots().end()));
}

// ---------------------------------------------------------------------------------------------
// Ineligible and excluded backends: bounded probing

// With backend 2 ineligible, its clients go elsewhere, everyone else stays put, and each
// displaced client's fallback is itself sticky.
TEST(MaglevProbeTest, IneligibleBackendsClientsFallBackOthersStay) {
  MaglevTable table = MustBuild(Backends(10));
  auto views = Views(10);
  views[2].eligible = false;
  PickState state(10, 0);
  uint32_t displaced = 0;
  std::vector<uint32_t> fallback_count(10, 0);
  for (net::Ipv4Address client : Clients(20000)) {
    const uint32_t home = table.Lookup(client).value();
    std::optional<uint32_t> pick = table.Pick(Context(views, client), state);
    ASSERT_TRUE(pick.has_value());
    if (home != 2) {
      EXPECT_EQ(*pick, home);
      continue;
    }
    ++displaced;
    EXPECT_NE(*pick, 2u);
    EXPECT_EQ(table.Pick(Context(views, client), state), pick);
    ++fallback_count[*pick];
  }
  EXPECT_GT(displaced, 1500u);
  // The displaced clients spread over the others rather than all landing on one neighbour.
  for (uint32_t i = 0; i < 10; ++i) {
    if (i != 2) {
      EXPECT_GT(fallback_count[i], displaced / 30) << i;
    }
  }
}

TEST(MaglevProbeTest, ExcludedPrimaryGivesAnotherBackend) {
  MaglevTable table = MustBuild(Backends(10));
  const auto views = Views(10);
  PickState state(10, 0);
  for (net::Ipv4Address client : Clients(1000)) {
    TriedBackends tried;
    tried.Add(table.Lookup(client).value());
    std::optional<uint32_t> retry = table.Pick(Context(views, client, tried.indices()), state);
    ASSERT_TRUE(retry.has_value());
    EXPECT_NE(*retry, tried.indices()[0]);
  }
}

// One backend in ten left: a lookup fails only when kMaxProbes consecutive slots all belong
// to the other nine, about 0.9^128 = 1.4e-6 of clients.
TEST(MaglevProbeTest, OneEligibleOfTenIsAlmostAlwaysFound) {
  MaglevTable table = MustBuild(Backends(10));
  auto views = Views(10, false);
  views[7].eligible = true;
  PickState state(10, 0);
  uint32_t none = 0;
  const uint32_t n = 100000;
  for (net::Ipv4Address client : Clients(n)) {
    std::optional<uint32_t> pick = table.Pick(Context(views, client), state);
    if (!pick) {
      ++none;
    } else {
      EXPECT_EQ(*pick, 7u);
    }
  }
  std::printf("maglev M=%u, N=10, one eligible: %u of %u clients found none within %u probes\n",
              kM, none, n, MaglevTable::kMaxProbes);
  EXPECT_LE(none, 3u);
}

TEST(MaglevProbeTest, AllIneligibleReturnsNullopt) {
  MaglevTable table = MustBuild(Backends(10));
  const auto views = Views(10, false);
  PickState state(10, 0);
  for (net::Ipv4Address client : Clients(1000)) {
    EXPECT_EQ(table.Pick(Context(views, client), state), std::nullopt);
  }
}

}  // namespace
}  // namespace ferry::proxy
