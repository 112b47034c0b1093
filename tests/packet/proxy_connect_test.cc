// Choosing a backend and connecting to it (docs/proxy.md "A session's life" 1-3): retries
// after a refusal or a connect timeout with a full-jitter backoff, giving up, pools with no
// eligible backend, the listener's and the backends' session limits, and balancing.
#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

// The backend's answer to a SYN that refuses it: <SEQ=0><ACK=ISS+1><CTL=RST,ACK> (RFC 9293
// §3.10.7.1), which SYN-SENT takes as "connection refused" (§3.10.7.3).
Seg Refusal() { return RstAck().Seq(0).Ack(1); }

// ======================================== Refused ========================================

// docs/proxy.md 3: a RST to the SYN is a failed attempt (connect_refused on that backend);
// the retry waits a backoff drawn from [0, retry_backoff_base] (first retry) and goes to
// another backend, and the session goes on there.
TEST(Retry, RefusedConnectIsRetriedOnAnotherBackendAfterABackoff) {
  ProxyHarness h;
  h.pool().retry_backoff_base = 100ms;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& first = h.ExpectSyn();
  h.Inject(first, Refusal());
  EXPECT_EQ(h.counter(BackendCounter::kConnectRefused, *first.backend), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, *first.backend), 0u);
  EXPECT_EQ(h.counter(ProxyCounter::kRetries), 1u);
  h.ExpectNothing();

  const base::Duration backoff = h.AdvanceUntilOutput(1s);
  EXPECT_LE(backoff, 100ms + 1ms) << "first retry: at most the base (plus the timer tick)";
  Flow& second = h.ExpectSyn();
  EXPECT_NE(second.backend, first.backend) << "the tried backend is excluded";
  h.Accept(second);
  EXPECT_EQ(h.counter(ProxyCounter::kConnectAttempts), 2u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsTotal, *second.backend), 1u);
  h.ExpectNothing(c);  // the client never noticed

  h.Inject(c, Ack().Seq(1).Ack(1).Data("hi"));
  h.Expect(second, Ack().Seq(1).Ack(1).Data("hi"));
  h.Inject(c, Rst().Seq(3));
  h.Expect(second, Rst().AckBitOptional().Seq(3));
}

// "Full jitter": each session's first retry waits its own draw from [0, base]; sixteen
// sessions refused at the same instant do not all come back at the same instant.
TEST(Retry, FirstBackoffsAreJitteredWithinTheBase) {
  ProxyHarness h;
  h.pool().retry_backoff_base = 50ms;
  std::vector<Flow*> clients;
  for (uint16_t i = 0; i < 16; ++i) {
    Flow& c = h.Client(40100 + i);
    h.Handshake(c);
    clients.push_back(&c);
    h.Inject(h.ExpectSyn(), Refusal());
  }
  std::vector<int64_t> waits;
  const base::Instant refused = h.now();
  while (waits.size() < 16 && h.now() - refused < 1s) {
    h.AdvanceUntilOutput(1s);
    while (h.syns_waiting() > 0) {
      h.ExpectSyn();
      waits.push_back(Ms(h.now() - refused));
    }
  }
  ASSERT_EQ(waits.size(), 16u);
  for (int64_t w : waits) EXPECT_LE(w, 51) << "beyond the base";
  EXPECT_GT(std::set<int64_t>(waits.begin(), waits.end()).size(), 4u) << "no jitter";
  h.FlushAll();
  for (Flow* c : clients) h.Inject(*c, Rst().Seq(1));
  h.FlushAll();
}

// The n-th retry waits at most min(retry_backoff_max, base * 2^(n-1)); a pool of one backend
// still gets its retries (the only backend is tried again); out of attempts, the client is
// reset (connect_gave_up).
TEST(Retry, BackoffDoublesUpToTheCapThenGivesUp) {
  ProxyHarness h;
  h.pool().backends.resize(1);
  h.pool().connect_attempts = 4;
  h.pool().retry_backoff_base = 40ms;
  h.pool().retry_backoff_max = 60ms;
  Flow& c = h.Client();
  h.Handshake(c);
  const int64_t ceilings[] = {40, 60, 60};  // 40, min(80, 60), min(160, 60)
  for (int64_t ceiling : ceilings) {
    Flow& b = h.ExpectSyn(0);
    h.Inject(b, Refusal());
    const int64_t waited = Ms(h.AdvanceUntilOutput(1s));
    EXPECT_LE(waited, ceiling + 1);
  }
  Flow& last = h.ExpectSyn(0);
  h.Inject(last, Refusal());
  h.Expect(c, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(BackendCounter::kConnectRefused, 0), 4u);
  EXPECT_EQ(h.counter(ProxyCounter::kRetries), 3u);
  EXPECT_EQ(h.counter(ListenerCounter::kConnectGaveUp), 1u);
  h.Advance(2s);
  h.ExpectNothing();
}

