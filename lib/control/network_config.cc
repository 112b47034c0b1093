#include "control/network_config.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "control/field_error.h"

namespace ferry::control {

absl::Status CheckHostAddress(absl::string_view path, net::Ipv4Address a) {
  if ((a.value >> 24) == 0 || a.IsLimitedBroadcast() || a.IsMulticast() ||
      (a.value >> 24) == 127 || (a.value >> 28) == 0xf) {
    return FieldError(path, absl::StrCat(a.ToString(),
                                         " is not a unicast host address (0/8, 127/8, 224/4 and "
                                         "240/4 are refused)"));
  }
  return absl::OkStatus();
}

bool IsInterfaceAddress(const v1::Config& config, net::Ipv4Address address) {
  for (const v1::Interface& iface : config.interfaces()) {
    for (const v1::Ipv4Prefix& p : iface.ipv4()) {
      auto own = net::Ipv4Address::Parse(p.address());
      if (own.ok() && *own == address) return true;
    }
  }
  return false;
}

net::RouteTable BuildRouteTable(const v1::Config& config) {
  net::RouteTable table;
  for (int i = 0; i < config.interfaces_size(); ++i) {
    for (const v1::Ipv4Prefix& p : config.interfaces(i).ipv4()) {
      auto address = net::Ipv4Address::Parse(p.address());
      if (!address.ok()) continue;
      table.AddConnected(net::Ipv4Prefix{*address, static_cast<uint8_t>(p.prefix_length())},
                         static_cast<uint16_t>(i));
    }
  }
  for (const v1::Route& r : config.routes()) {
    auto prefix = net::Ipv4Prefix::Parse(r.prefix());
    auto via = net::Ipv4Address::Parse(r.via());
    // An off-link next hop is refused by ValidateConfig; here it would simply add no route.
    if (prefix.ok() && via.ok()) table.AddStatic(*prefix, *via).IgnoreError();
  }
  return table;
}

}  // namespace ferry::control
