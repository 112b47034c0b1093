// The control service and its server (service.h).
#include "control/service.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "control/backend_verbs.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/server_builder.h"

namespace ferry::control {
namespace {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl and gRPC number their codes alike (both follow google.rpc.Code).
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpc(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

grpc::Status Required(const std::string& value, const char* what) {
  if (!value.empty()) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, absl::StrCat(what, " is required"));
}

// INVALID_ARGUMENT if the request message itself (not what it carries) has fields this
// ferryd does not know.
grpc::Status RequestHasNoUnknownFields(const google::protobuf::Message& request) {
  const auto& unknown = request.GetReflection()->GetUnknownFields(request);
  if (unknown.empty()) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrCat("field number ", unknown.field(0).number(), " is not a field of ",
                                   request.GetDescriptor()->full_name(),
                                   " (a client built from a newer ferry.proto?)"));
}

// Whether something accepts connections on the Unix socket at `path`.
bool SocketIsServed(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  const bool served = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return served;
}

}  // namespace

// ---- Service ---------------------------------------------------------------------------------

grpc::Status FerryService::GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                                     v1::Status* response) {
  *response = appliance_.GetStatus();
  return grpc::Status::OK;
}

grpc::Status FerryService::GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                                     v1::GetConfigResponse* response) {
  *response = store_.Get();
  return grpc::Status::OK;
}

grpc::Status FerryService::ValidateConfig(grpc::ServerContext*,
                                          const v1::ValidateConfigRequest* request,
                                          v1::ValidateConfigResponse* response) {
  if (!request->has_config()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "config is required");
  }
  if (auto s = RequestHasNoUnknownFields(*request); !s.ok()) return s;
  *response = store_.Validate(request->config());
  return grpc::Status::OK;
}

grpc::Status FerryService::ApplyConfig(grpc::ServerContext*,
                                       const v1::ApplyConfigRequest* request,
                                       v1::ConfigChange* response) {
  if (!request->has_config()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "config is required");
  }
  // The config's own unknown fields are the store's to find, with config-relative paths.
  if (auto s = RequestHasNoUnknownFields(*request); !s.ok()) return s;
  return Reply(store_.Apply(request->config(), request->expected_version()), response);
}

grpc::Status FerryService::AddBackend(grpc::ServerContext*, const v1::AddBackendRequest* request,
                                      v1::ConfigChange* response) {
  if (auto s = Required(request->pool(), "pool"); !s.ok()) return s;
  if (!request->has_backend()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "backend is required");
  }
  return Reply(store_.Edit(request->expected_version(),
                           [&](v1::Config& c) {
                             return control::AddBackend(c, request->pool(), request->backend());
                           }),
               response);
}

grpc::Status FerryService::EditBackend(const v1::BackendRequest& request, BackendEdit edit,
                                       v1::ConfigChange* response) {
  if (auto s = Required(request.pool(), "pool"); !s.ok()) return s;
  if (auto s = Required(request.backend(), "backend"); !s.ok()) return s;
  return Reply(store_.Edit(request.expected_version(),
                           [&](v1::Config& c) {
                             return edit(c, request.pool(), request.backend());
                           }),
               response);
}

grpc::Status FerryService::RemoveBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                                         v1::ConfigChange* response) {
  return EditBackend(*request, control::RemoveBackend, response);
}

grpc::Status FerryService::SetBackendWeight(grpc::ServerContext*,
                                            const v1::SetBackendWeightRequest* request,
                                            v1::ConfigChange* response) {
  v1::BackendRequest backend;
  backend.set_pool(request->pool());
  backend.set_backend(request->backend());
  backend.set_expected_version(request->expected_version());
  const uint32_t weight = request->weight();
  return EditBackend(
      backend,
      [weight](v1::Config& c, absl::string_view pool, absl::string_view name) {
        return control::SetBackendWeight(c, pool, name, weight);
      },
      response);
}

grpc::Status FerryService::EnableBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                                         v1::ConfigChange* response) {
  return EditBackend(*request, control::EnableBackend, response);
}

grpc::Status FerryService::DisableBackend(grpc::ServerContext*,
                                          const v1::BackendRequest* request,
                                          v1::ConfigChange* response) {
  return EditBackend(*request, control::DisableBackend, response);
}

grpc::Status FerryService::DrainBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                                        v1::ConfigChange* response) {
  return EditBackend(*request, control::DrainBackend, response);
}

