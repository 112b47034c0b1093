// Tests for the RFC 9293 TCP header view, its checksum check, and the header repr.
#include "net/tcp_header.h"

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/parse_error.h"

namespace ferry::net {
namespace {

const Ipv4Address kClient = Ipv4Address::FromOctets(10, 0, 0, 1);
const Ipv4Address kServer = Ipv4Address::FromOctets(10, 0, 0, 2);

// A SYN 10.0.0.1:54321 -> 10.0.0.2:80 with Linux's usual options: MSS 1460, SACK permitted,
// timestamps (TSval 123456, TSecr 0), NOP, window scale 7. Window 64240, checksum 199d.
constexpr uint8_t kSyn[] = {0xd4, 0x31, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00,
                            0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x19, 0x9d, 0x00, 0x00,
                            0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01,
                            0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
constexpr size_t kSynOptionsLength = 20;

// PSH|ACK from the same client carrying "GET / HTTP/1.1\r\n\r\n!" (19 bytes). Checksum c221.
constexpr uint8_t kRequest[] = {0xd4, 0x31, 0x00, 0x50, 0x12, 0x34, 0x56, 0x79, 0xab, 0xcd,
                                0xef, 0x01, 0x50, 0x18, 0x01, 0xf6, 0xc2, 0x21, 0x00, 0x00,
                                0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50,
                                0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a, 0x21};

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

ParseError ParseOf(std::span<const uint8_t> bytes) {
  TcpHeaderView tcp;
  return TcpHeaderView::Parse(bytes, tcp);
}

// ---------------------------------------------------------------------------------------------
// Valid segments
// ---------------------------------------------------------------------------------------------

TEST(TcpHeaderViewTest, ParsesASynWithOptions) {
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(kSyn, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.source_port(), 54321);
  EXPECT_EQ(tcp.destination_port(), 80);
  EXPECT_EQ(tcp.seq_number(), 0x12345678u);
  EXPECT_EQ(tcp.ack_number(), 0u);
  EXPECT_EQ(tcp.data_offset(), 40u);
  EXPECT_EQ(tcp.flags(), TcpFlags::kSyn);
  EXPECT_TRUE(tcp.syn());
  EXPECT_FALSE(tcp.ack());
  EXPECT_FALSE(tcp.fin());
  EXPECT_FALSE(tcp.rst());
  EXPECT_FALSE(tcp.psh());
  EXPECT_FALSE(tcp.urg());
  EXPECT_EQ(tcp.window(), 64240);
  EXPECT_EQ(tcp.checksum(), 0x199d);
  EXPECT_EQ(tcp.urgent_pointer(), 0);
  ASSERT_EQ(tcp.options().size(), kSynOptionsLength);
  EXPECT_EQ(tcp.options().data(), &kSyn[20]);
  EXPECT_EQ(tcp.options()[0], 2);  // MSS kind
  EXPECT_TRUE(tcp.payload().empty());
  EXPECT_EQ(tcp.segment().size(), sizeof(kSyn));
  EXPECT_TRUE(TcpChecksumValid(tcp, kClient, kServer));
}

TEST(TcpHeaderViewTest, ParsesASegmentWithData) {
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(kRequest, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.seq_number(), 0x12345679u);
  EXPECT_EQ(tcp.ack_number(), 0xabcdef01u);
  EXPECT_EQ(tcp.data_offset(), 20u);
  EXPECT_EQ(tcp.flags(), TcpFlags::kPsh | TcpFlags::kAck);
  EXPECT_TRUE(tcp.psh());
  EXPECT_TRUE(tcp.ack());
  EXPECT_FALSE(tcp.syn());
  EXPECT_EQ(tcp.window(), 502);
  EXPECT_TRUE(tcp.options().empty());
  ASSERT_EQ(tcp.payload().size(), 19u);
  EXPECT_EQ(tcp.payload().data(), &kRequest[20]);
  EXPECT_EQ(tcp.payload()[0], 'G');
  EXPECT_TRUE(TcpChecksumValid(tcp, kClient, kServer));
}

TEST(TcpHeaderViewTest, EachFlagHasItsBit) {
  struct Case {
    uint8_t bit;
    bool (TcpHeaderView::*accessor)() const;
  };
  const Case cases[] = {
      {TcpFlags::kFin, &TcpHeaderView::fin}, {TcpFlags::kSyn, &TcpHeaderView::syn},
      {TcpFlags::kRst, &TcpHeaderView::rst}, {TcpFlags::kPsh, &TcpHeaderView::psh},
      {TcpFlags::kAck, &TcpHeaderView::ack}, {TcpFlags::kUrg, &TcpHeaderView::urg},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bytes = Copy(kRequest);
    bytes[13] = c.bit;
    TcpHeaderView tcp;
    ASSERT_EQ(TcpHeaderView::Parse(bytes, tcp), ParseError::kOk);
    EXPECT_EQ(tcp.flags(), c.bit);
    for (const Case& other : cases) {
      EXPECT_EQ((tcp.*other.accessor)(), other.bit == c.bit) << int{c.bit} << " " << int{other.bit};
    }
  }
  std::vector<uint8_t> bytes = Copy(kRequest);
  bytes[13] = TcpFlags::kCwr | TcpFlags::kEce;
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(bytes, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.flags(), 0xc0);
}

// RFC 9293 §3.1: reserved bits "must be ignored in received segments".
TEST(TcpHeaderViewTest, ReservedBitsAreIgnored) {
  std::vector<uint8_t> bytes = Copy(kRequest);
  bytes[12] |= 0x0f;
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(bytes, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.data_offset(), 20u);
  EXPECT_EQ(tcp.flags(), TcpFlags::kPsh | TcpFlags::kAck);
  EXPECT_EQ(tcp.payload().size(), 19u);
}

TEST(TcpHeaderViewTest, HeaderFillingTheSegmentHasEmptyPayload) {
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(std::span(kRequest).first(20), tcp), ParseError::kOk);
  EXPECT_TRUE(tcp.payload().empty());
}

// ---------------------------------------------------------------------------------------------
// Malformed segments
// ---------------------------------------------------------------------------------------------

TEST(TcpHeaderViewTest, TruncatedAtEveryLengthBelow20) {
  for (size_t n = 0; n < 20; ++n) {
    EXPECT_EQ(ParseOf(std::span(kSyn).first(n)), ParseError::kTruncated) << "length " << n;
  }
}

// RFC 9293 §3.1: the header "is an integer multiple of 32 bits" and at least 20 bytes.
TEST(TcpHeaderViewTest, DataOffsetBelowFiveWords) {
  for (uint8_t words = 0; words < 5; ++words) {
    std::vector<uint8_t> bytes = Copy(kRequest);
    bytes[12] = static_cast<uint8_t>(words << 4);
    EXPECT_EQ(ParseOf(bytes), ParseError::kBadDataOffset) << "data offset " << int{words};
  }
}

TEST(TcpHeaderViewTest, DataOffsetPastTheSegment) {
  // The SYN's 40-byte header cut to 39 bytes, and a 60-byte data offset in a 39-byte segment.
  EXPECT_EQ(ParseOf(std::span(kSyn).first(39)), ParseError::kBadDataOffset);
  EXPECT_EQ(ParseOf(std::span(kSyn).first(20)), ParseError::kBadDataOffset);
  std::vector<uint8_t> bytes = Copy(kRequest);
  bytes[12] = 0xf0;
  EXPECT_EQ(ParseOf(bytes), ParseError::kBadDataOffset);
  // Exactly the buffer is fine.
  bytes.resize(60);
  EXPECT_EQ(ParseOf(bytes), ParseError::kOk);
}

TEST(TcpHeaderViewTest, FailedParseLeavesTheViewAlone) {
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(kSyn, tcp), ParseError::kOk);
  ASSERT_EQ(TcpHeaderView::Parse(std::span(kRequest).first(19), tcp), ParseError::kTruncated);
  EXPECT_TRUE(tcp.syn());
  EXPECT_EQ(tcp.segment().data(), &kSyn[0]);
}

// ---------------------------------------------------------------------------------------------
// Checksum
// ---------------------------------------------------------------------------------------------

TEST(TcpChecksumTest, CorruptionAnywhereIsDetected) {
  for (size_t i = 0; i < sizeof(kRequest); ++i) {
    if (i == 12) continue;  // the data offset: changing it may fail Parse
    std::vector<uint8_t> bytes = Copy(kRequest);
    bytes[i] ^= 0x02;
    TcpHeaderView tcp;
    ASSERT_EQ(TcpHeaderView::Parse(bytes, tcp), ParseError::kOk);
    EXPECT_FALSE(TcpChecksumValid(tcp, kClient, kServer)) << "byte " << i;
  }
}

TEST(TcpChecksumTest, PseudoHeaderAddressesAreCovered) {
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(kSyn, tcp), ParseError::kOk);
  EXPECT_FALSE(TcpChecksumValid(tcp, Ipv4Address::FromOctets(10, 0, 0, 3), kServer));
  EXPECT_FALSE(TcpChecksumValid(tcp, kClient, Ipv4Address::FromOctets(10, 0, 0, 9)));
}

