// A seeded, deterministic impairment stage for a packet path: it drops, corrupts, duplicates,
// delays and reorders mbufs, in that order, and hands them back when their time has come.
// The worker can put one on a port's RX and/or TX for fault tests, and the scripted packet
// tests put one on the wire between two in-process stacks (TESTING.md: "For seeded,
// reproducible faults, prefer an in-process fault-injecting port wrapper").
//
// Like the protocol code it impairs, it is pure: no clock and no port. Push(m, now) takes a
// packet in; Pop(now, ...) returns every held packet whose release time is <= now, in release
// order (ties in push order). NextRelease() tells a fake-clock driver when to advance to.
//
// Per packet, in order:
//   1. drop      with probability `drop`: freed, counted `dropped`.
//   2. corrupt   with probability `corrupt`: one random bit of one random byte of the FIRST
//                segment, at offset >= 14, is flipped, so the Ethernet header still steers
//                the frame to the L3 checks that must catch it. Frames with no byte past 14
//                in the first segment are left alone (not counted). The RX checksum-status
//                flags are reset to UNKNOWN so software verifies the frame instead of trusting
//                a NIC verdict on the bytes before corruption. If the data is shared (an
//                indirect mbuf or refcnt > 1, e.g. a stack's retransmission clone) the frame is
//                first copied, so the corruption never reaches the other holder; if that copy
//                cannot be allocated the frame passes uncorrupted. On TX with checksum offload
//                the NIC recomputes checksums over the flipped bytes, so the receiver cannot
//                detect it: put the injector on RX to test detection.
//   3. duplicate with probability `duplicate`: a full copy (rte_pktmbuf_copy from `pool`), so
//                either copy may be modified later. With a null pool it is an
//                rte_pktmbuf_clone from the packet's own pool instead: cheaper, but the two
//                share data, and a consumer that rewrites one in place rewrites both. Give a
//                pool unless the consumer is known to check refcnt. A failed copy is skipped.
//                The copy is scheduled independently (its own jitter and reorder draw).
//   4. schedule  release at now + delay + U[0, jitter] (+ reorder_delay with probability
//                `reorder`: a packet held that much longer lets the following ones overtake
//                it). Jitter alone reorders too when it exceeds the gap between packets.
//                If `capacity` packets are already held, the packet is freed and counted
//                `dropped_full`: the store never grows.
//
// Determinism: the random source is std::mt19937_64 (its output sequence is fixed by the
// standard) with our own conversions to [0,1) and to integer ranges, not std::*_distribution
// (whose algorithms differ between standard libraries). Every Push consumes the same number of
// draws whatever happens to the packet, so the fate of the i-th pushed packet depends only on
// the profile, the seed, i and the packet's length: two injectors with the same profile fed
// the same packets at the same times give the same output, and changing one probability does
// not reshuffle the other decisions.
//
// Cost: test-only path. No allocation after construction except the mbufs of copies; the held
// packets live in a binary heap over a vector reserved to `capacity`.
//
// Accounting: pushed + duplicated == dropped + dropped_full + passed + held().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "base/clock.h"
#include "base/counters.h"

struct rte_mbuf;
struct rte_mempool;

namespace ferry::net {

#define FERRY_FAULT_COUNTERS(X)                                                          \
  X(kPassed, "passed")             /* released by Pop, originals and copies */           \
  X(kDropped, "dropped")           /* dropped by the `drop` draw */                      \
  X(kDuplicated, "duplicated")     /* copies made */                                     \
  X(kReordered, "reordered")       /* held an extra reorder_delay */                     \
  X(kCorrupted, "corrupted")       /* one bit flipped */                                 \
  X(kDelayed, "delayed")           /* scheduled with delay + jitter > 0 */               \
  X(kDroppedFull, "dropped_full")  /* freed because `capacity` packets were held */

FERRY_DECLARE_COUNTERS(FaultCounter, FERRY_FAULT_COUNTERS)

using FaultCounters = base::CounterSet<FaultCounter>;

struct FaultProfile {
  // Probabilities, each in [0, 1]; 0 never fires, 1 always does.
  double drop = 0;
  double duplicate = 0;
  double reorder = 0;
  double corrupt = 0;
  base::Duration delay{0};
  base::Duration jitter{0};  // uniform extra delay in [0, jitter]
  base::Duration reorder_delay = std::chrono::milliseconds(1);  // extra hold of a reordered packet
  uint64_t seed = 1;

  // Returns InvalidArgument naming the first field at fault and its value ("drop: 1.5 is
  // outside 0..1", "delay: -5ns is negative"); a reorder probability with a zero
  // reorder_delay is refused too, since it would reorder nothing.
  static absl::Status Validate(const FaultProfile& profile);
};

class FaultInjector {
 public:
  // `profile` must pass FaultProfile::Validate (asserted). `pool` supplies duplicates and the
  // private copies of shared frames before corruption; it may be null (see the top of the
  // file). `capacity` is the most packets held at once.
  FaultInjector(const FaultProfile& profile, rte_mempool* pool, size_t capacity);
  ~FaultInjector();  // frees the packets still held
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // Takes ownership of `m`, at time `now`. Never fails: what cannot be held is freed and
  // counted.
  void Push(rte_mbuf* m, base::Instant now);

  // Moves up to `max` packets whose release time is <= now into `out`, earliest first (ties in
  // push order), and returns how many. Ownership passes to the caller.
  size_t Pop(base::Instant now, rte_mbuf** out, size_t max);

  // The earliest release time of a held packet; nullopt when none is held.
  std::optional<base::Instant> NextRelease() const;
  size_t held() const { return heap_.size(); }
  size_t capacity() const { return capacity_; }
  const FaultCounters& counters() const { return counters_; }

 private:
  struct Held {
    base::Instant release;
    uint64_t order;  // push order, to break ties
    rte_mbuf* packet;
  };
  // Every random decision for one Push, drawn up front (see "Determinism" above).
  struct Fate {
    bool drop;
    bool corrupt;
    uint64_t corrupt_byte;  // raw draws, scaled once the frame length is known
    uint64_t corrupt_bit;
    bool duplicate;
    uint64_t jitter[2];  // [0] the packet, [1] its copy
    bool reorder[2];
  };

  Fate DrawFate();
  double Uniform01();
  // Returns the mbuf to carry on with: `m`, or a private copy when m's data was shared.
  rte_mbuf* Corrupt(rte_mbuf* m, const Fate& fate);
  void Schedule(rte_mbuf* m, base::Instant now, uint64_t jitter_draw, bool reorder);

  FaultProfile profile_;
  rte_mempool* pool_;
  size_t capacity_;
  std::mt19937_64 rng_;
  uint64_t next_order_ = 0;
  std::vector<Held> heap_;  // min-heap on (release, order); reserved to capacity_
  FaultCounters counters_;
};

}  // namespace ferry::net
