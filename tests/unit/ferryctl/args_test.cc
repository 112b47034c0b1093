// ferryctl's command line (app/ferryctl/args.h): what parses, and what is a usage error
// (exit 2) with a message that names the verb and where to read more.
#include "args.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::StatusOr<Invocation> Parse(std::vector<std::string> argv, const char* env = nullptr) {
  return ParseCommandLine(argv, env);
}

// The usage error for `argv`, which must not parse.
std::string Error(std::vector<std::string> argv) {
  absl::StatusOr<Invocation> inv = Parse(argv);
  EXPECT_FALSE(inv.ok()) << "parsed: " << ::testing::PrintToString(argv);
  if (inv.ok()) return "";
  EXPECT_EQ(inv.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(inv.status().message());
}

// ---- what parses -------------------------------------------------------------------------

TEST(Parse, VerbWithDefaults) {
  auto inv = Parse({"status"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command->name, "status");
  EXPECT_EQ(inv->global.socket, "/run/ferry/ferry.sock");
  EXPECT_EQ(inv->global.address, "");
  EXPECT_EQ(inv->global.output, OutputFormat::kTable);
  EXPECT_EQ(inv->global.timeout, absl::Seconds(5));
  EXPECT_FALSE(inv->help);
}

TEST(Parse, EnvironmentSocketIsTheDefaultAndFlagWins) {
  auto inv = Parse({"status"}, "/tmp/f.sock");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->global.socket, "/tmp/f.sock");
  inv = Parse({"status", "--socket", "/x.sock"}, "/tmp/f.sock");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->global.socket, "/x.sock");
}

