// The running config on the control path (docs/control.md): the ferry.v1.Config that ferryd
// runs, its version, and the one way to change it. A change is checked whole (unknown fields,
// ValidateConfig, fields only a restart can change, ResolveSettings), then published to the
// workers through the Publish callback, and only then becomes the running config: a refused
// change leaves everything as it was. Changes are serialised, and optimistic concurrency on
// the version keeps two operators from overwriting each other's edits unknowingly.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "control/config.h"
#include "ferry/v1/config.pb.h"
#include "ferry/v1/service.pb.h"

namespace ferry::control {

class ConfigStore {
 public:
  // Makes `settings` (resolved from the config with `version`) the workers' config. Returns
  // an error if it could not be published; the change is then refused.
  using Publish = std::function<absl::Status(const Settings& settings, uint64_t version)>;

  // `config` is running already (resolved into `settings` at start-up) as version 1.
  // `drivers_dir` is where ResolveSettings finds driver profiles.
  ConfigStore(v1::Config config, Settings settings, std::string drivers_dir, Publish publish);

  v1::GetConfigResponse Get() const;
  uint64_t version() const;
  uint64_t applied_unix_ms() const;
  // The running settings (a copy: they change under a concurrent Apply).
  Settings settings() const;

  // What Apply would say of `config`, without applying it.
  v1::ValidateConfigResponse Validate(const v1::Config& config) const;

  // Makes `config` the running config. Errors (the running config unchanged):
  //   Aborted             expected_version is neither 0 nor the running version
  //   InvalidArgument     unknown fields, or ValidateConfig's or ResolveSettings' error
  //                       ("<field path>: <reason>")
  //   FailedPrecondition  a field that only a restart can change ("<field>: ...")
  //   what Publish returns
  absl::StatusOr<v1::ConfigChange> Apply(const v1::Config& config, uint64_t expected_version);

  // Applies edit(running config) as Apply would; edit's error refuses the change.
  absl::StatusOr<v1::ConfigChange> Edit(uint64_t expected_version,
                                        const std::function<absl::Status(v1::Config&)>& edit);

 private:
  // The checks of Apply short of publishing; fills `settings`.
  absl::Status Check(const v1::Config& config, Settings* settings) const;
  absl::StatusOr<v1::ConfigChange> ApplyLocked(const v1::Config& config,
                                               uint64_t expected_version);

  const std::string drivers_dir_;
  const Publish publish_;
  mutable std::mutex mu_;
  v1::Config config_;
  Settings settings_;
  uint64_t version_ = 1;
  uint64_t applied_unix_ms_ = 0;
};

// "<path>: <field> is not a field of ferry.v1.Config" for the first unknown field anywhere in
// `message` (a client built from a newer proto, or bytes that are not a Config), with its
// number; OK if there is none.
absl::Status CheckNoUnknownFields(const google::protobuf::Message& message,
                                  const std::string& path);

// The first field of `next` whose change needs a restart of ferryd (everything but the proxy's
// listeners, pools and source addresses), as a FailedPrecondition naming it; OK if none.
absl::Status CheckLiveChange(const v1::Config& running, const v1::Config& next);

// For people: what differs between two valid configs' proxies ("listener web added",
// "backend web/b2 removed", "backend web/b1 weight 1 -> 3", ...).
std::vector<std::string> DescribeChanges(const v1::Config& running, const v1::Config& next);

// The field path at the start of a validation message ("proxy.pools[0].name: ..." gives
// "proxy.pools[0].name"); "" if the message does not start with one.
std::string FieldPathOf(absl::string_view message);

}  // namespace ferry::control
