// The deterministic cost of the proxy (perf/README.md, "Instructions"): ferry's TCP stack and
// proxy run in process on the scripted packet harness (tests/packet/proxy_harness.h), with a
// fake clock and no NIC, and callgrind counts the instructions ferry executes:
//
//   connections: K short proxied connections, each the exchange of an HTTP/1.0 request with
//     `Connection: close`: the client's handshake, the backend's SYN and handshake, a
//     78-byte request forwarded to the backend, a 250-byte response and the backend's FIN
//     forwarded to the client, the client's ACK and FIN, the backend's ACK of ferry's FIN; the
//     clock then moves 1 ms (one timer tick); at the end the clock moves past TIME-WAIT so
//     that every TCB is released;
//   segments: on one spliced session, M full data segments (1448 bytes of payload) from the
//     client, each forwarded to the backend; the backend acknowledges every second segment
//     and ferry acknowledges the client as it decides (every second full segment).
//
// What is counted (perf/run.sh runs this under valgrind --tool=callgrind with
// --collect-atstart=no and --toggle-collect on ferry's entry points): everything inside
// tcp::TcpStack::Input (the frame of one received segment, as ferryd's worker hands it to the
// stack after IPv4), tcp::TcpStack::Tick and proxy::Proxy::Tick, including the proxy's
// callbacks and the building of every segment ferry sends, but not the harness: neither the
// building of injected segments (the NIC's and the peer's work) nor the parsing of what ferry
// sends (ProxyHarness::Capture, where ferryd would hand the frame to the NIC). Each phase is
// zeroed before (CALLGRIND_ZERO_STATS) and dumped after (CALLGRIND_DUMP_STATS_AT) so set-up,
// warm-up and the other phase are not counted.
//
// Outside valgrind the client requests are no-ops and the program just runs (the perf suite
// checks it works); it prints one RESULT line per phase with the wall time, which is not
// stable and only informative.
//
// Parameters (environment, because gtest owns argv): FERRY_COST_CONNECTIONS (K, default 1000),
// FERRY_COST_SEGMENTS (M, default 10000).
#include <valgrind/callgrind.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

uint32_t EnvCount(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
}

const std::string kRequest =
    "GET /small HTTP/1.0\r\nHost: 198.18.0.1\r\nUser-Agent: ferry-perf\r\nAccept: */*\r\n\r\n";
const std::string kResponse = [] {
  std::string head =
      "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: 128\r\nConnection: close\r\n\r\n";
  return head + std::string(250 - head.size(), 'x');
}();

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One short connection, as in the header comment; `port` is the client's.
void OneConnection(ProxyHarness& h, uint16_t port) {
  const uint32_t r = static_cast<uint32_t>(kRequest.size());
  const uint32_t s = static_cast<uint32_t>(kResponse.size());
  Flow& c = h.Client(port);
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Accept(b);
  h.Inject(c, Ack().Seq(1).Ack(1).Data(kRequest));
  h.Inject(b, Ack().Seq(1).Ack(1 + r).Data(kResponse));
  h.Inject(b, Fin().Seq(1 + s).Ack(1 + r));
  h.Inject(c, Ack().Seq(1 + r).Ack(2 + s));
  h.Inject(c, Fin().Seq(1 + r).Ack(2 + s));
  h.Inject(b, Ack().Seq(2 + s).Ack(2 + r));
  h.FlushAll();
  h.Advance(1ms);
}

void Configure(ProxyHarness& h, uint32_t connections) {
  // Room for every connection of the run: TIME-WAIT TCBs stay until the end of the phase.
  h.stack_options().max_connections = 2 * connections + 256;
  h.stack_options().time_wait = 2s;
  h.settings().max_sessions = connections + 128;
}

TEST(Cost, Connections) {
  const uint32_t k = EnvCount("FERRY_COST_CONNECTIONS", 1000);
  const uint32_t warm = 20;
  ASSERT_LE(k + warm, 40000u);
  ProxyHarness h;
  Configure(h, k + warm);
  h.Start();
  uint16_t port = 20000;
  for (uint32_t i = 0; i < warm; ++i) OneConnection(h, port++);
  const auto t0 = std::chrono::steady_clock::now();
  CALLGRIND_ZERO_STATS;
  for (uint32_t i = 0; i < k; ++i) OneConnection(h, port++);
  CALLGRIND_DUMP_STATS_AT("connections");
  const double wall = Seconds(std::chrono::steady_clock::now() - t0);
  h.Advance(3s, 10ms);
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), k + warm);
  EXPECT_EQ(h.counter(ListenerCounter::kBytesFromClient), uint64_t{k + warm} * kRequest.size());
  EXPECT_EQ(h.counter(ListenerCounter::kBytesToClient), uint64_t{k + warm} * kResponse.size());
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  EXPECT_EQ(h.counter(ListenerCounter::kConnectGaveUp), 0u);
  EXPECT_EQ(h.stack().connections(), 0u) << "TCBs left after TIME-WAIT";
  std::printf("RESULT phase=connections count=%u wall_s=%.6f wall_ns_per=%.0f\n", k, wall,
              1e9 * wall / k);
}

TEST(Cost, Segments) {
  const uint32_t m = EnvCount("FERRY_COST_SEGMENTS", 10000);
  const uint32_t warm = 200;
  const uint32_t l = kMssTs;
  ProxyHarness h;
  Configure(h, 16);
  auto [c, b] = h.Splice();
  uint32_t sent = 0;  // segments the client sent
  auto send = [&](uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
      h.Inject(c, Ack().Seq(1 + sent * l).Ack(1).Data(std::string(l, static_cast<char>('a' + sent % 26))));
      ++sent;
      if (sent % 2 == 0) h.Inject(b, Ack().Seq(1).Ack(1 + sent * l));
      h.FlushAll();
      if (sent % 100 == 0) h.Advance(1ms);
    }
  };
  send(warm);
  const auto t0 = std::chrono::steady_clock::now();
  CALLGRIND_ZERO_STATS;
  send(m);
  CALLGRIND_DUMP_STATS_AT("segments");
  const double wall = Seconds(std::chrono::steady_clock::now() - t0);
  const uint64_t bytes = uint64_t{warm + m} * l;
  EXPECT_EQ(h.counter(ListenerCounter::kBytesFromClient), bytes);
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), bytes);
  EXPECT_EQ(b.from_ferry.size(), bytes) << "bytes the backend received";
  // A clean close: the client's FIN, then the backend's.
  const uint32_t end = 1 + static_cast<uint32_t>(bytes);
  if (sent % 2 != 0) h.Inject(b, Ack().Seq(1).Ack(end));
  h.Inject(c, Fin().Seq(end).Ack(1));
  h.Inject(b, Fin().Seq(1).Ack(end + 1));
  h.Inject(c, Ack().Seq(end + 1).Ack(2));
  h.FlushAll();
  h.Advance(3s, 10ms);
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  std::printf("RESULT phase=segments count=%u wall_s=%.6f wall_ns_per=%.0f\n", m, wall,
              1e9 * wall / m);
}

}  // namespace
}  // namespace ferry::proxy::packet
