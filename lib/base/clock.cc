#include "base/clock.h"

#include <rte_cycles.h>

namespace ferry::base {

TscClock::TscClock(uint64_t tsc_hz)
    : tsc_hz_(tsc_hz),
      start_tsc_(rte_rdtsc()),
      ns_per_cycle_fp_((static_cast<unsigned __int128>(1'000'000'000) << kShift) / tsc_hz) {}

Instant TscClock::Now() {
  const uint64_t cycles = rte_rdtsc() - start_tsc_;
  return Instant(Duration(static_cast<int64_t>((cycles * ns_per_cycle_fp_) >> kShift)));
}

}  // namespace ferry::base
