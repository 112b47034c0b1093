// ferryd: the appliance daemon. Loads the start-up config, initialises EAL from the driver
// profiles, starts one worker per configured lcore, serves the control plane (gRPC on a Unix
// socket, optionally TCP and /metrics; docs/control.md) and waits on signals on the main
// (control) lcore: SIGUSR1 prints the counters, SIGINT/SIGTERM stop the workers, print the
// final counters and exit 0.
//
// Exit codes: 0 clean shutdown; 1 start-up failed (EAL, ports, pools); 2 bad flags or config.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "control/config.h"
#include "control/config_store.h"
#include "control/metrics_server.h"
#include "control/prometheus.h"
#include "control/service.h"
#include "control_plane.h"
#include "net/port.h"
#include "proxy/snapshot.h"
#include "worker.h"

ABSL_FLAG(std::string, config, "/etc/ferry/ferryd.conf",
          "Start-up configuration: a ferry.v1.Config in protobuf text format "
          "(see deploy/ferryd.conf.example)");
ABSL_FLAG(std::string, drivers_dir, FERRY_DEFAULT_DRIVERS_DIR,
          "Directory of driver profiles (<driver>.textproto)");
ABSL_FLAG(std::string, log_level, "info", "Least severe log level shown: debug, info, warning, error");
ABSL_FLAG(bool, check_config, false,
          "Validate the config and its driver profiles, print the EAL arguments, and exit");

namespace ferry::ferryd {
namespace {

constexpr int kExitStartup = 1;
constexpr int kExitConfig = 2;

int WorkerMain(void* arg) {
  static_cast<Worker*>(arg)->Run();
  return 0;
}

// Everything started so far, undone in reverse order whatever path leaves main.
struct Appliance {
  std::vector<rte_mempool*> pools;
  std::vector<net::Port> ports;
  std::unique_ptr<proxy::SnapshotCell> snapshots;  // the workers read it: it outlives them
  std::vector<std::unique_ptr<Worker>> workers;
  bool eal_up = false;

  ~Appliance() {
    workers.clear();
    snapshots.reset();
    for (const net::Port& p : ports) net::StopPort(p);
    for (rte_mempool* pool : pools) rte_mempool_free(pool);
    if (eal_up) {
      // EAL leaves its runtime directory (/var/run/dpdk/<file prefix>) behind; ferryd runs
      // no secondary processes, so nothing else needs it once we are gone.
      const std::string runtime_dir = rte_eal_get_runtime_dir();
      rte_eal_cleanup();
      std::error_code ignored;
      std::filesystem::remove_all(runtime_dir, ignored);
    }
  }
};

void PrintCounters(ControlPlane& control, const char* when) {
  const std::string report = control.Report(rte_get_tsc_hz());
  std::printf("ferryd: %s\n%s", when, report.c_str());
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ferry appliance daemon.\n\n  ferryd --config=/etc/ferry/ferryd.conf\n\n"
      "Signals: SIGUSR1 prints the counters; SIGINT or SIGTERM shut down cleanly.");
  absl::ParseCommandLine(argc, argv);
  base::LogLevel level;
  if (!base::ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    std::fprintf(stderr, "ferryd: --log_level=%s: want debug, info, warning or error\n",
                 absl::GetFlag(FLAGS_log_level).c_str());
    return kExitConfig;
  }
  base::SetLogLevel(level);

  auto config = control::LoadConfigFile(absl::GetFlag(FLAGS_config));
  if (!config.ok()) {
    std::fprintf(stderr, "ferryd: config: %s\n", std::string(config.status().message()).c_str());
    return kExitConfig;
  }
  auto settings = control::ResolveSettings(*config, absl::GetFlag(FLAGS_drivers_dir));
  if (!settings.ok()) {
    std::fprintf(stderr, "ferryd: %s: %s\n", absl::GetFlag(FLAGS_config).c_str(),
                 std::string(settings.status().message()).c_str());
    return kExitConfig;
  }
  std::vector<std::string> dpdk_names;
  std::vector<std::string> eal_args = control::EalArguments(*settings, &dpdk_names);
  if (absl::GetFlag(FLAGS_check_config)) {
    std::printf("config OK: %zu interfaces, %u workers, %zu diagnostic listeners, TCP MSS %u\n"
                "EAL: %s\n",
                settings->ports.size(), settings->workers.count, settings->diagnostics.size(),
                settings->tcp.mss, absl::StrJoin(eal_args, " ").c_str());
    return 0;
  }

