// ReassemblyQueue and the chain trimming helpers, on real mbufs (EAL without hugepages, through
// tests/unit/eal_main.cc). Byte i of every test stream is (i * 7) & 0xff, so any misplaced,
// lost or duplicated byte shows. Every popped mbuf must be one the test inserted (nothing is
// copied), and each test ends with its pool's in-use count back at 0 (nothing leaks).
#include "tcp/reassembly.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::tcp {

static void PrintTo(const SackBlock& b, std::ostream* os) {
  *os << "[" << b.left.raw() << ", " << b.right.raw() << ")";
}

static void PrintTo(ReassemblyQueue::InsertResult r, std::ostream* os) {
  using R = ReassemblyQueue::InsertResult;
  switch (r) {
    case R::kQueued: *os << "kQueued"; return;
    case R::kQueuedAfterReneging: *os << "kQueuedAfterReneging"; return;
    case R::kDuplicate: *os << "kDuplicate"; return;
    case R::kDroppedFull: *os << "kDroppedFull"; return;
  }
  *os << "InsertResult(" << int(r) << ")";
}

namespace {

using Result = ReassemblyQueue::InsertResult;

constexpr uint8_t StreamByte(uint64_t i) { return static_cast<uint8_t>((i * 7) & 0xff); }
constexpr uint8_t kPoison = 0xee;

ReassemblyQueue::Options Opts(uint32_t max_bytes, uint16_t max_segments) {
  ReassemblyQueue::Options o;
  o.max_bytes = max_bytes;
  o.max_segments = max_segments;
  return o;
}

// Stream bytes in [from, to) carry kPoison instead of the stream: a copy the queue must not keep.
struct Poison {
  uint64_t from = 0;
  uint64_t to = 0;
};

class ReassemblyTest : public testing::Test {
 protected:
  void SetUp() override {
    pool_ = MakePool(8191, RTE_PKTMBUF_HEADROOM + 512);
    ASSERT_NE(pool_, nullptr);
  }

  void TearDown() override {
    if (pool_ == nullptr) return;
    EXPECT_EQ(InUse(), 0u) << "mbufs leaked";
    rte_mempool_free(pool_);
  }

  // No per-lcore cache, so the in-use count is exact.
  static rte_mempool* MakePool(unsigned size, uint16_t data_room) {
    static int serial = 0;
    const std::string name = "reasm" + std::to_string(serial++);
    return rte_pktmbuf_pool_create(name.c_str(), size, 0, 0, data_room, SOCKET_ID_ANY);
  }

  unsigned InUse() const { return rte_mempool_in_use_count(pool_); }

  Seq At(uint64_t offset) const { return Seq(static_cast<uint32_t>(isn_ + offset)); }

  // A chain holding stream bytes [offset, offset + sum(sizes)), one mbuf per size (0 allowed),
  // linked by hand (rte_pktmbuf_chain walks the chain: quadratic for the long ones).
  rte_mbuf* Build(rte_mempool* pool, uint64_t offset, const std::vector<uint16_t>& sizes,
                  Poison poison = {}) {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    uint64_t at = offset;
    for (uint16_t size : sizes) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (m == nullptr) {
        ADD_FAILURE() << "pool exhausted";
        rte_pktmbuf_free(head);
        return nullptr;
      }
      auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, size));
      if (data == nullptr) {
        ADD_FAILURE() << "no room for " << size << " bytes in one mbuf";
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(head);
        return nullptr;
      }
      for (uint16_t k = 0; k < size; ++k, ++at) {
        data[k] = (at >= poison.from && at < poison.to) ? kPoison : StreamByte(at);
      }
      inserted_.insert(m);
      if (head == nullptr) {
        head = m;
      } else {
        tail->next = m;
        head->nb_segs = static_cast<uint16_t>(head->nb_segs + 1);
        head->pkt_len += size;
      }
      tail = m;
    }
    return head;
  }

  // Stream bytes [offset, offset + length) in mbufs of `mbuf_size` bytes (the last shorter).
  rte_mbuf* Make(uint64_t offset, uint32_t length, uint16_t mbuf_size = 100, Poison poison = {}) {
    std::vector<uint16_t> sizes;
    for (uint32_t left = length; left > 0;) {
      const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(left, mbuf_size));
      sizes.push_back(n);
      left -= n;
    }
    return Build(pool_, offset, sizes, poison);
  }

  Result Put(ReassemblyQueue& q, uint64_t rcv_nxt, uint64_t offset, uint32_t length,
             uint16_t mbuf_size = 100, Poison poison = {}) {
    return q.Insert(At(rcv_nxt), At(offset), Make(offset, length, mbuf_size, poison), length);
  }

  // `chain` is a well-formed chain of exactly the stream bytes [offset, offset + length), made
  // only of mbufs the test inserted.
  testing::AssertionResult IsStream(const rte_mbuf* chain, uint64_t offset, uint64_t length) {
    if (chain == nullptr) return testing::AssertionFailure() << "no chain";
    const char* reason = nullptr;
    if (rte_mbuf_check(chain, 1, &reason) != 0) {
      return testing::AssertionFailure() << "rte_mbuf_check: " << reason;
    }
    if (chain->pkt_len != length) {
      return testing::AssertionFailure() << "pkt_len " << chain->pkt_len << ", want " << length;
    }
    uint64_t at = offset;
    uint32_t segs = 0;
    for (const rte_mbuf* m = chain; m != nullptr; m = m->next) {
      ++segs;
      if (inserted_.count(m) == 0) return testing::AssertionFailure() << "foreign mbuf (a copy)";
      const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
      for (uint16_t k = 0; k < m->data_len; ++k, ++at) {
        if (data[k] != StreamByte(at)) {
          return testing::AssertionFailure()
                 << "byte " << at << " is " << int{data[k]} << ", want " << int{StreamByte(at)};
        }
      }
    }
    if (segs != chain->nb_segs) {
      return testing::AssertionFailure() << "nb_segs " << chain->nb_segs << ", counted " << segs;
    }
    return testing::AssertionSuccess();
  }

  // Pops what continues the stream at *rcv_nxt; expects exactly [*rcv_nxt, end) and frees it.
  void ExpectPop(ReassemblyQueue& q, uint64_t* rcv_nxt, uint64_t end) {
    Seq next = At(*rcv_nxt);
    uint32_t bytes = 12345;
    rte_mbuf* chain = q.PopInOrder(next, &bytes);
    EXPECT_EQ(bytes, end - *rcv_nxt);
    EXPECT_EQ(next, At(end));
    EXPECT_TRUE(IsStream(chain, *rcv_nxt, end - *rcv_nxt));
    rte_pktmbuf_free(chain);
    *rcv_nxt = end;
  }

  void ExpectNothingToPop(ReassemblyQueue& q, uint64_t rcv_nxt) {
    Seq next = At(rcv_nxt);
    uint32_t bytes = 12345;
    EXPECT_EQ(q.PopInOrder(next, &bytes), nullptr);
    EXPECT_EQ(bytes, 0u);
    EXPECT_EQ(next, At(rcv_nxt));
  }

  std::vector<SackBlock> Sack(const ReassemblyQueue& q, uint64_t most_recent, size_t room = 4) {
    std::vector<SackBlock> out(room);
    out.resize(q.SackBlocks(out, At(most_recent)));
    return out;
  }

  SackBlock Block(uint64_t left, uint64_t right) const { return SackBlock{At(left), At(right)}; }

  rte_mempool* pool_ = nullptr;
  uint64_t isn_ = 1000;
  std::unordered_set<const rte_mbuf*> inserted_;
};