grpc::Status FerryService::GetStats(grpc::ServerContext*, const v1::GetStatsRequest* request,
                                    v1::Stats* response) {
  *response = appliance_.GetStats(request->per_worker());
  return grpc::Status::OK;
}

grpc::Status FerryService::WatchStats(grpc::ServerContext* context,
                                      const v1::WatchStatsRequest* request,
                                      grpc::ServerWriter<v1::Stats>* writer) {
  const uint32_t interval_ms = request->interval_ms() == 0 ? 1000 : request->interval_ms();
  if (interval_ms < 100 || interval_ms > 3'600'000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("interval_ms: ", interval_ms,
                                     " is out of range 100..3600000 (or 0 for 1000)"));
  }
  const auto interval = std::chrono::milliseconds(interval_ms);
  for (uint32_t sent = 0; request->count() == 0 || sent < request->count(); ++sent) {
    if (sent > 0) {
      // Sleep in slices, so that a client that went away or a server stopping ends the
      // stream within 50 ms rather than an interval.
      const auto until = std::chrono::steady_clock::now() + interval;
      while (std::chrono::steady_clock::now() < until) {
        if (context->IsCancelled()) return grpc::Status::CANCELLED;
        if (stopping_.load()) return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                  "ferryd is shutting down");
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
      }
    }
    if (!writer->Write(appliance_.GetStats(request->per_worker()))) {
      return grpc::Status::CANCELLED;  // the client went away mid-stream
    }
  }
  return grpc::Status::OK;
}

grpc::Status FerryService::ListSessions(grpc::ServerContext*,
                                        const v1::ListSessionsRequest* request,
                                        v1::ListSessionsResponse* response) {
  return Reply(appliance_.ListSessions(*request), response);
}

// ---- Server ----------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(
    const ControlSettings& settings, FerryService& service) {
  const std::string& path = settings.socket_path;
  const std::string what = absl::StrCat("control socket ", path);
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(what, ": cannot create ", dir.string(), ": ",
                                                     ec.message()));
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::AlreadyExistsError(
          absl::StrCat(what, ": the path exists and is not a socket; remove it or choose "
                             "another control.socket_path"));
    }
    if (SocketIsServed(path)) {
      return absl::AlreadyExistsError(absl::StrCat(
          what, ": another ferryd is serving it (stop it, or give this one another "
                "control.socket_path)"));
    }
    unlink(path.c_str());  // left by a ferryd that did not exit cleanly
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (!settings.socket_group.empty()) {
    const group* g = getgrnam(settings.socket_group.c_str());
    if (g == nullptr) {
      return absl::NotFoundError(absl::StrCat("control.socket_group: no group named \"",
                                              settings.socket_group, "\" on this host"));
    }
    gid = g->gr_gid;
  }

  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", path), grpc::InsecureServerCredentials());
  int tcp_port = 0;
  const std::string tcp_address =
      absl::StrCat(settings.management_address, ":", settings.grpc_port);
  if (settings.grpc_port != 0) {
    builder.AddListeningPort(tcp_address, grpc::InsecureServerCredentials(), &tcp_port);
  }
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.RegisterService(&service);
  // The socket is created by BuildAndStart: mask its mode so that it never exists with more
  // permissions than asked for, then set the mode exactly.
  const mode_t old_mask = umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  umask(old_mask);
  if (server == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "control: cannot serve on ", path,
        settings.grpc_port != 0 ? absl::StrCat(" and ", tcp_address) : "",
        " (is the directory writable, the address local and the port free?)"));
  }
  if (settings.grpc_port != 0 && tcp_port == 0) {
    server->Shutdown();
    unlink(path.c_str());
    return absl::UnavailableError(absl::StrCat("control.grpc_port: cannot listen on ",
                                               tcp_address, " (in use, or not a local address)"));
  }
  if (chmod(path.c_str(), settings.socket_mode) != 0 ||
      (gid != static_cast<gid_t>(-1) && chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0)) {
    const int error = errno;
    server->Shutdown();
    unlink(path.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat(what, ": cannot set its mode or group: ", std::strerror(error)));
  }
  return std::unique_ptr<ControlServer>(new ControlServer(service, std::move(server), path));
}

ControlServer::~ControlServer() {
  service_.Stop();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  server_->Wait();
  unlink(socket_path_.c_str());
}

}  // namespace ferry::control
