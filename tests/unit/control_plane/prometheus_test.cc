// The Prometheus text exposition of v1::Stats (control/prometheus.h): the whole text for small
// canned Stats, then one rule at a time (names, suffixes, escaping, histograms, workers,
// conflicts), then a reader of the format that every output must satisfy.
#include "control/prometheus.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "canned_stats.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// ---- A reader of the exposition format ---------------------------------------------------

// One sample line, its label values unescaped.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;
};

// Parses `labels` ("a=\"x\",b=\"y\"") into `out`; false if it is not well-formed.
bool ParseLabels(const std::string& labels, Sample& out) {
  size_t i = 0;
  while (i < labels.size()) {
    const size_t eq = labels.find('=', i);
    if (eq == std::string::npos || eq + 1 >= labels.size() || labels[eq + 1] != '"') return false;
    std::string name = labels.substr(i, eq - i);
    if (!std::regex_match(name, std::regex("[a-zA-Z_][a-zA-Z0-9_]*"))) return false;
    std::string value;
    size_t j = eq + 2;
    for (; j < labels.size() && labels[j] != '"'; ++j) {
      if (labels[j] == '\n') return false;
      if (labels[j] != '\\') {
        value += labels[j];
        continue;
      }
      if (++j == labels.size()) return false;
      if (labels[j] == 'n') {
        value += '\n';
      } else if (labels[j] == '\\' || labels[j] == '"') {
        value += labels[j];
      } else {
        return false;
      }
    }
    if (j == labels.size()) return false;  // no closing quote
    out.labels.emplace_back(std::move(name), std::move(value));
    i = j + 1;
    if (i < labels.size()) {
      if (labels[i] != ',') return false;
      ++i;
    }
  }
  return true;
}

