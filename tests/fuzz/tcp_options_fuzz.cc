// Fuzzes TCP option parsing and emitting (lib/tcp/options.h).
//
// Input: byte 0 bit 0 is the segment's SYN bit; bit 1 picks the mode.
//   mode 0, wire:   the rest (up to 40 bytes) is an options area as it arrives. ParseOptions
//                   must not read past it, must give the same verdict with SYN set or clear, and
//                   must leave its output alone on error. What parses is emitted and parsed
//                   again (below).
//   mode 1, struct: the rest fills a TcpOptions field by field (within EmitOptions'
//                   preconditions), which is emitted and parsed again.
// Round trip: EmitOptions writes a multiple of 4 bytes, at most 40, exactly OptionsLength, and
// nothing past that; parsing them back gives the fields emit keeps: on a SYN the MSS, window
// scale, SACK-permitted and timestamps; on other segments the timestamps and as many SACK
// blocks as fit beside them (RFC 2018 §3). A violation traps, so libFuzzer saves the input.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "tcp/options.h"
#include "tcp/sack_block.h"
#include "tcp/seq.h"
#include "fuzz_check.h"

namespace ferry::tcp {
namespace {

// What parsing EmitOptions(in, syn) must give back.
TcpOptions Kept(const TcpOptions& in, bool syn) {
  TcpOptions kept;
  kept.timestamps = in.timestamps;
  if (syn) {
    kept.mss = in.mss;
    kept.window_scale = in.window_scale;
    kept.sack_permitted = in.sack_permitted;
    return kept;
  }
  // 40 bytes hold NOP NOP SACK with 4 blocks, or 3 beside NOP NOP TS.
  const size_t fit = in.timestamps ? 3 : 4;
  kept.sack_block_count = static_cast<uint8_t>(std::min<size_t>(in.sack_block_count, fit));
  for (size_t b = 0; b < kept.sack_block_count; ++b) kept.sack_blocks[b] = in.sack_blocks[b];
  return kept;
}

void CheckRoundTrip(const TcpOptions& in, bool syn) {
  constexpr uint8_t kUntouched = 0xa5;
  std::array<uint8_t, kMaxOptionsLength + 8> buffer;
  buffer.fill(kUntouched);
  const size_t length = EmitOptions(in, syn, buffer);
  FUZZ_CHECK(length % 4 == 0 && length <= kMaxOptionsLength);
  FUZZ_CHECK(length == OptionsLength(in, syn));
  FUZZ_CHECK(std::all_of(buffer.begin() + length, buffer.end(),
                         [](uint8_t b) { return b == kUntouched; }));
  TcpOptions again;
  FUZZ_CHECK(ParseOptions(std::span(buffer).first(length), syn, again) == OptionsError::kOk);
  FUZZ_CHECK(again == Kept(in, syn));
}

void FuzzWire(std::span<const uint8_t> area, bool syn) {
  // A recognisable value in `out`, to see that a refused area leaves it alone.
  TcpOptions sentinel;
  sentinel.mss = 1234;
  sentinel.sack_block_count = 1;
  sentinel.sack_blocks[0] = SackBlock{Seq(1), Seq(2)};
  TcpOptions parsed = sentinel;
  const OptionsError e = ParseOptions(area, syn, parsed);
  FUZZ_CHECK(Name(e) != "unknown");
  // Malformed or not whatever the flags (options.h): lengths are checked on every segment.
  TcpOptions other;
  FUZZ_CHECK(ParseOptions(area, !syn, other) == e);
  if (e != OptionsError::kOk) {
    FUZZ_CHECK(parsed == sentinel);
    return;
  }
  FUZZ_CHECK(!parsed.window_scale || *parsed.window_scale <= kMaxWindowScale);
  FUZZ_CHECK(!parsed.window_scale_clamped ||
             (parsed.window_scale && *parsed.window_scale == kMaxWindowScale));
  if (!syn) {
    // SYN-only options are ignored elsewhere (RFC 9293 MUST-65, RFC 7323 §2.2, RFC 2018 §2).
    FUZZ_CHECK(!parsed.mss && !parsed.window_scale && !parsed.window_scale_clamped &&
               !parsed.sack_permitted);
  }
  FUZZ_CHECK(parsed.sack_block_count <= parsed.sack_blocks.size());
  for (size_t b = parsed.sack_block_count; b < parsed.sack_blocks.size(); ++b) {
    FUZZ_CHECK(parsed.sack_blocks[b] == SackBlock{});
  }
  CheckRoundTrip(parsed, syn);
}

// Reads fields from the input, zero once it runs out.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint8_t U8() { return pos_ < bytes_.size() ? bytes_[pos_++] : 0; }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

void FuzzStruct(std::span<const uint8_t> bytes, bool syn) {
  Reader r(bytes);
  const uint8_t present = r.U8();
  TcpOptions in;
  if (present & 0x01) in.mss = r.U16();
  if (present & 0x02) in.window_scale = static_cast<uint8_t>(r.U8() % (kMaxWindowScale + 1));
  in.sack_permitted = present & 0x04;
  if (present & 0x08) in.timestamps = TcpOptions::Timestamps{r.U32(), r.U32()};
  in.sack_block_count = static_cast<uint8_t>(std::min((present >> 4) & 7, 4));
  for (size_t b = 0; b < in.sack_block_count; ++b) {
    in.sack_blocks[b] = SackBlock{Seq(r.U32()), Seq(r.U32())};
  }
  CheckRoundTrip(in, syn);
}

}  // namespace
}  // namespace ferry::tcp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::tcp;
  if (size < 1) return 0;
  const bool syn = data[0] & 0x01;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if (data[0] & 0x02) {
    FuzzStruct(rest, syn);
  } else {
    FuzzWire(rest.first(std::min(rest.size(), kMaxOptionsLength)), syn);
  }
  return 0;
}
