#include "commands.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <iterator>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client.h"
#include "control/config.h"
#include "diff.h"
#include "exit_code.h"
#include "render.h"

namespace ferry::ferryctl {
namespace {

// Writes a message as the invocation's -o asks: `table` for people, else protobuf's JSON.
int Emit(const Invocation& inv, const google::protobuf::Message& message,
         const std::string& table, std::ostream& out, std::ostream& err) {
  if (inv.global.output == OutputFormat::kTable) {
    out << table;
    return ToInt(ExitCode::kOk);
  }
  absl::StatusOr<std::string> json = ToJson(message, /*one_line=*/false);
  if (!json.ok()) {
    err << "ferryctl: " << inv.command->name << ": " << json.status().message() << "\n";
    return ToInt(ExitCode::kRefused);
  }
  out << *json;
  return ToInt(ExitCode::kOk);
}

int Fail(const Failure& failure, std::ostream& err) {
  err << failure.message << "\n";
  return ToInt(failure.code);
}

int Usage(const absl::Status& status, std::ostream& err) {
  err << status.message() << "\n";
  return ToInt(ExitCode::kUsage);
}

// The -f FILE of the config verbs, parsed here so that a typo is reported with its line and
// column before ferryd is bothered. "-" reads standard input.
absl::StatusOr<v1::Config> LoadFile(const Invocation& inv) {
  const std::string path = inv.String("file");
  absl::StatusOr<v1::Config> config;
  if (path == "-") {
    const std::string text((std::istreambuf_iterator<char>(std::cin)),
                           std::istreambuf_iterator<char>());
    config = control::ParseConfigText(text, "<stdin>");
  } else {
    config = control::LoadConfigFile(path);
  }
  if (!config.ok()) return UsageError(inv.command->name, config.status().message());
  return config;
}

int Status(const Invocation& inv, Client& client, std::ostream& out, std::ostream& err) {
  v1::Status status;
  if (auto f = client.Call(inv.command->name, &v1::Ferry::Stub::GetStatus, v1::GetStatusRequest(),
                           &status)) {
    return Fail(*f, err);
  }
  return Emit(inv, status, RenderStatus(status), out, err);
}

int ConfigGet(const Invocation& inv, Client& client, std::ostream& out, std::ostream& err) {
  v1::GetConfigResponse response;
  if (auto f = client.Call(inv.command->name, &v1::Ferry::Stub::GetConfig,
                           v1::GetConfigRequest(), &response)) {
    return Fail(*f, err);
  }
  return Emit(inv, response, RenderConfig(response), out, err);
}

int ConfigValidate(const Invocation& inv, const v1::Config& config, Client& client,
                   std::ostream& out, std::ostream& err) {
  v1::ValidateConfigRequest request;
  *request.mutable_config() = config;
  v1::ValidateConfigResponse response;
  if (auto f = client.Call(inv.command->name, &v1::Ferry::Stub::ValidateConfig, request,
                           &response)) {
    return Fail(*f, err);
  }
  const int rc = Emit(inv, response, RenderValidation(response, inv.String("file")), out, err);
  return rc == 0 && !response.valid() ? ToInt(ExitCode::kRefused) : rc;
}

int ConfigApply(const Invocation& inv, const v1::Config& config, Client& client,
                std::ostream& out, std::ostream& err) {
  v1::ApplyConfigRequest request;
  *request.mutable_config() = config;
  request.set_expected_version(inv.Uint("expected-version", 0));
  v1::ConfigChange change;
  if (auto f = client.Call(inv.command->name, &v1::Ferry::Stub::ApplyConfig, request, &change)) {
    return Fail(*f, err);
  }
  return Emit(inv, change, RenderChange(change), out, err);
}

int ConfigDiff(const Invocation& inv, const v1::Config& config, Client& client,
               std::ostream& out, std::ostream& err) {
  v1::GetConfigResponse running;
  if (auto f = client.Call(inv.command->name, &v1::Ferry::Stub::GetConfig,
                           v1::GetConfigRequest(), &running)) {
    return Fail(*f, err);
  }
  const std::string diff =
      UnifiedDiff(ConfigText(running.config()), ConfigText(config),
                  absl::StrCat("running (version ", running.version(), ")"), inv.String("file"));
  if (inv.global.output == OutputFormat::kJson) {
    // Not a message of the service: its conventions by hand (uint64 as a string, protobuf's
    // one-space indent).
    out << absl::StrFormat("{\n \"version\": \"%d\",\n \"differences\": %s,\n \"diff\": %s\n}\n",
                           running.version(), diff.empty() ? "false" : "true", JsonQuote(diff));
  } else {
    out << (diff.empty() ? "no differences\n" : diff);
  }
  return ToInt(ExitCode::kOk);
}

// ADDRESS:PORT of backend add.
absl::Status ParseAddressPort(const Invocation& inv, const std::string& s, v1::Backend* b) {
  const size_t colon = s.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(s).substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return UsageError(inv.command->name,
                      absl::StrFormat("\"%s\" is not ADDRESS:PORT (port 1..65535), e.g. "
                                      "198.18.1.10:8080",
                                      s));
  }
  b->set_address(s.substr(0, colon));
  b->set_port(port);
  return absl::OkStatus();
}

int Backend(const Invocation& inv, Client& client, std::ostream& out, std::ostream& err) {
  const absl::string_view verb = inv.command->name;
  const uint64_t expected = inv.Uint("expected-version", 0);
  v1::ConfigChange change;
  std::optional<Failure> failure;
  if (verb == "backend add") {
    v1::AddBackendRequest request;
    request.set_pool(inv.args[0]);
    v1::Backend* b = request.mutable_backend();
    if (absl::Status s = ParseAddressPort(inv, inv.args[1], b); !s.ok()) return Usage(s, err);
    b->set_name(inv.String("name"));
    b->set_weight(static_cast<uint32_t>(std::min<uint64_t>(inv.Uint("weight", 0), UINT32_MAX)));
    b->set_max_sessions(
        static_cast<uint32_t>(std::min<uint64_t>(inv.Uint("max-sessions", 0), UINT32_MAX)));
    if (inv.Has("disabled")) b->set_enabled(false);
    request.set_expected_version(expected);
    failure = client.Call(verb, &v1::Ferry::Stub::AddBackend, request, &change);
  } else if (verb == "backend weight") {
    v1::SetBackendWeightRequest request;
    uint32_t weight;
    if (!absl::SimpleAtoi(inv.args[2], &weight) || inv.args[2][0] == '-') {
      return Usage(UsageError(verb, absl::StrFormat("weight \"%s\" is not a whole number 1..1000",
                                                    inv.args[2])),
                   err);
    }
    request.set_pool(inv.args[0]);
    request.set_backend(inv.args[1]);
    request.set_weight(weight);
    request.set_expected_version(expected);
    failure = client.Call(verb, &v1::Ferry::Stub::SetBackendWeight, request, &change);
  } else {
    v1::BackendRequest request;
    request.set_pool(inv.args[0]);
    request.set_backend(inv.args[1]);
    request.set_expected_version(expected);
    auto method = verb == "backend remove"    ? &v1::Ferry::Stub::RemoveBackend
                  : verb == "backend enable"  ? &v1::Ferry::Stub::EnableBackend
                  : verb == "backend disable" ? &v1::Ferry::Stub::DisableBackend
                                              : &v1::Ferry::Stub::DrainBackend;
    failure = client.Call(verb, method, request, &change);
  }
  if (failure) return Fail(*failure, err);
  return Emit(inv, change, RenderChange(change), out, err);
}

// Prints one Stats of a watch. Returns false once `out` cannot be written (a closed pipe:
// `ferryctl stats --watch | head`), which ends the watch quietly.
bool PrintWatched(const Invocation& inv, const v1::Stats& stats, bool first, std::ostream& out,
                  std::ostream& err) {
  if (inv.global.output == OutputFormat::kJson) {
    absl::StatusOr<std::string> json = ToJson(stats, /*one_line=*/true);
    if (!json.ok()) {
      err << "ferryctl: stats: " << json.status().message() << "\n";
      return false;
    }
    out << *json;
  } else {
    if (!first) out << "\n";
    out << RenderStats(stats, {.all = inv.Has("all")});
  }
  out.flush();
  return static_cast<bool>(out);
}

// stats --watch: the WatchStats stream until --count, the end of ferryd, or Ctrl-C. SIGINT and
// SIGTERM are taken by a thread with sigwait() (the handler-free way, so that cancelling the
// call, which is not async-signal-safe, runs on an ordinary thread); they are blocked before
// the channel exists so that gRPC's threads inherit the mask.
int Watch(const Invocation& inv, std::ostream& out, std::ostream& err) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const absl::Duration interval = inv.Duration("interval", absl::Seconds(1));
  if (interval < absl::Milliseconds(100) || interval > absl::Hours(1)) {
    return Usage(UsageError("stats", absl::StrCat("--interval: ", absl::FormatDuration(interval),
                                                  " is out of range 100ms..1h")),
                 err);
  }
  v1::WatchStatsRequest request;
  request.set_interval_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(interval)));
  request.set_count(
      static_cast<uint32_t>(std::min<uint64_t>(inv.Uint("count", 0), UINT32_MAX)));
  request.set_per_worker(inv.Has("per-worker"));

  Client client(EndpointFor(inv.global), inv.global.timeout);
  if (auto f = client.Preflight()) return Fail(*f, err);

  grpc::ClientContext context;
  std::atomic<bool> finished{false};
  std::atomic<bool> interrupted{false};
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!finished.load()) {
      interrupted.store(true);
      context.TryCancel();
    }
  });

  std::unique_ptr<grpc::ClientReader<v1::Stats>> reader =
      client.stub().WatchStats(&context, request);
  v1::Stats stats;
  bool first = true;
  bool output_closed = false;
  while (reader->Read(&stats)) {
    if (!PrintWatched(inv, stats, first, out, err)) {
      output_closed = true;
      context.TryCancel();
      break;
    }
    first = false;
  }
  const grpc::Status status = reader->Finish();
  // Wake the waiter with a signal of its own set, so that it can be joined.
  finished.store(true);
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (status.ok() || interrupted.load() || output_closed) return ToInt(ExitCode::kOk);
  return Fail(client.Classify("stats", status, std::nullopt), err);
}

