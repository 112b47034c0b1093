#include "render.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "table.h"

namespace ferry::ferryctl {
namespace {

using Align = Table::Align;

uint64_t Metric(const v1::MetricSet& set, absl::string_view name) {
  for (const v1::Metric& m : set.metrics()) {
    if (m.name() == name) return m.value();
  }
  return 0;
}

const v1::Histogram* FindHistogram(const v1::MetricSet& set, absl::string_view name) {
  for (const v1::Histogram& h : set.histograms()) {
    if (h.name() == name) return &h;
  }
  return nullptr;
}

std::string Num(uint64_t v) { return absl::StrCat(v); }

std::string LinkSpeed(uint32_t mbps) {
  if (mbps == 0) return "-";
  if (mbps % 1000 == 0) return absl::StrCat(mbps / 1000, " Gb/s");
  return absl::StrCat(mbps, " Mb/s");
}

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  return absl::StrFormat("%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

// p50 and p99 of a histogram, "-" when it has no observations.
std::string Quantile(const v1::Histogram* h, bool p99) {
  if (h == nullptr || h->count() == 0) return "-";
  return FormatSeconds(p99 ? h->p99_seconds() : h->p50_seconds());
}

void AppendHistograms(std::string& out, const v1::MetricSet& set) {
  if (set.histograms().empty()) return;
  Table t({{"HISTOGRAM"}, {"COUNT", Align::kRight}, {"MEAN", Align::kRight},
           {"P50", Align::kRight}, {"P99", Align::kRight}, {"MAX", Align::kRight}});
  for (const v1::Histogram& h : set.histograms()) {
    const bool any = h.count() > 0;
    t.AddRow({h.name(), Num(h.count()),
              FormatSeconds(any ? h.sum_seconds() / static_cast<double>(h.count()) : 0, any),
              FormatSeconds(h.p50_seconds(), any), FormatSeconds(h.p99_seconds(), any),
              FormatSeconds(h.max_seconds(), any)});
  }
  out += "\n";
  out += t.Render();
}

void AppendGlobal(std::string& out, const v1::MetricSet& set, bool all) {
  Table t({{"COUNTER"}, {"VALUE", Align::kRight}, {"KIND"}});
  size_t hidden = 0;
  for (const v1::Metric& m : set.metrics()) {
    if (!all && m.value() == 0) {
      ++hidden;
      continue;
    }
    t.AddRow({m.name(), Num(m.value()), m.gauge() ? "gauge" : "counter"});
  }
  if (t.empty()) {
    out += "no counters above zero\n";
  } else {
    out += t.Render();
  }
  if (hidden > 0) absl::StrAppend(&out, "(", hidden, " counters at zero not shown: --all)\n");
  AppendHistograms(out, set);
}

// One row per counter, one column per worker: a busy worker next to an idle one stands out.
void AppendPerWorker(std::string& out, const v1::Stats& stats, bool all) {
  if (stats.workers().empty()) return;
  std::vector<Table::Column> columns = {{"COUNTER"}};
  for (const v1::WorkerStats& w : stats.workers()) {
    columns.push_back({absl::StrCat("W", w.worker(), "/LCORE", w.lcore()), Align::kRight});
  }
  Table t(std::move(columns));
  // Names in the order the first worker that has them gives, so that every worker's are shown.
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const v1::WorkerStats& w : stats.workers()) {
    for (const v1::Metric& m : w.stats().metrics()) {
      if (seen.insert(m.name()).second) names.push_back(m.name());
    }
  }
  size_t hidden = 0;
  for (const std::string& name : names) {
    std::vector<std::string> row = {name};
    bool nonzero = false;
    for (const v1::WorkerStats& w : stats.workers()) {
      const uint64_t v = Metric(w.stats(), name);
      nonzero |= v != 0;
      row.push_back(Num(v));
    }
    if (!all && !nonzero) {
      ++hidden;
      continue;
    }
    t.AddRow(std::move(row));
  }
  out += "\n";
  out += t.empty() ? "no per-worker counters above zero\n" : t.Render();
  if (hidden > 0) absl::StrAppend(&out, "(", hidden, " counters at zero not shown: --all)\n");
}

void AppendListeners(std::string& out, const v1::Stats& stats) {
  out += "\n";
  if (stats.listeners().empty()) {
    out += "no listeners\n";
    return;
  }
  Table t({{"LISTENER"}, {"ADDRESS"}, {"POOL"}, {"ACTIVE", Align::kRight},
           {"TOTAL", Align::kRight}, {"IN", Align::kRight}, {"OUT", Align::kRight},
           {"OVER-LIMIT", Align::kRight}, {"NO-BACKEND", Align::kRight},
           {"GAVE-UP", Align::kRight}, {"RESETS", Align::kRight},
           {"IDLE-TIMEOUTS", Align::kRight}});
  for (const v1::ListenerStats& l : stats.listeners()) {
    const v1::MetricSet& s = l.stats();
    t.AddRow({l.name(), absl::StrCat(l.address(), ":", l.port()), l.pool(),
              Num(Metric(s, "sessions_active")), Num(Metric(s, "sessions_total")),
              FormatBytes(Metric(s, "bytes_from_client")),
              FormatBytes(Metric(s, "bytes_to_client")), Num(Metric(s, "rejected_over_limit")),
              Num(Metric(s, "no_backend")), Num(Metric(s, "connect_gave_up")),
              Num(Metric(s, "client_resets")), Num(Metric(s, "idle_timeouts"))});
  }
  out += t.Render();
}

void AppendBackends(std::string& out, const v1::Stats& stats) {
  out += "\n";
  if (stats.backends().empty()) {
    out += "no backends\n";
    return;
  }
  Table t({{"BACKEND"}, {"ADDRESS"}, {"STATE"}, {"WEIGHT", Align::kRight},
           {"ACTIVE", Align::kRight}, {"TOTAL", Align::kRight}, {"REFUSED", Align::kRight}, {"TIMEOUTS", Align::kRight},
           {"RESETS", Align::kRight}, {"CONNECT-P50", Align::kRight}, {"P99", Align::kRight}});
  for (const v1::BackendStats& b : stats.backends()) {
    const v1::MetricSet& s = b.stats();
    const v1::Histogram* connect = FindHistogram(s, "connect_time");
    t.AddRow({absl::StrCat(b.pool(), "/", b.name()), absl::StrCat(b.address(), ":", b.port()),
              std::string(BackendStateName(b.state())), Num(b.weight()),
              Num(Metric(s, "sessions_active")), Num(Metric(s, "sessions_total")),
              Num(Metric(s, "connect_refused")),
              Num(Metric(s, "connect_timeouts")), Num(Metric(s, "backend_resets")),
              Quantile(connect, false), Quantile(connect, true)});
  }
  out += t.Render();
}

}  // namespace

absl::string_view BackendStateName(v1::BackendState state) {
  switch (state) {
    case v1::BACKEND_STATE_ENABLED: return "enabled";
    case v1::BACKEND_STATE_DISABLED: return "disabled";
    case v1::BACKEND_STATE_DRAINING: return "draining";
    case v1::BACKEND_STATE_DRAINED: return "drained";
    case v1::BACKEND_STATE_REMOVED: return "removed";
    default: return "unknown";
  }
}

absl::string_view SessionStateName(v1::SessionState state) {
  switch (state) {
    case v1::SESSION_STATE_CONNECTING: return "connecting";
    case v1::SESSION_STATE_BACKOFF: return "backoff";
    case v1::SESSION_STATE_SPLICED: return "spliced";
    default: return "unknown";
  }
}

std::string RenderStatus(const v1::Status& s) {
  std::string out = absl::StrFormat("ferryd %s, pid %d, up %s\n", s.version(), s.pid(),
                                    FormatMillis(s.uptime_ms()));
  absl::StrAppendFormat(&out, "config version %d, applied %s\n", s.config_version(),
                        FormatUnixMillis(s.config_applied_unix_ms()));
  absl::StrAppendFormat(&out, "sessions %d of %d slots (%s each, %s reserved)\n",
                        s.sessions_active(), s.session_slots(),
                        FormatBytes(s.session_slot_bytes()),
                        FormatBytes(s.session_slots() * s.session_slot_bytes()));
  absl::StrAppendFormat(&out, "mbufs %d of %d in use (%s)\n", s.mbufs_in_use(), s.mbufs_total(),
                        Percent(s.mbufs_in_use(), s.mbufs_total()));
  absl::StrAppendFormat(&out, "listeners %d, backends %d\n", s.listeners(), s.backends());

  out += "\n";
  Table workers({{"WORKER", Align::kRight}, {"LCORE", Align::kRight},
                 {"SESSIONS", Align::kRight}, {"SLOTS", Align::kRight},
                 {"MBUFS-IN-USE", Align::kRight}, {"MBUFS", Align::kRight},
                 {"BUSY", Align::kRight}});
  for (const v1::WorkerStatus& w : s.workers()) {
    workers.AddRow({Num(w.index()), Num(w.lcore()), Num(w.sessions_active()),
                    Num(w.session_slots()), Num(w.mbufs_in_use()), Num(w.mbufs_total()),
                    absl::StrFormat("%.1f%%", w.busy_percent())});
  }
  out += workers.empty() ? "no workers\n" : workers.Render();

  out += "\n";
  Table ports({{"PORT"}, {"ID", Align::kRight}, {"DPDK-NAME"}, {"MAC"}, {"LINK"},
               {"SPEED", Align::kRight}, {"QUEUES", Align::kRight}, {"ADDRESSES"}});
  for (const v1::PortStatus& p : s.ports()) {
    ports.AddRow({p.interface(), Num(p.port_id()), p.dpdk_name(), p.mac(),
                  p.link_up() ? "up" : "down", LinkSpeed(p.link_speed_mbps()), Num(p.queues()),
                  p.addresses().empty() ? "-" : absl::StrJoin(p.addresses(), ", ")});
  }
  out += ports.empty() ? "no ports\n" : ports.Render();
  return out;
}

std::string ConfigText(const v1::Config& config) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  return text;
}

