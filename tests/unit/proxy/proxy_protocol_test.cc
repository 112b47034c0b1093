// Tests for the PROXY protocol header ("The PROXY protocol, Versions 1 & 2", HAProxy, revision
// 2020/03/05). Expected bytes are written out by hand from the specification's text, not
// produced by the code under test; each test names the section it checks.
#include "proxy/proxy_protocol.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"

namespace ferry::proxy {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes FromString(std::string_view s) { return Bytes(s.begin(), s.end()); }

// "0d0a 0d0a" -> bytes; spaces are for the reader.
Bytes FromHex(std::string_view hex) {
  Bytes out;
  int high = -1;
  for (char ch : hex) {
    if (ch == ' ' || ch == '\n') continue;
    const int v = ch <= '9' ? ch - '0' : ch - 'a' + 10;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  EXPECT_EQ(high, -1) << "odd number of hex digits";
  return out;
}

std::string AsString(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }

// Bit-at-a-time CRC-32C straight from the definition (RFC 3720 §B.4): a third implementation,
// sharing no table or instruction with the two under test.
uint32_t BitwiseCrc32c(std::span<const uint8_t> data) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : data) {
    c ^= b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

// The spec's own v1 example (§2.1): "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".
constexpr ProxyAddresses kExample = {
    .source = net::Ipv4Address::FromOctets(192, 168, 0, 1),
    .destination = net::Ipv4Address::FromOctets(192, 168, 0, 11),
    .source_port = 56324,
    .destination_port = 443,
};

// Parses `b` exactly as sized: a vector with no slack, so a read past it is a read past the
// allocation (visible under AddressSanitizer).
ProxyHeaderError Parse(const Bytes& b, ProxyHeader& out) { return ParseProxyHeader(b, out); }
ProxyHeaderError Parse(const Bytes& b) {
  ProxyHeader ignored;
  return ParseProxyHeader(b, ignored);
}

// ============================================================================================
// CRC-32C (§2.2.3, RFC 4960 Appendix B)
// ============================================================================================

TEST(Crc32c, CheckValueOfTheCatalogue) {
  // The standard check value: CRC-32C of the nine ASCII digits.
  const Bytes digits = FromString("123456789");
  EXPECT_EQ(Crc32c(digits), 0xE3069283u);
  EXPECT_EQ(Crc32cPortableExtend(0, digits), 0xE3069283u);
  EXPECT_EQ(BitwiseCrc32c(digits), 0xE3069283u);
}

TEST(Crc32c, Rfc3720TestVectors) {
  // RFC 3720 §B.4 lists the CRC as the bytes sent on the wire, least significant first.
  Bytes zeros(32, 0x00), ones(32, 0xff), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<uint8_t>(i);
    down[i] = static_cast<uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(down), 0x113FDB5Cu);
  EXPECT_EQ(Crc32c({}), 0u);
}

TEST(Crc32c, HardwareEqualsPortableForEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  Bytes buffer(300 + 8);
  for (auto& b : buffer) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length = 0; length <= 300; ++length) {
      const std::span<const uint8_t> data(buffer.data() + offset, length);
      const uint32_t reference = BitwiseCrc32c(data);
      ASSERT_EQ(Crc32cPortableExtend(0, data), reference) << offset << "+" << length;
      ASSERT_EQ(Crc32c(data), reference) << offset << "+" << length;
    }
  }
  RecordProperty("crc32c_hardware", kCrc32cHardware ? "yes" : "no");
}

TEST(Crc32c, ExtendContinuesAcrossSplits) {
  const Bytes data = FromString("The PROXY protocol, Versions 1 & 2");
  const uint32_t whole = Crc32c(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    const std::span<const uint8_t> all(data);
    EXPECT_EQ(Crc32cExtend(Crc32c(all.first(cut)), all.subspan(cut)), whole) << cut;
    EXPECT_EQ(Crc32cPortableExtend(Crc32cPortableExtend(0, all.first(cut)), all.subspan(cut)),
              whole)
        << cut;
  }
}

// ============================================================================================
// v1 encoding (§2.1)
// ============================================================================================

