// SendQueue on real mbufs (EAL without hugepages, through tests/unit/eal_main.cc). Byte i of
// every test stream is (i * 13 + 5) & 0xff, so any misplaced, lost or duplicated byte shows.
// Zero copy is checked mbuf by mbuf. Every mbuf the tests read is one they built (a "data
// mbuf"), or an indirect mbuf whose parent is one, and its data pointer lies inside that
// parent's buffer. Each test ends with every pool's in-use count back at 0 (nothing leaks;
// the pools have no per-lcore cache, so the count is exact).
#include "tcp/send_queue.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::tcp {
namespace {

constexpr uint8_t StreamByte(uint64_t i) { return static_cast<uint8_t>((i * 13 + 5) & 0xff); }

SendQueue::Options Opts(uint32_t max_bytes, uint32_t max_entries = 64) {
  SendQueue::Options o;
  o.max_bytes = max_bytes;
  o.max_entries = max_entries;
  return o;
}

rte_mbuf* Parent(const rte_mbuf* m) { return rte_mbuf_from_indirect(const_cast<rte_mbuf*>(m)); }

uint16_t Refcnt(const rte_mbuf* m) { return rte_mbuf_refcnt_read(m); }

class SendQueueTest : public testing::Test {
 protected:
  void SetUp() override {
    data_pool_ = MakePool(4095, RTE_PKTMBUF_HEADROOM + 256);
    ASSERT_NE(data_pool_, nullptr);
    indirect_pool_ = MakePool(4095, 0);
    ASSERT_NE(indirect_pool_, nullptr);
  }

  void TearDown() override {
    for (rte_mempool* pool : {data_pool_, indirect_pool_}) {
      if (pool == nullptr) continue;
      EXPECT_EQ(rte_mempool_in_use_count(pool), 0u) << "mbufs leaked from " << pool->name;
      rte_mempool_free(pool);
    }
  }

  // No per-lcore cache, so the in-use count is exact.
  static rte_mempool* MakePool(unsigned size, uint16_t data_room) {
    static int serial = 0;
    const std::string name = "sendq" + std::to_string(serial++);
    return rte_pktmbuf_pool_create(name.c_str(), size, 0, 0, data_room, SOCKET_ID_ANY);
  }

  unsigned DataInUse() const { return rte_mempool_in_use_count(data_pool_); }
  unsigned IndirectInUse() const { return rte_mempool_in_use_count(indirect_pool_); }

  Seq At(uint64_t offset) const { return Seq(static_cast<uint32_t>(isn_ + offset)); }

