// Statistics summed on read (stats_export.h).
#include "stats_export.h"

#include <array>
#include <chrono>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/histogram.h"

namespace ferry::ferryd {
namespace {

// The levels among the counters (the rest are running totals), by their full name.
bool IsGauge(std::string_view name) {
  static const auto* gauges = new absl::flat_hash_set<std::string_view>{
      "tcp.connections_syn_sent", "tcp.connections_syn_received", "tcp.connections_established",
      "tcp.connections_closing", "tcp.connections_time_wait", "tcp.mbufs_held",
      "diag.connections_open", "loop.mbufs_in_use", "proxy.sessions_active", "proxy.bytes_held",
      "proxy.session_slots", "proxy.session_slot_bytes", "sessions_active",
  };
  return gauges->contains(name);
}

void AddMetric(v1::MetricSet& set, std::string name, uint64_t value) {
  v1::Metric* m = set.add_metrics();
  m->set_gauge(IsGauge(name));
  m->set_name(std::move(name));
  m->set_value(value);
}

template <typename E>
void AddGroup(v1::MetricSet& set, std::string_view prefix,
              const std::vector<const base::CounterSet<E>*>& parts,
              const std::string_view (&names)[static_cast<size_t>(E::kCount)]) {
  std::array<uint64_t, base::CounterSet<E>::kSize> sum{};
  for (const auto* p : parts) p->AccumulateInto(sum);
  for (size_t i = 0; i < sum.size(); ++i) {
    AddMetric(set, prefix.empty() ? std::string(names[i]) : std::string(prefix) + "." + std::string(names[i]),
              sum[i]);
  }
}

// Prometheus' conventional bounds, in seconds (all of them edges of base::Histogram, so the
// cumulative counts are exact), then +Inf.
constexpr std::array<double, 18> kBoundsSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};

double Seconds(base::Duration d) { return std::chrono::duration<double>(d).count(); }

void AddHistogram(v1::MetricSet& set, std::string name,
                  const std::vector<const base::Histogram*>& parts) {
  base::HistogramSnapshot sum;
  for (const auto* h : parts) h->MergeInto(sum);
  v1::Histogram* out = set.add_histograms();
  out->set_name(std::move(name));
  out->set_count(sum.count());
  out->set_sum_seconds(sum.sum_seconds());
  std::vector<base::Duration> bounds;
  for (double s : kBoundsSeconds) {
    bounds.push_back(std::chrono::duration_cast<base::Duration>(std::chrono::duration<double>(s)));
  }
  bounds.push_back(base::Duration::max());
  const std::vector<uint64_t> cumulative = sum.CumulativeCounts(bounds);
  for (size_t i = 0; i < bounds.size(); ++i) {
    v1::HistogramBucket* b = out->add_buckets();
    b->set_le_seconds(i < kBoundsSeconds.size() ? kBoundsSeconds[i]
                                                : std::numeric_limits<double>::infinity());
    b->set_cumulative_count(cumulative[i]);
  }
  out->set_p50_seconds(Seconds(sum.Quantile(0.5)));
  out->set_p99_seconds(Seconds(sum.Quantile(0.99)));
  out->set_max_seconds(Seconds(sum.max()));
}

// A worker's own counters (or the sum of several workers') under their group names.
void AddWorkerGroups(v1::MetricSet& set, const std::vector<const Worker*>& workers) {
  std::vector<const net::NetCounters*> net;
  std::vector<const tcp::TcpCounters*> tcp;
  std::vector<const DiagCounters*> diag;
  std::vector<const base::CounterSet<LoopCounter>*> loop;
  std::vector<const proxy::ProxyCounters*> proxy;
  uint64_t slots = 0;
  for (const Worker* w : workers) {
    net.push_back(&w->net_counters());
    tcp.push_back(&w->tcp_counters());
    diag.push_back(&w->diag_counters());
    loop.push_back(&w->loop_counters());
    proxy.push_back(&w->proxy().counters());
    slots += w->proxy().session_capacity();
  }
  AddGroup<net::NetCounter>(set, "net", net, net::kNetCounterNames);
  AddGroup<tcp::TcpCounter>(set, "tcp", tcp, tcp::kTcpCounterNames);
  AddGroup<DiagCounter>(set, "diag", diag, kDiagCounterNames);
  AddGroup<LoopCounter>(set, "loop", loop, kLoopCounterNames);
  AddGroup<proxy::ProxyCounter>(set, "proxy", proxy, proxy::kProxyCounterNames);
  if (!workers.empty()) {
    AddMetric(set, "proxy.session_slot_bytes", workers.front()->session_slot_bytes());
  }
  AddMetric(set, "proxy.session_slots", slots);
}

void AddBackend(v1::Stats& stats, const proxy::BackendRecord& record,
                const proxy::BackendSettings* settings) {
  v1::BackendStats* b = stats.add_backends();
  b->set_pool(record.pool);
  b->set_name(record.name);
  const uint64_t active = proxy::SessionsActive(record);
  if (settings == nullptr) {
    b->set_state(v1::BACKEND_STATE_REMOVED);
  } else {
    b->set_address(settings->address.ToString());
    b->set_port(settings->port);
    b->set_weight(settings->weight);
    b->set_state(settings->drain      ? (active > 0 ? v1::BACKEND_STATE_DRAINING
                                                    : v1::BACKEND_STATE_DRAINED)
                 : settings->enabled ? v1::BACKEND_STATE_ENABLED
                                     : v1::BACKEND_STATE_DISABLED);
  }
  std::vector<const proxy::BackendCounters*> sets;
  std::vector<const base::Histogram*> connect;
  for (uint32_t w = 0; w < record.stats.workers(); ++w) {
    sets.push_back(&record.stats.at(w).counters);
    connect.push_back(&record.stats.at(w).connect_time);
  }
  AddGroup<proxy::BackendCounter>(*b->mutable_stats(), "", sets, proxy::kBackendCounterNames);
  AddHistogram(*b->mutable_stats(), "connect_time", connect);
}

}  // namespace