  // Signals are taken synchronously by this thread (sigwaitinfo below); block them before EAL
  // starts any thread so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Appliance app;
  FERRY_LOG(kInfo, "EAL arguments: %s", absl::StrJoin(eal_args, " "));
  std::vector<char*> eal_argv;
  for (std::string& a : eal_args) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    FERRY_LOG(kError, "EAL init failed: %s", rte_strerror(rte_errno));
    return kExitStartup;
  }
  app.eal_up = true;

  const control::WorkerSettings& ws = settings->workers;
  for (uint32_t i = 0; i < ws.count; ++i) {
    const uint32_t lcore = ws.lcores[i];
    if (!rte_lcore_is_enabled(lcore)) {
      FERRY_LOG(kError, "workers.lcores[%u]: lcore %u is not available to EAL", i, lcore);
      return kExitStartup;
    }
    uint16_t max_mtu = 0;
    for (const net::PortSpec& p : settings->ports) max_mtu = std::max(max_mtu, p.mtu);
    auto pool = net::CreateMbufPool(absl::StrCat("ferry_w", i), ws.mbufs_per_worker,
                                    net::DataRoomForMtu(max_mtu),
                                    static_cast<int>(rte_lcore_to_socket_id(lcore)));
    if (!pool.ok()) {
      FERRY_LOG(kError, "worker %u: %s", i, pool.status().message());
      return kExitStartup;
    }
    app.pools.push_back(*pool);
  }
  for (size_t i = 0; i < settings->ports.size(); ++i) {
    auto port = net::StartPort(settings->ports[i], dpdk_names[i], app.pools);
    if (!port.ok()) {
      FERRY_LOG(kError, "%s", port.status().message());
      return kExitStartup;
    }
    FERRY_LOG(kInfo, "interface %s: port %u (%s) mac %s, %u queue pairs, rings %u/%u, link %s",
              port->interface_name, port->port_id, port->dpdk_name, port->mac.ToString(),
              port->queues, port->rx_ring_size, port->tx_ring_size,
              port->link_up ? absl::StrCat("up ", port->link_speed_mbps, " Mbps") : "down");
    app.ports.push_back(*std::move(port));
  }
  {
    // The proxy's first snapshot: config version 1.
    auto first = proxy::BuildSnapshot(settings->proxy, 1, ws.count, nullptr);
    if (!first.ok()) {
      FERRY_LOG(kError, "proxy: %s", first.status().message());
      return kExitStartup;
    }
    auto cell = proxy::SnapshotCell::Create(ws.count, *std::move(first));
    if (!cell.ok()) {
      FERRY_LOG(kError, "proxy: %s", cell.status().message());
      return kExitStartup;
    }
    app.snapshots = *std::move(cell);
  }
  for (uint32_t i = 0; i < ws.count; ++i) {
    auto worker = Worker::Create(i, *settings, app.ports, app.pools[i], *app.snapshots);
    if (!worker.ok()) {
      FERRY_LOG(kError, "worker %u: %s", i, worker.status().message());
      return kExitStartup;
    }
    app.workers.push_back(*std::move(worker));
  }
  for (uint32_t i = 0; i < ws.count; ++i) {
    if (int rc = rte_eal_remote_launch(WorkerMain, app.workers[i].get(), ws.lcores[i]); rc != 0) {
      FERRY_LOG(kError, "worker %u: cannot launch on lcore %u: %s", i, ws.lcores[i],
                rte_strerror(-rc));
      for (auto& w : app.workers) w->Stop();
      rte_eal_mp_wait_lcore();
      return kExitStartup;
    }
  }
  for (const auto& iface : settings->host.interfaces) {
    std::vector<std::string> addrs;
    for (const auto& p : iface.addresses) addrs.push_back(p.ToString());
    FERRY_LOG(kInfo, "interface %s: serving %s", iface.name, absl::StrJoin(addrs, ", "));
  }
  for (const control::DiagnosticListenerSettings& d : settings->diagnostics) {
    FERRY_LOG(kInfo, "diagnostics: %s on %s:%u", control::Name(d.service), d.address.ToString(),
              d.port);
  }
  for (const proxy::ListenerSettings& l : settings->proxy.listeners) {
    const proxy::PoolSettings& pool = settings->proxy.pools[l.pool];
    FERRY_LOG(kInfo, "proxy: listener %s on %s:%u -> pool %s (%s, %u backends%s)", l.name,
              l.address.ToString(), l.port, pool.name, proxy::Name(pool.policy),
              pool.backends.size(),
              pool.proxy_protocol == proxy::ProxyProtocolVersion::kNone ? ""
              : pool.proxy_protocol == proxy::ProxyProtocolVersion::kV1 ? ", PROXY v1"
                                                                        : ", PROXY v2");
  }
  if (!app.workers.empty()) {
    FERRY_LOG(kInfo, "proxy: %u session slots per worker, %u bytes each (session and two TCBs)",
              app.workers.front()->proxy().session_capacity(),
              app.workers.front()->session_slot_bytes());
  }

