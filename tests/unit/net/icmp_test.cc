// Tests for the RFC 792 ICMP view.
#include "net/icmp.h"

#include <cstdint>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/parse_error.h"

namespace ferry::net {
namespace {

// The ICMP part of a Linux ping: echo request, identifier 0x0d2a, sequence 1, an 8-byte
// timestamp then 0x10..0x37. Checksum ff5f.
constexpr uint8_t kEchoRequest[] = {
    0x08, 0x00, 0xff, 0x5f, 0x0d, 0x2a, 0x00, 0x01, 0xd2, 0x3c, 0x5a, 0x65, 0x00, 0x00,
    0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
    0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37};

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// RFC 792: "the 16-bit one's complement of the one's complement sum of the ICMP message
// starting with the ICMP Type", computed with the checksum field zero.
void FillChecksum(std::vector<uint8_t>& message) {
  StoreBe16(&message[2], 0);
  InternetChecksum c;
  c.Add(message);
  StoreBe16(&message[2], c.Finish());
}

TEST(IcmpViewTest, EchoRequestChecksumMatchesTheCapture) {
  std::vector<uint8_t> message = Copy(kEchoRequest);
  FillChecksum(message);
  EXPECT_EQ(LoadBe16(&message[2]), 0xff5f);
}

TEST(IcmpViewTest, ParsesAnEchoRequest) {
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(kEchoRequest, icmp), ParseError::kOk);
  EXPECT_EQ(icmp.type(), IcmpType::kEchoRequest);
  EXPECT_EQ(icmp.code(), 0);
  EXPECT_EQ(icmp.checksum(), 0xff5f);
  EXPECT_EQ(icmp.identifier(), 0x0d2a);
  EXPECT_EQ(icmp.sequence(), 1);
  ASSERT_EQ(icmp.rest_of_header().size(), 4u);
  EXPECT_EQ(icmp.rest_of_header().data(), &kEchoRequest[4]);
  ASSERT_EQ(icmp.payload().size(), 48u);
  EXPECT_EQ(icmp.payload().data(), &kEchoRequest[8]);
  EXPECT_EQ(icmp.message().size(), sizeof(kEchoRequest));
}

TEST(IcmpViewTest, EchoReplyBuiltByTurningTheRequestAroundVerifies) {
  // What a host does: type 8 -> 0, patch the checksum incrementally (RFC 1624).
  std::vector<uint8_t> message = Copy(kEchoRequest);
  const uint16_t old_word = LoadBe16(&message[0]);
  message[0] = IcmpType::kEchoReply;
  StoreBe16(&message[2], ChecksumAdjust(LoadBe16(&message[2]), old_word, LoadBe16(&message[0])));
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(message, icmp), ParseError::kOk);
  EXPECT_EQ(icmp.type(), IcmpType::kEchoReply);
  EXPECT_EQ(icmp.checksum(), 0x0760);  // ff5f + 0800 with the end-around carry
}

TEST(IcmpViewTest, HeaderOnlyMessageHasEmptyPayload) {
  std::vector<uint8_t> message = Copy(std::span(kEchoRequest).first(8));
  FillChecksum(message);
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(message, icmp), ParseError::kOk);
  EXPECT_TRUE(icmp.payload().empty());
}

TEST(IcmpViewTest, OddLengthMessageVerifies) {
  std::vector<uint8_t> message = Copy(std::span(kEchoRequest).first(13));
  FillChecksum(message);
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(message, icmp), ParseError::kOk);
  EXPECT_EQ(icmp.payload().size(), 5u);
  message[12] ^= 0x01;
  EXPECT_EQ(IcmpView::Parse(message, icmp), ParseError::kBadChecksum);
}

TEST(IcmpViewTest, ParsesFragmentationNeeded) {
  // RFC 1191 §4: type 3 code 4, unused 16 bits, next-hop MTU 1400, then the quoted IP header
  // and the first 8 bytes of its payload.
  std::vector<uint8_t> message = {0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x05, 0x78};
  const uint8_t quoted[] = {0x45, 0x00, 0x05, 0xdc, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06,
                            0x00, 0x00, 0xc0, 0xa8, 0x01, 0x0a, 0xc0, 0xa8, 0x02, 0x01,
                            0xd4, 0x31, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78};
  message.insert(message.end(), std::begin(quoted), std::end(quoted));
  FillChecksum(message);
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(message, icmp), ParseError::kOk);
  EXPECT_EQ(icmp.type(), IcmpType::kDestinationUnreachable);
  EXPECT_EQ(icmp.code(), IcmpCode::kFragmentationNeeded);
  EXPECT_EQ(icmp.next_hop_mtu(), 1400);
  ASSERT_EQ(icmp.payload().size(), sizeof(quoted));
  EXPECT_EQ(icmp.payload()[0], 0x45);
  EXPECT_EQ(icmp.payload().data(), &message[8]);
}

TEST(IcmpViewTest, TruncatedAtEveryLengthBelow8) {
  for (size_t n = 0; n < 8; ++n) {
    IcmpView icmp;
    EXPECT_EQ(IcmpView::Parse(std::span(kEchoRequest).first(n), icmp), ParseError::kTruncated)
        << "length " << n;
    EXPECT_EQ(IcmpView::Parse(std::span(kEchoRequest).first(n), icmp, false),
              ParseError::kTruncated)
        << "length " << n;
  }
}

