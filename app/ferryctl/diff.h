// Line diffs for `ferryctl config diff` (and the golden tests' mismatch reports).
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace ferry::ferryctl {

struct DiffLine {
  enum class Op { kEqual, kDelete, kInsert };
  Op op;
  absl::string_view text;  // points into the inputs
};

// A shortest edit script turning `a` into `b` (Myers' O(ND) algorithm, "An O(ND) Difference
// Algorithm and Its Variations", 1986), common prefix and suffix taken off first, so that the
// usual small edit of a large config costs little.
std::vector<DiffLine> DiffLines(const std::vector<absl::string_view>& a,
                                const std::vector<absl::string_view>& b);

// The unified diff of two texts (lines split at '\n'), as `diff -u` prints it: "--- a_label",
// "+++ b_label", hunks "@@ -l,n +l,n @@" with `context` lines around each change. Empty when
// the texts are equal.
std::string UnifiedDiff(absl::string_view a, absl::string_view b, absl::string_view a_label,
                        absl::string_view b_label, int context = 3);

}  // namespace ferry::ferryctl
