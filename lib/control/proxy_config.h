// ferry.v1.Proxy on the control path: its validation, with errors that name the field path
// ("proxy.pools[1].backends[0].address: ..."), and its resolution into the plain
// proxy::ProxySettings the workers use (lib/proxy/proxy_settings.h), every default applied.
//
// Connection options are layered as for the diagnostics listeners (tcp_config.h): a
// listener's or pool's TcpConnection field overrides the same field of tcp.connection, which
// overrides lib/tcp's default.
#pragma once

#include "absl/status/status.h"
#include "ferry/v1/config.pb.h"
#include "proxy/proxy_settings.h"
#include "tcp/stack_options.h"

namespace ferry::control {

// Checks config.proxy against the rest of the config: names (unique listeners and pools,
// unique backends within a pool), addresses (listeners and source addresses are the
// interfaces' own; backends are unicast, not ours, and reachable through a connected subnet
// or a route), ports, every range, a listener's pool exists, no listener on an address and
// port that another listener or a diagnostics listener holds, Maglev's table size is prime,
// the PROXY protocol's TLVs, and each connection block. The interfaces, routes, tcp and
// diagnostics must already be valid (ValidateConfig checks them first and then calls this).
// Returns InvalidArgument whose message starts with the field path, e.g.
// "proxy.listeners[0].pool: no pool named \"web\"".
absl::Status ValidateProxy(const v1::Config& config);

// The settings of a valid config.proxy (ValidateProxy), in config order: defaults applied,
// unnamed backends and listeners named "address:port", each listener's pool resolved to its
// index, each backend's default_source found through the route table, and the connection
// blocks applied over `base_connection` (tcp.connection resolved: Settings::tcp_connection).
// ProxySettings::max_sessions stays 0 when unset (the proxy takes half of tcp.max_connections).
proxy::ProxySettings ResolveProxy(const v1::Config& config,
                                  const tcp::ConnectionOptions& base_connection);

}  // namespace ferry::control
