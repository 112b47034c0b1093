// ferry.v1.Tcp and ferry.v1.DiagnosticListener on the control path: their validation, with
// errors that name the field path ("tcp.rto_min_ms: ...", "diagnostics[1].service: ..."), and
// their resolution into lib/tcp's plain StackOptions and ConnectionOptions.
//
// Defaults live in one place, lib/tcp/stack_options.h: a field left unset keeps the value
// there. Connection options are layered: a listener's TcpConnection field overrides the same
// field of tcp.connection, which overrides the struct's default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ferry/v1/config.pb.h"
#include "net/address.h"
#include "tcp/stack_options.h"

namespace ferry::control {

// The diagnostic services ferryd can run on the stack (app/ferryd/diagnostics.h).
enum class DiagnosticService : uint8_t {
  kEcho,     // RFC 862: everything received is sent back
  kDiscard,  // RFC 863: everything received is thrown away
  kChargen,  // RFC 864: a stream of text is sent, whatever is received
};

constexpr std::string_view Name(DiagnosticService s) {
  switch (s) {
    case DiagnosticService::kEcho: return "echo";
    case DiagnosticService::kDiscard: return "discard";
    case DiagnosticService::kChargen: return "chargen";
  }
  return "unknown";
}

// One diagnostics[] entry, resolved.
struct DiagnosticListenerSettings {
  DiagnosticService service = DiagnosticService::kEcho;
  net::Ipv4Address address;  // 0.0.0.0: every address of the appliance
  uint16_t port = 0;
  // tcp.connection with this listener's overrides applied.
  tcp::ConnectionOptions connection;
};

// Checks config.tcp: every field's range, rto_min <= rto_initial <= rto_max and syn_backlog <=
// max_connections (unset fields taking their defaults), and tcp.connection. Returns
// InvalidArgument whose message starts with the field path, e.g.
// "tcp.delayed_ack_ms: 600 is out of range 1..499 (RFC 9293 §3.8.6.3: ...)".
absl::Status ValidateTcp(const v1::Tcp& tcp);

// Checks one TcpConnection block (tcp.connection, or a listener's or pool's overrides) found
// at `path`: the congestion control's name and every field's range. Returns InvalidArgument
// naming the field under `path`, e.g. "proxy.listeners[0].connection.send_buffer_bytes: ...".
absl::Status ValidateConnection(const std::string& path, const v1::TcpConnection& connection);

// Checks config.diagnostics: the service name, the address (one of the interfaces', or
// 0.0.0.0), the port, no two listeners on one address and port, and each connection block.
// The interfaces must already be valid (ValidateConfig checks them first). Returns
// InvalidArgument naming the field path, e.g.
// "diagnostics[1].service: \"foo\" is not one of echo, discard, chargen".
absl::Status ValidateDiagnostics(const v1::Config& config);

// The stack options of a valid config.tcp (ValidateTcp). The MSS offered is `smallest_mtu`
// less 40 bytes of IPv4 and TCP headers (RFC 9293 §3.7.1), so that a segment fits every port;
// tcp_checksum_offload stays false (the worker turns it on when every port offers it).
tcp::StackOptions ResolveStackOptions(const v1::Tcp& tcp, uint16_t smallest_mtu);

// `connection`'s set fields applied over `base`.
tcp::ConnectionOptions ResolveConnectionOptions(const v1::TcpConnection& connection,
                                                const tcp::ConnectionOptions& base);

// The listeners of a valid config (ValidateDiagnostics), in config order, each with
// config.tcp.connection and then its own connection block applied over the defaults.
std::vector<DiagnosticListenerSettings> ResolveDiagnostics(const v1::Config& config);

}  // namespace ferry::control
