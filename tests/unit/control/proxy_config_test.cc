// config.proxy (control/proxy_config.h): every validation rule by the exact field path its
// error names, the edges that must pass, and resolution into proxy::ProxySettings: defaults,
// default names, a listener's pool as an index, each backend's default source (connected
// subnet, or the interface of the longest matching route's next hop), and connection options
// layered over tcp.connection.
#include "control/proxy_config.h"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/config.h"
#include "control/tcp_config.h"
#include "gtest/gtest.h"
#include "proxy/balancer.h"
#include "proxy/proxy_settings.h"

namespace ferry::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// Two interfaces, the second with two subnets, and routes whose next hops lie on different
// subnets of lan1, so that "which address reaches this backend" has more than one answer.
// No default route: some addresses are unreachable.
const std::string kNetwork = R"(
  interfaces {
    name: "lan0" driver: "af_packet" device: "iface=v0"
    ipv4 { address: "198.18.0.1" prefix_length: 24 }
    ipv4 { address: "198.18.0.5" prefix_length: 24 }
  }
  interfaces {
    name: "lan1" driver: "af_packet" device: "iface=v1"
    ipv4 { address: "198.19.0.1" prefix_length: 24 }
    ipv4 { address: "203.0.113.1" prefix_length: 24 }
  }
  routes { prefix: "10.0.0.0/8" via: "198.19.0.254" }
  routes { prefix: "10.1.0.0/16" via: "203.0.113.254" }
)";

// A listener on 198.18.0.1:80 for pool "web", and that pool with one backend on lan0's subnet.
const std::string kListener = R"(listeners { address: "198.18.0.1" port: 80 pool: "web" } )";
const std::string kBackend = R"(backends { address: "198.18.0.10" port: 8080 } )";

std::string Proxy(const std::string& body) { return kNetwork + "proxy { " + body + " }\n"; }
// kListener and pool "web" with `pool_body` after its name.
std::string Pool(const std::string& pool_body) {
  return Proxy(kListener + R"(pools { name: "web" )" + pool_body + " }");
}
// kListener and pool "web" with kBackend and `backend_body` as a second backend.
std::string Backends(const std::string& backend_body) {
  return Pool(kBackend + "backends { " + backend_body + " }");
}
// One listener with `listener_body`, for pool "web" of kBackend.
std::string Listener(const std::string& listener_body) {
  return Proxy("listeners { " + listener_body + R"( } pools { name: "web" )" + kBackend + "}");
}
std::string ProxyProtocol(const std::string& body) {
  return Pool(kBackend + "proxy_protocol { " + body + " }");
}

v1::Config Parse(const std::string& text) {
  auto c = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : v1::Config();
}

// A text-format string literal of `n` bytes.
std::string Bytes(size_t n) { return "\"" + std::string(n, 'x') + "\""; }

// ---- Validation: each case is a config and the exact field path its error starts with ------

struct InvalidCase {
  const char* rule;
  std::string text;
  const char* error_prefix;
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.rule; }

