// tests/integration/control_metrics_check.py, the integration tests' checker of /metrics
// against `ferryctl stats -o json`, run on this renderer's output for the canned Stats and on
// that Stats' JSON (made as ferryctl makes it): it must pass on the truth and name every
// mismatch it is shown. It needs /usr/bin/python3 with python3-prometheus-client
// (deploy/setup.sh installs both).
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "canned_stats.h"
#include "control/prometheus.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct CheckRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

std::string StatsJson(const v1::Stats& stats) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(stats, &json, options);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return json;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

// Runs the checker on `metrics_text` and `stats_json` with `extra_args` first.
CheckRun Check(const std::string& metrics_text, const std::string& stats_json,
               const std::string& extra_args = "") {
  // Named by test and process: the same test may run from several build trees at once.
  // (TempDir() ends in a slash.)
  const std::string base =
      absl::StrCat(::testing::TempDir(), "control_metrics_check_",
                   ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_", getpid());
  const std::string text_path = base + ".metrics.txt";
  const std::string json_path = base + ".stats.json";
  WriteFile(text_path, metrics_text);
  WriteFile(json_path, stats_json);
  const std::string command = absl::StrCat("/usr/bin/python3 " FERRY_SOURCE_ROOT
                                           "/tests/integration/control_metrics_check.py ",
                                           extra_args, " '", text_path, "' '", json_path, "' 2>&1");
  CheckRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return run;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::remove(text_path.c_str());
  std::remove(json_path.c_str());
  return run;
}

TEST(ControlMetricsCheck, CannedStatsMatch) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  const CheckRun run = Check(PrometheusText(stats), StatsJson(stats));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // 1 config version + 5 global + listener: info, 3 metrics, 4 buckets + sum + count
  // + backends: 2 info, 10 state, 2 weight, 6 metrics, 4 buckets + sum + count.
  EXPECT_EQ(run.output, "control_metrics_check: 42 samples matched\n");
}

TEST(ControlMetricsCheck, PerWorkerStatsMatch) {
  const v1::Stats stats = StatsFromText(kCannedWorkerStats);
  const CheckRun run = Check(PrometheusText(stats), StatsJson(stats));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.output, "control_metrics_check: 6 samples matched\n");
}

TEST(ControlMetricsCheck, OddNamesAndLabelValuesMatch) {
  v1::Stats stats = StatsFromText(kCannedStats);
  stats.mutable_listeners(0)->set_name("we\"b\\\n,x=\"1\"");
  stats.mutable_global()->mutable_metrics(0)->set_name("net.rx-frames/caf\xc3\xa9");
  stats.mutable_backends(1)->set_state(v1::BACKEND_STATE_UNSPECIFIED);
  const CheckRun run = Check(PrometheusText(stats), StatsJson(stats));
  EXPECT_EQ(run.exit_code, 0) << run.output;
}

TEST(ControlMetricsCheck, ChangedFiguresAreEachNamed) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  v1::Stats other = stats;
  other.mutable_listeners(0)->mutable_stats()->mutable_metrics(1)->set_value(6);
  other.mutable_backends(1)->mutable_stats()->mutable_histograms(0)->set_sum_seconds(0.5);
  other.mutable_backends(0)->set_state(v1::BACKEND_STATE_DISABLED);
  const CheckRun run = Check(PrometheusText(stats), StatsJson(other));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(
      run.output,
      HasSubstr("mismatch: ferry_listener_sessions_total{listener=\"web\"} is 5.0, stats say 6\n"));
  EXPECT_THAT(run.output, HasSubstr("mismatch: ferry_backend_connect_time_seconds_sum{pool=\"web\","
                                    "backend=\"b2\"} is 0.0003, stats say 0.5\n"));
  EXPECT_THAT(run.output, HasSubstr("ferry_backend_state{pool=\"web\",backend=\"b1\","
                                    "state=\"enabled\"} is 1.0, stats say 0\n"));
  EXPECT_THAT(run.output, HasSubstr("control_metrics_check: 4 mismatches, 38 samples matched\n"));
}

TEST(ControlMetricsCheck, MissingAndExtraSamplesAreNamed) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  std::string text = PrometheusText(stats);
  text = absl::StrReplaceAll(text, {{"ferry_tcp_segments_in_total 120\n", ""},
                                    {"ferry_config_version 7\n",
                                     "ferry_config_version 7\nferry_config_version{x=\"1\"} 1\n"}});
  const CheckRun run = Check(text, StatsJson(stats));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("mismatch: missing ferry_tcp_segments_in_total (stats say 120)"));
  EXPECT_THAT(run.output, HasSubstr("mismatch: unexpected ferry_config_version{x=\"1\"} 1.0"));
}

TEST(ControlMetricsCheck, UngroupedFamilyAndBrokenHistogramAreStructuralFaults) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  std::string text = PrometheusText(stats);
  // A sample moved out of its family's block, and a bucket made smaller than the one before.
  text = absl::StrReplaceAll(
      text, {{"ferry_proxy_sessions_total 5\n", ""},
             {"ferry_loop_busy_cycles_total 18446744073709551615\n",
              "ferry_loop_busy_cycles_total 18446744073709551615\nferry_proxy_sessions_total 5\n"},
             {"le=\"60\"} 5", "le=\"60\"} 2"}});
  const CheckRun run = Check(text, StatsJson(stats));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("sample outside its family (untyped): "
                                    "ferry_proxy_sessions_total"));
  EXPECT_THAT(run.output, HasSubstr("family ferry_proxy_sessions declared without samples"));
  EXPECT_THAT(run.output, HasSubstr("buckets are not cumulative"));
}

TEST(ControlMetricsCheck, WorkersThatDoNotAddUpAreNamed) {
  const v1::Stats stats = StatsFromText(kCannedWorkerStats);
  v1::Stats other = stats;
  other.mutable_global()->mutable_metrics(0)->set_value(121);
  const CheckRun run = Check(PrometheusText(other), StatsJson(other));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("mismatch: global tcp.segments_in is 121 but the workers add up to 120"));
}

TEST(ControlMetricsCheck, IgnoredMetricsAreLeftOut) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  v1::Stats other = stats;
  other.mutable_global()->mutable_metrics(4)->set_value(1);  // loop.busy_cycles moved on
  other.mutable_listeners(0)->mutable_stats()->mutable_histograms(0)->set_count(9);
  const CheckRun run = Check(PrometheusText(stats), StatsJson(other),
                             "--ignore 'loop.*' --ignore listener.session_duration");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, MatchesRegex("control_metrics_check: [0-9]+ samples matched\n"));
}

TEST(ControlMetricsCheck, UnparsableTextIsExit2) {
  const v1::Stats stats = StatsFromText(kCannedStats);
  const CheckRun run = Check("ferry_x{a=\"1\" 1\n", StatsJson(stats));
  EXPECT_EQ(run.exit_code, 2) << run.output;
}

}  // namespace
}  // namespace ferry::control