v1::Stats CollectStats(const std::vector<std::unique_ptr<Worker>>& workers,
                       const proxy::SnapshotCell& cell, bool per_worker) {
  v1::Stats stats;
  stats.set_unix_ms(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count()));
  const proxy::ProxySnapshot& snapshot = cell.published();
  stats.set_config_version(snapshot.version);
  std::vector<const Worker*> all;
  for (const auto& w : workers) all.push_back(w.get());
  AddWorkerGroups(*stats.mutable_global(), all);
  if (per_worker) {
    for (const Worker* w : all) {
      v1::WorkerStats* ws = stats.add_workers();
      ws->set_worker(w->index());
      ws->set_lcore(w->lcore());
      AddWorkerGroups(*ws->mutable_stats(), {w});
    }
  }
  const proxy::ProxySettings& settings = snapshot.settings;
  for (size_t i = 0; i < settings.listeners.size(); ++i) {
    const proxy::ListenerSettings& l = settings.listeners[i];
    const proxy::ListenerRecord& record = *snapshot.listener_records[i];
    v1::ListenerStats* ls = stats.add_listeners();
    ls->set_name(l.name);
    ls->set_address(l.address.ToString());
    ls->set_port(l.port);
    ls->set_pool(settings.pools[l.pool].name);
    std::vector<const proxy::ListenerCounters*> sets;
    std::vector<const base::Histogram*> durations;
    for (uint32_t w = 0; w < record.stats.workers(); ++w) {
      sets.push_back(&record.stats.at(w).counters);
      durations.push_back(&record.stats.at(w).session_duration);
    }
    AddGroup<proxy::ListenerCounter>(*ls->mutable_stats(), "", sets,
                                     proxy::kListenerCounterNames);
    AddHistogram(*ls->mutable_stats(), "session_duration", durations);
  }
  for (size_t p = 0; p < settings.pools.size(); ++p) {
    for (size_t b = 0; b < settings.pools[p].backends.size(); ++b) {
      AddBackend(stats, *snapshot.backend_records[p][b], &settings.pools[p].backends[b]);
    }
  }
  for (const auto& record : cell.retired_backends()) AddBackend(stats, *record, nullptr);
  return stats;
}

std::string CountersReport(const v1::Stats& stats,
                           const std::vector<std::unique_ptr<Worker>>& workers, uint64_t tsc_hz) {
  std::string out = absl::StrFormat("counters (summed over %d workers):\n", workers.size());
  const auto line = [&](std::string_view name, uint64_t value) {
    absl::StrAppendFormat(&out, "  %-48s %20u\n", std::string(name), value);
  };
  const auto us = [](double seconds) { return static_cast<uint64_t>(seconds * 1e6 + 0.5); };
  const auto set = [&](std::string_view prefix, const v1::MetricSet& s) {
    for (const v1::Metric& m : s.metrics()) {
      line(prefix.empty() ? m.name() : std::string(prefix) + "." + m.name(), m.value());
    }
    for (const v1::Histogram& h : s.histograms()) {
      const std::string name = prefix.empty() ? h.name() : std::string(prefix) + "." + h.name();
      line(name + "_count", h.count());
      line(name + "_p50_us", us(h.p50_seconds()));
      line(name + "_p99_us", us(h.p99_seconds()));
      line(name + "_max_us", us(h.max_seconds()));
    }
  };
  set("", stats.global());
  for (const v1::ListenerStats& l : stats.listeners()) {
    set(absl::StrCat("proxy.listener.", l.name()), l.stats());
  }
  for (const v1::BackendStats& b : stats.backends()) {
    set(absl::StrCat("proxy.backend.", b.pool(), ".", b.name()), b.stats());
  }
  for (const auto& w : workers) {
    const uint64_t busy = w->loop_counters().Load(LoopCounter::kBusyCycles);
    const uint64_t idle = w->loop_counters().Load(LoopCounter::kIdleCycles);
    const double total = static_cast<double>(busy + idle);
    absl::StrAppendFormat(&out, "  worker %u: busy %.3f%% of %.1f s of loop time\n", w->index(),
                          total > 0 ? 100.0 * static_cast<double>(busy) / total : 0.0,
                          tsc_hz ? total / static_cast<double>(tsc_hz) : 0.0);
  }
  return out;
}

}  // namespace ferry::ferryd
