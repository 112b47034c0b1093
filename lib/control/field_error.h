// The shape of every validation error in lib/control: InvalidArgument whose message is
// "<field path>: <what is wrong with the value>" (STYLE.md habit 5), and the range check most
// fields need. Shared by the validators of config_validate.cc and tcp_config.cc.
#pragma once

#include <cstdint>

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

}  // namespace ferry::control
