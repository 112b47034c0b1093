// Validation and resolution of config.proxy (proxy_config.h). Rules run in field order, so
// the first error is the earliest mistake in the file: listeners, then pools (each backend,
// the PROXY protocol, the connect and retry knobs), then source addresses and max_sessions.
#include "control/proxy_config.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"
#include "control/field_error.h"
#include "control/network_config.h"
#include "control/tcp_config.h"
#include "proxy/balancer.h"
#include "proxy/maglev.h"
#include "proxy/proxy_protocol.h"

namespace ferry::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Upper bounds that are about sanity rather than a limit of the code: a week of idleness or
// of lifetime, and session counts no worker's TCB pool (at most 2^20, ValidateTcp) exceeds.
constexpr uint64_t kMaxSessionSeconds = 7 * 24 * 3600;
constexpr uint64_t kMaxSessionCount = 1 << 20;
constexpr uint64_t kMinInFlightBytes = 1024;
constexpr uint64_t kMaxInFlightBytes = 1 << 30;
constexpr uint64_t kMaxConnectTimeoutMs = 600'000;
constexpr uint64_t kMaxBackoffBaseMs = 60'000;
constexpr uint64_t kMaxBackoffMaxMs = 600'000;

std::optional<proxy::BalancingPolicy> ParsePolicy(absl::string_view name) {
  if (name.empty()) return proxy::BalancingPolicy::kRoundRobin;
  for (const proxy::BalancingPolicy p :
       {proxy::BalancingPolicy::kRoundRobin, proxy::BalancingPolicy::kWeightedRoundRobin,
        proxy::BalancingPolicy::kLeastConnections, proxy::BalancingPolicy::kMaglev,
        proxy::BalancingPolicy::kPowerOfTwoChoices}) {
    const std::string_view n = proxy::Name(p);
    if (name == absl::string_view(n.data(), n.size())) return p;
  }
  return std::nullopt;
}

std::optional<proxy::ProxyProtocolVersion> ParseVersion(absl::string_view name) {
  if (name.empty() || name == "none") return proxy::ProxyProtocolVersion::kNone;
  if (name == "v1") return proxy::ProxyProtocolVersion::kV1;
  if (name == "v2") return proxy::ProxyProtocolVersion::kV2;
  return std::nullopt;
}

std::string AddressPort(net::Ipv4Address address, uint32_t port) {
  return absl::StrCat(address.ToString(), ":", port);
}

// An address field: present, parsable. Returns it, or InvalidArgument naming `path`.
absl::StatusOr<net::Ipv4Address> ParseAddress(const std::string& path, absl::string_view text,
                                              absl::string_view required_what) {
  if (text.empty()) return FieldError(path, absl::StrCat("is required: ", required_what));
  auto address = net::Ipv4Address::Parse(text);
  if (!address.ok()) return FieldError(path, address.status().message());
  return *address;
}