// ---------------------------------------------------------------------------------------------
// Chain trimming

const std::vector<std::vector<uint16_t>> kLayouts = {
    {100, 100, 100}, {1, 50, 1, 100, 7}, {10, 0, 10}, {300}, {1, 1, 1}};

TEST_F(ReassemblyTest, TrimFrontAtEveryOffset) {
  for (const auto& layout : kLayouts) {
    uint32_t total = 0;
    for (uint16_t s : layout) total += s;
    for (uint32_t n = 0; n <= total; ++n) {
      SCOPED_TRACE("layout of " + std::to_string(layout.size()) + ", n " + std::to_string(n));
      rte_mbuf* chain = Build(pool_, 0, layout);
      TrimFront(chain, n);
      if (n == total) {
        EXPECT_EQ(chain, nullptr);
      } else {
        ASSERT_TRUE(IsStream(chain, n, total - n));
        EXPECT_EQ(InUse(), chain->nb_segs) << "emptied mbufs are freed, the others kept";
        rte_pktmbuf_free(chain);
      }
      ASSERT_EQ(InUse(), 0u);
    }
  }
}

TEST_F(ReassemblyTest, TrimFrontDropsExactlyTheEmptiedMbufs) {
  for (uint32_t n = 0; n < 300; ++n) {
    rte_mbuf* chain = Make(0, 300);
    TrimFront(chain, n);
    EXPECT_EQ(chain->nb_segs, 3 - n / 100) << n;
    EXPECT_EQ(chain->data_len, 100 - n % 100) << n;
    rte_pktmbuf_free(chain);
  }
}

TEST_F(ReassemblyTest, TrimBackAtEveryOffset) {
  for (const auto& layout : kLayouts) {
    uint32_t total = 0;
    for (uint16_t s : layout) total += s;
    for (uint32_t n = 0; n < total; ++n) {
      SCOPED_TRACE("layout of " + std::to_string(layout.size()) + ", n " + std::to_string(n));
      rte_mbuf* chain = Build(pool_, 0, layout);
      TrimBack(chain, n);
      ASSERT_TRUE(IsStream(chain, 0, total - n));
      if (n > 0) {
        EXPECT_NE(rte_pktmbuf_lastseg(chain)->data_len, 0) << "trailing empty mbuf kept";
      }
      EXPECT_EQ(InUse(), chain->nb_segs);
      rte_pktmbuf_free(chain);
      ASSERT_EQ(InUse(), 0u);
    }
  }
}

TEST_F(ReassemblyTest, TrimBackDropsExactlyTheEmptiedMbufs) {
  for (uint32_t n = 0; n < 300; ++n) {
    rte_mbuf* chain = Make(0, 300);
    TrimBack(chain, n);
    EXPECT_EQ(chain->nb_segs, (300 - n + 99) / 100) << n;
    rte_pktmbuf_free(chain);
  }
}

TEST_F(ReassemblyTest, TrimBothEndsInsideOneMbuf) {
  rte_mbuf* chain = Make(0, 300);
  TrimFront(chain, 120);
  TrimBack(chain, 120);
  ASSERT_TRUE(IsStream(chain, 120, 60));
  EXPECT_EQ(chain->nb_segs, 1);
  EXPECT_EQ(InUse(), 1u);
  rte_pktmbuf_free(chain);
}

// ---------------------------------------------------------------------------------------------
// In-order delivery (RFC 9293 §3.10.7.4, seventh)

