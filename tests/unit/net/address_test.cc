#include "net/address.h"

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

TEST(Ipv4Address, ParsesAndPrintsDottedQuads) {
  auto a = Ipv4Address::Parse("198.18.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value, 0xc6120001u);
  EXPECT_EQ(a->ToString(), "198.18.0.1");
  EXPECT_EQ(Ipv4Address::Parse("0.0.0.0")->value, 0u);
  EXPECT_EQ(Ipv4Address::Parse("255.255.255.255")->value, 0xffffffffu);
}

TEST(Ipv4Address, RefusesAnythingButFourDecimalOctets) {
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", " 1.2.3.4", "1.2.3.4 ",
                          "", "a.b.c.d", "1.2.3.-4", "1.2.3.0x4", "1.2.3.1234", "+1.2.3.4"}) {
    auto a = Ipv4Address::Parse(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_NE(a.status().message().find(bad), absl::string_view::npos);
    }
  }
}

TEST(Ipv4Address, Classes) {
  EXPECT_TRUE(Ipv4Address::FromOctets(224, 0, 0, 1).IsMulticast());
  EXPECT_TRUE(Ipv4Address::FromOctets(239, 255, 255, 255).IsMulticast());
  EXPECT_FALSE(Ipv4Address::FromOctets(240, 0, 0, 1).IsMulticast());
  EXPECT_TRUE(Ipv4Address(0xffffffffu).IsLimitedBroadcast());
  EXPECT_TRUE(Ipv4Address().IsUnspecified());
}

TEST(MacAddress, ParsesAndPrints) {
  auto m = MacAddress::Parse("02:00:aB:cd:EF:01");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->ToString(), "02:00:ab:cd:ef:01");
  EXPECT_FALSE(m->IsMulticast());
  EXPECT_TRUE(MacAddress::Parse("01:00:5e:00:00:01")->IsMulticast());
  EXPECT_TRUE(MacAddress::Broadcast().IsBroadcast());
  EXPECT_TRUE(MacAddress::Broadcast().IsMulticast());
  EXPECT_TRUE(MacAddress::Zero().IsZero());
}

TEST(MacAddress, RefusesMalformedText) {
  for (const char* bad : {"01:02:03:04:05", "01:02:03:04:05:06:07", "zz:00:00:00:00:00",
                          "1:2:3:4:5:6", "0102.0304.0506", "", "01-02-03-04-05-06"}) {
    EXPECT_FALSE(MacAddress::Parse(bad).ok()) << bad;
  }
}

TEST(Ipv4Prefix, ParsesMasksAndContains) {
  auto p = Ipv4Prefix::Parse("198.18.0.77/24");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Mask(), 0xffffff00u);
  EXPECT_EQ(p->Network().ToString(), "198.18.0.0");
  EXPECT_EQ(p->Broadcast().ToString(), "198.18.0.255");
  EXPECT_TRUE(p->Contains(*Ipv4Address::Parse("198.18.0.1")));
  EXPECT_FALSE(p->Contains(*Ipv4Address::Parse("198.18.1.1")));
  EXPECT_EQ(p->ToString(), "198.18.0.77/24");
}

TEST(Ipv4Prefix, EdgeLengths) {
  Ipv4Prefix all = *Ipv4Prefix::Parse("0.0.0.0/0");
  EXPECT_EQ(all.Mask(), 0u);
  EXPECT_TRUE(all.Contains(Ipv4Address(0xdeadbeef)));
  Ipv4Prefix host = *Ipv4Prefix::Parse("198.18.0.1/32");
  EXPECT_EQ(host.Mask(), 0xffffffffu);
  EXPECT_TRUE(host.Contains(*Ipv4Address::Parse("198.18.0.1")));
  EXPECT_FALSE(host.Contains(*Ipv4Address::Parse("198.18.0.2")));
  Ipv4Prefix p2p = *Ipv4Prefix::Parse("198.18.0.0/31");
  EXPECT_TRUE(p2p.Contains(*Ipv4Address::Parse("198.18.0.1")));
  EXPECT_FALSE(p2p.Contains(*Ipv4Address::Parse("198.18.0.2")));
}

TEST(Ipv4Prefix, RefusesMalformedText) {
  for (const char* bad : {"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "1.2.3.4", "/24", "1.2.3/24",
                          "1.2.3.4/-1"}) {
    EXPECT_FALSE(Ipv4Prefix::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ferry::net
