// Validation and resolution of config.tcp and config.diagnostics (tcp_config.h). The ranges
// are what the stack can honour (SendQueue, the window scale) or what the RFCs require, and
// each error says which.
#include "control/tcp_config.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "control/field_error.h"
#include "control/network_config.h"

namespace ferry::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// SendQueue::Valid: fewer than 2^31 bytes queued keeps every queued sequence number
// comparable modulo 2^32 (RFC 9293 §3.4).
constexpr uint64_t kMaxSendBuffer = std::numeric_limits<int32_t>::max();
// RFC 7323 §2.3: the shift is at most 14, so the largest window is 65535 << 14.
constexpr uint64_t kMaxReceiveWindow = uint64_t{65535} << 14;
// RFC 6298 §2.5: "a maximum value MAY be placed on RTO provided it is at least 60 seconds".
constexpr uint64_t kMinRtoMaxMs = 60'000;

std::optional<tcp::CongestionAlgorithm> ParseCongestion(std::string_view name) {
  if (name == "cubic") return tcp::CongestionAlgorithm::kCubic;
  if (name == "newreno") return tcp::CongestionAlgorithm::kNewReno;
  return std::nullopt;
}

std::optional<DiagnosticService> ParseService(std::string_view name) {
  for (DiagnosticService s :
       {DiagnosticService::kEcho, DiagnosticService::kDiscard, DiagnosticService::kChargen}) {
    if (name == Name(s)) return s;
  }
  return std::nullopt;
}

}  // namespace

