#include "diff.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ferry::ferryctl {
namespace {

using Op = DiffLine::Op;

std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  // A text ending in '\n' has no line after it.
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Myers on a[0..n) and b[0..m), appending the script to `out`. trace[d] keeps V after step d
// for diagonals -d..d only (index k + d), so memory grows with D², not D·(N+M).
void Myers(const std::vector<absl::string_view>& a, size_t a0, size_t n,
           const std::vector<absl::string_view>& b, size_t b0, size_t m,
           std::vector<DiffLine>& out) {
  const long max = static_cast<long>(n + m);
  std::vector<long> v(2 * static_cast<size_t>(max) + 3, 0);
  const auto V = [&](long k) -> long& { return v[static_cast<size_t>(k + max + 1)]; };
  std::vector<std::vector<long>> trace;
  long d_end = 0;
  for (long d = 0; d <= max; ++d) {
    bool done = false;
    for (long k = -d; k <= d; k += 2) {
      long x = (k == -d || (k != d && V(k - 1) < V(k + 1))) ? V(k + 1) : V(k - 1) + 1;
      long y = x - k;
      while (x < static_cast<long>(n) && y < static_cast<long>(m) &&
             a[a0 + static_cast<size_t>(x)] == b[b0 + static_cast<size_t>(y)]) {
        ++x;
        ++y;
      }
      V(k) = x;
      if (x >= static_cast<long>(n) && y >= static_cast<long>(m)) done = true;
    }
    trace.emplace_back(v.begin() + (max + 1 - d), v.begin() + (max + 1 + d + 1));
    if (done) {
      d_end = d;
      break;
    }
  }
  // Walk back from (n, m), collecting the script in reverse.
  std::vector<DiffLine> rev;
  long x = static_cast<long>(n), y = static_cast<long>(m);
  for (long d = d_end; d > 0; --d) {
    const std::vector<long>& prev = trace[static_cast<size_t>(d - 1)];
    const auto P = [&](long k) { return prev[static_cast<size_t>(k + d - 1)]; };
    const long k = x - y;
    const long prev_k = (k == -d || (k != d && P(k - 1) < P(k + 1))) ? k + 1 : k - 1;
    const long prev_x = P(prev_k);
    const long prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) {
      rev.push_back({Op::kEqual, a[a0 + static_cast<size_t>(x - 1)]});
      --x;
      --y;
    }
    if (prev_k == k + 1) {
      rev.push_back({Op::kInsert, b[b0 + static_cast<size_t>(y - 1)]});
    } else {
      rev.push_back({Op::kDelete, a[a0 + static_cast<size_t>(x - 1)]});
    }
    x = prev_x;
    y = prev_y;
  }
  while (x > 0 && y > 0) {
    rev.push_back({Op::kEqual, a[a0 + static_cast<size_t>(x - 1)]});
    --x;
    --y;
  }
  out.insert(out.end(), rev.rbegin(), rev.rend());
}

}  // namespace

std::vector<DiffLine> DiffLines(const std::vector<absl::string_view>& a,
                                const std::vector<absl::string_view>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  std::vector<DiffLine> out;
  for (size_t i = 0; i < prefix; ++i) out.push_back({Op::kEqual, a[i]});
  Myers(a, prefix, a.size() - prefix - suffix, b, prefix, b.size() - prefix - suffix, out);
  for (size_t i = a.size() - suffix; i < a.size(); ++i) out.push_back({Op::kEqual, a[i]});
  return out;
}

std::string UnifiedDiff(absl::string_view a, absl::string_view b, absl::string_view a_label,
                        absl::string_view b_label, int context) {
  const std::vector<absl::string_view> a_lines = SplitLines(a);
  const std::vector<absl::string_view> b_lines = SplitLines(b);
  const std::vector<DiffLine> script = DiffLines(a_lines, b_lines);
  const size_t ctx = static_cast<size_t>(std::max(context, 0));

  std::string out;
  size_t i = 0;
  // Line numbers (from 0) in a and b of script[i].
  size_t a_line = 0, b_line = 0;
  std::vector<size_t> a_at(script.size() + 1), b_at(script.size() + 1);
  for (size_t j = 0; j < script.size(); ++j) {
    a_at[j] = a_line;
    b_at[j] = b_line;
    if (script[j].op != Op::kInsert) ++a_line;
    if (script[j].op != Op::kDelete) ++b_line;
  }
  a_at[script.size()] = a_line;
  b_at[script.size()] = b_line;

  while (i < script.size()) {
    if (script[i].op == Op::kEqual) {
      ++i;
      continue;
    }
    // A hunk: from `ctx` lines before this change to `ctx` lines after the last change that
    // is at most 2·ctx equal lines from the one before it.
    const size_t start = i > ctx ? i - ctx : 0;
    size_t end = i;  // one past the last change
    size_t j = i;
    while (j < script.size()) {
      if (script[j].op != Op::kEqual) {
        end = j + 1;
        ++j;
        continue;
      }
      size_t run = j;
      while (run < script.size() && script[run].op == Op::kEqual) ++run;
      if (run == script.size() || run - j > 2 * ctx) break;
      j = run;
    }
    const size_t stop = std::min(script.size(), end + ctx);
    if (out.empty()) absl::StrAppend(&out, "--- ", a_label, "\n+++ ", b_label, "\n");
    const size_t a_len = a_at[stop] - a_at[start];
    const size_t b_len = b_at[stop] - b_at[start];
    // diff -u numbers an empty side by the line before it, and leaves out a length of 1.
    const auto range = [](size_t from, size_t len) {
      const size_t first = len == 0 ? from : from + 1;
      return len == 1 ? absl::StrCat(first) : absl::StrCat(first, ",", len);
    };
    absl::StrAppend(&out, "@@ -", range(a_at[start], a_len), " +", range(b_at[start], b_len),
                    " @@\n");
    for (size_t k = start; k < stop; ++k) {
      const char mark = script[k].op == Op::kEqual ? ' ' : script[k].op == Op::kDelete ? '-' : '+';
      absl::StrAppend(&out, absl::string_view(&mark, 1), script[k].text, "\n");
    }
    i = stop;
  }
  return out;
}

}  // namespace ferry::ferryctl
