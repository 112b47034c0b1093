#include "tcp/reassembly.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace ferry::tcp {

void TrimFront(rte_mbuf*& chain, uint32_t n) {
  if (n == 0) return;
  assert(chain != nullptr && n <= chain->pkt_len);
  rte_mbuf* m = chain;
  // pkt_len and nb_segs are meaningful in the head only; carry them to the new head.
  uint32_t pkt_len = m->pkt_len;
  uint16_t nb_segs = m->nb_segs;
  while (m != nullptr && n > 0 && m->data_len <= n) {
    rte_mbuf* next = m->next;
    n -= m->data_len;
    pkt_len -= m->data_len;
    --nb_segs;
    m->next = nullptr;
    m->nb_segs = 1;
    rte_pktmbuf_free_seg(m);
    m = next;
  }
  chain = m;
  if (m == nullptr) return;
  m->pkt_len = pkt_len;
  m->nb_segs = nb_segs;
  if (n > 0) rte_pktmbuf_adj(m, static_cast<uint16_t>(n));  // n < m->data_len here
}

void TrimBack(rte_mbuf* chain, uint32_t n) {
  if (n == 0) return;
  assert(chain != nullptr && n < chain->pkt_len);
  const uint32_t keep = chain->pkt_len - n;
  // Find the mbuf holding byte keep - 1: the new last one.
  rte_mbuf* m = chain;
  uint32_t before = 0;  // bytes in the mbufs before m
  uint16_t nb_segs = 1;
  while (before + m->data_len < keep) {
    before += m->data_len;
    m = m->next;
    ++nb_segs;
  }
  m->data_len = static_cast<uint16_t>(keep - before);
  // Mbuf by mbuf: rte_pktmbuf_free(m->next) would take m->next for a packet head, whose
  // nb_segs and pkt_len (checked in debug builds) describe no chain.
  for (rte_mbuf* rest = m->next; rest != nullptr;) {
    rte_mbuf* next = rest->next;
    rte_pktmbuf_free_seg(rest);
    rest = next;
  }
  m->next = nullptr;
  chain->pkt_len = keep;
  chain->nb_segs = nb_segs;
}

ReassemblyQueue::ReassemblyQueue(const Options& options)
    : options_(options), entries_(std::make_unique<Entry[]>(options.max_segments)) {
  assert(Valid(options));
}

ReassemblyQueue::~ReassemblyQueue() { Clear(); }

void ReassemblyQueue::Clear() { Erase(0, count_); }

// Frees entries [first, end) and closes the gap.
void ReassemblyQueue::Erase(uint16_t first, uint16_t end) {
  if (first == end) return;
  for (uint16_t i = first; i < end; ++i) {
    bytes_ -= entries_[i].length;
    rte_pktmbuf_free(entries_[i].chain);
  }
  Entry* const a = entries_.get();
  std::copy(a + end, a + count_, a + first);
  count_ = static_cast<uint16_t>(count_ - (end - first));
}

// Queued bytes below RCV.NXT were delivered by another path (the TCB's in-order fast path):
// free them, so every entry lies at or above rcv_nxt and offsets from it are plain unsigned
// numbers.
void ReassemblyQueue::DiscardBelow(Seq rcv_nxt) {
  uint16_t stale = 0;
  while (stale < count_ && entries_[stale].start + entries_[stale].length <= rcv_nxt) ++stale;
  Erase(0, stale);
  if (count_ > 0 && entries_[0].start < rcv_nxt) {
    Entry& e = entries_[0];
    const uint32_t cut = static_cast<uint32_t>(rcv_nxt - e.start);
    TrimFront(e.chain, cut);
    e.start = rcv_nxt;
    e.length -= cut;
    bytes_ -= cut;
  }
}