int Stats(const Invocation& inv, Client& client, std::ostream& out, std::ostream& err) {
  v1::GetStatsRequest request;
  request.set_per_worker(inv.Has("per-worker"));
  v1::Stats stats;
  if (auto f = client.Call("stats", &v1::Ferry::Stub::GetStats, request, &stats)) {
    return Fail(*f, err);
  }
  return Emit(inv, stats, RenderStats(stats, {.all = inv.Has("all")}), out, err);
}

int Sessions(const Invocation& inv, Client& client, std::ostream& out, std::ostream& err) {
  const uint64_t limit = inv.Uint("limit", 100);
  const uint64_t page_size =
      inv.Uint("page-size", std::min<uint64_t>(limit == 0 ? 1000 : limit, 1000));
  if (page_size < 1 || page_size > 1000) {
    return Usage(UsageError("sessions",
                            absl::StrFormat("--page-size: %d is out of range 1..1000", page_size)),
                 err);
  }
  v1::ListSessionsRequest request;
  request.set_listener(inv.String("listener"));
  request.set_pool(inv.String("pool"));
  request.set_backend(inv.String("backend"));
  request.set_client(inv.String("client"));
  request.set_page_size(static_cast<uint32_t>(page_size));
  // All pages in one response, so that -o json prints one object whatever the paging.
  v1::ListSessionsResponse all;
  while (true) {
    v1::ListSessionsResponse page;
    if (auto f = client.Call("sessions", &v1::Ferry::Stub::ListSessions, request, &page)) {
      return Fail(*f, err);
    }
    for (v1::Session& s : *page.mutable_sessions()) *all.add_sessions() = std::move(s);
    all.set_next_page_token(page.next_page_token());
    if (page.next_page_token().empty()) break;
    if (limit != 0 && static_cast<uint64_t>(all.sessions_size()) >= limit) break;
    request.set_page_token(page.next_page_token());
  }
  bool more = !all.next_page_token().empty();
  if (limit != 0 && static_cast<uint64_t>(all.sessions_size()) > limit) {
    all.mutable_sessions()->DeleteSubrange(static_cast<int>(limit),
                                           all.sessions_size() - static_cast<int>(limit));
    more = true;
  }
  // ferryctl takes no page token, and one could not resume a cut inside a page: none is shown.
  all.clear_next_page_token();
  return Emit(inv, all, RenderSessions(all.sessions(), more), out, err);
}

}  // namespace

