// The scripted packet-test harness for the proxy (suite `packet`, docs/proxy.md): one
// tcp::TcpStack and one proxy::Proxy on it, as a worker has them, with a fake clock and a fake
// IPv4 output that parses back every segment ferry sends. Unlike harness.h, the harness owns
// no connection: the proxy owns both connections of every session, and the script plays the
// peers on both sides, the clients that connect to the listener's VIP and the backends the
// proxy connects to:
//
//   ProxyHarness h;                    // listener 198.18.0.1:80 -> pool "app": b0, b1
//   Flow& c = h.Client();              // 198.18.0.2:40000 -> 198.18.0.1:80
//   h.Handshake(c);                    // SYN, SYN-ACK, ACK: the proxy accepts
//   Flow& b = h.ExpectSyn(0);          // the SYN to b0 (198.18.1.10:8080) from 198.18.1.1
//   h.Accept(b);                       // SYN-ACK, ACK: spliced
//   h.Inject(c, Ack().Seq(1).Ack(1).Data("GET /"));
//   h.Expect(b, Ack().Seq(1).Ack(1).Data("GET /"));
//
// Flows. A Flow is one TCP connection, known by its 4-tuple (ferry's address and port, the
// peer's). Client(port) makes a client's flow; a backend's flow appears when ferry sends its
// SYN (from an ephemeral port), and ExpectSyn hands the oldest one no script has taken yet to
// the test. Flows live as long as the harness, so a Flow& stays valid.
//
// Segments are written with harness.h's Seg (Syn(), Ack().Seq(1).Ack(1).Data(...), ...) and
// numbered as there: relative on both sides, the peer's ISN chosen by the harness, ferry's ISS
// learned from its SYN or SYN-ACK on the flow; the same defaults on injection (the peer's
// window, automatic timestamps once both SYNs carried them). Seg's .Port/.Ports are not used:
// the Flow names the connection. Each flow has its own queue of segments ferry sent and no
// script has checked yet: Expect(flow, ...) takes the oldest of that flow, so scripts fix the
// order of segments within a connection, not across the two connections of a session.
//
// What the harness checks on its own: every packet ferry sends (IPv4 header, TCP framing and
// checksum, SegmentCodec::ParseSent); that it leaves from one of ferry's addresses (the VIP to a
// client, a source address to a backend); that bytes ferry sends again at the same sequence
// numbers are the same bytes; that TSvals never go backwards. At the end of every test: no
// session is left (sessions_active 0 for the worker, the listeners and the backends, bytes_held
// 0), and once the proxy and the stack are destroyed every mbuf is back in its pool.
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "harness.h"
#include "net/address.h"
#include "proxy/proxy.h"
#include "proxy/proxy_counters.h"
#include "proxy/proxy_settings.h"
#include "tcp/four_tuple.h"
#include "tcp/stack.h"
#include "tcp/stack_options.h"
#include "tcp/tcp_counters.h"