  // The control plane. Its objects go before `app` does (declared after it), so that no
  // control call reaches a worker that is gone.
  ControlPlane control(app.workers, app.ports, *settings, *app.snapshots, ws.mbufs_per_worker);
  control::ConfigStore store(*config, *settings, absl::GetFlag(FLAGS_drivers_dir),
                             [&control](const control::Settings& s, uint64_t version) {
                               return control.Publish(s, version);
                             });
  control::FerryService service(store, control);
  const auto stop_workers = [&app] {
    for (auto& w : app.workers) w->Stop();
    rte_eal_mp_wait_lcore();
  };
  auto server = control::ControlServer::Start(settings->control, service);
  if (!server.ok()) {
    FERRY_LOG(kError, "%s", server.status().message());
    stop_workers();
    return kExitStartup;
  }
  FERRY_LOG(kInfo, "control: gRPC on unix:%s (mode %04o)%s", settings->control.socket_path,
            settings->control.socket_mode,
            settings->control.grpc_port != 0
                ? absl::StrCat(" and ", settings->control.management_address, ":",
                               settings->control.grpc_port)
                : "");
  std::unique_ptr<control::MetricsServer> metrics;
  if (settings->control.metrics_port != 0) {
    auto m = control::MetricsServer::Start(
        settings->control.management_address, settings->control.metrics_port,
        [&control] { return control::PrometheusText(control.GetStats(false)); });
    if (!m.ok()) {
      FERRY_LOG(kError, "%s", m.status().message());
      server->reset();
      stop_workers();
      return kExitStartup;
    }
    metrics = *std::move(m);
    FERRY_LOG(kInfo, "control: Prometheus metrics on http://%s:%u/metrics",
              settings->control.management_address, metrics->port());
  }
  FERRY_LOG(kInfo, "ferryd ready: %u workers, pid %d", ws.count, getpid());

  while (true) {
    siginfo_t info;
    const int sig = sigwaitinfo(&signals, &info);
    if (sig == SIGUSR1) {
      PrintCounters(control, "counters on SIGUSR1");
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      FERRY_LOG(kInfo, "%s received: stopping workers", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
  }
  // No control call after this: the control plane reads the workers' state until it stops.
  metrics.reset();
  server->reset();
  stop_workers();
  PrintCounters(control, "final counters");
  FERRY_LOG(kInfo, "ferryd stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace ferry::ferryd

int main(int argc, char** argv) { return ferry::ferryd::Main(argc, argv); }
