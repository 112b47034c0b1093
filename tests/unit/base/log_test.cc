#include "base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace ferry::base {
namespace {

// Captures what is written to stderr while `fn` runs.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  char path[] = "/tmp/ferry-log-test-XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  unlink(path);
  return out;
}

TEST(Log, ParsesLevels) {
  LogLevel l;
  EXPECT_TRUE(ParseLogLevel("warning", &l));
  EXPECT_EQ(l, LogLevel::kWarning);
  EXPECT_FALSE(ParseLogLevel("loud", &l));
  EXPECT_EQ(l, LogLevel::kWarning);
}

TEST(Log, WritesOneLineWithLevelFileAndMessage) {
  SetLogLevel(LogLevel::kInfo);
  const std::string out = CaptureStderr([] { FERRY_LOG(kInfo, "port %s up at %d Mbps", "lan0", 100); });
  EXPECT_NE(out.find(" info log_test.cc:"), std::string::npos) << out;
  EXPECT_NE(out.find("] port lan0 up at 100 Mbps\n"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

// Below the threshold the arguments are not even evaluated: logging left in costs a branch.
TEST(Log, BelowThresholdNothingIsFormattedOrWritten) {
  SetLogLevel(LogLevel::kWarning);
  int evaluated = 0;
  auto arg = [&] { ++evaluated; return 1; };
  const std::string out = CaptureStderr([&] { FERRY_LOG(kInfo, "%d", arg()); });
  EXPECT_EQ(out, "");
  EXPECT_EQ(evaluated, 0);
  SetLogLevel(LogLevel::kInfo);
}

}  // namespace
}  // namespace ferry::base
