#include "tcp/send_queue.h"

#include <algorithm>
#include <cassert>

#include "tcp/reassembly.h"  // TrimFront

namespace ferry::tcp {

SendQueue::SendQueue(const Options& options, rte_mempool* indirect_pool)
    : options_(options),
      indirect_pool_(indirect_pool),
      entries_(std::make_unique<Entry[]>(options.max_entries)) {
  assert(Valid(options));
  assert(indirect_pool != nullptr);
}

SendQueue::~SendQueue() { Clear(); }

void SendQueue::Clear() {
  for (; count_ > 0; --count_) {
    rte_pktmbuf_free(entries_[head_].chain);
    entries_[head_] = Entry{};
    head_ = Next(head_);
  }
  bytes_ = 0;
  cursor_ = Position{};
}

uint64_t SendQueue::mbufs() const {
  uint64_t n = 0;
  for (uint32_t i = 0, slot = head_; i < count_; ++i, slot = Next(slot)) {
    n += entries_[slot].chain->nb_segs;
  }
  return n;
}

void SendQueue::Reset(Seq front) {
  Clear();
  front_ = front;
}

void SendQueue::Reset(Seq front, uint32_t max_bytes) {
  Reset(front);
  options_.max_bytes = max_bytes;
  assert(Valid(options_));
}

void SendQueue::Push(rte_mbuf* chain, uint32_t length) {
  assert(count_ < options_.max_entries && length > 0 && chain->pkt_len == length);
  uint32_t slot = head_ + count_;
  if (slot >= options_.max_entries) slot -= options_.max_entries;
  entries_[slot] = Entry{chain, length};
  ++count_;
  bytes_ += length;
}

uint32_t SendQueue::Append(rte_mbuf*& chain) {
  if (chain == nullptr) return 0;
  const uint32_t length = chain->pkt_len;
  if (length == 0) {
    rte_pktmbuf_free(chain);
    chain = nullptr;
    return 0;
  }
  if (count_ == options_.max_entries) {
    // Link the whole chain onto the last entry's chain: no copy, no slot.
    uint32_t last = head_ + count_ - 1;
    if (last >= options_.max_entries) last -= options_.max_entries;
    Entry& tail = entries_[last];
    if (length > space() || rte_pktmbuf_chain(tail.chain, chain) != 0) return 0;
    tail.length += length;
    bytes_ += length;
    chain = nullptr;
    return length;
  }
  if (length <= space()) {
    Push(chain, length);
    chain = nullptr;
    return length;
  }
  const uint32_t take = space();
  if (take == 0) return 0;

  // Find the mbuf m holding byte `take`, the first one left behind. Empty mbufs before it go
  // with the taken part, so m has data.
  const uint16_t nb_segs = chain->nb_segs;
  rte_mbuf* prev = nullptr;
  rte_mbuf* m = chain;
  uint32_t before = 0;  // bytes in the mbufs before m
  uint16_t segs = 0;    // mbufs before m
  while (before + m->data_len <= take) {
    before += m->data_len;
    prev = m;
    m = m->next;
    ++segs;
  }

  rte_mbuf* remainder = m;
  uint32_t taken = before;
  if (before < take) {
    // The cap falls inside m. Its tail goes to the caller as an indirect mbuf R on the same
    // buffer (+1 on it), and m stays in the queue, cut short.
    rte_mbuf* r = rte_pktmbuf_alloc(indirect_pool_);
    if (r != nullptr) {
      const auto k = static_cast<uint16_t>(take - before);
      rte_pktmbuf_attach(r, m);
      r->data_off = static_cast<uint16_t>(r->data_off + k);
      r->data_len = static_cast<uint16_t>(r->data_len - k);
      r->next = m->next;
      m->next = nullptr;
      m->data_len = k;
      remainder = r;
      taken = take;
      prev = m;
      ++segs;
    }
    // Else split where m starts: whole mbufs only.
  }
  if (taken == 0) return 0;  // only empty mbufs (or none) before m: keep the chain whole

  prev->next = nullptr;
  remainder->pkt_len = length - taken;
  // When m was split, it is counted both in segs and in the remainder (as R).
  remainder->nb_segs = static_cast<uint16_t>(nb_segs - segs + (remainder != m ? 1 : 0));
  chain->pkt_len = taken;
  chain->nb_segs = segs;
  Push(chain, taken);
  chain = remainder;
  return taken;
}

uint32_t SendQueue::Acknowledge(Seq ack) {
  if (ack <= front_) return 0;
  const uint32_t freed = std::min(static_cast<uint32_t>(ack - front_), bytes_);
  uint32_t left = freed;
  while (left > 0) {
    Entry& e = entries_[head_];
    if (e.length > left) {
      // Leading mbufs wholly acknowledged are freed, the one the ACK falls in is adjusted.
      TrimFront(e.chain, left);
      e.length -= left;
      break;
    }
    left -= e.length;
    rte_pktmbuf_free(e.chain);  // including empty mbufs trailing its last byte
    e = Entry{};
    head_ = Next(head_);
    --count_;
  }
  bytes_ -= freed;
  front_ += freed;
  if (cursor_.mbuf != nullptr && cursor_.seq < front_) cursor_ = Position{};
  return freed;
}

// Moves p to the next queued mbuf (never past the last queued byte: the caller knows more
// bytes follow).
void SendQueue::Step(Position& p) const {
  p.seq += p.mbuf->data_len;
  p.mbuf = p.mbuf->next;
  if (p.mbuf == nullptr) {
    p.slot = Next(p.slot);
    p.mbuf = entries_[p.slot].chain;
  }
}

// The mbuf holding queued byte `seq` (front_ <= seq < end_seq()).
SendQueue::Position SendQueue::Locate(Seq seq) const {
  Position p = cursor_;
  if (p.mbuf == nullptr || seq < p.seq) p = Position{head_, entries_[head_].chain, front_};
  while (static_cast<uint32_t>(seq - p.seq) >= p.mbuf->data_len) Step(p);
  return p;
}

SendQueue::SliceResult SendQueue::Slice(Seq seq, uint32_t length, uint16_t max_segments) {
  assert(max_segments > 0 && length > 0);
  assert(front_ <= seq && seq + length <= end_seq() && length <= bytes_);
  if (length == 0 || max_segments == 0 || !(front_ <= seq && seq < end_seq())) {
    return SliceResult{};
  }
  length = std::min(length, static_cast<uint32_t>(end_seq() - seq));

  Position p = Locate(seq);
  // `last` becomes the mbuf holding the last byte sliced; `offset` is into p.mbuf.
  Position last = p;
  uint32_t offset = static_cast<uint32_t>(seq - p.seq);
  rte_mbuf* head = nullptr;
  rte_mbuf* tail = nullptr;
  uint32_t total = 0;
  uint16_t segs = 0;
  while (true) {
    if (p.mbuf->data_len > offset) {
      rte_mbuf* s = rte_pktmbuf_alloc(indirect_pool_);
      if (s == nullptr) {
        if (head != nullptr) {
          head->pkt_len = total;
          head->nb_segs = segs;
          rte_pktmbuf_free(head);  // detaches: every reference taken above is dropped
        }
        return SliceResult{};
      }
      const auto n =
          static_cast<uint16_t>(std::min<uint32_t>(length - total, p.mbuf->data_len - offset));
      // Attaches to the mbuf that embeds the buffer even when p.mbuf is itself indirect; the
      // data offset is copied from p.mbuf, so it names the same bytes.
      rte_pktmbuf_attach(s, p.mbuf);
      s->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;  // no RX flags on the wire
      s->data_off = static_cast<uint16_t>(s->data_off + offset);
      s->data_len = n;
      s->pkt_len = n;
      if (head == nullptr) {
        head = s;
      } else {
        tail->next = s;
      }
      tail = s;
      total += n;
      ++segs;
      last = p;
      if (total == length || segs == max_segments) break;
    }
    offset = 0;
    Step(p);
  }
  head->pkt_len = total;
  head->nb_segs = segs;
  if (cursor_.mbuf == nullptr || cursor_.seq <= last.seq) cursor_ = last;
  return SliceResult{head, total};
}

}  // namespace ferry::tcp
