// A minimal HTTP/1.1 server for Prometheus' scraper: GET /metrics answers with render()'s text
// (prometheus.h), and nothing else is served.
//
// One background thread runs a poll() loop over the listening socket, a wake-up eventfd and at
// most Options::max_connections clients; while that many are open the listening socket is not
// polled and newcomers wait in the kernel's backlog. Every exchange is one request and one
// response, then the server closes the connection (`Connection: close`), so there is no
// keep-alive, pipelining or request body to handle.
//   GET /metrics (query ignored)  200, Content-Type: text/plain; version=0.0.4; charset=utf-8,
//                                 Content-Length, Connection: close; body render()
//   HEAD /metrics                 the same headers (render() is called for Content-Length),
//                                 no body
//   another path                  404, a one-line body
//   another method                405 with `Allow: GET, HEAD`
//   malformed request line        400 (not "METHOD SP target SP HTTP/1.x", bad method token,
//                                 target not starting with '/')
//   request head over 8 KiB       431 (the head is the request line and headers up to the
//                                 blank line; bare LF line ends are accepted, RFC 9112 §2.2)
// Slow clients: a client has Options::request_timeout (5 s) from its accept to send its whole
// request head, whatever it trickles in, and then the same time without progress while the
// response is written; past either it is closed without an answer. After the response the
// server half-closes and reads what the client still sends until it closes, for at most 2 s
// (closing with unread input would reset the connection and could lose the response's end). A silent or slow client
// therefore holds one slot for a bounded time and never stops the others' scrapes, which the
// poll loop serves as their bytes arrive.
//
// Writes use MSG_NOSIGNAL: a client that goes away mid-response is an error on its connection,
// never a SIGPIPE. Nothing throws.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ferry::control {

class MetricsServer {
 public:
  struct Options {
    // From accept to the end of the request head, and then the longest write stall.
    absl::Duration request_timeout = absl::Seconds(5);
    // Clients served at once; more wait in the listen backlog.
    int max_connections = 16;
  };

  // Listens on `address` (a numeric IPv4 or IPv6 address, e.g. "127.0.0.1", "::") and `port`
  // (0: an ephemeral port, see port()) and starts the server thread. `render` is called on that
  // thread, once per GET or HEAD of /metrics, while other clients wait: it must be thread-safe
  // with respect to the rest of the process, and quick.
  // Errors: InvalidArgument for an address that is not numeric IPv4/IPv6 or an Options value
  // out of range; Unavailable when the socket cannot be set up, naming the address and the
  // system's reason ("metrics: cannot listen on 127.0.0.1:9100: Address already in use");
  // Internal when the wake-up eventfd cannot be created. (A thread that cannot be started
  // aborts the process, as an allocation failure would: std::thread reports it by throwing.)
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              uint16_t port,
                                                              std::function<std::string()> render);
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              uint16_t port,
                                                              std::function<std::string()> render,
                                                              const Options& options);

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Wakes the server thread, which closes every client (answered or not) and the listening
  // socket, and joins it: returns promptly unless render() is running, which it waits for.
  ~MetricsServer();

  // The port listened on: the one given to Start, or the one the system picked for 0.
  uint16_t port() const { return port_; }

 private:
  MetricsServer(int listen_fd, int wake_fd, uint16_t port, std::function<std::string()> render,
                const Options& options)
      : listen_fd_(listen_fd),
        wake_fd_(wake_fd),
        port_(port),
        render_(std::move(render)),
        options_(options) {}

  void Run();

  const int listen_fd_;
  const int wake_fd_;  // eventfd: written once by the destructor to end Run()
  const uint16_t port_;
  const std::function<std::string()> render_;
  const Options options_;
  std::thread thread_;
};

}  // namespace ferry::control
