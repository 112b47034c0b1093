// The backend verbs of the control plane (service.proto: AddBackend, RemoveBackend,
// SetBackendWeight, EnableBackend, DisableBackend, DrainBackend) as edits of a Config: each
// changes the config it is given or says why it cannot, and ConfigStore::Edit then checks and
// applies the result like any other config.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ferry/v1/config.pb.h"

namespace ferry::control {

// A backend's name as the proxy knows it: the one given, or "address:port".
std::string BackendName(const v1::Backend& backend);
// `enabled` as the config means it (unset is true).
bool BackendEnabled(const v1::Backend& backend);

// Errors: NotFound naming the pool or backend that the config does not have; AlreadyExists
// for an added backend whose name (or address and port) the pool has; InvalidArgument for a
// weight out of 1..1000. The config is unchanged on error.
absl::Status AddBackend(v1::Config& config, absl::string_view pool, const v1::Backend& backend);
absl::Status RemoveBackend(v1::Config& config, absl::string_view pool, absl::string_view name);
absl::Status SetBackendWeight(v1::Config& config, absl::string_view pool, absl::string_view name,
                              uint32_t weight);
// Enable: enabled and not draining. Disable: enabled false (sessions carry on). Drain: drain
// true (no new sessions; the state reads draining until its sessions are gone).
absl::Status EnableBackend(v1::Config& config, absl::string_view pool, absl::string_view name);
absl::Status DisableBackend(v1::Config& config, absl::string_view pool, absl::string_view name);
absl::Status DrainBackend(v1::Config& config, absl::string_view pool, absl::string_view name);

}  // namespace ferry::control
