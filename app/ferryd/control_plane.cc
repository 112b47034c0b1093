// ferryd's control plane (control_plane.h).
#include "control_plane.h"

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "stats_export.h"

namespace ferry::ferryd {
namespace {

// How long a session query waits for a worker: a loop iteration is well under a millisecond,
// so a worker that takes this long is stuck, and the caller hears so.
constexpr auto kQueryTimeout = std::chrono::seconds(1);

uint64_t UnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t Ms(base::Duration d) {
  return d.count() <= 0
             ? 0
             : static_cast<uint64_t>(
                   std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

std::string Endpoint(net::Ipv4Address address, uint16_t port) {
  return absl::StrCat(address.ToString(), ":", port);
}

v1::SessionState StateOf(proxy::SessionState s) {
  switch (s) {
    case proxy::SessionState::kConnecting:
      return v1::SESSION_STATE_CONNECTING;
    case proxy::SessionState::kBackoff:
      return v1::SESSION_STATE_BACKOFF;
    case proxy::SessionState::kSpliced:
      return v1::SESSION_STATE_SPLICED;
    case proxy::SessionState::kFree:
      break;
  }
  return v1::SESSION_STATE_UNSPECIFIED;
}

// The page token is "<worker>:<slot>": where the next page starts.
absl::Status ParseToken(const std::string& token, uint32_t workers, uint32_t* worker,
                        uint32_t* slot) {
  *worker = 0;
  *slot = 0;
  if (token.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(token, ':');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], worker) ||
      !absl::SimpleAtoi(parts[1], slot) || *worker >= workers) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_token: \"", token, "\" is not a token this appliance gave (pass next_page_token "
                                 "of the previous page, or nothing for the first)"));
  }
  return absl::OkStatus();
}

}  // namespace

ControlPlane::ControlPlane(const std::vector<std::unique_ptr<Worker>>& workers,
                           const std::vector<net::Port>& ports, const control::Settings& settings,
                           proxy::SnapshotCell& cell, uint32_t mbufs_per_worker)
    : workers_(workers),
      ports_(ports),
      interfaces_(settings.host.interfaces),
      cell_(cell),
      mbufs_per_worker_(mbufs_per_worker),
      applied_unix_ms_(UnixMs()) {}

absl::Status ControlPlane::Publish(const control::Settings& settings, uint64_t version) {
  std::lock_guard lock(cell_mu_);
  absl::StatusOr<std::unique_ptr<proxy::ProxySnapshot>> next = proxy::BuildSnapshot(
      settings.proxy, version, static_cast<uint32_t>(workers_.size()), &cell_.published());
  if (!next.ok()) return next.status();
  cell_.Publish(*std::move(next));
  applied_unix_ms_ = UnixMs();
  return absl::OkStatus();
}

v1::Status ControlPlane::GetStatus() {
  v1::Status status;
  status.set_version(FERRY_VERSION);
  status.set_pid(getpid());
  status.set_uptime_ms(Ms(std::chrono::steady_clock::now() - started_));
  {
    std::lock_guard lock(cell_mu_);
    const proxy::ProxySnapshot& snapshot = cell_.published();
    status.set_config_version(snapshot.version);
    status.set_config_applied_unix_ms(applied_unix_ms_);
    status.set_listeners(static_cast<uint32_t>(snapshot.settings.listeners.size()));
    uint32_t backends = 0;
    for (const auto& p : snapshot.settings.pools) backends += static_cast<uint32_t>(p.backends.size());
    status.set_backends(backends);
  }
  for (const auto& w : workers_) {
    v1::WorkerStatus* ws = status.add_workers();
    ws->set_index(w->index());
    ws->set_lcore(w->lcore());
    ws->set_sessions_active(w->proxy().counters().Load(proxy::ProxyCounter::kSessionsActive));
    ws->set_session_slots(w->proxy().session_capacity());
    ws->set_mbufs_in_use(rte_mempool_in_use_count(w->pool()));
    ws->set_mbufs_total(mbufs_per_worker_);
    const double busy = static_cast<double>(w->loop_counters().Load(LoopCounter::kBusyCycles));
    const double idle = static_cast<double>(w->loop_counters().Load(LoopCounter::kIdleCycles));
    ws->set_busy_percent(busy + idle > 0 ? 100.0 * busy / (busy + idle) : 0.0);
    status.set_sessions_active(status.sessions_active() + ws->sessions_active());
    status.set_session_slots(status.session_slots() + ws->session_slots());
    status.set_mbufs_in_use(status.mbufs_in_use() + ws->mbufs_in_use());
    status.set_mbufs_total(status.mbufs_total() + ws->mbufs_total());
  }
  if (!workers_.empty()) status.set_session_slot_bytes(workers_.front()->session_slot_bytes());
  for (size_t i = 0; i < ports_.size(); ++i) {
    const net::Port& p = ports_[i];
    v1::PortStatus* ps = status.add_ports();
    ps->set_interface(p.interface_name);
    ps->set_port_id(p.port_id);
    ps->set_dpdk_name(p.dpdk_name);
    ps->set_mac(p.mac.ToString());
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(p.port_id, &link) == 0) {
      ps->set_link_up(link.link_status == RTE_ETH_LINK_UP);
      ps->set_link_speed_mbps(link.link_speed);
    }
    ps->set_queues(p.queues);
    if (i < interfaces_.size()) {
      for (const auto& a : interfaces_[i].addresses) ps->add_addresses(a.ToString());
    }
  }
  return status;
}