TEST_F(ReassemblyTest, StartsEmpty) {
  ReassemblyQueue q(Opts(1000, 8));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.segments(), 0u);
  ExpectNothingToPop(q, 0);
  EXPECT_TRUE(Sack(q, 0).empty());
}

TEST_F(ReassemblyTest, InOrderSegmentComesBackAsTheSameChain) {
  ReassemblyQueue q(Opts(1000, 8));
  rte_mbuf* payload = Make(0, 300);
  EXPECT_EQ(q.Insert(At(0), At(0), payload, 300), Result::kQueued);
  EXPECT_EQ(q.bytes(), 300u);
  Seq next = At(0);
  uint32_t bytes = 0;
  rte_mbuf* chain = q.PopInOrder(next, &bytes);
  EXPECT_EQ(chain, payload);
  EXPECT_EQ(bytes, 300u);
  EXPECT_EQ(next, At(300));
  EXPECT_TRUE(IsStream(chain, 0, 300));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  rte_pktmbuf_free(chain);
}

TEST_F(ReassemblyTest, PopAcceptsNullBytes) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 0, 50), Result::kQueued);
  Seq next = At(0);
  rte_mbuf* chain = q.PopInOrder(next, nullptr);
  EXPECT_TRUE(IsStream(chain, 0, 50));
  rte_pktmbuf_free(chain);
}

TEST_F(ReassemblyTest, NothingPopsWhileTheHoleAtRcvNxtIsOpen) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ExpectNothingToPop(q, 0);
  ExpectNothingToPop(q, 99);
  EXPECT_EQ(q.segments(), 1u);
  q.Clear();
}

TEST_F(ReassemblyTest, FillingTheHoleReleasesEverythingContiguousAsOneChain) {
  ReassemblyQueue q(Opts(1000, 8));
  rte_mbuf* first = Make(0, 100, 40);
  ASSERT_EQ(Put(q, 0, 100, 100, 30), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 300, 100, 70), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 200, 100, 100), Result::kQueued);
  EXPECT_EQ(q.segments(), 3u);
  EXPECT_EQ(q.bytes(), 300u);
  ASSERT_EQ(q.Insert(At(0), At(0), first, 100), Result::kQueued);
  const unsigned mbufs = InUse();
  Seq next = At(0);
  uint32_t bytes = 0;
  rte_mbuf* chain = q.PopInOrder(next, &bytes);
  EXPECT_EQ(chain, first);
  EXPECT_EQ(bytes, 400u);
  EXPECT_EQ(next, At(400));
  EXPECT_TRUE(IsStream(chain, 0, 400));
  EXPECT_EQ(chain->nb_segs, mbufs);
  EXPECT_TRUE(q.empty());
  rte_pktmbuf_free(chain);
}

TEST_F(ReassemblyTest, PopStopsAtTheNextHole) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 0, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 200, 100), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 100);
  EXPECT_EQ(q.segments(), 1u);
  EXPECT_EQ(q.bytes(), 100u);
  ExpectNothingToPop(q, rcv_nxt);
  ASSERT_EQ(Put(q, rcv_nxt, 100, 100), Result::kQueued);
  ExpectPop(q, &rcv_nxt, 300);
}

// The TCB may deliver in-order data itself and advance RCV.NXT past queued bytes.
TEST_F(ReassemblyTest, BytesBelowAnAdvancedRcvNxtAreDiscarded) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 250, 100), Result::kQueued);
  uint64_t rcv_nxt = 300;  // [0, 300) delivered directly
  ExpectPop(q, &rcv_nxt, 350);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

TEST_F(ReassemblyTest, InsertAlsoDiscardsBytesBelowRcvNxt) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 250, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 280, 400, 10), Result::kQueued);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(q.bytes(), 80u);
  EXPECT_EQ(Sack(q, 400), (std::vector{Block(400, 410), Block(280, 350)}));
  q.Clear();
}

// ---------------------------------------------------------------------------------------------
// Trimming and overlaps: bytes already queued win

TEST_F(ReassemblyTest, SegmentWhollyBelowRcvNxtIsADuplicate) {
  ReassemblyQueue q(Opts(1000, 8));
  EXPECT_EQ(Put(q, 1000, 800, 200), Result::kDuplicate);
  EXPECT_EQ(Put(q, 1000, 0, 1), Result::kDuplicate);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(InUse(), 0u);
}

TEST_F(ReassemblyTest, SegmentStraddlingRcvNxtLosesItsOldHead) {
  ReassemblyQueue q(Opts(1000, 8));
  EXPECT_EQ(Put(q, 1000, 850, 300), Result::kQueued);
  EXPECT_EQ(q.bytes(), 150u);
  EXPECT_EQ(InUse(), 2u) << "the mbuf holding [850, 950) is freed";
  uint64_t rcv_nxt = 1000;
  ExpectPop(q, &rcv_nxt, 1150);
}

TEST_F(ReassemblyTest, DuplicateInsideAQueuedSegmentIsFreed) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 300), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 150, 100), Result::kDuplicate);
  EXPECT_EQ(Put(q, 0, 100, 300), Result::kDuplicate);
  EXPECT_EQ(Put(q, 0, 399, 1), Result::kDuplicate);
  EXPECT_EQ(q.segments(), 1u);
  EXPECT_EQ(q.bytes(), 300u);
  EXPECT_EQ(InUse(), 3u);
  q.Clear();
}

