// What ferryctl prints: protobuf messages from ferryd turned into tables for people or JSON for
// scripts. Pure functions (no I/O, no clock: times come in the messages), so that the golden
// tests (tests/unit/ferryctl/render_test.cc) pin every format down.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "ferry/v1/config.pb.h"
#include "ferry/v1/service.pb.h"
#include "google/protobuf/message.h"

namespace ferry::ferryctl {

// status: a summary, a workers table and a ports table.
std::string RenderStatus(const v1::Status& status);

// A config in text format as ferryd and `config apply -f` read it. Two configs that mean the
// same print the same (comments, field order and spacing of the source are gone): what
// `config diff` compares.
std::string ConfigText(const v1::Config& config);
// config get: "# version N" and the config's text.
std::string RenderConfig(const v1::GetConfigResponse& response);
// config validate: whether `file` is valid, live or not, or its fault.
std::string RenderValidation(const v1::ValidateConfigResponse& response, absl::string_view file);
// config apply and the backend verbs: the version step and what changed.
std::string RenderChange(const v1::ConfigChange& change);

struct StatsOptions {
  bool all = false;  // every global and per-worker counter, zeros included
};
// stats: global counters and histograms, each worker's counters (when the Stats has them),
// then listeners and backends.
std::string RenderStats(const v1::Stats& stats, const StatsOptions& options);

// sessions: one line per session and a count; `more` says the list was cut at --limit.
std::string RenderSessions(const google::protobuf::RepeatedPtrField<v1::Session>& sessions,
                           bool more);

// protobuf's JSON mapping with field names as in the .proto and every field present, zeros
// included. Pretty (two-space indent, ending in '\n') or `one_line` (no newline inside, '\n'
// at the end). uint64 fields are strings, as proto3's mapping says.
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message, bool one_line);

// `s` as a JSON string, quotes included.
std::string JsonQuote(absl::string_view s);

// Names people read.
absl::string_view BackendStateName(v1::BackendState state);
absl::string_view SessionStateName(v1::SessionState state);

}  // namespace ferry::ferryctl
