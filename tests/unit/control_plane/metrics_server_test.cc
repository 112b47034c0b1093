// The /metrics HTTP server (control/metrics_server.h), driven over real loopback sockets by a
// deliberately plain client: what it answers, and that slow, silent or vanishing clients cost
// the others nothing and the server can always be stopped at once.
#include "control/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr char kBody[] = "# TYPE ferry_up gauge\nferry_up 1\n";

// ---- A plain blocking client -------------------------------------------------------------

// A socket connected to 127.0.0.1:port whose reads give up after `timeout`; -1 on failure.
int Connect(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof(sin)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Everything the server sends until it closes (or the read timeout passes).
std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  while (true) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string Exchange(uint16_t port, absl::string_view request) {
  const int fd = Connect(port);
  EXPECT_GE(fd, 0);
  if (fd < 0) return "";
  EXPECT_TRUE(SendAll(fd, request));
  std::string response = ReadAll(fd);
  close(fd);
  return response;
}

struct HttpResponse {
  int code = 0;
  std::string status_line;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

HttpResponse Parse(const std::string& raw) {
  HttpResponse r;
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    ADD_FAILURE() << "no complete head in: " << raw;
    return r;
  }
  std::vector<std::string> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  r.status_line = lines[0];
  const std::vector<std::string> parts = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  EXPECT_EQ(parts[0], "HTTP/1.1");
  if (parts.size() > 1) {
    EXPECT_TRUE(absl::SimpleAtoi(parts[1], &r.code)) << lines[0];
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    EXPECT_NE(colon, std::string::npos) << lines[i];
    if (colon == std::string::npos) continue;
    r.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  r.body = raw.substr(end + 4);
  return r;
}

std::unique_ptr<MetricsServer> StartOrDie(
    std::function<std::string()> render = [] { return std::string(kBody); },
    MetricsServer::Options options = {}) {
  auto server = MetricsServer::Start("127.0.0.1", 0, std::move(render), options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- What it answers ---------------------------------------------------------------------

TEST(MetricsServer, GetMetricsReturnsTheRenderedBody) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  HttpResponse r = Parse(Exchange(
      server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"));
  EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], absl::StrCat(sizeof(kBody) - 1));
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_EQ(r.body, kBody);
}

TEST(MetricsServer, QueryStringIsIgnored) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  HttpResponse r = Parse(Exchange(server->port(), "GET /metrics?name[]=x HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body, kBody);
}

TEST(MetricsServer, Http10AndBareLineFeedsAreAccepted) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Parse(Exchange(server->port(), "GET /metrics HTTP/1.0\r\n\r\n")).code, 200);
  EXPECT_EQ(Parse(Exchange(server->port(), "GET /metrics HTTP/1.1\nHost: x\n\n")).code, 200);
}

TEST(MetricsServer, HeadSendsTheHeadersOnly) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  HttpResponse r = Parse(Exchange(server->port(), "HEAD /metrics HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], absl::StrCat(sizeof(kBody) - 1));
  EXPECT_EQ(r.body, "");
}

TEST(MetricsServer, OtherPathsAre404) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* path : {"/", "/metricsx", "/metrics/", "/Metrics", "/favicon.ico"}) {
    HttpResponse r =
        Parse(Exchange(server->port(), absl::StrCat("GET ", path, " HTTP/1.1\r\n\r\n")));
    EXPECT_EQ(r.code, 404) << path;
    EXPECT_EQ(r.body, "404 Not Found\n") << path;
    EXPECT_EQ(r.headers["content-length"], absl::StrCat(r.body.size()));
  }
  EXPECT_EQ(Parse(Exchange(server->port(), "HEAD / HTTP/1.1\r\n\r\n")).body, "");
}

TEST(MetricsServer, OtherMethodsAre405WithAllow) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
    HttpResponse r =
        Parse(Exchange(server->port(), absl::StrCat(method, " /metrics HTTP/1.1\r\n\r\n")));
    EXPECT_EQ(r.code, 405) << method;
    EXPECT_EQ(r.headers["allow"], "GET, HEAD") << method;
  }
}

