// Per-worker duration histograms (connect time, session duration), read by the control thread
// the way counters are (counters.h): each Histogram has exactly one writer, its worker, which
// records with relaxed loads and stores (no locked instruction); the control thread merges the
// workers' histograms into a HistogramSnapshot and reads quantiles and Prometheus buckets there.
//
// Buckets. Fixed log-linear buckets with two significant decimal digits: every value with at
// most two significant digits from 1 us to 1 hour is a bucket edge,
//     1.0 us, 1.1 us, ..., 9.9 us, 10 us, 11 us, ..., 99 us, 100 us, 110 us, ..., 3600 s,
// 90 per decade, 837 edges. Bucket i holds the values v with edge[i-1] < v <= edge[i] (the
// Prometheus "le" convention); bucket 0 holds everything up to 1 us, zero and negative values
// included (a negative duration is recorded as 0), and one more bucket holds everything above
// 1 hour. Nothing is dropped: every Record() lands in exactly one bucket.
//   Why decimal rather than powers of two: the buckets are exported to Prometheus, whose
//   bucket bounds are conventionally decimal (.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10 s)
//   and are all edges here, so those cumulative counts are exact rather than estimated.
//   Relative error: a bucket (lo, hi] in the decade [10^d, 10^(d+1)) is 10^(d-1) wide and
//   lo >= 10^d, so for any v in it, v <= hi < v * (1 + 1/10). The bound is 10% at the start of
//   a decade and falls to 1% at its end. The cost is 838 buckets (6.7 KiB) per histogram.
//
// Quantile(q) is the upper edge of the bucket holding the nearest-rank sample (the
// ceil(q * count)-th smallest), capped at the largest value recorded. So, for a sample x
// between 1 us and 1 hour, x <= Quantile(q) < 1.1 * x: never below the true quantile, at most
// 10% above. Below 1 us the answer is only known to be <= min(1 us, max); above 1 hour it is
// the max. Quantile(0) is the min and Quantile(1) the max, both exact.
//
// Reading while the worker writes: the bucket is stored last with release order, and the
// reader loads buckets with acquire order before min, max and sum, so every record a snapshot
// counts also shows in its min and max. The count is the sum of the buckets, so it always
// equals the +Inf cumulative count. The sum may include a record or two whose bucket the
// snapshot missed; it is a double of nanoseconds (exact up to 2^53 ns, 104 days, in total;
// past that, about 1e-16 relative rounding per record) so it cannot wrap as an integer would.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "base/clock.h"

namespace ferry::base {

// The fixed bucket layout every Histogram shares.
struct HistogramBuckets {
  static constexpr Duration kLowest = std::chrono::microseconds(1);  // edge of bucket 0
  static constexpr Duration kHighest = std::chrono::hours(1);        // last finite edge
  static constexpr size_t kPerDecade = 90;                           // 1.0, 1.1, ... 9.9
  // Bucket 0 (edge 1 us), 9 full decades up to 1000 s, the 26 edges 1100 s .. 3600 s, and
  // the overflow bucket.
  static constexpr size_t kCount = 1 + 9 * kPerDecade + 26 + 1;
  static constexpr size_t kOverflow = kCount - 1;

  // The bucket `d` falls in: 0 for d <= 1 us, kOverflow for d > 1 hour. O(1): a leading-zero
  // count, a table load and one division.
  static size_t Index(Duration d);
  // The inclusive upper edge of bucket i: 1 us for 0, Duration::max() (+Inf) for kOverflow.
  // i must be < kCount.
  static Duration UpperBound(size_t i);
};

// What the control thread reads: the sum of one or more workers' histograms at one moment.
class HistogramSnapshot {
 public:
  uint64_t count() const { return count_; }
  // Sum of the recorded durations, negative ones counted as 0.
  double sum_ns() const { return sum_ns_; }
  double sum_seconds() const { return sum_ns_ * 1e-9; }
  // Smallest and largest recorded durations; 0 when nothing was recorded.
  Duration min() const { return Duration(count_ == 0 ? 0 : min_ns_); }
  Duration max() const { return Duration(count_ == 0 ? 0 : max_ns_); }
  // Per bucket, indexed as HistogramBuckets.
  std::span<const uint64_t, HistogramBuckets::kCount> bucket_counts() const { return buckets_; }

  // The q-quantile (q in [0, 1], clamped; NaN is taken as 0) with the bounds given at the top
  // of this file. Returns 0 when the snapshot is empty.
  Duration Quantile(double q) const;