TEST(EncodeV1, SpecExampleLine) {
  std::array<uint8_t, kV1MaxLength> out{};
  const size_t n = EncodeV1(kExample, out);
  EXPECT_EQ(AsString(std::span(out).first(n)),
            "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
}

TEST(EncodeV1, ZerosAreSingleDigitsWithoutHeadingZeroes) {
  std::array<uint8_t, kV1MaxLength> out{};
  const size_t n = EncodeV1(ProxyAddresses{}, out);
  EXPECT_EQ(AsString(std::span(out).first(n)), "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n");
  const ProxyAddresses tens = {net::Ipv4Address::FromOctets(10, 0, 100, 9),
                               net::Ipv4Address::FromOctets(100, 20, 3, 0), 80, 10000};
  const size_t m = EncodeV1(tens, out);
  EXPECT_EQ(AsString(std::span(out).first(m)), "PROXY TCP4 10.0.100.9 100.20.3.0 80 10000\r\n");
}

// §2.1: "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n" => 56 chars.
TEST(EncodeV1, LongestTcp4LineIs56BytesAndFitsExactly) {
  const ProxyAddresses widest = {net::Ipv4Address(0xffffffff), net::Ipv4Address(0xffffffff),
                                 65535, 65535};
  std::array<uint8_t, kV1Tcp4MaxLength> exact{};
  ASSERT_EQ(EncodeV1(widest, exact), 56u);
  EXPECT_EQ(AsString(exact), "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
  EXPECT_LE(kV1Tcp4MaxLength, kV1MaxLength);
}

TEST(EncodeV1, SpanShorterThanTheLongestLineGetsNothing) {
  // The check is against the worst case, so the caller's buffer rule does not depend on the
  // addresses of this one connection.
  Bytes out(kV1Tcp4MaxLength - 1, 0xAA);
  EXPECT_EQ(EncodeV1(kExample, out), 0u);
  EXPECT_EQ(out, Bytes(kV1Tcp4MaxLength - 1, 0xAA)) << "untouched on failure";
  EXPECT_EQ(EncodeV1(kExample, {}), 0u);
}

// ============================================================================================
// v2 encoding (§2.2)
// ============================================================================================

// §2.2, by hand: signature; 0x21 = version 2, PROXY; 0x11 = AF_INET, STREAM; length 12;
// 192.168.0.1, 192.168.0.11, 56324 = 0xdc04, 443 = 0x01bb.
const Bytes kExampleV2 = FromHex(
    "0d0a0d0a 000d0a51 5549540a"
    "21 11 000c"
    "c0a80001 c0a8000b dc04 01bb");

TEST(EncodeV2, ProxyTcp4ExactBytes) {
  std::array<uint8_t, 64> out{};
  const size_t n = EncodeV2(kExample, out);
  ASSERT_EQ(n, 28u);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + n), kExampleV2);
}

// §2.2: LOCAL "should not present any address so it sets this field to zero"; family UNSPEC.
TEST(EncodeV2, LocalForHealthChecksExactBytes) {
  std::array<uint8_t, 64> out{};
  const size_t n = EncodeV2Local(out);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + n), FromHex("0d0a0d0a000d0a515549540a 20 00 0000"));
}

TEST(EncodeV2, EverySpanTooShortGetsZero) {
  for (size_t size = 0; size < 28; ++size) {
    Bytes out(size);
    EXPECT_EQ(EncodeV2(kExample, out), 0u) << size;
    EXPECT_EQ(EncodeV2Local(out), size >= 16 ? 16u : 0u) << size;
  }
}

TEST(EncodeV2, TlvsFollowTheAddressBlockInOrder) {
  // §2.2: "The first byte is the Type of the vector. The second two bytes represent the length
  // in bytes of the value", big-endian.
  const Bytes custom = FromHex("cafe");
  const std::array<Tlv, 2> config = {Tlv{0xE0, custom}, Tlv{0xE1, {}}};
  const std::array<uint8_t, 4> id = {1, 2, 3, 4};
  std::array<uint8_t, 128> out{};
  V2Writer w = V2Writer::Proxy(kExample, out);
  w.AddTlvs(config);
  w.AddAuthority("example.com");  // §2.2.2
  w.AddUniqueId(id);              // §2.2.5
  w.AddNetns("blue");             // §2.2.7
  const size_t n = w.Finish();
  // 12 + (3+2) + (3+0) + (3+11) + (3+4) + (3+4) = 48 = 0x30
  const Bytes expected = FromHex(
      "0d0a0d0a000d0a515549540a 21 11 0030"
      "c0a80001 c0a8000b dc04 01bb"
      "e0 0002 cafe"
      "e1 0000"
      "02 000b 6578616d706c652e636f6d"  // "example.com"
      "05 0004 01020304"
      "30 0004 626c7565");  // "blue"
  EXPECT_EQ(Bytes(out.begin(), out.begin() + n), expected);
}