TEST(MetricsServer, MalformedRequestLinesAre400) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  for (const char* request :
       {"GARBAGE\r\n\r\n", "GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
        "GET metrics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/2.0\r\n\r\n",
        "GET /metrics HTTP/1.1 x\r\n\r\n", "G(T /metrics HTTP/1.1\r\n\r\n", "\r\n\r\n"}) {
    HttpResponse r = Parse(Exchange(server->port(), request));
    EXPECT_EQ(r.code, 400) << absl::CEscape(request);
    EXPECT_EQ(r.body, "400 Bad Request\n");
  }
}

TEST(MetricsServer, HeadOver8KiBIs431AndJustUnderIsServed) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const std::string start = "GET /metrics HTTP/1.1\r\nX-Pad: ";
  // Exactly 8192 bytes with the blank line: served.
  const std::string fits = start + std::string(8192 - start.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), 8192u);
  EXPECT_EQ(Parse(Exchange(server->port(), fits)).code, 200);
  // One byte more: refused, although the client is still sending.
  const std::string over = start + std::string(8192 - start.size() - 3, 'a') + "\r\n\r\n";
  EXPECT_EQ(Parse(Exchange(server->port(), over)).code, 431);
  HttpResponse r = Parse(Exchange(server->port(), start + std::string(100'000, 'a') + "\r\n\r\n"));
  EXPECT_EQ(r.code, 431);
  EXPECT_EQ(r.body, "431 Request Header Fields Too Large\n");
}

TEST(MetricsServer, RequestArrivingInPiecesIsServed) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  const int fd = Connect(server->port());
  ASSERT_GE(fd, 0);
  for (const char* piece : {"GE", "T /metr", "ics HTTP/1.1\r", "\nHost: x\r\n", "\r\n"}) {
    ASSERT_TRUE(SendAll(fd, piece));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Parse(ReadAll(fd)).body, kBody);
  close(fd);
}

TEST(MetricsServer, RenderRunsOnTheServerThreadOncePerScrape) {
  std::atomic<int> calls = 0;
  std::atomic<bool> on_caller_thread = false;
  const std::thread::id test_thread = std::this_thread::get_id();
  auto server = StartOrDie([&] {
    ++calls;
    if (std::this_thread::get_id() == test_thread) on_caller_thread = true;
    return absl::StrCat("n ", calls.load(), "\n");
  });
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Parse(Exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n")).body, "n 1\n");
  EXPECT_EQ(Parse(Exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n")).body, "n 2\n");
  Exchange(server->port(), "GET /nothing HTTP/1.1\r\n\r\n");  // not rendered
  EXPECT_EQ(calls.load(), 2);
  EXPECT_FALSE(on_caller_thread.load());
}

// ---- Clients that misbehave --------------------------------------------------------------

TEST(MetricsServer, SilentClientDoesNotBlockAnotherScrape) {
  auto server = StartOrDie();  // 5 s for a request: the silent client holds its slot
  ASSERT_NE(server, nullptr);
  const int silent = Connect(server->port());
  ASSERT_GE(silent, 0);
  ASSERT_TRUE(SendAll(silent, "GET /met"));  // and a half-sent request
  const int half = Connect(server->port());
  ASSERT_GE(half, 0);
  const auto start = Clock::now();
  EXPECT_EQ(Parse(Exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n")).body, kBody);
  EXPECT_LT(SecondsSince(start), 1.0);
  close(silent);
  close(half);
}

TEST(MetricsServer, SilentClientIsDroppedAfterTheTimeout) {
  auto server =
      StartOrDie([] { return std::string(kBody); }, {.request_timeout = absl::Milliseconds(300)});
  ASSERT_NE(server, nullptr);
  const int fd = Connect(server->port());
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  EXPECT_EQ(ReadAll(fd), "");  // EOF, no answer
  const double waited = SecondsSince(start);
  EXPECT_GE(waited, 0.25);
  EXPECT_LT(waited, 3.0);
  close(fd);
}

TEST(MetricsServer, TricklingClientIsDroppedAtItsDeadlineNotKeptAlive) {
  auto server =
      StartOrDie([] { return std::string(kBody); }, {.request_timeout = absl::Milliseconds(300)});
  ASSERT_NE(server, nullptr);
  const int fd = Connect(server->port());
  ASSERT_GE(fd, 0);
  const auto start = Clock::now();
  // A byte every 50 ms would keep an idle timer alive for ever; the deadline runs from accept.
  for (int i = 0; i < 40 && SendAll(fd, "X"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(ReadAll(fd), "");
  EXPECT_LT(SecondsSince(start), 2.5);
  close(fd);
}

TEST(MetricsServer, FullServerServesTheNextClientWhenASlotFrees) {
  auto server = StartOrDie([] { return std::string(kBody); },
                           {.request_timeout = absl::Milliseconds(300), .max_connections = 2});
  ASSERT_NE(server, nullptr);
  const int a = Connect(server->port());
  const int b = Connect(server->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both accepted: no slot left
  const auto start = Clock::now();
  EXPECT_EQ(Parse(Exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n")).body, kBody);
  const double waited = SecondsSince(start);
  EXPECT_GE(waited, 0.15);  // it waited in the backlog for a silent client's deadline
  EXPECT_LT(waited, 3.0);
  close(a);
  close(b);
}

TEST(MetricsServer, ClientVanishingMidResponseDoesNotKillTheProcess) {
  // A response far larger than the socket buffers, and clients that half-close after asking
  // (the server's end goes to CLOSE-WAIT) and then reset: Linux records EPIPE for an RST in
  // CLOSE-WAIT, so the server's next write fails with EPIPE, which without MSG_NOSIGNAL raises
  // SIGPIPE and ends this test binary.
  const std::string big(8 << 20, 'x');
  auto server = StartOrDie([&] { return big; });
  ASSERT_NE(server, nullptr);
  for (int i = 0; i < 3; ++i) {
    const int fd = Connect(server->port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\n\r\n"));
    shutdown(fd, SHUT_WR);
    char first;
    ASSERT_EQ(recv(fd, &first, 1, 0), 1);  // the response has started
    const linger reset{.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    close(fd);
  }
  HttpResponse r = Parse(Exchange(server->port(), "GET /metrics HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.body.size(), big.size());
}

// ---- Start and stop ----------------------------------------------------------------------

TEST(MetricsServer, DestructorIsPromptWithClientsConnected) {
  auto server = StartOrDie();
  ASSERT_NE(server, nullptr);
  std::vector<int> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(Connect(server->port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = Clock::now();
  server.reset();
  EXPECT_LT(SecondsSince(start), 0.5);  // not the 5 s request timeout
  for (int fd : clients) {
    ASSERT_GE(fd, 0);
    EXPECT_EQ(ReadAll(fd), "");  // closed by the server, unanswered
    close(fd);
  }
}

TEST(MetricsServer, PortInUseNamesTheAddress) {
  auto first = StartOrDie();
  ASSERT_NE(first, nullptr);
  auto second = MetricsServer::Start("127.0.0.1", first->port(), [] { return std::string(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(), absl::StrCat("metrics: cannot listen on 127.0.0.1:",
                                                    first->port(), ": Address already in use"));
}

TEST(MetricsServer, NonNumericAddressIsInvalidArgument) {
  for (const char* address : {"localhost", "1.2.3", "", "127.0.0.1:9100"}) {
    auto server = MetricsServer::Start(address, 0, [] { return std::string(); });
    ASSERT_FALSE(server.ok()) << address;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << address;
    EXPECT_THAT(server.status().message(), HasSubstr(absl::StrCat("\"", address, "\"")));
  }
}

TEST(MetricsServer, BadOptionsAreInvalidArgument) {
  const auto render = [] { return std::string(); };
  EXPECT_EQ(MetricsServer::Start("127.0.0.1", 0, render, {.max_connections = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsServer::Start("127.0.0.1", 0, render, {.request_timeout = absl::ZeroDuration()})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsServer::Start("127.0.0.1", 0, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetricsServer, Ipv6Loopback) {
  auto server = MetricsServer::Start("::1", 0, [] { return std::string(kBody); });
  if (!server.ok() && server.status().code() == absl::StatusCode::kUnavailable) {
    GTEST_SKIP() << "no IPv6 here: " << server.status();
  }
  ASSERT_TRUE(server.ok()) << server.status();
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons((*server)->port());
  sin6.sin6_addr = in6addr_loopback;
  ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&sin6), sizeof(sin6)), 0);
  ASSERT_TRUE(SendAll(fd, "GET /metrics HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Parse(ReadAll(fd)).body, kBody);
  close(fd);
}

}  // namespace
}  // namespace ferry::control
