// The sender's data queue: every byte the application handed to TCP and the peer has not yet
// acknowledged, sent or not, from SND.UNA up (RFC 9293 §3.3.1, send sequence space: regions 2
// and 3). Retransmission and new data are both cut from it.
//
// Payload is never copied. The proxy moves the mbuf chains it received on one connection into
// the other connection's queue, and they stay there, as they are, until acknowledged. Each
// transmission is a Slice: a new chain of indirect mbufs (one per data mbuf touched) attached
// to the queued data and narrowed to the byte range sent. The output path chains a header
// mbuf in front of it and transmits it; the NIC frees it after sending.
//
// Ownership and reference counts (DPDK 22.11 rte_pktmbuf_attach: an indirect mbuf holds one
// reference to the direct mbuf that embeds the buffer — to an indirect mbuf's direct parent,
// never to the indirect one — or, for an external buffer, one on its shinfo):
//   - Append: the queue takes over the caller's reference to every mbuf it takes; no refcount
//     changes. When the cap falls inside an mbuf M, one mbuf R from indirect_pool is attached
//     to M (+1 on M's buffer) and narrowed to M's bytes past the cap; the queue keeps M, cut
//     short to the bytes taken, and the caller's remainder chain starts at R. M's buffer goes
//     back to its pool when both the queue's M and the caller's R have been freed.
//   - Acknowledge, Clear, Reset, the destructor: each mbuf that leaves the queue is freed
//     (rte_pktmbuf_free_seg: -1); its buffer returns to the pool only when no slice and no
//     split remainder still references it. A partly acknowledged first mbuf is cut in place
//     (rte_pktmbuf_adj): its header is the queue's alone, so slices are unaffected.
//   - Slice: one mbuf per segment from indirect_pool, each attached (+1 on the buffer holding
//     its bytes). The chain belongs to the caller. Freeing it detaches every segment (-1) and
//     returns the segments to indirect_pool. A slice does not depend on the queue: it reads
//     the same bytes after they are acknowledged and after the queue is cleared or destroyed.
//   - Shared buffers are read-only. Nobody writes into queued data or a slice, and nobody
//     rte_pktmbuf_prepend()s into a slice: its headroom is other bytes of the stream. Headers
//     go into a separate direct mbuf in front. Slices carry no offload flags (only
//     RTE_MBUF_F_INDIRECT / RTE_MBUF_F_EXTERNAL): the header mbuf holds the TX flags.
//
// Bounds (Options): max_bytes caps the bytes queued, unacknowledged plus unsent. This is the
// proxy's per-session in-flight cap, and what space() reports is what the peer's receive
// window may offer (docs/tcp.md). max_entries caps the chains queued. Storage is a ring of
// max_entries entries allocated at construction; nothing allocates from the heap afterwards.
//
// Sequence numbers: the first queued byte is front_seq() (SND.UNA once the SYN is
// acknowledged); Reset(ISS + 1) sets it when the TCB is set up. SYN and FIN take sequence
// space but no queue space, so the TCB accounts for them. Slice remembers where its last call
// ended (normally SND.NXT), so sending new data walks only the mbufs it sends. A request
// below that point (a retransmission) walks from the front.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <limits>
#include <memory>

#include "tcp/seq.h"

namespace ferry::tcp {

class SendQueue {
 public:
  struct Options {
    uint32_t max_bytes = 256 * 1024;  // queued bytes, unacked + unsent; 0 < max_bytes < 2^31
    uint32_t max_entries = 256;       // queued chains, > 0
  };

  struct SliceResult {
    rte_mbuf* chain = nullptr;  // indirect mbufs; the caller's; nullptr: indirect_pool is empty
    uint32_t length = 0;        // bytes in chain, from the seq asked for; 0 iff chain is nullptr
  };

  // Byte counts below 2^31 keep every queued sequence number comparable (seq.h).
  static constexpr bool Valid(const Options& options) {
    return options.max_bytes > 0 &&
           options.max_bytes <= uint32_t{std::numeric_limits<int32_t>::max()} &&
           options.max_entries > 0;
  }

  // Allocates the ring. Options must be Valid and indirect_pool not null (asserted).
  // indirect_pool supplies the slices and split remainders. Any pktmbuf pool works, even the
  // data's own; a dedicated one needs no data room. front_seq() starts at 0: call Reset.
  SendQueue(const Options& options, rte_mempool* indirect_pool);
  // Frees every queued mbuf. Slices still held elsewhere stay valid.
  ~SendQueue();
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // Frees everything queued. The next byte appended gets sequence number `front` (ISS + 1).
  void Reset(Seq front);
  // Reset, with a new byte cap (a pooled queue reused by a connection with other options).
  // `max_bytes` must satisfy Valid (asserted).
  void Reset(Seq front, uint32_t max_bytes);