// §2.2.3: the sender zeroes the field, checksums the whole header, stores the result.
TEST(EncodeV2, Crc32cCoversTheWholeHeaderWithItsFieldZeroed) {
  std::array<uint8_t, 128> out{};
  V2Writer w = V2Writer::Proxy(kExample, out);
  w.AddCrc32c();
  w.AddAuthority("example.com");
  const size_t n = w.Finish();
  ASSERT_EQ(n, 28u + 7u + 14u);
  Bytes header(out.begin(), out.begin() + n);
  // The TLV sits right after the address block: type 03, length 0004, then the CRC.
  EXPECT_EQ(Bytes(header.begin() + 28, header.begin() + 31), FromHex("03 0004"));
  const uint32_t stored = uint32_t{header[31]} << 24 | uint32_t{header[32]} << 16 |
                          uint32_t{header[33]} << 8 | header[34];
  std::fill(header.begin() + 31, header.begin() + 35, 0);
  EXPECT_EQ(stored, BitwiseCrc32c(header)) << "network byte order, over the zeroed header";
}

TEST(EncodeV2, LocalMayCarryAChecksum) {
  std::array<uint8_t, 64> out{};
  V2Writer w = V2Writer::Local(out);
  w.AddCrc32c();
  const size_t n = w.Finish();
  ASSERT_EQ(n, 23u);
  ProxyHeader h;
  ASSERT_EQ(ParseV2(std::span(out).first(n), h), ProxyHeaderError::kOk);
  EXPECT_EQ(h.command, Command::kLocal);
  EXPECT_FALSE(h.addresses);
  ASSERT_TRUE(h.tlvs.Find(Pp2Type::kCrc32c));
}

// §2.2.4: NOOP "can be used to align only by 3 or more bytes because a TLV can not be smaller".
TEST(EncodeV2, NoopPadsToTheAlignment) {
  struct Case {
    std::string_view authority;
    size_t alignment;
    size_t expected_length;
    size_t expected_noop_value;
  };
  const Case cases[] = {
      {"", 0, 28, 0},      // no padding asked
      {"", 1, 28, 0},      // every length is a multiple of 1
      {"", 4, 28, 0},      // already aligned: no NOOP at all
      {"", 8, 32, 1},      // gap 4: NOOP with one byte of value
      {"", 16, 32, 1},     // gap 4
      {"", 32, 32, 1},     // gap 4
      {"ab", 4, 36, 0},    // 33: gap 3, an empty NOOP
      {"abc", 4, 40, 3},   // 34: gap 2 is too small, widened to 6
      {"abcd", 4, 40, 2},  // 35: gap 1 widened to 5
      {"abcd", 2, 38, 0},  // 35: gap 1 widened to 3
      {"abcde", 64, 64, 25},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "authority=" << c.authority << " align=" << c.alignment);
    std::array<uint8_t, 256> out{};
    V2Writer w = V2Writer::Proxy(kExample, out);
    if (!c.authority.empty()) w.AddAuthority(c.authority);
    const size_t n = w.Finish(c.alignment);
    ASSERT_EQ(n, c.expected_length);
    ProxyHeader h;
    ASSERT_EQ(ParseV2(std::span(out).first(n), h), ProxyHeaderError::kOk);
    const std::optional<Tlv> noop = h.tlvs.Find(Pp2Type::kNoop);
    if (n == 28 + (c.authority.empty() ? 0 : 3 + c.authority.size())) {
      EXPECT_FALSE(noop);
    } else {
      ASSERT_TRUE(noop);
      EXPECT_EQ(noop->value.size(), c.expected_noop_value);
      EXPECT_TRUE(std::ranges::all_of(noop->value, [](uint8_t b) { return b == 0; }));
    }
  }
}

TEST(EncodeV2, PaddingComesBeforeTheChecksumIsComputed) {
  std::array<uint8_t, 64> out{};
  V2Writer w = V2Writer::Proxy(kExample, out);
  w.AddCrc32c();
  const size_t n = w.Finish(16);  // 35 -> 48
  ASSERT_EQ(n, 48u);
  ProxyHeader h;
  EXPECT_EQ(ParseV2(std::span(out).first(n), h), ProxyHeaderError::kOk);
}

TEST(EncodeV2, RefusesWhatTheSpecForbidsOrWhatDoesNotFit) {
  std::array<uint8_t, 512> out{};
  const Bytes value(4, 0);
  {
    // The checksum's value is computed; a configured one would be wrong.
    V2Writer w = V2Writer::Proxy(kExample, out);
    w.AddTlv(Pp2Type::kCrc32c, value);
    EXPECT_FALSE(w.ok());
    EXPECT_EQ(w.Finish(), 0u);
  }
  {
    V2Writer w = V2Writer::Proxy(kExample, out);
    w.AddCrc32c();
    w.AddCrc32c();
    EXPECT_EQ(w.Finish(), 0u) << "one checksum field";
  }
  {
    // §2.2.5: "up to 128 bytes".
    const Bytes id128(128, 7), id129(129, 7);
    V2Writer ok = V2Writer::Proxy(kExample, out);
    ok.AddUniqueId(id128);
    EXPECT_EQ(ok.Finish(), 28u + 3u + 128u);
    V2Writer bad = V2Writer::Proxy(kExample, out);
    bad.AddUniqueId(id129);
    EXPECT_EQ(bad.Finish(), 0u);
  }
  {
    // A TLV that runs one byte past the span; then later steps stay failed.
    Bytes small(28 + 3 + 3);
    V2Writer w = V2Writer::Proxy(kExample, small);
    w.AddTlv(0xE0, value);
    EXPECT_FALSE(w.ok());
    w.AddTlv(0xE0, {});
    EXPECT_EQ(w.Finish(), 0u);
    V2Writer fits = V2Writer::Proxy(kExample, small);
    fits.AddTlv(0xE0, FromHex("aabbcc"));
    EXPECT_EQ(fits.Finish(), small.size());
  }
  {
    // Padding that does not fit.
    Bytes small(30);
    V2Writer w = V2Writer::Proxy(kExample, small);
    EXPECT_EQ(w.Finish(8), 0u);
  }
}

