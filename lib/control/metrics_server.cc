// The /metrics HTTP server: metrics_server.h describes what it answers and how it bounds
// clients.
#include "control/metrics_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ferry::control {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHead = 8 * 1024;  // request line and headers, blank line included
constexpr int kListenBacklog = 64;
// After an error from accept() that will repeat at once (out of descriptors or memory), the
// listening socket stays readable: it is left out of poll() this long instead of spinning.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// After the response, the client's leftovers are read and thrown away until it closes, at
// most this long: closing a socket with unread input sends RST, which can make the client
// lose the end of the response (a 431 answers a request that is still arriving).
constexpr auto kMaxLinger = std::chrono::seconds(2);

std::string ErrnoText(int err) {
  char buf[128];
  // GNU strerror_r: returns the message, in buf or static.
  return strerror_r(err, buf, sizeof(buf));
}

std::string HostPort(const std::string& address, uint16_t port, bool v6) {
  return v6 ? absl::StrCat("[", address, "]:", port) : absl::StrCat(address, ":", port);
}

// tchar, RFC 9110 §5.6.2: what a method token may hold.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

// Index just past the blank line that ends the request head in `in`, or npos while it has not
// arrived. Lines end in CRLF or, leniently, LF (RFC 9112 §2.2).
size_t HeadEnd(absl::string_view in) {
  for (size_t i = in.find('\n'); i != absl::string_view::npos; i = in.find('\n', i + 1)) {
    if (i + 1 < in.size() && in[i + 1] == '\n') return i + 2;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') return i + 3;
  }
  return absl::string_view::npos;
}

std::string Response(int code, absl::string_view reason, absl::string_view content_type,
                     absl::string_view extra_headers, const std::string& body, bool head) {
  std::string out = absl::StrCat("HTTP/1.1 ", code, " ", reason, "\r\nContent-Type: ", content_type,
                                 "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                                 "Connection: close\r\n\r\n");
  if (!head) out += body;
  return out;
}

std::string ErrorResponse(int code, absl::string_view reason, absl::string_view extra_headers,
                          bool head) {
  return Response(code, reason, "text/plain; charset=utf-8", extra_headers,
                  absl::StrCat(code, " ", reason, "\n"), head);
}

// The whole response to the request head `head` (blank line included).
std::string Answer(absl::string_view head, const std::function<std::string()>& render) {
  absl::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      !std::all_of(parts[0].begin(), parts[0].end(), IsTokenChar) ||
      (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0")) {
    return ErrorResponse(400, "Bad Request", "", false);
  }
  const absl::string_view method = parts[0];
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return ErrorResponse(405, "Method Not Allowed", "Allow: GET, HEAD\r\n", false);
  }
  absl::string_view target = parts[1];
  if (target.front() != '/') return ErrorResponse(400, "Bad Request", "", head_only);
  target = target.substr(0, target.find_first_of("?#"));
  if (target != "/metrics") return ErrorResponse(404, "Not Found", "", head_only);
  return Response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", "", render(), head_only);
}

struct Connection {
  enum class State { kReading, kWriting, kLingering };
  int fd;
  State state = State::kReading;
  std::string in;
  std::string out;
  size_t written = 0;
  Clock::time_point deadline;
  bool closed = false;
};