absl::Status ValidateConnection(const std::string& path, const v1::TcpConnection& c) {
  if (!c.congestion_control().empty() && !ParseCongestion(c.congestion_control())) {
    return FieldError(path + ".congestion_control",
                      absl::StrCat("\"", c.congestion_control(), "\" is not one of cubic, newreno"));
  }
  RETURN_IF_ERROR(
      CheckRange(path + ".send_buffer_bytes", c.send_buffer_bytes(), 1, kMaxSendBuffer, true));
  RETURN_IF_ERROR(CheckRange(path + ".receive_window_bytes", c.receive_window_bytes(), 1,
                             kMaxReceiveWindow, true));
  RETURN_IF_ERROR(CheckRange(path + ".keepalive_idle_s", c.keepalive_idle_s(), 1, 86'400, true));
  RETURN_IF_ERROR(
      CheckRange(path + ".keepalive_interval_s", c.keepalive_interval_s(), 1, 3'600, true));
  if (c.has_keepalive_probes()) {
    if (c.keepalive_probes() == 0) {
      // RFC 9293 §3.8.4: a connection is dropped only after probes go unanswered; with none it
      // would be dropped at the first idle timeout without asking the peer.
      return FieldError(path + ".keepalive_probes",
                        "0 would drop an idle connection without probing it (RFC 9293 §3.8.4); "
                        "1..127, or leave it unset for the default, 9");
    }
    RETURN_IF_ERROR(CheckRange(path + ".keepalive_probes", c.keepalive_probes(), 1, 127, false));
  }
  return absl::OkStatus();
}

absl::Status ValidateTcp(const v1::Tcp& t) {
  const tcp::StackOptions defaults;
  RETURN_IF_ERROR(CheckRange("tcp.max_connections", t.max_connections(), 1, 1 << 20, true));
  RETURN_IF_ERROR(CheckRange("tcp.syn_backlog", t.syn_backlog(), 1, 1 << 20, true));
  const uint64_t max_connections =
      t.max_connections() ? t.max_connections() : defaults.max_connections;
  // A backlog beyond the TCB pool could never fill. Left unset, it shrinks to the pool
  // (ResolveStackOptions); set, it is a mistake worth naming.
  if (t.syn_backlog() > max_connections) {
    return FieldError("tcp.syn_backlog",
                      absl::StrCat(t.syn_backlog(), " is above ",
                                   Describe("tcp.max_connections", max_connections,
                                            t.max_connections() != 0)));
  }

  RETURN_IF_ERROR(CheckRange("tcp.rto_min_ms", t.rto_min_ms(), 1, 60'000, true));
  RETURN_IF_ERROR(CheckRange("tcp.rto_initial_ms", t.rto_initial_ms(), 1, 600'000, true));
  if (t.rto_max_ms() != 0 && t.rto_max_ms() < kMinRtoMaxMs) {
    return FieldError("tcp.rto_max_ms",
                      absl::StrCat(t.rto_max_ms(), " is below 60000 (RFC 6298 §2.5: a maximum "
                                   "RTO must be at least 60 s)"));
  }
  RETURN_IF_ERROR(CheckRange("tcp.rto_max_ms", t.rto_max_ms(), kMinRtoMaxMs, 3'600'000, true));
  // RttEstimator::Valid: min <= initial <= max, with unset fields at their defaults. The error
  // goes to a field the operator set (both unset is the valid default).
  const auto ms = [](base::Duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<milliseconds>(d).count());
  };
  const uint64_t rto_min = t.rto_min_ms() ? t.rto_min_ms() : ms(defaults.rto.min);
  const uint64_t rto_initial = t.rto_initial_ms() ? t.rto_initial_ms() : ms(defaults.rto.initial);
  const uint64_t rto_max = t.rto_max_ms() ? t.rto_max_ms() : ms(defaults.rto.max);
  if (rto_min > rto_initial) {
    if (t.rto_min_ms() != 0) {
      return FieldError("tcp.rto_min_ms",
                        absl::StrCat(rto_min, " is above ",
                                     Describe("tcp.rto_initial_ms", rto_initial,
                                              t.rto_initial_ms() != 0)));
    }
    return FieldError("tcp.rto_initial_ms",
                      absl::StrCat(rto_initial, " is below ",
                                   Describe("tcp.rto_min_ms", rto_min, false)));
  }
  if (rto_initial > rto_max) {
    // rto_max is at least 60000 and the default rto_initial 1000: rto_initial is set.
    return FieldError("tcp.rto_initial_ms",
                      absl::StrCat(rto_initial, " is above ",
                                   Describe("tcp.rto_max_ms", rto_max, t.rto_max_ms() != 0)));
  }

  if (t.delayed_ack_ms() >= 500) {
    return FieldError("tcp.delayed_ack_ms",
                      absl::StrCat(t.delayed_ack_ms(), " is out of range 1..499 (RFC 9293 "
                                   "§3.8.6.3: an ACK MUST NOT be delayed 0.5 s or more)"));
  }
  RETURN_IF_ERROR(CheckRange("tcp.time_wait_ms", t.time_wait_ms(), 1, 600'000, true));
  RETURN_IF_ERROR(
      CheckRange("tcp.fin_wait_2_timeout_ms", t.fin_wait_2_timeout_ms(), 1, 3'600'000, true));
  RETURN_IF_ERROR(CheckRange("tcp.max_retransmissions", t.max_retransmissions(), 1, 100, true));
  RETURN_IF_ERROR(CheckRange("tcp.syn_retries", t.syn_retries(), 1, 100, true));
  RETURN_IF_ERROR(
      CheckRange("tcp.challenge_ack_limit", t.challenge_ack_limit(), 1, 1'000'000, true));
  RETURN_IF_ERROR(CheckRange("tcp.send_queue_entries", t.send_queue_entries(), 1, 65'536, true));
  RETURN_IF_ERROR(
      CheckRange("tcp.reassembly_segments", t.reassembly_segments(), 1, 65'535, true));
  RETURN_IF_ERROR(ValidateConnection("tcp.connection", t.connection()));
  return absl::OkStatus();
}

absl::Status ValidateDiagnostics(const v1::Config& config) {
  struct Bound {
    net::Ipv4Address address;
    uint32_t port;
    DiagnosticService service;
  };
  std::vector<Bound> bound;
  for (int i = 0; i < config.diagnostics_size(); ++i) {
    const v1::DiagnosticListener& l = config.diagnostics(i);
    const std::string path = absl::StrCat("diagnostics[", i, "]");
    if (l.service().empty()) {
      return FieldError(path + ".service", "is required: echo, discard or chargen");
    }
    const std::optional<DiagnosticService> service = ParseService(l.service());
    if (!service) {
      return FieldError(path + ".service", absl::StrCat("\"", l.service(),
                                                        "\" is not one of echo, discard, chargen"));
    }
    net::Ipv4Address address;
    if (!l.address().empty()) {
      auto parsed = net::Ipv4Address::Parse(l.address());
      if (!parsed.ok()) return FieldError(path + ".address", parsed.status().message());
      address = *parsed;
    }
    if (!address.IsUnspecified()) {
      if (!IsInterfaceAddress(config, address)) {
        return FieldError(path + ".address",
                          absl::StrCat(address.ToString(), " is not an address of any interface "
                                       "(or 0.0.0.0 for all of them)"));
      }
    }
    if (l.port() == 0) {
      return FieldError(path + ".port", "is required: 1..65535");
    }
    RETURN_IF_ERROR(CheckRange(path + ".port", l.port(), 1, 65'535, false));
    // A listener on 0.0.0.0 takes the port on every address, so it collides with any other
    // listener on that port, as bind(2) without SO_REUSEADDR would say.
    for (size_t j = 0; j < bound.size(); ++j) {
      const Bound& b = bound[j];
      if (b.port == l.port() &&
          (b.address == address || b.address.IsUnspecified() || address.IsUnspecified())) {
        return FieldError(path, absl::StrCat(address.ToString(), ":", l.port(),
                                             " is already taken by diagnostics[", j, "] (",
                                             std::string(Name(b.service)), " on ", b.address.ToString(), ":",
                                             b.port, ")"));
      }
    }
    bound.push_back(Bound{address, l.port(), *service});
    RETURN_IF_ERROR(ValidateConnection(path + ".connection", l.connection()));
  }
  return absl::OkStatus();
}

tcp::StackOptions ResolveStackOptions(const v1::Tcp& t, uint16_t smallest_mtu) {
  tcp::StackOptions o;
  if (t.max_connections()) o.max_connections = t.max_connections();
  o.syn_backlog = t.syn_backlog() ? t.syn_backlog() : std::min(o.syn_backlog, o.max_connections);
  if (t.has_syn_cookies()) o.syn_cookies = t.syn_cookies();
  if (t.rto_min_ms()) o.rto.min = milliseconds(t.rto_min_ms());
  if (t.rto_initial_ms()) o.rto.initial = milliseconds(t.rto_initial_ms());
  if (t.rto_max_ms()) o.rto.max = milliseconds(t.rto_max_ms());
  if (t.delayed_ack_ms()) o.delayed_ack = milliseconds(t.delayed_ack_ms());
  if (t.time_wait_ms()) o.time_wait = milliseconds(t.time_wait_ms());
  if (t.fin_wait_2_timeout_ms()) o.fin_wait_2_timeout = milliseconds(t.fin_wait_2_timeout_ms());
  if (t.max_retransmissions()) o.max_retransmissions = t.max_retransmissions();
  if (t.syn_retries()) o.syn_retries = t.syn_retries();
  if (t.challenge_ack_limit()) o.challenge_ack_limit = t.challenge_ack_limit();
  if (t.send_queue_entries()) o.send_queue_entries = t.send_queue_entries();
  if (t.reassembly_segments()) {
    o.reassembly_segments = static_cast<uint16_t>(t.reassembly_segments());
  }
  // RFC 9293 §3.7.1: the MSS offered is the MTU less the fixed IPv4 and TCP headers. Interface
  // MTUs are at least 68 (validated), so this is at least 28.
  o.mss = static_cast<uint16_t>(smallest_mtu - 40);
  o.tcp_checksum_offload = false;
  return o;
}

tcp::ConnectionOptions ResolveConnectionOptions(const v1::TcpConnection& c,
                                                const tcp::ConnectionOptions& base) {
  tcp::ConnectionOptions o = base;
  if (!c.congestion_control().empty()) o.congestion = *ParseCongestion(c.congestion_control());
  if (c.has_nagle()) o.nagle = c.nagle();
  if (c.has_window_scaling()) o.window_scaling = c.window_scaling();
  if (c.has_timestamps()) o.timestamps = c.timestamps();
  if (c.has_sack()) o.sack = c.sack();
  if (c.send_buffer_bytes()) o.send_buffer = c.send_buffer_bytes();
  if (c.receive_window_bytes()) o.receive_window = c.receive_window_bytes();
  if (c.has_keepalive()) o.keepalive = c.keepalive();
  if (c.keepalive_idle_s()) o.keepalive_idle = seconds(c.keepalive_idle_s());
  if (c.keepalive_interval_s()) o.keepalive_interval = seconds(c.keepalive_interval_s());
  if (c.has_keepalive_probes()) o.keepalive_probes = c.keepalive_probes();
  return o;
}

std::vector<DiagnosticListenerSettings> ResolveDiagnostics(const v1::Config& config) {
  const tcp::ConnectionOptions global =
      ResolveConnectionOptions(config.tcp().connection(), tcp::ConnectionOptions{});
  std::vector<DiagnosticListenerSettings> out;
  for (const v1::DiagnosticListener& l : config.diagnostics()) {
    DiagnosticListenerSettings d;
    d.service = *ParseService(l.service());
    if (!l.address().empty()) d.address = *net::Ipv4Address::Parse(l.address());
    d.port = static_cast<uint16_t>(l.port());
    d.connection = ResolveConnectionOptions(l.connection(), global);
    out.push_back(d);
  }
  return out;
}

}  // namespace ferry::control