TEST(EncodeV2, LengthFieldLimitsTheHeaderTo65535BytesAfterTheFixedPart) {
  Bytes out(kV2MaxLength + 100);
  const Bytes too_long(0x10000, 1);
  {
    V2Writer w = V2Writer::Local(out);
    w.AddTlv(0xE0, too_long);  // value length does not fit 16 bits
    EXPECT_EQ(w.Finish(), 0u);
  }
  {
    // 16 + (3 + 65532) = 16 + 65535: the largest header there is.
    V2Writer w = V2Writer::Local(out);
    w.AddTlv(0xE0, std::span(too_long).first(65532));
    EXPECT_EQ(w.Finish(), kV2MaxLength);
    ProxyHeader h;
    EXPECT_EQ(ParseV2(std::span(out).first(kV2MaxLength), h), ProxyHeaderError::kOk);
  }
  {
    V2Writer w = V2Writer::Local(out);
    w.AddTlv(0xE0, std::span(too_long).first(65533));
    EXPECT_EQ(w.Finish(), 0u) << "one byte over the length field";
  }
}

// ============================================================================================
// v1 decoding (§2.1)
// ============================================================================================

TEST(ParseV1, SpecExampleBeforeAnHttpRequest) {
  const Bytes b = FromString(
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n"
      "\r\n");
  ProxyHeader h;
  ASSERT_EQ(Parse(b, h), ProxyHeaderError::kOk);
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.command, Command::kProxy);
  EXPECT_EQ(h.family, V2Family::kTcp4);
  ASSERT_TRUE(h.addresses);
  EXPECT_EQ(*h.addresses, kExample);
  EXPECT_EQ(h.length, 47u) << "the payload starts at GET";
  EXPECT_EQ(b[h.length], 'G');
  EXPECT_TRUE(h.tlvs.empty());
}

// §2.1: for "UNKNOWN" "the receiver must ignore anything presented before the CRLF".
TEST(ParseV1, UnknownCarriesNoAddressesAndIgnoresTheRest) {
  for (std::string_view line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ::1 1 2\r\n",
                                "PROXY UNKNOWN  anything\tat all\n\r\n"}) {
    ProxyHeader h;
    ASSERT_EQ(Parse(FromString(line), h), ProxyHeaderError::kOk) << line;
    EXPECT_FALSE(h.addresses);
    EXPECT_EQ(h.family, V2Family::kUnspec);
    EXPECT_EQ(h.length, line.size());
  }
}

TEST(ParseV1, EveryTruncationWaitsForMore) {
  const Bytes line = FromString("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  for (size_t n = 0; n < line.size(); ++n) {
    EXPECT_EQ(Parse(Bytes(line.begin(), line.begin() + n)), ProxyHeaderError::kTruncated) << n;
  }
}

// §2.1: "If the CRLF sequence is not found in the first 107 characters, the receiver should
// declare the line invalid."
TEST(ParseV1, NoCrlfWithin107BytesIsInvalid) {
  std::string longest = "PROXY UNKNOWN ";
  longest.append(kV1MaxLength - longest.size() - 2, 'x');
  longest += "\r\n";
  ASSERT_EQ(longest.size(), 107u);
  EXPECT_EQ(Parse(FromString(longest)), ProxyHeaderError::kOk);
  std::string too_long = longest;
  too_long.insert(20, "x");
  EXPECT_EQ(Parse(FromString(too_long)), ProxyHeaderError::kBadLength);
  EXPECT_EQ(Parse(FromString(too_long.substr(0, 106))), ProxyHeaderError::kTruncated);
  EXPECT_EQ(Parse(FromString(too_long.substr(0, 107))), ProxyHeaderError::kBadLength);
}

