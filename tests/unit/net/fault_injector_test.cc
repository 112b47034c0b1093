// FaultInjector: each impairment alone, then together, with real mbufs (EAL without hugepages,
// see eal_main.cc) and fake time. Every test ends with the mempool back to zero mbufs in use.
#include "net/fault_injector.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using Bytes = std::vector<uint8_t>;

constexpr uint16_t kFrameLength = 64;

// A frame whose bytes depend only on `id` and `length`: an Ethernet header, then id (big
// endian) and a pattern, so a released frame can be named and checked byte for byte.
Bytes FrameBytes(uint32_t id, uint16_t length = kFrameLength) {
  Bytes b(length);
  const uint8_t header[14] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00};
  for (size_t i = 0; i < length; ++i) {
    if (i < 14) {
      b[i] = header[i];
    } else if (i < 18) {
      b[i] = static_cast<uint8_t>(id >> (8 * (17 - i)));
    } else {
      b[i] = static_cast<uint8_t>(id * 7 + i);
    }
  }
  return b;
}

Bytes BytesOf(const rte_mbuf* m) {
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(p, p + rte_pktmbuf_data_len(m));
}

uint32_t IdOf(const uint8_t* frame) {
  const uint8_t* p = frame + 14;
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
uint32_t IdOf(const rte_mbuf* m) { return IdOf(rte_pktmbuf_mtod(m, const uint8_t*)); }

// What came out of an injector, in order, with the time it came out.
struct Released {
  base::Instant at;
  Bytes bytes;
  bool operator==(const Released&) const = default;
};

uint64_t Count(const FaultInjector& f, FaultCounter c) { return f.counters().Load(c); }

class FaultInjectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    const std::string name = "fi_test_" + std::to_string(serial++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), 2047, 0, 0, RTE_PKTMBUF_HEADROOM + 256,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "an mbuf leaked";
    rte_mempool_free(pool_);
  }

  rte_mbuf* Frame(uint32_t id, uint16_t length = kFrameLength) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    const Bytes b = FrameBytes(id, length);
    char* p = rte_pktmbuf_append(m, length);
    EXPECT_NE(p, nullptr);
    std::copy(b.begin(), b.end(), p);
    return m;
  }

  // Pops what is due at `now`, frees it and returns the ids in release order.
  std::vector<uint32_t> PopIds(FaultInjector& f, base::Instant now) {
    std::vector<uint32_t> ids;
    rte_mbuf* out[32];
    while (size_t n = f.Pop(now, out, std::size(out))) {
      for (size_t i = 0; i < n; ++i) {
        ids.push_back(IdOf(out[i]));
        rte_pktmbuf_free(out[i]);
      }
    }
    return ids;
  }

  // Advances fake time from release to release until nothing is held; frees what comes out.
  std::vector<Released> RunToEmpty(FaultInjector& f) {
    std::vector<Released> released;
    rte_mbuf* out[32];
    while (std::optional<base::Instant> next = f.NextRelease()) {
      const size_t n = f.Pop(*next, out, std::size(out));
      EXPECT_GT(n, 0u) << "NextRelease promised a packet";
      for (size_t i = 0; i < n; ++i) {
        released.push_back({*next, BytesOf(out[i])});
        rte_pktmbuf_free(out[i]);
      }
    }
    return released;
  }

  rte_mempool* pool_ = nullptr;
  const base::Instant t0_ = base::Instant{} + seconds(100);
};

// ---- Validate ---------------------------------------------------------------------------

TEST(FaultProfileTest, DefaultAndFullProfilesAreValid) {
  EXPECT_TRUE(FaultProfile::Validate(FaultProfile{}).ok());
  FaultProfile p{.drop = 1, .duplicate = 1, .reorder = 1, .corrupt = 1, .delay = seconds(1),
                 .jitter = seconds(1), .reorder_delay = nanoseconds(1), .seed = 0};
  EXPECT_TRUE(FaultProfile::Validate(p).ok());
}