TEST_F(ReassemblyTest, DuplicateSpanningAdjacentQueuedSegmentsIsFreed) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 200, 100), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 150, 100), Result::kDuplicate);
  // Covering a queued segment whole replaces it only when some byte is new.
  EXPECT_EQ(Put(q, 0, 100, 200), Result::kDuplicate);
  EXPECT_EQ(Put(q, 0, 150, 150), Result::kDuplicate);
  EXPECT_EQ(InUse(), 2u);
  EXPECT_EQ(Put(q, 0, 50, 100), Result::kQueued) << "[50, 100) is new";
  EXPECT_EQ(q.bytes(), 250u);
  q.Clear();
}

TEST_F(ReassemblyTest, OverlapAtTheHeadKeepsTheQueuedBytes) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 200), Result::kQueued);
  // [150, 300) of the new segment disagree with the queue: they must not survive.
  ASSERT_EQ(Put(q, 0, 150, 300, 100, Poison{150, 300}), Result::kQueued);
  EXPECT_EQ(q.bytes(), 350u);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(InUse(), 2u + 2u) << "the new segment's first mbuf [150, 250) is freed";
  ASSERT_EQ(Put(q, 0, 0, 100), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 450);
}

TEST_F(ReassemblyTest, OverlapAtTheTailKeepsTheQueuedBytes) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 300, 200), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 100, 300, 100, Poison{300, 400}), Result::kQueued);
  EXPECT_EQ(q.bytes(), 400u);
  EXPECT_EQ(InUse(), 2u + 2u) << "the new segment's last mbuf [300, 400) is freed";
  ASSERT_EQ(Put(q, 0, 0, 100), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 500);
}

TEST_F(ReassemblyTest, SegmentCoveringQueuedOnesReplacesThem) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 200, 50), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 300, 50), Result::kQueued);
  ASSERT_EQ(InUse(), 2u);
  ASSERT_EQ(Put(q, 0, 150, 250, 50), Result::kQueued);
  EXPECT_EQ(q.segments(), 1u);
  EXPECT_EQ(q.bytes(), 250u);
  EXPECT_EQ(InUse(), 5u) << "the covered segments are freed";
  ASSERT_EQ(Put(q, 0, 0, 150), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 400);
}

TEST_F(ReassemblyTest, SegmentTrimmedAtBothEndsAndReplacingTheMiddle) {
  ReassemblyQueue q(Opts(1000, 8));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 250, 50), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 400, 100), Result::kQueued);
  // [150, 450): its head overlaps [100, 200), its tail [400, 500); [250, 300) lies inside.
  std::vector<uint16_t> sizes = {30, 30, 100, 90, 50};  // 150..180..210..310..400..450
  rte_mbuf* payload = Build(pool_, 150, sizes, Poison{150, 200});
  for (rte_mbuf* m = payload; m != nullptr; m = m->next) {
    if (m == rte_pktmbuf_lastseg(payload)) {
      std::fill_n(rte_pktmbuf_mtod(m, uint8_t*), m->data_len, kPoison);  // [400, 450)
    }
  }
  ASSERT_EQ(q.Insert(At(0), At(150), payload, 300), Result::kQueued);
  EXPECT_EQ(q.segments(), 3u);
  EXPECT_EQ(q.bytes(), 400u);
  // Kept: [100, 200) 1 mbuf, [400, 500) 1, and of the new one [200, 400): 3 mbufs.
  EXPECT_EQ(InUse(), 5u);
  EXPECT_EQ(Sack(q, 150), (std::vector{Block(100, 500)}));
  ASSERT_EQ(Put(q, 0, 0, 100), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 500);
}

TEST_F(ReassemblyTest, TrailingPaddingIsTrimmedToTheSegmentLength) {
  ReassemblyQueue q(Opts(1000, 8));
  rte_mbuf* frame = Make(0, 60);  // a minimum Ethernet frame carrying 6 bytes of payload
  ASSERT_EQ(q.Insert(At(0), At(0), frame, 6), Result::kQueued);
  EXPECT_EQ(q.bytes(), 6u);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 6);
}

TEST_F(ReassemblyTest, EmptyPayloadIsFreed) {
  ReassemblyQueue q(Opts(1000, 8));
  EXPECT_EQ(q.Insert(At(0), At(10), Build(pool_, 10, {0}), 0), Result::kDuplicate);
  EXPECT_EQ(q.Insert(At(0), At(10), Make(10, 20), 0), Result::kDuplicate);
  EXPECT_EQ(q.Insert(At(0), At(10), nullptr, 0), Result::kDuplicate);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(InUse(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Bounds

TEST_F(ReassemblyTest, SegmentBeyondTheSegmentBoundIsRefused) {
  ReassemblyQueue q(Opts(1000, 2));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 300, 100), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 500, 100), Result::kDroppedFull);
  // Filling a hole still takes a slot: segments are not merged.
  EXPECT_EQ(Put(q, 0, 200, 100), Result::kDroppedFull);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(q.bytes(), 200u);
  EXPECT_EQ(InUse(), 2u);
  EXPECT_EQ(Sack(q, 300), (std::vector{Block(300, 400), Block(100, 200)}));
  q.Clear();
}

TEST_F(ReassemblyTest, SegmentBeyondTheByteBoundIsRefused) {
  ReassemblyQueue q(Opts(250, 8));
  ASSERT_EQ(Put(q, 0, 100, 200), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 400, 51), Result::kDroppedFull);
  EXPECT_EQ(q.bytes(), 200u);
  EXPECT_EQ(Put(q, 0, 400, 50), Result::kQueued) << "exactly at the bound";
  EXPECT_EQ(q.bytes(), 250u);
  // Only the part the queue lacks counts.
  EXPECT_EQ(Put(q, 0, 100, 200), Result::kDuplicate);
  EXPECT_EQ(InUse(), 3u);
  q.Clear();
}