// A client that resets during the backoff ends the session: the retry's timer is cancelled
// with it and no SYN goes out later.
TEST(Retry, ClientResetDuringTheBackoffCancelsTheRetry) {
  ProxyHarness h;
  h.pool().retry_backoff_base = 500ms;
  Flow& c = h.Client();
  h.Handshake(c);
  h.Inject(h.ExpectSyn(), Refusal());
  h.Inject(c, Rst().Seq(1));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  EXPECT_EQ(h.counter(ListenerCounter::kClientResets), 1u);
  h.Advance(2s);
  h.ExpectNothing();
  EXPECT_EQ(h.counter(ProxyCounter::kConnectAttempts), 1u);
}

// ======================================== Timeouts ========================================

// docs/proxy.md 3: no answer within connect_timeout is a failed attempt (connect_timeouts);
// the attempt is abandoned (no RST from SYN-SENT) and retried on another backend after the
// backoff. The first backend's late SYN-ACK then finds no connection and gets a RST.
TEST(Retry, ConnectTimeoutIsRetried) {
  ProxyHarness h;
  h.pool().connect_timeout = 500ms;
  h.pool().retry_backoff_base = 20ms;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& first = h.ExpectSyn();
  const base::Duration waited = h.AdvanceUntilOutput(5s);
  EXPECT_GE(waited, 500ms);
  EXPECT_LE(waited, 500ms + 20ms + 2ms);
  EXPECT_EQ(h.counter(BackendCounter::kConnectTimeouts, *first.backend), 1u);
  h.ExpectNothing(first);
  Flow& second = h.ExpectSyn();
  EXPECT_NE(second.backend, first.backend);

  h.Inject(first, h.SynAckOf(first));
  h.Expect(first, Rst().AckBitOptional().Seq(1));
  h.Accept(second);
  h.Inject(second, Rst().Seq(1));
  h.Expect(c, Rst().AckBitOptional().Seq(1));
}

// Every attempt times out: the client is reset and connect_gave_up counted.
TEST(Retry, AllAttemptsTimingOutResetTheClient) {
  ProxyHarness h;
  h.pool().connect_timeout = 300ms;
  h.pool().connect_attempts = 2;
  Flow& c = h.Client();
  h.Handshake(c);
  h.ExpectSyn();
  h.AdvanceUntilOutput(5s);
  h.ExpectSyn();
  h.AdvanceUntilOutput(5s);
  h.Expect(c, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(BackendCounter::kConnectTimeouts, 0) +
                h.counter(BackendCounter::kConnectTimeouts, 1),
            2u);
  EXPECT_EQ(h.counter(ListenerCounter::kConnectGaveUp), 1u);
  h.ExpectNothing();
}

// docs/proxy.md 3: no local port for the SYN is a failed attempt like any other
// (connect_local_errors), retried after the backoff; out of attempts, the client is reset.
TEST(Retry, NoFreeEphemeralPortIsALocalError) {
  ProxyHarness h;
  h.stack_options().ephemeral_first = 50000;
  h.stack_options().ephemeral_last = 50000;  // one port per (source, backend)
  h.pool().backends.resize(1);
  auto [c1, b1] = h.Splice(40001);
  EXPECT_EQ(b1.tuple.local_port, 50000);
  Flow& c2 = h.Client(40002);
  h.Handshake(c2);
  h.Advance(1s);
  h.Expect(c2, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(ProxyCounter::kConnectLocalErrors), 3u);
  EXPECT_EQ(h.counter(ListenerCounter::kConnectGaveUp), 1u);
  EXPECT_EQ(h.syns_waiting(), 0u);

  // Once the port is free again, the next client gets it.
  h.Inject(c1, Rst().Seq(1));
  h.Expect(b1, Rst().AckBitOptional().Seq(1));
  auto [c3, b3] = h.Splice(40003);
  EXPECT_EQ(b3.tuple.local_port, 50000);
  h.Inject(c3, Rst().Seq(1));
  h.Expect(b3, Rst().AckBitOptional().Seq(1));
}