std::vector<InvalidCase> InvalidCases() {
  const std::string l80 = R"(address: "198.18.0.1" port: 80 pool: "web" )";
  return {
      // Listeners.
      {"ListenerNameWithSpace", Listener(l80 + R"(name: "web front")"),
       "proxy.listeners[0].name: "},
      {"ListenerNameTooLong", Listener(l80 + "name: " + Bytes(33)), "proxy.listeners[0].name: "},
      {"ListenerNameTwice",
       Proxy(R"(listeners { name: "front" address: "198.18.0.1" port: 80 pool: "web" }
                listeners { name: "front" address: "198.18.0.1" port: 81 pool: "web" }
                pools { name: "web" })"),
       "proxy.listeners[1].name: "},
      {"ListenerAddressMissing", Listener(R"(port: 80 pool: "web")"),
       "proxy.listeners[0].address: "},
      {"ListenerAddressUnparsable", Listener(R"(address: "198.18.0.300" port: 80 pool: "web")"),
       "proxy.listeners[0].address: "},
      {"ListenerAddressWildcard", Listener(R"(address: "0.0.0.0" port: 80 pool: "web")"),
       "proxy.listeners[0].address: "},
      {"ListenerAddressOfNoInterface",
       Listener(R"(address: "198.18.0.2" port: 80 pool: "web")"), "proxy.listeners[0].address: "},
      {"ListenerPortMissing", Listener(R"(address: "198.18.0.1" pool: "web")"),
       "proxy.listeners[0].port: "},
      {"ListenerPortAbove65535", Listener(R"(address: "198.18.0.1" port: 65536 pool: "web")"),
       "proxy.listeners[0].port: "},
      {"ListenerAddressAndPortTwice",
       Proxy(R"(listeners { address: "198.18.0.1" port: 80 pool: "web" }
                listeners { address: "198.18.0.5" port: 80 pool: "web" }
                listeners { address: "198.18.0.1" port: 80 pool: "web" }
                pools { name: "web" })"),
       "proxy.listeners[2]: "},
      {"ListenerOnADiagnosticsAddressAndPort",
       R"(diagnostics { service: "echo" address: "198.18.0.1" port: 80 })" + Listener(l80),
       "proxy.listeners[0]: "},
      {"ListenerOnAWildcardDiagnosticsPort",
       R"(diagnostics { service: "discard" port: 80 })" + Listener(l80), "proxy.listeners[0]: "},
      {"ListenerPoolMissing", Listener(R"(address: "198.18.0.1" port: 80)"),
       "proxy.listeners[0].pool: "},
      {"ListenerPoolUnknown", Listener(R"(address: "198.18.0.1" port: 80 pool: "api")"),
       "proxy.listeners[0].pool: "},
      {"ListenerMaxSessionsAboveLimit", Listener(l80 + "max_sessions: 1048577"),
       "proxy.listeners[0].max_sessions: "},
      {"ListenerIdleTimeoutAboveAWeek", Listener(l80 + "idle_timeout_s: 604801"),
       "proxy.listeners[0].idle_timeout_s: "},
      {"ListenerMaxLifetimeAboveAWeek", Listener(l80 + "max_lifetime_s: 604801"),
       "proxy.listeners[0].max_lifetime_s: "},
      {"ListenerMaxInFlightBelow1KiB", Listener(l80 + "max_in_flight_bytes: 1023"),
       "proxy.listeners[0].max_in_flight_bytes: "},
      {"ListenerMaxInFlightAbove1GiB", Listener(l80 + "max_in_flight_bytes: 1073741825"),
       "proxy.listeners[0].max_in_flight_bytes: "},
      {"ListenerConnectionSendBuffer",
       Listener(l80 + "connection { send_buffer_bytes: 2147483648 }"),
       "proxy.listeners[0].connection.send_buffer_bytes: "},
      {"ListenerConnectionCongestionControl",
       Listener(l80 + R"(connection { congestion_control: "bbr" })"),
       "proxy.listeners[0].connection.congestion_control: "},
      // Pools.
      {"PoolNameMissing", Proxy("pools { " + kBackend + " }"), "proxy.pools[0].name: "},
      {"PoolNameInvalid", Proxy(R"(pools { name: "web/1" })"), "proxy.pools[0].name: "},
      {"PoolNameTwice", Proxy(kListener + R"(pools { name: "web" } pools { name: "web" })"),
       "proxy.pools[1].name: "},
      {"PolicyUnknown", Pool(kBackend + R"(policy: "random")"), "proxy.pools[0].policy: "},
      {"PolicyIsCaseSensitive", Pool(kBackend + R"(policy: "Maglev")"),
       "proxy.pools[0].policy: "},
      {"MaglevTableSizeNotPrime", Pool(kBackend + R"(policy: "maglev" maglev_table_size: 65536)"),
       "proxy.pools[0].maglev_table_size: "},
      {"MaglevTableSizeOne", Pool(R"(policy: "maglev" maglev_table_size: 1)"),
       "proxy.pools[0].maglev_table_size: "},
      // 2^24 + 43, the first prime above kMaxTableSize.
      {"MaglevTableSizeAboveLimit", Pool(R"(policy: "maglev" maglev_table_size: 16777259)"),
       "proxy.pools[0].maglev_table_size: "},
      {"MaglevTableSizeWithoutMaglev", Pool(kBackend + "maglev_table_size: 65537"),
       "proxy.pools[0].maglev_table_size: "},
      {"MaglevMoreBackendsThanSlots",
       Pool(R"(policy: "maglev" maglev_table_size: 2
               backends { address: "198.18.0.10" port: 1 }
               backends { address: "198.18.0.10" port: 2 }
               backends { address: "198.18.0.10" port: 3 })"),
       "proxy.pools[0].backends: "},
      // Backends.
      {"BackendNameInvalid", Backends(R"(name: "web 2" address: "198.18.0.11" port: 8080)"),
       "proxy.pools[0].backends[1].name: "},
      {"BackendNameTwice",
       Pool(R"(backends { name: "a" address: "198.18.0.10" port: 8080 }
               backends { name: "a" address: "198.18.0.11" port: 8080 })"),
       "proxy.pools[0].backends[1].name: "},
      {"BackendAddressMissing", Backends("port: 8080"), "proxy.pools[0].backends[1].address: "},
      {"BackendAddressUnparsable", Backends(R"(address: "10.0.0.300" port: 8080)"),
       "proxy.pools[0].backends[1].address: "},
      {"BackendAddressWildcard", Backends(R"(address: "0.0.0.0" port: 8080)"),
       "proxy.pools[0].backends[1].address: "},
      {"BackendAddressMulticast", Backends(R"(address: "224.0.0.1" port: 8080)"),
       "proxy.pools[0].backends[1].address: "},
      {"BackendAddressLoopback", Backends(R"(address: "127.0.0.1" port: 8080)"),
       "proxy.pools[0].backends[1].address: "},
      {"BackendAddressIsOurs", Backends(R"(address: "198.18.0.5" port: 8080)"),
       "proxy.pools[0].backends[1].address: "},
      {"BackendUnreachable", Backends(R"(address: "192.0.2.10" port: 8080)"),
       "proxy.pools[0].backends[1].address: "},
      {"BackendPortMissing", Backends(R"(address: "198.18.0.11")"),
       "proxy.pools[0].backends[1].port: "},
      {"BackendPortAbove65535", Backends(R"(address: "198.18.0.11" port: 65536)"),
       "proxy.pools[0].backends[1].port: "},
      {"BackendAddressAndPortTwice", Backends(R"(name: "again" address: "198.18.0.10" port: 8080)"),
       "proxy.pools[0].backends[1]: "},
      {"BackendWeightAbove1000", Backends(R"(address: "198.18.0.11" port: 8080 weight: 1001)"),
       "proxy.pools[0].backends[1].weight: "},
      {"BackendMaxSessionsAboveLimit",
       Backends(R"(address: "198.18.0.11" port: 8080 max_sessions: 1048577)"),
       "proxy.pools[0].backends[1].max_sessions: "},
      {"BackendOfTheSecondPool",
       Proxy(kListener + R"(pools { name: "web" )" + kBackend + R"( }
             pools { name: "api" backends { address: "10.0.0.300" port: 443 } })"),
       "proxy.pools[1].backends[0].address: "},
      // The PROXY protocol.
      {"ProxyProtocolVersionUnknown", ProxyProtocol(R"(version: "v3")"),
       "proxy.pools[0].proxy_protocol.version: "},
      {"ProxyProtocolV1WithTlvs", ProxyProtocol(R"(version: "v1" tlvs { type: 2 value: "a" })"),
       "proxy.pools[0].proxy_protocol.tlvs: "},
      {"ProxyProtocolV1WithCrc32c", ProxyProtocol(R"(version: "v1" crc32c: true)"),
       "proxy.pools[0].proxy_protocol.crc32c: "},
      {"ProxyProtocolNoneWithTlvs", ProxyProtocol(R"(tlvs { type: 2 value: "a" })"),
       "proxy.pools[0].proxy_protocol.tlvs: "},
      {"ProxyProtocolNoneWithCrc32c", ProxyProtocol(R"(version: "none" crc32c: true)"),
       "proxy.pools[0].proxy_protocol.crc32c: "},
      {"TlvTypeZero", ProxyProtocol(R"(version: "v2" tlvs { type: 0 value: "a" })"),
       "proxy.pools[0].proxy_protocol.tlvs[0].type: "},
      {"TlvTypeAbove255", ProxyProtocol(R"(version: "v2" tlvs { type: 256 value: "a" })"),
       "proxy.pools[0].proxy_protocol.tlvs[0].type: "},
      {"TlvTypeCrc32c",
       ProxyProtocol(R"(version: "v2" tlvs { type: 2 value: "a" } tlvs { type: 3 value: "" })"),
       "proxy.pools[0].proxy_protocol.tlvs[1].type: "},
      {"TlvTypeNoop", ProxyProtocol(R"(version: "v2" tlvs { type: 4 value: "" })"),
       "proxy.pools[0].proxy_protocol.tlvs[0].type: "},
      {"TlvUniqueIdAbove128Bytes",
       ProxyProtocol(R"(version: "v2" tlvs { type: 5 value: )" + Bytes(129) + " }"),
       "proxy.pools[0].proxy_protocol.tlvs[0].value: "},
      // 12 + (3 + 40000) + (3 + 25518) = 65536.
      {"TlvsBeyondTheLengthField",
       ProxyProtocol(R"(version: "v2" tlvs { type: 224 value: )" + Bytes(40000) +
                     R"( } tlvs { type: 225 value: )" + Bytes(25518) + " }"),
       "proxy.pools[0].proxy_protocol.tlvs[1].value: "},
      // The same with room for a CRC32C TLV (7 bytes) but for its last byte.
      {"TlvsAndCrc32cBeyondTheLengthField",
       ProxyProtocol(R"(version: "v2" crc32c: true tlvs { type: 224 value: )" + Bytes(65514) +
                     " }"),
       "proxy.pools[0].proxy_protocol.tlvs[0].value: "},
      // Connecting and retrying.
      {"ConnectTimeoutAboveTenMinutes", Pool(kBackend + "connect_timeout_ms: 600001"),
       "proxy.pools[0].connect_timeout_ms: "},
      {"ConnectAttemptsAboveTriedBackends", Pool(kBackend + "connect_attempts: 9"),
       "proxy.pools[0].connect_attempts: "},
      {"RetryBackoffBaseAboveAMinute", Pool(kBackend + "retry_backoff_base_ms: 60001"),
       "proxy.pools[0].retry_backoff_base_ms: "},
      {"RetryBackoffMaxAboveTenMinutes", Pool(kBackend + "retry_backoff_max_ms: 600001"),
       "proxy.pools[0].retry_backoff_max_ms: "},
      {"RetryBackoffBaseAboveMax",
       Pool(kBackend + "retry_backoff_base_ms: 500 retry_backoff_max_ms: 400"),
       "proxy.pools[0].retry_backoff_base_ms: "},
      {"RetryBackoffBaseAboveDefaultMax", Pool(kBackend + "retry_backoff_base_ms: 1001"),
       "proxy.pools[0].retry_backoff_base_ms: "},
      {"RetryBackoffMaxBelowDefaultBase", Pool(kBackend + "retry_backoff_max_ms: 9"),
       "proxy.pools[0].retry_backoff_max_ms: "},
      {"PoolConnectionKeepaliveProbes",
       Pool(kBackend + "connection { keepalive: true keepalive_probes: 0 }"),
       "proxy.pools[0].connection.keepalive_probes: "},
      {"PoolConnectionReceiveWindow",
       Pool(kBackend + "connection { receive_window_bytes: 1073725441 }"),
       "proxy.pools[0].connection.receive_window_bytes: "},
      // Source addresses and sessions.
      {"SourceAddressEmpty", Proxy(R"(source_addresses: "")"), "proxy.source_addresses[0]: "},
      {"SourceAddressUnparsable", Proxy(R"(source_addresses: "198.19.0")"),
       "proxy.source_addresses[0]: "},
      {"SourceAddressOfNoInterface",
       Proxy(R"(source_addresses: "198.19.0.1" source_addresses: "198.19.0.2")"),
       "proxy.source_addresses[1]: "},
      {"SourceAddressTwice",
       Proxy(R"(source_addresses: "198.19.0.1" source_addresses: "203.0.113.1"
                source_addresses: "198.19.0.1")"),
       "proxy.source_addresses[2]: "},
      {"MaxSessionsAboveHalfTheDefaultTcbs", Proxy("max_sessions: 8193"), "proxy.max_sessions: "},
      {"MaxSessionsAboveHalfTheTcbs", "tcp { max_connections: 100 } " + Proxy("max_sessions: 51"),
       "proxy.max_sessions: "},
  };
}

