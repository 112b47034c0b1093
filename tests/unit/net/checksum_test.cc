// Tests for the RFC 1071 Internet checksum, the pseudo-header sum and RFC 1624 incremental
// update, against published vectors and a plain 16-bit reference implementation.
#include "net/checksum.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/bytes.h"

namespace ferry::net {
namespace {

// RFC 1071 §1 taken literally: 16-bit big-endian words, a zero pad byte on the right, end-around
// carry after every addition. Slow and obviously right; the fast path must agree with it.
uint16_t ReferenceSum(std::span<const uint8_t> bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    uint16_t word = static_cast<uint16_t>(bytes[i] << 8);
    if (i + 1 < bytes.size()) word |= bytes[i + 1];
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(sum);
}

std::vector<uint8_t> RandomBytes(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

uint16_t SumOf(std::span<const uint8_t> bytes) {
  InternetChecksum c;
  c.Add(bytes);
  return c.Sum();
}

// ---------------------------------------------------------------------------------------------
// Known vectors
// ---------------------------------------------------------------------------------------------

// RFC 1071 §3, "Numerical Examples": the sum of these bytes is ddf2, its complement 220d.
TEST(InternetChecksumTest, Rfc1071Section3Example) {
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  InternetChecksum c;
  c.Add(bytes);
  EXPECT_EQ(c.Sum(), 0xddf2);
  EXPECT_EQ(c.Finish(), 0x220d);
}

// A real IPv4 header (UDP, 192.168.0.1 -> 192.168.0.199) whose checksum field holds b861.
constexpr uint8_t kIpv4Header[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                   0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

TEST(InternetChecksumTest, Ipv4HeaderWithFieldZeroedGivesStoredChecksum) {
  std::vector<uint8_t> header(std::begin(kIpv4Header), std::end(kIpv4Header));
  StoreBe16(&header[10], 0);
  EXPECT_EQ(Ipv4HeaderChecksum(header), 0xb861);
}

TEST(InternetChecksumTest, Ipv4HeaderWithFieldInPlaceVerifiesToZero) {
  EXPECT_EQ(Ipv4HeaderChecksum(kIpv4Header), 0);
}

TEST(InternetChecksumTest, Ipv4HeaderWithOneBitFlippedDoesNotVerify) {
  for (size_t i = 0; i < sizeof(kIpv4Header) * 8; ++i) {
    std::vector<uint8_t> header(std::begin(kIpv4Header), std::end(kIpv4Header));
    header[i / 8] ^= static_cast<uint8_t>(1 << (i % 8));
    EXPECT_NE(Ipv4HeaderChecksum(header), 0) << "bit " << i;
  }
}

TEST(InternetChecksumTest, EmptyInputSumsToZero) {
  InternetChecksum c;
  c.Add({});
  EXPECT_EQ(c.Sum(), 0);
  EXPECT_EQ(c.Finish(), 0xffff);
}

// RFC 9293 §3.1: an odd last octet is padded on its right with zeros.
TEST(InternetChecksumTest, OddLengthPadsTheLastByteOnTheRight) {
  const uint8_t one[] = {0xab};
  EXPECT_EQ(SumOf(one), 0xab00);
  const uint8_t three[] = {0x00, 0x01, 0xf2};
  EXPECT_EQ(SumOf(three), 0xf201);
  const uint8_t seven[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6};
  EXPECT_EQ(SumOf(seven), ReferenceSum(seven));
}

TEST(InternetChecksumTest, CarriesFoldBackIn) {
  // 0xffff + 0xffff = 0x1fffe, folded 0xffff; a long run of them must stay 0xffff, never 0.
  std::vector<uint8_t> ones(100000, 0xff);
  EXPECT_EQ(SumOf(ones), 0xffff);
  ones.push_back(0xff);  // the odd byte counts as 0xff00, and 0xffff is one's complement zero
  EXPECT_EQ(SumOf(ones), 0xff00);
  const uint8_t carry[] = {0x80, 0x00, 0x80, 0x00, 0x00, 0x01};
  EXPECT_EQ(SumOf(carry), 0x0002);
}

TEST(InternetChecksumTest, MatchesReferenceForEveryLengthUpTo300) {
  std::mt19937 rng(1071);
  for (size_t n = 0; n <= 300; ++n) {
    const std::vector<uint8_t> bytes = RandomBytes(rng, n);
    EXPECT_EQ(SumOf(bytes), ReferenceSum(bytes)) << "length " << n;
  }
}

// ---------------------------------------------------------------------------------------------
// Chunked accumulation
// ---------------------------------------------------------------------------------------------

TEST(InternetChecksumTest, ChunkedAddWithOddChunksEqualsSingleAdd) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> chunk(0, 9);
  for (int round = 0; round < 500; ++round) {
    const std::vector<uint8_t> bytes = RandomBytes(rng, 1 + rng() % 200);
    InternetChecksum chunked;
    size_t at = 0;
    while (at < bytes.size()) {
      size_t n = std::min(chunk(rng), bytes.size() - at);
      chunked.Add(std::span(bytes).subspan(at, n));
      at += n;
    }
    EXPECT_EQ(chunked.Sum(), SumOf(bytes)) << "round " << round;
  }
}

TEST(InternetChecksumTest, OneByteChunksEqualSingleAdd) {
  const uint8_t bytes[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x11};
  InternetChecksum c;
  for (uint8_t b : bytes) c.Add(std::span(&b, 1));
  EXPECT_EQ(c.Sum(), SumOf(bytes));
}

TEST(InternetChecksumTest, SumDoesNotConsumeThePendingOddByte) {
  const uint8_t bytes[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
  InternetChecksum c;
  c.Add(std::span(bytes).first(3));
  EXPECT_EQ(c.Sum(), SumOf(std::span(bytes).first(3)));
  c.Add(std::span(bytes).subspan(3));
  EXPECT_EQ(c.Sum(), SumOf(bytes));
}

TEST(InternetChecksumTest, AddU16AndAddU32AppendBigEndianBytes) {
  const uint8_t bytes[] = {0x12, 0x34, 0xde, 0xad, 0xbe, 0xef};
  InternetChecksum words;
  words.AddU16(0x1234);
  words.AddU32(0xdeadbeef);
  EXPECT_EQ(words.Sum(), SumOf(bytes));
}

TEST(InternetChecksumTest, AddU16AndAddU32AfterAnOddChunkStayInStreamOrder) {
  const uint8_t bytes[] = {0x01, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x77};
  InternetChecksum c;
  c.Add(std::span(bytes).first(1));
  c.AddU16(0x1234);
  c.AddU32(0xdeadbeef);
  c.Add(std::span(bytes).subspan(7));
  EXPECT_EQ(c.Sum(), SumOf(bytes));
}

// ---------------------------------------------------------------------------------------------
// TCP/UDP checksum and pseudo-header
// ---------------------------------------------------------------------------------------------

const Ipv4Address kTcpSrc = Ipv4Address::FromOctets(10, 0, 0, 1);
const Ipv4Address kTcpDst = Ipv4Address::FromOctets(10, 0, 0, 2);

// A SYN 10.0.0.1:54321 -> 10.0.0.2:80 with Linux's usual options (MSS 1460, SACK permitted,
// timestamps, NOP, window scale 7); checksum 199d.
constexpr uint8_t kTcpSyn[] = {0xd4, 0x31, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00,
                               0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0x19, 0x9d, 0x00, 0x00,
                               0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01,
                               0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};

// PSH|ACK carrying an odd-length payload "GET / HTTP/1.1\r\n\r\n!"; checksum c221.
constexpr uint8_t kTcpOddPayload[] = {0xd4, 0x31, 0x00, 0x50, 0x12, 0x34, 0x56, 0x79, 0xab, 0xcd,
                                      0xef, 0x01, 0x50, 0x18, 0x01, 0xf6, 0xc2, 0x21, 0x00, 0x00,
                                      0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50,
                                      0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x0d, 0x0a, 0x21};

std::vector<uint8_t> WithZeroedField(std::span<const uint8_t> bytes, size_t offset) {
  std::vector<uint8_t> v(bytes.begin(), bytes.end());
  StoreBe16(&v[offset], 0);
  return v;
}

TEST(TransportChecksumTest, TcpSynVector) {
  EXPECT_EQ(TransportChecksum(kTcpSrc, kTcpDst, 6, WithZeroedField(kTcpSyn, 16)), 0x199d);
  EXPECT_EQ(TransportChecksum(kTcpSrc, kTcpDst, 6, kTcpSyn), 0);
}

TEST(TransportChecksumTest, TcpOddLengthVector) {
  EXPECT_EQ(TransportChecksum(kTcpSrc, kTcpDst, 6, WithZeroedField(kTcpOddPayload, 16)), 0xc221);
  EXPECT_EQ(TransportChecksum(kTcpSrc, kTcpDst, 6, kTcpOddPayload), 0);
}

TEST(TransportChecksumTest, PseudoHeaderIsCovered) {
  // Same segment, different address or protocol: the pseudo-header must make it fail.
  EXPECT_NE(TransportChecksum(Ipv4Address::FromOctets(10, 0, 0, 3), kTcpDst, 6, kTcpSyn), 0);
  EXPECT_NE(TransportChecksum(kTcpSrc, Ipv4Address::FromOctets(10, 0, 1, 2), 6, kTcpSyn), 0);
  EXPECT_NE(TransportChecksum(kTcpSrc, kTcpDst, 17, kTcpSyn), 0);
  // Dropping the last byte changes the length in the pseudo-header as well as the data.
  EXPECT_NE(TransportChecksum(kTcpSrc, kTcpDst, 6, std::span(kTcpSyn).first(39)), 0);
}

// UDP 192.168.0.1:53000 -> 8.8.8.8:53, a DNS query for example.com A; checksum e471.
TEST(TransportChecksumTest, UdpVector) {
  const uint8_t udp[] = {0xcf, 0x08, 0x00, 0x35, 0x00, 0x25, 0xe4, 0x71, 0xab, 0xcd,
                         0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                         0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
                         0x6f, 0x6d, 0x00, 0x00, 0x01, 0x00, 0x01};
  const Ipv4Address src = Ipv4Address::FromOctets(192, 168, 0, 1);
  const Ipv4Address dst = Ipv4Address::FromOctets(8, 8, 8, 8);
  EXPECT_EQ(TransportChecksum(src, dst, 17, WithZeroedField(udp, 6)), 0xe471);
  EXPECT_EQ(TransportChecksum(src, dst, 17, udp), 0);
}

TEST(PseudoHeaderSumTest, IsTheUncomplementedSumOfThePseudoHeaderBytes) {
  // RFC 9293 §3.1: source, destination, zero, PTCL, TCP length.
  const uint8_t pseudo[] = {10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 40};
  EXPECT_EQ(PseudoHeaderSum(kTcpSrc, kTcpDst, 6, 40), 0x1431);
  EXPECT_EQ(PseudoHeaderSum(kTcpSrc, kTcpDst, 6, 40), SumOf(pseudo));
}

TEST(PseudoHeaderSumTest, FoldsCarries) {
  const Ipv4Address all = Ipv4Address(0xffffffff);
  const uint8_t pseudo[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 17, 0xff, 0xff};
  EXPECT_EQ(PseudoHeaderSum(all, all, 17, 0xffff), SumOf(pseudo));
}

// What a NIC does with the pre-seeded field: it sums the segment (seed included) and stores the
// complement. That must equal the software checksum.
TEST(PseudoHeaderSumTest, SeededSegmentSumEqualsTransportChecksum) {
  std::vector<uint8_t> segment = WithZeroedField(kTcpSyn, 16);
  InternetChecksum c;
  c.AddU16(PseudoHeaderSum(kTcpSrc, kTcpDst, 6, static_cast<uint16_t>(segment.size())));
  c.Add(segment);
  EXPECT_EQ(c.Finish(), TransportChecksum(kTcpSrc, kTcpDst, 6, segment));
  EXPECT_EQ(c.Finish(), 0x199d);

  StoreBe16(&segment[16], PseudoHeaderSum(kTcpSrc, kTcpDst, 6, 40));
  EXPECT_EQ(Ipv4HeaderChecksum(segment), 0x199d);  // a plain RFC 1071 sum, as the NIC does it
}

TEST(PseudoHeaderSumTest, SeededSumEqualsTransportChecksumForRandomSegments) {
  std::mt19937 rng(768);
  for (int round = 0; round < 200; ++round) {
    const Ipv4Address src(static_cast<uint32_t>(rng()));
    const Ipv4Address dst(static_cast<uint32_t>(rng()));
    const uint8_t protocol = round % 2 ? 6 : 17;
    const std::vector<uint8_t> segment = RandomBytes(rng, 8 + rng() % 1500);
    InternetChecksum c;
    c.AddU16(PseudoHeaderSum(src, dst, protocol, static_cast<uint16_t>(segment.size())));
    c.Add(segment);
    EXPECT_EQ(c.Finish(), TransportChecksum(src, dst, protocol, segment)) << "round " << round;
  }
}

// ---------------------------------------------------------------------------------------------
// Incremental update
// ---------------------------------------------------------------------------------------------

// RFC 1624 §4: the case where RFC 1141's formula gave 0xffff and a recomputation gives 0.
TEST(ChecksumAdjustTest, Rfc1624Section4Example) {
  EXPECT_EQ(ChecksumAdjust(0xdd2f, 0x5555, 0x3285), 0x0000);
}

TEST(ChecksumAdjustTest, TtlDecrementMatchesRecomputation) {
  std::vector<uint8_t> header(std::begin(kIpv4Header), std::end(kIpv4Header));
  const uint16_t old_word = LoadBe16(&header[8]);  // TTL, protocol
  header[8] -= 1;
  const uint16_t new_word = LoadBe16(&header[8]);
  const uint16_t adjusted = ChecksumAdjust(0xb861, old_word, new_word);
  StoreBe16(&header[10], 0);
  EXPECT_EQ(adjusted, Ipv4HeaderChecksum(header));
  EXPECT_EQ(adjusted, 0xb961);
}

TEST(ChecksumAdjustTest, NoChangeKeepsTheChecksum) {
  EXPECT_EQ(ChecksumAdjust(0xb861, 0x4011, 0x4011), 0xb861);
}

TEST(ChecksumAdjustTest, EqualsRecomputationForRandomWords) {
  std::mt19937 rng(1624);
  std::uniform_int_distribution<int> word(0, 0xffff);
  for (int round = 0; round < 1000; ++round) {
    // A random 40-byte "header" whose checksum lives at bytes 10..11, like IPv4's.
    std::vector<uint8_t> data = RandomBytes(rng, 40);
    StoreBe16(&data[10], 0);
    const uint16_t old_checksum = Ipv4HeaderChecksum(data);

    size_t at = 2 * (rng() % 20);
    if (at == 10) at = 12;
    const uint16_t old_word = LoadBe16(&data[at]);
    const uint16_t new_word = static_cast<uint16_t>(word(rng));
    StoreBe16(&data[at], new_word);

    EXPECT_EQ(ChecksumAdjust(old_checksum, old_word, new_word), Ipv4HeaderChecksum(data))
        << "round " << round << " offset " << at << " " << old_word << " -> " << new_word;
  }
}

TEST(ChecksumAdjustTest, AdjustedHeaderStillVerifies) {
  std::mt19937 rng(7);
  std::vector<uint8_t> header(std::begin(kIpv4Header), std::end(kIpv4Header));
  for (int round = 0; round < 1000; ++round) {
    // Rewrite the destination address one half at a time, as a NAT would.
    const uint32_t new_address = static_cast<uint32_t>(rng());
    uint16_t checksum = LoadBe16(&header[10]);
    checksum =
        ChecksumAdjust(checksum, LoadBe16(&header[16]), static_cast<uint16_t>(new_address >> 16));
    checksum = ChecksumAdjust(checksum, LoadBe16(&header[18]), static_cast<uint16_t>(new_address));
    StoreBe32(&header[16], new_address);
    StoreBe16(&header[10], checksum);
    ASSERT_EQ(Ipv4HeaderChecksum(header), 0) << "round " << round;
  }
}

}  // namespace
}  // namespace ferry::net