TEST(FaultProfileTest, ProbabilityOutsideZeroToOneNamesTheField) {
  auto message = [](FaultProfile p) {
    const absl::Status s = FaultProfile::Validate(p);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  EXPECT_EQ(message({.drop = 1.5}), "drop: 1.5 is outside 0..1");
  EXPECT_EQ(message({.duplicate = -0.25}), "duplicate: -0.25 is outside 0..1");
  EXPECT_EQ(message({.reorder = 2}), "reorder: 2 is outside 0..1");
  EXPECT_EQ(message({.corrupt = std::nan("")}), "corrupt: nan is outside 0..1");
}

TEST(FaultProfileTest, NegativeDurationNamesTheField) {
  auto message = [](FaultProfile p) {
    const absl::Status s = FaultProfile::Validate(p);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  EXPECT_EQ(message({.delay = nanoseconds(-5)}), "delay: -5ns is negative");
  EXPECT_EQ(message({.jitter = milliseconds(-1)}), "jitter: -1000000ns is negative");
  EXPECT_EQ(message({.reorder_delay = nanoseconds(-1)}), "reorder_delay: -1ns is negative");
}

TEST(FaultProfileTest, ReorderNeedsAReorderDelay) {
  const absl::Status s = FaultProfile::Validate({.reorder = 0.5, .reorder_delay = nanoseconds(0)});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "reorder_delay: 0ns must be positive when reorder is 0.5");
  EXPECT_TRUE(FaultProfile::Validate({.reorder = 0, .reorder_delay = nanoseconds(0)}).ok());
}

TEST(FaultProfileTest, CounterNames) {
  EXPECT_EQ(Name(FaultCounter::kPassed), "passed");
  EXPECT_EQ(Name(FaultCounter::kDroppedFull), "dropped_full");
  EXPECT_EQ(static_cast<size_t>(FaultCounter::kCount), 7u);
}

// ---- Pass-through -----------------------------------------------------------------------

TEST_F(FaultInjectorTest, ZeroProfilePassesEverythingInOrderUnchanged) {
  FaultInjector f(FaultProfile{}, pool_, 128);
  for (uint32_t i = 0; i < 100; ++i) f.Push(Frame(i, static_cast<uint16_t>(20 + i)), t0_);
  EXPECT_EQ(f.held(), 100u);
  EXPECT_EQ(f.NextRelease(), t0_);

  // Pop honours `max`.
  rte_mbuf* out[100];
  ASSERT_EQ(f.Pop(t0_, out, 3), 3u);
  ASSERT_EQ(f.Pop(t0_, out + 3, 100), 97u);
  EXPECT_EQ(f.held(), 0u);
  EXPECT_EQ(f.NextRelease(), std::nullopt);
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_EQ(BytesOf(out[i]), FrameBytes(i, static_cast<uint16_t>(20 + i))) << "frame " << i;
    rte_pktmbuf_free(out[i]);
  }
  EXPECT_EQ(Count(f, FaultCounter::kPassed), 100u);
  for (auto c : {FaultCounter::kDropped, FaultCounter::kDuplicated, FaultCounter::kReordered,
                 FaultCounter::kCorrupted, FaultCounter::kDelayed, FaultCounter::kDroppedFull}) {
    EXPECT_EQ(Count(f, c), 0u) << Name(c);
  }
}

TEST_F(FaultInjectorTest, NothingIsReleasedBeforeItsPushTime) {
  FaultInjector f(FaultProfile{}, pool_, 4);
  f.Push(Frame(1), t0_);
  rte_mbuf* out[1];
  EXPECT_EQ(f.Pop(t0_ - nanoseconds(1), out, 1), 0u);
  EXPECT_EQ(PopIds(f, t0_), std::vector<uint32_t>{1});
}

// ---- Drop -------------------------------------------------------------------------------