  // A chain of data mbufs holding stream bytes [offset, offset + sum(sizes)), one per size
  // (0 allowed), flagged as a NIC would flag them on receive.
  rte_mbuf* Build(uint64_t offset, const std::vector<uint16_t>& sizes) {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    uint64_t at = offset;
    for (uint16_t size : sizes) {
      rte_mbuf* m = rte_pktmbuf_alloc(data_pool_);
      auto* data = m == nullptr ? nullptr : rte_pktmbuf_mtod(m, uint8_t*);
      if (data == nullptr || rte_pktmbuf_append(m, size) == nullptr) {
        ADD_FAILURE() << "cannot build a " << size << "-byte mbuf";
        rte_pktmbuf_free(m);
        rte_pktmbuf_free(head);
        return nullptr;
      }
      for (uint16_t k = 0; k < size; ++k, ++at) data[k] = StreamByte(at);
      m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;  // as received
      data_mbufs_.insert(m);
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

  static uint32_t Sum(const std::vector<uint16_t>& sizes) {
    uint32_t n = 0;
    for (uint16_t s : sizes) n += s;
    return n;
  }

  // `m` holds no copied byte: it is a data mbuf, or an indirect mbuf on one whose data lies in
  // that mbuf's buffer.
  testing::AssertionResult Shares(const rte_mbuf* m) {
    if (data_mbufs_.count(m) != 0) return testing::AssertionSuccess();
    if (RTE_MBUF_DIRECT(m)) return testing::AssertionFailure() << "a direct mbuf not built here";
    const rte_mbuf* parent = Parent(m);
    if (data_mbufs_.count(parent) == 0 || !RTE_MBUF_DIRECT(parent)) {
      return testing::AssertionFailure() << "indirect mbuf on a foreign or indirect parent";
    }
    const auto* data = rte_pktmbuf_mtod(m, const char*);
    const auto* buf = static_cast<const char*>(parent->buf_addr);
    if (m->buf_addr != parent->buf_addr || data < buf ||
        data + m->data_len > buf + parent->buf_len) {
      return testing::AssertionFailure() << "data outside its parent's buffer";
    }
    return testing::AssertionSuccess();
  }

  // `chain` is a well-formed chain of exactly the stream bytes [offset, offset + length), with
  // no copied byte.
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
      if (testing::AssertionResult shares = Shares(m); !shares) return shares;
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

  // A stream chain whose every mbuf is an indirect mbuf from `pool` (a slice), no segment
  // empty, no offload flag set.
  testing::AssertionResult IsSlice(const rte_mbuf* chain, uint64_t offset, uint64_t length,
                                   const rte_mempool* pool = nullptr) {
    if (testing::AssertionResult stream = IsStream(chain, offset, length); !stream) return stream;
    for (const rte_mbuf* m = chain; m != nullptr; m = m->next) {
      if (RTE_MBUF_DIRECT(m)) return testing::AssertionFailure() << "direct mbuf in a slice";
      if (m->pool != (pool != nullptr ? pool : indirect_pool_)) {
        return testing::AssertionFailure() << "slice mbuf from the wrong pool";
      }
      if (m->data_len == 0) return testing::AssertionFailure() << "empty slice segment";
      if (m->ol_flags != RTE_MBUF_F_INDIRECT) {
        return testing::AssertionFailure() << "ol_flags " << m->ol_flags;
      }
    }
    return testing::AssertionSuccess();
  }

  // Slices [offset, offset + length) and expects all of it back as a slice.
  rte_mbuf* ExpectSlice(SendQueue& q, uint64_t offset, uint32_t length,
                        uint16_t max_segments = 64) {
    SendQueue::SliceResult r = q.Slice(At(offset), length, max_segments);
    EXPECT_EQ(r.length, length);
    EXPECT_TRUE(IsSlice(r.chain, offset, length));
    return r.chain;
  }

  // The queue holds exactly the stream bytes [from, to).
  void ExpectHolds(SendQueue& q, uint64_t from, uint64_t to) {
    EXPECT_EQ(q.front_seq(), At(from));
    EXPECT_EQ(q.end_seq(), At(to));
    EXPECT_EQ(q.bytes(), to - from);
    if (to > from) rte_pktmbuf_free(ExpectSlice(q, from, static_cast<uint32_t>(to - from)));
  }

  // Every data mbuf's reference count.
  std::map<const rte_mbuf*, uint16_t> Refcounts() const {
    std::map<const rte_mbuf*, uint16_t> out;
    for (const rte_mbuf* m : data_mbufs_) out[m] = Refcnt(m);
    return out;
  }

  rte_mempool* data_pool_ = nullptr;
  rte_mempool* indirect_pool_ = nullptr;
  uint64_t isn_ = 1000;
  std::unordered_set<const rte_mbuf*> data_mbufs_;
};

// Layouts of odd sizes, with empty mbufs in the middle, at the start and at the end.
const std::vector<std::vector<uint16_t>> kLayouts = {
    {7, 1, 0, 13, 5, 1, 9}, {0, 3, 17}, {36}, {1, 1, 1, 1}, {11, 23, 0}};

// ---------------------------------------------------------------------------------------------
// Append: whole chains, and splits at the cap without copying

TEST_F(SendQueueTest, StartsEmpty) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.space(), 100u);
  EXPECT_EQ(q.entries(), 0u);
  EXPECT_EQ(q.front_seq(), At(0));
  EXPECT_EQ(q.end_seq(), At(0));
  EXPECT_EQ(q.Acknowledge(At(10)), 0u);
  EXPECT_EQ(q.front_seq(), At(0));
}

TEST_F(SendQueueTest, AppendTakesChainsThatFitAsTheyAre) {
  SendQueue q(Opts(200), indirect_pool_);
  q.Reset(At(0));
  uint64_t end = 0;
  unsigned mbufs = 0;
  for (const auto& layout : kLayouts) {
    rte_mbuf* chain = Build(end, layout);
    EXPECT_EQ(q.Append(chain), Sum(layout));
    EXPECT_EQ(chain, nullptr);
    end += Sum(layout);
    mbufs += static_cast<unsigned>(layout.size());
  }
  EXPECT_EQ(q.entries(), kLayouts.size());
  EXPECT_EQ(q.space(), 200u - end);
  EXPECT_EQ(DataInUse(), mbufs);
  EXPECT_EQ(IndirectInUse(), 0u) << "no split, nothing allocated";
  for (const auto& [m, refcnt] : Refcounts()) EXPECT_EQ(refcnt, 1) << "nothing is shared yet";
  ExpectHolds(q, 0, end);
}

TEST_F(SendQueueTest, AppendOfAnEmptyChainFreesIt) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {0, 0});
  EXPECT_EQ(q.Append(chain), 0u);
  EXPECT_EQ(chain, nullptr);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(DataInUse(), 0u);
  rte_mbuf* none = nullptr;
  EXPECT_EQ(q.Append(none), 0u);
}

// For every cap inside every layout: the queue holds exactly the first `cap` bytes, and the
// remainder exactly the rest. A cap inside an mbuf costs one indirect mbuf, which becomes
// the remainder's head on the same buffer; a cap between mbufs costs nothing.
TEST_F(SendQueueTest, AppendSplitsExactlyAtEveryCap) {
  for (const auto& layout : kLayouts) {
    const uint32_t total = Sum(layout);
    for (uint32_t cap = 1; cap < total; ++cap) {
      SCOPED_TRACE("layout of " + std::to_string(layout.size()) + ", cap " + std::to_string(cap));
      SendQueue q(Opts(cap), indirect_pool_);
      q.Reset(At(0));
      rte_mbuf* chain = Build(0, layout);
      std::vector<rte_mbuf*> mbufs;
      for (rte_mbuf* m = chain; m != nullptr; m = m->next) mbufs.push_back(m);
      // The data mbuf holding byte `cap` (mbufs[h]), and whether the cap falls inside it.
      size_t h = 0;
      uint32_t before = 0;
      while (before + layout[h] <= cap) before += layout[h++];
      rte_mbuf* const holder = mbufs[h];
      const bool inside = before < cap;

      ASSERT_EQ(q.Append(chain), cap);
      ASSERT_TRUE(IsStream(chain, cap, total - cap));
      EXPECT_EQ(q.bytes(), cap);
      EXPECT_EQ(q.space(), 0u);
      if (inside) {
        EXPECT_EQ(IndirectInUse(), 1u);
        EXPECT_FALSE(RTE_MBUF_DIRECT(chain));
        EXPECT_EQ(Parent(chain), holder);
        EXPECT_EQ(Refcnt(holder), 2) << "held by the queue and by the remainder";
      } else {
        EXPECT_EQ(IndirectInUse(), 0u);
        EXPECT_EQ(chain, holder);
      }
      ExpectHolds(q, 0, cap);
      EXPECT_EQ(DataInUse(), layout.size()) << "nothing copied, nothing freed";

      EXPECT_EQ(q.Acknowledge(At(cap)), cap);
      EXPECT_EQ(DataInUse(), layout.size() - h)
          << "the acknowledged mbufs went back to the pool, except one the remainder shares";
      rte_pktmbuf_free(chain);
      ASSERT_EQ(DataInUse(), 0u);
      ASSERT_EQ(IndirectInUse(), 0u);
    }
  }
}