TEST_F(ReassemblyTest, SegmentFitsAfterTheSegmentsItCoversAreFreed) {
  ReassemblyQueue q(Opts(1000, 2));
  ASSERT_EQ(Put(q, 0, 100, 50), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 200, 50), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 90, 210), Result::kQueued);
  EXPECT_EQ(q.segments(), 1u);
  EXPECT_EQ(q.bytes(), 210u);
  q.Clear();
}

TEST_F(ReassemblyTest, RefusedInsertLeavesTheQueueUntouched) {
  ReassemblyQueue q(Opts(300, 8));
  ASSERT_EQ(Put(q, 0, 100, 50), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 200, 50), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 400, 100), Result::kQueued);
  // Would replace [100, 150) and [200, 250) but needs 330 bytes in all.
  EXPECT_EQ(Put(q, 0, 90, 230), Result::kDroppedFull);
  EXPECT_EQ(q.segments(), 3u);
  EXPECT_EQ(q.bytes(), 200u);
  EXPECT_EQ(InUse(), 3u);
  EXPECT_EQ(Sack(q, 0), (std::vector{Block(400, 500), Block(200, 250), Block(100, 150)}));
  q.Clear();
}

// Refusing data at RCV.NXT would stall the connection: the queue reneges on its highest data.
TEST_F(ReassemblyTest, InOrderSegmentIsTakenByRenegingOnTheHighestSegments) {
  ReassemblyQueue q(Opts(1000, 2));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 300, 100), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 0, 100), Result::kQueuedAfterReneging);
  EXPECT_EQ(q.segments(), 2u);
  EXPECT_EQ(q.bytes(), 200u);
  EXPECT_EQ(InUse(), 2u);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 200);
  EXPECT_TRUE(q.empty());
}

TEST_F(ReassemblyTest, InOrderSegmentWithinBoundsRenegesNothing) {
  ReassemblyQueue q(Opts(1000, 2));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 0, 100), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 200);
}

TEST_F(ReassemblyTest, InOrderSegmentLargerThanTheByteBoundIsStillTaken) {
  ReassemblyQueue q(Opts(100, 4));
  ASSERT_EQ(Put(q, 0, 200, 50), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 0, 150), Result::kQueuedAfterReneging);
  EXPECT_EQ(q.bytes(), 150u) << "over the bound until popped";
  EXPECT_EQ(q.segments(), 1u);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 150);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST_F(ReassemblyTest, InOrderSegmentKeepsTheQueuedSegmentsItReaches) {
  // [0, 250) reaches [200, 300): renege on [500, 600) and [700, 800) only.
  ReassemblyQueue q(Opts(300, 8));
  ASSERT_EQ(Put(q, 0, 200, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 500, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 700, 100), Result::kQueued);
  EXPECT_EQ(Put(q, 0, 0, 250), Result::kQueuedAfterReneging);
  EXPECT_EQ(q.bytes(), 300u);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 300);
}

// ---------------------------------------------------------------------------------------------
// Wraparound (RFC 9293 §3.4: sequence arithmetic modulo 2^32)

TEST_F(ReassemblyTest, StreamAcrossTwoToThe32) {
  isn_ = (uint64_t{1} << 32) - 150;  // stream byte 150 has sequence number 0
  ReassemblyQueue q(Opts(10000, 8));
  ASSERT_EQ(Put(q, 0, 200, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 120, 60, 100, Poison{120, 180}), Result::kDuplicate);
  ASSERT_EQ(Put(q, 0, 400, 100), Result::kQueued);
  EXPECT_EQ(At(150), Seq(0));
  EXPECT_EQ(Sack(q, 400), (std::vector{Block(400, 500), Block(100, 300)}));
  EXPECT_EQ(Sack(q, 400)[1].left.raw(), 0xffffffffu - 49);
  EXPECT_EQ(Sack(q, 400)[1].right.raw(), 150u);
  // Replaces [100, 300) whole, trimmed at [400, 500).
  ASSERT_EQ(Put(q, 0, 50, 400, 100, Poison{400, 450}), Result::kQueued);
  EXPECT_EQ(q.segments(), 2u);
  ASSERT_EQ(Put(q, 0, 0, 60), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 500);
}

TEST_F(ReassemblyTest, RcvNxtJustBelowTwoToThe32) {
  isn_ = 0xffffffffu;  // stream byte 1 has sequence number 0
  ReassemblyQueue q(Opts(10000, 8));
  ASSERT_EQ(Put(q, 0, 1, 10), Result::kQueued);
  ExpectNothingToPop(q, 0);
  ASSERT_EQ(Put(q, 0, 0, 1), Result::kQueued);
  uint64_t rcv_nxt = 0;
  ExpectPop(q, &rcv_nxt, 11);
}

// ---------------------------------------------------------------------------------------------
// SACK blocks (RFC 2018 §4)

