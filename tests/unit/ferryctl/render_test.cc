// Golden-output tests of what ferryctl prints (app/ferryctl/render.h): canned messages from
// testdata/*.textproto rendered as tables and JSON, compared byte for byte with golden/*.
//
// A mismatch fails with a unified diff from the golden file to what was rendered. When a
// format changes on purpose, regenerate the goldens and review them like code:
//   FERRY_UPDATE_GOLDEN=1 build-ctl/tests/unit/ferryctl/unit_ferryctl_render
// (or FERRY_UPDATE_GOLDEN=1 meson test -C BUILD ferryctl_render), then read the diff of
// tests/unit/ferryctl/golden/ before committing it.
#include "render.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "control/config.h"
#include "diff.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace ferry::ferryctl {
namespace {

const std::string kDir = std::string(FERRY_SOURCE_ROOT) + "/tests/unit/ferryctl/";

std::string ReadOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename Message>
Message Load(const std::string& name) {
  Message m;
  const std::string text = ReadOrEmpty(kDir + "testdata/" + name);
  EXPECT_FALSE(text.empty()) << "no testdata/" << name;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << "testdata/" << name;
  return m;
}

void ExpectGolden(const std::string& name, const std::string& rendered) {
  const std::string path = kDir + "golden/" + name;
  if (const char* update = std::getenv("FERRY_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << rendered;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "no golden file " << path << " (FERRY_UPDATE_GOLDEN=1 writes it)";
    return;
  }
  const std::string golden = ReadOrEmpty(path);
  if (golden != rendered) {
    ADD_FAILURE() << "rendered output differs from golden/" << name
                  << " (FERRY_UPDATE_GOLDEN=1 rewrites it):\n"
                  << UnifiedDiff(golden, rendered, "golden/" + name, "rendered", 2);
  }
}

std::string Json(const google::protobuf::Message& m, bool one_line = false) {
  absl::StatusOr<std::string> json = ToJson(m, one_line);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.value_or("");
}

// ---- status ------------------------------------------------------------------------------

TEST(RenderStatus, Table) {
  ExpectGolden("status.txt", RenderStatus(Load<v1::Status>("status.textproto")));
}

TEST(RenderStatus, Json) { ExpectGolden("status.json", Json(Load<v1::Status>("status.textproto"))); }

TEST(RenderStatus, EmptyStatusSaysSo) {
  const std::string out = RenderStatus(v1::Status());
  EXPECT_NE(out.find("no workers\n"), std::string::npos) << out;
  EXPECT_NE(out.find("no ports\n"), std::string::npos) << out;
}

// ---- stats -------------------------------------------------------------------------------

TEST(RenderStats, TableHidesZeroCounters) {
  ExpectGolden("stats.txt", RenderStats(Load<v1::Stats>("stats.textproto"), {}));
}

TEST(RenderStats, TableAllShowsZeroCounters) {
  ExpectGolden("stats_all.txt", RenderStats(Load<v1::Stats>("stats.textproto"), {.all = true}));
}

TEST(RenderStats, Json) { ExpectGolden("stats.json", Json(Load<v1::Stats>("stats.textproto"))); }

// --watch -o json: one object per line, so that `jq -c` and line readers take it as a stream.
TEST(RenderStats, WatchJsonIsOneLine) {
  const std::string line = Json(Load<v1::Stats>("stats.textproto"), /*one_line=*/true);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  ExpectGolden("stats_line.json", line);
}

TEST(RenderStats, NoListenersOrBackends) {
  const std::string out = RenderStats(v1::Stats(), {});
  EXPECT_NE(out.find("no listeners\n"), std::string::npos) << out;
  EXPECT_NE(out.find("no backends\n"), std::string::npos) << out;
}

TEST(RenderStats, EveryBackendStateHasAName) {
  for (int s = v1::BackendState_MIN; s <= v1::BackendState_MAX; ++s) {
    EXPECT_FALSE(BackendStateName(static_cast<v1::BackendState>(s)).empty());
  }
  EXPECT_EQ(BackendStateName(v1::BACKEND_STATE_DRAINING), "draining");
}

// ---- sessions ----------------------------------------------------------------------------

TEST(RenderSessions, Table) {
  const auto page = Load<v1::ListSessionsResponse>("sessions.textproto");
  ExpectGolden("sessions.txt", RenderSessions(page.sessions(), /*more=*/true));
}

TEST(RenderSessions, Json) {
  ExpectGolden("sessions.json", Json(Load<v1::ListSessionsResponse>("sessions.textproto")));
}

TEST(RenderSessions, NoneAndOne) {
  v1::ListSessionsResponse r;
  EXPECT_EQ(RenderSessions(r.sessions(), false), "no sessions\n");
  r.add_sessions()->set_listener("web");
  const std::string out = RenderSessions(r.sessions(), false);
  EXPECT_NE(out.find("\n1 session\n"), std::string::npos) << out;
}

// ---- config ------------------------------------------------------------------------------

TEST(RenderConfig, TextStartsWithVersion) {
  ExpectGolden("config.txt", RenderConfig(Load<v1::GetConfigResponse>("get_config.textproto")));
}

TEST(RenderConfig, Json) {
  ExpectGolden("config.json", Json(Load<v1::GetConfigResponse>("get_config.textproto")));
}

// config get's output is a valid config apply -f FILE, and reads back as the same config.
TEST(RenderConfig, OutputParsesBack) {
  const auto response = Load<v1::GetConfigResponse>("get_config.textproto");
  absl::StatusOr<v1::Config> back = control::ParseConfigText(RenderConfig(response), "get");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), response.config().SerializeAsString());
}

