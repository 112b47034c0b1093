// Tests for the Ethernet II and 802.1Q views and reprs.
#include "net/ethernet.h"

#include <cstdint>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/parse_error.h"

namespace ferry::net {
namespace {

constexpr MacAddress kHostMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr MacAddress kPeerMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

// The first 20 bytes of a frame carrying IPv4: 52:54:00:12:34:56 -> 02:00:00:00:00:01.
constexpr uint8_t kIpv4Frame[] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12,
                                  0x34, 0x56, 0x08, 0x00, 0x45, 0x00, 0x00, 0x54, 0xb5, 0xe1};

// A broadcast ARP frame tagged VLAN 100, priority 5, inner EtherType ARP (first 22 bytes).
constexpr uint8_t kTaggedFrame[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54,
                                    0x00, 0x12, 0x34, 0x56, 0x81, 0x00, 0xa0, 0x64,
                                    0x08, 0x06, 0x00, 0x01, 0x08, 0x00};

// ---------------------------------------------------------------------------------------------
// EthernetView
// ---------------------------------------------------------------------------------------------

TEST(EthernetViewTest, ParsesAFrame) {
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(kIpv4Frame, eth), ParseError::kOk);
  EXPECT_EQ(eth.destination(), kHostMac);
  EXPECT_EQ(eth.source(), kPeerMac);
  EXPECT_EQ(eth.ethertype(), EtherType::kIpv4);
  EXPECT_EQ(eth.header_length(), 14u);
  ASSERT_EQ(eth.payload().size(), 6u);
  EXPECT_EQ(eth.payload().data(), &kIpv4Frame[14]);
}

TEST(EthernetViewTest, HeaderOnlyFrameHasEmptyPayload) {
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(std::span(kIpv4Frame).first(14), eth), ParseError::kOk);
  EXPECT_TRUE(eth.payload().empty());
}

TEST(EthernetViewTest, TruncatedAtEveryLengthBelow14) {
  for (size_t n = 0; n < 14; ++n) {
    EthernetView eth;
    EXPECT_EQ(EthernetView::Parse(std::span(kIpv4Frame).first(n), eth), ParseError::kTruncated)
        << "length " << n;
  }
}

TEST(EthernetViewTest, FailedParseLeavesTheViewAlone) {
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(kIpv4Frame, eth), ParseError::kOk);
  ASSERT_EQ(EthernetView::Parse(std::span(kTaggedFrame).first(13), eth), ParseError::kTruncated);
  EXPECT_EQ(eth.source(), kPeerMac);
  EXPECT_EQ(eth.ethertype(), EtherType::kIpv4);
}

TEST(EthernetViewTest, ReadsBroadcastAndVlanEthertype) {
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(kTaggedFrame, eth), ParseError::kOk);
  EXPECT_TRUE(eth.destination().IsBroadcast());
  EXPECT_EQ(eth.ethertype(), EtherType::kVlan);
}

// ---------------------------------------------------------------------------------------------
// VlanTagView
// ---------------------------------------------------------------------------------------------

TEST(VlanTagViewTest, ParsesATag) {
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(kTaggedFrame, eth), ParseError::kOk);
  VlanTagView vlan;
  ASSERT_EQ(VlanTagView::Parse(eth.payload(), vlan), ParseError::kOk);
  EXPECT_EQ(vlan.pcp(), 5);
  EXPECT_FALSE(vlan.dei());
  EXPECT_EQ(vlan.vlan_id(), 100);
  EXPECT_EQ(vlan.inner_ethertype(), EtherType::kArp);
  EXPECT_EQ(vlan.header_length(), 4u);
  ASSERT_EQ(vlan.payload().size(), 4u);
  EXPECT_EQ(vlan.payload().data(), &kTaggedFrame[18]);
}

TEST(VlanTagViewTest, SeparatesPcpDeiAndVid) {
  // TCI 0x3fff: PCP 1, DEI 1, VID 4095 (all of them reserved values, but the view only reads).
  const uint8_t tag[] = {0x3f, 0xff, 0x86, 0xdd};
  VlanTagView vlan;
  ASSERT_EQ(VlanTagView::Parse(tag, vlan), ParseError::kOk);
  EXPECT_EQ(vlan.pcp(), 1);
  EXPECT_TRUE(vlan.dei());
  EXPECT_EQ(vlan.vlan_id(), 0x0fff);
  EXPECT_EQ(vlan.inner_ethertype(), EtherType::kIpv6);
  EXPECT_TRUE(vlan.payload().empty());

  const uint8_t top[] = {0xe0, 0x01, 0x08, 0x00};  // PCP 7, DEI 0, VID 1
  ASSERT_EQ(VlanTagView::Parse(top, vlan), ParseError::kOk);
  EXPECT_EQ(vlan.pcp(), 7);
  EXPECT_FALSE(vlan.dei());
  EXPECT_EQ(vlan.vlan_id(), 1);
}

