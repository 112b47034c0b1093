// Fuzzes the configuration path ferryd runs at start-up (lib/control/config.h) with arbitrary
// text: ParseConfigText, then ValidateConfig, then, for a config that validates, ResolveSettings
// against the source tree's drivers-config/ and EalArguments.
//
// What must hold: errors are InvalidArgument with a message (the field path or the
// file:line:column, never empty). ValidateConfig is the gate that lets ResolveSettings
// dereference its parses without checking, so a config that validates must never make it
// crash, and what it resolves must match the config: one port and one host interface per
// interface, one lcore per worker, none of them the main lcore, one EAL device per port.
// A violation traps, so libFuzzer saves the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "control/config.h"
#include "fuzz_check.h"

#ifndef FERRY_SOURCE_ROOT
#error "FERRY_SOURCE_ROOT must name the source tree (run_fuzz.sh defines it)"
#endif

namespace ferry::control {
namespace {

constexpr char kDriversDir[] = FERRY_SOURCE_ROOT "/drivers-config";

void CheckError(const absl::Status& s) {
  FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(!s.message().empty());
}

void CheckResolved(const v1::Config& config, const Settings& s) {
  const size_t interfaces = static_cast<size_t>(config.interfaces_size());
  FUZZ_CHECK(s.ports.size() == interfaces && s.host.interfaces.size() == interfaces);
  for (size_t i = 0; i < interfaces; ++i) {
    FUZZ_CHECK(s.host.interfaces[i].addresses.size() ==
               static_cast<size_t>(config.interfaces(static_cast<int>(i)).ipv4_size()));
    FUZZ_CHECK(s.ports[i].mtu >= 68 && s.ports[i].mtu <= 9000);
    FUZZ_CHECK(s.host.interfaces[i].vlan <= 4094);
  }
  FUZZ_CHECK(s.host.routes.size() == static_cast<size_t>(config.routes_size()));
  FUZZ_CHECK(s.workers.count >= 1 && s.workers.lcores.size() == s.workers.count);
  FUZZ_CHECK(std::find(s.workers.lcores.begin(), s.workers.lcores.end(),
                       s.workers.main_lcore) == s.workers.lcores.end());
  FUZZ_CHECK(s.host.arp.capacity > 0 && s.host.arp.queue_per_entry > 0 &&
             s.host.arp.queue_total > 0 && s.host.arp.request_attempts > 0);
  std::vector<std::string> dpdk_names;
  const std::vector<std::string> args = EalArguments(s, &dpdk_names);
  FUZZ_CHECK(!args.empty() && args[0] == "ferryd");
  FUZZ_CHECK(dpdk_names.size() == interfaces);
}

}  // namespace
}  // namespace ferry::control

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::control;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ferry::v1::Config> config = ParseConfigText(text, "fuzz.conf");
  if (!config.ok()) {
    CheckError(config.status());
    return 0;
  }
  if (absl::Status s = ValidateConfig(*config); !s.ok()) {
    CheckError(s);
    return 0;
  }
  // A valid config may still name a driver profile that does not exist (NotFound) or a PCI
  // device in a vdev's place (InvalidArgument); those are errors, not crashes.
  absl::StatusOr<Settings> settings = ResolveSettings(*config, kDriversDir);
  if (!settings.ok()) {
    FUZZ_CHECK(!settings.status().message().empty());
    return 0;
  }
  CheckResolved(*config, *settings);
  return 0;
}