TEST(TcpChecksumTest, TrailingBytesChangeTheResult) {
  // The view's segment is the whole IP payload, so the caller must cut it at the IP total length
  // (Ipv4View::payload() does).
  std::vector<uint8_t> bytes = Copy(kRequest);
  bytes.push_back(0x55);
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(bytes, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.payload().size(), 20u);
  EXPECT_FALSE(TcpChecksumValid(tcp, kClient, kServer));
}

// ---------------------------------------------------------------------------------------------
// TcpHeaderRepr
// ---------------------------------------------------------------------------------------------

TEST(TcpHeaderReprTest, EmitReproducesTheCapturedSyn) {
  const TcpHeaderRepr repr{.source_port = 54321,
                           .destination_port = 80,
                           .seq_number = 0x12345678,
                           .ack_number = 0,
                           .flags = TcpFlags::kSyn,
                           .window = 64240,
                           .urgent_pointer = 0,
                           .options = std::span(kSyn).subspan(20)};
  ASSERT_EQ(repr.length(), 40u);
  std::vector<uint8_t> out(repr.length(), 0xee);
  repr.Emit(out);
  EXPECT_EQ(LoadBe16(&out[16]), 0);  // the caller's to fill
  StoreBe16(&out[16], TransportChecksum(kClient, kServer, IpProtocol::kTcp, out));
  EXPECT_EQ(out, Copy(kSyn));
}