class InvalidProxyConfig : public ::testing::TestWithParam<InvalidCase> {};

// Through ValidateConfig, so that the proxy section is known to be checked by it (and hence
// by ResolveSettings).
TEST_P(InvalidProxyConfig, IsRefusedNamingTheFieldPath) {
  const InvalidCase& c = GetParam();
  auto config = ParseConfigText(c.text, "case.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status s = ValidateConfig(*config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), c.error_prefix))
      << "want prefix \"" << c.error_prefix << "\", got \"" << s.message() << "\"";
  // A bare path is not enough: the reason follows it.
  EXPECT_GT(s.message().size(), std::string(c.error_prefix).size()) << s;
  // ValidateProxy alone says the same.
  EXPECT_EQ(ValidateProxy(*config), s);
}

INSTANTIATE_TEST_SUITE_P(ValidateProxy, InvalidProxyConfig, ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return std::string(info.param.rule);
                         });

struct ValidCase {
  const char* rule;
  std::string text;
};

std::ostream& operator<<(std::ostream& os, const ValidCase& c) { return os << c.rule; }

std::vector<ValidCase> ValidCases() {
  const std::string l80 = R"(address: "198.18.0.1" port: 80 pool: "web" )";
  return {
      {"NoProxy", kNetwork},
      {"EmptyProxy", Proxy("")},
      {"OneListenerOnePool", Pool(kBackend)},
      // Every client of it is reset and counted, which is the operator's choice to make.
      {"PoolWithoutBackends", Pool("")},
      {"PoolNoListenerNames",
       Proxy(kListener + R"(pools { name: "web" } pools { name: "spare" )" + kBackend + "}")},
      {"EveryPolicy",
       Proxy(R"(pools { name: "a" policy: "round_robin" }
                pools { name: "b" policy: "weighted_round_robin" }
                pools { name: "c" policy: "least_connections" }
                pools { name: "d" policy: "maglev" }
                pools { name: "e" policy: "power_of_two" }
                pools { name: "f" policy: "" })")},
      {"MaglevSmallestTable",
       Pool(R"(policy: "maglev" maglev_table_size: 2
               backends { address: "198.18.0.10" port: 1 }
               backends { address: "198.18.0.10" port: 2 })")},
      // 2^24 - 3, the largest prime a table may have.
      {"MaglevLargestTable", Pool(kBackend + R"(policy: "maglev" maglev_table_size: 16777213)")},
      {"ListenerRangeMinimums",
       Listener(l80 + "max_sessions: 0 idle_timeout_s: 0 max_lifetime_s: 0 "
                      "max_in_flight_bytes: 1024 connection { send_buffer_bytes: 1 }")},
      {"ListenerRangeMaximums",
       Listener(R"(name: "abcdefghijklmnopqrstuvwxyz-_.012" address: "198.19.0.1" port: 65535
                   pool: "web" max_sessions: 1048576 idle_timeout_s: 604800
                   max_lifetime_s: 604800 max_in_flight_bytes: 1073741824)")},
      {"OnePortOnEveryAddress",
       Proxy(R"(listeners { address: "198.18.0.1" port: 443 pool: "web" }
                listeners { address: "198.18.0.5" port: 443 pool: "web" }
                listeners { address: "198.19.0.1" port: 443 pool: "web" }
                listeners { address: "203.0.113.1" port: 443 pool: "web" }
                pools { name: "web" })")},
      {"DiagnosticsOnAnotherAddress",
       R"(diagnostics { service: "echo" address: "198.18.0.5" port: 80 })" + Listener(l80)},
      {"DiagnosticsOnAnotherPort", R"(diagnostics { service: "echo" port: 7 })" + Listener(l80)},
      {"BackendRangeEdges",
       Pool(R"(backends { address: "198.18.0.10" port: 1 weight: 1 max_sessions: 0 }
               backends { address: "198.18.0.10" port: 65535 weight: 1000
                          max_sessions: 1048576 enabled: false })")},
      {"BackendsThroughRoutes",
       Pool(R"(backends { address: "10.9.9.9" port: 80 }
               backends { address: "10.1.2.3" port: 80 }
               backends { address: "203.0.113.20" port: 80 })")},
      {"SameBackendInTwoPools",
       Proxy(kListener + R"(pools { name: "web" )" + kBackend + R"( }
             pools { name: "api" )" + kBackend + " }")},
      {"SameNameInTwoPools",
       Proxy(kListener +
             R"(pools { name: "web" backends { name: "b" address: "198.18.0.10" port: 1 } }
                pools { name: "api" backends { name: "b" address: "198.18.0.10" port: 1 } })")},
      {"ProxyProtocolV1", ProxyProtocol(R"(version: "v1")")},
      {"ProxyProtocolNoneSpelledOut", ProxyProtocol(R"(version: "none")")},
      {"ProxyProtocolV2WithTlvs",
       ProxyProtocol(R"(version: "v2" crc32c: true
                        tlvs { type: 1 value: "h2" }
                        tlvs { type: 2 value: "example.com" }
                        tlvs { type: 224 value: "\x00\x01\xff" }
                        tlvs { type: 224 value: "" }
                        tlvs { type: 255 value: "z" })")},
      {"TlvUniqueIdOf128Bytes",
       ProxyProtocol(R"(version: "v2" tlvs { type: 5 value: )" + Bytes(128) + " }")},
      // 12 + 3 + 65520 = 65535: the length field's maximum, exactly.
      {"TlvsFillTheLengthField",
       ProxyProtocol(R"(version: "v2" tlvs { type: 224 value: )" + Bytes(65520) + " }")},
      {"TlvsAndCrc32cFillTheLengthField",
       ProxyProtocol(R"(version: "v2" crc32c: true tlvs { type: 224 value: )" + Bytes(65513) +
                     " }")},
      {"PoolRangeEdges",
       Pool(kBackend + "connect_timeout_ms: 1 connect_attempts: 1 retry_backoff_base_ms: 1 "
                       "retry_backoff_max_ms: 1")},
      {"PoolRangeMaximums",
       Pool(kBackend + "connect_timeout_ms: 600000 connect_attempts: 8 "
                       "retry_backoff_base_ms: 60000 retry_backoff_max_ms: 600000")},
      {"RetryBackoffMaxAboveDefaultBase", Pool(kBackend + "retry_backoff_max_ms: 10")},
      {"PoolConnectionBlock",
       Pool(kBackend + R"(connection { congestion_control: "newreno" keepalive: true })")},
      {"SourceAddresses",
       Proxy(R"(source_addresses: "198.19.0.1" source_addresses: "203.0.113.1")")},
      {"MaxSessionsHalfTheDefaultTcbs", Proxy("max_sessions: 8192")},
      {"MaxSessionsHalfTheTcbs", "tcp { max_connections: 100 } " + Proxy("max_sessions: 50")},
  };
}

class ValidProxyConfig : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidProxyConfig, IsAccepted) {
  auto config = ParseConfigText(GetParam().text, "case.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status s = ValidateConfig(*config);
  EXPECT_TRUE(s.ok()) << s;
}

INSTANTIATE_TEST_SUITE_P(ValidateProxy, ValidProxyConfig, ::testing::ValuesIn(ValidCases()),
                         [](const ::testing::TestParamInfo<ValidCase>& info) {
                           return std::string(info.param.rule);
                         });

// The messages in full: the path, the value, and the rule or the other field involved.
TEST(ValidateProxy, ErrorsSayWhatIsWrongAndWhy) {
  const auto message = [](const std::string& text) {
    return std::string(ValidateConfig(Parse(text)).message());
  };
  EXPECT_EQ(message(Proxy(kListener + R"(pools { name: "web" )" + kBackend + R"( }
                          pools { name: "api" backends { address: "10.0.0.300" port: 443 } })")),
            "proxy.pools[1].backends[0].address: \"10.0.0.300\" is not an IPv4 address (want a "
            "dotted quad, 198.18.0.1)");
  EXPECT_EQ(message(Listener(R"(address: "198.18.0.1" port: 80 pool: "api")")),
            "proxy.listeners[0].pool: no pool named \"api\"");
  EXPECT_EQ(message(Proxy(R"(pools { name: "web" } pools { name: "web" })")),
            "proxy.pools[1].name: \"web\" is already the name of proxy.pools[0]");
  EXPECT_EQ(message(Proxy(R"(listeners { address: "198.18.0.1" port: 80 pool: "web" }
                             listeners { address: "198.18.0.1" port: 80 pool: "web" }
                             pools { name: "web" })")),
            "proxy.listeners[1]: 198.18.0.1:80 is already taken by proxy.listeners[0]");
  EXPECT_EQ(message(R"(diagnostics { service: "chargen" port: 80 })" + Pool(kBackend)),
            "proxy.listeners[0]: 198.18.0.1:80 is already taken by diagnostics[0] (chargen on "
            "0.0.0.0:80)");
  EXPECT_EQ(message(Listener(R"(address: "198.18.0.2" port: 80 pool: "web")")),
            "proxy.listeners[0].address: 198.18.0.2 is not an address of any interface");
  EXPECT_EQ(message(Backends(R"(address: "192.0.2.10" port: 8080)")),
            "proxy.pools[0].backends[1].address: 192.0.2.10 is unreachable: it is in no "
            "interface's subnet and no route covers it");
  EXPECT_EQ(message(Backends(R"(address: "198.18.0.10" port: 8080)")),
            "proxy.pools[0].backends[1]: 198.18.0.10:8080 is already proxy.pools[0].backends[0]");
  EXPECT_EQ(message(Backends(R"(address: "198.18.0.11" port: 8080 weight: 1001)")),
            "proxy.pools[0].backends[1].weight: 1001 is out of range 1..1000 (or 0 for the "
            "default)");
  EXPECT_EQ(message(Pool(kBackend + R"(policy: "maglev" maglev_table_size: 65536)")),
            "proxy.pools[0].maglev_table_size: 65536 is not a prime in 2..16777216 (Maglev's "
            "permutations need a prime size)");
  EXPECT_EQ(message(ProxyProtocol(R"(version: "v1" crc32c: true)")),
            "proxy.pools[0].proxy_protocol.crc32c: only version \"v2\" carries a CRC32C; "
            "version is \"v1\"");
  EXPECT_EQ(message(ProxyProtocol(R"(version: "v2" tlvs { type: 3 value: "" })")),
            "proxy.pools[0].proxy_protocol.tlvs[0].type: 3 is PP2_TYPE_CRC32C, which is "
            "computed per header (§2.2.3): set crc32c: true instead");
  EXPECT_EQ(message(Pool(kBackend + "connect_attempts: 9")),
            "proxy.pools[0].connect_attempts: 9 is out of range 1..8 (or 0 for the default)");
  EXPECT_EQ(message(Pool(kBackend + "retry_backoff_base_ms: 2000")),
            "proxy.pools[0].retry_backoff_base_ms: 2000 is above "
            "proxy.pools[0].retry_backoff_max_ms (1000, the default)");
  EXPECT_EQ(message(Pool(kBackend + "retry_backoff_max_ms: 5")),
            "proxy.pools[0].retry_backoff_max_ms: 5 is below "
            "proxy.pools[0].retry_backoff_base_ms (10, the default)");
  EXPECT_EQ(message(Proxy("max_sessions: 9000")),
            "proxy.max_sessions: 9000 sessions need 18000 TCBs, more than tcp.max_connections "
            "(16384, the default)");
}

// Field order: everything before proxy (8) first, and within proxy listeners (1) before pools
// (2) before source_addresses (3).
TEST(ValidateProxy, MistakesAreReportedInFieldOrder) {
  const std::string bad_listener = R"(listeners { address: "198.18.0.1" port: 0 pool: "web" })";
  const std::string bad_pool = R"(pools { name: "web" policy: "random" })";
  const std::string bad_source = R"(source_addresses: "192.0.2.1")";
  const auto message = [](const std::string& text) {
    return std::string(ValidateConfig(Parse(text)).message());
  };
  EXPECT_TRUE(absl::StartsWith(
      message(R"(diagnostics { service: "foo" port: 7 })" + Proxy(bad_listener + bad_pool)),
      "diagnostics[0].service: "));
  EXPECT_TRUE(absl::StartsWith(message(Proxy(bad_listener + bad_pool + bad_source)),
                               "proxy.listeners[0].port: "));
  EXPECT_TRUE(
      absl::StartsWith(message(Proxy(bad_pool + bad_source)), "proxy.pools[0].policy: "));
  EXPECT_TRUE(
      absl::StartsWith(message(Proxy(bad_source)), "proxy.source_addresses[0]: "));
}

// ---- Resolution ----------------------------------------------------------------------------

proxy::ProxySettings Resolve(const std::string& text) {
  const v1::Config c = Parse(text);
  const absl::Status s = ValidateConfig(c);
  EXPECT_TRUE(s.ok()) << s;
  return ResolveProxy(c, ResolveConnectionOptions(c.tcp().connection(), tcp::ConnectionOptions{}));
}

void ExpectSameOptions(const tcp::ConnectionOptions& a, const tcp::ConnectionOptions& b) {
  EXPECT_EQ(a.congestion, b.congestion);
  EXPECT_EQ(a.nagle, b.nagle);
  EXPECT_EQ(a.window_scaling, b.window_scaling);
  EXPECT_EQ(a.timestamps, b.timestamps);
  EXPECT_EQ(a.sack, b.sack);
  EXPECT_EQ(a.send_buffer, b.send_buffer);
  EXPECT_EQ(a.receive_window, b.receive_window);
  EXPECT_EQ(a.keepalive, b.keepalive);
  EXPECT_EQ(a.keepalive_idle, b.keepalive_idle);
  EXPECT_EQ(a.keepalive_interval, b.keepalive_interval);
  EXPECT_EQ(a.keepalive_probes, b.keepalive_probes);
}

net::Ipv4Address A(const char* text) { return *net::Ipv4Address::Parse(text); }

TEST(ResolveProxy, NoProxySectionGivesNothing) {
  const proxy::ProxySettings s = Resolve(kNetwork);
  EXPECT_TRUE(s.listeners.empty());
  EXPECT_TRUE(s.pools.empty());
  EXPECT_TRUE(s.source_addresses.empty());
  EXPECT_EQ(s.max_sessions, 0u);
}

TEST(ResolveProxy, UnsetFieldsTakeTheDocumentedDefaults) {
  const proxy::ProxySettings s = Resolve(Pool(kBackend));
  ASSERT_EQ(s.listeners.size(), 1u);
  ASSERT_EQ(s.pools.size(), 1u);
  const proxy::ListenerSettings& l = s.listeners[0];
  EXPECT_EQ(l.name, "198.18.0.1:80");
  EXPECT_EQ(l.address, A("198.18.0.1"));
  EXPECT_EQ(l.port, 80);
  EXPECT_EQ(l.pool, 0u);
  EXPECT_EQ(l.max_sessions, 0u);
  EXPECT_EQ(l.idle_timeout, minutes(5));
  EXPECT_EQ(l.max_lifetime, base::Duration::zero());
  EXPECT_EQ(l.max_in_flight_bytes, 262144u);
  ExpectSameOptions(l.connection, tcp::ConnectionOptions{});

  const proxy::PoolSettings& p = s.pools[0];
  EXPECT_EQ(p.name, "web");
  EXPECT_EQ(p.policy, proxy::BalancingPolicy::kRoundRobin);
  EXPECT_EQ(p.maglev_table_size, 65537u);
  EXPECT_EQ(p.proxy_protocol, proxy::ProxyProtocolVersion::kNone);
  EXPECT_TRUE(p.proxy_protocol_tlvs.empty());
  EXPECT_FALSE(p.proxy_protocol_crc32c);
  EXPECT_EQ(p.connect_timeout, milliseconds(3000));
  EXPECT_EQ(p.connect_attempts, 3u);
  EXPECT_EQ(p.retry_backoff_base, milliseconds(10));
  EXPECT_EQ(p.retry_backoff_max, milliseconds(1000));
  ExpectSameOptions(p.connection, tcp::ConnectionOptions{});

  ASSERT_EQ(p.backends.size(), 1u);
  const proxy::BackendSettings& b = p.backends[0];
  EXPECT_EQ(b.name, "198.18.0.10:8080");
  EXPECT_EQ(b.address, A("198.18.0.10"));
  EXPECT_EQ(b.port, 8080);
  EXPECT_EQ(b.weight, 1u);
  EXPECT_TRUE(b.enabled);
  EXPECT_EQ(b.max_sessions, 0u);
  EXPECT_EQ(b.default_source, A("198.18.0.1"));
}

TEST(ResolveProxy, ConfiguredValuesReplaceTheDefaults) {
  const proxy::ProxySettings s = Resolve(Proxy(R"(
      listeners { name: "front" address: "198.19.0.1" port: 443 pool: "api"
                  max_sessions: 100 idle_timeout_s: 30 max_lifetime_s: 3600
                  max_in_flight_bytes: 65536 }
      pools { name: "api" policy: "maglev" maglev_table_size: 1009
              backends { name: "api-1" address: "198.19.0.10" port: 8443 weight: 7
                         enabled: false max_sessions: 50 }
              proxy_protocol { version: "v2" crc32c: true
                               tlvs { type: 2 value: "api.example.com" }
                               tlvs { type: 0xE0 value: "\x00\x01\xff" } }
              connect_timeout_ms: 250 connect_attempts: 8 retry_backoff_base_ms: 20
              retry_backoff_max_ms: 400 }
      source_addresses: "203.0.113.1" source_addresses: "198.19.0.1"
      max_sessions: 4000)"));
  ASSERT_EQ(s.listeners.size(), 1u);
  const proxy::ListenerSettings& l = s.listeners[0];
  EXPECT_EQ(l.name, "front");
  EXPECT_EQ(l.address, A("198.19.0.1"));
  EXPECT_EQ(l.port, 443);
  EXPECT_EQ(l.max_sessions, 100u);
  EXPECT_EQ(l.idle_timeout, seconds(30));
  EXPECT_EQ(l.max_lifetime, seconds(3600));
  EXPECT_EQ(l.max_in_flight_bytes, 65536u);

  ASSERT_EQ(s.pools.size(), 1u);
  const proxy::PoolSettings& p = s.pools[0];
  EXPECT_EQ(p.policy, proxy::BalancingPolicy::kMaglev);
  EXPECT_EQ(p.maglev_table_size, 1009u);
  EXPECT_EQ(p.proxy_protocol, proxy::ProxyProtocolVersion::kV2);
  EXPECT_TRUE(p.proxy_protocol_crc32c);
  ASSERT_EQ(p.proxy_protocol_tlvs.size(), 2u);
  EXPECT_EQ(p.proxy_protocol_tlvs[0].type, 0x02);
  const std::string authority = "api.example.com";
  EXPECT_EQ(p.proxy_protocol_tlvs[0].value,
            std::vector<uint8_t>(authority.begin(), authority.end()));
  EXPECT_EQ(p.proxy_protocol_tlvs[1].type, 0xE0);
  EXPECT_EQ(p.proxy_protocol_tlvs[1].value, (std::vector<uint8_t>{0x00, 0x01, 0xff}));
  EXPECT_EQ(p.connect_timeout, milliseconds(250));
  EXPECT_EQ(p.connect_attempts, 8u);
  EXPECT_EQ(p.retry_backoff_base, milliseconds(20));
  EXPECT_EQ(p.retry_backoff_max, milliseconds(400));
  ASSERT_EQ(p.backends.size(), 1u);
  EXPECT_EQ(p.backends[0].name, "api-1");
  EXPECT_EQ(p.backends[0].weight, 7u);
  EXPECT_FALSE(p.backends[0].enabled);
  EXPECT_EQ(p.backends[0].max_sessions, 50u);

  EXPECT_EQ(s.source_addresses, (std::vector<net::Ipv4Address>{A("203.0.113.1"),
                                                               A("198.19.0.1")}));
  EXPECT_EQ(s.max_sessions, 4000u);
}

TEST(ResolveProxy, IdleTimeoutZeroMeansNever) {
  const proxy::ProxySettings s =
      Resolve(Listener(R"(address: "198.18.0.1" port: 80 pool: "web" idle_timeout_s: 0)"));
  ASSERT_EQ(s.listeners.size(), 1u);
  EXPECT_EQ(s.listeners[0].idle_timeout, base::Duration::zero());
}

TEST(ResolveProxy, EachPolicyAndVersionByName) {
  const proxy::ProxySettings s = Resolve(Proxy(R"(
      pools { name: "a" policy: "round_robin" proxy_protocol { version: "none" } }
      pools { name: "b" policy: "weighted_round_robin" proxy_protocol { version: "v1" } }
      pools { name: "c" policy: "least_connections" proxy_protocol { version: "v2" } }
      pools { name: "d" policy: "maglev" }
      pools { name: "e" policy: "power_of_two" })"));
  ASSERT_EQ(s.pools.size(), 5u);
  EXPECT_EQ(s.pools[0].policy, proxy::BalancingPolicy::kRoundRobin);
  EXPECT_EQ(s.pools[1].policy, proxy::BalancingPolicy::kWeightedRoundRobin);
  EXPECT_EQ(s.pools[2].policy, proxy::BalancingPolicy::kLeastConnections);
  EXPECT_EQ(s.pools[3].policy, proxy::BalancingPolicy::kMaglev);
  EXPECT_EQ(s.pools[4].policy, proxy::BalancingPolicy::kPowerOfTwoChoices);
  EXPECT_EQ(s.pools[0].proxy_protocol, proxy::ProxyProtocolVersion::kNone);
  EXPECT_EQ(s.pools[1].proxy_protocol, proxy::ProxyProtocolVersion::kV1);
  EXPECT_EQ(s.pools[2].proxy_protocol, proxy::ProxyProtocolVersion::kV2);
  EXPECT_EQ(s.pools[3].maglev_table_size, 65537u);
}

TEST(ResolveProxy, ListenersNameTheirPoolByIndexInConfigOrder) {
  const proxy::ProxySettings s = Resolve(Proxy(R"(
      listeners { address: "198.18.0.1" port: 80 pool: "static" }
      listeners { address: "198.18.0.1" port: 443 pool: "api" }
      listeners { name: "again" address: "198.18.0.5" port: 80 pool: "static" }
      pools { name: "api" }
      pools { name: "unused" }
      pools { name: "static" })"));
  ASSERT_EQ(s.listeners.size(), 3u);
  ASSERT_EQ(s.pools.size(), 3u);
  EXPECT_EQ(s.pools[0].name, "api");
  EXPECT_EQ(s.pools[2].name, "static");
  EXPECT_EQ(s.listeners[0].pool, 2u);
  EXPECT_EQ(s.listeners[1].pool, 0u);
  EXPECT_EQ(s.listeners[2].pool, 2u);
  EXPECT_EQ(s.listeners[0].name, "198.18.0.1:80");
  EXPECT_EQ(s.listeners[1].name, "198.18.0.1:443");
  EXPECT_EQ(s.listeners[2].name, "again");
}

TEST(ResolveProxy, BackendsKeepTheirOrderAndUnnamedOnesAreAddressPort) {
  const proxy::ProxySettings s = Resolve(Pool(R"(
      backends { address: "198.18.0.12" port: 8080 }
      backends { name: "b" address: "198.18.0.11" port: 8080 }
      backends { address: "198.18.0.10" port: 9090 })"));
  ASSERT_EQ(s.pools.size(), 1u);
  ASSERT_EQ(s.pools[0].backends.size(), 3u);
  EXPECT_EQ(s.pools[0].backends[0].name, "198.18.0.12:8080");
  EXPECT_EQ(s.pools[0].backends[1].name, "b");
  EXPECT_EQ(s.pools[0].backends[2].name, "198.18.0.10:9090");
  EXPECT_EQ(s.pools[0].backends[2].port, 9090);
}

// The source is the appliance's address that the route table reaches the backend from: on a
// connected subnet, that interface's first address in it; through a route, the address on the
// subnet of the longest matching route's next hop.
TEST(ResolveProxy, DefaultSourceFollowsTheRouteTable) {
  const proxy::ProxySettings s = Resolve(Pool(R"(
      backends { address: "198.18.0.77" port: 80 }
      backends { address: "198.19.0.77" port: 80 }
      backends { address: "203.0.113.77" port: 80 }
      backends { address: "10.9.9.9" port: 80 }
      backends { address: "10.1.2.3" port: 80 })"));
  ASSERT_EQ(s.pools.size(), 1u);
  const std::vector<proxy::BackendSettings>& b = s.pools[0].backends;
  ASSERT_EQ(b.size(), 5u);
  // Connected: lan0's first address (not its secondary 198.18.0.5).
  EXPECT_EQ(b[0].default_source, A("198.18.0.1"));
  // Connected on lan1's first and second subnets.
  EXPECT_EQ(b[1].default_source, A("198.19.0.1"));
  EXPECT_EQ(b[2].default_source, A("203.0.113.1"));
  // 10.0.0.0/8 via 198.19.0.254.
  EXPECT_EQ(b[3].default_source, A("198.19.0.1"));
  // 10.1.0.0/16 via 203.0.113.254 is longer than 10.0.0.0/8.
  EXPECT_EQ(b[4].default_source, A("203.0.113.1"));
}

TEST(ResolveProxy, DefaultSourceThroughADefaultRoute) {
  const proxy::ProxySettings s = Resolve(
      R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.254" })" +
      Pool(R"(backends { address: "192.0.2.10" port: 80 })"));
  ASSERT_EQ(s.pools.size(), 1u);
  ASSERT_EQ(s.pools[0].backends.size(), 1u);
  EXPECT_EQ(s.pools[0].backends[0].default_source, A("198.18.0.1"));
}

// Layering: a listener's or pool's field overrides tcp.connection's, which overrides the
// default; what neither sets comes from below.
TEST(ResolveProxy, ConnectionOptionsAreLayeredOverTcpConnection) {
  const v1::Config c = Parse(
      R"(tcp { connection { congestion_control: "newreno" send_buffer_bytes: 65536
                            keepalive: true keepalive_probes: 4 } })" +
      Proxy(R"(listeners { address: "198.18.0.1" port: 80 pool: "web"
                           connection { receive_window_bytes: 8192 keepalive: false } }
               listeners { address: "198.18.0.1" port: 81 pool: "web" }
               pools { name: "web" connection { congestion_control: "cubic"
                                                send_buffer_bytes: 131072 } })"));
  ASSERT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  const tcp::ConnectionOptions global =
      ResolveConnectionOptions(c.tcp().connection(), tcp::ConnectionOptions{});
  const proxy::ProxySettings s = ResolveProxy(c, global);
  const tcp::ConnectionOptions defaults;
  ASSERT_EQ(s.listeners.size(), 2u);
  ASSERT_EQ(s.pools.size(), 1u);

  const tcp::ConnectionOptions& l0 = s.listeners[0].connection;
  EXPECT_EQ(l0.receive_window, 8192u);                             // its own
  EXPECT_FALSE(l0.keepalive);                                      // its own over tcp's
  EXPECT_EQ(l0.congestion, tcp::CongestionAlgorithm::kNewReno);    // tcp.connection
  EXPECT_EQ(l0.send_buffer, 65536u);                               // tcp.connection
  EXPECT_EQ(l0.keepalive_probes, 4u);                              // tcp.connection
  EXPECT_EQ(l0.keepalive_idle, defaults.keepalive_idle);           // default

  ExpectSameOptions(s.listeners[1].connection, global);

  const tcp::ConnectionOptions& p = s.pools[0].connection;
  EXPECT_EQ(p.congestion, tcp::CongestionAlgorithm::kCubic);
  EXPECT_EQ(p.send_buffer, 131072u);
  EXPECT_TRUE(p.keepalive);
  EXPECT_EQ(p.keepalive_probes, 4u);
  EXPECT_EQ(p.receive_window, defaults.receive_window);
}

// max_in_flight_bytes is the proxy's to apply: the connections' send buffers stay as
// configured.
TEST(ResolveProxy, MaxInFlightLeavesTheSendBufferAlone) {
  const proxy::ProxySettings s = Resolve(
      Listener(R"(address: "198.18.0.1" port: 80 pool: "web" max_in_flight_bytes: 4096)"));
  ASSERT_EQ(s.listeners.size(), 1u);
  EXPECT_EQ(s.listeners[0].max_in_flight_bytes, 4096u);
  EXPECT_EQ(s.listeners[0].connection.send_buffer, tcp::ConnectionOptions{}.send_buffer);
}

// Through ResolveSettings with the real af_packet profile.
TEST(ResolveSettings, ProxyIsResolvedOverTcpConnection) {
  auto s = ResolveSettings(
      Parse(R"(tcp { connection { sack: false } })" + Pool(kBackend)),
      FERRY_SOURCE_ROOT "/drivers-config");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->proxy.listeners.size(), 1u);
  ASSERT_EQ(s->proxy.pools.size(), 1u);
  EXPECT_EQ(s->proxy.listeners[0].name, "198.18.0.1:80");
  EXPECT_FALSE(s->proxy.listeners[0].connection.sack);
  EXPECT_FALSE(s->proxy.pools[0].connection.sack);
  EXPECT_EQ(s->proxy.pools[0].backends[0].default_source, A("198.18.0.1"));
}

TEST(ResolveSettings, InvalidProxyIsRefusedWithItsPath) {
  auto s = ResolveSettings(Parse(Listener(R"(address: "198.18.0.1" port: 80 pool: "api")")),
                           FERRY_SOURCE_ROOT "/drivers-config");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "proxy.listeners[0].pool: no pool named \"api\"");
}

}  // namespace
}  // namespace ferry::control