std::string RenderConfig(const v1::GetConfigResponse& response) {
  return absl::StrCat("# version ", response.version(), "\n", ConfigText(response.config()));
}

std::string RenderValidation(const v1::ValidateConfigResponse& r, absl::string_view file) {
  if (!r.valid()) {
    std::string out = absl::StrCat(file, " is invalid\n");
    if (!r.field().empty()) absl::StrAppend(&out, "  field: ", r.field(), "\n");
    absl::StrAppend(&out, "  error: ", r.message(), "\n");
    return out;
  }
  if (r.live()) return absl::StrCat(file, " is valid and applies live\n");
  return absl::StrCat(file, " is valid, but applying it needs a restart of ferryd (",
                      r.restart_field().empty() ? "a field that only start-up reads"
                                                : r.restart_field(),
                      " changes)\n");
}

std::string RenderChange(const v1::ConfigChange& change) {
  std::string out = absl::StrFormat("config version %d -> %d", change.previous_version(),
                                    change.version());
  if (change.changes().empty()) return out + " (nothing changed)\n";
  out += "\n";
  for (const std::string& c : change.changes()) absl::StrAppend(&out, "  ", c, "\n");
  return out;
}

std::string RenderStats(const v1::Stats& stats, const StatsOptions& options) {
  std::string out = absl::StrFormat("statistics at %s, config version %d\n\n",
                                    FormatUnixMillis(stats.unix_ms()), stats.config_version());
  AppendGlobal(out, stats.global(), options.all);
  AppendPerWorker(out, stats, options.all);
  AppendListeners(out, stats);
  AppendBackends(out, stats);
  return out;
}

