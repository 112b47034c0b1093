#include "net/port.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/log.h"

namespace ferry::net {
namespace {

// The symmetric Toeplitz key (0x6d5a repeated): the hash of (a, b) equals that of (b, a), so
// both directions of a flow land on the same queue (Woo and Park, "Scalable TCP Session
// Monitoring with Symmetric Receive-side Scaling", 2012).
std::vector<uint8_t> SymmetricRssKey(size_t length) {
  std::vector<uint8_t> key(length);
  for (size_t i = 0; i < length; ++i) key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
  return key;
}

absl::Status EthError(const PortSpec& spec, const char* call, int rc) {
  return absl::InternalError(absl::StrCat("interface ", spec.interface_name, ": ", call,
                                          " failed: ", rte_strerror(-rc), " (", rc, ")"));
}

void LogMissingOffloads(const PortSpec& spec, const char* direction, uint64_t wanted,
                        uint64_t capable, const char* (*name)(uint64_t)) {
  const uint64_t missing = wanted & ~capable;
  for (int bit = 0; bit < 64; ++bit) {
    if (missing & (uint64_t{1} << bit)) {
      FERRY_LOG(kInfo, "interface %s: %s offload %s not offered by the port; done in software",
                spec.interface_name, direction, name(uint64_t{1} << bit));
    }
  }
}

}  // namespace

DeviceArgs EalArgsForDevice(const PortSpec& spec, uint16_t index, uint16_t queues) {
  DeviceArgs out;
  const PortProfile& p = spec.profile;
  if (p.bus == PortProfile::Bus::kVdev) {
    out.dpdk_name = absl::StrCat(p.vdev_driver, index);
    std::string arg = absl::StrCat("--vdev=", out.dpdk_name);
    if (!p.devargs.empty()) absl::StrAppend(&arg, ",", p.devargs);
    if (!p.queue_count_devarg.empty()) absl::StrAppend(&arg, ",", p.queue_count_devarg, "=", queues);
    if (!spec.device.empty()) absl::StrAppend(&arg, ",", spec.device);
    out.eal_args.push_back(arg);
  } else {
    // "0000:3b:00.0[,devargs]": DPDK names the port by its PCI address. The family's devargs
    // come first so that the interface's own, later, override them.
    const size_t comma = spec.device.find(',');
    out.dpdk_name = spec.device.substr(0, comma);
    std::string arg = out.dpdk_name;
    if (!p.devargs.empty()) absl::StrAppend(&arg, ",", p.devargs);
    if (comma != std::string::npos) absl::StrAppend(&arg, spec.device.substr(comma));
    out.eal_args.push_back("-a");
    out.eal_args.push_back(arg);
  }
  return out;
}

uint16_t DataRoomForMtu(uint16_t mtu) {
  // Ethernet header, two VLAN tags and the FCS some PMDs leave in the buffer.
  const uint32_t frame = uint32_t{mtu} + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;
  return static_cast<uint16_t>(
      std::max<uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE, RTE_PKTMBUF_HEADROOM + frame));
}

absl::StatusOr<rte_mempool*> CreateMbufPool(const std::string& name, uint32_t mbufs,
                                            uint16_t data_room, int socket) {
  // Per-lcore cache: a worker takes and returns mbufs without touching the shared ring most of
  // the time. 256 is well under the 1.5x-of-cache rule for pools of thousands.
  const unsigned cache = std::min<unsigned>(256, mbufs / 8);
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), mbufs, cache, 0, data_room, socket);
  if (pool == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mbuf pool ", name, " (", mbufs, " mbufs of ", data_room, " bytes on socket ", socket,
        "): ", rte_strerror(rte_errno),
        "; reserve more hugepages (deploy/setup.sh --hugepages N) or lower "
        "workers.mbufs_per_worker"));
  }
  return pool;
}

