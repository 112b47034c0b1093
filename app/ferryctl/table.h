// Plain-text tables and the number formats ferryctl shows people. Pure: no I/O, no clock.
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace ferry::ferryctl {

// Columns padded to their widest cell, two spaces apart, numbers right-aligned so that their
// digits line up; no trailing spaces.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // A row must have one cell per column.
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }

  // The header line and one line per row, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "850ms", "12.3s", "5m03s", "2h05m", "3d04h": two units at most, for ages and uptimes.
std::string FormatMillis(uint64_t ms);
// "0 B", "512 B", "1.5 KiB", "3.2 MiB", ... (IEC units).
std::string FormatBytes(uint64_t bytes);
// A latency from a histogram: "350us", "1.2ms", "2.50s"; "-" when `has_value` is false.
std::string FormatSeconds(double seconds, bool has_value = true);
// A UTC time from Unix milliseconds: "2026-11-23 17:58:06 UTC"; "-" for 0.
std::string FormatUnixMillis(uint64_t unix_ms);

}  // namespace ferry::ferryctl
