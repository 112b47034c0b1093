// TCP options (RFC 9293 §3.1, §3.2): the options area of a header parsed into a plain struct,
// and that struct emitted in the layout Linux uses.
//
// Parsing walks the area once. EOL (kind 0) ends it; NOP (kind 1) is one byte; every other
// kind carries a length byte that counts the kind and length bytes themselves. A length that
// cannot frame an option (< 2, or running past the area) or that contradicts a known kind's
// definition makes the whole area malformed: the caller drops the segment and counts it by
// OptionsError. Well-framed options of unknown kinds are skipped. Options that are meaningful
// only on a SYN (MSS, window scale, SACK-permitted) are ignored on other segments, but their
// length is still checked, so a given byte string is malformed or not whatever the flags.
// When an option appears twice, the last one wins (a second SACK option replaces the blocks of
// the first); RFC 9293 does not say, and this keeps the parser a single pass with no state.
//
// Emitting writes the options a segment should carry in the compact, 4-byte-aligned layout of
// Linux's tcp_options_write, so captures of ferry and Linux look alike and middleboxes see
// what they are used to:
//   SYN:     MSS(4)  SACK-perm+TS (04 02 08 0a ...)(12) | NOP NOP TS(12) | NOP NOP SACK-perm(4)
//            NOP WS(4)                                                   at most 20 bytes
//   non-SYN: NOP NOP TS(12)  NOP NOP SACK(4 + 8n)                        at most 40 bytes
// SYN-only fields are not emitted on other segments, and SACK blocks are not emitted on a SYN.
//
// No function here allocates; all are safe on the packet path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string_view>

#include "tcp/sack_block.h"
#include "tcp/seq.h"

namespace ferry::tcp {

// RFC 9293 §3.1: the data offset is at most 15 words, so at most 60 - 20 bytes of options.
inline constexpr size_t kMaxOptionsLength = 40;

// Option kinds (IANA "TCP Option Kind Numbers").
struct OptionKind {
  static constexpr uint8_t kEndOfList = 0;      // RFC 9293 §3.2
  static constexpr uint8_t kNop = 1;            // RFC 9293 §3.2
  static constexpr uint8_t kMss = 2;            // RFC 9293 §3.2
  static constexpr uint8_t kWindowScale = 3;    // RFC 7323 §2.2
  static constexpr uint8_t kSackPermitted = 4;  // RFC 2018 §2
  static constexpr uint8_t kSack = 5;           // RFC 2018 §3
  static constexpr uint8_t kTimestamps = 8;     // RFC 7323 §3.2
};

// RFC 7323 §2.3: the largest window scale shift; a larger one received is used as 14.
inline constexpr uint8_t kMaxWindowScale = 14;


struct TcpOptions {
  struct Timestamps {
    uint32_t value = 0;       // TSval
    uint32_t echo_reply = 0;  // TSecr

    friend bool operator==(const Timestamps&, const Timestamps&) = default;
  };

  // RFC 9293 §3.7.1: the largest segment the sender of the SYN can receive, excluding TCP and
  // IP headers (RFC 6691). Passed on as received, 0 included: the TCB clamps it.
  std::optional<uint16_t> mss;
  // RFC 7323 §2.2: the shift count, at most kMaxWindowScale after parsing.
  std::optional<uint8_t> window_scale;
  // RFC 7323 §2.3: the peer sent a shift above 14 and window_scale holds 14 instead. The
  // caller counts it (the RFC's "SHOULD log"; nothing is formatted per packet here).
  bool window_scale_clamped = false;
  bool sack_permitted = false;
  std::optional<Timestamps> timestamps;
  // The first sack_block_count entries are valid, most recent first (RFC 2018 §4). After a
  // parse the others are zero.
  std::array<SackBlock, 4> sack_blocks = {};
  uint8_t sack_block_count = 0;

  friend bool operator==(const TcpOptions&, const TcpOptions&) = default;
};

enum class OptionsError : uint8_t {
  kOk,
  kBadLength,  // length < 2, or not the length the kind defines
  kTruncated,  // an option, or its length byte, runs past the end of the area
};

// A stable lower_snake_case name for logs and stats. Returns "unknown" for values outside the
// enum.
constexpr std::string_view Name(OptionsError e) {
  switch (e) {
    case OptionsError::kOk:
      return "ok";
    case OptionsError::kBadLength:
      return "bad_length";
    case OptionsError::kTruncated:
      return "truncated";
  }
  return "unknown";
}

// So test failures and control-path logs print the name rather than a raw byte.
inline std::ostream& operator<<(std::ostream& os, OptionsError e) { return os << Name(e); }

// Parses the options area of a TCP header (TcpHeaderView::options(): 0 to 40 bytes) of a
// segment whose SYN bit is `syn`. Returns kOk and replaces `out` with what was found (nothing
// is carried over from its old value), or kBadLength / kTruncated for a malformed area,
// leaving `out` unchanged.
OptionsError ParseOptions(std::span<const uint8_t> options, bool syn, TcpOptions& out);

// Writes the options of `in` that belong on a segment whose SYN bit is `syn` at the start of
// `out`, in the layout described at the top of this file, and returns the number of bytes
// written: a multiple of 4, at most kMaxOptionsLength, 0 when there is nothing to send. SACK
// blocks that do not fit are dropped from the end (RFC 2018 §3: at most 3 with timestamps).
// out.size() must be >= kMaxOptionsLength, in.window_scale <= kMaxWindowScale and
// in.sack_block_count <= 4 (asserted).
size_t EmitOptions(const TcpOptions& in, bool syn, std::span<uint8_t> out);

// What EmitOptions(in, syn, ...) returns, without writing. The sender subtracts it from the
// send MSS to get the payload per segment (RFC 9293 §3.7.1, RFC 6691: the MSS excludes TCP
// options, so options beyond the fixed 20-byte header reduce the data a segment may carry).
size_t OptionsLength(const TcpOptions& in, bool syn);

}  // namespace ferry::tcp