namespace ferry::proxy::packet {

using namespace std::chrono_literals;
using tcp::packet::Ack;
using tcp::packet::Captured;
using tcp::packet::Fin;
using tcp::packet::Ms;
using tcp::packet::Peer;
using tcp::packet::PeerPattern;
using tcp::packet::Rst;
using tcp::packet::RstAck;
using tcp::packet::Seg;
using tcp::packet::Syn;
using tcp::packet::SynAck;
using net::TcpFlags;

// RFC 2544's benchmarking range (TESTING.md): the VIP and a client on one side, the source
// address ferry connects from and the backends on the other.
inline constexpr net::Ipv4Address kVip = net::Ipv4Address::FromOctets(198, 18, 0, 1);
inline constexpr net::Ipv4Address kClientIp = net::Ipv4Address::FromOctets(198, 18, 0, 2);
inline constexpr net::Ipv4Address kSourceIp = net::Ipv4Address::FromOctets(198, 18, 1, 1);
inline constexpr uint16_t kVipPort = 80;
inline constexpr uint16_t kClientPort = 40000;
inline constexpr uint16_t kBackendPort = 8080;
// Backend i of the default pool: 198.18.1.(10 + i):8080.
constexpr net::Ipv4Address BackendIp(uint32_t i) {
  return net::Ipv4Address::FromOctets(198, 18, 1, static_cast<uint8_t>(10 + i));
}
// Payload of a full segment once timestamps are on (MSS 1460 less 12 bytes of NOP NOP TS).
inline constexpr uint32_t kMssTs = tcp::packet::kMssTs;

// One connection, as the script sees it (see the top of this file).
struct Flow : tcp::packet::FlowNumbers {
  tcp::FourTuple tuple;  // local: ferry's side
  // The backend (index in the pool) this flow goes to; nullopt for a client's flow.
  std::optional<uint32_t> backend;
  std::string name;  // "client 40000", "b1 from 198.18.1.1:32769"
  // Every byte the peer sent and every byte ferry sent, by relative sequence number (index 0
  // is relative sequence number 1). Bytes never sent read as '\0'.
  std::string from_peer;
  std::string from_ferry;
  // Segments ferry sent on this flow that no script has checked yet, oldest first, each with
  // its place in the order of everything ferry sent.
  std::deque<std::pair<uint64_t, Captured>> pending;
  bool taken = false;  // a backend flow ExpectSyn has handed out
  bool reset = false;  // a RST went either way: a SYN on the same tuple is a new flow
};

class ProxyHarness {
 public:
  // The default set-up (change it through settings() before the first use):
  //   listener 0 "web": 198.18.0.1:80 -> pool 0, max_in_flight_bytes 256 KiB, idle 5 min;
  //   pool 0 "app": round robin over b0 198.18.1.10:8080 and b1 198.18.1.11:8080, reached from
  //     198.18.1.1 (their default_source; no source_addresses), no PROXY header, connect
  //     timeout 3 s, 3 attempts, backoff 10 ms base, 1 s cap;
  //   connections of both sides: receive_window 65535, so ferry's window shift is 0 and the
  //     windows it offers read as bytes;
  //   the stack: ferry's defaults except max_connections 256 (128 sessions).
  ProxyHarness();
  // Checks no session is left, destroys the proxy and the stack, and checks every mbuf is
  // back in its pool.
  ~ProxyHarness();
  ProxyHarness(const ProxyHarness&) = delete;
  ProxyHarness& operator=(const ProxyHarness&) = delete;

  // --- Setup (before the first use of the proxy) ---
  ProxySettings& settings();
  ListenerSettings& listener() { return settings().listeners[0]; }
  PoolSettings& pool() { return settings().pools[0]; }
  tcp::StackOptions& stack_options();
  // Builds the stack, the balancers and the proxy and starts listening (done by the first use
  // of stack() or proxy()).
  void Start();

  tcp::TcpStack& stack();
  Proxy& proxy();
  // A live change: `next` becomes the proxy's new snapshot (Proxy::Adopt), its records taken
  // over by name from the current one. Returns BuildSnapshot's or Adopt's error.
  absl::Status Reconfigure(const ProxySettings& next);
  // The settings of the snapshot in use (copy them to edit and pass to Reconfigure).
  const ProxySettings& running() { return proxy().snapshot().settings; }
  // Pool 0's backend i as the harness makes them: "b<i>", BackendIp(i):kBackendPort.
  static BackendSettings MakeBackend(uint32_t i);

  // --- Counters ---
  uint64_t counter(ProxyCounter c);
  uint64_t counter(ListenerCounter c, uint32_t listener = 0);
  // Pool 0's backend `backend`.
  uint64_t counter(BackendCounter c, uint32_t backend);
  uint64_t counter(tcp::TcpCounter c) const { return tcp_counters_.Load(c); }

  // --- Flows ---
  // The client 198.18.0.2:`port` of listener `listener` (its address and port).
  Flow& Client(uint16_t port = kClientPort, uint32_t listener = 0);
  // The client 198.18.0.2:`port` of `address`:`vip_port`, listened on or not.
  Flow& ClientTo(uint16_t port, net::Ipv4Address address, uint16_t vip_port);
  // The oldest segment ferry sent on a backend flow no script has taken yet must be a SYN
  // (checked against `want`, and to backend `backend` of pool 0 when given); returns its flow.
  Flow& ExpectSyn(std::optional<uint32_t> backend = std::nullopt, const Seg& want = Syn().Seq(0),
                  std::source_location loc = std::source_location::current());
  // Backend flows with segments waiting that ExpectSyn has not handed out yet.
  size_t syns_waiting() const;
  // The SYN or SYN-ACK the peer of `f` sends offering what `peer` says (Seq 0; a SYN-ACK acks
  // 1; timestamps from the peer's clock).
  Seg SynOf(const Flow& f, const Peer& peer = {});
  Seg SynAckOf(const Flow& f, const Peer& peer = {});
  // A client's three-way handshake: its SYN, ferry's SYN-ACK (checked: Seq 0, Ack 1), its ACK.
  // The proxy accepts then, and a backend's SYN goes out.
  void Handshake(Flow& client, const Peer& peer = {},
                 std::source_location loc = std::source_location::current());
  // A backend accepts: its SYN-ACK, ferry's ACK (checked: a pure ACK, Seq 1, Ack 1). For a
  // session with a PROXY header or held data, inject SynAckOf and expect the data instead.
  void Accept(Flow& backend, const Peer& peer = {},
              std::source_location loc = std::source_location::current());
  // Handshake, ExpectSyn, Accept: a spliced session.
  struct Session {
    Flow& client;
    Flow& backend;
  };
  Session Splice(uint16_t client_port = kClientPort,
                 std::optional<uint32_t> backend = std::nullopt,
                 std::source_location loc = std::source_location::current());