TEST(IcmpViewTest, ChecksumCoversTheWholeMessage) {
  for (size_t i = 0; i < sizeof(kEchoRequest); ++i) {
    std::vector<uint8_t> message = Copy(kEchoRequest);
    message[i] ^= 0x04;
    IcmpView icmp;
    EXPECT_EQ(IcmpView::Parse(message, icmp), ParseError::kBadChecksum) << "byte " << i;
  }
}

TEST(IcmpViewTest, ChecksumCanBeLeftToTheCaller) {
  std::vector<uint8_t> message = Copy(kEchoRequest);
  message[2] = 0;
  IcmpView icmp;
  EXPECT_EQ(IcmpView::Parse(message, icmp), ParseError::kBadChecksum);
  ASSERT_EQ(IcmpView::Parse(message, icmp, /*verify_checksum=*/false), ParseError::kOk);
  EXPECT_EQ(icmp.checksum(), 0x005f);
}

TEST(IcmpViewTest, FailedParseLeavesTheViewAlone) {
  IcmpView icmp;
  ASSERT_EQ(IcmpView::Parse(kEchoRequest, icmp), ParseError::kOk);
  ASSERT_EQ(IcmpView::Parse(std::span(kEchoRequest).first(7), icmp), ParseError::kTruncated);
  EXPECT_EQ(icmp.identifier(), 0x0d2a);
}

// ---- IcmpQuoteView: the datagram an error message quotes -------------------------------------

// What a router quotes of a TCP segment 198.18.0.1:80 -> 198.19.7.7:40000 (seq 0x12345678) of
// 1500 bytes: the 20-byte IPv4 header (DF, TTL as the router saw it, protocol 6) and the first
// 8 bytes of the TCP header.
constexpr uint8_t kQuote[] = {
    0x45, 0x00, 0x05, 0xdc, 0x00, 0x00, 0x40, 0x00, 0x3f, 0x06, 0x00, 0x00, 198, 18, 0, 1,
    198, 19, 7, 7,                                        // end of the IPv4 header
    0x00, 0x50, 0x9c, 0x40, 0x12, 0x34, 0x56, 0x78};      // ports, sequence number

TEST(IcmpQuoteViewTest, ReadsTheQuotedHeaderAndTcpStart) {
  IcmpQuoteView q;
  ASSERT_EQ(IcmpQuoteView::Parse(kQuote, q), ParseError::kOk);
  EXPECT_EQ(q.header_length(), 20u);
  EXPECT_EQ(q.total_length(), 1500);  // the original's, longer than the quote
  EXPECT_EQ(q.fragment_offset(), 0);
  EXPECT_EQ(q.protocol(), 6);
  EXPECT_EQ(q.source(), Ipv4Address::FromOctets(198, 18, 0, 1));
  EXPECT_EQ(q.destination(), Ipv4Address::FromOctets(198, 19, 7, 7));
  EXPECT_EQ(q.source_port(), 80);
  EXPECT_EQ(q.destination_port(), 40000);
  EXPECT_EQ(q.tcp_sequence(), 0x12345678u);
  EXPECT_EQ(q.transport().size(), 8u);
}

TEST(IcmpQuoteViewTest, HeaderOptionsMoveTheTransportHeader) {
  std::vector<uint8_t> b(kQuote, kQuote + 20);
  b[0] = 0x46;  // IHL 6: one 4-byte option word
  b.insert(b.end(), {1, 1, 1, 0});
  b.insert(b.end(), kQuote + 20, kQuote + 28);
  IcmpQuoteView q;
  ASSERT_EQ(IcmpQuoteView::Parse(b, q), ParseError::kOk);
  EXPECT_EQ(q.header_length(), 24u);
  EXPECT_EQ(q.source_port(), 80);
  EXPECT_EQ(q.tcp_sequence(), 0x12345678u);
}

TEST(IcmpQuoteViewTest, RefusesByReasonAndLeavesTheOutputAlone) {
  IcmpQuoteView q;
  ASSERT_EQ(IcmpQuoteView::Parse(kQuote, q), ParseError::kOk);
  const std::span<const uint8_t> all(kQuote);
  EXPECT_EQ(IcmpQuoteView::Parse(all.first(27), q), ParseError::kTruncated);
  std::vector<uint8_t> b = Copy(all);
  b[0] = 0x65;
  EXPECT_EQ(IcmpQuoteView::Parse(b, q), ParseError::kBadVersion);
  b[0] = 0x44;
  EXPECT_EQ(IcmpQuoteView::Parse(b, q), ParseError::kBadHeaderLength);
  b[0] = 0x46;  // 24 + 8 bytes needed, 28 there
  EXPECT_EQ(IcmpQuoteView::Parse(b, q), ParseError::kTruncated);
  // Still the view of the first, good parse.
  EXPECT_EQ(q.tcp_sequence(), 0x12345678u);
}

}  // namespace
}  // namespace ferry::net