// The proxy appends what is left once ACKs make room: the stream goes through a small queue
// in pieces, split again and again (splits of indirect remainders included), and arrives whole.
TEST_F(SendQueueTest, RemaindersAppendedLaterContinueTheStream) {
  for (uint32_t cap : {1u, 2u, 5u, 8u, 13u, 35u}) {
    SCOPED_TRACE("cap " + std::to_string(cap));
    SendQueue q(Opts(cap), indirect_pool_);
    q.Reset(At(0));
    uint64_t end = 0;
    for (const auto& layout : kLayouts) {
      rte_mbuf* chain = Build(end, layout);
      const uint64_t chain_end = end + Sum(layout);
      while (chain != nullptr) {
        const uint32_t took = q.Append(chain);
        EXPECT_EQ(took, std::min<uint64_t>(cap, chain_end - end));
        end += took;
        if (chain != nullptr) {
          ASSERT_TRUE(IsStream(chain, end, chain_end - end));
        }
        ExpectHolds(q, end - took, end);
        EXPECT_EQ(q.Acknowledge(At(end)), took);
      }
    }
    EXPECT_EQ(DataInUse(), 0u);
    EXPECT_EQ(IndirectInUse(), 0u);
  }
}

TEST_F(SendQueueTest, AppendFillsTheRoomLeftBesideQueuedData) {
  SendQueue q(Opts(50), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* first = Build(0, {20, 10});
  ASSERT_EQ(q.Append(first), 30u);
  rte_mbuf* second = Build(30, {15, 15});
  EXPECT_EQ(q.Append(second), 20u);
  EXPECT_TRUE(IsStream(second, 50, 10));
  EXPECT_EQ(second->nb_segs, 1);
  ExpectHolds(q, 0, 50);
  EXPECT_EQ(q.Append(second), 0u) << "full";
  EXPECT_EQ(q.Acknowledge(At(25)), 25u);
  EXPECT_EQ(q.Append(second), 10u);
  EXPECT_EQ(second, nullptr);
  ExpectHolds(q, 25, 60);
}

TEST_F(SendQueueTest, WithEveryEntryInUseWholeChainsAreLinkedOntoTheLast) {
  SendQueue q(Opts(100, 2), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* a = Build(0, {10});
  rte_mbuf* b = Build(10, {10});
  ASSERT_EQ(q.Append(a), 10u);
  ASSERT_EQ(q.Append(b), 10u);
  rte_mbuf* c = Build(20, {5, 5});
  EXPECT_EQ(q.Append(c), 10u) << "linked onto the last entry's chain";
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(q.entries(), 2u);
  EXPECT_EQ(q.bytes(), 30u);
  EXPECT_EQ(q.mbufs(), 4u);
  // A chain that does not fit whole is not split when no entry is free.
  rte_mbuf* d = Build(30, {40, 40});
  rte_mbuf* const d_head = d;
  EXPECT_EQ(q.Append(d), 0u);
  EXPECT_EQ(d, d_head);
  EXPECT_TRUE(IsStream(d, 30, 80));
  EXPECT_EQ(IndirectInUse(), 0u);
  rte_pktmbuf_free(d);
  SendQueue::SliceResult s = q.Slice(At(5), 25, 8);
  EXPECT_EQ(s.length, 25u);
  EXPECT_TRUE(IsStream(s.chain, 5, 25));
  rte_pktmbuf_free(s.chain);
  EXPECT_EQ(q.Acknowledge(At(25)), 25u);
  EXPECT_EQ(q.entries(), 1u);
  EXPECT_EQ(q.Acknowledge(At(30)), 5u);
  EXPECT_TRUE(q.empty());
}

TEST_F(SendQueueTest, AppendTakesNothingWithoutRoom) {
  SendQueue full(Opts(10), indirect_pool_);
  full.Reset(At(0));
  rte_mbuf* d = Build(0, {10});
  ASSERT_EQ(full.Append(d), 10u);
  rte_mbuf* e = Build(10, {3, 3});
  EXPECT_EQ(full.Append(e), 0u) << "no byte of room";
  EXPECT_TRUE(IsStream(e, 10, 6));
  EXPECT_EQ(IndirectInUse(), 0u);
  rte_pktmbuf_free(e);
}

// Without an indirect mbuf for the split, the queue takes whole mbufs only, or nothing.
TEST_F(SendQueueTest, SplitWithoutAnIndirectMbufTakesWholeMbufsOnly) {
  rte_mempool* tiny = MakePool(2, 0);
  ASSERT_NE(tiny, nullptr);
  rte_mbuf* held[2] = {};
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(tiny, held, 2), 0);  // the pool is empty
  {
    SendQueue q(Opts(25), tiny);
    q.Reset(At(0));
    rte_mbuf* chain = Build(0, {10, 10, 10});
    EXPECT_EQ(q.Append(chain), 20u) << "the cap (25) falls in the third mbuf";
    EXPECT_TRUE(IsStream(chain, 20, 10));
    EXPECT_TRUE(RTE_MBUF_DIRECT(chain));
    EXPECT_EQ(q.end_seq(), At(20));

    rte_pktmbuf_free_bulk(held, 2);
    SendQueue::SliceResult r = q.Slice(At(0), 20, 8);
    EXPECT_TRUE(IsSlice(r.chain, 0, 20, tiny));
    rte_pktmbuf_free(r.chain);
    ASSERT_EQ(rte_pktmbuf_alloc_bulk(tiny, held, 2), 0);

    EXPECT_EQ(q.Acknowledge(At(20)), 20u);
    EXPECT_EQ(q.Append(chain), 10u) << "fits whole: no split needed";
    EXPECT_EQ(chain, nullptr);
    EXPECT_EQ(q.Acknowledge(At(30)), 10u);

    rte_mbuf* big = Build(30, {40});
    EXPECT_EQ(q.Append(big), 0u) << "the cap falls in the first mbuf";
    EXPECT_TRUE(IsStream(big, 30, 40));
    rte_pktmbuf_free(big);
    rte_mbuf* lead = Build(70, {0, 0, 40});
    EXPECT_EQ(q.Append(lead), 0u) << "empty mbufs before the cap are no progress";
    EXPECT_TRUE(IsStream(lead, 70, 40));
    EXPECT_EQ(lead->nb_segs, 3);
    rte_pktmbuf_free(lead);
    EXPECT_TRUE(q.empty());
  }
  rte_pktmbuf_free_bulk(held, 2);
  EXPECT_EQ(rte_mempool_in_use_count(tiny), 0u);
  rte_mempool_free(tiny);
}

// A remainder's head is indirect. Splitting it again attaches the new remainder to the direct
// mbuf that embeds the bytes (DPDK attaches to the parent, never to an indirect mbuf).
TEST_F(SendQueueTest, SplittingAnIndirectMbufAttachesToItsDirectParent) {
  SendQueue q(Opts(10), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {40});
  rte_mbuf* const data = chain;
  ASSERT_EQ(q.Append(chain), 10u);
  rte_mbuf* const first_remainder = chain;
  ASSERT_FALSE(RTE_MBUF_DIRECT(first_remainder));
  EXPECT_EQ(Refcnt(data), 2) << "the queue and the remainder";
  ASSERT_EQ(q.Acknowledge(At(10)), 10u);
  EXPECT_EQ(Refcnt(data), 1) << "the remainder alone";
  EXPECT_EQ(DataInUse(), 1u);
  ASSERT_EQ(q.Append(chain), 10u);  // the queue now holds the indirect first remainder
  ASSERT_TRUE(IsStream(chain, 20, 20));
  EXPECT_NE(chain, first_remainder);
  EXPECT_FALSE(RTE_MBUF_DIRECT(chain));
  EXPECT_EQ(Parent(chain), data);
  EXPECT_EQ(Refcnt(data), 2) << "the queue's indirect mbuf and the new remainder";
  EXPECT_EQ(Refcnt(first_remainder), 1) << "nothing attaches to an indirect mbuf";

  rte_mbuf* s = ExpectSlice(q, 12, 5);
  EXPECT_EQ(Parent(s), data) << "a slice of an indirect mbuf attaches to the direct one";
  EXPECT_EQ(Refcnt(data), 3);
  EXPECT_EQ(Refcnt(first_remainder), 1);
  rte_pktmbuf_free(s);
  ExpectHolds(q, 10, 20);
  EXPECT_EQ(q.Acknowledge(At(20)), 10u);
  EXPECT_EQ(Refcnt(data), 1) << "the remainder alone";
  EXPECT_EQ(IndirectInUse(), 1u);
  EXPECT_EQ(DataInUse(), 1u);
  rte_pktmbuf_free(chain);
}

// ---------------------------------------------------------------------------------------------
// Slice: indirect mbufs over the queued bytes

// Every range of a stream spread over three chains, after 0 to 4 bytes are acknowledged (so
// the first mbuf is also seen cut by rte_pktmbuf_adj): the slice reads the stream, uses one
// indirect mbuf per non-empty data mbuf it touches, and holds one reference on each.
TEST_F(SendQueueTest, SliceOfEveryRangeReadsTheStreamWithoutCopying) {
  const std::vector<std::vector<uint16_t>> chains = {{5, 0, 11}, {1}, {17, 3, 0, 1}};
  for (uint32_t acked = 0; acked <= 4; ++acked) {
    SendQueue q(Opts(100), indirect_pool_);
    q.Reset(At(0));
    uint64_t total = 0;
    struct Span {
      const rte_mbuf* m;
      uint64_t start;
      uint64_t end;
    };
    std::vector<Span> spans;  // of the non-empty data mbufs
    for (const auto& layout : chains) {
      rte_mbuf* chain = Build(total, layout);
      for (const rte_mbuf* m = chain; m != nullptr; total += m->data_len, m = m->next) {
        if (m->data_len > 0) spans.push_back(Span{m, total, total + m->data_len});
      }
      ASSERT_EQ(q.Append(chain), Sum(layout));
    }
    ASSERT_EQ(q.Acknowledge(At(acked)), acked);
    const auto baseline = Refcounts();
    for (uint64_t from = acked; from < total; ++from) {
      for (uint64_t to = from + 1; to <= total; ++to) {
        SCOPED_TRACE("acked " + std::to_string(acked) + ", [" + std::to_string(from) + ", " +
                     std::to_string(to) + ")");
        SendQueue::SliceResult r = q.Slice(At(from), static_cast<uint32_t>(to - from), 64);
        ASSERT_EQ(r.length, to - from);
        ASSERT_TRUE(IsSlice(r.chain, from, to - from));
        std::map<const rte_mbuf*, uint16_t> refs;
        for (const rte_mbuf* s = r.chain; s != nullptr; s = s->next) ++refs[Parent(s)];
        int touched = 0;
        for (const Span& span : spans) {
          if (span.start < to && span.end > from) {
            ++touched;
            EXPECT_EQ(refs[span.m], 1);
          }
        }
        EXPECT_EQ(r.chain->nb_segs, touched);
        for (const auto& [m, refcnt] : Refcounts()) {
          EXPECT_EQ(refcnt, baseline.at(m) + (refs.count(m) != 0 ? refs[m] : 0));
        }
        rte_pktmbuf_free(r.chain);
        ASSERT_EQ(Refcounts(), baseline);
        ASSERT_EQ(IndirectInUse(), 0u);
      }
    }
  }
}

// The slice points into the queued buffer: a byte changed there shows through it. (Only this
// test writes into shared data, to prove there is no copy.)
TEST_F(SendQueueTest, SliceSharesTheQueuedBuffer) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {30, 30});
  rte_mbuf* const second = chain->next;
  ASSERT_EQ(q.Append(chain), 60u);
  rte_mbuf* s = ExpectSlice(q, 25, 20);
  ASSERT_EQ(s->nb_segs, 2);
  EXPECT_EQ(rte_pktmbuf_mtod(s->next, uint8_t*), rte_pktmbuf_mtod(second, uint8_t*));
  rte_pktmbuf_mtod(second, uint8_t*)[3] ^= 0xff;
  EXPECT_EQ(rte_pktmbuf_mtod(s->next, uint8_t*)[3], StreamByte(33) ^ 0xff);
  rte_pktmbuf_free(s);
}

