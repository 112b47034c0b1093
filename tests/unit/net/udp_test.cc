// Tests for the RFC 768 UDP view and its checksum check.
#include "net/udp.h"

#include <cstdint>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/bytes.h"
#include "net/parse_error.h"

namespace ferry::net {
namespace {

const Ipv4Address kSrc = Ipv4Address::FromOctets(192, 168, 0, 1);
const Ipv4Address kDst = Ipv4Address::FromOctets(8, 8, 8, 8);

// 192.168.0.1:53000 -> 8.8.8.8:53, a DNS query for example.com A. Length 37, checksum e471.
constexpr uint8_t kDnsQuery[] = {0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0xe4, 0x71, 0xab, 0xcd,
                                 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
                                 0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01};

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

TEST(UdpViewTest, ParsesADnsQuery) {
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(kDnsQuery, udp), ParseError::kOk);
  EXPECT_EQ(udp.source_port(), 53000);
  EXPECT_EQ(udp.destination_port(), 53);
  EXPECT_EQ(udp.length(), 37);
  EXPECT_EQ(udp.checksum(), 0xe471);
  ASSERT_EQ(udp.payload().size(), 29u);
  EXPECT_EQ(udp.payload().data(), &kDnsQuery[8]);
  EXPECT_EQ(udp.datagram().size(), 37u);
  EXPECT_TRUE(UdpChecksumValid(udp, kSrc, kDst));
}

TEST(UdpViewTest, HeaderOnlyDatagramHasEmptyPayload) {
  const uint8_t empty[] = {0x30, 0x39, 0x00, 0x07, 0x00, 0x08, 0x00, 0x00};
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(empty, udp), ParseError::kOk);
  EXPECT_EQ(udp.length(), 8);
  EXPECT_TRUE(udp.payload().empty());
}

TEST(UdpViewTest, TruncatedAtEveryLengthBelow8) {
  for (size_t n = 0; n < 8; ++n) {
    UdpView udp;
    EXPECT_EQ(UdpView::Parse(std::span(kDnsQuery).first(n), udp), ParseError::kTruncated)
        << "length " << n;
  }
}

// RFC 768: "Length is the length in octets of this user datagram including this header and the
// data. (This means the minimum value of the length is eight.)"
TEST(UdpViewTest, LengthFieldBelowEight) {
  for (uint16_t length : {0, 1, 7}) {
    std::vector<uint8_t> bytes = Copy(kDnsQuery);
    StoreBe16(&bytes[4], length);
    UdpView udp;
    EXPECT_EQ(UdpView::Parse(bytes, udp), ParseError::kBadTotalLength) << "length " << length;
  }
}

TEST(UdpViewTest, LengthFieldPastTheBuffer) {
  std::vector<uint8_t> bytes = Copy(kDnsQuery);
  StoreBe16(&bytes[4], 38);
  UdpView udp;
  EXPECT_EQ(UdpView::Parse(bytes, udp), ParseError::kBadTotalLength);
  StoreBe16(&bytes[4], 0xffff);
  EXPECT_EQ(UdpView::Parse(bytes, udp), ParseError::kBadTotalLength);
  EXPECT_EQ(UdpView::Parse(std::span(kDnsQuery).first(36), udp), ParseError::kBadTotalLength);
}

TEST(UdpViewTest, BytesPastTheLengthFieldAreNotPayload) {
  std::vector<uint8_t> bytes = Copy(kDnsQuery);
  bytes.insert(bytes.end(), {0xde, 0xad, 0xbe, 0xef, 0x00});
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(bytes, udp), ParseError::kOk);
  EXPECT_EQ(udp.payload().size(), 29u);
  EXPECT_EQ(udp.datagram().size(), 37u);
  EXPECT_TRUE(UdpChecksumValid(udp, kSrc, kDst));  // the trailer is not summed either
}

TEST(UdpChecksumTest, ZeroMeansNoneWasSent) {
  std::vector<uint8_t> bytes = Copy(kDnsQuery);
  StoreBe16(&bytes[6], 0);
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(bytes, udp), ParseError::kOk);
  EXPECT_TRUE(UdpChecksumValid(udp, kSrc, kDst));
  EXPECT_TRUE(UdpChecksumValid(udp, kDst, kSrc));
}

TEST(UdpChecksumTest, CorruptionIsDetected) {
  for (size_t i = 0; i < sizeof(kDnsQuery); ++i) {
    if (i == 4 || i == 5) continue;  // the length field fails Parse or shortens the datagram
    std::vector<uint8_t> bytes = Copy(kDnsQuery);
    bytes[i] ^= 0x20;
    UdpView udp;
    ASSERT_EQ(UdpView::Parse(bytes, udp), ParseError::kOk);
    EXPECT_FALSE(UdpChecksumValid(udp, kSrc, kDst)) << "byte " << i;
  }
}

TEST(UdpChecksumTest, PseudoHeaderAddressesAreCovered) {
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(kDnsQuery, udp), ParseError::kOk);
  EXPECT_FALSE(UdpChecksumValid(udp, Ipv4Address::FromOctets(192, 168, 0, 2), kDst));
  EXPECT_FALSE(UdpChecksumValid(udp, kSrc, Ipv4Address::FromOctets(8, 8, 4, 4)));
}

TEST(UdpChecksumTest, ComputedZeroIsSentAsAllOnes) {
  // Find a payload whose checksum computes to 0; RFC 768 sends it as ffff, which must verify.
  std::vector<uint8_t> bytes = {0x30, 0x39, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00};
  const uint16_t checksum = TransportChecksum(kSrc, kDst, IpProtocol::kUdp, bytes);
  StoreBe16(&bytes[8], checksum);  // the payload word absorbs the checksum: sum is now -0
  ASSERT_EQ(TransportChecksum(kSrc, kDst, IpProtocol::kUdp, bytes), 0);
  StoreBe16(&bytes[6], 0xffff);
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(bytes, udp), ParseError::kOk);
  EXPECT_TRUE(UdpChecksumValid(udp, kSrc, kDst));
}

TEST(UdpViewTest, FailedParseLeavesTheViewAlone) {
  UdpView udp;
  ASSERT_EQ(UdpView::Parse(kDnsQuery, udp), ParseError::kOk);
  ASSERT_EQ(UdpView::Parse(std::span(kDnsQuery).first(3), udp), ParseError::kTruncated);
  EXPECT_EQ(udp.destination_port(), 53);
}

}  // namespace
}  // namespace ferry::net
