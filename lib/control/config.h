// The appliance's configuration on the control path: ferry.v1.Config read from text format,
// validated with errors that name the field path, and resolved (defaults applied, driver
// profiles loaded) into the plain settings that ferryd and the workers use. Workers never see
// protobuf (ARCHITECTURE.md: proxy must not parse protobuf on the packet path).
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "base/clock.h"
#include "control/tcp_config.h"
#include "ferry/v1/config.pb.h"
#include "net/host.h"
#include "net/port.h"
#include "proxy/proxy_settings.h"
#include "tcp/stack_options.h"

namespace ferry::control {

// Parses a Config in protobuf text format. Returns InvalidArgument with
// "<source_name>:<line>:<column>: <what the parser says>" for any syntax error or unknown field.
absl::StatusOr<v1::Config> ParseConfigText(absl::string_view text, absl::string_view source_name);
// Reads and parses a file. Returns NotFound / PermissionDenied naming the path if unreadable.
absl::StatusOr<v1::Config> LoadConfigFile(const std::string& path);

// Checks everything that can be checked without DPDK: addresses, lengths, ranges, uniqueness,
// routes reachable through a connected subnet. Returns InvalidArgument whose message starts
// with the field path, e.g. "interfaces[1].ipv4[0].prefix_length: 33 is out of range 1..32".
absl::Status ValidateConfig(const v1::Config& config);

struct WorkerSettings {
  uint32_t count = 1;
  std::vector<uint32_t> lcores;       // one per worker
  uint32_t main_lcore = 0;
  uint32_t mbufs_per_worker = 16383;
  uint32_t idle_polls_before_sleep = 256;
  base::Duration idle_sleep_max = std::chrono::microseconds(500);
};

struct EalSettings {
  bool hugepages = true;
  uint32_t memory_mb = 0;
  std::string file_prefix = "ferry";
  std::vector<std::string> extra_args;
};

// The control plane's endpoints (config.proto, Control).
struct ControlSettings {
  std::string socket_path = "/run/ferry/ferry.sock";
  uint32_t socket_mode = 0660;
  std::string socket_group;  // "": root's
  std::string management_address = "127.0.0.1";
  uint16_t grpc_port = 0;    // 0: none
  uint16_t metrics_port = 0;
};

// Everything ferryd needs, with defaults applied. host.interfaces[i] belongs to ports[i]; their
// MAC addresses and offloads are filled in once the ports have started.
struct Settings {
  std::vector<net::PortSpec> ports;
  net::HostConfig host;
  WorkerSettings workers;
  EalSettings eal;
  // Each worker's TCP stack (tcp_config.h). tcp.mss fits the smallest interface MTU;
  // tcp.tcp_checksum_offload is left to the worker, which knows the ports' offloads.
  tcp::StackOptions tcp;
  // tcp.connection resolved: the options of a connection whose listener or backend pool
  // overrides nothing.
  tcp::ConnectionOptions tcp_connection;
  // The diagnostic listeners every worker opens, in config order (diagnostics[i] is [i]).
  std::vector<DiagnosticListenerSettings> diagnostics;
  // config.proxy resolved (proxy_config.h): listeners, pools and their backends, connection
  // options layered over tcp_connection.
  proxy::ProxySettings proxy;
  ControlSettings control;
};

// Validates `config`, loads each interface's driver profile from `drivers_dir` and applies
// defaults. Errors name the field path (and the profile file for profile errors).
absl::StatusOr<Settings> ResolveSettings(const v1::Config& config, const std::string& drivers_dir);

// EAL's argv for these settings (argv[0] is "ferryd"); dpdk_names receives each port's DPDK
// device name in interface order.
std::vector<std::string> EalArguments(const Settings& settings,
                                      std::vector<std::string>* dpdk_names);

}  // namespace ferry::control
