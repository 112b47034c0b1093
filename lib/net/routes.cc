#include "net/routes.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ferry::net {

void RouteTable::Insert(const Route& route) {
  // Stable: after all longer-or-equal prefixes, so the first configured wins among equals.
  auto pos = std::find_if(routes_.begin(), routes_.end(), [&](const Route& r) {
    return r.prefix.length < route.prefix.length;
  });
  routes_.insert(pos, route);
}

void RouteTable::AddConnected(Ipv4Prefix subnet, uint16_t interface) {
  subnet.address = subnet.Network();
  Insert(Route{subnet, interface, true, Ipv4Address()});
}

absl::Status RouteTable::AddStatic(Ipv4Prefix prefix, Ipv4Address next_hop) {
  for (const Route& r : routes_) {
    if (r.connected && r.prefix.Contains(next_hop)) {
      prefix.address = prefix.Network();
      Insert(Route{prefix, r.interface, false, next_hop});
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "route ", prefix.ToString(), " via ", next_hop.ToString(),
      ": the next hop is not in any interface's subnet"));
}

std::optional<RouteResult> RouteTable::Lookup(Ipv4Address destination) const {
  for (const Route& r : routes_) {
    if (r.prefix.Contains(destination)) {
      return RouteResult{r.interface, r.connected ? destination : r.next_hop};
    }
  }
  return std::nullopt;
}

bool RouteTable::OnLink(Ipv4Address address, uint16_t interface) const {
  for (const Route& r : routes_) {
    if (r.connected && r.interface == interface && r.prefix.Contains(address)) return true;
  }
  return false;
}

}  // namespace ferry::net
