// Loading a Config and resolving it into Settings (defaults applied, profiles loaded), and the
// EAL argument list those settings imply.
#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "control/config.h"
#include "control/driver_profile.h"
#include "control/proxy_config.h"
#include "control/text_proto.h"

namespace ferry::control {

absl::StatusOr<v1::Config> ParseConfigText(absl::string_view text, absl::string_view source_name) {
  v1::Config config;
  RETURN_IF_ERROR(ParseTextProto(text, source_name, &config));
  return config;
}

absl::StatusOr<v1::Config> LoadConfigFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseConfigText(text, path);
}

namespace {

template <typename T>
T OrDefault(T value, T fallback) {
  return value == 0 ? fallback : value;
}

// "DDDD:BB:DD.F" (domain, bus, device, function in hex), as EAL's -a and DPDK's port names
// spell a PCI address.
bool IsPciAddress(absl::string_view a) {
  if (a.size() != 12 || a[4] != ':' || a[7] != ':' || a[10] != '.') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11}) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(a[i]))) return false;
  }
  return true;
}

// A PCI interface needs a PCI address, and no two interfaces may claim the same device.
absl::Status CheckPciDevice(const v1::Interface& iface, int index,
                            const std::vector<net::PortSpec>& earlier) {
  const std::string path = absl::StrCat("interfaces[", index, "].device");
  const absl::string_view address = absl::string_view(iface.device()).substr(
      0, iface.device().find(','));
  if (!IsPciAddress(address)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": \"", iface.device(), "\" is not a PCI address; driver \"", iface.driver(),
        "\" is a PCI profile and wants \"0000:3b:00.0[,devargs]\""));
  }
  for (size_t j = 0; j < earlier.size(); ++j) {
    if (earlier[j].profile.bus != net::PortProfile::Bus::kPci) continue;
    const absl::string_view other =
        absl::string_view(earlier[j].device).substr(0, earlier[j].device.find(','));
    if (absl::EqualsIgnoreCase(other, address)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": PCI device ", address,
                                                     " is already interfaces[", j, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Settings> ResolveSettings(const v1::Config& config,
                                         const std::string& drivers_dir) {
  RETURN_IF_ERROR(ValidateConfig(config));
  Settings s;
  std::map<std::string, net::PortProfile> profiles;
  for (int i = 0; i < config.interfaces_size(); ++i) {
    const v1::Interface& iface = config.interfaces(i);
    auto it = profiles.find(iface.driver());
    if (it == profiles.end()) {
      auto profile = LoadDriverProfile(drivers_dir, iface.driver());
      if (!profile.ok()) {
        return absl::Status(profile.status().code(),
                            absl::StrCat("interfaces[", i, "].driver: ", profile.status().message()));
      }
      it = profiles.emplace(iface.driver(), *std::move(profile)).first;
    }
    if (it->second.bus == net::PortProfile::Bus::kPci) {
      RETURN_IF_ERROR(CheckPciDevice(iface, i, s.ports));
    }
    net::PortSpec spec;
    spec.interface_name = iface.name();
    spec.profile = it->second;
    spec.device = iface.device();
    spec.mtu = static_cast<uint16_t>(OrDefault<uint32_t>(iface.mtu(), 1500));
    s.ports.push_back(spec);

    net::InterfaceConfig ic;
    ic.name = iface.name();
    ic.vlan = static_cast<uint16_t>(iface.vlan());
    ic.mtu = spec.mtu;
    for (const v1::Ipv4Prefix& p : iface.ipv4()) {
      ic.addresses.push_back(net::Ipv4Prefix{*net::Ipv4Address::Parse(p.address()),
                                             static_cast<uint8_t>(p.prefix_length())});
    }
    for (const v1::StaticNeighbor& n : iface.static_arp()) {
      ic.static_arp.emplace_back(*net::Ipv4Address::Parse(n.address()),
                                 *net::MacAddress::Parse(n.mac()));
    }
    s.host.interfaces.push_back(std::move(ic));
  }
  for (const v1::Route& r : config.routes()) {
    s.host.routes.emplace_back(*net::Ipv4Prefix::Parse(r.prefix()),
                               *net::Ipv4Address::Parse(r.via()));
  }

  const v1::Arp& arp = config.arp();
  s.host.arp.capacity = OrDefault<uint32_t>(arp.capacity(), 4096);
  s.host.arp.queue_per_entry = OrDefault<uint32_t>(arp.queue_per_entry(), 8);
  // Room for every entry's queue up to a point: a burst toward many new next hops at once is
  // bounded by this, not by capacity x queue_per_entry.
  s.host.arp.queue_total = std::min<size_t>(s.host.arp.capacity * s.host.arp.queue_per_entry, 4096);
  s.host.arp.entry_lifetime = std::chrono::seconds(OrDefault<uint32_t>(arp.entry_lifetime_s(), 300));
  s.host.arp.request_interval =
      std::chrono::milliseconds(OrDefault<uint32_t>(arp.request_interval_ms(), 1000));
  s.host.arp.request_attempts = OrDefault<uint32_t>(arp.request_attempts(), 3);
  s.host.gratuitous_count = OrDefault<uint32_t>(arp.gratuitous_count(), 3);

  const v1::Workers& w = config.workers();
  s.workers.count = OrDefault<uint32_t>(w.count(), 1);
  s.workers.main_lcore = w.main_lcore();
  if (w.lcores().empty()) {
    for (uint32_t lcore = 0; s.workers.lcores.size() < s.workers.count; ++lcore) {
      if (lcore != s.workers.main_lcore) s.workers.lcores.push_back(lcore);
    }
  } else {
    s.workers.lcores.assign(w.lcores().begin(), w.lcores().end());
  }
  s.workers.mbufs_per_worker = OrDefault<uint32_t>(w.mbufs_per_worker(), 16383);
  s.workers.idle_polls_before_sleep = OrDefault<uint32_t>(w.idle_polls_before_sleep(), 256);
  s.workers.idle_sleep_max = std::chrono::microseconds(OrDefault<uint32_t>(w.idle_sleep_max_us(), 500));

  const v1::Eal& eal = config.eal();
  s.eal.hugepages = !eal.has_hugepages() || eal.hugepages();
  s.eal.memory_mb = eal.memory_mb();
  if (!eal.file_prefix().empty()) s.eal.file_prefix = eal.file_prefix();
  s.eal.extra_args.assign(eal.extra_args().begin(), eal.extra_args().end());

  uint16_t smallest_mtu = s.ports.front().mtu;
  for (const net::PortSpec& p : s.ports) smallest_mtu = std::min(smallest_mtu, p.mtu);
  s.tcp = ResolveStackOptions(config.tcp(), smallest_mtu);
  s.tcp_connection = ResolveConnectionOptions(config.tcp().connection(), tcp::ConnectionOptions{});
  s.diagnostics = ResolveDiagnostics(config);
  s.proxy = ResolveProxy(config, s.tcp_connection);

  const v1::Control& c = config.control();
  if (!c.socket_path().empty()) s.control.socket_path = c.socket_path();
  s.control.socket_mode = OrDefault<uint32_t>(c.socket_mode(), 0660);
  s.control.socket_group = c.socket_group();
  if (!c.management_address().empty()) s.control.management_address = c.management_address();
  s.control.grpc_port = static_cast<uint16_t>(c.grpc_port());
  s.control.metrics_port = static_cast<uint16_t>(c.metrics_port());
  return s;
}

std::vector<std::string> EalArguments(const Settings& settings,
                                      std::vector<std::string>* dpdk_names) {
  std::vector<std::string> args = {"ferryd"};
  std::string lcores = absl::StrCat(settings.workers.main_lcore);
  for (uint32_t l : settings.workers.lcores) absl::StrAppend(&lcores, ",", l);
  args.push_back("-l");
  args.push_back(lcores);
  args.push_back(absl::StrCat("--main-lcore=", settings.workers.main_lcore));
  args.push_back(absl::StrCat("--file-prefix=", settings.eal.file_prefix));
  if (!settings.eal.hugepages) {
    args.push_back("--no-huge");
    args.push_back("-m");
    args.push_back(absl::StrCat(settings.eal.memory_mb ? settings.eal.memory_mb : 512));
  } else {
    // The hugepage files are unlinked once mapped: nothing is left in /dev/hugepages after
    // ferryd exits, however it exits (ferryd runs no secondary processes that would need them).
    args.push_back("--huge-unlink");
    if (settings.eal.memory_mb) {
      args.push_back("-m");
      args.push_back(absl::StrCat(settings.eal.memory_mb));
    }
  }
  bool any_pci = false;
  std::map<std::string, uint16_t> vdev_index;
  std::vector<std::string> profile_args;
  for (const net::PortSpec& spec : settings.ports) {
    if (spec.profile.bus == net::PortProfile::Bus::kPci) any_pci = true;
    const uint16_t index = vdev_index[spec.profile.vdev_driver]++;
    net::DeviceArgs device =
        net::EalArgsForDevice(spec, index, static_cast<uint16_t>(settings.workers.count));
    args.insert(args.end(), device.eal_args.begin(), device.eal_args.end());
    if (dpdk_names) dpdk_names->push_back(device.dpdk_name);
    for (const std::string& a : spec.profile.eal_args) {
      if (std::find(profile_args.begin(), profile_args.end(), a) == profile_args.end()) {
        profile_args.push_back(a);
      }
    }
  }
  // Without PCI interfaces, keep EAL's hands off every PCI device on the host.
  if (!any_pci) args.push_back("--no-pci");
  args.insert(args.end(), profile_args.begin(), profile_args.end());
  args.insert(args.end(), settings.eal.extra_args.begin(), settings.eal.extra_args.end());
  return args;
}

}  // namespace ferry::control