  // --- Script steps ---
  void Inject(Flow& f, const Seg& s, std::source_location loc = std::source_location::current());
  // Takes the oldest unchecked segment ferry sent on `f` and checks it.
  void Expect(Flow& f, const Seg& want,
              std::source_location loc = std::source_location::current());
  // Nothing unchecked on `f` / on any flow.
  void ExpectNothing(Flow& f, std::source_location loc = std::source_location::current());
  void ExpectNothing(std::source_location loc = std::source_location::current());
  // The oldest unchecked segment on `f`, as is (nullopt if none).
  std::optional<Captured> Take(Flow& f);
  // Takes every unchecked segment on `f` and returns the last (nullopt if none): what ferry
  // says now, e.g. its latest window.
  std::optional<Captured> TakeLast(Flow& f);
  size_t pending(const Flow& f) const { return f.pending.size(); }
  // Discards the unchecked segments of `f` / of every flow.
  void Flush(Flow& f) { f.pending.clear(); }
  void FlushAll();

  // --- Time ---
  // Moves the fake clock forward by `d`, every `step` (default: the stack's timer tick)
  // setting the proxy's now and ticking the stack and the proxy.
  void Advance(base::Duration d, std::optional<base::Duration> step = std::nullopt);
  // Moves it forward until ferry sends something (on any flow) or `limit` has passed;
  // returns the time moved.
  base::Duration AdvanceUntilOutput(base::Duration limit);
  // The same, until ferry sends something on `f`.
  base::Duration AdvanceUntilOutput(Flow& f, base::Duration limit);
  base::Instant now() const { return now_; }
  base::Duration elapsed() const { return now_ - start_; }

  // The mbuf of the last segment injected (its payload is the chain the stack delivers).
  const rte_mbuf* last_injected_mbuf() const { return last_injected_; }

  std::string Describe(const Flow& f, const Captured& c) const;

 private:
  class Output;
  // The settings in use: the running snapshot's once the proxy is built, else settings_.
  const ProxySettings& current() const;
  void Capture(rte_mbuf* packet);
  Flow& NewFlow(const tcp::FourTuple& tuple);
  using Key = std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>;
  static Key KeyOf(const tcp::FourTuple& t) {
    return {t.local_ip.value, t.local_port, t.remote_ip.value, t.remote_port};
  }

  ProxySettings settings_;
  tcp::StackOptions stack_options_;
  tcp::TcpCounters tcp_counters_;
  std::unique_ptr<Output> output_;
  rte_mempool* header_pool_ = nullptr;
  rte_mempool* indirect_pool_ = nullptr;
  rte_mempool* data_pool_ = nullptr;
  std::vector<unsigned> in_use_at_start_;
  std::unique_ptr<tcp::TcpStack> stack_;
  std::unique_ptr<Proxy> proxy_;
  // Every snapshot the proxy ran on, kept to the end: a removed listener's or backend's
  // records must outlive its sessions (ferryd's SnapshotCell keeps only those).
  std::vector<std::unique_ptr<ProxySnapshot>> snapshots_;
  base::Instant start_;
  base::Instant now_;
  std::vector<std::unique_ptr<Flow>> flows_;  // every flow ever seen, oldest first
  std::map<Key, Flow*> by_tuple_;             // the current flow of each 4-tuple
  uint64_t sent_count_ = 0;                   // segments ferry sent so far
  const rte_mbuf* last_injected_ = nullptr;
};

}  // namespace ferry::proxy::packet
