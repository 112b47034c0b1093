// The Prometheus text exposition of v1::Stats; prometheus.h gives the names and the rules.
#include "control/prometheus.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ferry::control {
namespace {

enum class Type { kCounter, kGauge, kHistogram };

absl::string_view TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Label values: backslash, double quote and line feed are the three the format escapes.
void AppendLabelValue(std::string& out, absl::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

// HELP text escapes only backslash and line feed.
std::string EscapeHelp(absl::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

using Labels = std::vector<std::pair<absl::string_view, std::string>>;

// `{a="x",b="y"}`, or "" when there are no labels; `extra` (the histogram's le) goes last.
std::string RenderLabels(const Labels& labels, absl::string_view extra_name = {},
                         absl::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  const auto add = [&](absl::string_view name, absl::string_view value) {
    if (!first) out += ',';
    first = false;
    absl::StrAppend(&out, name, "=\"");
    AppendLabelValue(out, value);
    out += '"';
  };
  for (const auto& [name, value] : labels) add(name, value);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out += '}';
  return out;
}

bool EndsWith(absl::string_view s, absl::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

struct Family {
  std::string name;
  Type type;
  std::string help;
  std::string lines;                            // the samples, each ending in '\n'
  absl::flat_hash_set<std::string> label_sets;  // rendered, to refuse duplicate series
};

// The families in order of first appearance, and which family owns each sample name.
class Exposition {
 public:
  // The family `name` of type `type`, created at the end if new. nullptr, with a comment line
  // naming `what`, if `name` or one of its sample names belongs to a family of another type.
  Family* Get(const std::string& name, Type type, absl::string_view help, absl::string_view what) {
    const std::vector<std::string> samples = SampleNames(name, type);
    auto it = owner_.find(samples.front());
    if (it != owner_.end()) {
      Family& f = families_[it->second];
      if (f.name == name && f.type == type) return &f;
      Drop(what, absl::StrCat(name, " would clash with the ", TypeName(f.type), " ", f.name));
      return nullptr;
    }
    for (const std::string& s : samples) {
      if (auto o = owner_.find(s); o != owner_.end()) {
        const Family& f = families_[o->second];
        Drop(what, absl::StrCat(name, " would clash with the ", TypeName(f.type), " ", f.name));
        return nullptr;
      }
    }
    for (const std::string& s : samples) owner_.emplace(s, families_.size());
    families_.push_back(Family{name, type, std::string(help), {}, {}});
    return &families_.back();
  }

  // Adds one counter or gauge series to `f` (which may be nullptr: a dropped family).
  void AddScalar(Family* f, const Labels& labels, uint64_t value, absl::string_view what) {
    if (f == nullptr) return;
    std::string rendered = RenderLabels(labels);
    if (!f->label_sets.insert(rendered).second) {
      Drop(what, absl::StrCat(f->name, rendered, " is already exported"));
      return;
    }
    absl::StrAppend(&f->lines, f->name, rendered, " ", value, "\n");
  }

  // Adds one histogram series: its cumulative buckets as given, a +Inf bucket holding the
  // count if the last bound is not +Inf already (the format requires one), the sum and count.
  // Buckets with a NaN bound cannot be compared with anything and are left out.
  void AddHistogram(Family* f, const Labels& labels, const v1::Histogram& h,
                    absl::string_view what) {
    if (f == nullptr) return;
    std::string rendered = RenderLabels(labels);
    if (!f->label_sets.insert(rendered).second) {
      Drop(what, absl::StrCat(f->name, rendered, " is already exported"));
      return;
    }
    bool has_inf = false;
    for (const v1::HistogramBucket& b : h.buckets()) {
      if (std::isnan(b.le_seconds())) continue;
      has_inf = std::isinf(b.le_seconds()) && b.le_seconds() > 0;
      absl::StrAppend(&f->lines, f->name, "_bucket",
                      RenderLabels(labels, "le", PrometheusDouble(b.le_seconds())), " ",
                      b.cumulative_count(), "\n");
    }
    if (!has_inf) {
      absl::StrAppend(&f->lines, f->name, "_bucket", RenderLabels(labels, "le", "+Inf"), " ",
                      h.count(), "\n");
    }
    absl::StrAppend(&f->lines, f->name, "_sum", rendered, " ", PrometheusDouble(h.sum_seconds()),
                    "\n");
    absl::StrAppend(&f->lines, f->name, "_count", rendered, " ", h.count(), "\n");
  }

  std::string Render() const {
    std::string out = dropped_;
    for (const Family& f : families_) {
      if (f.lines.empty()) continue;
      absl::StrAppend(&out, "# HELP ", f.name, " ", EscapeHelp(f.help), "\n# TYPE ", f.name, " ",
                      TypeName(f.type), "\n", f.lines);
    }
    return out;
  }

 private:
  static std::vector<std::string> SampleNames(const std::string& name, Type type) {
    if (type != Type::kHistogram) return {name};
    return {name + "_bucket", name + "_sum", name + "_count"};
  }

  // `what` is built from names already sanitized or escaped, so the line stays one line.
  void Drop(absl::string_view what, absl::string_view why) {
    absl::StrAppend(&dropped_, "# ferry: dropped ", what, ": ", why, "\n");
  }

  std::deque<Family> families_;  // a deque: Get()'s pointers stay valid as it grows
  absl::flat_hash_map<std::string, size_t> owner_;
  std::string dropped_;
};

// The family name of a counter or gauge: "ferry_" + prefix + sanitized name, counters ending
// in "_total" exactly once.
std::string ScalarFamily(absl::string_view prefix, const v1::Metric& m) {
  std::string name = PrometheusName(absl::StrCat(prefix, m.name()));
  if (!m.gauge() && !EndsWith(name, "_total")) name += "_total";
  return name;
}

std::string HistogramFamily(absl::string_view prefix, const v1::Histogram& h) {
  std::string name = PrometheusName(absl::StrCat(prefix, h.name()));
  if (!EndsWith(name, "_seconds")) name += "_seconds";
  return name;
}

// A name for comment lines: label values escaped so that nothing breaks the line.
std::string Describe(absl::string_view scope, const Labels& labels, absl::string_view name) {
  std::string out = absl::StrCat(scope, RenderLabels(labels), " \"");
  AppendLabelValue(out, name);
  out += '"';
  return out;
}

// The counters, gauges and histograms of one listener or backend, under `prefix`
// ("listener_", "backend_") with `labels` on every series.
void AddScoped(Exposition& e, absl::string_view prefix, absl::string_view scope,
               const Labels& labels, const v1::MetricSet& set) {
  for (const v1::Metric& m : set.metrics()) {
    const std::string what = Describe(scope, labels, m.name());
    Family* f = e.Get(ScalarFamily(prefix, m), m.gauge() ? Type::kGauge : Type::kCounter,
                      absl::StrCat(scope, " ", m.gauge() ? "gauge " : "counter ", m.name(),
                                   ", summed over workers."),
                      what);
    e.AddScalar(f, labels, m.value(), what);
  }
  for (const v1::Histogram& h : set.histograms()) {
    const std::string what = Describe(scope, labels, h.name());
    Family* f =
        e.Get(HistogramFamily(prefix, h), Type::kHistogram,
              absl::StrCat(scope, " ", h.name(), " in seconds, summed over workers."), what);
    e.AddHistogram(f, labels, h, what);
  }
}

// Global metrics, per worker when the workers report them (prometheus.h, "Workers").
void AddGlobal(Exposition& e, const v1::Stats& stats) {
  absl::flat_hash_set<std::string> per_worker;  // metric names, then "h:" + histogram names
  for (const v1::WorkerStats& w : stats.workers()) {
    for (const v1::Metric& m : w.stats().metrics()) per_worker.insert(m.name());
    for (const v1::Histogram& h : w.stats().histograms()) per_worker.insert("h:" + h.name());
  }
  const auto scalar_help = [](const v1::Metric& m, bool worker) {
    return absl::StrCat(m.gauge() ? "Gauge " : "Counter ", m.name(),
                        worker ? ", per worker." : ", summed over workers.");
  };
  const auto histogram_help = [](const v1::Histogram& h, bool worker) {
    return absl::StrCat(h.name(), " in seconds",
                        worker ? ", per worker." : ", summed over workers.");
  };
  const Labels none;
  // The global set first, so that the families keep its order in both modes; the series of a
  // metric the workers report come from the workers below.
  for (const v1::Metric& m : stats.global().metrics()) {
    const bool worker = per_worker.contains(m.name());
    const std::string what = Describe("global", none, m.name());
    Family* f = e.Get(ScalarFamily("", m), m.gauge() ? Type::kGauge : Type::kCounter,
                      scalar_help(m, worker), what);
    if (!worker) e.AddScalar(f, none, m.value(), what);
  }
  for (const v1::Histogram& h : stats.global().histograms()) {
    const bool worker = per_worker.contains("h:" + h.name());
    const std::string what = Describe("global", none, h.name());
    Family* f = e.Get(HistogramFamily("", h), Type::kHistogram, histogram_help(h, worker), what);
    if (!worker) e.AddHistogram(f, none, h, what);
  }
  for (const v1::WorkerStats& w : stats.workers()) {
    const Labels labels = {{"worker", absl::StrCat(w.worker())}};
    for (const v1::Metric& m : w.stats().metrics()) {
      const std::string what = Describe("worker", labels, m.name());
      Family* f = e.Get(ScalarFamily("", m), m.gauge() ? Type::kGauge : Type::kCounter,
                        scalar_help(m, true), what);
      e.AddScalar(f, labels, m.value(), what);
    }
    for (const v1::Histogram& h : w.stats().histograms()) {
      const std::string what = Describe("worker", labels, h.name());
      Family* f = e.Get(HistogramFamily("", h), Type::kHistogram, histogram_help(h, true), what);
      e.AddHistogram(f, labels, h, what);
    }
  }
}

// The backend states in the order their one-hot series are written, with their label values.
constexpr std::pair<v1::BackendState, absl::string_view> kBackendStates[] = {
    {v1::BACKEND_STATE_ENABLED, "enabled"},   {v1::BACKEND_STATE_DISABLED, "disabled"},
    {v1::BACKEND_STATE_DRAINING, "draining"}, {v1::BACKEND_STATE_DRAINED, "drained"},
    {v1::BACKEND_STATE_REMOVED, "removed"},
};

}  // namespace

std::string PrometheusName(absl::string_view name) {
  std::string out = "ferry_";
  out.reserve(out.size() + name.size());
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

std::string PrometheusDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest digits that read back as v, as "d.ddde±XX"; then Go's 'g' choice: exponent
  // form when the decimal exponent is < -4 or >= 6 (strconv's rule for the shortest form),
  // where Go's and printf's exponent forms agree (sign, at least two digits).
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  if (ec != std::errc()) return "NaN";  // 64 bytes hold any double: cannot happen
  const absl::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t e = sci.find('e');
  int exponent = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exponent);
  if (exponent < -4 || exponent >= 6) return std::string(sci);
  absl::string_view mantissa = sci.substr(0, e);
  std::string out;
  if (!mantissa.empty() && mantissa.front() == '-') {
    out += '-';
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  if (exponent < 0) {
    absl::StrAppend(&out, "0.", std::string(static_cast<size_t>(-exponent - 1), '0'), digits);
    return out;
  }
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    absl::StrAppend(&out, digits, std::string(int_digits - digits.size(), '0'));
  } else {
    absl::StrAppend(&out, digits.substr(0, int_digits), ".", digits.substr(int_digits));
  }
  return out;
}

std::string PrometheusText(const v1::Stats& stats) {
  Exposition e;
  const Labels none;
  e.AddScalar(e.Get("ferry_config_version", Type::kGauge,
                    "Version of the running config (ferryctl config get).", "config_version"),
              none, stats.config_version(), "config_version");
  AddGlobal(e, stats);
  for (const v1::ListenerStats& l : stats.listeners()) {
    const Labels labels = {{"listener", l.name()}};
    const Labels info = {{"listener", l.name()},
                         {"address", l.address()},
                         {"port", absl::StrCat(l.port())},
                         {"pool", l.pool()}};
    e.AddScalar(e.Get("ferry_listener_info", Type::kGauge,
                      "Always 1: a listener's address, port and pool.", "listener_info"),
                info, 1, Describe("listener", labels, "info"));
    AddScoped(e, "listener_", "Listener", labels, l.stats());
  }
  for (const v1::BackendStats& b : stats.backends()) {
    const Labels labels = {{"pool", b.pool()}, {"backend", b.name()}};
    const Labels info = {{"pool", b.pool()},
                         {"backend", b.name()},
                         {"address", b.address()},
                         {"port", absl::StrCat(b.port())}};
    e.AddScalar(e.Get("ferry_backend_info", Type::kGauge, "Always 1: a backend's address and port.",
                      "backend_info"),
                info, 1, Describe("backend", labels, "info"));
    Family* state = e.Get("ferry_backend_state", Type::kGauge,
                          "1 for the backend's state (enabled, disabled, draining, drained, "
                          "removed), 0 for the others.",
                          "backend_state");
    for (const auto& [value, name] : kBackendStates) {
      Labels with_state = labels;
      with_state.emplace_back("state", name);
      e.AddScalar(state, with_state, b.state() == value ? 1 : 0,
                  Describe("backend", labels, "state"));
    }
    e.AddScalar(e.Get("ferry_backend_weight", Type::kGauge, "The backend's weight in its pool.",
                      "backend_weight"),
                labels, b.weight(), Describe("backend", labels, "weight"));
    AddScoped(e, "backend_", "Backend", labels, b.stats());
  }
  return e.Render();
}

}  // namespace ferry::control
