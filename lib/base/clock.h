// Time for ferry: a monotonic Instant with nanosecond resolution, and the clocks that make it.
// Protocol code takes `Instant now` as an argument and never reads a clock itself (STYLE.md,
// habit 2); only the worker loop and the control thread own a Clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry::base {

using Duration = std::chrono::nanoseconds;

class Clock;
// Nanoseconds since an arbitrary epoch fixed when the clock was made.
using Instant = std::chrono::time_point<Clock, Duration>;

class Clock {
 public:
  using duration = Duration;
  using rep = Duration::rep;
  using period = Duration::period;
  using time_point = Instant;
  static constexpr bool is_steady = true;

  virtual ~Clock() = default;
  // Monotonic; never goes backwards.
  virtual Instant Now() = 0;
};

// The appliance's clock: reads the TSC (a few ns per call, no syscall) and scales it by the
// frequency EAL measured (rte_get_tsc_hz()). Each worker owns its own instance.
class TscClock final : public Clock {
 public:
  explicit TscClock(uint64_t tsc_hz);
  Instant Now() override;
  uint64_t tsc_hz() const { return tsc_hz_; }

 private:
  uint64_t tsc_hz_;
  uint64_t start_tsc_;
  // Fixed-point ns-per-cycle (<< kShift) so Now() is a multiply and a shift, not a divide.
  static constexpr int kShift = 32;
  unsigned __int128 ns_per_cycle_fp_;
};

// For tests: time moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Instant start = Instant{}) : now_(start) {}
  Instant Now() override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void Set(Instant t) { now_ = t; }

 private:
  Instant now_;
};

}  // namespace ferry::base