// Reads what `c` has sent; on a complete (or oversized) head, prepares the response.
void OnReadable(Connection& c, const std::function<std::string()>& render,
                Clock::duration timeout) {
  char buf[4096];
  while (!c.closed) {
    size_t want = sizeof(buf);
    if (c.state == Connection::State::kReading) {
      // One byte past the limit tells an oversized head from one that just fits.
      want = std::min(want, kMaxHead + 1 - c.in.size());
    }
    const ssize_t n = recv(c.fd, buf, want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {  // the client closed, or its connection failed: nothing more to say
      c.closed = true;
      return;
    }
    if (c.state != Connection::State::kReading) continue;  // lingering: thrown away
    c.in.append(buf, static_cast<size_t>(n));
    const size_t end = HeadEnd(c.in);
    if (end != std::string::npos && end <= kMaxHead) {
      c.out = Answer(absl::string_view(c.in).substr(0, end), render);
    } else if (c.in.size() > kMaxHead) {
      c.out = ErrorResponse(431, "Request Header Fields Too Large", "", false);
    } else {
      continue;
    }
    c.state = Connection::State::kWriting;
    c.deadline = Clock::now() + timeout;
    return;
  }
}

void OnWritable(Connection& c, Clock::duration timeout) {
  while (c.written < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0) {  // EPIPE, ECONNRESET: the client went away
      c.closed = true;
      return;
    }
    c.written += static_cast<size_t>(n);
    c.deadline = Clock::now() + timeout;  // progress: the stall timer starts again
  }
  shutdown(c.fd, SHUT_WR);
  c.state = Connection::State::kLingering;
  c.deadline = Clock::now() + std::min<Clock::duration>(timeout, kMaxLinger);
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, uint16_t port, std::function<std::string()> render) {
  return Start(address, port, std::move(render), Options());
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& address, uint16_t port, std::function<std::string()> render,
    const Options& options) {
  if (!render) return absl::InvalidArgumentError("metrics: no render function");
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: max_connections ", options.max_connections, " is below 1"));
  }
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("metrics: request_timeout ",
                                                   absl::FormatDuration(options.request_timeout),
                                                   " is not positive"));
  }
  sockaddr_storage storage{};
  socklen_t len = 0;
  bool v6 = false;
  std::string host = address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
      inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    len = sizeof(*sin);
  } else if (auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
             inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    len = sizeof(*sin6);
    v6 = true;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics: address \"", address, "\" is not a numeric IPv4 or IPv6 address"));
  }
  const auto fail = [&](int fd, absl::string_view what) {
    const int err = errno;
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("metrics: ", what, " ", HostPort(host, port, v6), ": ", ErrnoText(err)));
  };
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(-1, "cannot listen on");
  // A restarted ferryd must get its port back while the last one's connections sit in
  // TIME_WAIT; it does not let two live listeners share it.
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&storage), len) != 0 ||
      listen(fd, kListenBacklog) != 0) {
    return fail(fd, "cannot listen on");
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return fail(fd, "cannot read the port of");
  }
  const uint16_t bound_port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                       : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("metrics: eventfd: ", ErrnoText(err)));
  }
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(fd, wake, bound_port, std::move(render), options));
  server->thread_ = std::thread(&MetricsServer::Run, server.get());
  return server;
}

MetricsServer::~MetricsServer() {
  const uint64_t one = 1;
  // An eventfd write of 1 cannot fail short of a counter overflow; the thread only reads it.
  while (write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  if (thread_.joinable()) thread_.join();
  close(wake_fd_);
  close(listen_fd_);
}

void MetricsServer::Run() {
  const Clock::duration timeout = absl::ToChronoNanoseconds(options_.request_timeout);
  const size_t max_connections = static_cast<size_t>(options_.max_connections);
  std::vector<Connection> conns;
  conns.reserve(max_connections);
  std::vector<pollfd> fds;
  Clock::time_point accept_paused_until{};
  while (true) {
    const Clock::time_point now = Clock::now();
    const bool accepting = conns.size() < max_connections && now >= accept_paused_until;
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});  // fd -1: left out by poll()
    Clock::time_point wake_at = Clock::time_point::max();
    if (!accepting && conns.size() < max_connections) wake_at = accept_paused_until;
    for (const Connection& c : conns) {
      fds.push_back(
          {c.fd, static_cast<short>(c.state == Connection::State::kWriting ? POLLOUT : POLLIN), 0});
      wake_at = std::min(wake_at, c.deadline);
    }
    int poll_ms = -1;
    if (wake_at != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now).count();
      poll_ms = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
    }
    const int ready = poll(fds.data(), fds.size(), poll_ms);
    if (ready < 0 && errno != EINTR) {
      // Only EFAULT, EINVAL or ENOMEM: not a client's doing. Wait and retry rather than end
      // the server silently.
      poll(nullptr, 0, 100);
      continue;
    }
    if (ready > 0 && (fds[0].revents & POLLIN)) break;
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      const short revents = fds[2 + i].revents;
      if (revents == 0) continue;
      if (c.state == Connection::State::kWriting) {
        OnWritable(c, timeout);
      } else {
        OnReadable(c, render_, timeout);
        // The answer is usually writable at once: no need to wait a poll round.
        if (!c.closed && c.state == Connection::State::kWriting) OnWritable(c, timeout);
      }
    }
    const Clock::time_point after = Clock::now();
    for (Connection& c : conns) {
      if (!c.closed && after >= c.deadline) c.closed = true;  // silent, slow or lingering
      if (c.closed) close(c.fd);
    }
    std::erase_if(conns, [](const Connection& c) { return c.closed; });
    if (ready > 0 && accepting && (fds[1].revents & POLLIN)) {
      while (conns.size() < max_connections) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
          conns.push_back(Connection{.fd = fd, .deadline = Clock::now() + timeout});
          continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          accept_paused_until = Clock::now() + kAcceptPause;  // EMFILE, ENFILE, ENOBUFS, ...
        }
        break;
      }
    }
  }
  for (const Connection& c : conns) close(c.fd);
}

}  // namespace ferry::control
