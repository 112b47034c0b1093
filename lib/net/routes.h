// IPv4 routing for the appliance's own traffic: connected subnets of the interfaces and static
// routes through a next hop. Longest prefix wins (RFC 1812 §5.2.4.3); among equal prefixes the
// first configured. Built on the control path; Lookup runs on the data path and is a scan of a
// short vector sorted by prefix length (a handful of routes: an LPM trie would cost more than
// it saves until tables grow, which belongs to the control-plane issue).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "net/address.h"

namespace ferry::net {

struct RouteResult {
  uint16_t interface = 0;  // index into the host's interface list
  Ipv4Address next_hop;    // the destination itself on a connected subnet
};

class RouteTable {
 public:
  // A directly connected subnet on `interface`.
  void AddConnected(Ipv4Prefix subnet, uint16_t interface);
  // `prefix` via `next_hop`; the next hop must lie in a connected subnet added before.
  // Returns InvalidArgument naming the route otherwise.
  absl::Status AddStatic(Ipv4Prefix prefix, Ipv4Address next_hop);

  std::optional<RouteResult> Lookup(Ipv4Address destination) const;
  // True if `address` lies in a connected subnet of `interface`.
  bool OnLink(Ipv4Address address, uint16_t interface) const;

 private:
  struct Route {
    Ipv4Prefix prefix;
    uint16_t interface;
    bool connected;
    Ipv4Address next_hop;
  };
  void Insert(const Route& route);
  std::vector<Route> routes_;  // longest prefix first
};

}  // namespace ferry::net