// §2.1: "The receiver must not tolerate a single CR or LF character to end the line".
TEST(ParseV1, LoneCrOrLfDoesNotEndTheLine) {
  EXPECT_EQ(Parse(FromString("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n")), ProxyHeaderError::kTruncated);
  EXPECT_EQ(Parse(FromString("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r")), ProxyHeaderError::kTruncated);
  EXPECT_EQ(Parse(FromString("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n\r\n")),
            ProxyHeaderError::kBadAddress);
  EXPECT_EQ(Parse(FromString("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n")),
            ProxyHeaderError::kBadSyntax);
}

TEST(ParseV1, RejectsWhatDoesNotMatchTheGrammar) {
  struct Case {
    std::string_view line;
    ProxyHeaderError error;
  };
  const Case cases[] = {
      {"PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadSignature},
      {"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadSignature},
      {"GET / HTTP/1.1\r\n", ProxyHeaderError::kBadSignature},
      {"PROXY\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY \r\n", ProxyHeaderError::kBadSyntax},
      {"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4\r\n", ProxyHeaderError::kBadSyntax},
      {"PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadFamily},
      {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadFamily},
      {"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadFamily},
      {"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadFamily},
      {"PROXY UNKNOWNX\r\n", ProxyHeaderError::kBadFamily},
      {"PROXY TCP6 ::1 ::1 1 2\r\n", ProxyHeaderError::kUnsupported},
      // §2.1: "Heading zeroes are not permitted", ranges [0..255] and [0..65535].
      {"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4 5.6.7.00 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.+4 5.6.7.8 1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 0x50\r\n", ProxyHeaderError::kBadAddress},
      {"PROXY TCP4 1.2.3.4 5.6.7.8 1 4294967297\r\n", ProxyHeaderError::kBadAddress},
  };
  for (const Case& c : cases) {
    ProxyHeader h;
    h.version = 9;
    EXPECT_EQ(Parse(FromString(c.line), h), c.error) << c.line;
    EXPECT_EQ(h.version, 9) << "out untouched on error: " << c.line;
  }
}

TEST(ParseV1, RoundTripsWhatTheEncoderWrites) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 1000; ++i) {
    const ProxyAddresses a = {net::Ipv4Address(static_cast<uint32_t>(rng())),
                              net::Ipv4Address(static_cast<uint32_t>(rng())),
                              static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
    std::array<uint8_t, kV1Tcp4MaxLength> out{};
    const size_t n = EncodeV1(a, out);
    ProxyHeader h;
    ASSERT_EQ(ParseV1(std::span(out).first(n), h), ProxyHeaderError::kOk);
    ASSERT_EQ(h.length, n);
    ASSERT_EQ(h.addresses, a);
  }
}

// ============================================================================================
// v2 decoding (§2.2)
// ============================================================================================

// A header with every feature: TLVs from config, authority, unique ID, netns, CRC.
Bytes FullV2Header() {
  const Bytes custom = FromHex("0102");
  const std::array<Tlv, 1> config = {Tlv{0xE3, custom}};
  const Bytes id = FromHex("deadbeef");
  std::array<uint8_t, 256> out{};
  V2Writer w = V2Writer::Proxy(kExample, out);
  w.AddCrc32c();
  w.AddTlvs(config);
  w.AddAuthority("example.com");
  w.AddUniqueId(id);
  w.AddNetns("blue");
  const size_t n = w.Finish(8);
  EXPECT_GT(n, 0u);
  return Bytes(out.begin(), out.begin() + n);
}

TEST(ParseV2, SpecLayoutExample) {
  Bytes b = kExampleV2;
  b.insert(b.end(), {'G', 'E', 'T'});
  ProxyHeader h;
  ASSERT_EQ(Parse(b, h), ProxyHeaderError::kOk);
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.command, Command::kProxy);
  EXPECT_EQ(h.family, V2Family::kTcp4);
  EXPECT_EQ(h.addresses, kExample);
  EXPECT_EQ(h.length, 28u) << "16 + the length field";
  EXPECT_TRUE(h.tlvs.empty());
}

TEST(ParseV2, TlvsRoundTripInOrder) {
  const Bytes b = FullV2Header();
  ProxyHeader h;
  ASSERT_EQ(Parse(b, h), ProxyHeaderError::kOk);
  EXPECT_EQ(h.length, b.size());
  EXPECT_EQ(h.length % 8, 0u);
  std::vector<uint8_t> types;
  for (const Tlv& tlv : h.tlvs) types.push_back(tlv.type);
  EXPECT_EQ(types, (std::vector<uint8_t>{Pp2Type::kCrc32c, 0xE3, Pp2Type::kAuthority,
                                         Pp2Type::kUniqueId, Pp2Type::kNetns, Pp2Type::kNoop}));
  const Bytes custom = FromHex("0102"), id = FromHex("deadbeef");
  EXPECT_EQ(h.tlvs.Find(0xE3), (Tlv{0xE3, custom}));
  EXPECT_EQ(AsString(h.tlvs.Find(Pp2Type::kAuthority)->value), "example.com");
  EXPECT_EQ(h.tlvs.Find(Pp2Type::kUniqueId), (Tlv{Pp2Type::kUniqueId, id}));
  EXPECT_EQ(AsString(h.tlvs.Find(Pp2Type::kNetns)->value), "blue");
  EXPECT_FALSE(h.tlvs.Find(Pp2Type::kAlpn));
}

TEST(ParseV2, RoundTripsRandomAddresses) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 1000; ++i) {
    const ProxyAddresses a = {net::Ipv4Address(static_cast<uint32_t>(rng())),
                              net::Ipv4Address(static_cast<uint32_t>(rng())),
                              static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng())};
    std::array<uint8_t, 64> out{};
    V2Writer w = V2Writer::Proxy(a, out);
    w.AddCrc32c();
    const size_t n = w.Finish(static_cast<size_t>(rng() % 17));
    ProxyHeader h;
    ASSERT_EQ(ParseV2(std::span(out).first(n), h), ProxyHeaderError::kOk);
    ASSERT_EQ(h.addresses, a);
    ASSERT_EQ(h.length, n);
  }
}