// RFC 2018 §7 (SACK option examples), case 3: eight 500-byte segments from 5000, the 2nd, 4th,
// 6th and 8th lost; three blocks fit beside the timestamps.
TEST_F(ReassemblyTest, Rfc2018ExampleCase3) {
  isn_ = 0;
  ReassemblyQueue q(Opts(1 << 20, 64));
  uint64_t rcv_nxt = 5000;
  ASSERT_EQ(Put(q, rcv_nxt, 5000, 500), Result::kQueued);
  ExpectPop(q, &rcv_nxt, 5500);
  EXPECT_TRUE(Sack(q, 5000, 3).empty());

  ASSERT_EQ(Put(q, rcv_nxt, 6000, 500), Result::kQueued);
  ExpectNothingToPop(q, rcv_nxt);
  EXPECT_EQ(Sack(q, 6000, 3), (std::vector{Block(6000, 6500)}));

  ASSERT_EQ(Put(q, rcv_nxt, 7000, 500), Result::kQueued);
  EXPECT_EQ(Sack(q, 7000, 3), (std::vector{Block(7000, 7500), Block(6000, 6500)}));

  ASSERT_EQ(Put(q, rcv_nxt, 8000, 500), Result::kQueued);
  EXPECT_EQ(Sack(q, 8000, 3),
            (std::vector{Block(8000, 8500), Block(7000, 7500), Block(6000, 6500)}));

  // "the 4th packet is received out of order ... only two SACK blocks to report"
  ASSERT_EQ(Put(q, rcv_nxt, 6500, 500), Result::kQueued);
  EXPECT_EQ(Sack(q, 6500, 3), (std::vector{Block(6000, 7500), Block(8000, 8500)}));

  // "the 2nd segment is received": ACK 7500, one block left.
  ASSERT_EQ(Put(q, rcv_nxt, 5500, 500), Result::kQueued);
  ExpectPop(q, &rcv_nxt, 7500);
  EXPECT_EQ(Sack(q, 5500, 3), (std::vector{Block(8000, 8500)}));
  q.Clear();
}

TEST_F(ReassemblyTest, SackBlocksAreLimitedToTheRoomGivenNewestFirst) {
  ReassemblyQueue q(Opts(1 << 20, 64));
  for (uint64_t at : {500, 100, 300, 900, 700}) ASSERT_EQ(Put(q, 0, at, 50), Result::kQueued);
  EXPECT_EQ(Sack(q, 700, 4),
            (std::vector{Block(700, 750), Block(900, 950), Block(300, 350), Block(100, 150)}));
  EXPECT_EQ(Sack(q, 700, 1), (std::vector{Block(700, 750)}));
  EXPECT_EQ(Sack(q, 700, 8).size(), 5u);
  std::vector<SackBlock> none;
  EXPECT_EQ(q.SackBlocks(none, At(700)), 0u);
  q.Clear();
}

TEST_F(ReassemblyTest, FirstSackBlockHoldsTheTriggeringSegmentEvenIfOlder) {
  ReassemblyQueue q(Opts(1 << 20, 64));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 300, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 500, 100), Result::kQueued);
  EXPECT_EQ(Sack(q, 150), (std::vector{Block(100, 200), Block(500, 600), Block(300, 400)}));
  EXPECT_EQ(Sack(q, 399), (std::vector{Block(300, 400), Block(500, 600), Block(100, 200)}));
  q.Clear();
}

TEST_F(ReassemblyTest, DuplicateCountsAsTheMostRecentReceiptOfItsBlock) {
  ReassemblyQueue q(Opts(1 << 20, 64));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 300, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 500, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 120, 30), Result::kDuplicate);
  // The ACK after the duplicate reports [100, 200) first; the next one, triggered by a segment
  // the queue refused or delivered (in no block), repeats it first too.
  EXPECT_EQ(Sack(q, 120), (std::vector{Block(100, 200), Block(500, 600), Block(300, 400)}));
  EXPECT_EQ(Sack(q, 0), (std::vector{Block(100, 200), Block(500, 600), Block(300, 400)}));
  q.Clear();
}

TEST_F(ReassemblyTest, ContiguousSegmentsMakeOneBlockAsRecentAsItsNewestPart) {
  ReassemblyQueue q(Opts(1 << 20, 64));
  ASSERT_EQ(Put(q, 0, 100, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 500, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 200, 100), Result::kQueued);
  ASSERT_EQ(Put(q, 0, 800, 100), Result::kQueued);
  EXPECT_EQ(q.segments(), 4u);
  EXPECT_EQ(Sack(q, 0), (std::vector{Block(800, 900), Block(100, 300), Block(500, 600)}));
  EXPECT_EQ(Sack(q, 150), (std::vector{Block(100, 300), Block(800, 900), Block(500, 600)}));
  q.Clear();
}

// ---------------------------------------------------------------------------------------------
// Lifetime and the mbuf segment limit

TEST_F(ReassemblyTest, ClearFreesEverything) {
  ReassemblyQueue q(Opts(1 << 20, 64));
  for (uint64_t at = 100; at < 2000; at += 200) ASSERT_EQ(Put(q, 0, at, 150, 40), Result::kQueued);
  ASSERT_GT(InUse(), 0u);
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(InUse(), 0u);
  ASSERT_EQ(Put(q, 0, 100, 10), Result::kQueued) << "usable after Clear";
}

TEST_F(ReassemblyTest, DestructorFreesEverything) {
  {
    ReassemblyQueue q(Opts(1 << 20, 64));
    for (uint64_t at = 100; at < 2000; at += 200) {
      ASSERT_EQ(Put(q, 0, at, 150, 40), Result::kQueued);
    }
    ASSERT_GT(InUse(), 0u);
  }
  EXPECT_EQ(InUse(), 0u);
}