TEST_F(SendQueueTest, SliceStopsAtMaxSegments) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {10, 0, 10, 10});
  ASSERT_EQ(q.Append(chain), 30u);
  chain = Build(30, {10, 10});
  ASSERT_EQ(q.Append(chain), 20u);

  SendQueue::SliceResult r = q.Slice(At(5), 40, 3);
  EXPECT_EQ(r.length, 25u) << "[5, 10), [10, 20), [20, 30): the empty mbuf costs nothing";
  EXPECT_TRUE(IsSlice(r.chain, 5, 25));
  EXPECT_EQ(r.chain->nb_segs, 3);
  rte_pktmbuf_free(r.chain);

  r = q.Slice(At(5), 40, 1);
  EXPECT_EQ(r.length, 5u);
  EXPECT_TRUE(IsSlice(r.chain, 5, 5));
  rte_pktmbuf_free(r.chain);

  r = q.Slice(At(12), 3, 1);
  EXPECT_EQ(r.length, 3u) << "fits in one segment";
  EXPECT_TRUE(IsSlice(r.chain, 12, 3));
  rte_pktmbuf_free(r.chain);

  r = q.Slice(At(0), 50, 5);
  EXPECT_EQ(r.length, 50u) << "exactly five segments";
  EXPECT_TRUE(IsSlice(r.chain, 0, 50));
  rte_pktmbuf_free(r.chain);
}