// Checks the structure of an exposition the way a scraper reads it, failing the test on any
// fault, and returns its samples: every line a HELP, TYPE or other comment, or a sample whose
// name belongs to the family of the last TYPE line (so families are whole and grouped), each
// family declared once, HELP before TYPE, no duplicate series, the text ending in a newline.
std::vector<Sample> ReadExposition(const std::string& text) {
  std::vector<Sample> samples;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  const std::regex sample_re(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+))");
  const std::regex number_re(R"([+-]?Inf|NaN|-?[0-9]+(\.[0-9]+)?(e[+-][0-9]+)?)");
  std::set<std::string> families;
  std::set<std::string> series;
  std::string family, type, help_for;
  for (const absl::string_view line_view : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string line(line_view);
    if (absl::StartsWith(line, "# HELP ")) {
      const std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      EXPECT_EQ(parts.size(), 4u) << line;
      help_for = parts.size() > 2 ? parts[2] : "";
      continue;
    }
    if (absl::StartsWith(line, "# TYPE ")) {
      const std::vector<std::string> parts = absl::StrSplit(line, ' ');
      EXPECT_EQ(parts.size(), 4u) << line;
      if (parts.size() != 4) continue;
      family = parts[2];
      type = parts[3];
      EXPECT_EQ(help_for, family) << "HELP does not precede " << line;
      EXPECT_TRUE(families.insert(family).second) << "family declared twice: " << family;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;
    std::smatch m;
    if (!std::regex_match(line, m, sample_re)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    Sample s{m[1], {}, m[4]};
    EXPECT_TRUE(ParseLabels(m[3], s)) << line;
    EXPECT_TRUE(std::regex_match(s.value, number_re)) << line;
    if (type == "histogram") {
      EXPECT_TRUE(s.name == family + "_bucket" || s.name == family + "_sum" ||
                  s.name == family + "_count")
          << line << " outside its family " << family;
    } else {
      EXPECT_EQ(s.name, family) << line << " outside its family";
    }
    EXPECT_TRUE(series.insert(absl::StrCat(s.name, m[2].str())).second)
        << "duplicate series: " << line;
    samples.push_back(std::move(s));
  }
  return samples;
}

// The value of the one sample named `name` with exactly `labels`, or "" if there is none.
std::string ValueOf(const std::vector<Sample>& samples, const std::string& name,
                    const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  for (const Sample& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return "";
}

// ---- The whole text ----------------------------------------------------------------------

constexpr char kCannedText[] =
    R"(# HELP ferry_config_version Version of the running config (ferryctl config get).
# TYPE ferry_config_version gauge
ferry_config_version 7
# HELP ferry_net_rx_frames_total Counter net.rx_frames, summed over workers.
# TYPE ferry_net_rx_frames_total counter
ferry_net_rx_frames_total 1000
# HELP ferry_tcp_segments_in_total Counter tcp.segments_in, summed over workers.
# TYPE ferry_tcp_segments_in_total counter
ferry_tcp_segments_in_total 120
# HELP ferry_proxy_sessions_total Counter proxy.sessions_total, summed over workers.
# TYPE ferry_proxy_sessions_total counter
ferry_proxy_sessions_total 5
# HELP ferry_proxy_sessions_active Gauge proxy.sessions_active, summed over workers.
# TYPE ferry_proxy_sessions_active gauge
ferry_proxy_sessions_active 2
# HELP ferry_loop_busy_cycles_total Counter loop.busy_cycles, summed over workers.
# TYPE ferry_loop_busy_cycles_total counter
ferry_loop_busy_cycles_total 18446744073709551615
# HELP ferry_listener_info Always 1: a listener's address, port and pool.
# TYPE ferry_listener_info gauge
ferry_listener_info{listener="web",address="198.18.0.1",port="80",pool="web"} 1
# HELP ferry_listener_sessions_active Listener gauge sessions_active, summed over workers.
# TYPE ferry_listener_sessions_active gauge
ferry_listener_sessions_active{listener="web"} 1
# HELP ferry_listener_sessions_total Listener counter sessions_total, summed over workers.
# TYPE ferry_listener_sessions_total counter
ferry_listener_sessions_total{listener="web"} 5
# HELP ferry_listener_bytes_from_client_total Listener counter bytes_from_client, summed over workers.
# TYPE ferry_listener_bytes_from_client_total counter
ferry_listener_bytes_from_client_total{listener="web"} 1234
# HELP ferry_listener_session_duration_seconds Listener session_duration in seconds, summed over workers.
# TYPE ferry_listener_session_duration_seconds histogram
ferry_listener_session_duration_seconds_bucket{listener="web",le="0.0001"} 0
ferry_listener_session_duration_seconds_bucket{listener="web",le="0.5"} 3
ferry_listener_session_duration_seconds_bucket{listener="web",le="60"} 5
ferry_listener_session_duration_seconds_bucket{listener="web",le="+Inf"} 5
ferry_listener_session_duration_seconds_sum{listener="web"} 1.25
ferry_listener_session_duration_seconds_count{listener="web"} 5
# HELP ferry_backend_info Always 1: a backend's address and port.
# TYPE ferry_backend_info gauge
ferry_backend_info{pool="web",backend="b1",address="198.18.1.10",port="8080"} 1
ferry_backend_info{pool="web",backend="b2",address="198.18.1.11",port="8080"} 1
# HELP ferry_backend_state 1 for the backend's state (enabled, disabled, draining, drained, removed), 0 for the others.
# TYPE ferry_backend_state gauge
ferry_backend_state{pool="web",backend="b1",state="enabled"} 1
ferry_backend_state{pool="web",backend="b1",state="disabled"} 0
ferry_backend_state{pool="web",backend="b1",state="draining"} 0
ferry_backend_state{pool="web",backend="b1",state="drained"} 0
ferry_backend_state{pool="web",backend="b1",state="removed"} 0
ferry_backend_state{pool="web",backend="b2",state="enabled"} 0
ferry_backend_state{pool="web",backend="b2",state="disabled"} 0
ferry_backend_state{pool="web",backend="b2",state="draining"} 1
ferry_backend_state{pool="web",backend="b2",state="drained"} 0
ferry_backend_state{pool="web",backend="b2",state="removed"} 0
# HELP ferry_backend_weight The backend's weight in its pool.
# TYPE ferry_backend_weight gauge
ferry_backend_weight{pool="web",backend="b1"} 100
ferry_backend_weight{pool="web",backend="b2"} 50
# HELP ferry_backend_sessions_active Backend gauge sessions_active, summed over workers.
# TYPE ferry_backend_sessions_active gauge
ferry_backend_sessions_active{pool="web",backend="b1"} 1
ferry_backend_sessions_active{pool="web",backend="b2"} 0
# HELP ferry_backend_sessions_total Backend counter sessions_total, summed over workers.
# TYPE ferry_backend_sessions_total counter
ferry_backend_sessions_total{pool="web",backend="b1"} 3
ferry_backend_sessions_total{pool="web",backend="b2"} 2
# HELP ferry_backend_connect_refused_total Backend counter connect_refused, summed over workers.
# TYPE ferry_backend_connect_refused_total counter
ferry_backend_connect_refused_total{pool="web",backend="b1"} 1
ferry_backend_connect_refused_total{pool="web",backend="b2"} 0
# HELP ferry_backend_connect_time_seconds Backend connect_time in seconds, summed over workers.
# TYPE ferry_backend_connect_time_seconds histogram
ferry_backend_connect_time_seconds_bucket{pool="web",backend="b2",le="1e-05"} 0
ferry_backend_connect_time_seconds_bucket{pool="web",backend="b2",le="0.0001"} 1
ferry_backend_connect_time_seconds_bucket{pool="web",backend="b2",le="0.001"} 2
ferry_backend_connect_time_seconds_bucket{pool="web",backend="b2",le="+Inf"} 2
ferry_backend_connect_time_seconds_sum{pool="web",backend="b2"} 0.0003
ferry_backend_connect_time_seconds_count{pool="web",backend="b2"} 2
)";

TEST(PrometheusText, CannedStatsGolden) {
  const std::string text = PrometheusText(StatsFromText(kCannedStats));
  EXPECT_EQ(text, kCannedText);
  ReadExposition(text);
}

// Per worker: a global metric the workers report is only their {worker} series, under the
// same family name, so sum() is the total; a global-only metric stays unlabelled.
constexpr char kWorkerText[] =
    R"(# HELP ferry_config_version Version of the running config (ferryctl config get).
# TYPE ferry_config_version gauge
ferry_config_version 7
# HELP ferry_tcp_segments_in_total Counter tcp.segments_in, per worker.
# TYPE ferry_tcp_segments_in_total counter
ferry_tcp_segments_in_total{worker="0"} 70
ferry_tcp_segments_in_total{worker="1"} 50
# HELP ferry_proxy_sessions_active Gauge proxy.sessions_active, per worker.
# TYPE ferry_proxy_sessions_active gauge
ferry_proxy_sessions_active{worker="0"} 2
ferry_proxy_sessions_active{worker="1"} 0
# HELP ferry_control_clients Gauge control.clients, summed over workers.
# TYPE ferry_control_clients gauge
ferry_control_clients 1
)";