TEST(Parse, GlobalFlagsBeforeAndAfterTheVerb) {
  auto inv = Parse({"-o", "json", "--socket=/s", "backend", "weight", "web", "b1", "5",
                    "--timeout", "250ms", "--expected-version", "7"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command->name, "backend weight");
  EXPECT_EQ(inv->args, (std::vector<std::string>{"web", "b1", "5"}));
  EXPECT_EQ(inv->global.output, OutputFormat::kJson);
  EXPECT_EQ(inv->global.socket, "/s");
  EXPECT_EQ(inv->global.timeout, absl::Milliseconds(250));
  EXPECT_EQ(inv->Uint("expected-version", 0), 7u);
}

TEST(Parse, ShortFlagsAttachedOrNot) {
  auto inv = Parse({"config", "apply", "-fc.textproto", "-ojson"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->String("file"), "c.textproto");
  EXPECT_EQ(inv->global.output, OutputFormat::kJson);
  inv = Parse({"config", "validate", "-f", "-"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->String("file"), "-");
}

TEST(Parse, BackendAddFlags) {
  auto inv = Parse({"backend", "add", "web", "198.18.1.10:8080", "--name", "b4", "--weight=3",
                    "--max-sessions", "100", "--disabled"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->String("name"), "b4");
  EXPECT_EQ(inv->Uint("weight", 0), 3u);
  EXPECT_EQ(inv->Uint("max-sessions", 0), 100u);
  EXPECT_TRUE(inv->Has("disabled"));
  EXPECT_FALSE(inv->Has("expected-version"));
}

TEST(Parse, DoubleDashEndsFlags) {
  // A backend name that starts with '-' can still be named.
  auto inv = Parse({"backend", "remove", "--", "web", "-odd"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->args, (std::vector<std::string>{"web", "-odd"}));
}

TEST(Parse, WatchFlags) {
  auto inv = Parse({"stats", "--watch", "--interval", "2s", "--count", "3", "--per-worker"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->Duration("interval", absl::Seconds(1)), absl::Seconds(2));
  EXPECT_EQ(inv->Uint("count", 0), 3u);
}

TEST(Parse, HelpAnywhereWinsOverMissingArguments) {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"backend", "add", "--help"}, {"--help", "config", "apply"},
           {"config", "--help"}, {"sessions", "-h", "--bogus-value-is-not-read"}}) {
    // (An unknown flag is still an error even with --help: the last case must fail.)
    auto inv = Parse(argv);
    if (argv.back() == "--bogus-value-is-not-read") {
      EXPECT_FALSE(inv.ok());
      continue;
    }
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_TRUE(inv->help);
  }
}

// ---- help --------------------------------------------------------------------------------

TEST(Help, TopLevelListsVerbsExitCodesAndTheSocket) {
  const std::string help = HelpText(*Parse({"--help"}));
  for (const CommandSpec& c : Commands()) EXPECT_THAT(help, HasSubstr(std::string(c.name)));
  EXPECT_THAT(help, HasSubstr("/run/ferry/ferry.sock"));
  EXPECT_THAT(help, HasSubstr("FERRY_SOCKET"));
  EXPECT_THAT(help, HasSubstr("3  the appliance is unreachable"));
}

TEST(Help, EveryVerbHasHelpWithItsFlags) {
  for (const CommandSpec& c : Commands()) {
    std::vector<std::string> argv = absl::StrSplit(c.name, ' ');
    argv.push_back("--help");
    auto inv = Parse(argv);
    ASSERT_TRUE(inv.ok()) << c.name << ": " << inv.status();
    ASSERT_EQ(inv->command, &c);
    const std::string help = HelpText(*inv);
    EXPECT_THAT(help, StartsWith(absl::StrCat("Usage: ferryctl ", c.name))) << help;
    for (absl::string_view flag : c.flags) {
      EXPECT_THAT(help, HasSubstr(absl::StrCat("--", flag))) << c.name;
    }
    EXPECT_THAT(help, HasSubstr("--socket")) << c.name;
  }
}

TEST(Help, GroupListsItsVerbs) {
  const std::string help = HelpText(*Parse({"backend", "--help"}));
  EXPECT_THAT(help, HasSubstr("backend drain"));
  EXPECT_THAT(help, ::testing::Not(HasSubstr("config apply")));
}

// ---- usage errors (exit 2) -----------------------------------------------------------------

TEST(UsageErrors, NoVerb) {
  EXPECT_EQ(Error({}), "ferryctl: no verb given\nsee 'ferryctl --help'");
}

TEST(UsageErrors, UnknownVerbAndSubVerb) {
  EXPECT_EQ(Error({"stauts"}), "ferryctl: unknown verb \"stauts\"\nsee 'ferryctl --help'");
  EXPECT_EQ(Error({"config", "show"}),
            "ferryctl: config: unknown verb \"show\" (get, validate, apply, diff)\n"
            "see 'ferryctl config --help'");
  EXPECT_EQ(Error({"backend"}),
            "ferryctl: backend: which one? add, remove, weight, enable, disable, drain\n"
            "see 'ferryctl backend --help'");
}

TEST(UsageErrors, UnknownFlag) {
  EXPECT_EQ(Error({"status", "--verbose"}),
            "ferryctl: unknown flag --verbose\nsee 'ferryctl --help'");
  EXPECT_EQ(Error({"status", "-x"}), "ferryctl: unknown flag -x\nsee 'ferryctl --help'");
}

TEST(UsageErrors, FlagOfAnotherVerb) {
  EXPECT_EQ(Error({"status", "--watch"}),
            "ferryctl: status: --watch does not apply to status\nsee 'ferryctl status --help'");
}

TEST(UsageErrors, MissingAndExtraArguments) {
  EXPECT_EQ(Error({"backend", "add", "web"}),
            "ferryctl: backend add: missing ADDRESS:PORT\nsee 'ferryctl backend add --help'");
  EXPECT_EQ(Error({"backend", "weight", "web", "b1"}),
            "ferryctl: backend weight: missing W\nsee 'ferryctl backend weight --help'");
  EXPECT_EQ(Error({"status", "now"}),
            "ferryctl: status: unexpected argument \"now\"\nsee 'ferryctl status --help'");
  EXPECT_THAT(Error({"config", "apply"}), StartsWith("ferryctl: config apply: missing -f FILE"));
}

TEST(UsageErrors, FlagValues) {
  EXPECT_THAT(Error({"status", "--socket"}), HasSubstr("--socket needs a value (PATH)"));
  EXPECT_THAT(Error({"status", "-o", "yaml"}), HasSubstr("\"yaml\" is not table or json"));
  EXPECT_THAT(Error({"status", "--timeout", "5"}), HasSubstr("is not a duration"));
  EXPECT_THAT(Error({"status", "--timeout", "-1s"}), HasSubstr("is not a duration"));
  EXPECT_THAT(Error({"sessions", "--limit", "ten"}), HasSubstr("is not a whole number"));
  EXPECT_THAT(Error({"sessions", "--limit", "-1"}), HasSubstr("is not a whole number"));
  EXPECT_THAT(Error({"stats", "--watch=yes"}), HasSubstr("--watch takes no value"));
}

TEST(UsageErrors, WatchOnlyFlags) {
  EXPECT_EQ(Error({"stats", "--count", "3"}),
            "ferryctl: stats: --count needs --watch\nsee 'ferryctl stats --help'");
}

}  // namespace
}  // namespace ferry::ferryctl
