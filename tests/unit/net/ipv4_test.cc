// Tests for the RFC 791 IPv4 view and repr.
#include "net/ipv4.h"

#include <cstdint>
#include <span>
#include <sstream>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/parse_error.h"

namespace ferry::net {
namespace {

// An ICMP echo request 192.168.1.10 -> 192.168.1.1 as Linux ping sends it: DF, TTL 64, ID b5e1,
// header checksum 0174, 56 bytes of ICMP.
constexpr uint8_t kEchoPacket[] = {
    0x45, 0x00, 0x00, 0x4c, 0xb5, 0xe1, 0x40, 0x00, 0x40, 0x01, 0x01, 0x74, 0xc0, 0xa8, 0x01, 0x0a,
    0xc0, 0xa8, 0x01, 0x01, 0x08, 0x00, 0xff, 0x5f, 0x0d, 0x2a, 0x00, 0x01, 0xd2, 0x3c, 0x5a, 0x65,
    0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
    0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37};

// A UDP header's worth of IPv4 (192.168.0.1 -> 192.168.0.199, checksum b861) whose total
// length, 0x73, promises 95 bytes of payload.
constexpr uint8_t kUdpHeader[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// Recomputes the header checksum after a test edits a field, so that only the edit is at fault.
void FixChecksum(std::vector<uint8_t>& packet) {
  const size_t header_length = size_t{packet[0] & 0x0fu} * 4;
  StoreBe16(&packet[10], 0);
  StoreBe16(&packet[10], Ipv4HeaderChecksum(std::span(packet).first(header_length)));
}

ParseError ParseOf(std::span<const uint8_t> bytes, bool verify_checksum = true) {
  Ipv4View ip;
  return Ipv4View::Parse(bytes, ip, verify_checksum);
}

// ---------------------------------------------------------------------------------------------
// Valid packets
// ---------------------------------------------------------------------------------------------

TEST(Ipv4ViewTest, ParsesAnEchoRequestPacket) {
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(kEchoPacket, ip), ParseError::kOk);
  EXPECT_EQ(ip.version(), 4);
  EXPECT_EQ(ip.header_length(), 20u);
  EXPECT_EQ(ip.dscp(), 0);
  EXPECT_EQ(ip.ecn(), 0);
  EXPECT_EQ(ip.total_length(), 76);
  EXPECT_EQ(ip.identification(), 0xb5e1);
  EXPECT_TRUE(ip.dont_fragment());
  EXPECT_FALSE(ip.more_fragments());
  EXPECT_EQ(ip.fragment_offset(), 0);
  EXPECT_FALSE(ip.is_fragment());
  EXPECT_EQ(ip.ttl(), 64);
  EXPECT_EQ(ip.protocol(), IpProtocol::kIcmp);
  EXPECT_EQ(ip.header_checksum(), 0x0174);
  EXPECT_EQ(ip.source(), Ipv4Address::FromOctets(192, 168, 1, 10));
  EXPECT_EQ(ip.destination(), Ipv4Address::FromOctets(192, 168, 1, 1));
  EXPECT_TRUE(ip.options().empty());
  EXPECT_EQ(ip.header().data(), &kEchoPacket[0]);
  EXPECT_EQ(ip.header().size(), 20u);
  EXPECT_EQ(ip.payload().data(), &kEchoPacket[20]);
  EXPECT_EQ(ip.payload().size(), 56u);
}

TEST(Ipv4ViewTest, ParsesTheUdpHeaderVector) {
  std::vector<uint8_t> packet = Copy(kUdpHeader);
  packet.resize(0x73);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.protocol(), IpProtocol::kUdp);
  EXPECT_EQ(ip.header_checksum(), 0xb861);
  EXPECT_EQ(ip.source(), Ipv4Address::FromOctets(192, 168, 0, 1));
  EXPECT_EQ(ip.destination(), Ipv4Address::FromOctets(192, 168, 0, 199));
  EXPECT_EQ(ip.payload().size(), 95u);
}

TEST(Ipv4ViewTest, HeaderOnlyPacketHasEmptyPayload) {
  std::vector<uint8_t> packet = Copy(std::span(kEchoPacket).first(20));
  StoreBe16(&packet[2], 20);
  FixChecksum(packet);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_TRUE(ip.payload().empty());
}

TEST(Ipv4ViewTest, OptionsSitBetweenHeaderAndPayload) {
  // IHL 6 with one 4-byte option (Router Alert, RFC 2113: 94 04 00 00).
  std::vector<uint8_t> packet = Copy(std::span(kEchoPacket).first(20));
  const uint8_t option[] = {0x94, 0x04, 0x00, 0x00};
  packet.insert(packet.end(), std::begin(option), std::end(option));
  packet.insert(packet.end(), {0xaa, 0xbb});
  packet[0] = 0x46;
  StoreBe16(&packet[2], static_cast<uint16_t>(packet.size()));
  FixChecksum(packet);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.header_length(), 24u);
  EXPECT_EQ(ip.header().size(), 24u);
  ASSERT_EQ(ip.options().size(), 4u);
  EXPECT_EQ(ip.options()[0], 0x94);
  ASSERT_EQ(ip.payload().size(), 2u);
  EXPECT_EQ(ip.payload()[0], 0xaa);
}