TEST(TcpHeaderReprTest, EmitWithPayloadThenParseRoundTrips) {
  const uint8_t options[] = {0x01, 0x01, 0x08, 0x0a, 0x00, 0x00,
                             0x00, 0x01, 0x00, 0x00, 0x00, 0x02};  // NOP NOP timestamps
  const TcpHeaderRepr repr{.source_port = 80,
                           .destination_port = 54321,
                           .seq_number = 0xfffffff0,
                           .ack_number = 0x1234567a,
                           .flags = TcpFlags::kAck | TcpFlags::kFin,
                           .window = 0xffff,
                           .urgent_pointer = 7,
                           .options = options};
  const uint8_t data[] = {'o', 'k', '\n'};
  std::vector<uint8_t> segment(repr.length() + sizeof(data), 0xee);
  repr.Emit(segment);
  EXPECT_EQ(segment[repr.length()], 0xee);  // nothing written past the header
  std::copy(std::begin(data), std::end(data), segment.begin() + repr.length());
  StoreBe16(&segment[16], TransportChecksum(kServer, kClient, IpProtocol::kTcp, segment));

  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(segment, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.source_port(), repr.source_port);
  EXPECT_EQ(tcp.destination_port(), repr.destination_port);
  EXPECT_EQ(tcp.seq_number(), repr.seq_number);
  EXPECT_EQ(tcp.ack_number(), repr.ack_number);
  EXPECT_EQ(tcp.data_offset(), 32u);
  EXPECT_EQ(tcp.flags(), repr.flags);
  EXPECT_TRUE(tcp.fin());
  EXPECT_EQ(tcp.window(), repr.window);
  EXPECT_EQ(tcp.urgent_pointer(), repr.urgent_pointer);
  ASSERT_EQ(tcp.options().size(), sizeof(options));
  EXPECT_TRUE(std::equal(tcp.options().begin(), tcp.options().end(), std::begin(options)));
  ASSERT_EQ(tcp.payload().size(), sizeof(data));
  EXPECT_EQ(tcp.payload()[2], '\n');
  EXPECT_TRUE(TcpChecksumValid(tcp, kServer, kClient));
}

TEST(TcpHeaderReprTest, NoOptionsAndMaximumOptions) {
  TcpHeaderRepr repr{.source_port = 1, .destination_port = 2, .flags = TcpFlags::kRst};
  EXPECT_EQ(repr.length(), 20u);
  std::vector<uint8_t> out(repr.length());
  repr.Emit(out);
  TcpHeaderView tcp;
  ASSERT_EQ(TcpHeaderView::Parse(out, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.data_offset(), 20u);
  EXPECT_TRUE(tcp.rst());

  const std::vector<uint8_t> nops(TcpHeaderRepr::kMaxOptionsLength, 0x01);
  repr.options = nops;
  EXPECT_EQ(repr.length(), 60u);
  out.assign(repr.length(), 0);
  repr.Emit(out);
  ASSERT_EQ(TcpHeaderView::Parse(out, tcp), ParseError::kOk);
  EXPECT_EQ(tcp.data_offset(), 60u);
  EXPECT_EQ(tcp.options().size(), 40u);
}

TEST(TcpHeaderReprTest, OffloadSeedIsWhatTheNicCompletes) {
  // With TX checksum offload the field holds PseudoHeaderSum; the NIC sums the segment from
  // there and stores the complement. Emulate that and compare with the software checksum.
  const TcpHeaderRepr repr{.source_port = 54321,
                           .destination_port = 80,
                           .seq_number = 0x12345679,
                           .ack_number = 0xabcdef01,
                           .flags = TcpFlags::kPsh | TcpFlags::kAck,
                           .window = 502};
  std::vector<uint8_t> segment = Copy(kRequest);
  repr.Emit(segment);
  StoreBe16(&segment[16], PseudoHeaderSum(kClient, kServer, IpProtocol::kTcp,
                                          static_cast<uint16_t>(segment.size())));
  InternetChecksum nic;
  nic.Add(segment);
  EXPECT_EQ(nic.Finish(), 0xc221);
}

}  // namespace
}  // namespace ferry::net
