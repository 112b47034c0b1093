// Fuzzes the whole receive path of net::Host: each input is one received frame, in a real mbuf,
// handed to Host::Input after a Host::Tick. Two hosts are built once, as in
// tests/unit/net/host_test.cc (static ARP for the gateway, a default route through it), one
// untagged and one on VLAN 100.
//
// Input layout (so that the fuzzer controls what a NIC would decide, not only the bytes):
//   byte 0  bit 0     which host: 0 untagged, 1 VLAN 100
//           bits 1-2  the port's IPv4 checksum verdict in ol_flags: UNKNOWN, GOOD, BAD, NONE
//           bit 3     fix the IPv4 header and ICMP checksums before input, so that mutations
//                     reach past the checksum checks
//           bit 4     deliver the frame as a chain of two mbufs
//   byte 1  how far the clock moves before the frame: byte^2 * 8 ms (0 to 520 s), far enough
//           to reach ARP retries, the refresh window and expiry
//   rest    the frame, at most 2048 bytes (one mbuf's data room)
//
// What must hold (Host's contract, host.h): every frame is consumed. After the input, the
// pool's mbufs in use are exactly the packets the ARP caches hold for resolution; once time
// runs past the ARP retries those are dropped and the pool is back to 0 in use. Every frame the
// host sends is well formed: at least 60 bytes, from our MAC on our VLAN, to a resolved MAC,
// with no receive flags left on it, and a valid ARP packet or an IPv4 packet whose header and
// (for ICMP) message checksums verify. A violation traps, so libFuzzer saves the input.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "base/clock.h"
#include "net/address.h"
#include "net/arp.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ethernet.h"
#include "net/host.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/net_counters.h"
#include "fuzz_check.h"

namespace ferry::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const MacAddress kOurMac{{0x02, 0xfe, 0, 0, 0, 0x01}};
const MacAddress kGatewayMac{{0x02, 0, 0, 0, 0, 0xfe}};
const Ipv4Address kOurIp = Ipv4Address::FromOctets(198, 18, 0, 1);
const Ipv4Address kGatewayIp = Ipv4Address::FromOctets(198, 18, 0, 254);
constexpr uint16_t kVlan = 100;
constexpr uint32_t kArpAttempts = 3;
constexpr base::Duration kArpInterval = seconds(1);

constexpr uint64_t kChecksumVerdicts[] = {RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN,
                                          RTE_MBUF_F_RX_IP_CKSUM_GOOD,
                                          RTE_MBUF_F_RX_IP_CKSUM_BAD,
                                          RTE_MBUF_F_RX_IP_CKSUM_NONE};

// Checks every frame the host sends against what a peer would accept, then frees it.
class CheckingSink final : public FrameSink {
 public:
  explicit CheckingSink(uint16_t vlan) : vlan_(vlan) {}

  void Send(uint16_t interface, rte_mbuf* frame) override {
    FUZZ_CHECK(interface == 0);
    FUZZ_CHECK(frame->nb_segs == 1 && rte_pktmbuf_data_len(frame) == rte_pktmbuf_pkt_len(frame));
    FUZZ_CHECK((frame->ol_flags & (RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
                                   RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_RSS_HASH)) == 0);
    const std::span<const uint8_t> bytes(rte_pktmbuf_mtod(frame, const uint8_t*),
                                         rte_pktmbuf_data_len(frame));
    // IEEE 802.3 minimum frame without FCS.
    FUZZ_CHECK(bytes.size() >= 60);
    EthernetView eth;
    FUZZ_CHECK(EthernetView::Parse(bytes, eth) == ParseError::kOk);
    FUZZ_CHECK(eth.source() == kOurMac);
    FUZZ_CHECK(!eth.destination().IsZero());
    uint16_t ethertype = eth.ethertype();
    std::span<const uint8_t> payload = eth.payload();
    if (vlan_ != 0) {
      VlanTagView tag;
      FUZZ_CHECK(ethertype == EtherType::kVlan);
      FUZZ_CHECK(VlanTagView::Parse(payload, tag) == ParseError::kOk);
      FUZZ_CHECK(tag.vlan_id() == vlan_);
      ethertype = tag.inner_ethertype();
      payload = tag.payload();
    }
    if (ethertype == EtherType::kArp) {
      ArpView arp;
      FUZZ_CHECK(ArpView::Parse(payload, arp) == ParseError::kOk);
      FUZZ_CHECK(arp.sender_mac() == kOurMac);
      FUZZ_CHECK(arp.sender_ip() == kOurIp);
      FUZZ_CHECK(arp.operation() == static_cast<uint16_t>(ArpOp::kRequest) ||
                 arp.operation() == static_cast<uint16_t>(ArpOp::kReply));
    } else {
      FUZZ_CHECK(ethertype == EtherType::kIpv4);
      Ipv4View ip;
      FUZZ_CHECK(Ipv4View::Parse(payload, ip, /*verify_checksum=*/true) == ParseError::kOk);
      FUZZ_CHECK(ip.source() == kOurIp);
      FUZZ_CHECK(ip.ttl() > 0 && !ip.is_fragment());
      // The only IPv4 the host originates today is the echo reply (RFC 792).
      FUZZ_CHECK(ip.protocol() == IpProtocol::kIcmp);
      IcmpView icmp;
      FUZZ_CHECK(IcmpView::Parse(ip.payload(), icmp, /*verify_checksum=*/true) ==
                 ParseError::kOk);
      FUZZ_CHECK(icmp.type() == IcmpType::kEchoReply && icmp.code() == 0);
    }
    rte_pktmbuf_free(frame);
  }

