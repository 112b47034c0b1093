#include "tcp/sack_scoreboard.h"

#include <algorithm>
#include <cassert>

namespace ferry::tcp {
namespace {

uint32_t Size(Seq left, Seq right) {
  return left < right ? static_cast<uint32_t>(right - left) : 0;
}

// Octets in both [a.left, a.right) and [b.left, b.right).
uint32_t Overlap(const SackBlock& a, const SackBlock& b) {
  return Size(Max(a.left, b.left), Min(a.right, b.right));
}

}  // namespace

SackScoreboard::SackScoreboard(size_t capacity)
    : capacity_(capacity), ranges_(new SackBlock[capacity + 1]) {
  assert(capacity >= 1);
}

void SackScoreboard::Reset(Seq snd_una) {
  count_ = 0;
  sacked_bytes_ = 0;
  snd_una_ = snd_una;
}

void SackScoreboard::EraseRanges(size_t first, size_t last) {
  std::copy(ranges_.get() + last, ranges_.get() + count_, ranges_.get() + first);
  count_ -= last - first;
}

SackScoreboard::UpdateResult SackScoreboard::Update(Seq snd_una, std::span<const SackBlock> blocks,
                                                    Seq snd_max) {
  UpdateResult result;

  // The cumulative ACK covers the lowest ranges, wholly or in part.
  snd_una_ = snd_una;
  size_t gone = 0;
  while (gone < count_ && ranges_[gone].right <= snd_una) {
    result.sacked_now_acked += Size(ranges_[gone].left, ranges_[gone].right);
    ++gone;
  }
  EraseRanges(0, gone);
  if (count_ > 0 && ranges_[0].left < snd_una) {
    result.sacked_now_acked += Size(ranges_[0].left, snd_una);
    ranges_[0].left = snd_una;
  }
  sacked_bytes_ -= result.sacked_now_acked;

  for (size_t i = 0; i < blocks.size(); ++i) {
    const SackBlock& b = blocks[i];
    const bool well_formed = b.left < b.right && b.right <= snd_max;
    // RFC 2883: only the first block can be a D-SACK. It reports data received twice: either
    // below the cumulative ACK, or inside the next block, which reports it as held anyway.
    if (i == 0 && well_formed &&
        (b.left < snd_una ||
         (blocks.size() > 1 && blocks[1].left <= b.left && b.right <= blocks[1].right))) {
      result.dsack = true;
      continue;
    }
    if (!well_formed || b.left < snd_una) {
      ++result.invalid_blocks;
      continue;
    }
    result.newly_sacked += Insert(b);
  }
  return result;
}

uint32_t SackScoreboard::Insert(SackBlock b) {
  SackBlock* const r = ranges_.get();
  // Ranges [first, last) overlap or touch b and merge with it; ranges are disjoint and
  // sorted, so they are consecutive.
  const size_t first =
      std::partition_point(r, r + count_, [&](const SackBlock& x) { return x.right < b.left; }) - r;
  size_t last = first;
  uint32_t already = 0;
  SackBlock merged = b;
  while (last < count_ && r[last].left <= b.right) {
    already += Overlap(r[last], b);
    merged.left = Min(merged.left, r[last].left);
    merged.right = Max(merged.right, r[last].right);
    ++last;
  }
  const uint32_t added = Size(b.left, b.right) - already;

  if (first == last) {
    // A new range: open a gap at `first` (storage has one spare entry).
    std::copy_backward(r + first, r + count_, r + count_ + 1);
    ++count_;
  } else {
    EraseRanges(first + 1, last);
  }
  r[first] = merged;
  sacked_bytes_ += added;

  if (count_ > capacity_) {
    // Full: forget the lowest range (see the file comment for why the lowest).
    sacked_bytes_ -= Size(r[0].left, r[0].right);
    EraseRanges(0, 1);
  }
  return added;
}

bool SackScoreboard::IsSacked(Seq seq) const {
  const SackBlock* const r = ranges_.get();
  const SackBlock* it =
      std::partition_point(r, r + count_, [&](const SackBlock& x) { return x.right <= seq; });
  return it != r + count_ && it->left <= seq;
}

bool SackScoreboard::IsLost(Seq seq, uint32_t smss) const {
  if (IsSacked(seq)) return false;
  const uint64_t byte_limit = uint64_t{kDupThresh - 1} * smss;
  uint32_t ranges_above = 0;
  uint64_t bytes_above = 0;
  for (size_t i = count_; i-- > 0 && seq < ranges_[i].left;) {
    ++ranges_above;
    bytes_above += Size(ranges_[i].left, ranges_[i].right);
    if (ranges_above >= kDupThresh || bytes_above > byte_limit) return true;
  }
  return false;
}

uint32_t SackScoreboard::Pipe(Seq snd_una, Seq snd_max, Seq high_rxt, uint32_t smss) const {
  // Hole by hole, from the top down, so that the SACKed data above each hole (which decides
  // IsLost for every octet in it) accumulates as we go.
  const uint64_t byte_limit = uint64_t{kDupThresh - 1} * smss;
  uint64_t pipe = 0;
  uint32_t ranges_above = 0;
  uint64_t bytes_above = 0;
  Seq hole_end = snd_max;
  for (size_t i = count_;; --i) {
    const Seq hole_start = i == 0 ? snd_una : Min(Max(ranges_[i - 1].right, snd_una), hole_end);
    if (hole_start < hole_end) {
      const bool lost = ranges_above >= kDupThresh || bytes_above > byte_limit;
      if (!lost) pipe += Size(hole_start, hole_end);      // (a) still in the network
      pipe += Size(hole_start, Min(hole_end, high_rxt));  // (b) retransmitted
    }
    if (i == 0) break;
    const SackBlock& r = ranges_[i - 1];
    if (r.right <= snd_una) break;
    const Seq left = Max(r.left, snd_una);
    ++ranges_above;
    bytes_above += Size(left, r.right);
    hole_end = Min(left, hole_end);
  }
  return static_cast<uint32_t>(std::min<uint64_t>(pipe, UINT32_MAX));
}

SackScoreboard::NextSegment SackScoreboard::NextSeg(const NextSegQuery& q) const {
  using Rule = NextSegment::Rule;

  // Rules (1.a) and (1.b): the smallest unSACKed octet at or above high_rxt (above HighRxt)
  // that lies below some SACKed range (below the highest SACKed octet), and its hole.
  Seq s2 = Max(q.snd_una, q.high_rxt);
  bool found = false;
  Seq hole_end;
  for (size_t i = 0; i < count_; ++i) {
    if (ranges_[i].right <= s2) continue;
    if (ranges_[i].left <= s2) {
      s2 = ranges_[i].right;
      continue;
    }
    found = true;
    hole_end = ranges_[i].left;
    break;
  }
  const uint32_t len = found ? std::min(q.smss, Size(s2, hole_end)) : 0;
  if (found && IsLost(s2, q.smss)) return {Rule::kLost, s2, len};  // (1.c)
  if (q.new_data_ready) return {Rule::kNewData, q.snd_max, 0};     // (2)
  if (found) return {Rule::kUnsacked, s2, len};                    // (3)

  // (4) Rescue: one segment that includes the highest outstanding unSACKed octet.
  if (q.rescue_allowed) {
    Seq end = q.snd_max;
    Seq start = count_ == 0 ? q.snd_una : ranges_[count_ - 1].right;
    if (count_ > 0 && ranges_[count_ - 1].right >= q.snd_max) {
      // The tail is SACKed: the highest unSACKed octet is just below the top range.
      end = ranges_[count_ - 1].left;
      start = count_ >= 2 ? ranges_[count_ - 2].right : q.snd_una;
    }
    start = Max(start, q.snd_una);
    if (start < end) {
      const uint32_t len = std::min(q.smss, Size(start, end));
      return {Rule::kRescue, end - len, len};
    }
  }
  return {};  // (5)
}

}  // namespace ferry::tcp