TEST(Ipv4ViewTest, MaximumHeaderLengthHoldsFortyOptionBytes) {
  std::vector<uint8_t> packet = Copy(std::span(kEchoPacket).first(20));
  packet.resize(60, 0x01);  // NOPs
  packet[0] = 0x4f;
  StoreBe16(&packet[2], 60);
  FixChecksum(packet);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.options().size(), 40u);
  EXPECT_TRUE(ip.payload().empty());
}

TEST(Ipv4ViewTest, DscpAndEcnSplitTheSecondOctet) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  packet[1] = 0xb9;  // EF (46) and ECT(1)
  FixChecksum(packet);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.dscp(), 46);
  EXPECT_EQ(ip.ecn(), 1);
}

// ---------------------------------------------------------------------------------------------
// Fragments: the view reports, the host decides (RFC 791 §3.2, fragmentation and reassembly)
// ---------------------------------------------------------------------------------------------

Ipv4View WithFlagsAndOffset(std::vector<uint8_t>& packet, uint16_t flags_offset) {
  StoreBe16(&packet[6], flags_offset);
  FixChecksum(packet);
  Ipv4View ip;
  EXPECT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  return ip;
}

TEST(Ipv4ViewTest, FirstFragmentHasMoreFragments) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  const Ipv4View ip = WithFlagsAndOffset(packet, 0x2000);
  EXPECT_TRUE(ip.more_fragments());
  EXPECT_FALSE(ip.dont_fragment());
  EXPECT_EQ(ip.fragment_offset(), 0);
  EXPECT_TRUE(ip.is_fragment());
}

TEST(Ipv4ViewTest, LastFragmentHasAnOffset) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  const Ipv4View ip = WithFlagsAndOffset(packet, 185);  // 1480 bytes in
  EXPECT_FALSE(ip.more_fragments());
  EXPECT_EQ(ip.fragment_offset(), 185);
  EXPECT_TRUE(ip.is_fragment());
}

TEST(Ipv4ViewTest, OffsetUsesAllThirteenBits) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  const Ipv4View ip = WithFlagsAndOffset(packet, 0x3fff);
  EXPECT_TRUE(ip.more_fragments());
  EXPECT_EQ(ip.fragment_offset(), 0x1fff);
}

TEST(Ipv4ViewTest, DontFragmentAloneIsNotAFragment) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  const Ipv4View ip = WithFlagsAndOffset(packet, 0x4000);
  EXPECT_TRUE(ip.dont_fragment());
  EXPECT_FALSE(ip.is_fragment());
}

TEST(Ipv4ViewTest, TtlZeroIsNotTheViewsBusiness) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  packet[8] = 0;
  FixChecksum(packet);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.ttl(), 0);
}

// ---------------------------------------------------------------------------------------------
// Malformed packets, in the order Parse checks them
// ---------------------------------------------------------------------------------------------

TEST(Ipv4ViewTest, TruncatedAtEveryLengthBelow20) {
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(ParseOf(std::span(kEchoPacket).first(n)), ParseError::kTruncated) << "length " << n;
  }
}

TEST(Ipv4ViewTest, VersionOtherThan4) {
  for (uint8_t version : {0, 5, 6, 15}) {
    std::vector<uint8_t> packet = Copy(kEchoPacket);
    packet[0] = static_cast<uint8_t>(version << 4 | 5);
    FixChecksum(packet);
    EXPECT_EQ(ParseOf(packet), ParseError::kBadVersion) << "version " << int{version};
  }
}

TEST(Ipv4ViewTest, VersionIsCheckedBeforeHeaderLength) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  packet[0] = 0x60;  // an IPv6 packet's first nibble, and an IHL of 0
  EXPECT_EQ(ParseOf(packet), ParseError::kBadVersion);
}

// RFC 791 §3.1: "the minimum value for a correct header is 5".
TEST(Ipv4ViewTest, HeaderLengthBelowFiveWords) {
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    std::vector<uint8_t> packet = Copy(kEchoPacket);
    packet[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(ParseOf(packet), ParseError::kBadHeaderLength) << "IHL " << int{ihl};
  }
}