TEST_F(ReassemblyTest, PopStopsLinkingBeforeTheMbufSegmentLimit) {
  // Two contiguous segments of 40,000 and 30,000 one-byte mbufs: together past nb_segs' limit.
  static_assert(40000 + 30000 > RTE_MBUF_MAX_NB_SEGS);
  rte_mempool* big = MakePool(70100, RTE_PKTMBUF_HEADROOM + 8);
  ASSERT_NE(big, nullptr);
  {
    ReassemblyQueue q(Opts(1 << 20, 4));
    ASSERT_EQ(q.Insert(At(0), At(0), Build(big, 0, std::vector<uint16_t>(40000, 1)), 40000),
              Result::kQueued);
    ASSERT_EQ(q.Insert(At(0), At(40000), Build(big, 40000, std::vector<uint16_t>(30000, 1)),
                       30000),
              Result::kQueued);
    Seq next = At(0);
    uint32_t bytes = 0;
    rte_mbuf* chain = q.PopInOrder(next, &bytes);
    EXPECT_EQ(bytes, 40000u);
    EXPECT_EQ(next, At(40000));
    EXPECT_TRUE(IsStream(chain, 0, 40000));
    rte_pktmbuf_free(chain);
    chain = q.PopInOrder(next, &bytes);
    EXPECT_EQ(bytes, 30000u);
    EXPECT_EQ(next, At(70000));
    EXPECT_TRUE(IsStream(chain, 40000, 30000));
    rte_pktmbuf_free(chain);
    EXPECT_EQ(q.PopInOrder(next, &bytes), nullptr);
  }
  EXPECT_EQ(rte_mempool_in_use_count(big), 0u);
  rte_mempool_free(big);
}

// ---------------------------------------------------------------------------------------------
// Seeded random runs

// What the receiver holds: which stream bytes have arrived.
struct Model {
  explicit Model(uint64_t length) : received(length, false) {}
  std::vector<bool> received;

  // Runs of received bytes at or above `from`.
  std::vector<std::pair<uint64_t, uint64_t>> Runs(uint64_t from) const {
    std::vector<std::pair<uint64_t, uint64_t>> runs;
    for (uint64_t i = from; i < received.size();) {
      if (!received[i]) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < received.size() && received[j]) ++j;
      runs.emplace_back(i, j);
      i = j;
    }
    return runs;
  }
};

struct Piece {
  uint64_t offset;
  uint32_t length;
};

// A random segmentation of [from, to) plus `extra` random overlapping pieces, shuffled.
std::vector<Piece> Pieces(std::mt19937& rng, uint64_t from, uint64_t to, int extra) {
  std::vector<Piece> pieces;
  for (uint64_t at = from; at < to;) {
    const uint32_t n = static_cast<uint32_t>(
        std::min<uint64_t>(to - at, std::uniform_int_distribution<uint32_t>(1, 400)(rng)));
    pieces.push_back({at, n});
    at += n;
  }
  for (int k = 0; k < extra; ++k) {
    const uint64_t a = std::uniform_int_distribution<uint64_t>(from, to - 1)(rng);
    const uint64_t b = std::uniform_int_distribution<uint64_t>(a + 1, std::min(to, a + 600))(rng);
    pieces.push_back({a, static_cast<uint32_t>(b - a)});
  }
  std::shuffle(pieces.begin(), pieces.end(), rng);
  return pieces;
}

class ReassemblyRandomTest : public ReassemblyTest {
 protected:
  rte_mbuf* RandomChain(std::mt19937& rng, const Piece& p) {
    std::vector<uint16_t> sizes;
    for (uint32_t left = p.length; left > 0;) {
      const uint16_t n = static_cast<uint16_t>(
          std::min<uint32_t>(left, std::uniform_int_distribution<uint32_t>(1, 100)(rng)));
      sizes.push_back(n);
      left -= n;
    }
    return Build(pool_, p.offset, sizes);
  }

  uint64_t RandomIsn(std::mt19937& rng, int trial, uint64_t length) {
    // Half the trials put the stream across 2^32.
    if (trial % 2 == 0) return std::uniform_int_distribution<uint32_t>()(rng);
    return (uint64_t{1} << 32) - std::uniform_int_distribution<uint64_t>(0, length)(rng);
  }

  // Pops whatever continues the stream, checks it and frees it.
  void Drain(ReassemblyQueue& q, uint64_t* rcv_nxt) {
    for (;;) {
      Seq next = At(*rcv_nxt);
      uint32_t bytes = 0;
      rte_mbuf* chain = q.PopInOrder(next, &bytes);
      if (chain == nullptr) return;
      ASSERT_TRUE(IsStream(chain, *rcv_nxt, bytes));
      ASSERT_EQ(next, At(*rcv_nxt + bytes));
      rte_pktmbuf_free(chain);
      *rcv_nxt += bytes;
    }
  }

  // SACK blocks are disjoint, above RCV.NXT and account for every queued byte.
  void CheckBlocks(const ReassemblyQueue& q, uint64_t rcv_nxt, uint64_t most_recent) {
    std::vector<SackBlock> blocks = Sack(q, most_recent, 1000);
    uint64_t total = 0;
    for (const SackBlock& b : blocks) {
      ASSERT_GE(b.left, At(rcv_nxt));
      ASSERT_LT(b.left, b.right);
      total += static_cast<uint32_t>(b.right - b.left);
    }
    ASSERT_EQ(total, q.bytes());
    std::sort(blocks.begin(), blocks.end(),
              [](const SackBlock& a, const SackBlock& b) { return a.left < b.left; });
    for (size_t k = 1; k < blocks.size(); ++k) ASSERT_LT(blocks[k - 1].right, blocks[k].left);
  }
};

