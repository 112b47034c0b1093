// The receiver's out-of-order queue: segments that arrived above RCV.NXT wait here, as the
// NIC's own mbuf chains, until the hole before them is filled (RFC 9293 §3.10.7.4, seventh,
// "process the segment text"). The TCB acknowledges out-of-order data at once (RFC 5681 §4.2)
// and reports what is queued as SACK blocks (RFC 2018 §4); this queue supplies those blocks.
//
// Payload is never copied. Each queued segment is (start, length, chain): the chain is the
// payload the TCB handed over, trimmed in place (rte_pktmbuf_adj on its first mbuf, or leading
// mbufs freed; its last mbuf shortened, or trailing mbufs freed). PopInOrder links the chains
// that have become contiguous with RCV.NXT into one chain and hands it back.
//
// Overlap rule: bytes already queued win, and a segment is never split. A new segment is
//   - trimmed at its head against RCV.NXT and against a queued segment it starts inside;
//   - trimmed at its tail against a queued segment it ends inside;
//   - stored whole between those: queued segments it covers entirely are freed (a
//     retransmission carries the same bytes, so nothing is lost by keeping the new copy).
// Keeping both sides of a queued segment inside a larger new one would need the new chain split
// in two (a clone or a copy); freeing the covered one never does. A segment with no byte the
// queue lacks is a duplicate (kDuplicate) and is freed.
//
// Bounds (per connection, Options): a segment that would leave more than max_segments chains
// or max_bytes payload bytes queued is refused and freed (kDroppedFull; the TCB counts it, and
// the peer retransmits it). Queued segments are not merged, even when contiguous (SackBlocks
// merges them when reporting): each keeps its slot until popped, so max_segments also bounds
// the mbufs a peer can pin, one received packet being a chain of a few mbufs at most. Size it
// to the receive window in segments: after one loss, every later segment of the window waits
// here.
//
// The one exception is a segment that starts at RCV.NXT. It leaves at the next PopInOrder, and
// refusing it would stall the connection for good (the peer would retransmit it against a
// queue that cannot drain), so room is made by freeing queued segments from the highest
// sequence number down (kQueuedAfterReneging). Discarding SACKed data is "reneging", which
// RFC 2018 §8 permits and discourages (here it happens only when the alternative is a stall);
// the sender keeps all unacknowledged data until it is cumulatively acknowledged. If the
// segment alone is larger than max_bytes it is still taken, and bytes() exceeds max_bytes
// until the next PopInOrder.
//
// The TCB may bypass the queue for in-order data (deliver it, advance RCV.NXT) and only then
// call PopInOrder: every operation first drops whatever queued bytes now lie below the RCV.NXT
// it is given. SackBlocks takes no RCV.NXT, so call PopInOrder after advancing RCV.NXT and
// before building an ACK.
//
// Storage is one array of max_segments entries sorted by sequence number, allocated at
// construction; nothing allocates afterwards. Insert and PopInOrder find and shift entries
// linearly, O(segments queued): a few cache lines for the tens of entries meant here.
// Sequence numbers are compared modulo 2^32 (seq.h); the TCB only passes segments inside its
// receive window, so everything queued lies within 2^31 above RCV.NXT.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace ferry::tcp {

// Removes the first `n` bytes of the chain `chain` (n <= its pkt_len, asserted). Leading mbufs
// emptied by the cut are freed and `chain` then points at the first remaining one, whose
// pkt_len and nb_segs are set for the shorter chain; the cut inside an mbuf is
// rte_pktmbuf_adj. When n is the whole chain, every mbuf is freed and `chain` becomes nullptr.
// n == 0 changes nothing (chain may then be nullptr).
void TrimFront(rte_mbuf*& chain, uint32_t n);

// Removes the last `n` bytes of the chain `chain` (n < its pkt_len, asserted: the head mbuf
// stays). Trailing mbufs left with no byte are freed; the cut inside an mbuf shortens its
// data_len. The head's pkt_len and nb_segs are set for the shorter chain.
void TrimBack(rte_mbuf* chain, uint32_t n);

class ReassemblyQueue {
 public:
  struct Options {
    uint32_t max_bytes = 256 * 1024;  // queued payload bytes, > 0
    uint16_t max_segments = 64;       // queued chains, > 0
  };

