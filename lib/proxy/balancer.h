// Backend selection for a pool: the vocabulary every balancing policy shares, and the one
// small interface they implement (STYLE.md habit 8; one file per policy: round_robin.h,
// weighted_round_robin.h, least_connections.h, power_of_two.h, maglev.h).
//
// Who owns what. A policy object (a `Balancer`) is built on the control path from the pool's
// configuration, may allocate there (Maglev's table), and is then immutable: it is meant to
// sit in the RCU snapshot and be read by every worker at once, so `Pick` is const and writes
// nothing shared. Everything that changes per pick lives with the worker and is passed in:
//   - `PickContext`: this pick's inputs: the client, one `BackendView` per backend of the pool
//     (eligibility as this worker sees it), the worker's own active-connection counts, and
//     the backends this session has already tried;
//   - `PickState`: the worker's small mutable state for this pool (a cursor, a random number
//     generator, smooth WRR's running weights). One per (worker, pool), never shared.
// Connection counts are per worker (share nothing, ARCHITECTURE.md): least connections and
// power of two choices balance each worker's own connections. RSS spreads clients over
// workers evenly, so per-worker balance approximates global balance without a shared counter.
//
// Why a virtual interface and not a std::variant (as tcp/congestion_control.h uses): the
// policy is per pool, built once on the control path and held by the snapshot, so holding it
// behind `std::unique_ptr<const Balancer>` costs one indirect call per new backend connection
// (not per packet), and keeps this header free of every implementation.
//
// Data-path contract of every `Pick`: no allocation, no lock, no exception; bounded time
// (O(backends) at worst); returns the index of a backend that is eligible, has weight > 0 and
// is not excluded, or std::nullopt when it finds none (the caller counts it and resets the
// client). Maglev alone may return nullopt while a candidate exists: it probes a bounded
// number of table slots (maglev.h).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "net/address.h"

namespace ferry::proxy {

// Configured weights are validated on the control path to lie in [kMinBackendWeight,
// kMaxBackendWeight]. The upper bound keeps a 1000:1 ratio representable in a default
// Maglev table (a weight-1 backend among ten weight-1000 ones still owns ~7 of 65537 slots).
// On the data path a view with weight 0 is never picked (so no policy divides by it); any
// other uint32_t weight is safe: load comparisons are done in 64-bit cross products.
inline constexpr uint32_t kMinBackendWeight = 1;
inline constexpr uint32_t kMaxBackendWeight = 1000;

// One backend of the pool as the worker sees it at pick time.
struct BackendView {
  // The backend's position in its pool, which is also its position in
  // PickContext::backends (backends[i].index == i); Pick returns it.
  uint32_t index = 0;
  uint32_t weight = 1;  // see kMaxBackendWeight; 0 = never picked
  // Enabled, healthy, not draining, and under its connection limit: the worker folds all
  // four into one flag so that every policy skips the same backends.
  bool eligible = false;
};

// The backends a session has already tried (connect failed or was refused), so that a retry
// picks another one. Fixed capacity, so it fits inline in a session record: a session
// retries a handful of times, not once per backend, whatever the pool size.
class TriedBackends {
 public:
  static constexpr uint32_t kCapacity = 8;

  // Records `index`. Returns false, recording nothing, when already full: the session has
  // used up its retries.
  bool Add(uint32_t index) {
    if (count_ == kCapacity) return false;
    indices_[count_++] = index;
    return true;
  }
  void Clear() { count_ = 0; }
  uint32_t size() const { return count_; }
  std::span<const uint32_t> indices() const { return {indices_.data(), count_}; }

 private:
  std::array<uint32_t, kCapacity> indices_{};
  uint32_t count_ = 0;
};

// The inputs of one pick. Spans point at the worker's own arrays; nothing is copied.
struct PickContext {
  net::Ipv4Address client_address;  // Maglev's key (host order)
  // No policy reads it today: Maglev keys on the address alone so that all of a client's
  // connections stick to one backend. Kept so a per-connection hash needs no new plumbing.
  uint16_t client_port = 0;
  std::span<const BackendView> backends;  // the whole pool, in pool order
  // This worker's active connections per backend, same order and size as `backends`.
  // Least connections and power of two choices read it (a missing entry reads as 0); the
  // other policies ignore it, and it may be empty for them.
  std::span<const uint32_t> active_connections;
  std::span<const uint32_t> excluded;  // e.g. TriedBackends::indices(); may be empty
};

// PCG32 (M. E. O'Neill, "PCG: A family of simple fast space-efficient statistically good
// algorithms for random number generation", 2014; the pcg32_random_r reference code): a
// 64-bit LCG whose output is a permuted (xorshift, then random rotation) top half. Eight
// bytes of state plus a stream constant, no table; not cryptographic, which balancing does
// not need.
class Pcg32 {
 public:
  // pcg32_srandom_r: `stream` selects one of 2^63 independent sequences.
  explicit Pcg32(uint64_t seed, uint64_t stream = 0xda3e39cb94b95bdbull)
      : inc_(stream << 1 | 1) {
    Next();
    state_ += seed;
    Next();
  }

