// The proxy's configuration as the workers see it: plain structs, resolved on the control path
// from ferry.v1.Config (lib/control/proxy_config.h) with every default applied, and checked
// there. Workers never see protobuf (ARCHITECTURE.md). Positions are stable: a listener names
// its pool by index into ProxySettings::pools, and a backend is known by (pool, index).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "net/address.h"
#include "proxy/balancer.h"
#include "proxy/proxy_protocol.h"
#include "tcp/stack_options.h"

namespace ferry::proxy {

// What a pool's backends are sent before the client's first byte.
enum class ProxyProtocolVersion : uint8_t {
  kNone,
  kV1,  // the text line, "PROXY TCP4 ..." (proxy_protocol.h §2.1)
  kV2,  // the binary header, with the pool's TLVs (§2.2)
};

// One TLV a pool adds to every v2 header (type 0x01..0xff except CRC32C, checked on the control
// path; the value is owned here, so proxy::Tlv can view it).
struct TlvSettings {
  uint8_t type = 0;
  std::vector<uint8_t> value;
};

struct BackendSettings {
  std::string name;  // unique in its pool; "address:port" when the config gives none
  net::Ipv4Address address;
  uint16_t port = 0;
  uint32_t weight = 1;  // [kMinBackendWeight, kMaxBackendWeight]
  bool enabled = true;  // a disabled backend gets no new sessions
  bool drain = false;   // a draining one neither; its sessions carry on until they end
  // Sessions at once on this backend, per worker; 0: no limit. Over it the backend is not
  // picked; if no backend can be, the client is reset (counted).
  uint32_t max_sessions = 0;
  // The appliance's address that reaches this backend (the first address of the interface
  // whose subnet holds it or its route's next hop): the source used when
  // ProxySettings::source_addresses is empty.
  net::Ipv4Address default_source;
};

struct PoolSettings {
  std::string name;  // unique
  BalancingPolicy policy = BalancingPolicy::kRoundRobin;
  uint32_t maglev_table_size = 65537;  // prime; Maglev only
  std::vector<BackendSettings> backends;
  ProxyProtocolVersion proxy_protocol = ProxyProtocolVersion::kNone;
  std::vector<TlvSettings> proxy_protocol_tlvs;  // v2 only
  bool proxy_protocol_crc32c = false;            // v2 only: add a PP2_TYPE_CRC32C TLV
  // Connecting to a backend: a SYN unanswered this long counts as a failed attempt.
  base::Duration connect_timeout = std::chrono::seconds(3);
  // Connection attempts per session, the first included (1 = no retry). A failed attempt
  // (refused, timed out, reset before connecting) is retried on another backend when there is
  // one, after a backoff: full jitter over min(retry_backoff_max, retry_backoff_base * 2^(n-1))
  // for the n-th retry ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
  uint32_t connect_attempts = 3;
  base::Duration retry_backoff_base = std::chrono::milliseconds(10);
  base::Duration retry_backoff_max = std::chrono::seconds(1);
  // Options of the connections to this pool's backends (tcp.connection, overridden per pool).
  tcp::ConnectionOptions connection;
};

struct ListenerSettings {
  std::string name;  // unique; "address:port" when the config gives none
  net::Ipv4Address address;  // one of the appliance's addresses (a VIP); not 0.0.0.0
  uint16_t port = 0;
  uint32_t pool = 0;  // index into ProxySettings::pools
  // Sessions at once on this listener, per worker; 0: no limit. Over it a new client is reset
  // (counted).
  uint32_t max_sessions = 0;
  // No byte either way for this long: both connections are closed (counted). 0: never.
  base::Duration idle_timeout = std::chrono::minutes(5);
  // A session older than this is closed whatever it is doing (counted). 0: no limit.
  base::Duration max_lifetime = base::Duration::zero();
  // Bytes in flight per direction per session: what one side has sent and the other has not
  // yet acknowledged. The window offered to each side is what is left of it, so a fast
  // sender cannot grow memory behind a slow receiver. It is the send buffer of both
  // connections.
  uint32_t max_in_flight_bytes = 256 * 1024;
  // Options of the accepted (client) connections (tcp.connection, overridden per listener).
  tcp::ConnectionOptions connection;
};

struct ProxySettings {
  std::vector<ListenerSettings> listeners;
  std::vector<PoolSettings> pools;
  // Addresses of the appliance that connections to backends are made from, used in turn (each
  // has its own ephemeral port range, so more addresses mean more concurrent connections to
  // one backend). Empty: each backend's default_source.
  std::vector<net::Ipv4Address> source_addresses;
  // Session records per worker (each holds two TCBs of tcp.max_connections). 0: half of
  // tcp.max_connections.
  uint32_t max_sessions = 0;
};

}  // namespace ferry::proxy
