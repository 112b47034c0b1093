#include "client.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ferry::ferryctl {

Endpoint EndpointFor(const GlobalOptions& options) {
  if (!options.address.empty()) return {options.address, "", options.address};
  return {absl::StrCat("unix:", options.socket), options.socket, options.socket};
}

std::optional<Failure> CheckSocketPath(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Failure{ExitCode::kUnreachable,
                     absl::StrFormat("ferryctl: no ferryd socket at %s: is ferryd running? "
                                     "(--socket picks another)",
                                     path)};
    }
    if (err == EACCES) {
      return Failure{ExitCode::kUnreachable,
                     absl::StrFormat("ferryctl: permission denied on %s: run as root or as a "
                                     "member of the socket's group",
                                     path)};
    }
    return Failure{ExitCode::kUnreachable,
                   absl::StrFormat("ferryctl: cannot use %s: %s", path, std::strerror(err))};
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Failure{ExitCode::kUnreachable,
                   absl::StrFormat("ferryctl: %s is not a socket: is it ferryd's? "
                                   "(--socket picks another)",
                                   path)};
  }
  // connect(2) on a Unix socket needs write permission on it.
  if (access(path.c_str(), R_OK | W_OK) != 0) {
    if (errno == EACCES) {
      return Failure{ExitCode::kUnreachable,
                     absl::StrFormat("ferryctl: permission denied on %s: run as root or as a "
                                     "member of the socket's group",
                                     path)};
    }
  }
  return std::nullopt;
}

absl::string_view StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    default: return "UNKNOWN_CODE";
  }
}

namespace {

// What to do next, for the refusals where ferryd's message alone does not say.
absl::string_view Hint(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::ABORTED:
      return "the config changed since you read it: run ferryctl config get and apply again";
    case grpc::StatusCode::NOT_FOUND:
      return "ferryctl config get shows the pools and backends that exist";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "pick another --name, or remove the backend first";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "ferryd takes requests of up to 4 MiB";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "this ferryd does not know the verb: is it older than ferryctl?";
    default:
      return "";
  }
}

}  // namespace

Failure ClassifyRpcError(absl::string_view verb, const grpc::Status& status,
                         const Endpoint& endpoint, absl::Duration timeout, bool deadline_passed,
                         bool connected) {
  const grpc::StatusCode code = status.error_code();
  if (code == grpc::StatusCode::UNAVAILABLE) {
    return {ExitCode::kUnreachable,
            absl::StrFormat("ferryctl: %s: cannot reach ferryd at %s: %s (is ferryd running?)",
                            verb, endpoint.display, status.error_message())};
  }
  if (code == grpc::StatusCode::DEADLINE_EXCEEDED && deadline_passed) {
    if (!connected) {
      return {ExitCode::kUnreachable,
              absl::StrFormat("ferryctl: %s: could not connect to ferryd at %s within %s "
                              "(--timeout sets how long to wait)",
                              verb, endpoint.display, absl::FormatDuration(timeout))};
    }
    return {ExitCode::kUnreachable,
            absl::StrFormat("ferryctl: %s: ferryd at %s did not answer within %s "
                            "(--timeout sets how long to wait)",
                            verb, endpoint.display, absl::FormatDuration(timeout))};
  }
  std::string message = absl::StrFormat("ferryctl: %s: %s: %s", verb, StatusCodeName(code),
                                        status.error_message());
  if (absl::string_view hint = Hint(code); !hint.empty()) absl::StrAppend(&message, "\n", hint);
  return {ExitCode::kRefused, message};
}

Client::Client(Endpoint endpoint, absl::Duration timeout)
    : endpoint_(std::move(endpoint)), timeout_(timeout) {
  grpc::ChannelArguments args;
  // Configs may be up to 4 MiB and a Stats of many backends is large: never let gRPC's 4 MiB
  // default cut an answer.
  args.SetMaxReceiveMessageSize(64 << 20);
  channel_ = grpc::CreateCustomChannel(endpoint_.target, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Ferry::NewStub(channel_);
}

std::optional<Failure> Client::Preflight() const {
  if (endpoint_.socket_path.empty()) return std::nullopt;
  return CheckSocketPath(endpoint_.socket_path);
}

Failure Client::Classify(absl::string_view verb, const grpc::Status& status,
                         std::optional<absl::Time> deadline) const {
  const bool passed = deadline.has_value() && absl::Now() >= *deadline;
  const bool connected = channel_->GetState(false) == GRPC_CHANNEL_READY;
  return ClassifyRpcError(verb, status, endpoint_, timeout_, passed, connected);
}

}  // namespace ferry::ferryctl
