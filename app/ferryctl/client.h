// ferryctl's side of the gRPC channel to ferryd, and how failures become exit codes and
// messages that say what to do.
//
// The exit code separates three kinds of failure a script must treat differently: ferryd
// said no (1: fix the request), ferryctl was used wrongly (2), and nobody answered (3: retry,
// or start ferryd). A DEADLINE_EXCEEDED is "nobody answered" when ferryctl's own deadline
// ran out; one that ferryd sends before then (a worker that did not answer) is a refusal.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/time/time.h"
#include "args.h"
#include "exit_code.h"
#include "ferry/v1/service.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace ferry::ferryctl {

// Where ferryd is.
struct Endpoint {
  std::string target;       // gRPC's: "unix:/run/ferry/ferry.sock", "10.0.0.1:7000"
  std::string socket_path;  // empty for TCP
  std::string display;      // for messages: the path, or HOST:PORT
};
Endpoint EndpointFor(const GlobalOptions& options);

// A failure, ready to print (each line without the trailing '\n') and exit with.
struct Failure {
  ExitCode code;
  std::string message;
};

// The socket at `path` as connect(2) would find it: nothing there, not a socket, or no
// permission, each with what to do about it (exit 3). nullopt when it looks usable.
std::optional<Failure> CheckSocketPath(const std::string& path);

// "ABORTED", "NOT_FOUND", ...: the names the gRPC docs and service.proto use.
absl::string_view StatusCodeName(grpc::StatusCode code);

// A failed call of `verb` ("backend add") on `endpoint`. `deadline_passed` says ferryctl's own
// deadline (`timeout` after the call started) had run out when the status arrived; `connected`
// says the channel had reached ferryd.
Failure ClassifyRpcError(absl::string_view verb, const grpc::Status& status,
                         const Endpoint& endpoint, absl::Duration timeout, bool deadline_passed,
                         bool connected);

class Client {
 public:
  Client(Endpoint endpoint, absl::Duration timeout);

  const Endpoint& endpoint() const { return endpoint_; }
  v1::Ferry::Stub& stub() { return *stub_; }

  // Checks the socket path before dialing (the messages are better than gRPC's).
  std::optional<Failure> Preflight() const;

  // Calls a unary method with the timeout as deadline. nullopt on success.
  template <typename Request, typename Response>
  std::optional<Failure> Call(absl::string_view verb,
                              grpc::Status (v1::Ferry::Stub::*method)(grpc::ClientContext*,
                                                                      const Request&, Response*),
                              const Request& request, Response* response) {
    grpc::ClientContext context;
    const absl::Time deadline = absl::Now() + timeout_;
    context.set_deadline(absl::ToChronoTime(deadline));
    const grpc::Status status = ((*stub_).*method)(&context, request, response);
    if (status.ok()) return std::nullopt;
    return Classify(verb, status, deadline);
  }

  // For streams, which set their own context: the failure a finished call's status means.
  Failure Classify(absl::string_view verb, const grpc::Status& status,
                   std::optional<absl::Time> deadline) const;

 private:
  Endpoint endpoint_;
  absl::Duration timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Ferry::Stub> stub_;
};

}  // namespace ferry::ferryctl
