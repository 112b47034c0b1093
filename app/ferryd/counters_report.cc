#include "counters_report.h"

#include "absl/strings/str_format.h"

namespace ferry::ferryd {
namespace {

template <typename E, size_t N>
void AppendGroup(std::string& out, std::string_view group, const std::array<uint64_t, N>& sum,
                 const std::string_view (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    absl::StrAppendFormat(&out, "  %s.%-36s %20u\n", group, names[i], sum[i]);
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