TEST_F(ReassemblyRandomTest, ShuffledOverlappingSegmentsReassembleExactly) {
  std::mt19937 rng(20240601);
  for (int trial = 0; trial < 1000; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const uint64_t length = std::uniform_int_distribution<uint64_t>(1, 3000)(rng);
    isn_ = RandomIsn(rng, trial, length);
    const bool pop_each_time = rng() % 2 == 0;  // as the TCB does, or let chains accumulate
    ReassemblyQueue q(Opts(1 << 20, 1000));
    Model model(length);
    uint64_t rcv_nxt = 0;
    for (const Piece& p : Pieces(rng, 0, length, std::uniform_int_distribution<int>(0, 12)(rng))) {
      bool adds = false;
      for (uint64_t i = std::max(p.offset, rcv_nxt); i < p.offset + p.length; ++i) {
        adds |= !model.received[i];
        model.received[i] = true;
      }
      const Result r = q.Insert(At(rcv_nxt), At(p.offset), RandomChain(rng, p), p.length);
      ASSERT_EQ(r, adds ? Result::kQueued : Result::kDuplicate)
          << "piece [" << p.offset << ", " << p.offset + p.length << ")";
      // Exactly the received bytes above RCV.NXT are queued, as these blocks.
      std::vector<SackBlock> want;
      for (auto [a, b] : model.Runs(rcv_nxt)) want.push_back(Block(a, b));
      std::vector<SackBlock> got = Sack(q, p.offset + p.length - 1, 1000);
      ASSERT_NO_FATAL_FAILURE(CheckBlocks(q, rcv_nxt, p.offset + p.length - 1));
      // RFC 2018 §4: the first block holds the segment that triggered the ACK.
      if (p.offset + p.length - 1 >= rcv_nxt) {
        ASSERT_FALSE(got.empty());
        ASSERT_TRUE(InWindow(At(p.offset + p.length - 1), got[0].left, got[0].right));
      }
      std::sort(got.begin(), got.end(),
                [](const SackBlock& a, const SackBlock& b) { return a.left < b.left; });
      ASSERT_EQ(got, want);
      if (pop_each_time) {
        ASSERT_NO_FATAL_FAILURE(Drain(q, &rcv_nxt));
      }
    }
    ASSERT_NO_FATAL_FAILURE(Drain(q, &rcv_nxt));
    ASSERT_EQ(rcv_nxt, length);
    ASSERT_TRUE(q.empty());
    ASSERT_EQ(InUse(), 0u);
    inserted_.clear();
  }
}

// Tight bounds: pieces are refused and queued data reneged on; a sender that keeps resending
// what RCV.NXT has not passed still gets the whole stream through, exactly.
TEST_F(ReassemblyRandomTest, TightBoundsStillDeliverEverythingExactly) {
  std::mt19937 rng(7);
  int refused = 0;
  int reneged = 0;
  for (int trial = 0; trial < 300; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const uint64_t length = std::uniform_int_distribution<uint64_t>(1, 3000)(rng);
    isn_ = RandomIsn(rng, trial, length);
    const uint16_t max_segments = std::uniform_int_distribution<uint16_t>(1, 6)(rng);
    const uint32_t max_bytes = std::uniform_int_distribution<uint32_t>(1, 1500)(rng);
    ReassemblyQueue q(Opts(max_bytes, max_segments));
    uint64_t rcv_nxt = 0;
    std::vector<Piece> pending;
    for (int round = 0; rcv_nxt < length; ++round) {
      ASSERT_LT(round, 100000) << "no progress";
      if (pending.empty()) {
        pending = Pieces(rng, rcv_nxt, length, std::uniform_int_distribution<int>(0, 6)(rng));
      }
      const Piece p = pending.back();
      pending.pop_back();
      // Data at RCV.NXT is refused only when one slot is all there is and data already queued
      // at RCV.NXT (not yet popped) fills it.
      const std::vector<SackBlock> first = Sack(q, rcv_nxt, 1);
      const bool rcv_nxt_queued = !first.empty() && first[0].left == At(rcv_nxt);
      const Result r = q.Insert(At(rcv_nxt), At(p.offset), RandomChain(rng, p), p.length);
      refused += r == Result::kDroppedFull;
      reneged += r == Result::kQueuedAfterReneging;
      if (r == Result::kDroppedFull && p.offset <= rcv_nxt) {
        ASSERT_TRUE(rcv_nxt_queued && max_segments == 1) << "data at RCV.NXT refused";
      }
      ASSERT_LE(q.segments(), max_segments);
      // Only data at RCV.NXT may take the queue past max_bytes, until it is popped.
      if (p.offset > rcv_nxt) {
        ASSERT_LE(q.bytes(), max_bytes);
      }
      ASSERT_NO_FATAL_FAILURE(CheckBlocks(q, rcv_nxt, p.offset));
      if (rng() % 4 != 0) {
        ASSERT_NO_FATAL_FAILURE(Drain(q, &rcv_nxt));
      }
      if (q.bytes() > max_bytes) {
        ASSERT_NO_FATAL_FAILURE(Drain(q, &rcv_nxt));
      }
      ASSERT_LE(q.bytes(), max_bytes);
    }
    ASSERT_TRUE(q.empty());
    ASSERT_EQ(InUse(), 0u);
    inserted_.clear();
  }
  EXPECT_GT(refused, 100) << "the bounds were not exercised";
  EXPECT_GT(reneged, 10) << "reneging was not exercised";
}

}  // namespace
}  // namespace ferry::tcp
