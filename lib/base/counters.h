// Per-worker counters. Each counter is written by exactly one thread (its worker) and read by
// the control thread, which sums the workers' copies (ARCHITECTURE.md, "Statistics"). A plain
// relaxed load+store is enough for a single writer and compiles to an ordinary increment; no
// locked instruction, no shared cache line between workers.
//
// A module declares its counters once, as an X-macro list of (enumerator, "name"):
//   #define FERRY_FOO_COUNTERS(X) X(kRxFrames, "rx_frames") X(kTxFrames, "tx_frames")
//   FERRY_DECLARE_COUNTERS(FooCounter, FERRY_FOO_COUNTERS)
// which defines `enum class FooCounter`, `FooCounter::kCount` and `Name(FooCounter)`, and
// then uses base::CounterSet<FooCounter>.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferry::base {

class Counter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void Sub(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  void Set(uint64_t v) { value_.store(v, std::memory_order_relaxed); }
  uint64_t Load() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A fixed set of counters indexed by enum E (which must end with kCount), on its own cache
// lines so that two workers' sets never share one.
template <typename E>
class alignas(64) CounterSet {
 public:
  static constexpr size_t kSize = static_cast<size_t>(E::kCount);

  void Add(E e, uint64_t n = 1) { counters_[static_cast<size_t>(e)].Add(n); }
  void Sub(E e, uint64_t n = 1) { counters_[static_cast<size_t>(e)].Sub(n); }
  void Set(E e, uint64_t v) { counters_[static_cast<size_t>(e)].Set(v); }
  uint64_t Load(E e) const { return counters_[static_cast<size_t>(e)].Load(); }

  // Adds every counter of `other` into the plain array `sum` (the control thread's read).
  void AccumulateInto(std::array<uint64_t, kSize>& sum) const {
    for (size_t i = 0; i < kSize; ++i) sum[i] += counters_[i].Load();
  }

 private:
  std::array<Counter, kSize> counters_{};
};

}  // namespace ferry::base

#define FERRY_COUNTER_ENUMERATOR_(e, name) e,
#define FERRY_COUNTER_NAME_(e, name) name,
#define FERRY_DECLARE_COUNTERS(Enum, LIST)                                          \
  enum class Enum : uint16_t { LIST(FERRY_COUNTER_ENUMERATOR_) kCount };            \
  inline constexpr std::string_view k##Enum##Names[] = {LIST(FERRY_COUNTER_NAME_)}; \
  constexpr std::string_view Name(Enum e) { return k##Enum##Names[static_cast<size_t>(e)]; }