// docs/proxy.md 2: a source address whose ephemeral ports to the backend are all taken gives
// way to the next source address.
TEST(Retry, SourceWithoutAFreePortGivesWayToTheNext) {
  ProxyHarness h;
  const net::Ipv4Address a = kSourceIp;
  const net::Ipv4Address b = net::Ipv4Address::FromOctets(198, 18, 1, 2);
  h.settings().source_addresses = {a, b};
  h.stack_options().ephemeral_first = 50000;
  h.stack_options().ephemeral_last = 50000;
  h.pool().backends.resize(1);
  auto [c1, b1] = h.Splice(40001);  // from a; b is next
  auto [c2, b2] = h.Splice(40002);  // from b; a is next
  EXPECT_EQ(b1.tuple.local_ip, a);
  EXPECT_EQ(b2.tuple.local_ip, b);
  h.Inject(c2, Rst().Seq(1));
  h.Expect(b2, Rst().AckBitOptional().Seq(1));
  auto [c3, b3] = h.Splice(40003);  // a has no port left: b
  EXPECT_EQ(b3.tuple.local_ip, b);
  EXPECT_EQ(h.counter(ProxyCounter::kConnectLocalErrors), 0u);
  for (auto [c, bk] : {std::pair<Flow*, Flow*>{&c1, &b1}, {&c3, &b3}}) {
    h.Inject(*c, Rst().Seq(1));
    h.Expect(*bk, Rst().AckBitOptional().Seq(1));
  }
}

// ======================================= No backend ========================================

// docs/proxy.md 2: a pool whose backends are all disabled has none to pick: the client is
// reset as soon as it is accepted (no_backend), and no SYN goes anywhere.
TEST(NoBackend, AllDisabledResetsTheClient) {
  ProxyHarness h;
  for (BackendSettings& b : h.pool().backends) b.enabled = false;
  Flow& c = h.Client();
  h.Inject(c, h.SynOf(c));
  h.Expect(c, SynAck().Seq(0).Ack(1));
  h.Inject(c, Ack().Seq(1).Ack(1));
  h.Expect(c, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(ListenerCounter::kNoBackend), 1u);
  EXPECT_EQ(h.counter(ProxyCounter::kConnectAttempts), 0u);
  h.ExpectNothing();
}

// A disabled backend is skipped: every session goes to the one left.
TEST(NoBackend, DisabledBackendIsSkipped) {
  ProxyHarness h;
  h.pool().backends[0].enabled = false;
  auto [c1, b1] = h.Splice(40001);
  auto [c2, b2] = h.Splice(40002);
  EXPECT_EQ(b1.backend, 1u);
  EXPECT_EQ(b2.backend, 1u);
  h.Inject(c1, Rst().Seq(1));
  h.Inject(c2, Rst().Seq(1));
  h.FlushAll();
}

// ========================================= Limits =========================================

// docs/proxy.md 1: over the listener's max_sessions the new client is reset
// (rejected_over_limit); once a session ends there is room again.
TEST(Limits, ListenerMaxSessionsResetsTheNextClient) {
  ProxyHarness h;
  h.listener().max_sessions = 1;
  auto [c1, b1] = h.Splice(40001);
  Flow& c2 = h.Client(40002);
  h.Inject(c2, h.SynOf(c2));
  h.Expect(c2, SynAck().Seq(0).Ack(1));
  h.Inject(c2, Ack().Seq(1).Ack(1));
  h.Expect(c2, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(ListenerCounter::kRejectedOverLimit), 1u);
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 1u);
  h.ExpectNothing();

  h.Inject(c1, Rst().Seq(1));
  h.Expect(b1, Rst().AckBitOptional().Seq(1));
  auto [c3, b3] = h.Splice(40003);
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 2u);
  h.Inject(c3, Rst().Seq(1));
  h.Expect(b3, Rst().AckBitOptional().Seq(1));
}

