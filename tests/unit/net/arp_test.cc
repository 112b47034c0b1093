// Tests for the RFC 826 Ethernet/IPv4 ARP view and repr.
#include "net/arp.h"

#include <cstdint>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/bytes.h"
#include "net/parse_error.h"

namespace ferry::net {
namespace {

constexpr MacAddress kPeerMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddress kHostMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const Ipv4Address kPeerIp = Ipv4Address::FromOctets(192, 168, 1, 10);
const Ipv4Address kHostIp = Ipv4Address::FromOctets(192, 168, 1, 1);

// "Who has 192.168.1.1? Tell 192.168.1.10" as the Ethernet payload of a minimum-size frame:
// 28 bytes of ARP and 18 of padding.
constexpr uint8_t kRequest[] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,              // hrd, pro, hln, pln, op
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a,  // sha, spa
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01,  // tha, tpa
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // padding
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

// "192.168.1.1 is at 02:00:00:00:00:01", the answer, without padding.
constexpr uint8_t kReply[] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,              //
                              0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0xc0, 0xa8, 0x01, 0x01,  //
                              0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a};

std::vector<uint8_t> Copy(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

TEST(ArpViewTest, ParsesARequest) {
  ArpView arp;
  ASSERT_EQ(ArpView::Parse(kRequest, arp), ParseError::kOk);
  EXPECT_EQ(arp.operation(), static_cast<uint16_t>(ArpOp::kRequest));
  EXPECT_EQ(arp.sender_mac(), kPeerMac);
  EXPECT_EQ(arp.sender_ip(), kPeerIp);
  EXPECT_TRUE(arp.target_mac().IsZero());
  EXPECT_EQ(arp.target_ip(), kHostIp);
}

TEST(ArpViewTest, ParsesAReply) {
  ArpView arp;
  ASSERT_EQ(ArpView::Parse(kReply, arp), ParseError::kOk);
  EXPECT_EQ(arp.operation(), static_cast<uint16_t>(ArpOp::kReply));
  EXPECT_EQ(arp.sender_mac(), kHostMac);
  EXPECT_EQ(arp.sender_ip(), kHostIp);
  EXPECT_EQ(arp.target_mac(), kPeerMac);
  EXPECT_EQ(arp.target_ip(), kPeerIp);
}

TEST(ArpViewTest, TruncatedAtEveryLengthBelow28) {
  for (size_t n = 0; n < 28; ++n) {
    ArpView arp;
    EXPECT_EQ(ArpView::Parse(std::span(kReply).first(n), arp), ParseError::kTruncated)
        << "length " << n;
  }
}

TEST(ArpViewTest, TruncationIsReportedBeforeFormat) {
  std::vector<uint8_t> bytes = Copy(std::span(kReply).first(20));
  bytes[1] = 6;
  ArpView arp;
  EXPECT_EQ(ArpView::Parse(bytes, arp), ParseError::kTruncated);
}

struct FormatCase {
  const char* name;
  size_t offset;
  uint8_t value;
};

// RFC 826: a receiver checks ar$hrd and ar$pro (and optionally the lengths) and drops what it
// does not speak. ferry speaks only Ethernet (1) / IPv4 (0x0800), 6 / 4.
TEST(ArpViewTest, RejectsFormatsOtherThanEthernetIpv4) {
  const FormatCase cases[] = {
      {"htype 6 (IEEE 802)", 1, 6},
      {"htype 0", 1, 0},
      {"htype 0x0101", 0, 1},
      {"ptype 0x86dd (IPv6)", 2, 0x86},
      {"ptype 0x0806", 3, 0x06},
      {"hlen 8", 4, 8},
      {"hlen 0", 4, 0},
      {"plen 16", 5, 16},
      {"plen 0", 5, 0},
  };
  for (const FormatCase& c : cases) {
    std::vector<uint8_t> bytes = Copy(kRequest);
    bytes[c.offset] = c.value;
    ArpView arp;
    EXPECT_EQ(ArpView::Parse(bytes, arp), ParseError::kUnsupported) << c.name;
  }
}

TEST(ArpViewTest, UnknownOperationIsExposedRaw) {
  // RARP request (3) and an unassigned value: not the view's call, the host counts them.
  for (uint16_t op : {0, 3, 0x1234, 0xffff}) {
    std::vector<uint8_t> bytes = Copy(kReply);
    StoreBe16(&bytes[6], op);
    ArpView arp;
    ASSERT_EQ(ArpView::Parse(bytes, arp), ParseError::kOk);
    EXPECT_EQ(arp.operation(), op);
  }
}

TEST(ArpViewTest, FailedParseLeavesTheViewAlone) {
  ArpView arp;
  ASSERT_EQ(ArpView::Parse(kReply, arp), ParseError::kOk);
  std::vector<uint8_t> bad = Copy(kRequest);
  bad[5] = 16;
  ASSERT_EQ(ArpView::Parse(bad, arp), ParseError::kUnsupported);
  EXPECT_EQ(arp.sender_ip(), kHostIp);
}

TEST(ArpReprTest, EmitReproducesTheCapturedReply) {
  const ArpRepr repr{.operation = static_cast<uint16_t>(ArpOp::kReply),
                     .sender_mac = kHostMac,
                     .sender_ip = kHostIp,
                     .target_mac = kPeerMac,
                     .target_ip = kPeerIp};
  std::vector<uint8_t> out(ArpRepr::kLength);
  repr.Emit(out);
  EXPECT_EQ(out, Copy(kReply));
}

TEST(ArpReprTest, EmitThenParseRoundTrips) {
  const ArpRepr repr{.operation = static_cast<uint16_t>(ArpOp::kRequest),
                     .sender_mac = kHostMac,
                     .sender_ip = kHostIp,
                     .target_mac = MacAddress::Zero(),
                     .target_ip = Ipv4Address::FromOctets(192, 168, 1, 254)};
  std::vector<uint8_t> out(ArpRepr::kLength + 18, 0xee);
  repr.Emit(out);
  for (size_t i = ArpRepr::kLength; i < out.size(); ++i) EXPECT_EQ(out[i], 0xee) << i;
  ArpView arp;
  ASSERT_EQ(ArpView::Parse(out, arp), ParseError::kOk);
  EXPECT_EQ(arp.operation(), repr.operation);
  EXPECT_EQ(arp.sender_mac(), repr.sender_mac);
  EXPECT_EQ(arp.sender_ip(), repr.sender_ip);
  EXPECT_EQ(arp.target_mac(), repr.target_mac);
  EXPECT_EQ(arp.target_ip(), repr.target_ip);
}

}  // namespace
}  // namespace ferry::net