// New data goes out in order at SND.NXT while retransmissions come from the front and ACKs
// free it: every slice is right whatever the order.
TEST_F(SendQueueTest, SendRetransmitAndAcknowledgeInterleaved) {
  SendQueue q(Opts(1000), indirect_pool_);
  q.Reset(At(0));
  uint64_t end = 0;
  for (int i = 0; i < 20; ++i) {
    rte_mbuf* chain = Build(end, {7, 0, static_cast<uint16_t>(3 + i), 1});
    end += q.Append(chain);
    ASSERT_EQ(chain, nullptr);
  }
  uint64_t una = 0;
  for (uint64_t nxt = 0; nxt < end;) {
    const uint32_t mss = static_cast<uint32_t>(std::min<uint64_t>(9, end - nxt));
    rte_pktmbuf_free(ExpectSlice(q, nxt, mss));
    nxt += mss;
    if (nxt % 2 == 0) {  // retransmit the first bytes
      rte_pktmbuf_free(
          ExpectSlice(q, una, static_cast<uint32_t>(std::min<uint64_t>(4, end - una))));
    }
    if (nxt % 3 == 0) {  // acknowledge half of what is out
      const uint64_t ack = una + (nxt - una) / 2;
      EXPECT_EQ(q.Acknowledge(At(ack)), ack - una);
      una = ack;
    }
  }
  ExpectHolds(q, una, end);
}