// §2.2: "The receiver must also reject incoming connections containing partial protocol
// headers."
TEST(ParseV2, EveryTruncationIsRejected) {
  for (const Bytes& whole : {kExampleV2, FullV2Header()}) {
    for (size_t n = 0; n < whole.size(); ++n) {
      EXPECT_EQ(Parse(Bytes(whole.begin(), whole.begin() + n)), ProxyHeaderError::kTruncated)
          << n << " of " << whole.size();
    }
  }
}

TEST(ParseV2, EverySignatureByteIsChecked) {
  for (size_t i = 0; i < 12; ++i) {
    Bytes b = kExampleV2;
    b[i] ^= 0x40;
    // The first byte chooses between the versions; either way it is no PROXY header.
    EXPECT_EQ(Parse(b), ProxyHeaderError::kBadSignature) << i;
    ProxyHeader h;
    EXPECT_EQ(ParseV2(b, h), ProxyHeaderError::kBadSignature) << i;
  }
  // A bad byte is reported as soon as it arrives, not after the rest.
  EXPECT_EQ(Parse(FromHex("0d0a0d0b")), ProxyHeaderError::kBadSignature);
}

// §2.2: the version "must always be sent as \x2 and the receiver must only accept this value";
// for the command, "Receivers must drop connections presenting unexpected values here."
TEST(ParseV2, VersionAndCommandNibbles) {
  for (int byte = 0; byte < 256; ++byte) {
    Bytes b = kExampleV2;
    b[12] = static_cast<uint8_t>(byte);
    const ProxyHeaderError expected = (byte >> 4) != 2 ? ProxyHeaderError::kBadVersion
                                      : (byte & 0xf) > 1 ? ProxyHeaderError::kBadCommand
                                                         : ProxyHeaderError::kOk;
    EXPECT_EQ(Parse(b), expected) << std::hex << byte;
    // Reported from the 13th byte on, before the rest arrives.
    EXPECT_EQ(Parse(Bytes(b.begin(), b.begin() + 13)),
              expected == ProxyHeaderError::kOk ? ProxyHeaderError::kTruncated : expected);
  }
}

// §2.2: family and protocol values other than those listed "must be rejected as invalid".
TEST(ParseV2, OnlyListedFamilyBytesAreAccepted) {
  const std::array<uint8_t, 7> listed = {0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32};
  for (int byte = 0; byte < 256; ++byte) {
    Bytes b = FromHex("0d0a0d0a000d0a515549540a 21 00 00d8");  // length 216: fits any family
    b[13] = static_cast<uint8_t>(byte);
    b.resize(16 + 216, 0);
    const bool ok = std::ranges::find(listed, byte) != listed.end();
    // 0x11 with 204 zero bytes after the addresses: 68 NOOP-free TLVs of type 0, length 0.
    EXPECT_EQ(Parse(b), ok ? ProxyHeaderError::kOk : ProxyHeaderError::kBadFamily)
        << std::hex << byte;
  }
}