// docs/proxy.md 2: a backend at its max_sessions is not picked: with b0 limited to one
// session, of four sessions round robin would split evenly, b0 gets one and b1 three.
TEST(Limits, BackendAtItsMaxSessionsIsSkipped) {
  ProxyHarness h;
  h.pool().backends[0].max_sessions = 1;
  std::vector<ProxyHarness::Session> sessions;
  std::map<uint32_t, int> per_backend;
  for (uint16_t i = 0; i < 4; ++i) {
    sessions.push_back(h.Splice(40001 + i));
    ++per_backend[*sessions.back().backend.backend];
  }
  EXPECT_EQ(per_backend[0], 1);
  EXPECT_EQ(per_backend[1], 3);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, 0), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, 1), 3u);
  for (auto& s : sessions) {
    h.Inject(s.client, Rst().Seq(1));
    h.Expect(s.backend, Rst().AckBitOptional().Seq(1));
  }
}

// Every backend at its limit: nobody can be picked, so the client is reset (no_backend).
TEST(Limits, AllBackendsAtTheirLimitResetTheClient) {
  ProxyHarness h;
  for (BackendSettings& b : h.pool().backends) b.max_sessions = 1;
  auto [c1, b1] = h.Splice(40001);
  auto [c2, b2] = h.Splice(40002);
  Flow& c3 = h.Client(40003);
  h.Inject(c3, h.SynOf(c3));
  h.Expect(c3, SynAck().Seq(0).Ack(1));
  h.Inject(c3, Ack().Seq(1).Ack(1));
  h.Expect(c3, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(ListenerCounter::kNoBackend), 1u);
  h.ExpectNothing();
  h.Inject(c1, Rst().Seq(1));
  h.Inject(c2, Rst().Seq(1));
  h.FlushAll();
}

// docs/proxy.md 1: with no free session record (proxy.max_sessions) the client is reset
// (rejected_no_session).
TEST(Limits, NoFreeSessionRecordResetsTheClient) {
  ProxyHarness h;
  h.settings().max_sessions = 1;
  auto [c1, b1] = h.Splice(40001);
  Flow& c2 = h.Client(40002);
  h.Inject(c2, h.SynOf(c2));
  h.Expect(c2, SynAck().Seq(0).Ack(1));
  h.Inject(c2, Ack().Seq(1).Ack(1));
  h.Expect(c2, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(ProxyCounter::kRejectedNoSession), 1u);
  h.ExpectNothing();
  h.Inject(c1, Rst().Seq(1));
  h.Expect(b1, Rst().AckBitOptional().Seq(1));
}

// ======================================== Balancing ========================================

// Round robin through the proxy: four clients (four ports) alternate between the two
// backends, two each, whichever the worker's cursor starts at.
TEST(Balancing, RoundRobinAlternatesOverFourClients) {
  ProxyHarness h;
  std::vector<uint32_t> picked;
  std::vector<ProxyHarness::Session> sessions;
  for (uint16_t i = 0; i < 4; ++i) {
    sessions.push_back(h.Splice(40001 + i));
    picked.push_back(*sessions.back().backend.backend);
  }
  for (size_t i = 1; i < picked.size(); ++i) EXPECT_NE(picked[i], picked[i - 1]) << i;
  EXPECT_EQ(std::count(picked.begin(), picked.end(), 0u), 2);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsTotal, 0), 2u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsTotal, 1), 2u);
  for (auto& s : sessions) {
    h.Inject(s.client, Rst().Seq(1));
    h.Expect(s.backend, Rst().AckBitOptional().Seq(1));
  }
}

// Least connections through the proxy: the session counts the policy reads are the proxy's
// (connecting or connected); after one session on b0 ends, the next client goes to b0.
TEST(Balancing, LeastConnectionsFollowsTheSessionsThatEnd) {
  ProxyHarness h;
  h.pool().policy = BalancingPolicy::kLeastConnections;
  auto [c1, b1] = h.Splice(40001);
  auto [c2, b2] = h.Splice(40002);
  EXPECT_NE(b1.backend, b2.backend);
  h.Inject(c1, Rst().Seq(1));
  h.Expect(b1, Rst().AckBitOptional().Seq(1));
  auto [c3, b3] = h.Splice(40003);
  EXPECT_EQ(b3.backend, b1.backend);
  h.Inject(c2, Rst().Seq(1));
  h.Inject(c3, Rst().Seq(1));
  h.FlushAll();
}

}  // namespace
}  // namespace ferry::proxy::packet