TEST_F(SendQueueTest, SliceIsNullWhenTheIndirectPoolRunsDryAndHoldsNothing) {
  rte_mempool* small = MakePool(4, 0);
  ASSERT_NE(small, nullptr);
  {
    SendQueue q(Opts(100), small);
    q.Reset(At(0));
    rte_mbuf* chain = Build(0, {10, 10, 10, 10, 10});
    ASSERT_EQ(q.Append(chain), 50u);
    const auto baseline = Refcounts();

    SendQueue::SliceResult r = q.Slice(At(0), 50, 16);
    EXPECT_EQ(r.chain, nullptr) << "needs five, the pool has four";
    EXPECT_EQ(r.length, 0u);
    EXPECT_EQ(rte_mempool_in_use_count(small), 0u);
    EXPECT_EQ(Refcounts(), baseline) << "every reference taken was dropped";

    r = q.Slice(At(3), 35, 16);
    EXPECT_EQ(r.length, 35u) << "four segments";
    EXPECT_TRUE(IsSlice(r.chain, 3, 35, small));
    EXPECT_EQ(q.Slice(At(0), 1, 16).chain, nullptr) << "all four are out";
    rte_pktmbuf_free(r.chain);
    EXPECT_EQ(Refcounts(), baseline);

    r = q.Slice(At(0), 50, 4);
    EXPECT_EQ(r.length, 40u) << "max_segments within what the pool has";
    EXPECT_TRUE(IsSlice(r.chain, 0, 40, small));
    rte_pktmbuf_free(r.chain);
  }
  EXPECT_EQ(rte_mempool_in_use_count(small), 0u);
  rte_mempool_free(small);
}

// The indirect mbufs may come from the data's own pool.
TEST_F(SendQueueTest, OnePoolForDataAndIndirectMbufs) {
  {
    SendQueue q(Opts(25), data_pool_);
    q.Reset(At(0));
    rte_mbuf* chain = Build(0, {10, 10, 10});
    ASSERT_EQ(q.Append(chain), 25u);
    EXPECT_EQ(chain->pool, data_pool_);
    EXPECT_FALSE(RTE_MBUF_DIRECT(chain));
    SendQueue::SliceResult r = q.Slice(At(3), 20, 8);
    EXPECT_TRUE(IsSlice(r.chain, 3, 20, data_pool_));
    EXPECT_EQ(DataInUse(), 3u + 1u + 3u);
    EXPECT_EQ(q.Acknowledge(At(25)), 25u);
    EXPECT_TRUE(IsSlice(r.chain, 3, 20, data_pool_));
    rte_pktmbuf_free(r.chain);
    EXPECT_EQ(DataInUse(), 2u) << "the remainder and the data mbuf it shares";
    ASSERT_EQ(q.Append(chain), 5u);
  }
  EXPECT_EQ(DataInUse(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Acknowledge (RFC 9293 §3.10.7.4, fifth: SND.UNA advances, acknowledged data leaves the queue)

TEST_F(SendQueueTest, AcknowledgeInsideAnMbufCutsIt) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {10, 10});
  ASSERT_EQ(q.Append(chain), 20u);
  EXPECT_EQ(q.Acknowledge(At(3)), 3u);
  EXPECT_EQ(DataInUse(), 2u);
  ExpectHolds(q, 3, 20);
  EXPECT_EQ(q.space(), 83u);
  EXPECT_EQ(q.Acknowledge(At(9)), 6u);
  ExpectHolds(q, 9, 20);
  EXPECT_EQ(q.Acknowledge(At(10)), 1u);
  EXPECT_EQ(DataInUse(), 1u) << "the first mbuf is emptied and freed";
  ExpectHolds(q, 10, 20);
}

TEST_F(SendQueueTest, AcknowledgeAcrossMbufsAndChains) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  for (const auto& [offset, layout] : std::vector<std::pair<uint64_t, std::vector<uint16_t>>>{
           {0, {10, 10}}, {20, {5}}, {25, {0, 8, 7, 0}}, {40, {10}}}) {
    rte_mbuf* chain = Build(offset, layout);
    ASSERT_EQ(q.Append(chain), Sum(layout));
  }
  ASSERT_EQ(q.entries(), 4u);
  EXPECT_EQ(q.Acknowledge(At(10)), 10u) << "exactly one mbuf";
  EXPECT_EQ(DataInUse(), 7u);
  EXPECT_EQ(q.Acknowledge(At(27)), 17u) << "the rest of a chain, a whole chain, into a third";
  EXPECT_EQ(q.entries(), 2u);
  EXPECT_EQ(DataInUse(), 4u) << "the empty mbuf before [25, 33) went too; [25, 33) is cut";
  ExpectHolds(q, 27, 50);
  EXPECT_EQ(q.Acknowledge(At(40)), 13u) << "a chain ending in an empty mbuf, whole";
  EXPECT_EQ(q.entries(), 1u);
  EXPECT_EQ(DataInUse(), 1u);
  EXPECT_EQ(q.Acknowledge(At(50)), 10u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.front_seq(), At(50));
  EXPECT_EQ(q.space(), 100u);
  EXPECT_EQ(DataInUse(), 0u);
}