 private:
  uint16_t vlan_;
};

struct Fixture {
  rte_mempool* pool = nullptr;
  NetCounters counters;
  std::unique_ptr<CheckingSink> sinks[2];
  std::unique_ptr<Host> hosts[2];
  base::Instant now{seconds(1000)};
};
Fixture* g_fixture;

HostConfig Config(uint16_t vlan) {
  HostConfig c;
  InterfaceConfig i;
  i.name = "lan0";
  i.mac = kOurMac;
  i.vlan = vlan;
  i.addresses = {Ipv4Prefix{kOurIp, 24}};
  i.static_arp = {{kGatewayIp, kGatewayMac}};
  c.interfaces.push_back(i);
  c.routes.push_back({Ipv4Prefix{Ipv4Address(), 0}, kGatewayIp});
  c.gratuitous_count = 2;
  // Small enough that the fuzzer can fill the table and the queues.
  c.arp.capacity = 64;
  c.arp.queue_per_entry = 2;
  c.arp.queue_total = 16;
  c.arp.request_interval = kArpInterval;
  c.arp.request_attempts = kArpAttempts;
  return c;
}

size_t Queued(const Fixture& f) {
  return f.hosts[0]->arp_cache(0).queued() + f.hosts[1]->arp_cache(0).queued();
}

// Recomputes the IPv4 header checksum and, for ICMP, the message checksum in place, where the
// lengths allow; leaves everything else as the fuzzer wrote it.
void FixChecksums(std::span<uint8_t> frame) {
  size_t l3 = EthernetRepr::kLength;
  if (frame.size() < l3) return;
  uint16_t ethertype = LoadBe16(&frame[12]);
  if (ethertype == EtherType::kVlan && frame.size() >= l3 + VlanTagRepr::kLength) {
    ethertype = LoadBe16(&frame[l3 + 2]);
    l3 += VlanTagRepr::kLength;
  }
  if (ethertype != EtherType::kIpv4 || frame.size() < l3 + Ipv4Repr::kLength) return;
  std::span<uint8_t> ip = frame.subspan(l3);
  const size_t header_length = size_t{ip[0] & 0x0fu} * 4;
  if (header_length < Ipv4Repr::kLength || header_length > ip.size()) return;
  StoreBe16(&ip[10], 0);
  StoreBe16(&ip[10], Ipv4HeaderChecksum(ip.first(header_length)));
  const size_t total_length = LoadBe16(&ip[2]);
  if (ip[9] != IpProtocol::kIcmp || total_length < header_length + IcmpView::kHeaderLength ||
      total_length > ip.size()) {
    return;
  }
  std::span<uint8_t> icmp = ip.subspan(header_length, total_length - header_length);
  StoreBe16(&icmp[2], 0);
  InternetChecksum sum;
  sum.Add(icmp);
  StoreBe16(&icmp[2], sum.Finish());
}