TEST(Ipv4ViewTest, HeaderLengthPastTheBuffer) {
  // IHL 15 (60 bytes) in a 40-byte buffer, and IHL 6 in a bare 20-byte header.
  std::vector<uint8_t> packet = Copy(std::span(kEchoPacket).first(40));
  packet[0] = 0x4f;
  StoreBe16(&packet[2], 40);
  EXPECT_EQ(ParseOf(packet), ParseError::kBadHeaderLength);

  std::vector<uint8_t> bare = Copy(std::span(kEchoPacket).first(20));
  bare[0] = 0x46;
  StoreBe16(&bare[2], 20);
  EXPECT_EQ(ParseOf(bare), ParseError::kBadHeaderLength);
}

TEST(Ipv4ViewTest, TotalLengthShorterThanTheHeader) {
  for (uint16_t total : {0, 1, 19}) {
    std::vector<uint8_t> packet = Copy(kEchoPacket);
    StoreBe16(&packet[2], total);
    FixChecksum(packet);
    EXPECT_EQ(ParseOf(packet), ParseError::kBadTotalLength) << "total length " << total;
  }
  // With options, 20 is still short: the header is 24.
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  packet[0] = 0x46;
  StoreBe16(&packet[2], 20);
  FixChecksum(packet);
  EXPECT_EQ(ParseOf(packet), ParseError::kBadTotalLength);
}

TEST(Ipv4ViewTest, TotalLengthPastTheBuffer) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  StoreBe16(&packet[2], static_cast<uint16_t>(packet.size() + 1));
  FixChecksum(packet);
  EXPECT_EQ(ParseOf(packet), ParseError::kBadTotalLength);
  // The same datagram cut short by one byte on the wire.
  EXPECT_EQ(ParseOf(std::span(kEchoPacket).first(sizeof(kEchoPacket) - 1)),
            ParseError::kBadTotalLength);
}

TEST(Ipv4ViewTest, TrailingPaddingIsNotPayload) {
  // A 28-byte datagram in a minimum Ethernet frame arrives with 18 bytes of padding.
  std::vector<uint8_t> packet = Copy(std::span(kEchoPacket).first(28));
  StoreBe16(&packet[2], 28);
  FixChecksum(packet);
  packet.resize(46, 0x00);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.total_length(), 28);
  EXPECT_EQ(ip.payload().size(), 8u);
  EXPECT_EQ(ip.payload().data(), &packet[20]);
}

TEST(Ipv4ViewTest, BadHeaderChecksum) {
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  packet[11] ^= 0x01;
  EXPECT_EQ(ParseOf(packet), ParseError::kBadChecksum);
  EXPECT_EQ(ParseOf(packet, /*verify_checksum=*/false), ParseError::kOk);
}

TEST(Ipv4ViewTest, ChecksumCoversEveryHeaderByteButNotThePayload) {
  for (size_t i = 0; i < 20; ++i) {
    if (i == 0 || i == 2 || i == 3) continue;  // these fail earlier checks instead
    std::vector<uint8_t> packet = Copy(kEchoPacket);
    packet[i] ^= 0x10;
    EXPECT_EQ(ParseOf(packet), ParseError::kBadChecksum) << "byte " << i;
  }
  std::vector<uint8_t> packet = Copy(kEchoPacket);
  packet[40] ^= 0xff;
  EXPECT_EQ(ParseOf(packet), ParseError::kOk);
}

TEST(Ipv4ViewTest, ChecksumCoversOptions) {
  std::vector<uint8_t> packet = Copy(std::span(kEchoPacket).first(24));
  packet[0] = 0x46;
  StoreBe16(&packet[2], 24);
  FixChecksum(packet);
  ASSERT_EQ(ParseOf(packet), ParseError::kOk);
  packet[22] ^= 0x01;
  EXPECT_EQ(ParseOf(packet), ParseError::kBadChecksum);
}

TEST(Ipv4ViewTest, FailedParseLeavesTheViewAlone) {
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(kEchoPacket, ip), ParseError::kOk);
  std::vector<uint8_t> bad = Copy(kEchoPacket);
  bad[11] ^= 0x01;
  ASSERT_EQ(Ipv4View::Parse(bad, ip), ParseError::kBadChecksum);
  EXPECT_EQ(ip.header().data(), &kEchoPacket[0]);
}

// ---------------------------------------------------------------------------------------------
// Ipv4Repr
// ---------------------------------------------------------------------------------------------

