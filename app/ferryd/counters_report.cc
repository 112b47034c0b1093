#include "counters_report.h"

#include <chrono>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/histogram.h"

namespace ferry::ferryd {
namespace {

template <typename E, size_t N>
void AppendGroup(std::string& out, std::string_view group, const std::array<uint64_t, N>& sum,
                 const std::string_view (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    absl::StrAppendFormat(&out, "  %s.%-36s %20u\n", group, names[i], sum[i]);
  }
}

// One line per counter of `set` summed over workers, named "<prefix>.<counter>".
template <typename E>
void AppendSummed(std::string& out, std::string_view prefix,
                  const std::vector<const base::CounterSet<E>*>& sets,
                  const std::string_view (&names)[static_cast<size_t>(E::kCount)]) {
  std::array<uint64_t, base::CounterSet<E>::kSize> sum{};
  for (const auto* set : sets) set->AccumulateInto(sum);
  for (size_t i = 0; i < sum.size(); ++i) {
    absl::StrAppendFormat(&out, "  %s.%-36s %20u\n", prefix, names[i], sum[i]);
  }
}

// count, p50, p99 and max (microseconds) of a histogram summed over workers.
void AppendHistogram(std::string& out, std::string_view name,
                     const std::vector<const base::Histogram*>& parts) {
  base::HistogramSnapshot sum;
  for (const auto* h : parts) h->MergeInto(sum);
  const auto us = [](base::Duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  absl::StrAppendFormat(&out, "  %s_count %20u\n", name, sum.count());
  absl::StrAppendFormat(&out, "  %s_p50_us %20u\n", name, us(sum.Quantile(0.5)));
  absl::StrAppendFormat(&out, "  %s_p99_us %20u\n", name, us(sum.Quantile(0.99)));
  absl::StrAppendFormat(&out, "  %s_max_us %20u\n", name, us(sum.max()));
}

// The proxy's statistics: the workers' totals, then per listener and per backend
// (proxy.listener.<name>.*, proxy.backend.<pool>.<name>.*), each summed over workers.
void AppendProxy(std::string& out, const std::vector<std::unique_ptr<Worker>>& workers) {
  if (workers.empty()) return;
  const proxy::ProxySettings& settings = workers.front()->proxy().settings();
  std::vector<const proxy::ProxyCounters*> totals;
  for (const auto& w : workers) totals.push_back(&w->proxy().counters());
  AppendSummed<proxy::ProxyCounter>(out, "proxy", totals, proxy::kProxyCounterNames);
  absl::StrAppendFormat(&out, "  proxy.%-36s %20u\n", "session_slot_bytes",
                        workers.front()->session_slot_bytes());
  uint64_t capacity = 0;
  for (const auto& w : workers) capacity += w->proxy().session_capacity();
  absl::StrAppendFormat(&out, "  proxy.%-36s %20u\n", "session_slots", capacity);
  for (size_t l = 0; l < settings.listeners.size(); ++l) {
    std::vector<const proxy::ListenerCounters*> sets;
    std::vector<const base::Histogram*> durations;
    for (const auto& w : workers) {
      sets.push_back(&w->proxy().listener_stats()[l].counters);
      durations.push_back(&w->proxy().listener_stats()[l].session_duration);
    }
    const std::string prefix = absl::StrCat("proxy.listener.", settings.listeners[l].name);
    AppendSummed<proxy::ListenerCounter>(out, prefix, sets, proxy::kListenerCounterNames);
    AppendHistogram(out, absl::StrCat(prefix, ".session_duration"), durations);
  }
  for (size_t p = 0; p < settings.pools.size(); ++p) {
    const proxy::PoolSettings& pool = settings.pools[p];
    for (size_t b = 0; b < pool.backends.size(); ++b) {
      std::vector<const proxy::BackendCounters*> sets;
      std::vector<const base::Histogram*> connect;
      for (const auto& w : workers) {
        sets.push_back(&w->proxy().backend_stats(static_cast<uint32_t>(p))[b].counters);
        connect.push_back(&w->proxy().backend_stats(static_cast<uint32_t>(p))[b].connect_time);
      }
      const std::string prefix =
          absl::StrCat("proxy.backend.", pool.name, ".", pool.backends[b].name);
      AppendSummed<proxy::BackendCounter>(out, prefix, sets, proxy::kBackendCounterNames);
      AppendHistogram(out, absl::StrCat(prefix, ".connect_time"), connect);
    }
  }
}

}  // namespace

std::string CountersReport(const std::vector<std::unique_ptr<Worker>>& workers, uint64_t tsc_hz) {
  std::array<uint64_t, net::NetCounters::kSize> net{};
  std::array<uint64_t, tcp::TcpCounters::kSize> tcp{};
  std::array<uint64_t, DiagCounters::kSize> diag{};
  std::array<uint64_t, base::CounterSet<LoopCounter>::kSize> loop{};
  for (const auto& w : workers) {
    w->net_counters().AccumulateInto(net);
    w->tcp_counters().AccumulateInto(tcp);
    w->diag_counters().AccumulateInto(diag);
    w->loop_counters().AccumulateInto(loop);
  }
  std::string out = absl::StrFormat("counters (summed over %d workers):\n", workers.size());
  AppendGroup<net::NetCounter>(out, "net", net, net::kNetCounterNames);
  AppendGroup<tcp::TcpCounter>(out, "tcp", tcp, tcp::kTcpCounterNames);
  AppendGroup<DiagCounter>(out, "diag", diag, kDiagCounterNames);
  AppendGroup<LoopCounter>(out, "loop", loop, kLoopCounterNames);
  AppendProxy(out, workers);
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
