// ValidateConfig: every rule an operator can break in ferry.v1.Config, each reported with the
// field path and the offending value. The first error found is returned; rules run in field
// order so that the error points at the earliest mistake in the file.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/status_macros.h"
#include "control/config.h"
#include "control/field_error.h"
#include "control/network_config.h"
#include "control/proxy_config.h"
#include "control/tcp_config.h"
#include "net/address.h"

namespace ferry::control {
namespace {

using net::Ipv4Address;
using net::Ipv4Prefix;
using net::MacAddress;

struct Subnet {
  Ipv4Prefix prefix;
  std::string path;
};

absl::Status ValidateInterfaces(const v1::Config& config, std::vector<Subnet>& subnets) {
  if (config.interfaces().empty()) {
    return FieldError("interfaces", "at least one interface is required");
  }
  std::set<std::string> names;
  std::set<std::string> devices;
  std::set<uint32_t> addresses;
  for (int i = 0; i < config.interfaces_size(); ++i) {
    const v1::Interface& iface = config.interfaces(i);
    const std::string path = absl::StrCat("interfaces[", i, "]");
    if (!NameIsValid(iface.name())) {
      return FieldError(path + ".name",
                        absl::StrCat("\"", iface.name(),
                                     "\" must be 1-32 characters of letters, digits, _ - ."));
    }
    if (!names.insert(iface.name()).second) {
      return FieldError(path + ".name", absl::StrCat("\"", iface.name(), "\" is used twice"));
    }
    if (iface.driver().empty()) {
      return FieldError(path + ".driver",
                        "is required: the driver profile name (af_packet, mlx5, ...)");
    }
    if (!NameIsValid(iface.driver())) {
      return FieldError(path + ".driver", absl::StrCat("\"", iface.driver(),
                                                       "\" is not a profile name"));
    }
    const std::string device_key = iface.driver() + "|" + iface.device();
    if (!iface.device().empty() && !devices.insert(device_key).second) {
      return FieldError(path + ".device", absl::StrCat("\"", iface.device(),
                                                       "\" is already used by another interface"));
    }
    RETURN_IF_ERROR(CheckRange(path + ".mtu", iface.mtu(), 68, 9000, true));
    RETURN_IF_ERROR(CheckRange(path + ".vlan", iface.vlan(), 1, 4094, true));
    if (iface.ipv4().empty()) {
      return FieldError(path + ".ipv4", "at least one address is required");
    }
    for (int j = 0; j < iface.ipv4_size(); ++j) {
      const v1::Ipv4Prefix& p = iface.ipv4(j);
      const std::string ppath = absl::StrCat(path, ".ipv4[", j, "]");
      auto address = Ipv4Address::Parse(p.address());
      if (!address.ok()) return FieldError(ppath + ".address", address.status().message());
      RETURN_IF_ERROR(CheckHostAddress(ppath + ".address", *address));
      if (p.prefix_length() < 1 || p.prefix_length() > 32) {
        return FieldError(ppath + ".prefix_length",
                          absl::StrCat(p.prefix_length(), " is out of range 1..32"));
      }
      const Ipv4Prefix prefix{*address, static_cast<uint8_t>(p.prefix_length())};
      if (prefix.length < 31 &&
          (*address == prefix.Network() || *address == prefix.Broadcast())) {
        return FieldError(ppath + ".address",
                          absl::StrCat(address->ToString(), " is the network or broadcast "
                                       "address of ", prefix.Network().ToString(), "/",
                                       prefix.length));
      }
      if (!addresses.insert(address->value).second) {
        return FieldError(ppath + ".address",
                          absl::StrCat(address->ToString(), " is configured twice"));
      }
      for (const Subnet& s : subnets) {
        // The same subnet on one interface (secondary addresses) is fine; across interfaces
        // it would make the connected route ambiguous.
        const bool same_interface = s.path.rfind(path + ".", 0) == 0;
        const bool overlap = s.prefix.Contains(prefix.Network()) || prefix.Contains(s.prefix.Network());
        if (overlap && !same_interface) {
          return FieldError(ppath, absl::StrCat("subnet ", prefix.Network().ToString(), "/",
                                                prefix.length, " overlaps ", s.path, " (",
                                                s.prefix.Network().ToString(), "/",
                                                s.prefix.length, ")"));
        }
      }
      subnets.push_back(Subnet{prefix, ppath});
    }
    std::set<uint32_t> neighbors;
    for (int j = 0; j < iface.static_arp_size(); ++j) {
      const v1::StaticNeighbor& n = iface.static_arp(j);
      const std::string npath = absl::StrCat(path, ".static_arp[", j, "]");
      auto address = Ipv4Address::Parse(n.address());
      if (!address.ok()) return FieldError(npath + ".address", address.status().message());
      RETURN_IF_ERROR(CheckHostAddress(npath + ".address", *address));
      if (!neighbors.insert(address->value).second) {
        return FieldError(npath + ".address",
                          absl::StrCat(address->ToString(), " has two static entries"));
      }
      bool on_subnet = false;
      for (const v1::Ipv4Prefix& p : iface.ipv4()) {
        auto own = Ipv4Address::Parse(p.address());
        if (*own == *address) {
          return FieldError(npath + ".address",
                            absl::StrCat(address->ToString(), " is this interface's own address"));
        }
        on_subnet = on_subnet ||
                    Ipv4Prefix{*own, static_cast<uint8_t>(p.prefix_length())}.Contains(*address);
      }
      if (!on_subnet) {
        return FieldError(npath + ".address",
                          absl::StrCat(address->ToString(),
                                       " is not on any subnet of this interface"));
      }
      auto mac = MacAddress::Parse(n.mac());
      if (!mac.ok()) return FieldError(npath + ".mac", mac.status().message());
      if (mac->IsMulticast() || mac->IsZero()) {
        return FieldError(npath + ".mac",
                          absl::StrCat(mac->ToString(), " is not a unicast MAC address"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRoutes(const v1::Config& config, const std::vector<Subnet>& subnets) {
  std::set<std::pair<uint32_t, uint8_t>> seen;
  for (int i = 0; i < config.routes_size(); ++i) {
    const v1::Route& r = config.routes(i);
    const std::string path = absl::StrCat("routes[", i, "]");
    auto prefix = Ipv4Prefix::Parse(r.prefix());
    if (!prefix.ok()) return FieldError(path + ".prefix", prefix.status().message());
    if (prefix->address != prefix->Network()) {
      return FieldError(path + ".prefix",
                        absl::StrCat("\"", r.prefix(), "\" has host bits set; did you mean ",
                                     prefix->Network().ToString(), "/", prefix->length, "?"));
    }
    if (!seen.insert({prefix->address.value, prefix->length}).second) {
      return FieldError(path + ".prefix", absl::StrCat(r.prefix(), " is routed twice"));
    }
    auto via = Ipv4Address::Parse(r.via());
    if (!via.ok()) return FieldError(path + ".via", via.status().message());
    bool on_link = false;
    for (const Subnet& s : subnets) on_link = on_link || s.prefix.Contains(*via);
    if (!on_link) {
      return FieldError(path + ".via", absl::StrCat(via->ToString(),
                                                    " is not in any interface's subnet"));
    }
    for (const Subnet& s : subnets) {
      if (s.prefix.address == *via) {
        return FieldError(path + ".via",
                          absl::StrCat(via->ToString(), " is the appliance's own address"));
      }
      if (s.prefix.length < 31 && s.prefix.Contains(*via) &&
          (*via == s.prefix.Network() || *via == s.prefix.Broadcast())) {
        return FieldError(path + ".via", absl::StrCat(via->ToString(),
                                                      " is the network or broadcast address of ",
                                                      s.path));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWorkers(const v1::Workers& w) {
  RETURN_IF_ERROR(CheckRange("workers.count", w.count(), 1, 128, true));
  const uint32_t count = w.count() == 0 ? 1 : w.count();
  if (!w.lcores().empty() && static_cast<uint32_t>(w.lcores_size()) != count) {
    return FieldError("workers.lcores", absl::StrCat("lists ", w.lcores_size(),
                                                     " lcores for ", count, " workers"));
  }
  std::set<uint32_t> lcores;
  for (int i = 0; i < w.lcores_size(); ++i) {
    const std::string path = absl::StrCat("workers.lcores[", i, "]");
    RETURN_IF_ERROR(CheckRange(path, w.lcores(i), 0, 1023, false));
    if (w.lcores(i) == w.main_lcore()) {
      return FieldError(path, absl::StrCat("lcore ", w.lcores(i),
                                           " is the main (control) lcore; workers need their own"));
    }
    if (!lcores.insert(w.lcores(i)).second) {
      return FieldError(path, absl::StrCat("lcore ", w.lcores(i), " is listed twice"));
    }
  }
  RETURN_IF_ERROR(CheckRange("workers.main_lcore", w.main_lcore(), 0, 1023, false));
  RETURN_IF_ERROR(CheckRange("workers.mbufs_per_worker", w.mbufs_per_worker(), 1023,
                             16 * 1024 * 1024, true));
  RETURN_IF_ERROR(CheckRange("workers.idle_polls_before_sleep", w.idle_polls_before_sleep(), 1,
                             1'000'000, true));
  RETURN_IF_ERROR(CheckRange("workers.idle_sleep_max_us", w.idle_sleep_max_us(), 1, 100'000, true));
  return absl::OkStatus();
}

absl::Status ValidateArp(const v1::Arp& a) {
  RETURN_IF_ERROR(CheckRange("arp.capacity", a.capacity(), 16, 1 << 20, true));
  RETURN_IF_ERROR(CheckRange("arp.queue_per_entry", a.queue_per_entry(), 1, 1024, true));
  RETURN_IF_ERROR(CheckRange("arp.entry_lifetime_s", a.entry_lifetime_s(), 10, 86400, true));
  RETURN_IF_ERROR(CheckRange("arp.request_interval_ms", a.request_interval_ms(), 10, 60000, true));
  RETURN_IF_ERROR(CheckRange("arp.request_attempts", a.request_attempts(), 1, 100, true));
  RETURN_IF_ERROR(CheckRange("arp.gratuitous_count", a.gratuitous_count(), 1, 100, true));
  return absl::OkStatus();
}

absl::Status ValidateEal(const v1::Eal& e) {
  RETURN_IF_ERROR(CheckRange("eal.memory_mb", e.memory_mb(), 64, 1 << 20, true));
  if (!e.file_prefix().empty() && !NameIsValid(e.file_prefix())) {
    return FieldError("eal.file_prefix", absl::StrCat("\"", e.file_prefix(),
                                                      "\" must be 1-32 of letters, digits, _ - ."));
  }
  for (int i = 0; i < e.extra_args_size(); ++i) {
    if (e.extra_args(i).empty() || e.extra_args(i)[0] != '-') {
      return FieldError(absl::StrCat("eal.extra_args[", i, "]"),
                        absl::StrCat("\"", e.extra_args(i), "\" is not an EAL option (-x/--x)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateControl(const v1::Control& c) {
  if (!c.socket_path().empty()) {
    if (c.socket_path().front() != '/') {
      return FieldError("control.socket_path",
                        absl::StrCat("\"", c.socket_path(), "\" must be an absolute path"));
    }
    // sockaddr_un's sun_path holds 108 bytes, the terminating NUL included.
    if (c.socket_path().size() > 107 || c.socket_path().find('\0') != std::string::npos) {
      return FieldError("control.socket_path",
                        absl::StrCat("is ", c.socket_path().size(),
                                     " bytes: a Unix socket path holds at most 107"));
    }
  }
  if (c.socket_mode() > 0777) {
    return FieldError("control.socket_mode",
                      absl::StrFormat("0%o is not a permission mode (0..0777)", c.socket_mode()));
  }
  if (!c.socket_group().empty() && !NameIsValid(c.socket_group())) {
    return FieldError("control.socket_group",
                      absl::StrCat("\"", c.socket_group(), "\" is not a group name"));
  }
  if (!c.management_address().empty()) {
    auto address = Ipv4Address::Parse(c.management_address());
    if (!address.ok()) return FieldError("control.management_address", address.status().message());
  }
  RETURN_IF_ERROR(CheckRange("control.grpc_port", c.grpc_port(), 1, 65535, true));
  RETURN_IF_ERROR(CheckRange("control.metrics_port", c.metrics_port(), 1, 65535, true));
  if (c.grpc_port() != 0 && c.grpc_port() == c.metrics_port()) {
    return FieldError("control.metrics_port",
                      absl::StrCat(c.metrics_port(), " is control.grpc_port too"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const v1::Config& config) {
  std::vector<Subnet> subnets;
  RETURN_IF_ERROR(ValidateInterfaces(config, subnets));
  RETURN_IF_ERROR(ValidateRoutes(config, subnets));
  RETURN_IF_ERROR(ValidateWorkers(config.workers()));
  RETURN_IF_ERROR(ValidateArp(config.arp()));
  RETURN_IF_ERROR(ValidateEal(config.eal()));
  RETURN_IF_ERROR(ValidateTcp(config.tcp()));
  RETURN_IF_ERROR(ValidateDiagnostics(config));
  RETURN_IF_ERROR(ValidateProxy(config));
  RETURN_IF_ERROR(ValidateControl(config.control()));
  return absl::OkStatus();
}

}  // namespace ferry::control