// §2.2: a receiver "is not required to implement other ones, provided that it automatically
// falls back to the UNSPEC mode for the valid combinations above that it does not support".
TEST(ParseV2, FamiliesFerryDoesNotDecodeFallBackToNoAddresses) {
  struct Case {
    uint8_t family;
    size_t address_length;
  };
  for (const Case c : {Case{0x00, 0}, Case{0x12, 12}, Case{0x21, 36}, Case{0x22, 36},
                       Case{0x31, 216}, Case{0x32, 216}}) {
    Bytes b = FromHex("0d0a0d0a000d0a515549540a 21");
    b.push_back(c.family);
    const size_t length = c.address_length + 7;
    b.push_back(static_cast<uint8_t>(length >> 8));
    b.push_back(static_cast<uint8_t>(length));
    b.resize(16 + c.address_length, 0x5a);
    b.insert(b.end(), {0xE0, 0x00, 0x04, 't', 'a', 'i', 'l'});
    ProxyHeader h;
    ASSERT_EQ(Parse(b, h), ProxyHeaderError::kOk) << std::hex << int{c.family};
    EXPECT_FALSE(h.addresses);
    EXPECT_EQ(h.family, c.family);
    EXPECT_EQ(h.length, b.size());
    ASSERT_TRUE(h.tlvs.Find(0xE0)) << "TLVs start after the family's address block";
    EXPECT_EQ(AsString(h.tlvs.Find(0xE0)->value), "tail");
  }
}

// §2.2: LOCAL: "discard the protocol block"; "must not assume zero is presented for LOCAL".
TEST(ParseV2, LocalIgnoresAnyAddressBlock) {
  ProxyHeader h;
  ASSERT_EQ(Parse(FromHex("0d0a0d0a000d0a515549540a 20 00 0000"), h), ProxyHeaderError::kOk);
  EXPECT_EQ(h.command, Command::kLocal);
  EXPECT_FALSE(h.addresses);
  EXPECT_EQ(h.length, 16u);

  Bytes with_addresses = kExampleV2;
  with_addresses[12] = 0x20;
  with_addresses[15] = 12 + 3;
  with_addresses.insert(with_addresses.end(), {Pp2Type::kNoop, 0x00, 0x00});
  ASSERT_EQ(Parse(with_addresses, h), ProxyHeaderError::kOk);
  EXPECT_EQ(h.command, Command::kLocal);
  EXPECT_FALSE(h.addresses) << "the real endpoints are used";
  EXPECT_EQ(h.length, 31u);
  EXPECT_TRUE(h.tlvs.Find(Pp2Type::kNoop));
}

TEST(ParseV2, LengthShorterThanTheAddressBlockIsRejectedAtOnce) {
  for (const auto& [family, minimum] :
       {std::pair{0x11, 12}, {0x12, 12}, {0x21, 36}, {0x22, 36}, {0x31, 216}, {0x32, 216}}) {
    Bytes b = FromHex("0d0a0d0a000d0a515549540a 21");
    b.push_back(static_cast<uint8_t>(family));
    b.push_back(0);
    b.push_back(static_cast<uint8_t>(minimum - 1));
    // Only the 16 fixed bytes are present: the error does not wait for the rest.
    EXPECT_EQ(Parse(b), ProxyHeaderError::kBadLength) << std::hex << family;
  }
}

TEST(ParseV2, TlvsMustTileTheRestOfTheHeaderExactly) {
  const auto with_tail = [](std::string_view tlv_hex) {
    const Bytes tail = FromHex(tlv_hex);
    Bytes b = kExampleV2;
    b[15] = static_cast<uint8_t>(12 + tail.size());
    b.insert(b.end(), tail.begin(), tail.end());
    return b;
  };
  EXPECT_EQ(Parse(with_tail("e0 0000")), ProxyHeaderError::kOk);
  EXPECT_EQ(Parse(with_tail("e0 0001 ff")), ProxyHeaderError::kOk);
  EXPECT_EQ(Parse(with_tail("e0")), ProxyHeaderError::kBadTlv) << "type without length";
  EXPECT_EQ(Parse(with_tail("e0 00")), ProxyHeaderError::kBadTlv) << "half a length";
  EXPECT_EQ(Parse(with_tail("e0 0002 ff")), ProxyHeaderError::kBadTlv) << "value past the end";
  EXPECT_EQ(Parse(with_tail("e0 0000 e1")), ProxyHeaderError::kBadTlv) << "a trailing byte";
  EXPECT_EQ(Parse(with_tail("e0 ffff 00")), ProxyHeaderError::kBadTlv);
  // §2.2.3: the checksum is 32 bits; §2.2.5: the unique ID at most 128 bytes.
  EXPECT_EQ(Parse(with_tail("03 0003 000000")), ProxyHeaderError::kBadTlv);
  Bytes long_id = with_tail("05 0081");
  long_id[15] += 129;
  long_id.resize(long_id.size() + 129, 'i');
  EXPECT_EQ(Parse(long_id), ProxyHeaderError::kBadTlv);
  Bytes id128 = with_tail("05 0080");
  id128[15] += 128;
  id128.resize(id128.size() + 128, 'i');
  EXPECT_EQ(Parse(id128), ProxyHeaderError::kOk);
}