v1::Stats ControlPlane::GetStats(bool per_worker) {
  std::lock_guard lock(cell_mu_);
  cell_.ReleaseDrained();
  return CollectStats(workers_, cell_, per_worker);
}

std::string ControlPlane::Report(uint64_t tsc_hz) {
  return CountersReport(GetStats(false), workers_, tsc_hz);
}

absl::StatusOr<v1::ListSessionsResponse> ControlPlane::ListSessions(
    const v1::ListSessionsRequest& request) {
  const uint32_t page_size = request.page_size() == 0 ? 100 : request.page_size();
  if (page_size > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", page_size, " is out of range 1..1000 (or 0 for 100)"));
  }
  uint32_t worker = 0;
  uint32_t slot = 0;
  if (absl::Status s = ParseToken(request.page_token(), static_cast<uint32_t>(workers_.size()),
                                  &worker, &slot);
      !s.ok()) {
    return s;
  }
  // The client filter: an address, or an address and port.
  std::string client_address = request.client();
  uint32_t client_port = 0;
  if (const size_t colon = client_address.find(':'); colon != std::string::npos) {
    if (!absl::SimpleAtoi(client_address.substr(colon + 1), &client_port) || client_port == 0 ||
        client_port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("client: \"", request.client(), "\" is not ADDRESS or ADDRESS:PORT"));
    }
    client_address.resize(colon);
  }
  std::optional<net::Ipv4Address> client_ip;
  if (!client_address.empty()) {
    absl::StatusOr<net::Ipv4Address> ip = net::Ipv4Address::Parse(client_address);
    if (!ip.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("client: ", ip.status().message()));
    }
    client_ip = *ip;
  }

  v1::ListSessionsResponse response;
  std::lock_guard lock(query_mu_);
  for (; worker < workers_.size(); ++worker, slot = 0) {
    Worker& w = *workers_[worker];
    Worker::SessionQuery query;
    query.from = slot;
    bool page_full = false;  // a matching session did not fit
    // Runs on the worker, between two iterations of its loop: it reads the session records
    // and the worker's snapshot, and builds the page (bounded by page_size).
    query.visit = [&](const proxy::Session& s, const proxy::Proxy& proxy) {
      if (s.client == nullptr || s.listener == nullptr) return true;  // ending this iteration
      const tcp::FourTuple& c = s.client->tuple();
      const proxy::ListenerState& l = *s.listener;
      const std::string pool =
          s.backend_counted
              ? s.backend_record->pool
              : (l.pool >= 0 ? proxy.snapshot().settings.pools[static_cast<uint32_t>(l.pool)].name
                             : std::string());
      const std::string backend = s.backend_counted ? s.backend_record->name : std::string();
      if (!request.listener().empty() && l.record->name != request.listener()) return true;
      if (!request.pool().empty() && pool != request.pool()) return true;
      if (!request.backend().empty() && backend != request.backend()) return true;
      if (client_ip && (c.remote_ip != *client_ip ||
                        (client_port != 0 && c.remote_port != client_port))) {
        return true;
      }
      if (response.sessions_size() == static_cast<int>(page_size)) {
        page_full = true;
        return false;
      }
      v1::Session* out = response.add_sessions();
      out->set_worker(worker);
      out->set_listener(l.record->name);
      out->set_client(Endpoint(c.remote_ip, c.remote_port));
      out->set_pool(pool);
      out->set_backend(backend);
      if (s.backend != nullptr) {
        const tcp::FourTuple& b = s.backend->tuple();
        out->set_backend_address(Endpoint(b.remote_ip, b.remote_port));
        out->set_source(Endpoint(b.local_ip, b.local_port));
      }
      out->set_state(StateOf(s.state));
      out->set_age_ms(Ms(proxy.now() - s.accepted_at));
      out->set_idle_ms(Ms(proxy.now() - s.last_activity));
      out->set_bytes_from_client(s.bytes_from_client);
      out->set_bytes_from_backend(s.bytes_from_backend);
      out->set_attempts(s.attempts);
      return true;
    };
    if (!w.Query(query, kQueryTimeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat("worker ", worker, " did not answer within 1 s"));
    }
    if (page_full) {
      // The visit stopped at a session that did not fit: the next page starts with it.
      response.set_next_page_token(absl::StrCat(worker, ":", query.next - 1));
      return response;
    }
  }
  return response;
}

}  // namespace ferry::ferryd