  uint32_t Next() {
    uint64_t old = state_;
    state_ = old * 6364136223846793005ull + inc_;
    auto xorshifted = static_cast<uint32_t>(((old >> 18) ^ old) >> 27);
    auto rot = static_cast<uint32_t>(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
  }

  // Uniform in [0, bound), bound > 0, without modulo bias: D. Lemire, "Fast random integer
  // generation in an interval" (ACM TOMACS 2019), the multiply-shift with rejection of the
  // (2^32 mod bound) low products that would over-represent some results. Draws again with
  // probability < bound / 2^32, so almost always takes one draw.
  uint32_t Below(uint32_t bound) {
    assert(bound > 0);
    uint64_t m = uint64_t{Next()} * bound;
    auto low = static_cast<uint32_t>(m);
    if (low < bound) {
      uint32_t threshold = (0u - bound) % bound;
      while (low < threshold) {
        m = uint64_t{Next()} * bound;
        low = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

 private:
  uint64_t state_ = 0;
  uint64_t inc_;
};

// One worker's mutable state for one pool, for whichever policy the pool uses. Built on the
// control path (it allocates smooth WRR's array), one per worker, alongside the snapshot
// whose pool has `backend_count` backends; then used by that worker alone. Rebuilt whenever
// the pool's backend list changes, since the positions it is indexed by change with it.
struct PickState {
  // `seed` should differ per worker (e.g. the worker id mixed with a random boot value): it
  // starts each worker's round-robin cursor at a different backend, so that the first
  // connections of all workers do not land on backend 0 together, and gives each worker its
  // own random sequence for power of two choices.
  PickState(uint32_t backend_count, uint64_t seed)
      : rng(seed), wrr_current(backend_count, 0) {
    cursor = backend_count == 0 ? 0 : rng.Below(backend_count);
  }

  uint32_t cursor = 0;  // round robin: next position to try; least connections: tie rotation
  Pcg32 rng;            // power of two choices
  // Smooth weighted round robin's current weight per backend (weighted_round_robin.h).
  // Sized once here; never resized on the worker.
  std::vector<int64_t> wrr_current;
};

enum class BalancingPolicy : uint8_t {
  kRoundRobin,
  kWeightedRoundRobin,
  kLeastConnections,
  kPowerOfTwoChoices,
  kMaglev,
};

// The policy's name in the configuration (ferry.v1.BackendPool.policy).
constexpr std::string_view Name(BalancingPolicy p) {
  switch (p) {
    case BalancingPolicy::kRoundRobin: return "round_robin";
    case BalancingPolicy::kWeightedRoundRobin: return "weighted_round_robin";
    case BalancingPolicy::kLeastConnections: return "least_connections";
    case BalancingPolicy::kPowerOfTwoChoices: return "power_of_two";
    case BalancingPolicy::kMaglev: return "maglev";
  }
  return "unknown";
}

// The interface. Implementations are immutable after construction; see the contract at the
// top of this file.
class Balancer {
 public:
  virtual ~Balancer() = default;

  // The index of the backend to connect this client to, or std::nullopt when no backend may
  // be picked (none eligible, all excluded, or, for Maglev only, none found within its probe
  // bound). Updates `state` (cursors, random draws) and nothing else.
  virtual std::optional<uint32_t> Pick(const PickContext& context, PickState& state) const = 0;

  virtual BalancingPolicy policy() const = 0;
};

// --- Helpers shared by the implementations -------------------------------------------------

// Whether backends[i] may be picked in this context: eligible, weight > 0, not excluded.
inline bool IsCandidate(const PickContext& context, uint32_t i) {
  if (i >= context.backends.size()) return false;
  const BackendView& b = context.backends[i];
  if (!b.eligible || b.weight == 0) return false;
  return std::find(context.excluded.begin(), context.excluded.end(), i) ==
         context.excluded.end();
}

inline uint32_t ActiveConnections(const PickContext& context, uint32_t i) {
  return i < context.active_connections.size() ? context.active_connections[i] : 0;
}

// Whether a has strictly less load than b, load being active connections / weight, compared
// as a.active * b.weight < b.active * a.weight so that nothing is divided or rounded (both
// products fit in 64 bits). Weights must be > 0.
inline bool LessLoaded(uint32_t active_a, uint32_t weight_a, uint32_t active_b,
                       uint32_t weight_b) {
  return uint64_t{active_a} * weight_b < uint64_t{active_b} * weight_a;
}

}  // namespace ferry::proxy
