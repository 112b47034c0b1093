// The PROXY protocol header through the proxy (docs/proxy.md 4; proxy_protocol.h, after
// "The PROXY protocol, Versions 1 & 2"): the backend's first bytes are the header naming the
// client as the source and the VIP as the destination, then the client's bytes.
#include <span>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "proxy/proxy_protocol.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ========================================= Version 1 =========================================

// §2.1: "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n", then the client's bytes.
TEST(ProxyHeaderV1, LinePrecedesTheClientBytes) {
  ProxyHarness h;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV1;
  Flow& c = h.Client(40123);
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(b, h.SynAckOf(b));
  const std::string line = "PROXY TCP4 198.18.0.2 198.18.0.1 40123 80\r\n";
  h.Expect(b, Ack().Seq(1).Ack(1).Data(line));
  h.Inject(c, Ack().Seq(1).Ack(1).Data("GET /"));
  h.Expect(b, Ack().Seq(1 + line.size()).Ack(1).Data("GET /"));
  EXPECT_EQ(b.from_ferry, line + "GET /");
  // The header is the proxy's, not the client's: bytes_to_backend counts the client's bytes.
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), 5u);

  ProxyHeader parsed;
  ASSERT_EQ(ParseProxyHeader(Bytes(b.from_ferry), parsed), ProxyHeaderError::kOk);
  EXPECT_EQ(parsed.version, 1);
  EXPECT_EQ(parsed.length, line.size());

  h.Inject(c, Rst().Seq(6));
  h.Expect(b, Rst().AckBitOptional().Seq(1 + line.size() + 5));
}

// docs/proxy.md 4: "the pool's PROXY header (if any) is queued first, then whatever the client
// sent meanwhile": bytes that arrived while connecting follow the header.
TEST(ProxyHeaderV1, HeldBytesFollowTheHeader) {
  ProxyHarness h;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV1;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(c, Ack().Seq(1).Ack(1).Data("early bytes"));
  h.Inject(b, h.SynAckOf(b));
  h.Advance(1ms);
  EXPECT_EQ(b.from_ferry, "PROXY TCP4 198.18.0.2 198.18.0.1 40000 80\r\nearly bytes");
  h.FlushAll();

  h.Inject(c, Rst().Seq(12));
  h.Expect(b, Rst().AckBitOptional().Seq(1 + 43 + 11));
}

// Every connection of the session's retries gets its own header: the header is written when
// the backend connects, so a refused first attempt leaves nothing behind.
TEST(ProxyHeaderV1, RetriedBackendGetsTheHeader) {
  ProxyHarness h;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV1;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& first = h.ExpectSyn();
  h.Inject(first, RstAck().Seq(0).Ack(1));
  h.AdvanceUntilOutput(1s);
  Flow& second = h.ExpectSyn();
  h.Inject(second, h.SynAckOf(second));
  h.Expect(second, Ack().Seq(1).Ack(1).Data("PROXY TCP4 198.18.0.2 198.18.0.1 40000 80\r\n"));
  EXPECT_EQ(first.from_ferry, "");

  h.Inject(c, Rst().Seq(1));
  h.Expect(second, Rst().AckBitOptional().Seq(1 + 43));
}

// ========================================= Version 2 =========================================

// §2.2: the 12-byte signature, version 2 and command PROXY, TCP over IPv4, the client's and
// the VIP's addresses and ports, the pool's TLV and a CRC32C (§2.2.3) that verifies; the
// client's bytes follow the header.
TEST(ProxyHeaderV2, BinaryHeaderWithTlvAndCrc) {
  ProxyHarness h;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV2;
  h.pool().proxy_protocol_tlvs = {TlvSettings{.type = 0xE0, .value = {'f', 'e', 'r', 'r', 'y'}}};
  h.pool().proxy_protocol_crc32c = true;
  Flow& c = h.Client(40555);
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(b, h.SynAckOf(b));
  h.Inject(c, Ack().Seq(1).Ack(1).Data("payload"));
  h.Advance(1ms);

  const std::string& bytes = b.from_ferry;
  ASSERT_GE(bytes.size(), kV2FixedLength);
  EXPECT_EQ(bytes.substr(0, 12),
            std::string(reinterpret_cast<const char*>(kV2Signature.data()), 12));
  EXPECT_EQ(static_cast<uint8_t>(bytes[12]), 0x21) << "version 2, command PROXY";
  EXPECT_EQ(static_cast<uint8_t>(bytes[13]), V2Family::kTcp4);
  // Address block, TLV 0xE0 (3 + 5 bytes) and the CRC32C TLV (3 + 4 bytes).
  const size_t length = kV2FixedLength + kV2Ipv4AddressLength + 8 + 7;
  EXPECT_EQ((static_cast<uint8_t>(bytes[14]) << 8) | static_cast<uint8_t>(bytes[15]),
            static_cast<int>(length - kV2FixedLength));

  ProxyHeader parsed;
  ASSERT_EQ(ParseProxyHeader(Bytes(bytes), parsed), ProxyHeaderError::kOk);
  EXPECT_EQ(parsed.version, 2);
  EXPECT_EQ(parsed.command, Command::kProxy);
  EXPECT_EQ(parsed.family, V2Family::kTcp4);
  ASSERT_TRUE(parsed.addresses.has_value());
  EXPECT_EQ(*parsed.addresses, (ProxyAddresses{.source = kClientIp,
                                                .destination = kVip,
                                                .source_port = 40555,
                                                .destination_port = kVipPort}));
  const std::optional<Tlv> custom = parsed.tlvs.Find(0xE0);
  ASSERT_TRUE(custom.has_value());
  EXPECT_EQ(std::string(custom->value.begin(), custom->value.end()), "ferry");
  EXPECT_TRUE(parsed.tlvs.Find(Pp2Type::kCrc32c).has_value()) << "verified by the parser";
  ASSERT_EQ(parsed.length, length);
  EXPECT_EQ(bytes.substr(parsed.length), "payload");

  // A flipped byte in the address block no longer matches the CRC.
  std::string corrupt = bytes;
  corrupt[kV2FixedLength] ^= 0x01;
  ProxyHeader ignored;
  EXPECT_EQ(ParseProxyHeader(Bytes(corrupt), ignored), ProxyHeaderError::kBadChecksum);
  h.FlushAll();

  h.Inject(c, Rst().Seq(8));
  h.Expect(b, Rst().AckBitOptional().Seq(1 + length + 7));
}

// Without TLVs or CRC: the 28-byte header of §2.2 alone.
TEST(ProxyHeaderV2, PlainHeaderIs28Bytes) {
  ProxyHarness h;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV2;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(b, h.SynAckOf(b));
  std::optional<Captured> header = h.Take(b);
  ASSERT_TRUE(header.has_value());
  ASSERT_EQ(header->payload.size(), 28u);
  ProxyHeader parsed;
  ASSERT_EQ(ParseProxyHeader(Bytes(header->payload), parsed), ProxyHeaderError::kOk);
  EXPECT_TRUE(parsed.tlvs.empty());
  ASSERT_TRUE(parsed.addresses.has_value());
  EXPECT_EQ(parsed.addresses->source_port, kClientPort);

  h.Inject(c, Rst().Seq(1));
  h.Expect(b, Rst().AckBitOptional().Seq(29));
}

}  // namespace
}  // namespace ferry::proxy::packet