TEST(PrometheusText, WorkersReplaceTheGlobalSumUnderTheSameFamily) {
  const std::string text = PrometheusText(StatsFromText(kCannedWorkerStats));
  EXPECT_EQ(text, kWorkerText);
  ReadExposition(text);
}

TEST(PrometheusText, WorkerOnlyMetricsAndHistogramsArePerWorker) {
  const std::string text = PrometheusText(StatsFromText(R"pb(
    global { histograms { name: "loop.poll" count: 3 sum_seconds: 0.5 } }
    workers {
      worker: 3
      stats {
        metrics { name: "net.tx_frames" value: 9 }
        histograms {
          name: "loop.poll"
          count: 3
          sum_seconds: 0.5
          buckets { le_seconds: inf cumulative_count: 3 }
        }
      }
    }
  )pb"));
  const std::vector<Sample> samples = ReadExposition(text);
  EXPECT_EQ(ValueOf(samples, "ferry_net_tx_frames_total", {{"worker", "3"}}), "9");
  EXPECT_EQ(ValueOf(samples, "ferry_loop_poll_seconds_count", {{"worker", "3"}}), "3");
  EXPECT_EQ(ValueOf(samples, "ferry_loop_poll_seconds_count"), "");  // no unlabelled sum
  EXPECT_THAT(text, HasSubstr("# TYPE ferry_loop_poll_seconds histogram\n"));
}

TEST(PrometheusText, EmptyStatsIsTheConfigVersionAlone) {
  EXPECT_EQ(PrometheusText(v1::Stats()),
            "# HELP ferry_config_version Version of the running config (ferryctl config get).\n"
            "# TYPE ferry_config_version gauge\n"
            "ferry_config_version 0\n");
}

TEST(PrometheusText, SameStatsSameText) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  EXPECT_EQ(PrometheusText(stats), PrometheusText(stats));
}