absl::Status CheckPort(const std::string& path, uint32_t port) {
  if (port == 0) return FieldError(path, "is required: 1..65535");
  return CheckRange(path, port, 1, 65'535, false);
}

// A name field: optional (`required` false) or not, and valid when given.
absl::Status CheckName(const std::string& path, const std::string& name, bool required) {
  if (name.empty()) {
    if (!required) return absl::OkStatus();
    return FieldError(path, "is required: 1-32 letters, digits, _ - .");
  }
  if (!NameIsValid(name)) {
    return FieldError(path,
                      absl::StrCat("\"", name, "\" must be 1-32 letters, digits, _ - ."));
  }
  return absl::OkStatus();
}

absl::Status ValidateListeners(const v1::Config& config) {
  const v1::Proxy& proxy = config.proxy();
  absl::flat_hash_set<std::string> pool_names;
  pool_names.reserve(proxy.pools_size());
  for (const v1::BackendPool& pool : proxy.pools()) pool_names.insert(pool.name());
  const std::vector<DiagnosticListenerSettings> diagnostics = ResolveDiagnostics(config);

  absl::flat_hash_map<std::string, int> names;
  names.reserve(proxy.listeners_size());
  std::vector<std::pair<net::Ipv4Address, uint32_t>> bound;
  for (int i = 0; i < proxy.listeners_size(); ++i) {
    const v1::ProxyListener& l = proxy.listeners(i);
    const std::string path = absl::StrCat("proxy.listeners[", i, "]");
    RETURN_IF_ERROR(CheckName(path + ".name", l.name(), false));
    // Default names are "address:port", which no valid name can spell (':'), and two
    // listeners on one address and port are refused below: only given names can collide.
    if (!l.name().empty()) {
      if (auto [it, inserted] = names.emplace(l.name(), i); !inserted) {
        return FieldError(path + ".name", absl::StrCat("\"", l.name(), "\" is already the name "
                                                       "of proxy.listeners[", it->second, "]"));
      }
    }
    ASSIGN_OR_RETURN(const net::Ipv4Address address,
                     ParseAddress(path + ".address", l.address(), "one of the interfaces' "
                                  "addresses"));
    if (address.IsUnspecified()) {
      return FieldError(path + ".address", "0.0.0.0 is refused: a proxy listener listens on "
                                           "one of the interfaces' addresses");
    }
    if (!IsInterfaceAddress(config, address)) {
      return FieldError(path + ".address",
                        absl::StrCat(address.ToString(), " is not an address of any interface"));
    }
    RETURN_IF_ERROR(CheckPort(path + ".port", l.port()));
    for (size_t j = 0; j < bound.size(); ++j) {
      if (bound[j].first == address && bound[j].second == l.port()) {
        return FieldError(path, absl::StrCat(AddressPort(address, l.port()),
                                             " is already taken by proxy.listeners[", j, "]"));
      }
    }
    bound.emplace_back(address, l.port());
    // A diagnostics listener on 0.0.0.0 takes its port on every address (tcp_config.cc).
    for (size_t j = 0; j < diagnostics.size(); ++j) {
      const DiagnosticListenerSettings& d = diagnostics[j];
      if (d.port == l.port() && (d.address.IsUnspecified() || d.address == address)) {
        return FieldError(path, absl::StrCat(AddressPort(address, l.port()),
                                             " is already taken by diagnostics[", j, "] (",
                                             std::string(Name(d.service)), " on ",
                                             AddressPort(d.address, d.port), ")"));
      }
    }
    if (l.pool().empty()) {
      return FieldError(path + ".pool", "is required: the name of one of proxy.pools");
    }
    if (!pool_names.contains(l.pool())) {
      return FieldError(path + ".pool", absl::StrCat("no pool named \"", l.pool(), "\""));
    }
    RETURN_IF_ERROR(
        CheckRange(path + ".max_sessions", l.max_sessions(), 0, kMaxSessionCount, false));
    if (l.has_idle_timeout_s()) {
      RETURN_IF_ERROR(CheckRange(path + ".idle_timeout_s", l.idle_timeout_s(), 0,
                                 kMaxSessionSeconds, false));
    }
    RETURN_IF_ERROR(CheckRange(path + ".max_lifetime_s", l.max_lifetime_s(), 0,
                               kMaxSessionSeconds, false));
    RETURN_IF_ERROR(CheckRange(path + ".max_in_flight_bytes", l.max_in_flight_bytes(),
                               kMinInFlightBytes, kMaxInFlightBytes, true));
    RETURN_IF_ERROR(ValidateConnection(path + ".connection", l.connection()));
  }
  return absl::OkStatus();
}

absl::Status ValidateBackends(const v1::Config& config, const net::RouteTable& routes,
                              const v1::BackendPool& pool, const std::string& pool_path) {
  absl::flat_hash_map<std::string, int> names;
  absl::flat_hash_map<std::string, int> endpoints;
  names.reserve(pool.backends_size());
  endpoints.reserve(pool.backends_size());
  for (int i = 0; i < pool.backends_size(); ++i) {
    const v1::Backend& b = pool.backends(i);
    const std::string path = absl::StrCat(pool_path, ".backends[", i, "]");
    RETURN_IF_ERROR(CheckName(path + ".name", b.name(), false));
    // As for listeners: default names ("address:port") cannot collide with given ones.
    if (!b.name().empty()) {
      if (auto [it, inserted] = names.emplace(b.name(), i); !inserted) {
        return FieldError(path + ".name",
                          absl::StrCat("\"", b.name(), "\" is already the name of ", pool_path,
                                       ".backends[", it->second, "]"));
      }
    }
    ASSIGN_OR_RETURN(const net::Ipv4Address address,
                     ParseAddress(path + ".address", b.address(), "the backend's IPv4 address"));
    RETURN_IF_ERROR(CheckHostAddress(path + ".address", address));
    if (IsInterfaceAddress(config, address)) {
      return FieldError(path + ".address",
                        absl::StrCat(address.ToString(), " is the appliance's own address"));
    }
    if (!routes.Lookup(address)) {
      return FieldError(path + ".address",
                        absl::StrCat(address.ToString(), " is unreachable: it is in no "
                                     "interface's subnet and no route covers it"));
    }
    RETURN_IF_ERROR(CheckPort(path + ".port", b.port()));
    const std::string endpoint = AddressPort(address, b.port());
    if (auto [it, inserted] = endpoints.emplace(endpoint, i); !inserted) {
      return FieldError(path, absl::StrCat(endpoint, " is already ", pool_path, ".backends[",
                                           it->second, "]"));
    }
    RETURN_IF_ERROR(CheckRange(path + ".weight", b.weight(), proxy::kMinBackendWeight,
                               proxy::kMaxBackendWeight, true));
    RETURN_IF_ERROR(
        CheckRange(path + ".max_sessions", b.max_sessions(), 0, kMaxSessionCount, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateProxyProtocol(const v1::ProxyProtocol& pp, const std::string& path) {
  const std::optional<proxy::ProxyProtocolVersion> version = ParseVersion(pp.version());
  if (!version) {
    return FieldError(path + ".version",
                      absl::StrCat("\"", pp.version(), "\" is not one of none, v1, v2"));
  }
  if (*version != proxy::ProxyProtocolVersion::kV2) {
    // §2.1: the v1 line has no room for anything but the addresses.
    const std::string which = pp.version().empty() ? "none" : pp.version();
    if (pp.tlvs_size() > 0) {
      return FieldError(path + ".tlvs", absl::StrCat("only version \"v2\" carries TLVs; "
                                                     "version is \"", which, "\""));
    }
    if (pp.crc32c()) {
      return FieldError(path + ".crc32c", absl::StrCat("only version \"v2\" carries a CRC32C; "
                                                       "version is \"", which, "\""));
    }
    return absl::OkStatus();
  }
  // §2.2: everything after the 16-byte fixed part (address block, TLVs) is counted by a 16-bit
  // length, so all of it must fit in 65535 bytes.
  size_t length = proxy::kV2Ipv4AddressLength;
  if (pp.crc32c()) length += proxy::kTlvHeaderLength + 4;
  for (int i = 0; i < pp.tlvs_size(); ++i) {
    const v1::ProxyProtocolTlv& tlv = pp.tlvs(i);
    const std::string tpath = absl::StrCat(path, ".tlvs[", i, "]");
    RETURN_IF_ERROR(CheckRange(tpath + ".type", tlv.type(), 0x01, 0xff, false));
    if (tlv.type() == proxy::Pp2Type::kCrc32c) {
      return FieldError(tpath + ".type", "3 is PP2_TYPE_CRC32C, which is computed per header "
                                         "(§2.2.3): set crc32c: true instead");
    }
    if (tlv.type() == proxy::Pp2Type::kNoop) {
      return FieldError(tpath + ".type", "4 is PP2_TYPE_NOOP, padding that carries nothing "
                                         "(§2.2.4)");
    }
    // §2.2.5: receivers (ParseV2 among them) refuse a longer one.
    if (tlv.type() == proxy::Pp2Type::kUniqueId && tlv.value().size() > proxy::kMaxUniqueIdLength) {
      return FieldError(tpath + ".value",
                        absl::StrCat(tlv.value().size(), " bytes is longer than a UNIQUE_ID may "
                                     "be (", proxy::kMaxUniqueIdLength, ", §2.2.5)"));
    }
    length += proxy::kTlvHeaderLength + tlv.value().size();
    if (length > 0xffff) {
      return FieldError(tpath + ".value",
                        absl::StrCat(tlv.value().size(), " bytes make the header ", length,
                                     " bytes after its fixed part, above the 65535 its length "
                                     "field can count (§2.2)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePools(const v1::Config& config) {
  // The defaults of the fields whose 0 means "the default" come from proxy_settings.h, so
  // that they are written down once.
  const proxy::PoolSettings defaults;
  const v1::Proxy& proxy = config.proxy();
  const net::RouteTable routes = BuildRouteTable(config);
  absl::flat_hash_map<std::string, int> names;
  names.reserve(proxy.pools_size());
  for (int i = 0; i < proxy.pools_size(); ++i) {
    const v1::BackendPool& pool = proxy.pools(i);
    const std::string path = absl::StrCat("proxy.pools[", i, "]");
    RETURN_IF_ERROR(CheckName(path + ".name", pool.name(), true));
    if (auto [it, inserted] = names.emplace(pool.name(), i); !inserted) {
      return FieldError(path + ".name", absl::StrCat("\"", pool.name(), "\" is already the name "
                                                     "of proxy.pools[", it->second, "]"));
    }
    const std::optional<proxy::BalancingPolicy> policy = ParsePolicy(pool.policy());
    if (!policy) {
      return FieldError(path + ".policy",
                        absl::StrCat("\"", pool.policy(), "\" is not one of round_robin, "
                                     "weighted_round_robin, least_connections, maglev, "
                                     "power_of_two"));
    }
    const bool maglev = *policy == proxy::BalancingPolicy::kMaglev;
    if (pool.maglev_table_size() != 0) {
      if (!maglev) {
        return FieldError(path + ".maglev_table_size",
                          absl::StrCat("is only used by policy \"maglev\"; policy is \"",
                                       pool.policy().empty() ? "round_robin" : pool.policy(),
                                       "\""));
      }
      if (pool.maglev_table_size() > proxy::MaglevTable::kMaxTableSize ||
          !proxy::MaglevTable::IsPrime(pool.maglev_table_size())) {
        return FieldError(path + ".maglev_table_size",
                          absl::StrCat(pool.maglev_table_size(), " is not a prime in 2..",
                                       proxy::MaglevTable::kMaxTableSize,
                                       " (Maglev's permutations need a prime size)"));
      }
    }
    RETURN_IF_ERROR(ValidateBackends(config, routes, pool, path));
    if (maglev) {
      // MaglevTable::Build: a slot holds a backend's position, and every backend needs one.
      const uint32_t table_size =
          pool.maglev_table_size() ? pool.maglev_table_size() : defaults.maglev_table_size;
      const uint32_t most = std::min(table_size, proxy::MaglevTable::kMaxBackends);
      if (static_cast<uint32_t>(pool.backends_size()) > most) {
        return FieldError(path + ".backends",
                          absl::StrCat(pool.backends_size(), " backends are more than a Maglev "
                                       "table of ", table_size, " slots can hold (", most, ")"));
      }
    }
    RETURN_IF_ERROR(ValidateProxyProtocol(pool.proxy_protocol(), path + ".proxy_protocol"));
    RETURN_IF_ERROR(CheckRange(path + ".connect_timeout_ms", pool.connect_timeout_ms(), 1,
                               kMaxConnectTimeoutMs, true));
    RETURN_IF_ERROR(CheckRange(path + ".connect_attempts", pool.connect_attempts(), 1,
                               proxy::TriedBackends::kCapacity, true));
    RETURN_IF_ERROR(CheckRange(path + ".retry_backoff_base_ms", pool.retry_backoff_base_ms(), 1,
                               kMaxBackoffBaseMs, true));
    RETURN_IF_ERROR(CheckRange(path + ".retry_backoff_max_ms", pool.retry_backoff_max_ms(), 1,
                               kMaxBackoffMaxMs, true));
    const auto ms = [](base::Duration d) {
      return static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(d).count());
    };
    const uint64_t base = pool.retry_backoff_base_ms() ? pool.retry_backoff_base_ms()
                                                       : ms(defaults.retry_backoff_base);
    const uint64_t max = pool.retry_backoff_max_ms() ? pool.retry_backoff_max_ms()
                                                     : ms(defaults.retry_backoff_max);
    if (base > max) {
      // The error goes to a field the operator set (both unset is the valid default).
      if (pool.retry_backoff_base_ms() != 0) {
        return FieldError(path + ".retry_backoff_base_ms",
                          absl::StrCat(base, " is above ",
                                       Describe(path + ".retry_backoff_max_ms", max,
                                                pool.retry_backoff_max_ms() != 0)));
      }
      return FieldError(path + ".retry_backoff_max_ms",
                        absl::StrCat(max, " is below ",
                                     Describe(path + ".retry_backoff_base_ms", base, false)));
    }
    RETURN_IF_ERROR(ValidateConnection(path + ".connection", pool.connection()));
  }
  return absl::OkStatus();
}

absl::Status ValidateSources(const v1::Config& config) {
  const v1::Proxy& proxy = config.proxy();
  absl::flat_hash_map<net::Ipv4Address, int> seen;
  seen.reserve(proxy.source_addresses_size());
  for (int i = 0; i < proxy.source_addresses_size(); ++i) {
    const std::string path = absl::StrCat("proxy.source_addresses[", i, "]");
    ASSIGN_OR_RETURN(const net::Ipv4Address address,
                     ParseAddress(path, proxy.source_addresses(i), "an interface's address"));
    if (!IsInterfaceAddress(config, address)) {
      return FieldError(path,
                        absl::StrCat(address.ToString(), " is not an address of any interface"));
    }
    if (auto [it, inserted] = seen.emplace(address, i); !inserted) {
      return FieldError(path, absl::StrCat(address.ToString(), " is already "
                                           "proxy.source_addresses[", it->second, "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMaxSessions(const v1::Config& config) {
  const uint32_t sessions = config.proxy().max_sessions();
  if (sessions == 0) return absl::OkStatus();
  // Each session holds a TCB for the client and one for the backend.
  const tcp::StackOptions defaults;
  const uint32_t tcbs = config.tcp().max_connections() ? config.tcp().max_connections()
                                                       : defaults.max_connections;
  if (uint64_t{sessions} * 2 > tcbs) {
    return FieldError("proxy.max_sessions",
                      absl::StrCat(sessions, " sessions need ", uint64_t{sessions} * 2,
                                   " TCBs, more than ",
                                   Describe("tcp.max_connections", tcbs,
                                            config.tcp().max_connections() != 0)));
  }
  return absl::OkStatus();
}

// The address `backend` is reached from: on the interface the route table picks, the first
// address whose subnet holds the next hop (the backend itself when it is on-link), which is
// also the address ARP for that next hop is sent from.
net::Ipv4Address DefaultSource(const v1::Config& config, const net::RouteTable& routes,
                               net::Ipv4Address backend) {
  const std::optional<net::RouteResult> route = routes.Lookup(backend);
  if (!route) return net::Ipv4Address();  // ValidateProxy refuses unreachable backends
  const v1::Interface& iface = config.interfaces(route->interface);
  for (const v1::Ipv4Prefix& p : iface.ipv4()) {
    const net::Ipv4Address own = *net::Ipv4Address::Parse(p.address());
    if (net::Ipv4Prefix{own, static_cast<uint8_t>(p.prefix_length())}.Contains(route->next_hop)) {
      return own;
    }
  }
  return *net::Ipv4Address::Parse(iface.ipv4(0).address());
}

proxy::PoolSettings ResolvePool(const v1::Config& config, const net::RouteTable& routes,
                                const v1::BackendPool& pool,
                                const tcp::ConnectionOptions& base_connection) {
  proxy::PoolSettings p;
  p.name = pool.name();
  p.policy = *ParsePolicy(pool.policy());
  if (pool.maglev_table_size()) p.maglev_table_size = pool.maglev_table_size();
  p.backends.reserve(pool.backends_size());
  for (const v1::Backend& b : pool.backends()) {
    proxy::BackendSettings s;
    s.address = *net::Ipv4Address::Parse(b.address());
    s.port = static_cast<uint16_t>(b.port());
    s.name = b.name().empty() ? AddressPort(s.address, s.port) : b.name();
    if (b.weight()) s.weight = b.weight();
    s.enabled = !b.has_enabled() || b.enabled();
    s.drain = b.drain();
    s.max_sessions = b.max_sessions();
    s.default_source = DefaultSource(config, routes, s.address);
    p.backends.push_back(std::move(s));
  }
  const v1::ProxyProtocol& pp = pool.proxy_protocol();
  p.proxy_protocol = *ParseVersion(pp.version());
  for (const v1::ProxyProtocolTlv& tlv : pp.tlvs()) {
    p.proxy_protocol_tlvs.push_back(proxy::TlvSettings{
        static_cast<uint8_t>(tlv.type()),
        std::vector<uint8_t>(tlv.value().begin(), tlv.value().end())});
  }
  p.proxy_protocol_crc32c = pp.crc32c();
  if (pool.connect_timeout_ms()) p.connect_timeout = milliseconds(pool.connect_timeout_ms());
  if (pool.connect_attempts()) p.connect_attempts = pool.connect_attempts();
  if (pool.retry_backoff_base_ms()) {
    p.retry_backoff_base = milliseconds(pool.retry_backoff_base_ms());
  }
  if (pool.retry_backoff_max_ms()) p.retry_backoff_max = milliseconds(pool.retry_backoff_max_ms());
  p.connection = ResolveConnectionOptions(pool.connection(), base_connection);
  return p;
}

}  // namespace

absl::Status ValidateProxy(const v1::Config& config) {
  RETURN_IF_ERROR(ValidateListeners(config));
  RETURN_IF_ERROR(ValidatePools(config));
  RETURN_IF_ERROR(ValidateSources(config));
  RETURN_IF_ERROR(ValidateMaxSessions(config));
  return absl::OkStatus();
}

proxy::ProxySettings ResolveProxy(const v1::Config& config,
                                  const tcp::ConnectionOptions& base_connection) {
  const v1::Proxy& proxy = config.proxy();
  proxy::ProxySettings s;
  const net::RouteTable routes = BuildRouteTable(config);
  absl::flat_hash_map<std::string, uint32_t> pool_index;
  pool_index.reserve(proxy.pools_size());
  s.pools.reserve(proxy.pools_size());
  for (const v1::BackendPool& pool : proxy.pools()) {
    pool_index.emplace(pool.name(), static_cast<uint32_t>(s.pools.size()));
    s.pools.push_back(ResolvePool(config, routes, pool, base_connection));
  }
  s.listeners.reserve(proxy.listeners_size());
  for (const v1::ProxyListener& l : proxy.listeners()) {
    proxy::ListenerSettings ls;
    ls.address = *net::Ipv4Address::Parse(l.address());
    ls.port = static_cast<uint16_t>(l.port());
    ls.name = l.name().empty() ? AddressPort(ls.address, ls.port) : l.name();
    ls.pool = pool_index.at(l.pool());
    ls.max_sessions = l.max_sessions();
    if (l.has_idle_timeout_s()) ls.idle_timeout = seconds(l.idle_timeout_s());
    ls.max_lifetime = seconds(l.max_lifetime_s());
    if (l.max_in_flight_bytes()) ls.max_in_flight_bytes = l.max_in_flight_bytes();
    ls.connection = ResolveConnectionOptions(l.connection(), base_connection);
    s.listeners.push_back(std::move(ls));
  }
  for (const std::string& a : proxy.source_addresses()) {
    s.source_addresses.push_back(*net::Ipv4Address::Parse(a));
  }
  s.max_sessions = proxy.max_sessions();
  return s;
}

}  // namespace ferry::control
