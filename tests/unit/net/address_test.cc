// Addresses as value types: the text forms an operator writes (and ferry prints back), the
// refusals of anything else, and the subnet arithmetic (mask, network, broadcast, contains) that
// validation and routing are built on.
#include "net/address.h"

#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ferry::net {
namespace {

// ---- MacAddress --------------------------------------------------------------------------

TEST(MacAddress, ParseThenToStringRoundTripsInLowerCase) {
  for (const char* text : {"02:00:00:00:00:01", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff",
                           "01:00:5e:7f:00:fb", "de:ad:be:ef:00:42"}) {
    auto mac = MacAddress::Parse(text);
    ASSERT_TRUE(mac.ok()) << text << ": " << mac.status();
    EXPECT_EQ(mac->ToString(), text);
  }
  // Upper case is accepted; the canonical form printed back is lower case.
  auto mixed = MacAddress::Parse("02:00:aB:cD:EF:01");
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  EXPECT_EQ(mixed->ToString(), "02:00:ab:cd:ef:01");
}

TEST(MacAddress, ParseFillsBytesInWireOrder) {
  auto mac = MacAddress::Parse("01:23:45:67:89:ab");
  ASSERT_TRUE(mac.ok()) << mac.status();
  EXPECT_EQ(mac->bytes, (std::array<uint8_t, 6>{0x01, 0x23, 0x45, 0x67, 0x89, 0xab}));
}

TEST(MacAddress, ToStringThenParseRoundTripsEveryByteValue) {
  for (int b = 0; b < 256; ++b) {
    const auto v = static_cast<uint8_t>(b);
    const MacAddress mac{{v, static_cast<uint8_t>(255 - b), 0, v, 0xff, v}};
    auto back = MacAddress::Parse(mac.ToString());
    ASSERT_TRUE(back.ok()) << mac.ToString() << ": " << back.status();
    EXPECT_EQ(*back, mac) << mac.ToString();
  }
}

TEST(MacAddress, RefusesAnythingButSixHexPairsSeparatedByColons) {
  for (const char* bad : {"01:02:03:04:05", "01:02:03:04:05:06:07", "zz:00:00:00:00:00",
                          "01:02:03:04:05:0g", "1:2:3:4:5:6", "001:02:03:04:05:06",
                          "0102.0304.0506", "01-02-03-04-05-06", "", "01:02:03:04:05:06:",
                          "-1:02:03:04:05:06", "0x:02:03:04:05:06"}) {
    auto mac = MacAddress::Parse(bad);
    ASSERT_FALSE(mac.ok()) << "accepted \"" << bad << "\" as " << mac->ToString();
    EXPECT_EQ(mac.status().code(), absl::StatusCode::kInvalidArgument);
    // The error names the text at fault (STYLE.md habit 5).
    EXPECT_NE(mac.status().message().find(absl::StrCat("\"", bad, "\"")), absl::string_view::npos)
        << mac.status();
  }
}

// IEEE 802-2014 §8.2: the I/G bit (least significant bit of the first octet) marks group
// addresses; broadcast is the all-ones group address.
TEST(MacAddress, GroupBitMakesMulticastAndAllOnesIsBroadcast) {
  EXPECT_TRUE(MacAddress::Parse("01:00:5e:00:00:01")->IsMulticast());
  EXPECT_TRUE(MacAddress::Parse("33:33:00:00:00:01")->IsMulticast());
  EXPECT_FALSE(MacAddress::Parse("02:00:00:00:00:01")->IsMulticast());
  EXPECT_FALSE(MacAddress::Parse("00:00:5e:00:00:01")->IsMulticast());

  EXPECT_TRUE(MacAddress::Broadcast().IsBroadcast());
  EXPECT_TRUE(MacAddress::Broadcast().IsMulticast());
  EXPECT_EQ(MacAddress::Broadcast().ToString(), "ff:ff:ff:ff:ff:ff");
  EXPECT_FALSE(MacAddress::Parse("01:00:5e:00:00:01")->IsBroadcast());
  EXPECT_FALSE(MacAddress::Parse("ff:ff:ff:ff:ff:fe")->IsBroadcast());

  EXPECT_TRUE(MacAddress::Zero().IsZero());
  EXPECT_FALSE(MacAddress::Zero().IsMulticast());
  EXPECT_FALSE(MacAddress::Parse("00:00:00:00:00:01")->IsZero());
}

// ---- Ipv4Address -------------------------------------------------------------------------

TEST(Ipv4Address, ParseGivesTheHostOrderValue) {
  EXPECT_EQ(Ipv4Address::Parse("198.18.0.1")->value, 0xc6120001u);
  EXPECT_EQ(Ipv4Address::Parse("0.0.0.0")->value, 0u);
  EXPECT_EQ(Ipv4Address::Parse("255.255.255.255")->value, 0xffffffffu);
  EXPECT_EQ(Ipv4Address::Parse("1.2.3.4")->value, 0x01020304u);
  EXPECT_EQ(*Ipv4Address::Parse("10.20.30.40"), Ipv4Address::FromOctets(10, 20, 30, 40));
}

TEST(Ipv4Address, ParseThenToStringRoundTrips) {
  for (const char* text : {"198.18.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.255",
                           "224.0.0.251", "1.2.3.4", "100.64.0.1"}) {
    auto a = Ipv4Address::Parse(text);
    ASSERT_TRUE(a.ok()) << text << ": " << a.status();
    EXPECT_EQ(a->ToString(), text);
  }
}

TEST(Ipv4Address, ToStringThenParseRoundTrips) {
  for (uint32_t v : {0u, 1u, 0xffu, 0x100u, 0x7f000001u, 0xc0a80101u, 0xdeadbeefu, 0xfffffffeu,
                     0xffffffffu}) {
    auto back = Ipv4Address::Parse(Ipv4Address(v).ToString());
    ASSERT_TRUE(back.ok()) << Ipv4Address(v).ToString() << ": " << back.status();
    EXPECT_EQ(back->value, v);
  }
}

TEST(Ipv4Address, RefusesAnythingButFourDecimalOctets) {
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "1..2.3", " 1.2.3.4",
                          "1.2.3.4 ", "", "....", "1.2.3.", ".1.2.3", "a.b.c.d", "1.2.3.-4",
                          "1.2.3.+4", "+1.2.3.4", "1.2.3.0x4", "1.2.3.1234", "1.2.3.4/24",
                          "1,2,3,4", "4294967295"}) {
    auto a = Ipv4Address::Parse(bad);
    ASSERT_FALSE(a.ok()) << "accepted \"" << bad << "\" as " << a->ToString();
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(a.status().message().find(absl::StrCat("\"", bad, "\"")), absl::string_view::npos)
        << a.status();
  }
}

