#include "tcp/options.h"

#include <algorithm>
#include <cassert>

#include "net/bytes.h"

namespace ferry::tcp {
namespace {

using net::LoadBe16;
using net::LoadBe32;
using net::StoreBe32;

constexpr uint8_t kMssLength = 4;            // RFC 9293 §3.2
constexpr uint8_t kWindowScaleLength = 3;    // RFC 7323 §2.2
constexpr uint8_t kSackPermittedLength = 2;  // RFC 2018 §2
constexpr uint8_t kTimestampsLength = 10;    // RFC 7323 §3.2
constexpr uint8_t kSackBaseLength = 2;       // RFC 2018 §3: 2 + 8 per block
constexpr uint8_t kSackBlockLength = 8;
constexpr size_t kMaxSackBlocks = std::tuple_size_v<decltype(TcpOptions::sack_blocks)>;

// RFC 2018 §3: a SACK option of n blocks is 8n + 2 bytes, and 40 bytes of options hold at most
// 4 blocks.
// `length` is >= 2, as framing has checked.
bool ValidSackLength(uint8_t length) {
  const size_t blocks_length = size_t{length} - kSackBaseLength;
  return blocks_length != 0 && blocks_length % kSackBlockLength == 0 &&
         blocks_length / kSackBlockLength <= kMaxSackBlocks;
}

// The SACK blocks a non-SYN segment carries: as many of the first blocks as fit in the
// 40 bytes beside the timestamps (RFC 2018 §3: "a maximum of 3 SACK blocks will be allowed"
// with them). The first block is the most recent (RFC 2018 §4), so the ones dropped are the
// least useful.
size_t SackBlocksToEmit(const TcpOptions& in) {
  size_t room = kMaxOptionsLength - 2 - kSackBaseLength;  // NOP NOP kind length
  if (in.timestamps) room -= 2 + kTimestampsLength;       // NOP NOP TS
  return std::min<size_t>(in.sack_block_count, room / kSackBlockLength);
}

uint8_t* PutWord(uint8_t* p, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3) {
  p[0] = b0;
  p[1] = b1;
  p[2] = b2;
  p[3] = b3;
  return p + 4;
}

}  // namespace

OptionsError ParseOptions(std::span<const uint8_t> options, bool syn, TcpOptions& out) {
  TcpOptions parsed;
  size_t i = 0;
  while (i < options.size()) {
    const uint8_t kind = options[i];
    // RFC 9293 §3.2: EOL marks the end of the option list, which "might not coincide with the
    // end of the TCP header"; whatever follows it is padding and is not read.
    if (kind == OptionKind::kEndOfList) break;
    // RFC 9293 §3.2: NOP is a single byte, and options need not start on a word boundary
    // (MUST-64).
    if (kind == OptionKind::kNop) {
      ++i;
      continue;
    }
    // RFC 9293 §3.1: every other option has a length field (MUST-68) counting the kind and
    // length bytes, and an illegal length (e.g., zero) must be handled (MUST-7): it is
    // reported, and nothing after it is trusted.
    if (i + 1 >= options.size()) return OptionsError::kTruncated;
    const uint8_t length = options[i + 1];
    if (length < 2) return OptionsError::kBadLength;
    if (length > options.size() - i) return OptionsError::kTruncated;
    const uint8_t* value = options.data() + i + 2;  // may be the end, for a 2-byte option

    switch (kind) {
      case OptionKind::kMss:
        // RFC 9293 §3.2: Length == 4. The MSS "MUST NOT be sent in other segments" than a SYN
        // (MUST-65), so on others it is ignored.
        if (length != kMssLength) return OptionsError::kBadLength;
        if (syn) parsed.mss = LoadBe16(value);
        break;
      case OptionKind::kWindowScale:
        // RFC 7323 §2.2: length 3; "A Window Scale option in a segment without a <SYN> bit set
        // MUST be ignored". §2.3: for a shift above 14 the TCP "SHOULD log the error but MUST
        // use 14 instead of the specified value".
        if (length != kWindowScaleLength) return OptionsError::kBadLength;
        if (syn) {
          parsed.window_scale = std::min(value[0], kMaxWindowScale);
          parsed.window_scale_clamped = value[0] > kMaxWindowScale;
        }
        break;
      case OptionKind::kSackPermitted:
        // RFC 2018 §2: length 2; it "MUST NOT be sent on non-SYN segments", so on those it is
        // ignored.
        if (length != kSackPermittedLength) return OptionsError::kBadLength;
        if (syn) parsed.sack_permitted = true;
        break;
      case OptionKind::kSack: {
        // RFC 2018 §3: length 2 + 8n, n from 1 to 4. Parsed on any segment; whether SACK was
        // negotiated is the TCB's question.
        if (!ValidSackLength(length)) return OptionsError::kBadLength;
        const size_t count = (length - kSackBaseLength) / kSackBlockLength;
        parsed.sack_blocks = {};
        for (size_t b = 0; b < count; ++b) {
          const uint8_t* block = value + b * kSackBlockLength;
          parsed.sack_blocks[b] = SackBlock{Seq(LoadBe32(block)), Seq(LoadBe32(block + 4))};
        }
        parsed.sack_block_count = static_cast<uint8_t>(count);
        break;
      }
      case OptionKind::kTimestamps:
        // RFC 7323 §3.2: length 10, TSval then TSecr; valid on any segment.
        if (length != kTimestampsLength) return OptionsError::kBadLength;
        parsed.timestamps = TcpOptions::Timestamps{LoadBe32(value), LoadBe32(value + 4)};
        break;
      default:
        // RFC 9293 §3.1: "MUST (MUST-6) ignore without error any TCP Option it does not
        // implement, assuming that the option has a length field".
        break;
    }
    i += length;
  }
  out = parsed;
  return OptionsError::kOk;
}

size_t EmitOptions(const TcpOptions& in, bool syn, std::span<uint8_t> out) {
  assert(out.size() >= kMaxOptionsLength);
  assert(in.sack_block_count <= kMaxSackBlocks);
  uint8_t* const start = out.data();
  uint8_t* p = start;
  if (syn) {
    // RFC 9293 §3.7.1 (MSS), RFC 2018 §2 (SACK-permitted), RFC 7323 §2.2 (window scale): the
    // SYN-only options. SACK-permitted takes the two bytes that would otherwise pad the
    // timestamps.
    if (in.mss) {
      p = PutWord(p, OptionKind::kMss, kMssLength, static_cast<uint8_t>(*in.mss >> 8),
                  static_cast<uint8_t>(*in.mss));
    }
    if (in.timestamps) {
      if (in.sack_permitted) {
        p = PutWord(p, OptionKind::kSackPermitted, kSackPermittedLength, OptionKind::kTimestamps,
                    kTimestampsLength);
      } else {
        p = PutWord(p, OptionKind::kNop, OptionKind::kNop, OptionKind::kTimestamps,
                    kTimestampsLength);
      }
      StoreBe32(p, in.timestamps->value);
      StoreBe32(p + 4, in.timestamps->echo_reply);
      p += 8;
    } else if (in.sack_permitted) {
      p = PutWord(p, OptionKind::kNop, OptionKind::kNop, OptionKind::kSackPermitted,
                  kSackPermittedLength);
    }
    if (in.window_scale) {
      assert(*in.window_scale <= kMaxWindowScale);
      p = PutWord(p, OptionKind::kNop, OptionKind::kWindowScale, kWindowScaleLength,
                  *in.window_scale);
    }
  } else {
    // RFC 7323 §3.2 (timestamps) and RFC 2018 §3 (SACK), each word-aligned behind two NOPs.
    if (in.timestamps) {
      p = PutWord(p, OptionKind::kNop, OptionKind::kNop, OptionKind::kTimestamps,
                  kTimestampsLength);
      StoreBe32(p, in.timestamps->value);
      StoreBe32(p + 4, in.timestamps->echo_reply);
      p += 8;
    }
    const size_t blocks = SackBlocksToEmit(in);
    if (blocks > 0) {
      p = PutWord(p, OptionKind::kNop, OptionKind::kNop, OptionKind::kSack,
                  static_cast<uint8_t>(kSackBaseLength + blocks * kSackBlockLength));
      for (size_t b = 0; b < blocks; ++b) {
        StoreBe32(p, in.sack_blocks[b].left.raw());
        StoreBe32(p + 4, in.sack_blocks[b].right.raw());
        p += kSackBlockLength;
      }
    }
  }
  const size_t written = static_cast<size_t>(p - start);
  assert(written % 4 == 0 && written <= kMaxOptionsLength);
  return written;
}

size_t OptionsLength(const TcpOptions& in, bool syn) {
  size_t length = 0;
  if (syn) {
    if (in.mss) length += 4;
    if (in.timestamps) {
      length += 12;
    } else if (in.sack_permitted) {
      length += 4;
    }
    if (in.window_scale) length += 4;
    return length;
  }
  if (in.timestamps) length += 12;
  const size_t blocks = SackBlocksToEmit(in);
  if (blocks > 0) length += 4 + blocks * kSackBlockLength;
  return length;
}

}  // namespace ferry::tcp
