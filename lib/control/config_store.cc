// The running config and its changes (config_store.h).
#include "control/config_store.h"

#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "control/backend_verbs.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"

namespace ferry::control {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;

uint64_t UnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

bool FieldEqual(const Message& a, const Message& b, const FieldDescriptor* f) {
  const auto* ra = a.GetReflection();
  const auto* rb = b.GetReflection();
  if (f->is_repeated()) {
    const int n = ra->FieldSize(a, f);
    if (n != rb->FieldSize(b, f)) return false;
    for (int i = 0; i < n; ++i) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (!MessageDifferencer::Equals(ra->GetRepeatedMessage(a, f, i),
                                        rb->GetRepeatedMessage(b, f, i))) {
          return false;
        }
      } else if (ra->GetRepeatedString(a, f, i) != rb->GetRepeatedString(b, f, i)) {
        // Only message and string lists occur at the top of Config.
        return false;
      }
    }
    return true;
  }
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return MessageDifferencer::Equals(ra->GetMessage(a, f), rb->GetMessage(b, f));
  }
  return MessageDifferencer::Equals(a, b);  // not reached: Config's scalars are in messages
}

// A listener's or backend's name as the proxy knows it: the one given, or "address:port".
std::string ListenerName(const v1::ProxyListener& l) {
  return l.name().empty() ? absl::StrCat(l.address(), ":", l.port()) : l.name();
}

}  // namespace

std::string FieldPathOf(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return "";
  const absl::string_view path = message.substr(0, colon);
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                    c == '[' || c == ']';
    if (!ok) return "";
  }
  return std::string(path);
}

absl::Status CheckNoUnknownFields(const Message& message, const std::string& path) {
  const auto* reflection = message.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(message);
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.empty() ? message.GetDescriptor()->name() : path, ": field number ",
        unknown.field(0).number(), " is not a field of ", message.GetDescriptor()->full_name(),
        " (a ferryctl or client built from a newer ferry.proto?)"));
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    const std::string base = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
    if (f->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
        RETURN_IF_ERROR(CheckNoUnknownFields(reflection->GetRepeatedMessage(message, f, i),
                                             absl::StrCat(base, "[", i, "]")));
      }
    } else {
      RETURN_IF_ERROR(CheckNoUnknownFields(reflection->GetMessage(message, f), base));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLiveChange(const v1::Config& running, const v1::Config& next) {
  const auto* descriptor = v1::Config::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* f = descriptor->field(i);
    if (f->name() == "proxy") continue;
    if (!FieldEqual(running, next, f)) {
      return absl::FailedPreconditionError(absl::StrCat(
          f->name(), ": changing it needs a restart of ferryd (a live change may touch only "
                     "proxy.listeners, proxy.pools and proxy.source_addresses)"));
    }
  }
  if (running.proxy().max_sessions() != next.proxy().max_sessions()) {
    return absl::FailedPreconditionError(
        "proxy.max_sessions: changing it needs a restart of ferryd (the session records are "
        "allocated at start-up)");
  }
  return absl::OkStatus();
}

std::vector<std::string> DescribeChanges(const v1::Config& running, const v1::Config& next) {
  std::vector<std::string> out;
  std::map<std::string, const v1::ProxyListener*> old_listeners, new_listeners;
  for (const auto& l : running.proxy().listeners()) old_listeners[ListenerName(l)] = &l;
  for (const auto& l : next.proxy().listeners()) new_listeners[ListenerName(l)] = &l;
  for (const auto& [name, l] : new_listeners) {
    auto it = old_listeners.find(name);
    if (it == old_listeners.end()) {
      out.push_back(absl::StrCat("listener ", name, " added (", l->address(), ":", l->port(),
                                 " -> pool ", l->pool(), ")"));
    } else if (!MessageDifferencer::Equals(*it->second, *l)) {
      out.push_back(absl::StrCat("listener ", name, " changed"));
    }
  }
  for (const auto& [name, l] : old_listeners) {
    if (!new_listeners.contains(name)) {
      out.push_back(absl::StrCat("listener ", name, " removed (its sessions carry on)"));
    }
  }
  std::map<std::string, const v1::BackendPool*> old_pools, new_pools;
  for (const auto& p : running.proxy().pools()) old_pools[p.name()] = &p;
  for (const auto& p : next.proxy().pools()) new_pools[p.name()] = &p;
  for (const auto& [name, p] : new_pools) {
    auto it = old_pools.find(name);
    if (it == old_pools.end()) {
      out.push_back(absl::StrCat("pool ", name, " added (", p->backends_size(), " backends)"));
      continue;
    }
    const v1::BackendPool& old = *it->second;
    v1::BackendPool a = old, b = *p;
    a.clear_backends();
    b.clear_backends();
    if (!MessageDifferencer::Equals(a, b)) out.push_back(absl::StrCat("pool ", name, " changed"));
    std::map<std::string, const v1::Backend*> ob, nb;
    for (const auto& x : old.backends()) ob[BackendName(x)] = &x;
    for (const auto& x : p->backends()) nb[BackendName(x)] = &x;
    for (const auto& [bname, x] : nb) {
      const std::string who = absl::StrCat("backend ", name, "/", bname);
      auto jt = ob.find(bname);
      if (jt == ob.end()) {
        out.push_back(absl::StrCat(who, " added (", x->address(), ":", x->port(), ")"));
        continue;
      }
      const v1::Backend& y = *jt->second;
      if (MessageDifferencer::Equals(y, *x)) continue;
      if (y.weight() != x->weight()) {
        out.push_back(absl::StrCat(who, " weight ", y.weight(), " -> ", x->weight()));
      }
      if (BackendEnabled(y) != BackendEnabled(*x)) {
        out.push_back(absl::StrCat(who, BackendEnabled(*x) ? " enabled" : " disabled"));
      }
      if (y.drain() != x->drain()) {
        out.push_back(absl::StrCat(who, x->drain() ? " draining" : " no longer draining"));
      }
      v1::Backend y2 = y, x2 = *x;
      for (v1::Backend* z : {&y2, &x2}) {
        z->clear_weight();
        z->clear_enabled();
        z->clear_drain();
      }
      if (!MessageDifferencer::Equals(y2, x2)) out.push_back(absl::StrCat(who, " changed"));
    }
    for (const auto& [bname, x] : ob) {
      if (!nb.contains(bname)) {
        out.push_back(
            absl::StrCat("backend ", name, "/", bname, " removed (its sessions carry on)"));
      }
    }
  }
  for (const auto& [name, p] : old_pools) {
    if (!new_pools.contains(name)) out.push_back(absl::StrCat("pool ", name, " removed"));
  }
  if (running.proxy().source_addresses_size() != next.proxy().source_addresses_size() ||
      !std::equal(running.proxy().source_addresses().begin(),
                  running.proxy().source_addresses().end(),
                  next.proxy().source_addresses().begin())) {
    out.push_back("proxy.source_addresses changed");
  }
  return out;
}

