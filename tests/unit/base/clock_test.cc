#include "base/clock.h"

#include <rte_cycles.h>

#include <thread>

#include "gtest/gtest.h"

namespace ferry::base {
namespace {

using std::chrono::milliseconds;

TEST(FakeClock, MovesOnlyWhenTold) {
  FakeClock clock;
  const Instant t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(milliseconds(250));
  EXPECT_EQ(clock.Now() - t0, milliseconds(250));
  clock.Set(Instant(std::chrono::seconds(10)));
  EXPECT_EQ(clock.Now().time_since_epoch(), std::chrono::seconds(10));
}

// The TSC clock must agree with the kernel's monotonic clock to within a few percent when
// given the TSC frequency; here the frequency is measured against steady_clock itself.
TEST(TscClock, TracksTheMonotonicClock) {
  const auto s0 = std::chrono::steady_clock::now();
  const uint64_t c0 = rte_rdtsc();
  std::this_thread::sleep_for(milliseconds(50));
  const uint64_t hz = static_cast<uint64_t>(
      static_cast<double>(rte_rdtsc() - c0) /
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());

  TscClock clock(hz);
  const Instant t0 = clock.Now();
  const auto s1 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(milliseconds(100));
  const Duration tsc_elapsed = clock.Now() - t0;
  const Duration wall_elapsed = std::chrono::steady_clock::now() - s1;
  const double ratio = static_cast<double>(tsc_elapsed.count()) / wall_elapsed.count();
  EXPECT_GT(ratio, 0.95);
  EXPECT_LT(ratio, 1.05);
}

TEST(TscClock, NeverGoesBackwards) {
  TscClock clock(2'000'000'000);
  Instant last = clock.Now();
  for (int i = 0; i < 100000; ++i) {
    const Instant now = clock.Now();
    ASSERT_GE(now, last);
    last = now;
  }
}

}  // namespace
}  // namespace ferry::base
