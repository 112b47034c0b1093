// Bringing up a DPDK ethdev port from a driver profile (control path, start-up only), and the
// per-worker mbuf pools its queues fill. The fast path over a started port is in tx_queue.h and
// the worker loop; nothing here runs per packet.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "net/address.h"

struct rte_mempool;

namespace ferry::net {

// A NIC family's settings (ferry.v1.DriverProfile, converted by lib/control).
struct PortProfile {
  enum class Bus { kVdev, kPci };
  std::string name;
  Bus bus = Bus::kVdev;
  std::string vdev_driver;         // "net_af_packet"
  std::string devargs;             // family-wide devargs
  std::string queue_count_devarg;  // "qpairs": set to the worker count
  std::vector<std::string> eal_args;
  uint16_t rx_ring_size = 0;       // 0: the driver's preference
  uint16_t tx_ring_size = 0;
  uint64_t rx_offloads = 0;        // RTE_ETH_RX_OFFLOAD_* wanted
  uint64_t tx_offloads = 0;        // RTE_ETH_TX_OFFLOAD_* wanted
  bool rss = false;
  uint64_t rss_hash_functions = 0;  // RTE_ETH_RSS_*
  std::vector<uint8_t> rss_key;     // empty: ferry's symmetric key
  uint16_t burst = 32;
  bool promiscuous = false;
  uint32_t link_wait_s = 0;
};

// One interface's device: the profile plus what identifies the device to it.
struct PortSpec {
  std::string interface_name;  // operator's name, for messages
  PortProfile profile;
  std::string device;          // vdev devargs or "PCI address[,devargs]"
  uint16_t mtu = 1500;
};

// The EAL arguments that create or allow-list the device (--vdev=... or -a ...), and the name
// DPDK will give the port. `index` makes vdev names unique ("net_af_packet0").
struct DeviceArgs {
  std::vector<std::string> eal_args;
  std::string dpdk_name;
};
DeviceArgs EalArgsForDevice(const PortSpec& spec, uint16_t index, uint16_t queues);

// A started port. Offload masks are what the port actually does (wanted & capable).
struct Port {
  uint16_t port_id = 0;
  std::string interface_name;
  std::string dpdk_name;
  MacAddress mac;
  uint16_t queues = 0;
  uint16_t rx_ring_size = 0;
  uint16_t tx_ring_size = 0;
  uint64_t rx_offloads = 0;
  uint64_t tx_offloads = 0;
  bool rss = false;
  bool link_up = false;
  uint32_t link_speed_mbps = 0;
};

// Configures and starts `dpdk_name` with one RX/TX queue pair per worker, RX queue q filling
// from pools[q]. Returns NotFound if EAL created no such port, FailedPrecondition if the
// device lacks the queues or MTU asked for, Internal naming the ethdev call that failed.
absl::StatusOr<Port> StartPort(const PortSpec& spec, const std::string& dpdk_name,
                               const std::vector<rte_mempool*>& pools);

// Stops and closes the port; errors are logged, not returned (this runs at shutdown).
void StopPort(const Port& port);

// Mbuf data room (headroom included) that holds a whole frame of `mtu` in one segment.
uint16_t DataRoomForMtu(uint16_t mtu);

// Creates a worker's mbuf pool on `socket`. Returns ResourceExhausted naming the pool and its
// size if the memory is not there (hugepages too few, or -m too small).
absl::StatusOr<rte_mempool*> CreateMbufPool(const std::string& name, uint32_t mbufs,
                                            uint16_t data_room, int socket);

}  // namespace ferry::net
