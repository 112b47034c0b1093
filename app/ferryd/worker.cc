#include "worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <time.h>

#include <algorithm>

#include "base/status_macros.h"

namespace ferry::ferryd {
namespace {

// Host timers (ARP retries and ageing, announcements) need no finer grain than this.
constexpr base::Duration kTickInterval = std::chrono::milliseconds(50);
constexpr uint16_t kMaxBurst = 64;

}  // namespace

Worker::Worker(uint32_t index, const control::WorkerSettings& settings, rte_mempool* pool)
    : index_(index), settings_(settings), pool_(pool) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(uint32_t index,
                                                       const control::Settings& settings,
                                                       const std::vector<net::Port>& ports,
                                                       rte_mempool* pool) {
  std::unique_ptr<Worker> w(new Worker(index, settings.workers, pool));
  w->clock_ = std::make_unique<base::TscClock>(rte_get_tsc_hz());
  const uint16_t queue = static_cast<uint16_t>(index);
  for (size_t i = 0; i < ports.size(); ++i) {
    w->port_ids_.push_back(ports[i].port_id);
    w->bursts_.push_back(std::min(settings.ports[i].profile.burst, kMaxBurst));
    w->tx_.emplace_back(ports[i].port_id, queue, w->net_counters_);
  }
  net::HostConfig host = settings.host;
  for (size_t i = 0; i < ports.size(); ++i) {
    host.interfaces[i].mac = ports[i].mac;
    host.interfaces[i].tx_ipv4_checksum_offload =
        ports[i].tx_offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  }
  // One worker per host announces; ARP replies reach whichever queue the NIC picks, and each
  // worker learns the peers it talks to on its own.
  host.announce = index == 0;
  ASSIGN_OR_RETURN(w->host_, net::Host::Create(host, pool, *w, w->net_counters_,
                                               w->clock_->Now()));
  w->tcp_ = std::make_unique<tcp::TcpStack>(pool, *w->host_, w->tcp_counters_);
  w->host_->SetTcpHandler(w->tcp_.get());
  return w;
}

void Worker::Run() {
  rte_mbuf* burst[kMaxBurst];
  const uint16_t queue = static_cast<uint16_t>(index_);
  uint32_t empty_polls = 0;
  base::Duration sleep{0};
  base::Instant next_tick = clock_->Now();
  uint64_t iteration_start = rte_rdtsc();

  while (!stop_.load(std::memory_order_relaxed)) {
    const base::Instant now = clock_->Now();
    uint32_t received = 0;
    for (uint16_t i = 0; i < port_ids_.size(); ++i) {
      const uint16_t n = rte_eth_rx_burst(port_ids_[i], queue, burst, bursts_[i]);
      for (uint16_t k = 0; k < n; ++k) host_->Input(i, burst[k], now);
      received += n;
    }
    bool worked = received > 0;
    if (now >= next_tick) {
      host_->Tick(now);
      next_tick = now + kTickInterval;
      loop_counters_.Set(LoopCounter::kMbufsInUse, rte_mempool_in_use_count(pool_));
    }
    for (net::TxQueue& tx : tx_) {
      worked = worked || tx.pending() > 0;
      tx.Flush();
    }

    loop_counters_.Add(LoopCounter::kIterations);
    if (worked) {
      loop_counters_.Add(LoopCounter::kBusyIterations);
      empty_polls = 0;
      sleep = base::Duration{0};
    } else if (++empty_polls >= settings_.idle_polls_before_sleep &&
               settings_.idle_sleep_max > std::chrono::microseconds(1)) {
      // Idle back-off: sleep 1 us, doubling to idle_sleep_max while nothing arrives. An idle
      // appliance then costs a few percent of a core; the first packet after a quiet spell
      // waits at most idle_sleep_max (plus the kernel's timer slack).
      sleep = std::min(settings_.idle_sleep_max,
                       sleep.count() == 0 ? base::Duration(std::chrono::microseconds(1)) : sleep * 2);
      const timespec ts{0, static_cast<long>(sleep.count())};
      nanosleep(&ts, nullptr);
      loop_counters_.Add(LoopCounter::kIdleSleeps);
    }
    const uint64_t end = rte_rdtsc();
    loop_counters_.Add(worked ? LoopCounter::kBusyCycles : LoopCounter::kIdleCycles,
                       end - iteration_start);
    iteration_start = end;
  }
  for (net::TxQueue& tx : tx_) tx.Flush();
}

}  // namespace ferry::ferryd
