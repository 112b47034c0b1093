#include "control/driver_profile.h"

#include <rte_ethdev.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "control/text_proto.h"

namespace ferry::control {
namespace {

absl::Status ProfileError(const std::string& source, absl::string_view field,
                          absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", field, ": ", reason));
}

uint64_t RxOffloadBit(v1::DriverProfile::Offload o) {
  switch (o) {
    case v1::DriverProfile::IPV4_CKSUM: return RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    case v1::DriverProfile::TCP_CKSUM: return RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    case v1::DriverProfile::UDP_CKSUM: return RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    case v1::DriverProfile::VLAN_STRIP: return RTE_ETH_RX_OFFLOAD_VLAN_STRIP;
    default: return 0;
  }
}

uint64_t TxOffloadBit(v1::DriverProfile::Offload o) {
  switch (o) {
    case v1::DriverProfile::IPV4_CKSUM: return RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
    case v1::DriverProfile::TCP_CKSUM: return RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    case v1::DriverProfile::UDP_CKSUM: return RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
    case v1::DriverProfile::VLAN_INSERT: return RTE_ETH_TX_OFFLOAD_VLAN_INSERT;
    case v1::DriverProfile::MULTI_SEGS: return RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    case v1::DriverProfile::MBUF_FAST_FREE: return RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
    default: return 0;
  }
}

}  // namespace

absl::StatusOr<net::PortProfile> ToPortProfile(const v1::DriverProfile& profile,
                                               const std::string& source) {
  net::PortProfile p;
  p.name = profile.name();
  switch (profile.bus()) {
    case v1::DriverProfile::VDEV:
      p.bus = net::PortProfile::Bus::kVdev;
      if (profile.vdev_driver().empty()) {
        return ProfileError(source, "vdev_driver", "is required for bus VDEV (net_af_packet, ...)");
      }
      break;
    case v1::DriverProfile::PCI:
      p.bus = net::PortProfile::Bus::kPci;
      break;
    default:
      return ProfileError(source, "bus", "must be VDEV or PCI");
  }
  p.vdev_driver = profile.vdev_driver();
  p.devargs = profile.devargs();
  p.queue_count_devarg = profile.queue_count_devarg();
  p.eal_args.assign(profile.eal_args().begin(), profile.eal_args().end());
  if (profile.rx_ring_size() > 32768) {
    return ProfileError(source, "rx_ring_size", absl::StrCat(profile.rx_ring_size(), " > 32768"));
  }
  if (profile.tx_ring_size() > 32768) {
    return ProfileError(source, "tx_ring_size", absl::StrCat(profile.tx_ring_size(), " > 32768"));
  }
  p.rx_ring_size = static_cast<uint16_t>(profile.rx_ring_size());
  p.tx_ring_size = static_cast<uint16_t>(profile.tx_ring_size());
  for (int i = 0; i < profile.rx_offloads_size(); ++i) {
    const uint64_t bit = RxOffloadBit(profile.rx_offloads(i));
    if (bit == 0) {
      return ProfileError(source, absl::StrCat("rx_offloads[", i, "]"),
                          absl::StrCat(v1::DriverProfile::Offload_Name(profile.rx_offloads(i)),
                                       " is not a receive offload"));
    }
    p.rx_offloads |= bit;
  }
  for (int i = 0; i < profile.tx_offloads_size(); ++i) {
    const uint64_t bit = TxOffloadBit(profile.tx_offloads(i));
    if (bit == 0) {
      return ProfileError(source, absl::StrCat("tx_offloads[", i, "]"),
                          absl::StrCat(v1::DriverProfile::Offload_Name(profile.tx_offloads(i)),
                                       " is not a transmit offload"));
    }
    p.tx_offloads |= bit;
  }
  p.rss = profile.rss().enabled();
  for (int i = 0; i < profile.rss().hash_types_size(); ++i) {
    const std::string& t = profile.rss().hash_types(i);
    if (t == "ipv4") {
      p.rss_hash_functions |= RTE_ETH_RSS_IPV4;
    } else if (t == "tcp") {
      p.rss_hash_functions |= RTE_ETH_RSS_NONFRAG_IPV4_TCP;
    } else if (t == "udp") {
      p.rss_hash_functions |= RTE_ETH_RSS_NONFRAG_IPV4_UDP;
    } else {
      return ProfileError(source, absl::StrCat("rss.hash_types[", i, "]"),
                          absl::StrCat("\"", t, "\" is not one of ipv4, tcp, udp"));
    }
  }
  if (!profile.rss().key_hex().empty()) {
    const std::string& hex = profile.rss().key_hex();
    if (hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
      return ProfileError(source, "rss.key_hex", "must be an even number of hex digits");
    }
    const std::string bytes = absl::HexStringToBytes(hex);
    p.rss_key.assign(bytes.begin(), bytes.end());
    if (p.rss_key.size() != 40 && p.rss_key.size() != 52) {
      return ProfileError(source, "rss.key_hex",
                          absl::StrCat(p.rss_key.size(), " bytes; Toeplitz keys are 40 or 52"));
    }
  }
  if (profile.burst() > 64) {
    return ProfileError(source, "burst", absl::StrCat(profile.burst(), " is out of range 1..64"));
  }
  p.burst = static_cast<uint16_t>(profile.burst() == 0 ? 32 : profile.burst());
  p.promiscuous = profile.promiscuous();
  if (profile.link_wait_s() > 60) {
    return ProfileError(source, "link_wait_s", absl::StrCat(profile.link_wait_s(), " > 60"));
  }
  p.link_wait_s = profile.link_wait_s();
  return p;
}

absl::StatusOr<net::PortProfile> LoadDriverProfile(const std::string& dir,
                                                   const std::string& name) {
  const std::string path = absl::StrCat(dir, "/", name, ".textproto");
  auto text = ReadFile(path);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("no driver profile \"", name, "\" (", path,
                                            " is not readable); see drivers-config/README.md"));
  }
  v1::DriverProfile profile;
  RETURN_IF_ERROR(ParseTextProto(*text, path, &profile));
  if (profile.name() != name) {
    return ProfileError(path, "name", absl::StrCat("\"", profile.name(),
                                                   "\" differs from the file name"));
  }
  return ToPortProfile(profile, path);
}

}  // namespace ferry::control
