// Tests for TCP options parsing and emitting (RFC 9293 §3.1-3.2, RFC 7323, RFC 2018). Each test
// names the rule it checks.
#include "tcp/options.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tcp/seq.h"

namespace ferry::tcp {

// So a failed comparison prints the options rather than raw bytes.
void PrintTo(const TcpOptions& o, std::ostream* os) {
  *os << "{";
  if (o.mss) *os << " mss=" << *o.mss;
  if (o.window_scale) *os << " ws=" << int{*o.window_scale};
  if (o.window_scale_clamped) *os << " (clamped)";
  if (o.sack_permitted) *os << " sack_permitted";
  if (o.timestamps) *os << " ts=" << o.timestamps->value << "/" << o.timestamps->echo_reply;
  *os << " sack=[";
  for (size_t i = 0; i < o.sack_blocks.size(); ++i) {
    if (i == o.sack_block_count) *os << " |";
    *os << " " << o.sack_blocks[i].left.raw() << "-" << o.sack_blocks[i].right.raw();
  }
  *os << " ] }";
}

namespace {

using Bytes = std::vector<uint8_t>;

constexpr bool kSyn = true;
constexpr bool kNotSyn = false;

// A Linux SYN's options, as tcpdump shows them: MSS 1460, SACK permitted, timestamps
// (TSval 123456, TSecr 0), NOP, window scale 7.
const Bytes kLinuxSynOptions = {
    0x02, 0x04, 0x05, 0xb4,  // MSS 1460
    0x04, 0x02,              // SACK permitted
    0x08, 0x0a,              // timestamps
    0x00, 0x01, 0xe2, 0x40,  //   TSval 123456
    0x00, 0x00, 0x00, 0x00,  //   TSecr 0
    0x01,                    // NOP
    0x03, 0x03, 0x07,        // window scale 7
};

OptionsError ParseResult(const Bytes& bytes, bool syn) {
  TcpOptions out;
  return ParseOptions(bytes, syn, out);
}

// Parses `bytes`, expecting a well-formed area.
TcpOptions Parsed(const Bytes& bytes, bool syn) {
  TcpOptions out;
  EXPECT_EQ(ParseOptions(bytes, syn, out), OptionsError::kOk);
  return out;
}

// Emits into a buffer larger than the 40-byte limit, checking that nothing past the returned
// length was written.
Bytes Emitted(const TcpOptions& in, bool syn) {
  constexpr uint8_t kUntouched = 0xee;
  std::array<uint8_t, 64> buffer;
  buffer.fill(kUntouched);
  const size_t n = EmitOptions(in, syn, buffer);
  EXPECT_LE(n, kMaxOptionsLength);
  for (size_t i = n; i < buffer.size(); ++i) {
    EXPECT_EQ(buffer[i], kUntouched) << "byte " << i << " written past the returned length " << n;
  }
  return Bytes(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(std::min(n, buffer.size())));
}

TcpOptions WithSackBlocks(std::initializer_list<SackBlock> blocks) {
  TcpOptions o;
  for (const SackBlock& b : blocks) o.sack_blocks[o.sack_block_count++] = b;
  return o;
}

SackBlock Block(uint32_t left, uint32_t right) { return SackBlock{Seq(left), Seq(right)}; }

void AppendBe32(Bytes& bytes, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(v >> shift));
}

// ---------------------------------------------------------------------------------------------
// Well-formed areas
// ---------------------------------------------------------------------------------------------

TEST(ParseOptionsTest, LinuxSyn) {
  const TcpOptions o = Parsed(kLinuxSynOptions, kSyn);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  ASSERT_TRUE(o.timestamps.has_value());
  EXPECT_EQ(o.timestamps->value, 123456u);
  EXPECT_EQ(o.timestamps->echo_reply, 0u);
  EXPECT_EQ(o.window_scale, 7);
  EXPECT_FALSE(o.window_scale_clamped);
  EXPECT_EQ(o.sack_block_count, 0);
}

TEST(ParseOptionsTest, EmptyAreaHasNoOptions) {
  EXPECT_EQ(Parsed({}, kSyn), TcpOptions{});
  EXPECT_EQ(Parsed({}, kNotSyn), TcpOptions{});
}

TEST(ParseOptionsTest, LinuxDataSegmentTimestamps) {
  const TcpOptions o =
      Parsed({0x01, 0x01, 0x08, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0xe2, 0x40}, kNotSyn);
  ASSERT_TRUE(o.timestamps.has_value());
  EXPECT_EQ(o.timestamps->value, 0xdeadbeefu);
  EXPECT_EQ(o.timestamps->echo_reply, 123456u);
}

// RFC 9293 §3.2: "receivers MUST be prepared to process options even if they do not begin on a
// word boundary" (MUST-64).
TEST(ParseOptionsTest, OptionsNeedNotBeWordAligned) {
  const TcpOptions o =
      Parsed({0x01, 0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0x02, 0x01, 0x04, 0x02}, kSyn);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_EQ(o.window_scale, 2);
  EXPECT_TRUE(o.sack_permitted);
}

TEST(ParseOptionsTest, AreaOfOnlyNops) {
  EXPECT_EQ(Parsed(Bytes(kMaxOptionsLength, 0x01), kSyn), TcpOptions{});
}

// RFC 9293 §3.2: EOL ends the option list, which "might not coincide with the end of the TCP
// header": what follows is not read, even if it would be malformed.
TEST(ParseOptionsTest, EolEndsParsingAndTrailingGarbageIsIgnored) {
  const TcpOptions o = Parsed({0x02, 0x04, 0x05, 0xb4,  // MSS 1460
                               0x00,                    // EOL
                               0x03, 0x00, 0xff, 0x08, 0x01, 0x02},
                              kSyn);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_FALSE(o.window_scale.has_value());
  EXPECT_FALSE(o.timestamps.has_value());
}

TEST(ParseOptionsTest, EolFirstMeansNoOptions) {
  EXPECT_EQ(Parsed({0x00, 0x02, 0x04, 0x05, 0xb4}, kSyn), TcpOptions{});
}

// RFC 9293 §3.1: "MUST (MUST-6) ignore without error any TCP Option it does not implement,
// assuming that the option has a length field".
TEST(ParseOptionsTest, UnknownKindIsSkipped) {
  const TcpOptions o = Parsed({0x1e, 0x06, 0xaa, 0xbb, 0xcc, 0xdd,  // kind 30 (MPTCP), length 6
                               0xfe, 0x02,                          // kind 254, no data
                               0x02, 0x04, 0x05, 0xb4},             // MSS 1460
                              kSyn);
  EXPECT_EQ(o.mss, 1460);
}

TEST(ParseOptionsTest, UnknownKindFillingTheWholeArea) {
  Bytes area(kMaxOptionsLength, 0xaa);
  area[0] = 0x22;
  area[1] = static_cast<uint8_t>(kMaxOptionsLength);
  EXPECT_EQ(Parsed(area, kNotSyn), TcpOptions{});
}

// Duplicates are not addressed by the RFCs; the last one wins.
TEST(ParseOptionsTest, DuplicateOptionLastWins) {
  const TcpOptions o = Parsed({0x02, 0x04, 0x05, 0xb4,              // MSS 1460
                               0x02, 0x04, 0x02, 0x18,              // MSS 536
                               0x03, 0x03, 0x07,                    // WS 7
                               0x03, 0x03, 0x02,                    // WS 2
                               0x08, 0x0a, 0x00, 0x00, 0x00, 0x01,  // TS: TSval 1
                               0x00, 0x00, 0x00, 0x02,              //     TSecr 2
                               0x08, 0x0a, 0x00, 0x00, 0x00, 0x03,  // TS: TSval 3
                               0x00, 0x00, 0x00, 0x04},             //     TSecr 4
                              kSyn);
  EXPECT_EQ(o.mss, 536);
  EXPECT_EQ(o.window_scale, 2);
  ASSERT_TRUE(o.timestamps.has_value());
  EXPECT_EQ(o.timestamps->value, 3u);
  EXPECT_EQ(o.timestamps->echo_reply, 4u);
}

TEST(ParseOptionsTest, DuplicateSackReplacesAllBlocks) {
  const TcpOptions o =
      Parsed({0x05, 0x12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,  // 2 blocks
              0x05, 0x0a, 0, 0, 0, 9, 0, 0, 0, 10},                        // 1 block
             kNotSyn);
  EXPECT_EQ(o, WithSackBlocks({Block(9, 10)}));  // block 2 of the first option is gone too
}

// Absent options are absent: nothing is carried over from what `out` held before.
TEST(ParseOptionsTest, ParseReplacesThePreviousContents) {
  TcpOptions out = Parsed(kLinuxSynOptions, kSyn);
  ASSERT_EQ(ParseOptions(Bytes{0x02, 0x04, 0x02, 0x18}, kSyn, out), OptionsError::kOk);
  TcpOptions want;
  want.mss = 536;
  EXPECT_EQ(out, want);
}

// ---------------------------------------------------------------------------------------------
// Options that belong on a SYN only
// ---------------------------------------------------------------------------------------------

// RFC 9293 §3.2: the MSS option "MUST NOT be sent in other segments" than a SYN (MUST-65).
TEST(ParseOptionsTest, MssIgnoredOnNonSyn) {
  EXPECT_EQ(Parsed({0x02, 0x04, 0x05, 0xb4}, kNotSyn), TcpOptions{});
}

// RFC 7323 §2.2: "A Window Scale option in a segment without a <SYN> bit set MUST be ignored."
TEST(ParseOptionsTest, WindowScaleIgnoredOnNonSyn) {
  EXPECT_EQ(Parsed({0x01, 0x03, 0x03, 0x07}, kNotSyn), TcpOptions{});
  // Ignored before it is judged, so there is nothing to clamp either.
  EXPECT_EQ(Parsed({0x01, 0x03, 0x03, 0x0f}, kNotSyn), TcpOptions{});
}

// RFC 2018 §2: SACK-permitted "MUST NOT be sent on non-SYN segments".
TEST(ParseOptionsTest, SackPermittedIgnoredOnNonSyn) {
  EXPECT_EQ(Parsed({0x01, 0x01, 0x04, 0x02}, kNotSyn), TcpOptions{});
}

TEST(ParseOptionsTest, LinuxSynOptionsOnANonSynKeepOnlyTimestamps) {
  TcpOptions want;
  want.timestamps = TcpOptions::Timestamps{123456, 0};
  EXPECT_EQ(Parsed(kLinuxSynOptions, kNotSyn), want);
}

// RFC 7323 §2.3: for a shift count above 14 the TCP "SHOULD log the error but MUST use 14".
TEST(ParseOptionsTest, WindowScale15ClampedTo14) {
  const TcpOptions o = Parsed({0x01, 0x03, 0x03, 0x0f}, kSyn);
  EXPECT_EQ(o.window_scale, 14);
  EXPECT_TRUE(o.window_scale_clamped);
}

TEST(ParseOptionsTest, WindowScale255ClampedTo14) {
  const TcpOptions o = Parsed({0x01, 0x03, 0x03, 0xff}, kSyn);
  EXPECT_EQ(o.window_scale, 14);
  EXPECT_TRUE(o.window_scale_clamped);
}

TEST(ParseOptionsTest, WindowScale14And0AreTakenAsIs) {
  TcpOptions o = Parsed({0x01, 0x03, 0x03, 0x0e}, kSyn);
  EXPECT_EQ(o.window_scale, 14);
  EXPECT_FALSE(o.window_scale_clamped);
  o = Parsed({0x01, 0x03, 0x03, 0x00}, kSyn);
  EXPECT_EQ(o.window_scale, 0);
  EXPECT_FALSE(o.window_scale_clamped);
}

// RFC 7323 §3.2: timestamps may appear on any segment, the SYN included.
TEST(ParseOptionsTest, TimestampsOnSynAndNonSyn) {
  const Bytes ts = {0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  for (bool syn : {kSyn, kNotSyn}) {
    SCOPED_TRACE(syn ? "SYN" : "non-SYN");
    const TcpOptions o = Parsed(ts, syn);
    ASSERT_TRUE(o.timestamps.has_value());
    EXPECT_EQ(o.timestamps->value, 0x11223344u);
    EXPECT_EQ(o.timestamps->echo_reply, 0x55667788u);
  }
}

// ---------------------------------------------------------------------------------------------
// SACK blocks (RFC 2018 §3)
// ---------------------------------------------------------------------------------------------

// Length 2 + 8n for n = 1..4, each block a left and a right edge.
TEST(ParseOptionsTest, SackWithOneToFourBlocks) {
  const std::array<SackBlock, 4> blocks = {Block(1000, 2000), Block(3000, 4000),
                                           Block(0xfffffff0, 0x10),  // wraps around 2^32
                                           Block(7000, 8000)};
  for (uint8_t n = 1; n <= 4; ++n) {
    SCOPED_TRACE(std::to_string(n) + " blocks");
    Bytes area = {0x01, 0x01, 0x05, static_cast<uint8_t>(2 + 8 * n)};
    TcpOptions want;
    for (uint8_t b = 0; b < n; ++b) {
      AppendBe32(area, blocks[b].left.raw());
      AppendBe32(area, blocks[b].right.raw());
      want.sack_blocks[b] = blocks[b];
    }
    want.sack_block_count = n;
    EXPECT_EQ(Parsed(area, kNotSyn), want);
  }
}

// The parser does not decide whether SACK was negotiated: that is the TCB's business.
TEST(ParseOptionsTest, SackIsParsedOnASynToo) {
  EXPECT_EQ(Parsed({0x05, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2}, kSyn), WithSackBlocks({Block(1, 2)}));
}

TEST(ParseOptionsTest, SackLength2HasNoBlocksAndIsMalformed) {
  EXPECT_EQ(ParseResult({0x01, 0x01, 0x05, 0x02}, kNotSyn), OptionsError::kBadLength);
}

TEST(ParseOptionsTest, SackLength9IsNotTwoPlusEightN) {
  Bytes area = {0x05, 0x09};
  area.resize(9, 0xaa);
  EXPECT_EQ(ParseResult(area, kNotSyn), OptionsError::kBadLength);
}

// 2 + 8 * 5 = 42: five blocks cannot be right, and cannot fit in a 40-byte area either.
TEST(ParseOptionsTest, SackLength42IsMalformed) {
  Bytes area = {0x05, 42};
  area.resize(42, 0xaa);
  EXPECT_EQ(ParseResult(area, kNotSyn), OptionsError::kBadLength);
  area.resize(kMaxOptionsLength);
  EXPECT_EQ(ParseResult(area, kNotSyn), OptionsError::kTruncated);
}

// ---------------------------------------------------------------------------------------------
// Malformed areas: RFC 9293 §3.1, every option but EOL and NOP has a length (MUST-68), and an
// illegal length "(e.g., zero)" must be handled (MUST-7). The caller drops the segment.
// ---------------------------------------------------------------------------------------------

struct MalformedCase {
  std::string what;
  Bytes area;
  OptionsError want;
};

// An option of `kind` whose length byte says `length`, followed by `present` bytes in all (kind
// and length included; the rest filler).
Bytes OptionBytes(uint8_t kind, uint8_t length, size_t present) {
  Bytes area = {kind, length};
  area.resize(std::max<size_t>(present, 2), 0xaa);
  return area;
}

// Every way to get the length of `kind` wrong. `length` is its one correct length, or 0 for a
// kind the stack does not know (any length >= 2 is fine for those).
std::vector<MalformedCase> MalformedCasesFor(const std::string& name, uint8_t kind,
                                             uint8_t length) {
  std::vector<MalformedCase> cases;
  cases.push_back({name + ": length byte missing", Bytes{kind}, OptionsError::kTruncated});
  cases.push_back({name + ": length 0", OptionBytes(kind, 0, 8), OptionsError::kBadLength});
  cases.push_back({name + ": length 1", OptionBytes(kind, 1, 8), OptionsError::kBadLength});
  // One byte short of the length it claims (for a 2-byte option that is the missing length
  // byte above).
  const uint8_t framed = length != 0 ? length : 6;
  if (framed > 2) {
    cases.push_back({name + ": past the end", OptionBytes(kind, framed, framed - 1u),
                     OptionsError::kTruncated});
  }
  cases.push_back({name + ": far past the end", OptionBytes(kind, 0xff, kMaxOptionsLength),
                   OptionsError::kTruncated});
  if (length != 0) {
    if (length - 1 >= 2) {
      cases.push_back({name + ": too short", OptionBytes(kind, length - 1u, length - 1u),
                       OptionsError::kBadLength});
    }
    cases.push_back({name + ": too long", OptionBytes(kind, length + 1u, length + 1u),
                     OptionsError::kBadLength});
  }
  return cases;
}

TEST(ParseOptionsTest, EveryMalformedLengthOfEveryKind) {
  std::vector<MalformedCase> cases;
  for (auto& [name, kind, length] : std::vector<std::tuple<std::string, uint8_t, uint8_t>>{
           {"MSS", OptionKind::kMss, 4},
           {"window scale", OptionKind::kWindowScale, 3},
           {"SACK permitted", OptionKind::kSackPermitted, 2},
           {"SACK", OptionKind::kSack, 10},
           {"timestamps", OptionKind::kTimestamps, 10},
           {"unknown kind 30", 30, 0},
           {"unknown kind 255", 255, 0},
       }) {
    for (MalformedCase& c : MalformedCasesFor(name, kind, length)) cases.push_back(std::move(c));
  }
  for (const MalformedCase& c : cases) {
    // A length the kind contradicts is malformed whether or not the option would be used.
    for (bool syn : {kSyn, kNotSyn}) {
      SCOPED_TRACE(c.what + (syn ? " (SYN)" : " (non-SYN)"));
      EXPECT_EQ(ParseResult(c.area, syn), c.want);
      // Well-formed options in front do not rescue the area.
      Bytes behind_mss = {0x02, 0x04, 0x05, 0xb4, 0x01};
      behind_mss.insert(behind_mss.end(), c.area.begin(), c.area.end());
      if (behind_mss.size() <= kMaxOptionsLength) {
        EXPECT_EQ(ParseResult(behind_mss, syn), c.want);
      }
    }
  }
}

TEST(ParseOptionsTest, MssWrongLengths) {
  EXPECT_EQ(ParseResult({0x02, 0x03, 0x05}, kSyn), OptionsError::kBadLength);
  EXPECT_EQ(ParseResult({0x02, 0x05, 0x05, 0xb4, 0x00}, kSyn), OptionsError::kBadLength);
  EXPECT_EQ(ParseResult({0x02, 0x04, 0x05}, kSyn), OptionsError::kTruncated);
}

TEST(ParseOptionsTest, TimestampsWrongLengths) {
  Bytes area = {0x08, 0x09};
  area.resize(9, 0);
  EXPECT_EQ(ParseResult(area, kNotSyn), OptionsError::kBadLength);
  area = {0x08, 0x0b};
  area.resize(11, 0);
  EXPECT_EQ(ParseResult(area, kNotSyn), OptionsError::kBadLength);
  area = {0x08, 0x0a};
  area.resize(9, 0);
  EXPECT_EQ(ParseResult(area, kNotSyn), OptionsError::kTruncated);
}

// RFC 9293 §3.1 MUST-7's own example: a zero length, which would otherwise loop forever.
TEST(ParseOptionsTest, ZeroLengthUnknownOptionIsMalformed) {
  EXPECT_EQ(ParseResult({0x1e, 0x00, 0x01, 0x01}, kNotSyn), OptionsError::kBadLength);
  EXPECT_EQ(ParseResult({0x1e, 0x01, 0x01, 0x01}, kNotSyn), OptionsError::kBadLength);
}

TEST(ParseOptionsTest, FailedParseLeavesOutputAlone) {
  TcpOptions out = Parsed(kLinuxSynOptions, kSyn);
  const TcpOptions before = out;
  EXPECT_EQ(ParseOptions(Bytes{0x02, 0x04, 0x02, 0x18, 0x08, 0x00}, kSyn, out),
            OptionsError::kBadLength);
  EXPECT_EQ(out, before);
}

TEST(OptionsErrorTest, NamesForCounters) {
  EXPECT_EQ(Name(OptionsError::kOk), "ok");
  EXPECT_EQ(Name(OptionsError::kBadLength), "bad_length");
  EXPECT_EQ(Name(OptionsError::kTruncated), "truncated");
  EXPECT_EQ(Name(static_cast<OptionsError>(200)), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Emit: Linux's layout
// ---------------------------------------------------------------------------------------------

TcpOptions LinuxSyn() {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = TcpOptions::Timestamps{123456, 0};
  o.window_scale = 7;
  return o;
}

// SACK-permitted takes the place of the two NOPs in front of the timestamps.
TEST(EmitOptionsTest, SynIsByteForByteWhatLinuxSends) {
  const Bytes want = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01,
                      0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
  EXPECT_EQ(Emitted(LinuxSyn(), kSyn), want);
  EXPECT_EQ(Emitted(LinuxSyn(), kSyn), kLinuxSynOptions);
  EXPECT_EQ(OptionsLength(LinuxSyn(), kSyn), 20u);
}

TEST(EmitOptionsTest, SynWithoutSackPermittedPadsTimestampsWithNops) {
  TcpOptions o = LinuxSyn();
  o.sack_permitted = false;
  o.timestamps->echo_reply = 0x01020304;
  EXPECT_EQ(Emitted(o, kSyn), (Bytes{0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x08, 0x0a, 0x00, 0x01,
                                     0xe2, 0x40, 0x01, 0x02, 0x03, 0x04, 0x01, 0x03, 0x03, 0x07}));
}

TEST(EmitOptionsTest, SynWithSackPermittedButNoTimestamps) {
  TcpOptions o = LinuxSyn();
  o.timestamps.reset();
  EXPECT_EQ(Emitted(o, kSyn),
            (Bytes{0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07}));
}

TEST(EmitOptionsTest, SynWithOnlyMss) {
  TcpOptions o;
  o.mss = 536;
  EXPECT_EQ(Emitted(o, kSyn), (Bytes{0x02, 0x04, 0x02, 0x18}));
}

TEST(EmitOptionsTest, NothingToSendWritesNothing) {
  EXPECT_EQ(Emitted(TcpOptions{}, kSyn), Bytes{});
  EXPECT_EQ(Emitted(TcpOptions{}, kNotSyn), Bytes{});
}

// RFC 9293 §3.2 MUST-65, RFC 7323 §2.2, RFC 2018 §2: the SYN-only options stay off other
// segments.
TEST(EmitOptionsTest, NonSynLeavesOutSynOnlyOptions) {
  TcpOptions o = LinuxSyn();
  o.timestamps = TcpOptions::Timestamps{5, 6};
  EXPECT_EQ(Emitted(o, kNotSyn), (Bytes{0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 5, 0, 0, 0, 6}));
}

TEST(EmitOptionsTest, SynLeavesOutSackBlocks) {
  TcpOptions o = WithSackBlocks({Block(1, 2)});
  o.mss = 1460;
  EXPECT_EQ(Emitted(o, kSyn), (Bytes{0x02, 0x04, 0x05, 0xb4}));
}

TEST(EmitOptionsTest, NonSynTimestampsThenSack) {
  TcpOptions o = WithSackBlocks({Block(0x01020304, 0x05060708)});
  o.timestamps = TcpOptions::Timestamps{0xa0a1a2a3, 0xb0b1b2b3};
  EXPECT_EQ(Emitted(o, kNotSyn),
            (Bytes{0x01, 0x01, 0x08, 0x0a, 0xa0, 0xa1, 0xa2, 0xa3, 0xb0, 0xb1, 0xb2, 0xb3,
                   0x01, 0x01, 0x05, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
}

// RFC 2018 §3: with timestamps "a maximum of 3 SACK blocks will be allowed"; the first block
// is the most recent (§4), so the last one is dropped.
TEST(EmitOptionsTest, FourSackBlocksWithTimestampsTruncatedToThree) {
  TcpOptions o = WithSackBlocks({Block(10, 20), Block(30, 40), Block(50, 60), Block(70, 80)});
  o.timestamps = TcpOptions::Timestamps{1, 2};
  const Bytes bytes = Emitted(o, kNotSyn);
  EXPECT_EQ(bytes.size(), 12u + 4u + 3u * 8u);  // 40
  EXPECT_EQ(OptionsLength(o, kNotSyn), bytes.size());
  TcpOptions want = WithSackBlocks({Block(10, 20), Block(30, 40), Block(50, 60)});
  want.timestamps = o.timestamps;
  EXPECT_EQ(Parsed(bytes, kNotSyn), want);
}

TEST(EmitOptionsTest, FourSackBlocksWithoutTimestampsAllFit) {
  const TcpOptions o = WithSackBlocks({Block(10, 20), Block(30, 40), Block(50, 60), Block(70, 80)});
  const Bytes bytes = Emitted(o, kNotSyn);
  EXPECT_EQ(bytes.size(), 4u + 4u * 8u);  // 36
  EXPECT_EQ(Parsed(bytes, kNotSyn), o);
}

// ---------------------------------------------------------------------------------------------
// Emit then parse, across every combination
// ---------------------------------------------------------------------------------------------

// What a peer parsing Emitted(in, syn) should see.
TcpOptions WhatThePeerSees(const TcpOptions& in, bool syn) {
  TcpOptions seen;
  seen.timestamps = in.timestamps;
  if (syn) {
    seen.mss = in.mss;
    seen.window_scale = in.window_scale;
    seen.sack_permitted = in.sack_permitted;
  } else {
    const uint8_t fit = in.timestamps ? 3 : 4;
    seen.sack_block_count = std::min(in.sack_block_count, fit);
    std::copy_n(in.sack_blocks.begin(), seen.sack_block_count, seen.sack_blocks.begin());
  }
  return seen;
}

std::vector<TcpOptions> AllCombinations() {
  std::vector<TcpOptions> all;
  for (std::optional<uint16_t> mss :
       {std::optional<uint16_t>(), std::optional<uint16_t>(0), std::optional<uint16_t>(1460),
        std::optional<uint16_t>(0xffff)}) {
    for (std::optional<uint8_t> ws : {std::optional<uint8_t>(), std::optional<uint8_t>(0),
                                      std::optional<uint8_t>(7), std::optional<uint8_t>(14)}) {
      for (bool sack_permitted : {false, true}) {
        for (std::optional<TcpOptions::Timestamps> ts :
             {std::optional<TcpOptions::Timestamps>(),
              std::optional<TcpOptions::Timestamps>({0xfedcba98, 0x01234567})}) {
          for (uint8_t blocks = 0; blocks <= 4; ++blocks) {
            TcpOptions o;
            o.mss = mss;
            o.window_scale = ws;
            o.sack_permitted = sack_permitted;
            o.timestamps = ts;
            for (uint8_t b = 0; b < blocks; ++b) {
              o.sack_blocks[b] = Block(0xfffff000u + 0x1000u * b, 0xfffff800u + 0x1000u * b);
            }
            o.sack_block_count = blocks;
            all.push_back(o);
          }
        }
      }
    }
  }
  return all;
}

TEST(EmitOptionsTest, RoundTripsEveryCombination) {
  for (const TcpOptions& in : AllCombinations()) {
    for (bool syn : {kSyn, kNotSyn}) {
      SCOPED_TRACE(testing::PrintToString(in) + (syn ? " SYN" : " non-SYN"));
      EXPECT_EQ(Parsed(Emitted(in, syn), syn), WhatThePeerSees(in, syn));
    }
  }
}

// The sender budgets payload with OptionsLength (RFC 9293 §3.7.1, RFC 6691), so it must match.
TEST(EmitOptionsTest, OptionsLengthIsWhatEmitWrites) {
  for (const TcpOptions& in : AllCombinations()) {
    for (bool syn : {kSyn, kNotSyn}) {
      SCOPED_TRACE(testing::PrintToString(in) + (syn ? " SYN" : " non-SYN"));
      EXPECT_EQ(OptionsLength(in, syn), Emitted(in, syn).size());
    }
  }
}

// RFC 9293 §3.1: the data offset counts 32-bit words, so options are padded to a multiple of 4,
// and at most 40 bytes fit.
TEST(EmitOptionsTest, NeverMoreThan40BytesAndAlwaysWordAligned) {
  size_t longest = 0;
  for (const TcpOptions& in : AllCombinations()) {
    for (bool syn : {kSyn, kNotSyn}) {
      SCOPED_TRACE(testing::PrintToString(in) + (syn ? " SYN" : " non-SYN"));
      const size_t n = Emitted(in, syn).size();
      EXPECT_LE(n, kMaxOptionsLength);
      EXPECT_EQ(n % 4, 0u);
      longest = std::max(longest, n);
    }
  }
  EXPECT_EQ(longest, kMaxOptionsLength);  // the sweep does reach the limit
}

}  // namespace
}  // namespace ferry::tcp
