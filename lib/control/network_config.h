// config.interfaces and config.routes as the sections that refer to them need them: which
// addresses are the appliance's own, and which interface and next hop reach a destination.
// Shared by the validators and resolvers of config_validate.cc, tcp_config.cc (diagnostics)
// and proxy_config.cc, so that "an address of any interface" and "reachable" mean the same
// thing everywhere, and the same thing as on the data path (net::Host routes with the same
// net::RouteTable, built the same way).
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/config.pb.h"
#include "net/address.h"
#include "net/routes.h"

namespace ferry::control {

// OK if `a` is an address a host may own or talk to: unicast, not 0.0.0.0, not loopback or
// class E. Otherwise InvalidArgument "<path>: <a> is not a unicast host address (...)".
absl::Status CheckHostAddress(absl::string_view path, net::Ipv4Address a);

// True if `address` is one of config.interfaces[].ipv4[].address. Unparsable addresses are
// skipped (ValidateConfig has refused them before anything asks).
bool IsInterfaceAddress(const v1::Config& config, net::Ipv4Address address);

// The route table of a config whose interfaces and routes are valid: each interface's
// connected subnets (interface i is config.interfaces[i]), then the static routes, in config
// order, as net::Host::Create builds it. Lookup gives the interface and next hop the data
// path will use; nullopt means unreachable.
net::RouteTable BuildRouteTable(const v1::Config& config);

}  // namespace ferry::control
