// RouteTable: connected subnets and static routes. RFC 1812 §5.2.4.3: the longest matching
// prefix wins; among routes of equal prefix the first configured wins (routes.h).
#include "net/routes.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }
Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }

// The next hop a lookup of `destination` gives, as text ("none" without a route).
std::string NextHop(const RouteTable& t, const char* destination) {
  auto r = t.Lookup(A(destination));
  return r ? r->next_hop.ToString() : "none";
}

// ---- Connected subnets -------------------------------------------------------------------

TEST(RouteTable, ConnectedDestinationIsItsOwnNextHop) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  auto r = t.Lookup(A("198.18.0.77"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->interface, 0);
  EXPECT_EQ(r->next_hop, A("198.18.0.77"));
}

TEST(RouteTable, ConnectedSubnetsPickTheirInterface) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  t.AddConnected(P("198.18.1.1/24"), 1);
  t.AddConnected(P("192.0.2.1/31"), 2);
  EXPECT_EQ(t.Lookup(A("198.18.0.9"))->interface, 0);
  EXPECT_EQ(t.Lookup(A("198.18.1.9"))->interface, 1);
  EXPECT_EQ(t.Lookup(A("192.0.2.0"))->interface, 2);
  EXPECT_EQ(t.Lookup(A("192.0.2.0"))->next_hop, A("192.0.2.0"));
}

TEST(RouteTable, HostBitsOfAConnectedAddressDoNotMatter) {
  RouteTable t;
  t.AddConnected(P("198.18.0.200/25"), 3);  // the network is 198.18.0.128/25
  EXPECT_EQ(t.Lookup(A("198.18.0.129"))->interface, 3);
  EXPECT_FALSE(t.Lookup(A("198.18.0.1")).has_value());
}

// ---- Static routes -----------------------------------------------------------------------

TEST(RouteTable, StaticRouteGoesViaItsNextHopOnTheNextHopsInterface) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  t.AddConnected(P("198.18.1.1/24"), 1);
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.1.254")).ok());
  auto r = t.Lookup(A("198.19.5.5"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->interface, 1);
  EXPECT_EQ(r->next_hop, A("198.18.1.254"));
}

TEST(RouteTable, DefaultRouteCatchesWhatNothingElseMatches) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("0.0.0.0/0"), A("198.18.0.254")).ok());
  for (const char* d : {"203.0.113.1", "0.0.0.1", "255.255.255.254", "10.0.0.1"}) {
    auto r = t.Lookup(A(d));
    ASSERT_TRUE(r.has_value()) << d;
    EXPECT_EQ(r->next_hop, A("198.18.0.254")) << d;
    EXPECT_EQ(r->interface, 0) << d;
  }
  // The connected /24 is longer than /0: its hosts are reached directly.
  EXPECT_EQ(NextHop(t, "198.18.0.9"), "198.18.0.9");
}

TEST(RouteTable, NoMatchingRouteIsNullopt) {
  RouteTable t;
  EXPECT_FALSE(t.Lookup(A("198.18.0.1")).has_value());  // empty table
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.2")).ok());
  EXPECT_FALSE(t.Lookup(A("198.20.0.1")).has_value());
  EXPECT_FALSE(t.Lookup(A("198.18.1.1")).has_value());
}

// RFC 1812 §5.2.4.3 (longest match): whatever order the routes were configured in.
TEST(RouteTable, LongestPrefixWinsWhateverTheInsertionOrder) {
  struct Static {
    const char* prefix;
    const char* via;
  };
  std::vector<Static> routes = {{"0.0.0.0/0", "198.18.0.1"},
                                {"198.19.0.0/16", "198.18.0.2"},
                                {"198.19.7.0/24", "198.18.0.3"},
                                {"198.19.0.0/20", "198.18.0.4"},
                                {"198.19.7.7/32", "198.18.0.5"}};
  std::sort(routes.begin(), routes.end(),
            [](const Static& a, const Static& b) { return std::string(a.prefix) < b.prefix; });
  int orders = 0;
  do {
    RouteTable t;
    t.AddConnected(P("198.18.0.10/24"), 0);
    std::string order;
    for (const Static& s : routes) {
      ASSERT_TRUE(t.AddStatic(P(s.prefix), A(s.via)).ok()) << s.prefix;
      order += std::string(s.prefix) + " ";
    }
    SCOPED_TRACE("insertion order: " + order);
    EXPECT_EQ(NextHop(t, "198.19.7.7"), "198.18.0.5");    // /32
    EXPECT_EQ(NextHop(t, "198.19.7.1"), "198.18.0.3");    // /24 beats /20 and /16
    EXPECT_EQ(NextHop(t, "198.19.1.1"), "198.18.0.4");    // /20 beats /16
    EXPECT_EQ(NextHop(t, "198.19.16.1"), "198.18.0.2");   // outside the /20: the /16
    EXPECT_EQ(NextHop(t, "203.0.113.1"), "198.18.0.1");   // only the default
    EXPECT_EQ(NextHop(t, "198.18.0.99"), "198.18.0.99");  // connected /24 beats /0
    ++orders;
  } while (std::next_permutation(
      routes.begin(), routes.end(),
      [](const Static& a, const Static& b) { return std::string(a.prefix) < b.prefix; }));
  EXPECT_EQ(orders, 120);
}