ReassemblyQueue::Placement ReassemblyQueue::Place(Seq rcv_nxt, uint32_t s, uint32_t e) const {
  Placement p;
  p.start = s;
  p.end = e;
  uint16_t i = 0;
  while (i < count_ && Offset(rcv_nxt, i) + entries_[i].length <= s) ++i;
  // Starts inside a queued segment: the queued bytes win, cut the new segment's head.
  if (i < count_ && Offset(rcv_nxt, i) <= s) {
    p.start = Offset(rcv_nxt, i) + entries_[i].length;
    ++i;
  }
  if (p.start >= e) {  // nothing the queue lacks
    p.start = p.end = e;
    return p;
  }
  // Queued segments wholly inside it are replaced by it.
  uint16_t j = i;
  while (j < count_ && Offset(rcv_nxt, j) + entries_[j].length <= e) {
    p.covered_bytes += entries_[j].length;
    ++j;
  }
  // Ends inside a queued segment: cut the new segment's tail.
  if (j < count_ && Offset(rcv_nxt, j) < e) p.end = Offset(rcv_nxt, j);
  p.first = i;
  p.end_covered = j;
  return p;
}

bool ReassemblyQueue::Fits(const Placement& p) const {
  const size_t count = size_t{count_} - (p.end_covered - p.first) + 1;
  const uint64_t bytes = uint64_t{bytes_} - p.covered_bytes + (p.end - p.start);
  return count <= options_.max_segments && bytes <= options_.max_bytes;
}

// RFC 2018 §4: the ACK a duplicate triggers reports the block holding it first, so it counts as
// that block's most recent receipt for the ordering of later ACKs.
void ReassemblyQueue::NoteDuplicate(Seq rcv_nxt, uint32_t s, uint32_t e) {
  for (uint16_t i = 0; i < count_; ++i) {
    const uint32_t start = Offset(rcv_nxt, i);
    if (start >= e) break;
    if (start + entries_[i].length > s) entries_[i].arrival = ++arrivals_;
  }
}

ReassemblyQueue::InsertResult ReassemblyQueue::Insert(Seq rcv_nxt, Seq seq, rte_mbuf* payload,
                                                      uint32_t length) {
  if (payload == nullptr) {
    assert(length == 0);
    return InsertResult::kDuplicate;
  }
  assert(payload->pkt_len >= length);
  if (length == 0) {
    rte_pktmbuf_free(payload);
    return InsertResult::kDuplicate;
  }
  if (payload->pkt_len > length) TrimBack(payload, payload->pkt_len - length);

  DiscardBelow(rcv_nxt);
  // RFC 9293 §3.10.7.4: a segment that starts below RCV.NXT is trimmed to begin at it.
  if (seq < rcv_nxt) {
    const uint32_t old = static_cast<uint32_t>(rcv_nxt - seq);
    if (old >= length) {
      rte_pktmbuf_free(payload);
      return InsertResult::kDuplicate;
    }
    TrimFront(payload, old);
    seq = rcv_nxt;
    length -= old;
  }
  const uint32_t s = static_cast<uint32_t>(seq - rcv_nxt);
  assert(uint64_t{s} + length <= uint64_t{std::numeric_limits<int32_t>::max()});
  const uint32_t e = s + length;

  Placement p = Place(rcv_nxt, s, e);
  if (p.end - p.start == p.covered_bytes) {  // also when start == end: nothing covered
    NoteDuplicate(rcv_nxt, s, e);
    rte_pktmbuf_free(payload);
    return InsertResult::kDuplicate;
  }

  InsertResult result = InsertResult::kQueued;
  if (!Fits(p)) {
    if (s != 0) {
      rte_pktmbuf_free(payload);
      return InsertResult::kDroppedFull;
    }
    // In order: renege on the highest queued segments rather than stall (see the header).
    while (!Fits(p) && count_ > p.end_covered) {
      Erase(static_cast<uint16_t>(count_ - 1), count_);
      p = Place(rcv_nxt, s, e);
      result = InsertResult::kQueuedAfterReneging;
    }
    if (size_t{count_} - (p.end_covered - p.first) + 1 > options_.max_segments) {
      // Only when max_segments is 1 and data at RCV.NXT already waits there, not yet popped.
      rte_pktmbuf_free(payload);
      return InsertResult::kDroppedFull;
    }
  }

  if (p.end < e) TrimBack(payload, e - p.end);
  if (p.start > s) TrimFront(payload, p.start - s);
  Erase(p.first, p.end_covered);
  Entry* const a = entries_.get();
  std::copy_backward(a + p.first, a + count_, a + count_ + 1);
  entries_[p.first] = Entry{rcv_nxt + p.start, p.end - p.start, payload, ++arrivals_};
  ++count_;
  bytes_ += p.end - p.start;
  assert(payload->pkt_len == p.end - p.start);
  return result;
}

