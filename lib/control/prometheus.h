// ferry's statistics (v1::Stats, the GetStats answer) in the Prometheus text exposition format
// 0.0.4, the body MetricsServer (metrics_server.h) serves on GET /metrics.
//
// Naming. Every family is "ferry_" followed by the metric's name with each character outside
// [a-zA-Z0-9_] (the dots first) replaced by '_':
//   counter    "tcp.segments_in"    -> ferry_tcp_segments_in_total       (`_total` appended,
//              "proxy.sessions_total" -> ferry_proxy_sessions_total      not doubled)
//   gauge      "proxy.sessions_active" -> ferry_proxy_sessions_active    (no suffix)
//   histogram  "session_duration"   -> ferry_session_duration_seconds   (_bucket/_sum/_count,
//                                                                        in seconds)
// Colons are legal in Prometheus names but reserved for recording rules, so they are
// replaced too.
//
// Scopes and labels (label values escaped: \\, \" and \n):
//   Stats.global          unlabelled (but see workers below)
//   Stats.listeners       ferry_listener_<name>{listener="web"}, plus
//                         ferry_listener_info{listener,address,port,pool} 1
//   Stats.backends        ferry_backend_<name>{pool="web",backend="b1"}, plus
//                         ferry_backend_info{pool,backend,address,port} 1,
//                         ferry_backend_weight{pool,backend} and the one-hot
//                         ferry_backend_state{pool,backend,state="enabled"} 1, one series per
//                         state (enabled, disabled, draining, drained, removed), the others 0;
//                         all 0 when the state is unspecified or unknown to this build.
//   Stats.config_version  ferry_config_version (gauge)
// so ferry_listener_session_duration_seconds and ferry_backend_connect_time_seconds are the
// histograms ferryd exports today.
//
// Workers. When Stats.workers is empty every global metric is one unlabelled series (the sum
// over workers). When it is filled, a global metric that the workers also report is exported
// only as one {worker="N"} series per worker, under the same family name, and its unlabelled
// sum is left out: a family never holds both the sum and its parts, so sum(ferry_x) is the
// total in both modes and the family name does not change with the mode. (Stats.global is the
// sum of the workers' sets, so nothing is lost.) A global metric no worker reports stays
// unlabelled.
//
// Order. Deterministic: ferry_config_version, then the global families, the listener ones and
// the backend ones, each family at its first appearance in `stats` (for global metrics, the
// order of Stats.global, then of the workers' sets), its series in the order of Stats (workers,
// listeners, backends). Each family is written whole, its # HELP and # TYPE lines first.
//
// Conflicts. Every sample name belongs to one family. A metric whose family (or one of its
// sample names, such as a histogram's _count) is already taken with another type, or whose
// label set that family already holds (a pool listing one backend name twice), is left out
// and named on a "# ferry: dropped ..." comment line, which scrapers ignore: first wins.
// Scrapers refuse a whole exposition with a duplicate series, so dropping one is the lesser
// harm.
//
// Values: integers in decimal; doubles in the shortest form that reads back exactly (Go's
// strconv 'g', as Prometheus' own clients print them: 0.0001, 1e-05, 2.5, 60, +Inf, NaN).
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "ferry/v1/service.pb.h"

namespace ferry::control {

// The exposition of `stats`, in the format and with the names described above. Never fails:
// what cannot be exported is left out and named on a comment line.
std::string PrometheusText(const v1::Stats& stats);

// "ferry_" + `name` with every character outside [a-zA-Z0-9_] replaced by '_': a valid
// Prometheus metric name whatever `name` holds. Exposed for tests and for tools that must
// predict the names.
std::string PrometheusName(absl::string_view name);

// `v` as Go's strconv.FormatFloat(v, 'g', -1, 64) prints it ("+Inf", "-Inf", "NaN" for the
// special values): the shortest decimal that reads back as `v`.
std::string PrometheusDouble(double v);

}  // namespace ferry::control
