// RouteTable: connected subnets and static routes, longest prefix first (RFC 1812 §5.2.4.3).
#include "net/routes.h"

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

Ipv4Address A(const char* text) { return *Ipv4Address::Parse(text); }
Ipv4Prefix P(const char* text) { return *Ipv4Prefix::Parse(text); }

TEST(RouteTable, ConnectedDestinationIsItsOwnNextHop) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  auto r = t.Lookup(A("198.18.0.77"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->interface, 0);
  EXPECT_EQ(r->next_hop, A("198.18.0.77"));
}

TEST(RouteTable, StaticRouteGoesViaItsNextHopOnTheRightInterface) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  t.AddConnected(P("198.18.1.1/24"), 1);
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.1.254")).ok());
  auto r = t.Lookup(A("198.19.5.5"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->interface, 1);
  EXPECT_EQ(r->next_hop, A("198.18.1.254"));
}

TEST(RouteTable, LongestPrefixWinsWhateverTheOrder) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("0.0.0.0/0"), A("198.18.0.1")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.2")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.7.0/24"), A("198.18.0.3")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/20"), A("198.18.0.4")).ok());
  EXPECT_EQ(t.Lookup(A("198.19.7.1"))->next_hop, A("198.18.0.3"));
  EXPECT_EQ(t.Lookup(A("198.19.16.1"))->next_hop, A("198.18.0.2"));  // outside the /20
  EXPECT_EQ(t.Lookup(A("198.19.1.1"))->next_hop, A("198.18.0.4"));
  EXPECT_EQ(t.Lookup(A("203.0.113.1"))->next_hop, A("198.18.0.1"));
  EXPECT_EQ(t.Lookup(A("198.18.0.9"))->next_hop, A("198.18.0.9"));  // connected /24 beats /0
}

TEST(RouteTable, FirstOfEqualPrefixesWins) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.2")).ok());
  ASSERT_TRUE(t.AddStatic(P("198.19.0.0/16"), A("198.18.0.3")).ok());
  EXPECT_EQ(t.Lookup(A("198.19.0.1"))->next_hop, A("198.18.0.2"));
}

TEST(RouteTable, NoRouteIsNullopt) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  EXPECT_FALSE(t.Lookup(A("198.19.0.1")).has_value());
}

TEST(RouteTable, OffLinkNextHopIsRefusedWithTheRouteNamed) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  absl::Status s = t.AddStatic(P("198.19.0.0/16"), A("10.0.0.1"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "route 198.19.0.0/16 via 10.0.0.1: the next hop is not in any interface's subnet");
}

TEST(RouteTable, HostBitsOfAConnectedAddressDoNotMatter) {
  RouteTable t;
  t.AddConnected(P("198.18.0.200/25"), 3);  // the network is 198.18.0.128/25
  EXPECT_EQ(t.Lookup(A("198.18.0.129"))->interface, 3);
  EXPECT_FALSE(t.Lookup(A("198.18.0.1")).has_value());
}

TEST(RouteTable, OnLinkIsPerInterface) {
  RouteTable t;
  t.AddConnected(P("198.18.0.1/24"), 0);
  t.AddConnected(P("198.18.1.1/24"), 1);
  EXPECT_TRUE(t.OnLink(A("198.18.0.9"), 0));
  EXPECT_FALSE(t.OnLink(A("198.18.0.9"), 1));
  EXPECT_TRUE(t.OnLink(A("198.18.1.9"), 1));
}

}  // namespace
}  // namespace ferry::net
