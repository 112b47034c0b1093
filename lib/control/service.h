// The gRPC service ferry.v1.Ferry (service.proto) and the server that carries it on ferryd's
// Unix socket and, when configured, a TCP management address (docs/control.md).
//
// The service is glue: configs go to the ConfigStore; status, statistics and sessions come
// from the appliance (ApplianceView, implemented by ferryd, which knows its workers). It runs
// on gRPC's threads, never on a worker.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "control/config.h"
#include "control/config_store.h"
#include "ferry/v1/service.grpc.pb.h"
#include "grpcpp/server.h"

namespace ferry::control {

// What the service asks of the appliance. Called from several gRPC threads at once:
// implementations serialise what needs it.
class ApplianceView {
 public:
  virtual ~ApplianceView() = default;
  virtual v1::Status GetStatus() = 0;
  virtual v1::Stats GetStats(bool per_worker) = 0;
  // Errors: InvalidArgument for a bad filter or page token; DeadlineExceeded if a worker
  // did not answer.
  virtual absl::StatusOr<v1::ListSessionsResponse> ListSessions(
      const v1::ListSessionsRequest& request) = 0;
};

// The largest request the server takes (a config with thousands of backends is well under it);
// larger ones get RESOURCE_EXHAUSTED from gRPC.
inline constexpr int kMaxRequestBytes = 4 << 20;

class FerryService final : public v1::Ferry::Service {
 public:
  FerryService(ConfigStore& store, ApplianceView& appliance)
      : store_(store), appliance_(appliance) {}

  // Ends WatchStats streams (at their next interval tick) so that the server can shut down.
  void Stop() { stopping_.store(true); }

  grpc::Status GetStatus(grpc::ServerContext*, const v1::GetStatusRequest*,
                         v1::Status* response) override;
  grpc::Status GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                         v1::GetConfigResponse* response) override;
  grpc::Status ValidateConfig(grpc::ServerContext*, const v1::ValidateConfigRequest* request,
                              v1::ValidateConfigResponse* response) override;
  grpc::Status ApplyConfig(grpc::ServerContext*, const v1::ApplyConfigRequest* request,
                           v1::ConfigChange* response) override;
  grpc::Status AddBackend(grpc::ServerContext*, const v1::AddBackendRequest* request,
                          v1::ConfigChange* response) override;
  grpc::Status RemoveBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                             v1::ConfigChange* response) override;
  grpc::Status SetBackendWeight(grpc::ServerContext*, const v1::SetBackendWeightRequest* request,
                                v1::ConfigChange* response) override;
  grpc::Status EnableBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                             v1::ConfigChange* response) override;
  grpc::Status DisableBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                              v1::ConfigChange* response) override;
  grpc::Status DrainBackend(grpc::ServerContext*, const v1::BackendRequest* request,
                            v1::ConfigChange* response) override;
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest* request,
                        v1::Stats* response) override;
  grpc::Status WatchStats(grpc::ServerContext* context, const v1::WatchStatsRequest* request,
                          grpc::ServerWriter<v1::Stats>* writer) override;
  grpc::Status ListSessions(grpc::ServerContext*, const v1::ListSessionsRequest* request,
                            v1::ListSessionsResponse* response) override;

 private:
  using BackendEdit =
      std::function<absl::Status(v1::Config&, absl::string_view pool, absl::string_view name)>;
  // A backend verb: checks the request names a pool and a backend, and applies `edit` to the
  // running config through the store.
  grpc::Status EditBackend(const v1::BackendRequest& request, BackendEdit edit,
                           v1::ConfigChange* response);

  ConfigStore& store_;
  ApplianceView& appliance_;
  std::atomic<bool> stopping_{false};
};

// The gRPC server on the control settings' endpoints.
class ControlServer {
 public:
  // Listens on settings.socket_path (its directory made if missing; a stale socket left by a
  // ferryd that died is replaced, a live one is an error), sets its mode and group, and on
  // management_address:grpc_port when that is set. Errors name the endpoint and say why:
  // "control socket /run/ferry/ferry.sock: another ferryd is serving it".
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(const ControlSettings& settings,
                                                              FerryService& service);
  // Stops the server (in-flight calls get a short grace) and removes the socket.
  ~ControlServer();

 private:
  ControlServer(FerryService& service, std::unique_ptr<grpc::Server> server, std::string path)
      : service_(service), server_(std::move(server)), socket_path_(std::move(path)) {}
  FerryService& service_;
  std::unique_ptr<grpc::Server> server_;
  std::string socket_path_;
};

}  // namespace ferry::control
