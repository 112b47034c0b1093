// The sender's SACK scoreboard for RFC 6675 loss recovery: which outstanding octets the
// receiver has reported holding (RFC 2018), and the §4 routines built on it: IsLost, SetPipe
// (Pipe here) and NextSeg.
//
// Bounds are half-open, in TCP sequence space, where RFC 6675 uses inclusive octet numbers:
//   snd_una  = HighACK + 1    first unacknowledged octet
//   snd_max  = HighData + 1   one past the highest octet ever sent
//   high_rxt = HighRxt + 1    octets [snd_una, high_rxt) have been retransmitted in this
//                             recovery; the TCB sets it to snd_una (nothing retransmitted)
//                             on entering recovery.
//
// The scoreboard keeps SACKed ranges only, sorted, merged when they overlap or touch, all
// inside [snd_una, snd_max). Their number is fixed at construction (one allocation, when the
// TCB pool is built). When a new range would exceed it, the lowest range is forgotten: the
// highest ranges decide loss (IsLost counts SACKed data *above* a hole, and NextSeg only
// retransmits below the highest SACK), and the receiver reports its newest blocks first.
// Forgetting a SACK is always safe: the sender keeps all unacknowledged data anyway (SACK is
// advisory: the receiver may renege, RFC 2018), so the cost is a needless retransmission,
// never a loss.
//
// IsLost is constant across one hole (the SACKed data above every octet of a hole is the
// same), so Pipe and NextSeg work hole by hole: O(ranges), not O(octets) or O(segments).
//
// "DupThresh discontiguous SACKed sequences" (§4, IsLost) is counted as SACKed *ranges* above
// the octet: the scoreboard does not remember segment boundaries. Contiguous small segments
// therefore count once; the byte rule, and the TCB's own duplicate-ACK count for entering
// recovery (§5), cover that case.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace ferry::tcp {

class SackScoreboard {
 public:
  static constexpr size_t kDefaultCapacity = 32;
  // RFC 6675 §2: DupThresh, "the number of duplicate acknowledgments required to trigger a
  // fast retransmission", 3 as in RFC 5681.
  static constexpr uint32_t kDupThresh = 3;

  // `capacity` SACKed ranges (at least 1), fixed for the scoreboard's life.
  explicit SackScoreboard(size_t capacity = kDefaultCapacity);

  // Forgets every SACKed range: for a new connection, or after a retransmission timeout
  // (RFC 2018: the receiver may have reneged, so the sender should clear SACKed bits).
  void Reset(Seq snd_una);

  struct UpdateResult {
    // Octets of this ACK's valid blocks that were not SACKed before: data this ACK newly
    // reports delivered. RFC 6937 (PRR) DeliveredData = (snd_una advance) - sacked_now_acked
    // + newly_sacked.
    uint32_t newly_sacked = 0;
    // Octets that were SACKed and are now below snd_una, so no longer on the board.
    uint32_t sacked_now_acked = 0;
    // The first block was a D-SACK (RFC 2883: it starts below the cumulative ACK, or lies
    // inside the second block). It reports a duplicate, not new data, and is not merged.
    bool dsack = false;
    // Blocks dropped as impossible: empty or inverted, starting below snd_una (other than a
    // first-block D-SACK), or ending beyond snd_max (data never sent).
    uint8_t invalid_blocks = 0;
  };

  // Applies one ACK: drops what snd_una now covers, then merges each valid block of [left,
  // right) with snd_una <= left < right <= snd_max. Blocks may come in any order and overlap.
  // Never fails; what was ignored is in the result, for the caller's counters.
  UpdateResult Update(Seq snd_una, std::span<const SackBlock> blocks, Seq snd_max);

  bool IsSacked(Seq seq) const;

  // RFC 6675 §4 IsLost(SeqNum) for an outstanding, unSACKed octet: true when DupThresh
  // discontiguous SACKed ranges, or more than (DupThresh - 1) * smss SACKed octets, lie
  // above it. False for a SACKed octet.
  bool IsLost(Seq seq, uint32_t smss) const;

  // RFC 6675 §4 SetPipe: the octets still in the network. Every unSACKed octet in
  // [snd_una, snd_max) counts once if not IsLost, and once more if below high_rxt
  // (retransmitted), so an octet retransmitted before it was deemed lost counts twice.
  uint32_t Pipe(Seq snd_una, Seq snd_max, Seq high_rxt, uint32_t smss) const;

  struct NextSegQuery {
    Seq snd_una;
    Seq snd_max;
    Seq high_rxt;
    uint32_t smss = 0;
    // The TCB has unsent data and the peer's window allows a segment of it (rule 2).
    bool new_data_ready = false;
    // RescueRxt is undefined or HighACK > RescueRxt (rule 4); the TCB owns RescueRxt.
    bool rescue_allowed = false;
  };
  struct NextSegment {
    enum class Rule : uint8_t {
      kNone,      // rule 5: send nothing
      kLost,      // rule 1: retransmit [seq, seq+len), lost; then high_rxt = seq + len
      kNewData,   // rule 2: send up to smss of new data; seq = snd_max, the TCB sizes it
      kUnsacked,  // rule 3: retransmit [seq, seq+len), not yet deemed lost; high_rxt too
      kRescue,    // rule 4: retransmit [seq, seq+len); set RescueRxt = RecoveryPoint and
                  // leave high_rxt alone
    };
    Rule rule = Rule::kNone;
    Seq seq;
    uint32_t len = 0;  // 1..smss, never covering SACKed octets
  };
  // RFC 6675 §4 NextSeg, rules 1 to 5, in that order of precedence.
  NextSegment NextSeg(const NextSegQuery& q) const;

  // One past the highest SACKed octet; snd_una when nothing is SACKed.
  Seq HighestSacked() const { return count_ == 0 ? snd_una_ : ranges_[count_ - 1].right; }
  uint32_t SackedBytes() const { return sacked_bytes_; }
  // The SACKed ranges, ascending, disjoint and not touching.
  std::span<const SackBlock> ranges() const { return {ranges_.get(), count_}; }
  bool empty() const { return count_ == 0; }
  size_t capacity() const { return capacity_; }
  // Bytes of storage allocated at construction.
  size_t storage_bytes() const { return sizeof(SackBlock) * (capacity_ + 1); }

 private:
  // Merges [b.left, b.right) in; returns the octets it added. May forget the lowest range.
  uint32_t Insert(SackBlock b);
  void EraseRanges(size_t first, size_t last);  // [first, last)

  size_t capacity_;
  size_t count_ = 0;
  uint32_t sacked_bytes_ = 0;
  Seq snd_una_;
  // capacity_ + 1 entries: Insert may go one over before it forgets the lowest.
  std::unique_ptr<SackBlock[]> ranges_;
};

}  // namespace ferry::tcp