TEST_F(SendQueueTest, AcknowledgeOutsideTheQueue) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {10, 10});
  ASSERT_EQ(q.Append(chain), 20u);
  ASSERT_EQ(q.Acknowledge(At(5)), 5u);
  EXPECT_EQ(q.Acknowledge(At(5)), 0u) << "a duplicate ACK";
  EXPECT_EQ(q.Acknowledge(At(2)), 0u) << "an old ACK";
  EXPECT_EQ(q.Acknowledge(At(5) - 0x80000000u), 0u) << "2^31 behind";
  ExpectHolds(q, 5, 20);
  EXPECT_EQ(q.Acknowledge(At(21)), 15u) << "one past the data: the FIN's ACK";
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.front_seq(), At(20)) << "the FIN is not in the queue";
}

// The data mbuf goes back to its pool only when the queue and every slice have let go.
TEST_F(SendQueueTest, SliceOutlivesTheAcknowledgementOfItsBytes) {
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {10, 10, 10});
  rte_mbuf* const first = chain;
  ASSERT_EQ(q.Append(chain), 30u);
  rte_mbuf* whole = ExpectSlice(q, 0, 30);
  rte_mbuf* middle = ExpectSlice(q, 12, 6);
  EXPECT_EQ(Refcnt(first), 2);

  EXPECT_EQ(q.Acknowledge(At(15)), 15u) << "frees the first mbuf, cuts the second";
  EXPECT_EQ(DataInUse(), 3u) << "the first is still referenced by a slice";
  EXPECT_EQ(Refcnt(first), 1) << "by the slice alone";
  EXPECT_TRUE(IsSlice(whole, 0, 30));
  EXPECT_TRUE(IsSlice(middle, 12, 6)) << "the cut in the queue does not move the slice";
  ExpectHolds(q, 15, 30);

  EXPECT_EQ(q.Acknowledge(At(30)), 15u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(DataInUse(), 3u);
  EXPECT_TRUE(IsSlice(whole, 0, 30));
  rte_pktmbuf_free(whole);
  EXPECT_EQ(DataInUse(), 1u) << "only the second, which `middle` still holds";
  EXPECT_TRUE(IsSlice(middle, 12, 6));
  rte_pktmbuf_free(middle);
  EXPECT_EQ(DataInUse(), 0u);
  EXPECT_EQ(IndirectInUse(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Lifetime

TEST_F(SendQueueTest, ClearAndResetFreeEverything) {
  SendQueue q(Opts(100, 4), indirect_pool_);
  q.Reset(At(0));
  for (uint64_t at = 0; at < 40; at += 10) {
    rte_mbuf* chain = Build(at, {4, 6});
    ASSERT_EQ(q.Append(chain), 10u);
  }
  rte_mbuf* s = ExpectSlice(q, 30, 10);  // also leaves the slice cursor at the end
  q.Clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.front_seq(), At(0));
  EXPECT_EQ(q.end_seq(), At(0));
  EXPECT_EQ(DataInUse(), 2u) << "the slice's two";
  EXPECT_TRUE(IsSlice(s, 30, 10));
  rte_pktmbuf_free(s);

  rte_mbuf* chain = Build(500, {3, 3});
  ASSERT_EQ(q.Append(chain), 6u);
  q.Reset(At(500));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(DataInUse(), 0u);
  chain = Build(500, {5, 5});
  ASSERT_EQ(q.Append(chain), 10u);
  ExpectHolds(q, 500, 510);
  q.Clear();
}

TEST_F(SendQueueTest, SliceOutlivesTheQueue) {
  rte_mbuf* s = nullptr;
  rte_mbuf* remainder = Build(0, {10, 10});
  {
    SendQueue q(Opts(15), indirect_pool_);
    q.Reset(At(0));
    ASSERT_EQ(q.Append(remainder), 15u);
    s = ExpectSlice(q, 2, 13);
  }
  EXPECT_EQ(DataInUse(), 2u);
  EXPECT_TRUE(IsSlice(s, 2, 13));
  EXPECT_TRUE(IsStream(remainder, 15, 5));
  rte_pktmbuf_free(s);
  EXPECT_EQ(DataInUse(), 1u);
  rte_pktmbuf_free(remainder);
}

// The ring wraps around its entries many times.
TEST_F(SendQueueTest, RingOfEntriesWrapsAround) {
  SendQueue q(Opts(1000, 3), indirect_pool_);
  q.Reset(At(0));
  uint64_t end = 0;
  for (int i = 0; i < 20; ++i) {
    rte_mbuf* chain = Build(end, {static_cast<uint16_t>(1 + i % 4), 2});
    end += q.Append(chain);
    ASSERT_EQ(chain, nullptr);
    if (q.entries() == 3) {
      const uint32_t queued = q.bytes();
      EXPECT_EQ(q.Acknowledge(At(end - 2)), queued - 2);
      EXPECT_EQ(q.entries(), 1u);
    }
    ExpectHolds(q, static_cast<uint32_t>(q.front_seq() - At(0)), end);
  }
}

// ---------------------------------------------------------------------------------------------
// Wraparound (RFC 9293 §3.4: sequence arithmetic modulo 2^32)

TEST_F(SendQueueTest, StreamAcrossTwoToThe32) {
  isn_ = 0xffffffffu - 20;
  SendQueue q(Opts(100), indirect_pool_);
  q.Reset(At(0));
  rte_mbuf* chain = Build(0, {9, 9, 0, 9});
  ASSERT_EQ(q.Append(chain), 27u);
  chain = Build(27, {13});
  ASSERT_EQ(q.Append(chain), 13u);
  EXPECT_EQ(q.end_seq(), Seq(19));
  for (uint64_t from = 0; from < 40; ++from) {
    for (uint64_t to = from + 1; to <= 40; ++to) {
      rte_pktmbuf_free(ExpectSlice(q, from, static_cast<uint32_t>(to - from)));
    }
  }
  EXPECT_EQ(q.Acknowledge(At(18)), 18u);
  EXPECT_EQ(q.Acknowledge(At(25)), 7u) << "across 2^32";
  EXPECT_EQ(q.front_seq(), Seq(4));
  ExpectHolds(q, 25, 40);
  EXPECT_EQ(q.Acknowledge(Seq(0xfffffff0u)), 0u) << "behind SND.UNA across 2^32";
  EXPECT_EQ(q.Acknowledge(At(40)), 15u);
  EXPECT_EQ(DataInUse(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Seeded random runs: appends with remainders, slices held across ACKs, ACKs anywhere

TEST_F(SendQueueTest, RandomOperationsKeepTheStreamExact) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto uniform = [&rng](uint64_t lo, uint64_t hi) {  // [lo, hi]
      return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
    };
    isn_ = 0xffffffffu - static_cast<uint32_t>(uniform(0, 3000));
    const uint32_t cap = static_cast<uint32_t>(uniform(1, 200));
    const uint32_t max_entries = static_cast<uint32_t>(uniform(1, 6));
    struct Held {
      rte_mbuf* chain;
      uint64_t offset;
      uint32_t length;
    };
    std::vector<Held> held;
    rte_mbuf* pending = nullptr;  // the application's remainder: [end, produced)
    uint64_t produced = 0;
    uint64_t una = 0;
    uint64_t end = 0;
    uint64_t nxt = 0;
    {
      SendQueue q(Opts(cap, max_entries), indirect_pool_);
      q.Reset(At(0));
      for (int step = 0; step < 2000; ++step) {
        switch (uniform(0, 4)) {
          case 0: {  // the application hands over more
            if (pending == nullptr) {
              std::vector<uint16_t> layout(uniform(1, 6));
              for (auto& size : layout) size = static_cast<uint16_t>(uniform(0, 40));
              pending = Build(produced, layout);
              produced += Sum(layout);
            }
            // With every entry in use, only a chain that fits whole is taken (linked on).
            const bool slot = q.entries() < max_entries;
            const uint64_t left = produced - end;
            const uint32_t want = static_cast<uint32_t>(
                slot ? std::min<uint64_t>(left, q.space()) : (left <= q.space() ? left : 0));
            const uint32_t took = q.Append(pending);
            ASSERT_EQ(took, want);
            end += took;
            if (end == produced) {
              ASSERT_EQ(pending, nullptr);
            } else {
              ASSERT_TRUE(IsStream(pending, end, produced - end));
            }
            break;
          }
          case 1:
          case 2: {  // transmit: new data at SND.NXT, or a retransmission
            if (end == una) break;
            nxt = std::max(nxt, una);
            const bool fresh = nxt < end && uniform(0, 2) != 0;
            const uint64_t from = fresh ? nxt : uniform(una, end - 1);
            const auto length = static_cast<uint32_t>(uniform(1, end - from));
            const auto max_segments = static_cast<uint16_t>(uniform(1, 8));
            SendQueue::SliceResult r = q.Slice(At(from), length, max_segments);
            ASSERT_GT(r.length, 0u);
            ASSERT_LE(r.length, length);
            ASSERT_TRUE(IsSlice(r.chain, from, r.length));
            if (r.length < length) {
              ASSERT_EQ(r.chain->nb_segs, max_segments);
            }
            if (fresh) nxt = from + r.length;
            if (uniform(0, 1) == 0) {
              held.push_back(Held{r.chain, from, r.length});  // still on the NIC's TX ring
            } else {
              rte_pktmbuf_free(r.chain);
            }
            break;
          }
          case 3: {  // an ACK, sometimes old, sometimes for the FIN
            const uint64_t ack = uniform(una > 3 ? una - 3 : 0, end + 1);
            const uint64_t expect = ack > una ? std::min(ack, end) - una : 0;
            ASSERT_EQ(q.Acknowledge(At(ack)), expect);
            una += expect;
            break;
          }
          case 4: {  // the NIC frees some slices; the rest must still read right
            for (size_t i = 0; i < held.size();) {
              ASSERT_TRUE(IsSlice(held[i].chain, held[i].offset, held[i].length));
              if (uniform(0, 1) == 0) {
                rte_pktmbuf_free(held[i].chain);
                held[i] = held.back();
                held.pop_back();
              } else {
                ++i;
              }
            }
            break;
          }
        }
        ASSERT_EQ(q.front_seq(), At(una));
        ASSERT_EQ(q.end_seq(), At(end));
        ASSERT_EQ(q.space(), cap - (end - una));
      }
      ExpectHolds(q, una, end);
    }
    for (const Held& h : held) {
      EXPECT_TRUE(IsSlice(h.chain, h.offset, h.length)) << "after the queue is gone";
      rte_pktmbuf_free(h.chain);
    }
    rte_pktmbuf_free(pending);
    ASSERT_EQ(DataInUse(), 0u);
    ASSERT_EQ(IndirectInUse(), 0u);
    data_mbufs_.clear();
  }
}

}  // namespace
}  // namespace ferry::tcp