// RFC 5771: 224.0.0.0/4 is multicast; 240.0.0.0/4 (class E) is not. RFC 919: 255.255.255.255
// is the limited broadcast; RFC 1122 §3.2.1.3: 0.0.0.0 means "this host", unspecified.
TEST(Ipv4Address, MulticastIs224Slash4AndTheSpecialAddressesAreRecognised) {
  EXPECT_TRUE(Ipv4Address::FromOctets(224, 0, 0, 0).IsMulticast());
  EXPECT_TRUE(Ipv4Address::FromOctets(224, 0, 0, 1).IsMulticast());
  EXPECT_TRUE(Ipv4Address::FromOctets(239, 255, 255, 255).IsMulticast());
  EXPECT_FALSE(Ipv4Address::FromOctets(223, 255, 255, 255).IsMulticast());
  EXPECT_FALSE(Ipv4Address::FromOctets(240, 0, 0, 1).IsMulticast());
  EXPECT_FALSE(Ipv4Address(0xffffffffu).IsMulticast());

  EXPECT_TRUE(Ipv4Address(0xffffffffu).IsLimitedBroadcast());
  EXPECT_FALSE(Ipv4Address::FromOctets(198, 18, 0, 255).IsLimitedBroadcast());
  EXPECT_TRUE(Ipv4Address().IsUnspecified());
  EXPECT_FALSE(Ipv4Address::FromOctets(0, 0, 0, 1).IsUnspecified());
}

TEST(Ipv4Address, OrdersByNumericValue) {
  EXPECT_LT(*Ipv4Address::Parse("9.255.255.255"), *Ipv4Address::Parse("10.0.0.0"));
  EXPECT_LT(*Ipv4Address::Parse("10.0.0.2"), *Ipv4Address::Parse("10.0.0.10"));
  EXPECT_EQ(*Ipv4Address::Parse("10.0.0.1"), Ipv4Address::FromOctets(10, 0, 0, 1));
}

// ---- Ipv4Prefix --------------------------------------------------------------------------

TEST(Ipv4Prefix, ParseThenToStringRoundTripsKeepingHostBits) {
  for (const char* text : {"198.18.0.0/15", "198.18.0.77/24", "0.0.0.0/0", "10.1.2.3/32",
                           "192.0.2.0/31", "192.0.2.1/31", "255.255.255.255/32", "1.2.3.4/8"}) {
    auto p = Ipv4Prefix::Parse(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(p->ToString(), text);
  }
  auto p = Ipv4Prefix::Parse("198.18.0.77/24");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->address, Ipv4Address::FromOctets(198, 18, 0, 77));
  EXPECT_EQ(p->length, 24);
}