// §2.2.3: "If it is not, the receiver MUST treat the TCP connection ... as invalid."
TEST(ParseV2, ChecksumCatchesEveryFlippedBit) {
  const Bytes good = FullV2Header();
  ASSERT_EQ(Parse(good), ProxyHeaderError::kOk);
  for (size_t i = 0; i < good.size(); ++i) {
    // The one byte the checksum cannot protect: the CRC TLV's own type. Changed, there is no
    // checksum to verify (§2.2.3 defines none for that case).
    if (i == 28) continue;
    for (int bit = 0; bit < 8; ++bit) {
      Bytes b = good;
      b[i] ^= static_cast<uint8_t>(1 << bit);
      // A flip in a TLV's framing may be caught as bad framing first; never accepted.
      EXPECT_NE(Parse(b), ProxyHeaderError::kOk) << i << "." << bit;
    }
  }
  Bytes flipped_address = good;
  flipped_address[19] ^= 1;
  EXPECT_EQ(Parse(flipped_address), ProxyHeaderError::kBadChecksum);
  Bytes flipped_crc = good;
  flipped_crc[31] ^= 0x80;
  EXPECT_EQ(Parse(flipped_crc), ProxyHeaderError::kBadChecksum);
}

TEST(ParseV2, TwoChecksumsAreMalformed) {
  Bytes b = kExampleV2;
  b[15] = 12 + 14;
  b.insert(b.end(), {0x03, 0x00, 0x04, 0, 0, 0, 0, 0x03, 0x00, 0x04, 0, 0, 0, 0});
  EXPECT_EQ(Parse(b), ProxyHeaderError::kBadTlv);
}

// ============================================================================================
// Either version
// ============================================================================================

TEST(ParseProxyHeader, FirstByteChoosesTheVersion) {
  EXPECT_EQ(Parse(Bytes{}), ProxyHeaderError::kTruncated);
  EXPECT_EQ(Parse(FromString("P")), ProxyHeaderError::kTruncated);
  EXPECT_EQ(Parse(FromHex("0d")), ProxyHeaderError::kTruncated);
  EXPECT_EQ(Parse(FromString("\x16\x03\x01")), ProxyHeaderError::kBadSignature) << "TLS";
  EXPECT_EQ(Parse(FromString("SSH-2.0")), ProxyHeaderError::kBadSignature);
  // Each version's parser refuses the other's header.
  ProxyHeader h;
  EXPECT_EQ(ParseV1(kExampleV2, h), ProxyHeaderError::kBadSignature);
  EXPECT_EQ(ParseV2(FromString("PROXY UNKNOWN\r\n"), h), ProxyHeaderError::kBadSignature);
}

TEST(ProxyHeaderError, EveryValueHasAName) {
  for (int e = 0; e <= static_cast<int>(ProxyHeaderError::kBadChecksum); ++e) {
    EXPECT_NE(Name(static_cast<ProxyHeaderError>(e)), "unknown") << e;
  }
  EXPECT_EQ(Name(static_cast<ProxyHeaderError>(200)), "unknown");
}

// No input makes a decoder read outside its span or accept a length it does not have. Each
// input is a vector of exactly its size (run under -fsanitize=address to make overreads
// loud). Mutations of valid headers reach deep paths; random bytes exercise the early ones.
TEST(ParseProxyHeader, SurvivesMutationsAndNoise) {
  std::mt19937_64 rng(3);
  const Bytes seeds[] = {kExampleV2, FullV2Header(),
                         FromString("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
                         FromString("PROXY UNKNOWN\r\n")};
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b = seeds[rng() % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      switch (rng() % 4) {
        case 0:
          b[rng() % b.size()] = static_cast<uint8_t>(rng());
          break;
        case 1:
          b.resize(rng() % (b.size() + 1));
          break;
        case 2:
          b.insert(b.begin() + static_cast<ptrdiff_t>(rng() % b.size()),
                   static_cast<uint8_t>(rng()));
          break;
        case 3:
          if (b.size() > 15) b[14 + rng() % 2] = static_cast<uint8_t>(rng());
          break;
      }
    }
    if (i % 4 == 0) {
      b.resize(rng() % 64);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
    }
    ProxyHeader h;
    if (ParseProxyHeader(b, h) == ProxyHeaderError::kOk) {
      ++accepted;
      ASSERT_LE(h.length, b.size());
      for (const Tlv& tlv : h.tlvs) {
        ASSERT_GE(tlv.value.data(), b.data());
        ASSERT_LE(tlv.value.data() + tlv.value.size(), b.data() + h.length);
      }
    }
  }
  EXPECT_GT(accepted, 0) << "the mutations should leave some headers valid";
}

}  // namespace
}  // namespace ferry::proxy
