#include "worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <span>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "tcp/isn.h"

namespace ferry::ferryd {
namespace {

// Host timers (ARP retries and ageing, announcements) need no finer grain than this.
constexpr base::Duration kTickInterval = std::chrono::milliseconds(50);
constexpr uint16_t kMaxBurst = 64;

// Fills `out` from the kernel's random source (getrandom(2), blocking until it is seeded).
absl::Status FillRandom(std::span<uint8_t> out) {
  size_t filled = 0;
  while (filled < out.size()) {
    const ssize_t n = getrandom(out.data() + filled, out.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      return absl::Status(absl::ErrnoToStatusCode(error),
                          absl::StrCat("getrandom: ", std::strerror(error)));
    }
    filled += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

Worker::Worker(uint32_t index, const control::WorkerSettings& settings, rte_mempool* pool,
               proxy::SnapshotCell& snapshots)
    : index_(index), settings_(settings), pool_(pool), snapshots_(snapshots) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(uint32_t index,
                                                       const control::Settings& settings,
                                                       const std::vector<net::Port>& ports,
                                                       rte_mempool* pool,
                                                       proxy::SnapshotCell& snapshots) {
  std::unique_ptr<Worker> w(new Worker(index, settings.workers, pool, snapshots));
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

  tcp::StackOptions tcp_options = settings.tcp;
  // The stack cannot tell which port a segment will leave by, so the NIC fills TCP checksums
  // only if every port can; RTE_MBUF_F_TX_IPV4 and l3_len come with the segment (segment.cc).
  tcp_options.tcp_checksum_offload =
      !ports.empty() && std::all_of(ports.begin(), ports.end(), [](const net::Port& p) {
        return (p.tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
      });
  // The one pool also receives: when a quarter of it is left, windows stop opening; when an
  // eighth is left (but never less than two receive bursts per port), arriving text is
  // refused, so that the ACKs which free queued data can always be received and the headers
  // of what they let us send allocated (stack_options.h). The eighth covers a loop
  // iteration's worth of transmissions: one received ACK can release several segments, each
  // a header and an indirect mbuf or two over the queued data.
  const uint32_t mbufs = settings.workers.mbufs_per_worker;
  tcp_options.pressure_free_mbufs = mbufs / 4;
  tcp_options.reserve_free_mbufs =
      std::max<uint32_t>(mbufs / 8, 2 * kMaxBurst * static_cast<uint32_t>(ports.size()));
  // RFC 6528 §3: the ISN and SYN cookie secret is random per boot, and per worker (isn.h).
  ASSIGN_OR_RETURN(const base::SipKey key, tcp::IsnGenerator::MakeKey(FillRandom));
  const base::Instant now = w->clock_->Now();
  w->tcp_ = std::make_unique<tcp::TcpStack>(tcp_options, pool, pool, *w->host_,
                                            w->tcp_counters_, key, now);
  w->host_->SetTcpHandler(w->tcp_.get());
  w->diagnostics_ =
      std::make_unique<DiagnosticServices>(*w->tcp_, pool, w->diag_counters_, now);
  RETURN_IF_ERROR(w->diagnostics_->Listen(settings.diagnostics));

  uint64_t seed = 0;
  RETURN_IF_ERROR(FillRandom(std::span(reinterpret_cast<uint8_t*>(&seed), sizeof(seed))));
  // Before the workers run, the control thread publishes nothing, so the current snapshot
  // stays until Run adopts whatever comes next.
  w->adopted_ = snapshots.Current();
  w->proxy_ = std::make_unique<proxy::Proxy>(index, *w->adopted_, *w->tcp_, pool, seed, now);
  RETURN_IF_ERROR(w->proxy_->Start());
  // Online from here, before the loop runs: a snapshot published between now and the loop's
  // first iteration waits for this worker, which holds the current one.
  snapshots.Online(index);
  return w;
}

size_t Worker::session_slot_bytes() const {
  return proxy::Proxy::session_bytes() + 2 * tcp_->tcb_bytes();
}

void Worker::AdoptIfNew() {
  const proxy::ProxySnapshot* current = snapshots_.Current();
  if (current == adopted_) return;
  adopted_ = current;
  // Control work on the worker, once per config change, not per packet.
  const absl::Status status = proxy_->Adopt(*current);
  if (!status.ok()) {
    FERRY_LOG(kWarning, "worker %u: config version %u: %s", index_, current->version,
              status.message());
  }
}

void Worker::AnswerQuery() {
  if (query_.load(std::memory_order_relaxed) == nullptr) return;
  SessionQuery* q = query_.exchange(nullptr, std::memory_order_acq_rel);
  if (q == nullptr) return;  // withdrawn meanwhile
  q->next = proxy_->ForEachSession(
      q->from, [&](const proxy::Session& s) { return q->visit(s, *proxy_); });
  q->answered.store(true, std::memory_order_release);
}

bool Worker::Query(SessionQuery& query, base::Duration timeout) {
  const auto pause = [] {
    const timespec ts{0, 100'000};  // the loop answers within an iteration (< 1 ms idle)
    nanosleep(&ts, nullptr);
  };
  query.answered.store(false, std::memory_order_relaxed);
  query_.store(&query, std::memory_order_release);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (query.answered.load(std::memory_order_acquire)) return true;
    pause();
  }
  // Withdraw it, unless the worker took it meanwhile: then it is answering now, and finishes
  // within its iteration.
  SessionQuery* expected = &query;
  if (query_.compare_exchange_strong(expected, nullptr, std::memory_order_acq_rel)) return false;
  while (!query.answered.load(std::memory_order_acquire)) pause();
  return true;
}

void Worker::Run() {
  rte_mbuf* burst[kMaxBurst];
  const uint16_t queue = static_cast<uint16_t>(index_);
  uint32_t empty_polls = 0;
  base::Duration sleep{0};
  base::Instant next_tick = clock_->Now();
  uint64_t iteration_start = rte_rdtsc();

  while (!stop_.load(std::memory_order_relaxed)) {
    AdoptIfNew();
    const base::Instant now = clock_->Now();
    diagnostics_->set_now(now);
    proxy_->set_now(now);
    uint32_t received = 0;
    for (uint16_t i = 0; i < port_ids_.size(); ++i) {
      const uint16_t n = rte_eth_rx_burst(port_ids_[i], queue, burst, bursts_[i]);
      for (uint16_t k = 0; k < n; ++k) host_->Input(i, burst[k], now);
      received += n;
    }
    // Every iteration: the wheel only looks at the slots of ticks that have passed, so this
    // is a comparison when no timer is due, and retransmissions and delayed ACKs are late by
    // at most one loop iteration (plus an idle sleep, bounded below).
    tcp_->Tick(now);
    proxy_->Tick(now);
    diagnostics_->Poll();
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
    AnswerQuery();
    // Nothing read from the snapshot this iteration is used after this point.
    snapshots_.Quiescent(index_);

    loop_counters_.Add(LoopCounter::kIterations);
    if (worked) {
      loop_counters_.Add(LoopCounter::kBusyIterations);
      empty_polls = 0;
      sleep = base::Duration{0};
    } else if (++empty_polls >= settings_.idle_polls_before_sleep &&
               settings_.idle_sleep_max > std::chrono::microseconds(1)) {
      // Idle back-off: sleep 1 us, doubling to idle_sleep_max while nothing arrives. An idle
      // appliance then costs a few percent of a core; the first packet after a quiet spell
      // waits at most idle_sleep_max (plus the kernel's timer slack). While connections
      // exist their timers are due at any moment, so sleeps stop at the timer wheel's tick
      // and no TCP timer fires much more than a tick late.
      const base::Duration longest =
          tcp_->connections() > 0 ? std::min(settings_.idle_sleep_max, tcp_->options().timer_tick)
                                  : settings_.idle_sleep_max;
      sleep = std::min(longest,
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
  snapshots_.Offline(index_);
  for (net::TxQueue& tx : tx_) tx.Flush();
}

}  // namespace ferry::ferryd
