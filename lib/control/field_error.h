// The shape of every validation error in lib/control: InvalidArgument whose message is
// "<field path>: <what is wrong with the value>" (STYLE.md habit 5), and the checks several
// sections share (ranges, names, ordering rules). Used by the validators of
// config_validate.cc, tcp_config.cc and proxy_config.cc.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ferry::control {

inline absl::Status FieldError(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

// OK if lo <= value <= hi, or if value is 0 and `zero_means_default`. Otherwise
// "<path>: <value> is out of range <lo>..<hi>[ (or 0 for the default)]".
inline absl::Status CheckRange(absl::string_view path, uint64_t value, uint64_t lo, uint64_t hi,
                               bool zero_means_default) {
  if (zero_means_default && value == 0) return absl::OkStatus();
  if (value < lo || value > hi) {
    return FieldError(path, absl::StrCat(value, " is out of range ", lo, "..", hi,
                                         zero_means_default ? " (or 0 for the default)" : ""));
  }
  return absl::OkStatus();
}

// Names of interfaces, pools, listeners and backends: 1-32 letters, digits, _ - . (they appear
// in logs, counters and file prefixes).
inline bool NameIsValid(absl::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// The other field of an ordering rule as the operator wrote it or as it defaulted:
// "tcp.rto_initial_ms (300)" or "tcp.rto_initial_ms (1000, the default)".
inline std::string Describe(absl::string_view path, uint64_t effective, bool set) {
  return absl::StrCat(path, " (", effective, set ? ")" : ", the default)");
}

}  // namespace ferry::control