rte_mbuf* ReassemblyQueue::PopInOrder(Seq& rcv_nxt, uint32_t* bytes) {
  DiscardBelow(rcv_nxt);
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;  // last mbuf of head's chain
  uint32_t total = 0;
  uint16_t taken = 0;
  while (taken < count_ && entries_[taken].start == rcv_nxt + total) {
    rte_mbuf* m = entries_[taken].chain;
    rte_mbuf* const m_last = rte_pktmbuf_lastseg(m);  // while m is still a packet head
    if (head == nullptr) {
      head = m;
    } else {
      // As rte_pktmbuf_chain, minus its walk to the head chain's last mbuf: we keep `tail`.
      if (head->nb_segs + m->nb_segs > RTE_MBUF_MAX_NB_SEGS) break;
      tail->next = m;
      head->nb_segs = static_cast<uint16_t>(head->nb_segs + m->nb_segs);
      head->pkt_len += m->pkt_len;
      m->pkt_len = m->data_len;
    }
    tail = m_last;
    total += entries_[taken].length;
    ++taken;
  }
  // The chains now belong to the caller: drop the entries without freeing them.
  Entry* const a = entries_.get();
  std::copy(a + taken, a + count_, a);
  count_ = static_cast<uint16_t>(count_ - taken);
  bytes_ -= total;
  rcv_nxt += total;
  if (bytes != nullptr) *bytes = total;
  return head;
}

size_t ReassemblyQueue::SackBlocks(std::span<SackBlock> out, Seq most_recent_seq) const {
  // A block is a maximal run of contiguous entries; it was last received when its newest
  // entry was.
  auto for_each_block = [this](auto&& visit) {
    for (uint16_t i = 0; i < count_;) {
      SackBlock block{entries_[i].start, entries_[i].start + entries_[i].length};
      uint64_t arrival = entries_[i].arrival;
      for (++i; i < count_ && entries_[i].start == block.right; ++i) {
        block.right += entries_[i].length;
        arrival = std::max(arrival, entries_[i].arrival);
      }
      visit(block, arrival);
    }
  };

  size_t n = 0;
  if (out.empty()) return 0;
  // RFC 2018 §4: "The first SACK block ... MUST specify the contiguous block of data containing
  // the segment which triggered this ACK".
  uint64_t first_arrival = 0;  // arrivals count from 1
  for_each_block([&](const SackBlock& block, uint64_t arrival) {
    if (InWindow(most_recent_seq, block.left, block.right)) {
      out[n++] = block;
      first_arrival = arrival;
    }
  });
  // Then the others, most recent first (§4: "repeating the most recently reported SACK
  // blocks"). Arrivals are unique, so each pass picks the newest block older than the last.
  uint64_t older_than = std::numeric_limits<uint64_t>::max();
  while (n < out.size()) {
    SackBlock best{};
    uint64_t best_arrival = 0;
    for_each_block([&](const SackBlock& block, uint64_t arrival) {
      if (arrival < older_than && arrival > best_arrival && arrival != first_arrival) {
        best = block;
        best_arrival = arrival;
      }
    });
    if (best_arrival == 0) break;
    out[n++] = best;
    older_than = best_arrival;
  }
  return n;
}

uint64_t ReassemblyQueue::mbufs() const {
  uint64_t n = 0;
  for (uint16_t i = 0; i < count_; ++i) n += entries_[i].chain->nb_segs;
  return n;
}

}  // namespace ferry::tcp
