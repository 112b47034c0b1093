// Control-path logging: one line per call on stderr, formatted only when the level is on.
// Never used on the packet path: the data path counts (base/counters.h) and the control
// thread logs what the counters say.
#pragma once

#include <string_view>

#include "absl/strings/str_format.h"

namespace ferry::base {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Process-wide threshold, set once at start-up from --log_level before any thread starts.
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Parses "debug", "info", "warning", "error"; returns false (and leaves `out`) otherwise.
bool ParseLogLevel(std::string_view text, LogLevel* out);

// Writes one whole line (single write(2), so lines from threads never interleave).
void LogLine(LogLevel level, const char* file, int line, std::string_view message);

}  // namespace ferry::base

// FERRY_LOG(kInfo, "port %s up at %d Mbps", name, speed);  format checked at compile time.
#define FERRY_LOG(level, ...)                                                          \
  do {                                                                                 \
    if (::ferry::base::LogEnabled(::ferry::base::LogLevel::level))                     \
      ::ferry::base::LogLine(::ferry::base::LogLevel::level, __FILE__, __LINE__,       \
                             ::absl::StrFormat(__VA_ARGS__));                          \
  } while (0)