TEST_F(FaultInjectorTest, DropOneDropsEverythingAndCountsIt) {
  FaultInjector f({.drop = 1}, pool_, 16);
  for (uint32_t i = 0; i < 100; ++i) f.Push(Frame(i), t0_);
  EXPECT_EQ(f.held(), 0u);
  EXPECT_TRUE(PopIds(f, t0_ + seconds(1)).empty());
  EXPECT_EQ(Count(f, FaultCounter::kDropped), 100u);
  EXPECT_EQ(Count(f, FaultCounter::kPassed), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

TEST_F(FaultInjectorTest, DropRateMatchesAndTheSameSeedDropsTheSamePackets) {
  auto dropped = [&](const FaultProfile& p) {
    FaultInjector f(p, pool_, 4);
    std::vector<uint32_t> ids;
    for (uint32_t i = 0; i < 10000; ++i) {
      f.Push(Frame(i), t0_);
      const std::vector<uint32_t> out = PopIds(f, t0_);
      if (out.empty()) {
        ids.push_back(i);
      } else {
        EXPECT_EQ(out, std::vector<uint32_t>{i});
      }
    }
    EXPECT_EQ(Count(f, FaultCounter::kDropped), ids.size());
    return ids;
  };
  const std::vector<uint32_t> a = dropped({.drop = 0.3, .seed = 42});
  EXPECT_NEAR(a.size() / 10000.0, 0.3, 0.02);
  EXPECT_EQ(dropped({.drop = 0.3, .seed = 42}), a);
  EXPECT_NE(dropped({.drop = 0.3, .seed = 43}), a) << "the seed must matter";
  // Every Push draws the same numbers whatever else the profile does, so adding other faults
  // does not change which packets the drop draw picks.
  FaultInjector g({.drop = 0.3, .duplicate = 0.5, .corrupt = 0.5, .seed = 42}, pool_, 4);
  std::vector<uint32_t> b;
  for (uint32_t i = 0; i < 10000; ++i) {
    g.Push(Frame(i), t0_);
    if (PopIds(g, t0_).empty()) b.push_back(i);
  }
  EXPECT_EQ(b, a);
}

// ---- Duplicate --------------------------------------------------------------------------

TEST_F(FaultInjectorTest, DuplicateOneDoublesWithIndependentCopies) {
  FaultInjector f({.duplicate = 1}, pool_, 128);
  for (uint32_t i = 0; i < 50; ++i) f.Push(Frame(i), t0_);
  rte_mbuf* out[128];
  ASSERT_EQ(f.Pop(t0_, out, std::size(out)), 100u);
  for (uint32_t i = 0; i < 50; ++i) {
    rte_mbuf* original = out[2 * i];
    rte_mbuf* copy = out[2 * i + 1];  // same release time: push order, the copy second
    EXPECT_NE(original, copy);
    EXPECT_EQ(BytesOf(original), FrameBytes(i));
    EXPECT_EQ(BytesOf(copy), FrameBytes(i));
    EXPECT_EQ(rte_mbuf_refcnt_read(original), 1);
    EXPECT_TRUE(RTE_MBUF_DIRECT(copy)) << "with a pool the copy owns its data";
    rte_pktmbuf_mtod(original, uint8_t*)[20] ^= 0xff;
    EXPECT_EQ(BytesOf(copy), FrameBytes(i));
    rte_pktmbuf_free(original);
    rte_pktmbuf_free(copy);
  }
  EXPECT_EQ(Count(f, FaultCounter::kDuplicated), 50u);
  EXPECT_EQ(Count(f, FaultCounter::kPassed), 100u);
}

TEST_F(FaultInjectorTest, DuplicateWithoutPoolClones) {
  FaultInjector f({.duplicate = 1}, nullptr, 8);
  f.Push(Frame(7), t0_);
  rte_mbuf* out[2];
  ASSERT_EQ(f.Pop(t0_, out, 2), 2u);
  EXPECT_TRUE(RTE_MBUF_DIRECT(out[0]));
  EXPECT_EQ(rte_mbuf_refcnt_read(out[0]), 2) << "the clone shares the original's data";
  EXPECT_FALSE(RTE_MBUF_DIRECT(out[1]));
  EXPECT_EQ(BytesOf(out[1]), FrameBytes(7));
  rte_pktmbuf_free(out[0]);
  rte_pktmbuf_free(out[1]);
}

TEST_F(FaultInjectorTest, DuplicateSkippedWhenThePoolIsEmpty) {
  rte_mempool* empty = rte_pktmbuf_pool_create("fi_test_empty", 1, 0, 0, 512, SOCKET_ID_ANY);
  ASSERT_NE(empty, nullptr);
  rte_mbuf* hog = rte_pktmbuf_alloc(empty);
  ASSERT_NE(hog, nullptr);
  {
    FaultInjector f({.duplicate = 1}, empty, 8);
    f.Push(Frame(3), t0_);
    EXPECT_EQ(PopIds(f, t0_), std::vector<uint32_t>{3});
    EXPECT_EQ(Count(f, FaultCounter::kDuplicated), 0u);
  }
  rte_pktmbuf_free(hog);
  EXPECT_EQ(rte_mempool_in_use_count(empty), 0u);
  rte_mempool_free(empty);
}

// ---- Corrupt ----------------------------------------------------------------------------

TEST_F(FaultInjectorTest, CorruptOneFlipsExactlyOneBitPastTheEthernetHeader) {
  FaultInjector f({.corrupt = 1}, pool_, 8);
  std::set<size_t> offsets;
  for (uint32_t i = 0; i < 300; ++i) {
    const auto length = static_cast<uint16_t>(15 + i % 200);
    rte_mbuf* m = Frame(i, length);
    m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    f.Push(m, t0_);
    rte_mbuf* out[1];
    ASSERT_EQ(f.Pop(t0_, out, 1), 1u);
    const Bytes got = BytesOf(out[0]);
    const Bytes want = FrameBytes(i, length);
    ASSERT_EQ(got.size(), want.size());
    int flipped_bits = 0;
    for (size_t k = 0; k < got.size(); ++k) {
      if (got[k] == want[k]) continue;
      flipped_bits += std::popcount(static_cast<uint8_t>(got[k] ^ want[k]));
      EXPECT_GE(k, 14u) << "the Ethernet header must survive";
      offsets.insert(k);
    }
    EXPECT_EQ(flipped_bits, 1) << "frame " << i;
    // The NIC's verdict was about the bytes before the flip: software must look again.
    EXPECT_EQ(out[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
    EXPECT_EQ(out[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
    rte_pktmbuf_free(out[0]);
  }
  EXPECT_EQ(Count(f, FaultCounter::kCorrupted), 300u);
  EXPECT_TRUE(offsets.count(14)) << "the first byte after the header can be hit";
  EXPECT_GT(offsets.size(), 100u) << "the byte is drawn, not fixed";
}

TEST_F(FaultInjectorTest, CorruptLeavesFramesWithNothingPastTheHeaderAlone) {
  FaultInjector f({.corrupt = 1}, pool_, 8);
  f.Push(Frame(1, 14), t0_);
  rte_mbuf* out[1];
  ASSERT_EQ(f.Pop(t0_, out, 1), 1u);
  EXPECT_EQ(BytesOf(out[0]), FrameBytes(1, 14));
  EXPECT_EQ(Count(f, FaultCounter::kCorrupted), 0u);
  rte_pktmbuf_free(out[0]);
}

TEST_F(FaultInjectorTest, CorruptNeverReachesAnotherHolderOfTheData) {
  // A stack keeps a clone of what it sent for retransmission; corruption on the wire must not
  // corrupt the stack's copy.
  FaultInjector f({.corrupt = 1}, pool_, 8);
  rte_mbuf* sent = Frame(9);
  rte_mbuf* kept = rte_pktmbuf_clone(sent, pool_);
  ASSERT_NE(kept, nullptr);
  f.Push(sent, t0_);
  rte_mbuf* out[1];
  ASSERT_EQ(f.Pop(t0_, out, 1), 1u);
  EXPECT_NE(BytesOf(out[0]), FrameBytes(9));
  EXPECT_EQ(BytesOf(kept), FrameBytes(9));
  EXPECT_EQ(Count(f, FaultCounter::kCorrupted), 1u);
  rte_pktmbuf_free(out[0]);
  rte_pktmbuf_free(kept);
}

// ---- Delay and jitter -------------------------------------------------------------------

TEST_F(FaultInjectorTest, DelayHoldsUntilNowPlusDelayAndNotBefore) {
  FaultInjector f({.delay = milliseconds(10)}, pool_, 8);
  f.Push(Frame(1), t0_);
  f.Push(Frame(2), t0_ + milliseconds(3));
  EXPECT_EQ(f.NextRelease(), t0_ + milliseconds(10));
  EXPECT_TRUE(PopIds(f, t0_ + milliseconds(10) - nanoseconds(1)).empty());
  EXPECT_EQ(PopIds(f, t0_ + milliseconds(10)), std::vector<uint32_t>{1});
  EXPECT_EQ(f.NextRelease(), t0_ + milliseconds(13));
  EXPECT_TRUE(PopIds(f, t0_ + milliseconds(13) - nanoseconds(1)).empty());
  EXPECT_EQ(PopIds(f, t0_ + milliseconds(13)), std::vector<uint32_t>{2});
  EXPECT_EQ(Count(f, FaultCounter::kDelayed), 2u);
  EXPECT_EQ(Count(f, FaultCounter::kPassed), 2u);
}

TEST_F(FaultInjectorTest, JitterStaysWithinDelayPlusJitter) {
  FaultInjector f({.delay = milliseconds(5), .jitter = milliseconds(2), .seed = 7}, pool_, 1000);
  for (uint32_t i = 0; i < 1000; ++i) f.Push(Frame(i), t0_);
  const std::vector<Released> out = RunToEmpty(f);
  ASSERT_EQ(out.size(), 1000u);
  base::Duration lo = base::Duration::max();
  base::Duration hi = base::Duration::min();
  for (const Released& r : out) {
    lo = std::min(lo, r.at - t0_);
    hi = std::max(hi, r.at - t0_);
  }
  EXPECT_GE(lo, milliseconds(5));
  EXPECT_LE(hi, milliseconds(7));
  // A test that cannot fail is a defect: the draw must actually spread the releases.
  EXPECT_LT(lo, microseconds(5100));
  EXPECT_GT(hi, microseconds(6900));
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end(),
                             [](const Released& a, const Released& b) { return a.at < b.at; }));
}

// ---- Reorder ----------------------------------------------------------------------------

TEST_F(FaultInjectorTest, ReorderOvertakesYetReleasesEveryPacketExactlyOnce) {
  FaultInjector f({.reorder = 0.2, .reorder_delay = milliseconds(1), .seed = 3}, pool_, 256);
  std::vector<uint32_t> ids;
  base::Instant now = t0_;
  for (uint32_t i = 0; i < 1000; ++i) {
    f.Push(Frame(i), now);
    for (uint32_t id : PopIds(f, now)) ids.push_back(id);
    now += microseconds(10);
  }
  for (const Released& r : RunToEmpty(f)) ids.push_back(IdOf(r.bytes.data()));
  ASSERT_EQ(ids.size(), 1000u);
  EXPECT_FALSE(std::is_sorted(ids.begin(), ids.end()));
  std::vector<uint32_t> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i) << "lost or duplicated";
  EXPECT_NEAR(Count(f, FaultCounter::kReordered) / 1000.0, 0.2, 0.05);
  EXPECT_EQ(Count(f, FaultCounter::kDelayed), 0u) << "reorder is counted apart from delay";
  EXPECT_EQ(Count(f, FaultCounter::kPassed), 1000u);
}

// ---- Capacity and ownership -------------------------------------------------------------

TEST_F(FaultInjectorTest, CapacityBoundsWhatIsHeld) {
  FaultInjector f({.delay = milliseconds(1)}, pool_, 8);
  for (uint32_t i = 0; i < 20; ++i) f.Push(Frame(i), t0_);
  EXPECT_EQ(f.held(), 8u);
  EXPECT_EQ(f.capacity(), 8u);
  EXPECT_EQ(Count(f, FaultCounter::kDroppedFull), 12u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 8u);
  EXPECT_EQ(PopIds(f, t0_ + milliseconds(1)), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST_F(FaultInjectorTest, CapacityAlsoBoundsDuplicates) {
  FaultInjector f({.duplicate = 1}, pool_, 3);
  f.Push(Frame(1), t0_);
  f.Push(Frame(2), t0_);  // its copy finds the store full
  EXPECT_EQ(f.held(), 3u);
  EXPECT_EQ(Count(f, FaultCounter::kDuplicated), 2u);
  EXPECT_EQ(Count(f, FaultCounter::kDroppedFull), 1u);
  EXPECT_EQ(PopIds(f, t0_), (std::vector<uint32_t>{1, 1, 2}));
}

TEST_F(FaultInjectorTest, DestructorFreesHeldPackets) {
  {
    FaultInjector f({.delay = seconds(1)}, pool_, 16);
    for (uint32_t i = 0; i < 10; ++i) f.Push(Frame(i), t0_);
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 10u);
  }
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
}

// ---- Everything at once -----------------------------------------------------------------

TEST_F(FaultInjectorTest, SameSeedSameOutputUnderEveryFault) {
  const FaultProfile profile{.drop = 0.1, .duplicate = 0.1, .reorder = 0.1, .corrupt = 0.1,
                             .delay = milliseconds(1), .jitter = microseconds(500),
                             .reorder_delay = milliseconds(2), .seed = 99};
  auto run = [&](const FaultProfile& p) {
    FaultInjector f(p, pool_, 64);
    std::vector<Released> out;
    base::Instant now = t0_;
    rte_mbuf* burst[32];
    for (uint32_t i = 0; i < 2000; ++i) {
      f.Push(Frame(i), now);
      now += microseconds(100);
      while (size_t n = f.Pop(now, burst, std::size(burst))) {
        for (size_t k = 0; k < n; ++k) {
          out.push_back({now, BytesOf(burst[k])});
          rte_pktmbuf_free(burst[k]);
        }
      }
    }
    for (Released& r : RunToEmpty(f)) out.push_back(std::move(r));
    const auto c = [&](FaultCounter e) { return Count(f, e); };
    // Conservation: every packet pushed or copied is dropped, passed or still held.
    EXPECT_EQ(2000 + c(FaultCounter::kDuplicated),
              c(FaultCounter::kDropped) + c(FaultCounter::kDroppedFull) +
                  c(FaultCounter::kPassed) + f.held());
    EXPECT_EQ(c(FaultCounter::kPassed), out.size());
    for (auto e : {FaultCounter::kDropped, FaultCounter::kDuplicated, FaultCounter::kReordered,
                   FaultCounter::kCorrupted}) {
      EXPECT_NEAR(c(e) / 2000.0, 0.1, 0.03) << Name(e);
    }
    return out;
  };
  const std::vector<Released> a = run(profile);
  EXPECT_EQ(run(profile), a);
  FaultProfile other = profile;
  other.seed = 100;
  EXPECT_NE(run(other), a);
}

}  // namespace
}  // namespace ferry::net