TEST(VlanTagViewTest, TruncatedAtEveryLengthBelow4) {
  const std::span<const uint8_t> tag = std::span(kTaggedFrame).subspan(14);
  for (size_t n = 0; n < 4; ++n) {
    VlanTagView vlan;
    EXPECT_EQ(VlanTagView::Parse(tag.first(n), vlan), ParseError::kTruncated) << "length " << n;
  }
}

// ---------------------------------------------------------------------------------------------
// Reprs
// ---------------------------------------------------------------------------------------------

TEST(EthernetReprTest, EmitReproducesTheCapturedHeader) {
  const EthernetRepr repr{
      .destination = kHostMac, .source = kPeerMac, .ethertype = EtherType::kIpv4};
  std::vector<uint8_t> out(EthernetRepr::kLength);
  repr.Emit(out);
  EXPECT_EQ(out, std::vector<uint8_t>(kIpv4Frame, kIpv4Frame + 14));
}

TEST(EthernetReprTest, EmitThenParseRoundTrips) {
  const EthernetRepr repr{
      .destination = MacAddress::Broadcast(), .source = kHostMac, .ethertype = EtherType::kArp};
  std::vector<uint8_t> out(EthernetRepr::kLength + 2, 0xee);
  repr.Emit(out);
  EXPECT_EQ(out[14], 0xee);  // nothing written past the header
  EXPECT_EQ(out[15], 0xee);
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(out, eth), ParseError::kOk);
  EXPECT_EQ(eth.destination(), repr.destination);
  EXPECT_EQ(eth.source(), repr.source);
  EXPECT_EQ(eth.ethertype(), repr.ethertype);
}

TEST(VlanTagReprTest, EmitReproducesTheCapturedTag) {
  const VlanTagRepr repr{.vlan_id = 100, .pcp = 5, .inner_ethertype = EtherType::kArp};
  std::vector<uint8_t> out(VlanTagRepr::kLength);
  repr.Emit(out);
  EXPECT_EQ(out, std::vector<uint8_t>(kTaggedFrame + 14, kTaggedFrame + 18));
}

TEST(VlanTagReprTest, EmitThenParseRoundTrips) {
  for (uint16_t vid : {0, 1, 100, 2049, 4094, 4095}) {
    for (uint8_t pcp = 0; pcp <= 7; ++pcp) {
      const VlanTagRepr repr{.vlan_id = vid, .pcp = pcp, .inner_ethertype = EtherType::kIpv4};
      std::vector<uint8_t> out(VlanTagRepr::kLength + 1, 0xee);
      repr.Emit(out);
      EXPECT_EQ(out[4], 0xee);
      VlanTagView vlan;
      ASSERT_EQ(VlanTagView::Parse(out, vlan), ParseError::kOk);
      EXPECT_EQ(vlan.vlan_id(), vid);
      EXPECT_EQ(vlan.pcp(), pcp);
      EXPECT_FALSE(vlan.dei());
      EXPECT_EQ(vlan.inner_ethertype(), EtherType::kIpv4);
    }
  }
}

TEST(VlanTagReprTest, TaggedFrameBuiltFromBothReprsParses) {
  std::vector<uint8_t> frame(EthernetRepr::kLength + VlanTagRepr::kLength);
  EthernetRepr{.destination = kPeerMac, .source = kHostMac, .ethertype = EtherType::kVlan}.Emit(
      frame);
  VlanTagRepr{.vlan_id = 42, .pcp = 0, .inner_ethertype = EtherType::kIpv4}.Emit(
      std::span(frame).subspan(EthernetRepr::kLength));
  EthernetView eth;
  ASSERT_EQ(EthernetView::Parse(frame, eth), ParseError::kOk);
  ASSERT_EQ(eth.ethertype(), EtherType::kVlan);
  VlanTagView vlan;
  ASSERT_EQ(VlanTagView::Parse(eth.payload(), vlan), ParseError::kOk);
  EXPECT_EQ(vlan.vlan_id(), 42);
  EXPECT_EQ(vlan.inner_ethertype(), EtherType::kIpv4);
}

}  // namespace
}  // namespace ferry::net
