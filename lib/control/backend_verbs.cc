// Backend verbs as config edits (backend_verbs.h).
#include "control/backend_verbs.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "net/address.h"

namespace ferry::control {
namespace {

absl::StatusOr<v1::BackendPool*> FindPool(v1::Config& config, absl::string_view pool) {
  for (v1::BackendPool& p : *config.mutable_proxy()->mutable_pools()) {
    if (p.name() == pool) return &p;
  }
  return absl::NotFoundError(absl::StrCat("no pool named \"", pool, "\" in the running config"));
}

absl::StatusOr<v1::Backend*> FindBackend(v1::Config& config, absl::string_view pool,
                                         absl::string_view name) {
  absl::StatusOr<v1::BackendPool*> p = FindPool(config, pool);
  if (!p.ok()) return p.status();
  for (v1::Backend& b : *(*p)->mutable_backends()) {
    if (BackendName(b) == name) return &b;
  }
  return absl::NotFoundError(absl::StrCat("pool \"", pool, "\" has no backend named \"", name,
                                          "\""));
}

}  // namespace

std::string BackendName(const v1::Backend& b) {
  if (!b.name().empty()) return b.name();
  // The proxy names it from the parsed address (proxy_config.cc), so "198.018.1.10" and
  // "198.18.1.10" are one name.
  absl::StatusOr<net::Ipv4Address> address = net::Ipv4Address::Parse(b.address());
  return absl::StrCat(address.ok() ? address->ToString() : b.address(), ":", b.port());
}

bool BackendEnabled(const v1::Backend& b) { return !b.has_enabled() || b.enabled(); }

absl::Status AddBackend(v1::Config& config, absl::string_view pool, const v1::Backend& backend) {
  absl::StatusOr<v1::BackendPool*> p = FindPool(config, pool);
  if (!p.ok()) return p.status();
  const std::string name = BackendName(backend);
  for (const v1::Backend& b : (*p)->backends()) {
    if (BackendName(b) == name) {
      return absl::AlreadyExistsError(
          absl::StrCat("pool \"", pool, "\" already has a backend named \"", name, "\""));
    }
  }
  *(*p)->add_backends() = backend;
  return absl::OkStatus();
}

absl::Status RemoveBackend(v1::Config& config, absl::string_view pool, absl::string_view name) {
  absl::StatusOr<v1::Backend*> b = FindBackend(config, pool, name);
  if (!b.ok()) return b.status();
  auto* backends = (*FindPool(config, pool))->mutable_backends();
  for (int i = 0; i < backends->size(); ++i) {
    if (&backends->at(i) == *b) {
      backends->DeleteSubrange(i, 1);
      break;
    }
  }
  return absl::OkStatus();
}

absl::Status SetBackendWeight(v1::Config& config, absl::string_view pool, absl::string_view name,
                              uint32_t weight) {
  if (weight < 1 || weight > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("weight: ", weight, " is out of range 1..1000"));
  }
  absl::StatusOr<v1::Backend*> b = FindBackend(config, pool, name);
  if (!b.ok()) return b.status();
  (*b)->set_weight(weight);
  return absl::OkStatus();
}

absl::Status EnableBackend(v1::Config& config, absl::string_view pool, absl::string_view name) {
  absl::StatusOr<v1::Backend*> b = FindBackend(config, pool, name);
  if (!b.ok()) return b.status();
  (*b)->clear_enabled();
  (*b)->clear_drain();
  return absl::OkStatus();
}

absl::Status DisableBackend(v1::Config& config, absl::string_view pool, absl::string_view name) {
  absl::StatusOr<v1::Backend*> b = FindBackend(config, pool, name);
  if (!b.ok()) return b.status();
  (*b)->set_enabled(false);
  return absl::OkStatus();
}

absl::Status DrainBackend(v1::Config& config, absl::string_view pool, absl::string_view name) {
  absl::StatusOr<v1::Backend*> b = FindBackend(config, pool, name);
  if (!b.ok()) return b.status();
  (*b)->set_drain(true);
  return absl::OkStatus();
}

}  // namespace ferry::control