ConfigStore::ConfigStore(v1::Config config, Settings settings, std::string drivers_dir,
                         Publish publish)
    : drivers_dir_(std::move(drivers_dir)),
      publish_(std::move(publish)),
      config_(std::move(config)),
      settings_(std::move(settings)),
      applied_unix_ms_(UnixMs()) {}

v1::GetConfigResponse ConfigStore::Get() const {
  std::lock_guard lock(mu_);
  v1::GetConfigResponse r;
  *r.mutable_config() = config_;
  r.set_version(version_);
  return r;
}

uint64_t ConfigStore::version() const {
  std::lock_guard lock(mu_);
  return version_;
}

uint64_t ConfigStore::applied_unix_ms() const {
  std::lock_guard lock(mu_);
  return applied_unix_ms_;
}

Settings ConfigStore::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

absl::Status ConfigStore::Check(const v1::Config& config, Settings* settings) const {
  RETURN_IF_ERROR(CheckNoUnknownFields(config, ""));
  RETURN_IF_ERROR(ValidateConfig(config));
  ASSIGN_OR_RETURN(*settings, ResolveSettings(config, drivers_dir_));
  return absl::OkStatus();
}

v1::ValidateConfigResponse ConfigStore::Validate(const v1::Config& config) const {
  v1::ValidateConfigResponse r;
  Settings settings;
  const absl::Status status = Check(config, &settings);
  if (!status.ok()) {
    r.set_valid(false);
    r.set_message(std::string(status.message()));
    r.set_field(FieldPathOf(status.message()));
    return r;
  }
  r.set_valid(true);
  v1::Config running;
  {
    std::lock_guard lock(mu_);
    running = config_;
  }
  const absl::Status live = CheckLiveChange(running, config);
  r.set_live(live.ok());
  if (!live.ok()) r.set_restart_field(FieldPathOf(live.message()));
  return r;
}

absl::StatusOr<v1::ConfigChange> ConfigStore::Apply(const v1::Config& config,
                                                   uint64_t expected_version) {
  std::lock_guard lock(mu_);
  return ApplyLocked(config, expected_version);
}

absl::StatusOr<v1::ConfigChange> ConfigStore::Edit(
    uint64_t expected_version, const std::function<absl::Status(v1::Config&)>& edit) {
  std::lock_guard lock(mu_);
  v1::Config next = config_;
  RETURN_IF_ERROR(edit(next));
  return ApplyLocked(next, expected_version);
}

absl::StatusOr<v1::ConfigChange> ConfigStore::ApplyLocked(const v1::Config& config,
                                                         uint64_t expected_version) {
  if (expected_version != 0 && expected_version != version_) {
    return absl::AbortedError(absl::StrCat(
        "expected config version ", expected_version, " but version ", version_,
        " is running: another change was applied since; get the config again and redo yours "
        "on it"));
  }
  Settings settings;
  RETURN_IF_ERROR(Check(config, &settings));
  RETURN_IF_ERROR(CheckLiveChange(config_, config));
  v1::ConfigChange change;
  change.set_previous_version(version_);
  change.set_version(version_ + 1);
  for (std::string& line : DescribeChanges(config_, config)) change.add_changes(std::move(line));
  RETURN_IF_ERROR(publish_(settings, version_ + 1));
  config_ = config;
  settings_ = std::move(settings);
  ++version_;
  applied_unix_ms_ = UnixMs();
  return change;
}

}  // namespace ferry::control