// One mbuf (or a chain of two) holding `frame`. Traps if the pool runs dry: with every frame
// consumed that cannot happen, so it means a leak.
rte_mbuf* MakeMbuf(rte_mempool* pool, std::span<const uint8_t> frame, bool chained) {
  rte_mbuf* head = rte_pktmbuf_alloc(pool);
  FUZZ_CHECK(head != nullptr);
  const size_t first = chained ? frame.size() / 2 : frame.size();
  char* p = rte_pktmbuf_append(head, static_cast<uint16_t>(first));
  FUZZ_CHECK(p != nullptr);
  std::memcpy(p, frame.data(), first);
  if (chained) {
    rte_mbuf* tail = rte_pktmbuf_alloc(pool);
    FUZZ_CHECK(tail != nullptr);
    char* q = rte_pktmbuf_append(tail, static_cast<uint16_t>(frame.size() - first));
    FUZZ_CHECK(q != nullptr);
    std::memcpy(q, frame.data() + first, frame.size() - first);
    FUZZ_CHECK(rte_pktmbuf_chain(head, tail) == 0);
  }
  return head;
}

// EAL leaves its runtime directory behind, so every run would add one under /var/run/dpdk.
// With --no-shconf only the telemetry socket is in it, which telemetry unlinks in an atexit
// handler of its own, registered during rte_eal_init: registered before that, this one runs
// after it and finds the directory empty.
std::string g_runtime_dir;
void RemoveRuntimeDir() {
  if (!g_runtime_dir.empty()) rmdir(g_runtime_dir.c_str());
}

}  // namespace
}  // namespace ferry::net

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  using namespace ferry::net;
  // EAL without hugepages, PCI or shared config, with a per-process prefix (TESTING.md), so
  // that runs on one machine never collide.
  const std::string prefix = "--file-prefix=ferry-fuzz-" + std::to_string(getpid());
  const char* eal_argv[] = {"fuzz", "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
                            "--log-level=error", "-l", "0", prefix.c_str()};
  std::atexit(RemoveRuntimeDir);
  if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
    std::fprintf(stderr, "host_input_fuzz: EAL init failed: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  g_runtime_dir = rte_eal_get_runtime_dir();
  auto* f = new Fixture;
  // No per-lcore cache, so that the in-use count is exact after every input.
  f->pool = rte_pktmbuf_pool_create("fuzz_pool", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
  if (f->pool == nullptr) {
    std::fprintf(stderr, "host_input_fuzz: pool: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  for (int v = 0; v < 2; ++v) {
    const uint16_t vlan = v ? kVlan : 0;
    f->sinks[v] = std::make_unique<CheckingSink>(vlan);
    auto host = Host::Create(Config(vlan), f->pool, *f->sinks[v], f->counters, f->now);
    if (!host.ok()) {
      std::fprintf(stderr, "host_input_fuzz: Host::Create: %s\n",
                   std::string(host.status().message()).c_str());
      std::exit(1);
    }
    f->hosts[v] = *std::move(host);
  }
  g_fixture = f;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ferry::net;
  if (size < 2) return 0;
  Fixture& f = *g_fixture;
  const uint8_t control = data[0];
  Host& host = *f.hosts[control & 1];
  const uint64_t ol_flags = kChecksumVerdicts[(control >> 1) & 3];
  const bool fix_checksums = control & 0x08;
  const bool chained = control & 0x10;
  f.now += milliseconds(uint64_t{data[1]} * data[1] * 8);

  std::array<uint8_t, RTE_MBUF_DEFAULT_DATAROOM> frame;
  const size_t length = std::min(size - 2, frame.size());
  std::memcpy(frame.data(), data + 2, length);
  if (fix_checksums) FixChecksums(std::span(frame).first(length));

  host.Tick(f.now);
  FUZZ_CHECK(rte_mempool_in_use_count(f.pool) == Queued(f));
  rte_mbuf* m = MakeMbuf(f.pool, std::span(frame).first(length), chained && length >= 2);
  m->ol_flags = ol_flags;
  host.Input(0, m, f.now);
  // Consumed: sent (and freed by the sink), dropped, or waiting on ARP. Nothing else.
  FUZZ_CHECK(rte_mempool_in_use_count(f.pool) == Queued(f));

  // Run time past the ARP retries, after which the packets queued for an unresolved address
  // are dropped (arp_cache.h), so that every mbuf comes home.
  for (uint32_t i = 0; i <= kArpAttempts + 1 && Queued(f) > 0; ++i) {
    f.now += kArpInterval;
    f.hosts[0]->Tick(f.now);
    f.hosts[1]->Tick(f.now);
  }
  FUZZ_CHECK(Queued(f) == 0);
  FUZZ_CHECK(rte_mempool_in_use_count(f.pool) == 0);
  return 0;
}
