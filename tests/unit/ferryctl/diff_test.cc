// The line diff of app/ferryctl/diff.h, checked against what `diff -u` prints.
#include "diff.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ferry::ferryctl {
namespace {

std::string Lines(int from, int to) {
  std::string s;
  for (int i = from; i <= to; ++i) absl::StrAppend(&s, "line ", i, "\n");
  return s;
}

TEST(UnifiedDiff, EqualTextsGiveNothing) {
  EXPECT_EQ(UnifiedDiff("", "", "a", "b"), "");
  EXPECT_EQ(UnifiedDiff("x\ny\n", "x\ny\n", "a", "b"), "");
}

TEST(UnifiedDiff, OneChangeWithContext) {
  const std::string a = Lines(1, 10);
  std::string b = a;
  b.replace(b.find("line 5\n"), 7, "five\n");
  EXPECT_EQ(UnifiedDiff(a, b, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -2,7 +2,7 @@\n"
            " line 2\n line 3\n line 4\n-line 5\n+five\n line 6\n line 7\n line 8\n");
}

TEST(UnifiedDiff, FarApartChangesMakeTwoHunks) {
  const std::string a = Lines(1, 20);
  std::string b = a;
  b.replace(b.find("line 2\n"), 7, "");
  b += "line 21\n";
  EXPECT_EQ(UnifiedDiff(a, b, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,5 +1,4 @@\n line 1\n-line 2\n line 3\n line 4\n line 5\n"
            "@@ -18,3 +17,4 @@\n line 18\n line 19\n line 20\n+line 21\n");
}

TEST(UnifiedDiff, CloseChangesShareAHunk) {
  const std::string a = Lines(1, 12);
  std::string b = a;
  b.replace(b.find("line 3\n"), 7, "three\n");
  b.replace(b.find("line 8\n"), 7, "eight\n");
  EXPECT_EQ(UnifiedDiff(a, b, "a", "b"),
            "--- a\n+++ b\n@@ -1,11 +1,11 @@\n line 1\n line 2\n-line 3\n+three\n line 4\n"
            " line 5\n line 6\n line 7\n-line 8\n+eight\n line 9\n line 10\n line 11\n");
}

// diff -u numbers an empty side by the line before it.
TEST(UnifiedDiff, FromAndToNothing) {
  EXPECT_EQ(UnifiedDiff("", "a\nb\n", "x", "y"), "--- x\n+++ y\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  EXPECT_EQ(UnifiedDiff("a\n", "", "x", "y"), "--- x\n+++ y\n@@ -1 +0,0 @@\n-a\n");
}

TEST(DiffLines, IsShortest) {
  // abcabba -> cbabac: the paper's example, D = 5.
  std::vector<absl::string_view> a = {"a", "b", "c", "a", "b", "b", "a"};
  std::vector<absl::string_view> b = {"c", "b", "a", "b", "a", "c"};
  const std::vector<DiffLine> script = DiffLines(a, b);
  int edits = 0;
  std::vector<absl::string_view> rebuilt_a, rebuilt_b;
  for (const DiffLine& l : script) {
    if (l.op != DiffLine::Op::kEqual) ++edits;
    if (l.op != DiffLine::Op::kInsert) rebuilt_a.push_back(l.text);
    if (l.op != DiffLine::Op::kDelete) rebuilt_b.push_back(l.text);
  }
  EXPECT_EQ(edits, 5);
  EXPECT_EQ(rebuilt_a, a);
  EXPECT_EQ(rebuilt_b, b);
}

// A large config with one edit stays cheap: prefix and suffix are taken off first.
TEST(DiffLines, LargeInputSmallEdit) {
  const std::string a = Lines(1, 200000);
  std::string b = a;
  b.replace(b.find("line 100000\n"), 12, "changed\n");
  const std::string diff = UnifiedDiff(a, b, "a", "b");
  EXPECT_NE(diff.find("-line 100000\n+changed\n"), std::string::npos);
}

}  // namespace
}  // namespace ferry::ferryctl