// config diff compares normalized texts: comments and field order do not show.
TEST(RenderConfig, DiffOfNormalizedConfigs) {
  const auto running = Load<v1::GetConfigResponse>("get_config.textproto");
  const auto edited = Load<v1::Config>("edited_config.textproto");
  ExpectGolden("config_diff.txt", UnifiedDiff(ConfigText(running.config()), ConfigText(edited),
                                              "running (version 7)", "edited.textproto"));
  EXPECT_EQ(UnifiedDiff(ConfigText(running.config()), ConfigText(running.config()), "a", "b"),
            "");
}

TEST(RenderChange, Table) {
  ExpectGolden("change.txt", RenderChange(Load<v1::ConfigChange>("change.textproto")));
}

TEST(RenderChange, Json) {
  ExpectGolden("change.json", Json(Load<v1::ConfigChange>("change.textproto")));
}

TEST(RenderChange, NothingChanged) {
  v1::ConfigChange c;
  c.set_previous_version(3);
  c.set_version(4);
  EXPECT_EQ(RenderChange(c), "config version 3 -> 4 (nothing changed)\n");
}

TEST(RenderValidation, EachOutcome) {
  v1::ValidateConfigResponse r;
  r.set_valid(true);
  r.set_live(true);
  EXPECT_EQ(RenderValidation(r, "c.textproto"), "c.textproto is valid and applies live\n");
  r.set_live(false);
  r.set_restart_field("workers.count");
  EXPECT_EQ(RenderValidation(r, "c.textproto"),
            "c.textproto is valid, but applying it needs a restart of ferryd (workers.count "
            "changes)\n");
  r.Clear();
  r.set_field("proxy.listeners[1].port");
  r.set_message("proxy.listeners[1].port: 0 is out of range 1..65535");
  EXPECT_EQ(RenderValidation(r, "c.textproto"),
            "c.textproto is invalid\n"
            "  field: proxy.listeners[1].port\n"
            "  error: proxy.listeners[1].port: 0 is out of range 1..65535\n");
}

TEST(JsonQuote, EscapesWhatJsonNeeds) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

}  // namespace
}  // namespace ferry::ferryctl
