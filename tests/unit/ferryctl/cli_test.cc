// The real ferryctl binary against an in-process fake of the service (ferry.v1.Ferry) on a
// temporary Unix socket: what each verb prints and exits with, end to end. The answers are the
// canned messages of testdata/, so table and JSON output must equal the goldens of
// render_test.cc. (Tests against the real ferryd are the integration suite's.)
//
// The binary comes from $FERRYCTL (meson's test env).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "ferry/v1/service.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

extern char** environ;

namespace ferry::ferryctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kDir = std::string(FERRY_SOURCE_ROOT) + "/tests/unit/ferryctl/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename Message>
Message Load(const std::string& name) {
  Message m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(ReadFile(kDir + "testdata/" + name),
                                                            &m))
      << name;
  return m;
}

// Canned answers; the requests that change something are kept for the tests to look at.
class FakeFerry final : public v1::Ferry::Service {
 public:
  static constexpr uint64_t kVersion = 7;

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::Status* response) override {
    *response = Load<v1::Status>("status.textproto");
    return grpc::Status::OK;
  }
  grpc::Status GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                         v1::GetConfigResponse* response) override {
    *response = Load<v1::GetConfigResponse>("get_config.textproto");
    return grpc::Status::OK;
  }
  grpc::Status ValidateConfig(grpc::ServerContext*, const v1::ValidateConfigRequest* request,
                              v1::ValidateConfigResponse* response) override {
    if (request->config().workers().count() > 64) {
      response->set_field("workers.count");
      response->set_message(
          absl::StrCat("workers.count: ", request->config().workers().count(),
                       " is out of range 1..64"));
      return grpc::Status::OK;
    }
    response->set_valid(true);
    response->set_live(true);
    return grpc::Status::OK;
  }
  grpc::Status ApplyConfig(grpc::ServerContext*, const v1::ApplyConfigRequest* request,
                           v1::ConfigChange* response) override {
    if (request->expected_version() != 0 && request->expected_version() != kVersion) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          absl::StrCat("the running config is version ", kVersion, ", not ",
                                       request->expected_version()));
    }
    *response = Load<v1::ConfigChange>("change.textproto");
    return grpc::Status::OK;
  }
  grpc::Status AddBackend(grpc::ServerContext*, const v1::AddBackendRequest* request,
                          v1::ConfigChange* response) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_add_ = *request;
    }
    if (request->pool() != "web") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("pool \"", request->pool(), "\" is not in the config"));
    }
    response->set_previous_version(kVersion);
    response->set_version(kVersion + 1);
    response->add_changes(absl::StrCat("backend web/", request->backend().name(), " added"));
    return grpc::Status::OK;
  }
  grpc::Status DrainBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                            v1::ConfigChange* response) override {
    response->set_previous_version(kVersion);
    response->set_version(kVersion + 1);
    response->add_changes(
        absl::StrCat("backend ", request->pool(), "/", request->backend(), " draining"));
    return grpc::Status::OK;
  }
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*,
                        v1::Stats* response) override {
    *response = Load<v1::Stats>("stats.textproto");
    return grpc::Status::OK;
  }
  grpc::Status WatchStats(grpc::ServerContext* context, const v1::WatchStatsRequest* request,
                          grpc::ServerWriter<v1::Stats>* writer) override {
    v1::Stats stats = Load<v1::Stats>("stats.textproto");
    for (uint32_t sent = 0; request->count() == 0 || sent < request->count(); ++sent) {
      if (context->IsCancelled() || !writer->Write(stats)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(request->interval_ms()));
    }
    return grpc::Status::OK;
  }
  // 10 sessions, pages as asked; the page token is the index of the next session.
  grpc::Status ListSessions(grpc::ServerContext*, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++list_calls_;
    }
    int from = 0;
    if (!request->page_token().empty()) from = std::stoi(request->page_token());
    const int size = request->page_size() == 0 ? 100 : static_cast<int>(request->page_size());
    const int to = std::min(10, from + size);
    for (int i = from; i < to; ++i) {
      v1::Session* s = response->add_sessions();
      s->set_worker(static_cast<uint32_t>(i % 2));
      s->set_listener("web");
      s->set_client(absl::StrCat("198.18.0.", 100 + i, ":40000"));
      s->set_state(v1::SESSION_STATE_SPLICED);
    }
    if (to < 10) response->set_next_page_token(absl::StrCat(to));
    return grpc::Status::OK;
  }

  v1::AddBackendRequest last_add() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_add_;
  }
  int list_calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_;
  }

 private:
  std::mutex mu_;
  v1::AddBackendRequest last_add_;
  int list_calls_ = 0;
};

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ferryctl_cli_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    socket_ = new std::string(*dir_ + "/ferry.sock");
    service_ = new FakeFerry();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + *socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    delete server_;
    delete service_;
    for (const char* f : {"/ferry.sock", "/out", "/err", "/in", "/stale.sock", "/c.textproto"}) {
      unlink((*dir_ + f).c_str());
    }
    rmdir(dir_->c_str());
  }

  static std::string Binary() {
    const char* path = std::getenv("FERRYCTL");
    return path ? path : "";
  }

  void SetUp() override {
    if (Binary().empty()) GTEST_SKIP() << "FERRYCTL is not set (meson test sets it)";
  }

  // Starts ferryctl with `args` (stdout, stderr and stdin in files under dir_). Returns its pid.
  static pid_t Start(std::vector<std::string> args, bool with_socket = true) {
    if (with_socket) {
      args.push_back("--socket");
      args.push_back(*socket_);
    }
    std::vector<std::string> argv = {Binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(std::move(argv));
  }

  // Runs argv[0] (a path) with stdin, stdout and stderr in files under dir_.
  static pid_t Spawn(std::vector<std::string> argv) {
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::ofstream(*dir_ + "/in").flush();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, (*dir_ + "/in").c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (*dir_ + "/out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (*dir_ + "/err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot run " << cargv[0];
    return rc == 0 ? pid : -1;
  }

  static Result Wait(pid_t pid) {
    Result r;
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid) {
      r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    r.out = ReadFile(*dir_ + "/out");
    r.err = ReadFile(*dir_ + "/err");
    return r;
  }

  static Result Run(std::vector<std::string> args, bool with_socket = true) {
    return Wait(Start(std::move(args), with_socket));
  }

  static std::string Golden(const std::string& name) { return ReadFile(kDir + "golden/" + name); }

  static std::string WriteConfig(const std::string& text) {
    const std::string path = *dir_ + "/c.textproto";
    std::ofstream(path) << text;
    return path;
  }

  static std::string* dir_;
  static std::string* socket_;
  static FakeFerry* service_;
  static grpc::Server* server_;
};

std::string* CliTest::dir_ = nullptr;
std::string* CliTest::socket_ = nullptr;
FakeFerry* CliTest::service_ = nullptr;
grpc::Server* CliTest::server_ = nullptr;

// ---- read-only verbs ---------------------------------------------------------------------

TEST_F(CliTest, StatusTableAndJson) {
  Result r = Run({"status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Golden("status.txt"));
  EXPECT_EQ(r.err, "");
  r = Run({"-o", "json", "status"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Golden("status.json"));
}

TEST_F(CliTest, ConfigGet) {
  const Result r = Run({"config", "get"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Golden("config.txt"));
}

TEST_F(CliTest, Stats) {
  const Result r = Run({"stats"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Golden("stats.txt"));
}

TEST_F(CliTest, StatsWatchJsonIsOneObjectPerLine) {
  const Result r = Run({"stats", "--watch", "--interval", "100ms", "--count", "3", "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const std::string& line : lines) EXPECT_EQ(line + "\n", Golden("stats_line.json"));
}

// Ctrl-C ends a watch cleanly: exit 0, nothing on stderr.
TEST_F(CliTest, StatsWatchEndsOnInterrupt) {
  const pid_t pid = Start({"stats", "--watch", "--interval", "100ms"});
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 100 && ReadFile(*dir_ + "/out").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGINT);
  const Result r = Wait(pid);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_THAT(r.out, StartsWith(Golden("stats.txt")));
}

// A reader that goes away (| head) ends a watch quietly: exit 0, no message.
TEST_F(CliTest, StatsWatchEndsWhenTheReaderGoesAway) {
  const std::string rc_file = *dir_ + "/rc";
  const std::string script =
      absl::StrCat("{ '", Binary(), "' stats --watch --interval 100ms -o json --socket '",
                   *socket_, "'; echo $? > '", rc_file, "'; } | head -n 1");
  const Result r = Wait(Spawn({"/bin/sh", "-c", script}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Golden("stats_line.json"));
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ReadFile(rc_file), "0\n");
  unlink(rc_file.c_str());
}

TEST_F(CliTest, SessionsPagesUpToTheLimit) {
  Result r = Run({"sessions", "--limit", "3", "--page-size", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n3 sessions; there are more"));
  EXPECT_THAT(r.out, HasSubstr("198.18.0.102:40000"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("198.18.0.103:40000")));

  const int calls = service_->list_calls();
  r = Run({"sessions", "--page-size", "4"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n10 sessions\n"));
  EXPECT_EQ(service_->list_calls() - calls, 3);  // 4 + 4 + 2
}

// ---- changes -----------------------------------------------------------------------------

TEST_F(CliTest, ConfigApplyAndTheVersionRace) {
  const std::string path = WriteConfig(ReadFile(kDir + "testdata/edited_config.textproto"));
  Result r = Run({"config", "apply", "-f", path, "--expected-version", "7"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, Golden("change.txt"));

  r = Run({"config", "apply", "-f", path, "--expected-version", "6"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "ferryctl: config apply: ABORTED: the running config is version 7, not 6\n"
            "the config changed since you read it: run ferryctl config get and apply again\n");
}

TEST_F(CliTest, ConfigFileErrorsAreUsageErrors) {
  const std::string path = WriteConfig("workers {\n  count: two\n}\n");
  Result r = Run({"config", "apply", "-f", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, StartsWith("ferryctl: config apply: " + path + ":2:"));
  EXPECT_THAT(r.err, HasSubstr("see 'ferryctl config apply --help'"));

  r = Run({"config", "validate", "-f", *dir_ + "/missing.textproto"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("missing.textproto"));
}

TEST_F(CliTest, ConfigValidate) {
  std::string path = WriteConfig("workers { count: 2 }\n");
  Result r = Run({"config", "validate", "-f", path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, path + " is valid and applies live\n");

  path = WriteConfig("workers { count: 100 }\n");
  r = Run({"config", "validate", "-f", path});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, path + " is invalid\n  field: workers.count\n"
                          "  error: workers.count: 100 is out of range 1..64\n");
}

TEST_F(CliTest, ConfigDiff) {
  std::string path = WriteConfig(ReadFile(kDir + "testdata/edited_config.textproto"));
  Result r = Run({"config", "diff", "-f", path});
  EXPECT_EQ(r.code, 0) << r.err;
  // The golden's labels are render_test's; the hunks are the same.
  std::string expected = Golden("config_diff.txt");
  expected.replace(expected.find("edited.textproto"), 16, path);
  EXPECT_EQ(r.out, expected);

  // The running config as config get prints it has no differences.
  path = WriteConfig(Golden("config.txt"));
  r = Run({"config", "diff", "-f", path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no differences\n");
}

TEST_F(CliTest, BackendAdd) {
  Result r = Run({"backend", "add", "web", "198.18.1.20:8080", "--name", "b4", "--weight", "2",
                  "--disabled"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "config version 7 -> 8\n  backend web/b4 added\n");
  const v1::AddBackendRequest req = service_->last_add();
  EXPECT_EQ(req.pool(), "web");
  EXPECT_EQ(req.backend().address(), "198.18.1.20");
  EXPECT_EQ(req.backend().port(), 8080u);
  EXPECT_EQ(req.backend().weight(), 2u);
  EXPECT_TRUE(req.backend().has_enabled());
  EXPECT_FALSE(req.backend().enabled());

  r = Run({"backend", "add", "api", "198.18.1.20:8080"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, StartsWith("ferryctl: backend add: NOT_FOUND: pool \"api\" is not in"));

  r = Run({"backend", "add", "web", "198.18.1.20"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not ADDRESS:PORT"));
}

TEST_F(CliTest, BackendDrainJson) {
  const Result r = Run({"backend", "drain", "web", "b1", "-o", "json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"version\": \"8\""));
  EXPECT_THAT(r.out, HasSubstr("backend web/b1 draining"));
}

TEST_F(CliTest, VerbsFerrydDoesNotServeAreRefusals) {
  // The fake implements no RemoveBackend: gRPC answers UNIMPLEMENTED, a refusal.
  const Result r = Run({"backend", "remove", "web", "b1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, StartsWith("ferryctl: backend remove: UNIMPLEMENTED"));
}

// ---- usage and reachability ----------------------------------------------------------------

TEST_F(CliTest, HelpAndUsage) {
  Result r = Run({"--help"}, false);
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit codes:"));
  r = Run({"sessions", "--help"}, false);
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, StartsWith("Usage: ferryctl sessions"));
  r = Run({"stats", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "ferryctl: unknown flag --bogus\nsee 'ferryctl --help'\n");
}

TEST_F(CliTest, MissingSocketIsUnreachable) {
  const std::string path = *dir_ + "/nobody.sock";
  const Result r = Run({"status", "--socket", path}, false);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "ferryctl: no ferryd socket at " + path +
                       ": is ferryd running? (--socket picks another)\n");
}

// A socket file nobody listens on (ferryd died without removing it).
TEST_F(CliTest, StaleSocketIsUnreachable) {
  const std::string path = *dir_ + "/stale.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  const Result r = Run({"status", "--socket", path}, false);
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, StartsWith("ferryctl: status: cannot reach ferryd at " + path));
  EXPECT_THAT(r.err, HasSubstr("is ferryd running?"));
}

}  // namespace
}  // namespace ferry::ferryctl