  // Queues the leading bytes of `chain` (a well-formed packet chain the caller owns), as many
  // as space() allows, and returns how many it took.
  //   - All of it fits: the queue takes the chain as it is and sets chain = nullptr. A chain
  //     of no bytes is freed (chain = nullptr, returns 0); a null chain is left alone.
  //   - Part of it fits: the chain is split at that byte without copying (see the header
  //     comment). The queue keeps the head, and `chain` becomes the remainder: a well-formed
  //     chain of exactly the bytes not taken. It starts with a non-empty mbuf.
  //   - All max_entries in use: the chain is linked onto the last queued chain instead
  //     (rte_pktmbuf_chain, no copy), if all of it fits under space() and the mbuf count
  //     limit; otherwise nothing is taken. Small segments therefore never exhaust the ring.
  //   - Nothing is taken, and chain is unchanged, when space() is 0.
  // If indirect_pool is empty when the cap falls inside an mbuf, the split moves back to the
  // start of that mbuf (fewer bytes taken, nothing allocated). If that mbuf is the first one,
  // the call takes nothing. Retry once buffers free up. O(1) when the chain fits; otherwise
  // O(mbufs before the cap).
  uint32_t Append(rte_mbuf*& chain);

  // Frees every queued byte below `ack` (SEG.ACK that the TCB checked against SND.UNA and
  // SND.NXT) and returns how many were freed. An ack at or below front_seq() frees nothing. An
  // ack beyond end_seq() frees everything, so the ACK of a FIN may be passed as is. Whole mbufs
  // are freed. A partly acknowledged first mbuf is cut with rte_pktmbuf_adj, keeping its
  // chain's pkt_len and nb_segs right. O(mbufs freed).
  uint32_t Acknowledge(Seq ack);

  // A new chain of indirect mbufs over the queued bytes [seq, seq + length), at most
  // max_segments mbufs long (>= 1); the caller transmits it behind a header mbuf. If the range
  // needs more mbufs than that, the result covers the longest prefix that fits
  // (result.length < length). Returns {nullptr, 0} when indirect_pool runs dry. Nothing is
  // then held, so count it and retry later.
  // The range must be non-empty and lie within [front_seq(), end_seq()) (asserted). Release
  // builds clamp it to the queued bytes and return {nullptr, 0} if nothing is left.
  // O(segments returned) when seq is at or past where the last slice ended, otherwise plus
  // O(mbufs from the front to seq).
  SliceResult Slice(Seq seq, uint32_t length, uint16_t max_segments);

  // Frees everything queued. front_seq() is unchanged (so end_seq() == front_seq()).
  void Clear();

  // Mbufs queued (walks every chain: for gauges, not the packet path).
  uint64_t mbufs() const;
  uint32_t bytes() const { return bytes_; }
  uint32_t space() const { return options_.max_bytes - bytes_; }
  // Bytes of storage allocated at construction (the entry ring).
  size_t storage_bytes() const { return sizeof(Entry) * options_.max_entries; }
  uint32_t entries() const { return count_; }
  bool empty() const { return count_ == 0; }
  Seq front_seq() const { return front_; }
  Seq end_seq() const { return front_ + bytes_; }

 private:
  struct Entry {
    rte_mbuf* chain = nullptr;  // as appended, less the acknowledged bytes
    uint32_t length = 0;        // == chain->pkt_len, > 0
  };

  // A queued mbuf with data (data_len > 0): its ring slot and its first byte's sequence number.
  struct Position {
    uint32_t slot = 0;
    rte_mbuf* mbuf = nullptr;
    Seq seq;
  };

  uint32_t Next(uint32_t slot) const { return slot + 1 == options_.max_entries ? 0 : slot + 1; }
  Position Locate(Seq seq) const;
  void Step(Position& p) const;
  void Push(rte_mbuf* chain, uint32_t length);

  Options options_;
  rte_mempool* const indirect_pool_;
  std::unique_ptr<Entry[]> entries_;  // ring: [head_, head_ + count_) modulo max_entries
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  uint32_t bytes_ = 0;
  Seq front_;
  // Where the furthest slice so far ended: the mbuf holding its last byte. It moves only
  // forward and is dropped when that mbuf's first byte is acknowledged. When mbuf is not
  // null, seq >= front_ and the mbuf is untouched by any acknowledgement so far.
  Position cursor_;
};

}  // namespace ferry::tcp
