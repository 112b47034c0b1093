#include "base/histogram.h"

#include <algorithm>
#include <cmath>

namespace ferry::base {

static_assert(HistogramBuckets::kCount == 838);
static_assert(std::atomic<double>::is_always_lock_free);

void Histogram::MergeInto(HistogramSnapshot& sum) const {
  // Buckets first, with acquire: pairs with Record()'s release store, so the min, max and sum
  // read below include every record counted here.
  for (size_t i = 0; i < HistogramBuckets::kCount; ++i) {
    const uint64_t n = buckets_[i].load(std::memory_order_acquire);
    sum.buckets_[i] += n;
    sum.count_ += n;
  }
  sum.sum_ns_ += sum_ns_.load(std::memory_order_relaxed);
  sum.min_ns_ = std::min(sum.min_ns_, min_ns_.load(std::memory_order_relaxed));
  sum.max_ns_ = std::max(sum.max_ns_, max_ns_.load(std::memory_order_relaxed));
}

Duration HistogramSnapshot::Quantile(double q) const {
  if (count_ == 0) return Duration(0);
  if (!(q > 0)) return min();  // also NaN
  if (q >= 1) return max();
  // Nearest rank: the smallest value with at least q * count values at or below it.
  const auto rank =
      std::clamp<uint64_t>(static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))), 1,
                           count_);
  uint64_t seen = 0;
  size_t i = 0;
  for (; i < HistogramBuckets::kCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) break;
  }
  // The sample lies in bucket i, so it is <= the bucket's edge and <= max.
  return std::min(HistogramBuckets::UpperBound(i), max());
}

std::vector<uint64_t> HistogramSnapshot::CumulativeCounts(std::span<const Duration> bounds) const {
  // cumulative[i]: values in buckets 0..i, i.e. values <= UpperBound(i).
  std::array<uint64_t, HistogramBuckets::kCount> cumulative;
  uint64_t running = 0;
  for (size_t i = 0; i < HistogramBuckets::kCount; ++i) {
    running += buckets_[i];
    cumulative[i] = running;
  }
  std::vector<uint64_t> out;
  out.reserve(bounds.size());
  for (const Duration b : bounds) {
    // Bucket i straddles or ends at b. If it ends exactly at b, all of it is <= b; otherwise
    // only the buckets before it are known to be.
    const size_t i = HistogramBuckets::Index(b);
    if (HistogramBuckets::UpperBound(i) == b) {
      out.push_back(cumulative[i]);
    } else {
      out.push_back(i == 0 ? 0 : cumulative[i - 1]);
    }
  }
  return out;
}

}  // namespace ferry::base