absl::StatusOr<Port> StartPort(const PortSpec& spec, const std::string& dpdk_name,
                               const std::vector<rte_mempool*>& pools) {
  Port port;
  port.interface_name = spec.interface_name;
  port.dpdk_name = dpdk_name;
  if (rte_eth_dev_get_port_by_name(dpdk_name.c_str(), &port.port_id) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "interface ", spec.interface_name, ": DPDK has no port ", dpdk_name,
        "; check its device (\"", spec.device, "\") and that the driver can reach it"));
  }
  const uint16_t id = port.port_id;
  const uint16_t queues = static_cast<uint16_t>(pools.size());
  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    return EthError(spec, "rte_eth_dev_info_get", rc);
  }
  if (info.max_rx_queues < queues || info.max_tx_queues < queues) {
    return absl::FailedPreconditionError(absl::StrCat(
        "interface ", spec.interface_name, ": ", queues, " workers need ", queues,
        " queue pairs but ", dpdk_name, " offers ", info.max_rx_queues, " RX and ",
        info.max_tx_queues, " TX"));
  }
  if (spec.mtu < info.min_mtu || spec.mtu > info.max_mtu) {
    return absl::FailedPreconditionError(absl::StrCat(
        "interface ", spec.interface_name, ": mtu ", spec.mtu, " is outside what ", dpdk_name,
        " supports (", info.min_mtu, "..", info.max_mtu, ")"));
  }

  rte_eth_conf conf{};
  conf.rxmode.mtu = spec.mtu;
  // VLAN stripping is never enabled: the host parses tags in software and replies in place.
  port.rx_offloads = spec.profile.rx_offloads & info.rx_offload_capa &
                     ~uint64_t{RTE_ETH_RX_OFFLOAD_VLAN_STRIP};
  port.tx_offloads = spec.profile.tx_offloads & info.tx_offload_capa;
  LogMissingOffloads(spec, "rx", spec.profile.rx_offloads, info.rx_offload_capa,
                     rte_eth_dev_rx_offload_name);
  LogMissingOffloads(spec, "tx", spec.profile.tx_offloads, info.tx_offload_capa,
                     rte_eth_dev_tx_offload_name);
  conf.rxmode.offloads = port.rx_offloads;
  conf.txmode.offloads = port.tx_offloads;

  std::vector<uint8_t> key;
  if (spec.profile.rss && queues > 1 && info.flow_type_rss_offloads != 0) {
    key = spec.profile.rss_key.empty() ? SymmetricRssKey(info.hash_key_size)
                                       : spec.profile.rss_key;
    if (info.hash_key_size != 0 && key.size() != info.hash_key_size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "interface ", spec.interface_name, ": RSS key is ", key.size(), " bytes but ",
          dpdk_name, " wants ", info.hash_key_size));
    }
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    conf.rx_adv_conf.rss_conf.rss_hf = spec.profile.rss_hash_functions & info.flow_type_rss_offloads;
    port.rss = true;
  }

  if (int rc = rte_eth_dev_configure(id, queues, queues, &conf); rc != 0) {
    return EthError(spec, "rte_eth_dev_configure", rc);
  }
  uint16_t rx_desc = spec.profile.rx_ring_size ? spec.profile.rx_ring_size
                                               : info.default_rxportconf.ring_size;
  uint16_t tx_desc = spec.profile.tx_ring_size ? spec.profile.tx_ring_size
                                               : info.default_txportconf.ring_size;
  if (rx_desc == 0) rx_desc = 1024;
  if (tx_desc == 0) tx_desc = 1024;
  // Clamps to the device's limits and alignment rather than failing on a profile written for
  // a bigger sibling of the same family.
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc); rc != 0) {
    return EthError(spec, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
  }
  port.rx_ring_size = rx_desc;
  port.tx_ring_size = tx_desc;
  const int socket = rte_eth_dev_socket_id(id) < 0 ? 0 : rte_eth_dev_socket_id(id);
  for (uint16_t q = 0; q < queues; ++q) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = port.rx_offloads;
    if (int rc = rte_eth_rx_queue_setup(id, q, rx_desc, socket, &rxconf, pools[q]); rc != 0) {
      return EthError(spec, "rte_eth_rx_queue_setup", rc);
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = port.tx_offloads;
    if (int rc = rte_eth_tx_queue_setup(id, q, tx_desc, socket, &txconf); rc != 0) {
      return EthError(spec, "rte_eth_tx_queue_setup", rc);
    }
  }
  if (int rc = rte_eth_dev_start(id); rc != 0) return EthError(spec, "rte_eth_dev_start", rc);
  if (spec.profile.promiscuous) {
    if (int rc = rte_eth_promiscuous_enable(id); rc != 0) {
      FERRY_LOG(kWarning, "interface %s: promiscuous mode refused: %s", spec.interface_name,
                rte_strerror(-rc));
    }
  }
  rte_ether_addr mac;
  if (int rc = rte_eth_macaddr_get(id, &mac); rc != 0) {
    return EthError(spec, "rte_eth_macaddr_get", rc);
  }
  std::copy(std::begin(mac.addr_bytes), std::end(mac.addr_bytes), port.mac.bytes.begin());
  port.queues = queues;

  rte_eth_link link{};
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(spec.profile.link_wait_s);
  while (true) {
    rte_eth_link_get_nowait(id, &link);
    if (link.link_status == RTE_ETH_LINK_UP || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  port.link_up = link.link_status == RTE_ETH_LINK_UP;
  port.link_speed_mbps = link.link_speed;
  return port;
}

void StopPort(const Port& port) {
  if (int rc = rte_eth_dev_stop(port.port_id); rc != 0) {
    FERRY_LOG(kWarning, "interface %s: stop failed: %s", port.interface_name, rte_strerror(-rc));
  }
  if (int rc = rte_eth_dev_close(port.port_id); rc != 0) {
    FERRY_LOG(kWarning, "interface %s: close failed: %s", port.interface_name, rte_strerror(-rc));
  }
}

}  // namespace ferry::net