  enum class InsertResult : uint8_t {
    kQueued,                // stored (possibly trimmed, possibly replacing covered segments)
    kQueuedAfterReneging,   // starts at RCV.NXT and was stored after freeing the highest
                            // queued segments to stay in bounds; the TCB counts it
    kDuplicate,             // no byte the queue lacks (or none at all): freed
    kDroppedFull,           // would exceed a bound: freed, queue unchanged; the TCB counts it
  };

  static constexpr bool Valid(const Options& options) {
    return options.max_bytes > 0 && options.max_segments > 0;
  }

  // Allocates room for options.max_segments entries. Options must be Valid (asserted).
  explicit ReassemblyQueue(const Options& options);
  // Frees every queued chain.
  ~ReassemblyQueue();
  ReassemblyQueue(const ReassemblyQueue&) = delete;
  ReassemblyQueue& operator=(const ReassemblyQueue&) = delete;

  // Takes ownership of `payload`, the segment text [seq, seq + length), in every case: it is
  // queued or freed. A chain longer than `length` (Ethernet padding after a short segment) is
  // trimmed to it; a shorter one is a caller bug (asserted). payload may be nullptr only when
  // length is 0. Never allocates; O(segments queued).
  InsertResult Insert(Seq rcv_nxt, Seq seq, rte_mbuf* payload, uint32_t length);

  // Removes the queued segments that continue the stream at `rcv_nxt`, links them into one
  // chain (first byte at the old rcv_nxt), advances rcv_nxt past them and returns the chain;
  // *bytes (when not nullptr) gets its length. Returns nullptr, with *bytes = 0, when nothing
  // queued starts at rcv_nxt. A chain never exceeds RTE_MBUF_MAX_NB_SEGS mbufs: linking stops
  // before that, so call again until nullptr to drain everything in order.
  rte_mbuf* PopInOrder(Seq& rcv_nxt, uint32_t* bytes);

  // Fills `out` with SACK blocks for an ACK (RFC 2018 §4): queued data merged into contiguous
  // blocks; first the block containing `most_recent_seq` (the first byte of the segment that
  // triggered this ACK; if no block contains it, none is put first), then the other blocks,
  // most recently received first. A segment's receipt counts when it is queued and when a
  // duplicate of queued data arrives (that duplicate's block was reported first). Returns the
  // number of blocks written, at most out.size().
  size_t SackBlocks(std::span<SackBlock> out, Seq most_recent_seq) const;

  // Frees every queued chain.
  void Clear();
  // Clear, with a new byte bound (a pooled queue reused by a connection with other options).
  void Reset(uint32_t max_bytes) {
    Clear();
    options_.max_bytes = max_bytes;
  }

  // Mbufs held (walks every chain: for gauges, not the packet path).
  uint64_t mbufs() const;
  uint32_t bytes() const { return bytes_; }
  uint16_t segments() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Bytes of storage allocated at construction.
  size_t storage_bytes() const { return sizeof(Entry) * options_.max_segments; }

 private:
  struct Entry {
    Seq start;
    uint32_t length = 0;      // == chain->pkt_len, > 0
    rte_mbuf* chain = nullptr;
    uint64_t arrival = 0;     // receipt order, unique across entries
  };

  // Where a segment [s, e) (offsets from RCV.NXT) would go and what it would displace.
  struct Placement {
    uint16_t first = 0;        // index the segment would take
    uint16_t end_covered = 0;  // queued [first, end_covered) lie inside it and would be freed
    uint32_t covered_bytes = 0;
    uint32_t start = 0;        // the segment after trimming: [start, end)
    uint32_t end = 0;
  };

  uint32_t Offset(Seq rcv_nxt, uint16_t i) const {
    return static_cast<uint32_t>(entries_[i].start - rcv_nxt);
  }
  Placement Place(Seq rcv_nxt, uint32_t s, uint32_t e) const;
  bool Fits(const Placement& p) const;
  void DiscardBelow(Seq rcv_nxt);
  void Erase(uint16_t first, uint16_t end);
  void NoteDuplicate(Seq rcv_nxt, uint32_t s, uint32_t e);

  Options options_;
  std::unique_ptr<Entry[]> entries_;  // [0, count_) sorted by start, disjoint
  uint16_t count_ = 0;
  uint32_t bytes_ = 0;
  uint64_t arrivals_ = 0;
};

}  // namespace ferry::tcp
