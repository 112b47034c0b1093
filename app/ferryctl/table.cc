#include "table.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace ferry::ferryctl {

std::string Table::Render() const {
  std::vector<size_t> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) widths[c] = columns_[c].header.size();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < columns_.size() && c < row.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  }
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      if (c > 0) l += "  ";
      const std::string pad(widths[c] - cell.size(), ' ');
      // Headers of number columns sit over the digits' right edge, as `ps` and `df` do.
      if (columns_[c].align == Align::kRight) {
        l += pad + cell;
      } else {
        l += cell + pad;
      }
    }
    l.erase(l.find_last_not_of(' ') + 1);
    out += l;
    out += '\n';
  };
  std::vector<std::string> headers;
  for (const Column& c : columns_) headers.push_back(c.header);
  line(headers);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string FormatMillis(uint64_t ms) {
  if (ms < 1000) return absl::StrFormat("%dms", ms);
  if (ms < 60'000) return absl::StrFormat("%.1fs", static_cast<double>(ms) / 1000.0);
  const uint64_t s = ms / 1000;
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60);
  return absl::StrFormat("%dd%02dh", s / 86400, s / 3600 % 24);
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrFormat("%d B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  return absl::StrFormat(v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
}

std::string FormatSeconds(double seconds, bool has_value) {
  if (!has_value || std::isnan(seconds)) return "-";
  if (std::isinf(seconds)) return "inf";
  if (seconds < 1e-3) return absl::StrFormat("%.0fus", seconds * 1e6);
  if (seconds < 1.0) return absl::StrFormat("%.1fms", seconds * 1e3);
  if (seconds < 60.0) return absl::StrFormat("%.2fs", seconds);
  return absl::StrFormat("%.0fs", seconds);
}

std::string FormatUnixMillis(uint64_t unix_ms) {
  if (unix_ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixMillis(static_cast<int64_t>(unix_ms)), absl::UTCTimeZone());
}

}  // namespace ferry::ferryctl