TEST(Ipv4Prefix, RefusesMalformedText) {
  for (const char* bad : {"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "1.2.3.4", "/24", "1.2.3/24",
                          "1.2.3.4/-1", "1.2.3.4/100", "1.2.3.4//24", "256.0.0.0/8",
                          " 1.2.3.4/24", "1.2.3.4 /24", ""}) {
    auto p = Ipv4Prefix::Parse(bad);
    ASSERT_FALSE(p.ok()) << "accepted \"" << bad << "\" as " << p->ToString();
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(Ipv4Prefix, ErrorNamesTheText) {
  auto p = Ipv4Prefix::Parse("1.2.3.4/33");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("\"1.2.3.4/33\""), absl::string_view::npos) << p.status();
}

struct SubnetCase {
  const char* prefix;
  uint32_t mask;
  const char* network;
  const char* broadcast;
  std::vector<const char*> inside;
  std::vector<const char*> outside;
};

// Mask, network and (directed) broadcast for the edge lengths: /0 (the default route), /24,
// /31 (RFC 3021 point-to-point, no network or broadcast address in use) and /32 (one host).
TEST(Ipv4Prefix, MaskNetworkBroadcastAndContainsAtEdgeLengths) {
  const std::vector<SubnetCase> cases = {
      {"203.0.113.9/0", 0x00000000u, "0.0.0.0", "255.255.255.255",
       {"0.0.0.0", "10.0.0.1", "203.0.113.9", "255.255.255.255"}, {}},
      {"198.18.0.77/24", 0xffffff00u, "198.18.0.0", "198.18.0.255",
       {"198.18.0.0", "198.18.0.1", "198.18.0.77", "198.18.0.255"},
       {"198.18.1.0", "198.17.255.255", "198.19.0.1", "0.0.0.0"}},
      {"192.0.2.1/31", 0xfffffffeu, "192.0.2.0", "192.0.2.1",
       {"192.0.2.0", "192.0.2.1"}, {"192.0.2.2", "192.0.2.255", "192.0.3.0"}},
      {"10.1.2.3/32", 0xffffffffu, "10.1.2.3", "10.1.2.3",
       {"10.1.2.3"}, {"10.1.2.2", "10.1.2.4", "0.0.0.0"}},
  };
  for (const SubnetCase& c : cases) {
    SCOPED_TRACE(c.prefix);
    auto p = Ipv4Prefix::Parse(c.prefix);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->Mask(), c.mask);
    EXPECT_EQ(p->Network().ToString(), c.network);
    EXPECT_EQ(p->Broadcast().ToString(), c.broadcast);
    for (const char* a : c.inside) EXPECT_TRUE(p->Contains(*Ipv4Address::Parse(a))) << a;
    for (const char* a : c.outside) EXPECT_FALSE(p->Contains(*Ipv4Address::Parse(a))) << a;
  }
}

TEST(Ipv4Prefix, MaskHasLengthLeadingOnesForEveryLength) {
  for (int length = 0; length <= 32; ++length) {
    const Ipv4Prefix p{Ipv4Address(0xffffffffu), static_cast<uint8_t>(length)};
    EXPECT_EQ(__builtin_popcount(p.Mask()), length) << length;
    // Leading ones only: the complement is of the form 2^k - 1.
    const uint32_t host = ~p.Mask();
    EXPECT_EQ(host & (host + 1), 0u) << length;
    EXPECT_EQ(p.Network().value, p.Mask()) << length;
    EXPECT_EQ(p.Broadcast().value, 0xffffffffu) << length;
  }
}

TEST(Ipv4Prefix, EqualityComparesAddressAndLength) {
  EXPECT_EQ(*Ipv4Prefix::Parse("10.0.0.0/8"), (Ipv4Prefix{Ipv4Address::FromOctets(10, 0, 0, 0), 8}));
  EXPECT_NE(*Ipv4Prefix::Parse("10.0.0.0/8"), *Ipv4Prefix::Parse("10.0.0.0/9"));
  // Host bits are kept, so these are different prefixes even though the networks agree.
  EXPECT_NE(*Ipv4Prefix::Parse("10.0.0.0/8"), *Ipv4Prefix::Parse("10.0.0.1/8"));
}

}  // namespace
}  // namespace ferry::net

namespace ferry::net {
namespace {

TEST(Parsing, RefusesSpacesSignsAndLeadingZeros) {
  for (const char* bad : {"1.2.3.4/24 ", "1.2.3.4/ 24", "1.2.3.4/+24", "1.2.3.4/024"}) {
    EXPECT_FALSE(Ipv4Prefix::Parse(bad).ok()) << bad;
  }
  for (const char* bad : {"02:00:00:00:00: 1", " 2:00:00:00:00:01", "02:00:00:00:00:1 ",
                          "02:00:00:00:00:+1"}) {
    EXPECT_FALSE(MacAddress::Parse(bad).ok()) << bad;
  }
  EXPECT_FALSE(Ipv4Address::Parse("010.0.0.1").ok());  // octal to inet_aton, decimal to others
  EXPECT_TRUE(Ipv4Address::Parse("10.0.0.0").ok());
}

}  // namespace
}  // namespace ferry::net