  // For each bound b, the number of recorded values <= b (Prometheus' cumulative "le"
  // buckets; pass Duration::max() for +Inf, which gives count()). Exact when b is a bucket edge
  // (any two-significant-digit value from 1 us to 1 hour, or +Inf). Otherwise it is the count
  // at the largest edge below b, which misses only the values in (that edge, b], all of them in
  // the one bucket that straddles b; for b in (1 us, 1 hour] that edge is within 10% below b.
  // Non-decreasing when `bounds` is.
  std::vector<uint64_t> CumulativeCounts(std::span<const Duration> bounds) const;

  friend bool operator==(const HistogramSnapshot&, const HistogramSnapshot&) = default;

 private:
  friend class Histogram;

  std::array<uint64_t, HistogramBuckets::kCount> buckets_{};
  uint64_t count_ = 0;
  double sum_ns_ = 0;
  // The identities of min and max, so an empty histogram merges as a no-op.
  int64_t min_ns_ = std::numeric_limits<int64_t>::max();
  int64_t max_ns_ = std::numeric_limits<int64_t>::min();
};

// One worker's histogram; on its own cache lines, like CounterSet.
class alignas(64) Histogram {
 public:
  // Records one duration. O(1), no allocation, no locked instruction. Only the owning worker
  // may call it.
  void Record(Duration d) {
    const int64_t ns = d.count() < 0 ? 0 : d.count();
    if (ns < min_ns_.load(std::memory_order_relaxed)) min_ns_.store(ns, std::memory_order_relaxed);
    if (ns > max_ns_.load(std::memory_order_relaxed)) max_ns_.store(ns, std::memory_order_relaxed);
    sum_ns_.store(sum_ns_.load(std::memory_order_relaxed) + static_cast<double>(ns),
                  std::memory_order_relaxed);
    // Last, with release: a reader that sees this count sees the min, max and sum above.
    std::atomic<uint64_t>& bucket = buckets_[HistogramBuckets::Index(d)];
    bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Adds this histogram into `sum` (the control thread's read; any thread may call it while
  // the worker records).
  void MergeInto(HistogramSnapshot& sum) const;

 private:
  std::array<std::atomic<uint64_t>, HistogramBuckets::kCount> buckets_{};
  std::atomic<double> sum_ns_{0};
  std::atomic<int64_t> min_ns_{std::numeric_limits<int64_t>::max()};
  std::atomic<int64_t> max_ns_{std::numeric_limits<int64_t>::min()};
};

// ---------------------------------------------------------------------------------------------
// Implementation of the bucket layout, inline because Record() is on the worker's path.

namespace histogram_internal {

inline constexpr std::array<uint64_t, 20> kPow10 = {
    1ull,
    10ull,
    100ull,
    1000ull,
    10000ull,
    100000ull,
    1000000ull,
    10000000ull,
    100000000ull,
    1000000000ull,
    10000000000ull,
    100000000000ull,
    1000000000000ull,
    10000000000000ull,
    100000000000000ull,
    1000000000000000ull,
    10000000000000000ull,
    100000000000000000ull,
    1000000000000000000ull,
    10000000000000000000ull,
};

// The first decade with edges: [10^3 ns, 10^4 ns) = [1 us, 10 us).
inline constexpr int kFirstDecade = 3;

}  // namespace histogram_internal

inline size_t HistogramBuckets::Index(Duration d) {
  using histogram_internal::kPow10;
  const int64_t ns = d.count();
  if (ns <= kLowest.count()) return 0;
  if (ns > kHighest.count()) return kOverflow;
  // v in (edge[i-1], edge[i]] <=> u = v - 1 in [edge[i-1], edge[i]): with u in decade
  // [10^d, 10^(d+1)) and step 10^(d-1), q = u / step is 10..99 and edge[i] = (q + 1) * step.
  const auto u = static_cast<uint64_t>(ns - 1);
  // floor(log10(u)) from the bit length (Bit Twiddling Hacks, "integer log base 10").
  const int t = (std::bit_width(u) * 1233) >> 12;
  const int decade = t - (u < kPow10[t] ? 1 : 0);
  const auto q = static_cast<size_t>(u / kPow10[decade - 1]);
  return static_cast<size_t>(decade - histogram_internal::kFirstDecade) * kPerDecade + (q - 9);
}

inline Duration HistogramBuckets::UpperBound(size_t i) {
  if (i == 0) return kLowest;
  if (i >= kOverflow) return Duration::max();
  const size_t decade = histogram_internal::kFirstDecade + (i - 1) / kPerDecade;
  const uint64_t q = 10 + (i - 1) % kPerDecade;
  return Duration(static_cast<int64_t>((q + 1) * histogram_internal::kPow10[decade - 1]));
}

}  // namespace ferry::base
