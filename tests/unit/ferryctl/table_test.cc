// The table layout and number formats of app/ferryctl/table.h.
#include "table.h"

#include "gtest/gtest.h"

namespace ferry::ferryctl {
namespace {

TEST(Table, PadsColumnsAndAlignsNumbersRight) {
  Table t({{"NAME"}, {"VALUE", Table::Align::kRight}, {"NOTE"}});
  t.AddRow({"a", "1", ""});
  t.AddRow({"longer", "12345", "x"});
  EXPECT_EQ(t.Render(),
            "NAME    VALUE  NOTE\n"
            "a           1\n"
            "longer  12345  x\n");
}

TEST(Format, Millis) {
  EXPECT_EQ(FormatMillis(0), "0ms");
  EXPECT_EQ(FormatMillis(999), "999ms");
  EXPECT_EQ(FormatMillis(12'340), "12.3s");
  EXPECT_EQ(FormatMillis(303'000), "5m03s");
  EXPECT_EQ(FormatMillis(7'500'000), "2h05m");
  EXPECT_EQ(FormatMillis(273'906'000), "3d04h");
}

TEST(Format, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(52428800), "50 MiB");
  EXPECT_EQ(FormatBytes(UINT64_MAX), "16 EiB");
}

TEST(Format, Seconds) {
  EXPECT_EQ(FormatSeconds(0.00031), "310us");
  EXPECT_EQ(FormatSeconds(0.0123), "12.3ms");
  EXPECT_EQ(FormatSeconds(4.2), "4.20s");
  EXPECT_EQ(FormatSeconds(71.5), "72s");
  EXPECT_EQ(FormatSeconds(1.0, false), "-");
}

TEST(Format, UnixMillis) {
  EXPECT_EQ(FormatUnixMillis(1795456686000), "2026-11-23 17:58:06 UTC");
  EXPECT_EQ(FormatUnixMillis(0), "-");
}

}  // namespace
}  // namespace ferry::ferryctl