TEST(Ipv4ReprTest, EmitReproducesTheCapturedHeader) {
  const Ipv4Repr repr{.source = Ipv4Address::FromOctets(192, 168, 1, 10),
                      .destination = Ipv4Address::FromOctets(192, 168, 1, 1),
                      .protocol = IpProtocol::kIcmp,
                      .ttl = 64,
                      .payload_length = 56,
                      .identification = 0xb5e1,
                      .dont_fragment = true,
                      .dscp_ecn = 0};
  std::vector<uint8_t> out(Ipv4Repr::kLength);
  repr.Emit(out);
  EXPECT_EQ(out, Copy(std::span(kEchoPacket).first(20)));
}

TEST(Ipv4ReprTest, EmitThenParseRoundTrips) {
  const Ipv4Repr repr{.source = Ipv4Address::FromOctets(198, 18, 0, 1),
                      .destination = Ipv4Address::FromOctets(10, 1, 2, 3),
                      .protocol = IpProtocol::kTcp,
                      .ttl = 1,
                      .payload_length = 1460,
                      .identification = 0xbeef,
                      .dont_fragment = false,
                      .dscp_ecn = 0x2a};
  std::vector<uint8_t> packet(Ipv4Repr::kLength + repr.payload_length, 0xee);
  repr.Emit(packet);
  EXPECT_EQ(packet[20], 0xee);  // nothing written past the header
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.version(), 4);
  EXPECT_EQ(ip.header_length(), 20u);
  EXPECT_EQ(ip.source(), repr.source);
  EXPECT_EQ(ip.destination(), repr.destination);
  EXPECT_EQ(ip.protocol(), repr.protocol);
  EXPECT_EQ(ip.ttl(), repr.ttl);
  EXPECT_EQ(ip.total_length(), 20 + repr.payload_length);
  EXPECT_EQ(ip.payload().size(), repr.payload_length);
  EXPECT_EQ(ip.identification(), repr.identification);
  EXPECT_FALSE(ip.dont_fragment());
  EXPECT_FALSE(ip.is_fragment());
  EXPECT_EQ(ip.dscp(), 0x2a >> 2);
  EXPECT_EQ(ip.ecn(), 0x2a & 3);
}

TEST(Ipv4ReprTest, DefaultsAreTtl64AndDontFragment) {
  const Ipv4Repr repr{.source = Ipv4Address::FromOctets(1, 2, 3, 4),
                      .destination = Ipv4Address::FromOctets(5, 6, 7, 8),
                      .protocol = IpProtocol::kUdp,
                      .payload_length = 0};
  std::vector<uint8_t> packet(Ipv4Repr::kLength);
  repr.Emit(packet);
  Ipv4View ip;
  ASSERT_EQ(Ipv4View::Parse(packet, ip), ParseError::kOk);
  EXPECT_EQ(ip.ttl(), 64);
  EXPECT_TRUE(ip.dont_fragment());
  EXPECT_EQ(ip.identification(), 0);
}

TEST(Ipv4ReprTest, OffloadLeavesTheChecksumZero) {
  const Ipv4Repr repr{.source = Ipv4Address::FromOctets(192, 168, 1, 10),
                      .destination = Ipv4Address::FromOctets(192, 168, 1, 1),
                      .protocol = IpProtocol::kIcmp,
                      .payload_length = 0};
  std::vector<uint8_t> packet(Ipv4Repr::kLength, 0xee);
  repr.Emit(packet, /*fill_checksum=*/false);
  EXPECT_EQ(LoadBe16(&packet[10]), 0);
  EXPECT_EQ(ParseOf(packet), ParseError::kBadChecksum);
  EXPECT_EQ(ParseOf(packet, /*verify_checksum=*/false), ParseError::kOk);
}

// ---------------------------------------------------------------------------------------------
// ParseError names
// ---------------------------------------------------------------------------------------------

TEST(ParseErrorTest, NamesAreStable) {
  EXPECT_EQ(Name(ParseError::kOk), "ok");
  EXPECT_EQ(Name(ParseError::kTruncated), "truncated");
  EXPECT_EQ(Name(ParseError::kBadVersion), "bad_version");
  EXPECT_EQ(Name(ParseError::kBadHeaderLength), "bad_header_length");
  EXPECT_EQ(Name(ParseError::kBadTotalLength), "bad_total_length");
  EXPECT_EQ(Name(ParseError::kBadChecksum), "bad_checksum");
  EXPECT_EQ(Name(ParseError::kUnsupported), "unsupported");
  EXPECT_EQ(Name(ParseError::kBadDataOffset), "bad_data_offset");
  EXPECT_EQ(Name(static_cast<ParseError>(200)), "unknown");
  std::ostringstream os;
  os << ParseError::kBadChecksum;
  EXPECT_EQ(os.str(), "bad_checksum");
}

static_assert(Name(ParseError::kTruncated) == "truncated");

}  // namespace
}  // namespace ferry::net
