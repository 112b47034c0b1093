#include "net/fault_injector.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cassert>
#include <cmath>

#include "absl/strings/str_format.h"

namespace ferry::net {
namespace {

// The Ethernet header (destination, source, EtherType) that corruption leaves intact.
constexpr uint32_t kProtectedBytes = 14;

// A uniform integer in [0, n) from a 64-bit draw: the high word of draw * n (Lemire). Its bias
// is below n / 2^64, which no test can see.
uint64_t Scale(uint64_t draw, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(draw) * n) >> 64);
}

// Min-heap order for std::*_heap (which build max-heaps): a is "less" when it leaves later.
struct LeavesLater {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    if (a.release != b.release) return a.release > b.release;
    return a.order > b.order;
  }
};

absl::Status CheckProbability(const char* field, double p) {
  if (p >= 0.0 && p <= 1.0) return absl::OkStatus();  // false for NaN too
  return absl::InvalidArgumentError(absl::StrFormat("%s: %g is outside 0..1", field, p));
}

absl::Status CheckDuration(const char* field, base::Duration d) {
  if (d.count() >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %dns is negative", field, static_cast<int64_t>(d.count())));
}

}  // namespace

absl::Status FaultProfile::Validate(const FaultProfile& p) {
  for (const auto& [field, value] : {std::pair{"drop", p.drop}, {"duplicate", p.duplicate},
                                     {"reorder", p.reorder}, {"corrupt", p.corrupt}}) {
    if (absl::Status s = CheckProbability(field, value); !s.ok()) return s;
  }
  for (const auto& [field, value] :
       {std::pair{"delay", p.delay}, {"jitter", p.jitter}, {"reorder_delay", p.reorder_delay}}) {
    if (absl::Status s = CheckDuration(field, value); !s.ok()) return s;
  }
  if (p.reorder > 0 && p.reorder_delay.count() == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("reorder_delay: 0ns must be positive when reorder is %g", p.reorder));
  }
  return absl::OkStatus();
}

FaultInjector::FaultInjector(const FaultProfile& profile, rte_mempool* pool, size_t capacity)
    : profile_(profile), pool_(pool), capacity_(capacity), rng_(profile.seed) {
  assert(FaultProfile::Validate(profile).ok());
  heap_.reserve(capacity);
}

FaultInjector::~FaultInjector() {
  for (const Held& h : heap_) rte_pktmbuf_free(h.packet);
}

double FaultInjector::Uniform01() {
  // The top 53 bits make a double in [0, 1) with every value equally likely.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

FaultInjector::Fate FaultInjector::DrawFate() {
  // A fixed number of draws in a fixed order, whatever the outcome.
  Fate f;
  f.drop = Uniform01() < profile_.drop;
  f.corrupt = Uniform01() < profile_.corrupt;
  f.corrupt_byte = rng_();
  f.corrupt_bit = rng_();
  f.duplicate = Uniform01() < profile_.duplicate;
  for (int i = 0; i < 2; ++i) {
    f.jitter[i] = rng_();
    f.reorder[i] = Uniform01() < profile_.reorder;
  }
  return f;
}

void FaultInjector::Push(rte_mbuf* m, base::Instant now) {
  const Fate fate = DrawFate();
  if (fate.drop) {
    rte_pktmbuf_free(m);
    counters_.Add(FaultCounter::kDropped);
    return;
  }
  if (fate.corrupt) m = Corrupt(m, fate);
  rte_mbuf* copy = nullptr;
  if (fate.duplicate) {
    copy = pool_ != nullptr ? rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX)
                            : rte_pktmbuf_clone(m, m->pool);
    if (copy != nullptr) counters_.Add(FaultCounter::kDuplicated);
  }
  Schedule(m, now, fate.jitter[0], fate.reorder[0]);
  if (copy != nullptr) Schedule(copy, now, fate.jitter[1], fate.reorder[1]);
}

rte_mbuf* FaultInjector::Corrupt(rte_mbuf* m, const Fate& fate) {
  if (rte_pktmbuf_data_len(m) <= kProtectedBytes) return m;
  if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) > 1) {
    // Someone else reads these bytes (a retransmission queue, the other half of a clone): flip
    // the bit in a private copy instead.
    rte_mbuf* own = rte_pktmbuf_copy(m, pool_ != nullptr ? pool_ : m->pool, 0, UINT32_MAX);
    if (own == nullptr) return m;
    rte_pktmbuf_free(m);
    m = own;
  }
  const uint32_t span = rte_pktmbuf_data_len(m) - kProtectedBytes;
  const uint32_t offset = kProtectedBytes + static_cast<uint32_t>(Scale(fate.corrupt_byte, span));
  rte_pktmbuf_mtod(m, uint8_t*)[offset] ^= static_cast<uint8_t>(1u << Scale(fate.corrupt_bit, 8));
  // A NIC's checksum verdict was about the bytes before the flip.
  m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
                   RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK);
  counters_.Add(FaultCounter::kCorrupted);
  return m;
}

void FaultInjector::Schedule(rte_mbuf* m, base::Instant now, uint64_t jitter_draw, bool reorder) {
  if (heap_.size() == capacity_) {
    rte_pktmbuf_free(m);
    counters_.Add(FaultCounter::kDroppedFull);
    return;
  }
  const auto jitter_ns = static_cast<uint64_t>(profile_.jitter.count());
  const base::Duration hold =
      profile_.delay + base::Duration(static_cast<int64_t>(Scale(jitter_draw, jitter_ns + 1)));
  base::Instant release = now + hold;
  if (hold.count() > 0) counters_.Add(FaultCounter::kDelayed);
  if (reorder) {
    release += profile_.reorder_delay;
    counters_.Add(FaultCounter::kReordered);
  }
  heap_.push_back({release, next_order_++, m});  // within the reserved capacity: no allocation
  std::push_heap(heap_.begin(), heap_.end(), LeavesLater{});
}

size_t FaultInjector::Pop(base::Instant now, rte_mbuf** out, size_t max) {
  size_t n = 0;
  while (n < max && !heap_.empty() && heap_.front().release <= now) {
    std::pop_heap(heap_.begin(), heap_.end(), LeavesLater{});
    out[n++] = heap_.back().packet;
    heap_.pop_back();
  }
  counters_.Add(FaultCounter::kPassed, n);
  return n;
}

std::optional<base::Instant> FaultInjector::NextRelease() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.front().release;
}

}  // namespace ferry::net