std::string RenderSessions(const google::protobuf::RepeatedPtrField<v1::Session>& sessions,
                           bool more) {
  if (sessions.empty()) return "no sessions\n";
  Table t({{"WORKER", Align::kRight}, {"LISTENER"}, {"CLIENT"}, {"BACKEND"}, {"STATE"},
           {"AGE", Align::kRight}, {"IDLE", Align::kRight}, {"FROM-CLIENT", Align::kRight},
           {"FROM-BACKEND", Align::kRight}});
  for (const v1::Session& s : sessions) {
    // A backend's default name is its address: show it once.
    std::string backend = "-";
    if (!s.backend().empty()) {
      backend = absl::StrCat(s.pool(), "/", s.backend());
      if (s.backend() != s.backend_address() && !s.backend_address().empty()) {
        absl::StrAppend(&backend, " (", s.backend_address(), ")");
      }
    }
    t.AddRow({Num(s.worker()), s.listener(), s.client(), backend,
              std::string(SessionStateName(s.state())), FormatMillis(s.age_ms()),
              FormatMillis(s.idle_ms()), FormatBytes(s.bytes_from_client()),
              FormatBytes(s.bytes_from_backend())});
  }
  std::string out = t.Render();
  absl::StrAppend(&out, sessions.size(), sessions.size() == 1 ? " session" : " sessions");
  if (more) out += "; there are more (--limit N shows N, --limit 0 all)";
  out += "\n";
  return out;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message, bool one_line) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !one_line;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ", message.GetTypeName(),
                                            " as JSON: ", status.ToString()));
  }
  if (json.empty() || json.back() != '\n') json += '\n';
  return json;
}

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace ferry::ferryctl
