#include "base/counters.h"

#include <thread>

#include "gtest/gtest.h"

namespace ferry::base {
namespace {

#define TEST_COUNTERS(X) X(kApples, "apples") X(kPears, "pears")
FERRY_DECLARE_COUNTERS(Fruit, TEST_COUNTERS)

TEST(Counters, DeclaredListGivesEnumAndNames) {
  EXPECT_EQ(static_cast<size_t>(Fruit::kCount), 2u);
  EXPECT_EQ(Name(Fruit::kApples), "apples");
  EXPECT_EQ(Name(Fruit::kPears), "pears");
}

TEST(Counters, AddSubSetLoad) {
  CounterSet<Fruit> c;
  c.Add(Fruit::kApples);
  c.Add(Fruit::kApples, 4);
  c.Sub(Fruit::kApples, 2);
  c.Set(Fruit::kPears, 9);
  EXPECT_EQ(c.Load(Fruit::kApples), 3u);
  EXPECT_EQ(c.Load(Fruit::kPears), 9u);
}

TEST(Counters, SetsSitOnTheirOwnCacheLines) {
  EXPECT_EQ(alignof(CounterSet<Fruit>), 64u);
  CounterSet<Fruit> sets[2];
  const auto a = reinterpret_cast<uintptr_t>(&sets[0]);
  const auto b = reinterpret_cast<uintptr_t>(&sets[1]);
  EXPECT_GE(b - a, 64u);
}

// Each worker writes only its own set; the reader sums them (the control thread's view).
TEST(Counters, SummedOverWritersAfterTheyFinish) {
  CounterSet<Fruit> per_worker[2];
  std::thread w0([&] { for (int i = 0; i < 100000; ++i) per_worker[0].Add(Fruit::kApples); });
  std::thread w1([&] { for (int i = 0; i < 50000; ++i) per_worker[1].Add(Fruit::kApples); });
  w0.join();
  w1.join();
  std::array<uint64_t, CounterSet<Fruit>::kSize> sum{};
  for (const auto& s : per_worker) s.AccumulateInto(sum);
  EXPECT_EQ(sum[static_cast<size_t>(Fruit::kApples)], 150000u);
  EXPECT_EQ(sum[static_cast<size_t>(Fruit::kPears)], 0u);
}

}  // namespace
}  // namespace ferry::base