// ---- Names -------------------------------------------------------------------------------

TEST(PrometheusName, DotsAndEverythingElseInvalidBecomeUnderscores) {
  EXPECT_EQ(PrometheusName("tcp.segments_in"), "ferry_tcp_segments_in");
  EXPECT_EQ(PrometheusName("a-b/c:d e"), "ferry_a_b_c_d_e");
  EXPECT_EQ(PrometheusName("0starts.with.digit"), "ferry_0starts_with_digit");
  EXPECT_EQ(PrometheusName("caf\xc3\xa9"), "ferry_caf__");  // each byte of a UTF-8 'é'
  EXPECT_EQ(PrometheusName(""), "ferry_");
}

TEST(PrometheusText, SanitizedNamesAreValid) {
  const std::string text = PrometheusText(StatsFromText(R"pb(
    global { metrics { name: "net.rx-frames/bad:name\n\"x\"" value: 4 } }
  )pb"));
  const std::vector<Sample> samples = ReadExposition(text);
  EXPECT_EQ(ValueOf(samples, "ferry_net_rx_frames_bad_name__x__total"), "4");
  // The original name is in the HELP text, its line feed escaped there.
  EXPECT_THAT(text, HasSubstr("# HELP ferry_net_rx_frames_bad_name__x__total Counter "
                              "net.rx-frames/bad:name\\n\"x\", summed over workers.\n"));
}

TEST(PrometheusText, CountersEndInTotalExactlyOnceGaugesNever) {
  const std::vector<Sample> samples = ReadExposition(PrometheusText(StatsFromText(R"pb(
    global {
      metrics { name: "tcp.segments_in" value: 1 }
      metrics { name: "proxy.sessions_total" value: 2 }
      metrics { name: "odd.total" value: 3 }
      metrics { name: "queue.depth" value: 4 gauge: true }
      metrics { name: "queue.max_total" value: 5 gauge: true }
      metrics { name: "totally" value: 6 }
    }
  )pb")));
  EXPECT_EQ(ValueOf(samples, "ferry_tcp_segments_in_total"), "1");
  EXPECT_EQ(ValueOf(samples, "ferry_proxy_sessions_total"), "2");
  EXPECT_EQ(ValueOf(samples, "ferry_odd_total"), "3");
  EXPECT_EQ(ValueOf(samples, "ferry_queue_depth"), "4");
  EXPECT_EQ(ValueOf(samples, "ferry_queue_max_total"), "5");
  EXPECT_EQ(ValueOf(samples, "ferry_totally_total"), "6");
  EXPECT_EQ(samples.size(), 7u);  // and ferry_config_version
}

TEST(PrometheusText, HistogramNamesEndInSecondsOnce) {
  const std::string text = PrometheusText(StatsFromText(R"pb(
    listeners {
      name: "l"
      stats {
        histograms { name: "wait_seconds" count: 0 }
        histograms { name: "wait" count: 0 }
      }
    }
  )pb"));
  EXPECT_THAT(text, HasSubstr("# TYPE ferry_listener_wait_seconds histogram\n"));
  EXPECT_THAT(text, Not(HasSubstr("seconds_seconds")));
  // "wait" maps to the family "wait_seconds" already holds: the second is dropped.
  EXPECT_THAT(text, HasSubstr("# ferry: dropped Listener{listener=\"l\"} \"wait\": "
                              "ferry_listener_wait_seconds{listener=\"l\"} is already exported\n"));
}

// ---- Label values ------------------------------------------------------------------------

TEST(PrometheusText, LabelValuesAreEscapedAndReadBack) {
  const std::string nasty = "we\"b\\\n{x=\"1\"},";
  v1::Stats stats;
  v1::ListenerStats* l = stats.add_listeners();
  l->set_name(nasty);
  v1::Metric* m = l->mutable_stats()->add_metrics();
  m->set_name("sessions_total");
  m->set_value(3);
  const std::string text = PrometheusText(stats);
  EXPECT_THAT(
      text,
      HasSubstr("ferry_listener_sessions_total{listener=\"we\\\"b\\\\\\n{x=\\\"1\\\"},\"} 3\n"));
  const std::vector<Sample> samples = ReadExposition(text);
  EXPECT_EQ(ValueOf(samples, "ferry_listener_sessions_total", {{"listener", nasty}}), "3");
  // Only one line per sample: no raw line feed leaked.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 9);
}

// ---- Histograms --------------------------------------------------------------------------

TEST(PrometheusText, HistogramBucketsAreCumulativeAndEndAtInf) {
  const std::vector<Sample> samples = ReadExposition(PrometheusText(StatsFromText(kCannedStats)));
  std::vector<std::pair<double, double>> buckets;  // le, cumulative count
  for (const Sample& s : samples) {
    if (s.name != "ferry_listener_session_duration_seconds_bucket") continue;
    ASSERT_EQ(s.labels.size(), 2u);
    ASSERT_EQ(s.labels[1].first, "le");
    buckets.emplace_back(std::stod(s.labels[1].second), std::stod(s.value));
  }
  ASSERT_EQ(buckets.size(), 4u);
  for (size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(buckets[i - 1].first, buckets[i].first);
    EXPECT_LE(buckets[i - 1].second, buckets[i].second);
  }
  EXPECT_TRUE(std::isinf(buckets.back().first));
  EXPECT_EQ(
      std::to_string(static_cast<uint64_t>(buckets.back().second)),
      ValueOf(samples, "ferry_listener_session_duration_seconds_count", {{"listener", "web"}}));
}

TEST(PrometheusText, MissingInfBucketIsAddedWithTheCountAndNanBoundsAreLeftOut) {
  const std::string text = PrometheusText(StatsFromText(R"pb(
    global {
      histograms {
        name: "h"
        count: 4
        sum_seconds: 2
        buckets { le_seconds: 1 cumulative_count: 3 }
        buckets { le_seconds: nan cumulative_count: 3 }
      }
    }
  )pb"));
  EXPECT_THAT(text, HasSubstr("ferry_h_seconds_bucket{le=\"1\"} 3\n"
                              "ferry_h_seconds_bucket{le=\"+Inf\"} 4\n"
                              "ferry_h_seconds_sum 2\n"
                              "ferry_h_seconds_count 4\n"));
  EXPECT_THAT(text, Not(HasSubstr("NaN")));
  ReadExposition(text);
}

TEST(PrometheusText, EmptyHistogramStillHasItsInfBucket) {
  const std::string text = PrometheusText(StatsFromText(R"pb(
    backends {
      pool: "p"
      name: "b"
      stats { histograms { name: "connect_time" } }
    }
  )pb"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "ferry_backend_connect_time_seconds_bucket{pool=\"p\",backend=\"b\",le=\"+Inf\"} 0\n"
          "ferry_backend_connect_time_seconds_sum{pool=\"p\",backend=\"b\"} 0\n"
          "ferry_backend_connect_time_seconds_count{pool=\"p\",backend=\"b\"} 0\n"));
}

// ---- Backend state -----------------------------------------------------------------------

TEST(PrometheusText, BackendStateIsOneHot) {
  for (const auto& [state, label] :
       std::vector<std::pair<std::string, std::string>>{{"BACKEND_STATE_ENABLED", "enabled"},
                                                        {"BACKEND_STATE_DISABLED", "disabled"},
                                                        {"BACKEND_STATE_DRAINING", "draining"},
                                                        {"BACKEND_STATE_DRAINED", "drained"},
                                                        {"BACKEND_STATE_REMOVED", "removed"},
                                                        {"BACKEND_STATE_UNSPECIFIED", ""}}) {
    const std::vector<Sample> samples = ReadExposition(PrometheusText(
        StatsFromText(absl::StrCat("backends { pool: \"p\" name: \"b\" state: ", state, " }"))));
    int ones = 0;
    for (const Sample& s : samples) {
      if (s.name != "ferry_backend_state") continue;
      if (s.value == "1") {
        ++ones;
        EXPECT_EQ(s.labels.back().second, label) << state;
      } else {
        EXPECT_EQ(s.value, "0");
      }
    }
    EXPECT_EQ(ones, label.empty() ? 0 : 1) << state;
  }
}

// ---- Conflicts ---------------------------------------------------------------------------

TEST(PrometheusText, DuplicateSeriesAndClashingFamiliesAreDroppedFirstWins) {
  const std::string text = PrometheusText(StatsFromText(R"pb(
    global {
      metrics { name: "a" value: 1 }
      metrics { name: "a_total" value: 2 }
      metrics { name: "g.total" value: 3 gauge: true }
      metrics { name: "g" value: 4 }
    }
    backends { pool: "p" name: "b" weight: 1 }
    backends { pool: "p" name: "b" weight: 2 state: BACKEND_STATE_REMOVED }
  )pb"));
  const std::vector<Sample> samples = ReadExposition(text);
  EXPECT_EQ(ValueOf(samples, "ferry_a_total"), "1");
  EXPECT_EQ(ValueOf(samples, "ferry_g_total"), "3");
  EXPECT_EQ(ValueOf(samples, "ferry_backend_weight", {{"pool", "p"}, {"backend", "b"}}), "1");
  EXPECT_THAT(text, HasSubstr("# ferry: dropped global \"a_total\": ferry_a_total is already "
                              "exported\n"));
  EXPECT_THAT(text, HasSubstr("# ferry: dropped global \"g\": ferry_g_total would clash with "
                              "the gauge ferry_g_total\n"));
  EXPECT_THAT(text, HasSubstr("# ferry: dropped backend{pool=\"p\",backend=\"b\"} \"weight\""));
}

TEST(PrometheusText, HistogramSampleNamesClaimTheirSuffixes) {
  // A gauge already named like the histogram's _count keeps its name; the histogram, whose
  // _count would join the gauge's family, is dropped.
  const std::string text = PrometheusText(StatsFromText(R"pb(
    global {
      metrics { name: "h_seconds_count" value: 9 gauge: true }
      histograms { name: "h" count: 1 }
    }
  )pb"));
  const std::vector<Sample> samples = ReadExposition(text);
  EXPECT_EQ(ValueOf(samples, "ferry_h_seconds_count"), "9");
  EXPECT_THAT(text, HasSubstr("# ferry: dropped global \"h\": ferry_h_seconds would clash with "
                              "the gauge ferry_h_seconds_count\n"));
  EXPECT_THAT(text, Not(HasSubstr("ferry_h_seconds_bucket")));
}

// ---- Numbers -----------------------------------------------------------------------------

TEST(PrometheusDouble, ShortestFormLikeGo) {
  EXPECT_EQ(PrometheusDouble(0), "0");
  EXPECT_EQ(PrometheusDouble(1), "1");
  EXPECT_EQ(PrometheusDouble(60), "60");
  EXPECT_EQ(PrometheusDouble(2.5), "2.5");
  EXPECT_EQ(PrometheusDouble(-1.5), "-1.5");
  EXPECT_EQ(PrometheusDouble(0.0001), "0.0001");
  EXPECT_EQ(PrometheusDouble(0.00025), "0.00025");
  EXPECT_EQ(PrometheusDouble(1e-05), "1e-05");
  EXPECT_EQ(PrometheusDouble(3600), "3600");
  EXPECT_EQ(PrometheusDouble(123456), "123456");
  EXPECT_EQ(PrometheusDouble(1e6), "1e+06");
  EXPECT_EQ(PrometheusDouble(1234567), "1.234567e+06");
  EXPECT_EQ(PrometheusDouble(1e21), "1e+21");
  EXPECT_EQ(PrometheusDouble(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(PrometheusDouble(5e-324), "5e-324");
  EXPECT_EQ(PrometheusDouble(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(PrometheusDouble(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(PrometheusDouble(std::nan("")), "NaN");
}

TEST(PrometheusDouble, ReadsBackExactly) {
  for (double v : {0.1, 1.0 / 3, 123.456, 9.999999e-5, 1e-300, 1.7976931348623157e308}) {
    EXPECT_EQ(std::stod(PrometheusDouble(v)), v) << PrometheusDouble(v);
  }
}

}  // namespace
}  // namespace ferry::control
