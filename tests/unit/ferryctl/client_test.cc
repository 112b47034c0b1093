// How ferryctl turns failures into exit codes and messages (app/ferryctl/client.h): refusals
// are 1, an unreachable appliance 3, and each message says what to do.
#include "client.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::ferryctl {
namespace {

using ::testing::HasSubstr;

const Endpoint kSocket = {"unix:/run/ferry/ferry.sock", "/run/ferry/ferry.sock",
                          "/run/ferry/ferry.sock"};

Failure Classify(grpc::StatusCode code, const std::string& message, bool deadline_passed = false,
                 bool connected = true) {
  return ClassifyRpcError("backend add", grpc::Status(code, message), kSocket, absl::Seconds(5),
                          deadline_passed, connected);
}

TEST(ClassifyRpcError, RefusalsExitOneWithCodeNameAndMessage) {
  const Failure f = Classify(grpc::StatusCode::INVALID_ARGUMENT, "backend.port: 0 is out of range");
  EXPECT_EQ(f.code, ExitCode::kRefused);
  EXPECT_EQ(f.message, "ferryctl: backend add: INVALID_ARGUMENT: backend.port: 0 is out of range");
}

TEST(ClassifyRpcError, AbortedSaysToGetTheConfigAgain) {
  const Failure f = Classify(grpc::StatusCode::ABORTED, "running version is 8, not 7");
  EXPECT_EQ(f.code, ExitCode::kRefused);
  EXPECT_EQ(f.message,
            "ferryctl: backend add: ABORTED: running version is 8, not 7\n"
            "the config changed since you read it: run ferryctl config get and apply again");
}

TEST(ClassifyRpcError, EveryRefusalCodeIsExitOne) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::CANCELLED, grpc::StatusCode::UNKNOWN, grpc::StatusCode::NOT_FOUND,
        grpc::StatusCode::ALREADY_EXISTS, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::RESOURCE_EXHAUSTED,
        grpc::StatusCode::UNIMPLEMENTED, grpc::StatusCode::INTERNAL}) {
    const Failure f = Classify(code, "m");
    EXPECT_EQ(f.code, ExitCode::kRefused) << StatusCodeName(code);
    EXPECT_THAT(f.message, HasSubstr(std::string(StatusCodeName(code)))) << f.message;
  }
}

TEST(ClassifyRpcError, UnavailableIsUnreachable) {
  const Failure f = Classify(grpc::StatusCode::UNAVAILABLE, "Connection refused");
  EXPECT_EQ(f.code, ExitCode::kUnreachable);
  EXPECT_THAT(f.message, HasSubstr("cannot reach ferryd at /run/ferry/ferry.sock"));
}

// ferryctl's own deadline: nobody answered in time (3). ferryd's DEADLINE_EXCEEDED before it
// (a worker that did not answer a sessions call) is a refusal (1).
TEST(ClassifyRpcError, DeadlineExceeded) {
  Failure f = Classify(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded", true, false);
  EXPECT_EQ(f.code, ExitCode::kUnreachable);
  EXPECT_THAT(f.message, HasSubstr("could not connect to ferryd at /run/ferry/ferry.sock within 5s"));
  f = Classify(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded", true, true);
  EXPECT_EQ(f.code, ExitCode::kUnreachable);
  EXPECT_THAT(f.message, HasSubstr("did not answer within 5s (--timeout"));
  f = Classify(grpc::StatusCode::DEADLINE_EXCEEDED, "worker 1 did not answer", false, true);
  EXPECT_EQ(f.code, ExitCode::kRefused);
  EXPECT_EQ(f.message, "ferryctl: backend add: DEADLINE_EXCEEDED: worker 1 did not answer");
}

TEST(StatusCodeName, AsTheGrpcDocsSpellThem) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN_CODE");
}

TEST(EndpointFor, SocketOrAddress) {
  GlobalOptions o;
  o.socket = "/tmp/f.sock";
  EXPECT_EQ(EndpointFor(o).target, "unix:/tmp/f.sock");
  EXPECT_EQ(EndpointFor(o).socket_path, "/tmp/f.sock");
  o.address = "127.0.0.1:7000";
  EXPECT_EQ(EndpointFor(o).target, "127.0.0.1:7000");
  EXPECT_EQ(EndpointFor(o).socket_path, "");
}

// ---- the socket path, checked before dialing -----------------------------------------------

class SocketPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferryctl_client_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink((dir_ + "/file").c_str());
    unlink((dir_ + "/sock").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
};

TEST_F(SocketPathTest, Missing) {
  const std::string path = dir_ + "/none.sock";
  const std::optional<Failure> f = CheckSocketPath(path);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->code, ExitCode::kUnreachable);
  EXPECT_EQ(f->message, "ferryctl: no ferryd socket at " + path +
                            ": is ferryd running? (--socket picks another)");
  // A missing directory reads the same.
  EXPECT_EQ(CheckSocketPath(dir_ + "/no/such/dir.sock")->code, ExitCode::kUnreachable);
}

TEST_F(SocketPathTest, NotASocket) {
  std::ofstream(dir_ + "/file") << "x";
  const std::optional<Failure> f = CheckSocketPath(dir_ + "/file");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->code, ExitCode::kUnreachable);
  EXPECT_THAT(f->message, HasSubstr("is not a socket"));
}

TEST_F(SocketPathTest, SocketIsUsableAndPermissionIsChecked) {
  const std::string path = dir_ + "/sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_FALSE(CheckSocketPath(path).has_value());
  close(fd);
  if (geteuid() == 0) GTEST_SKIP() << "root may connect whatever the mode says";
  ASSERT_EQ(chmod(path.c_str(), 0600 & ~0200), 0);
  const std::optional<Failure> f = CheckSocketPath(path);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->message, "ferryctl: permission denied on " + path +
                            ": run as root or as a member of the socket's group");
}

}  // namespace
}  // namespace ferry::ferryctl