int RunCommand(const Invocation& inv, std::ostream& out, std::ostream& err) {
  const absl::string_view verb = inv.command->name;
  if (verb == "stats" && inv.Has("watch")) return Watch(inv, out, err);

  // A config file is read before dialing: its mistakes are usage errors, whatever ferryd's
  // state.
  std::optional<v1::Config> config;
  if (inv.Has("file")) {
    absl::StatusOr<v1::Config> loaded = LoadFile(inv);
    if (!loaded.ok()) return Usage(loaded.status(), err);
    config = std::move(*loaded);
  }

  Client client(EndpointFor(inv.global), inv.global.timeout);
  if (auto f = client.Preflight()) return Fail(*f, err);

  if (verb == "status") return Status(inv, client, out, err);
  if (verb == "config get") return ConfigGet(inv, client, out, err);
  if (verb == "config validate") return ConfigValidate(inv, *config, client, out, err);
  if (verb == "config apply") return ConfigApply(inv, *config, client, out, err);
  if (verb == "config diff") return ConfigDiff(inv, *config, client, out, err);
  if (verb.substr(0, 8) == "backend ") return Backend(inv, client, out, err);
  if (verb == "stats") return Stats(inv, client, out, err);
  if (verb == "sessions") return Sessions(inv, client, out, err);
  // The parser accepts only the verbs above; this is for a verb added there and not here.
  err << "ferryctl: " << verb << ": unknown verb (see ferryctl --help)\n";
  return ToInt(ExitCode::kUsage);
}

}  // namespace ferry::ferryctl