TEST(RouteTable, ConnectedSubnetAddedAfterAWiderStaticRouteStillWins) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("198.18.0.0/16"), A("198.18.0.254")).ok());
  t.AddConnected(P("198.18.1.1/24"), 1);
  auto r = t.Lookup(A("198.18.1.5"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->interface, 1);
  EXPECT_EQ(r->next_hop, A("198.18.1.5"));
  EXPECT_EQ(NextHop(t, "198.18.2.5"), "198.18.0.254");
}

// routes.h: among equal prefixes the first configured wins.
TEST(RouteTable, FirstOfEqualPrefixesWins) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.2")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.3")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.4")).ok());
  EXPECT_EQ(NextHop(t, "198.19.0.1"), "198.18.0.2");
}

TEST(RouteTable, FirstOfEqualDefaultRoutesWinsEvenWithLongerRoutesBetween) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("0.0.0.0/0"), A("198.18.0.7")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.2")).ok());
  ASSERT_TRUE(t.AddStatic(P("0.0.0.0/0"), A("198.18.0.8")).ok());
  EXPECT_EQ(NextHop(t, "203.0.113.1"), "198.18.0.7");
}

TEST(RouteTable, StaticPrefixHostBitsAreIgnored) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("198.19.5.5/16"), A("198.18.0.2")).ok());
  EXPECT_EQ(NextHop(t, "198.19.200.1"), "198.18.0.2");
  EXPECT_EQ(NextHop(t, "198.20.0.1"), "none");
}

// routes.h: the next hop must lie in a connected subnet added before.
TEST(RouteTable, OffLinkNextHopIsRefusedWithTheRouteNamed) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  absl::Status s = t.AddStatic(P("198.19.0.0/16"), A("10.0.0.1"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "route 198.19.0.0/16 via 10.0.0.1: the next hop is not in any interface's subnet");
  // Nothing was installed.
  EXPECT_FALSE(t.Lookup(A("198.19.0.1")).has_value());
}

TEST(RouteTable, NextHopReachableOnlyThroughAnotherStaticRouteIsOffLink) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.2")).ok());
  // 198.19.0.1 is routable, but not on a link: recursive next hops are refused.
  absl::Status s = t.AddStatic(P("198.20.0.0/16"), A("198.19.0.1"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("198.20.0.0/16"), absl::string_view::npos) << s;
}

TEST(RouteTable, StaticRouteBeforeAnyConnectedSubnetIsRefused) {
  RouteTable t;
  EXPECT_EQ(t.AddStatic(P("0.0.0.0/0"), A("198.18.0.1")).code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- OnLink ------------------------------------------------------------------------------

TEST(RouteTable, OnLinkMeansInAConnectedSubnetOfThatInterface) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  t.AddConnected(P("198.18.1.1/24"), 1);
  t.AddConnected(P("10.9.0.1/16"), 1);
  ASSERT_TRUE(t.AddStatic(P("0.0.0.0/0"), A("198.18.0.254")).ok());
  EXPECT_TRUE(t.OnLink(A("198.18.0.9"), 0));
  EXPECT_FALSE(t.OnLink(A("198.18.0.9"), 1));
  EXPECT_TRUE(t.OnLink(A("198.18.1.9"), 1));
  EXPECT_TRUE(t.OnLink(A("10.9.255.1"), 1));  // the interface's second subnet
  EXPECT_FALSE(t.OnLink(A("10.9.255.1"), 0));
  // Reached through the default route on interface 0, but not on its link.
  EXPECT_FALSE(t.OnLink(A("203.0.113.1"), 0));
  EXPECT_FALSE(t.OnLink(A("198.18.0.9"), 7));  // no such interface
}

}  // namespace
}  // namespace ferry::net
