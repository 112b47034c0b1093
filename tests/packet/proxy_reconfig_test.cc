// Live configuration changes (docs/control.md "Publishing a config", Proxy::Adopt): a new
// snapshot changes listeners and pools under sessions in progress, which keep their backend
// connection whatever happened to the backend; statistics carry over by name.
#include "gtest/gtest.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

// Sends a request through a spliced session and checks it arrives, and the answer back.
void ExpectFlows(ProxyHarness& h, Flow& c, Flow& b, uint32_t seq, const std::string& request,
                 std::source_location loc = std::source_location::current()) {
  h.Inject(c, Ack().Seq(seq).Ack(1).Data(request), loc);
  h.Expect(b, Ack().Seq(seq).Ack(1).Data(request), loc);
  h.FlushAll();  // the ACKs, whenever they go
}

// Ends a session whose backend is still connecting: the client's RST; in SYN-SENT the
// backend's connection is dropped without a word (RFC 9293 §3.10.7.3: nothing to reset).
void ResetConnecting(ProxyHarness& h, Flow& c, Flow& b,
                     std::source_location loc = std::source_location::current()) {
  h.Inject(c, Rst().Seq(1), loc);
  h.ExpectNothing(b, loc);
}

// ====================================== Backends =========================================

// A backend removed from the pool keeps the sessions it has: their bytes still flow both ways,
// and they end normally. New sessions go to the backends left.
TEST(Reconfig, RemovedBackendKeepsItsSessions) {
  ProxyHarness h;
  auto [c, b] = h.Splice(40001);
  const uint32_t gone = *b.backend;
  ProxySettings next = h.running();
  next.pools[0].backends.erase(next.pools[0].backends.begin() + gone);
  ASSERT_TRUE(h.Reconfigure(next).ok());

  ExpectFlows(h, c, b, 1, "after the change");
  h.Inject(b, Ack().Seq(1).Ack(17).Data("still here"));
  h.Expect(c, Ack().Seq(1).Ack(17));  // the client's bytes acknowledged: the backend took them
  h.Expect(c, Ack().Seq(1).Ack(17).Data("still here"));
  h.FlushAll();

  // Every new session goes to the one backend left.
  for (uint16_t port = 40002; port < 40005; ++port) {
    Flow& c2 = h.Client(port);
    h.Handshake(c2);
    Flow& b2 = h.ExpectSyn();
    EXPECT_NE(b2.tuple.remote_ip, BackendIp(gone)) << "a removed backend got a new session";
    ResetConnecting(h, c2, b2);
  }
  h.Inject(c, Rst().Seq(17));
  h.Expect(b, Rst().AckBitOptional().Seq(17));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
}

// A backend added to a pool gets new sessions at once; sessions in progress stay where they
// are.
TEST(Reconfig, AddedBackendGetsNewSessions) {
  ProxyHarness h;
  h.pool().backends.resize(1);  // b0 only
  auto [c, b] = h.Splice(40001);
  EXPECT_EQ(b.tuple.remote_ip, BackendIp(0));
  ProxySettings next = h.running();
  next.pools[0].backends[0].enabled = false;  // and b1 arrives: only b1 can be picked
  next.pools[0].backends.push_back(ProxyHarness::MakeBackend(1));
  ASSERT_TRUE(h.Reconfigure(next).ok());

  Flow& c2 = h.Client(40002);
  h.Handshake(c2);
  Flow& b2 = h.ExpectSyn(1);
  EXPECT_EQ(b2.tuple.remote_ip, BackendIp(1));
  ExpectFlows(h, c, b, 1, "old session");
  h.Inject(c, Rst().Seq(12));
  h.Expect(b, Rst().AckBitOptional().Seq(12));
  ResetConnecting(h, c2, b2);
}

// Draining: no new session on the backend; the ones it has carry on.
TEST(Reconfig, DrainingBackendGetsNoNewSessionsAndKeepsItsOwn) {
  ProxyHarness h;
  auto [c, b] = h.Splice(40001);
  const uint32_t drained = *b.backend;
  ProxySettings next = h.running();
  next.pools[0].backends[drained].drain = true;
  ASSERT_TRUE(h.Reconfigure(next).ok());
  for (uint16_t port = 40002; port < 40006; ++port) {
    Flow& c2 = h.Client(port);
    h.Handshake(c2);
    Flow& b2 = h.ExpectSyn();
    EXPECT_NE(*b2.backend, drained) << "a draining backend got a new session";
    ResetConnecting(h, c2, b2);
  }
  ExpectFlows(h, c, b, 1, "draining, not dropped");
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, drained), 1u);
  h.Inject(c, Rst().Seq(22));
  h.Expect(b, Rst().AckBitOptional().Seq(22));
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, drained), 0u);
}

// A session whose attempt fails after a change retries in the pool as it is now.
TEST(Reconfig, RetryAfterAChangeUsesTheNewPool) {
  ProxyHarness h;
  h.pool().backends.resize(1);
  h.pool().retry_backoff_base = 10ms;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b0 = h.ExpectSyn(0);
  ProxySettings next = h.running();
  next.pools[0].backends = {ProxyHarness::MakeBackend(1)};  // b0 replaced by b1
  ASSERT_TRUE(h.Reconfigure(next).ok());
  h.Inject(b0, RstAck().Seq(0).Ack(1));  // refused (RFC 9293 §3.10.7.3)
  h.AdvanceUntilOutput(100ms);
  Flow& b1 = h.ExpectSyn(0);
  EXPECT_EQ(b1.tuple.remote_ip, BackendIp(1));
  EXPECT_EQ(h.counter(ListenerCounter::kRetries), 1u);
  ResetConnecting(h, c, b1);
}

// Statistics belong to the name: a listener's and a backend's counters go on across changes.
TEST(Reconfig, StatisticsCarryOverByName) {
  ProxyHarness h;
  h.pool().backends.resize(1);
  auto [c, b] = h.Splice(40001);
  ProxySettings next = h.running();
  next.pools[0].backends[0].weight = 5;
  next.listeners[0].idle_timeout = 10min;
  ASSERT_TRUE(h.Reconfigure(next).ok());
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 1u);
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsActive), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsTotal, 0), 1u);
  h.Inject(c, Rst().Seq(1));
  h.Expect(b, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsActive), 0u);
  EXPECT_EQ(h.counter(ListenerCounter::kClientResets), 1u);
}

// ====================================== Listeners ========================================

// A listener removed stops taking clients (a SYN gets a RST: RFC 9293 §3.10.7.1, no
// listener); its sessions carry on. A listener added takes clients at once.
TEST(Reconfig, RemovedListenerStopsButItsSessionsCarryOn) {
  ProxyHarness h;
  auto [c, b] = h.Splice(40001);
  ProxySettings next = h.running();
  next.listeners[0].name = "web81";
  next.listeners[0].port = 81;
  ASSERT_TRUE(h.Reconfigure(next).ok());

  Flow& refused = h.ClientTo(40002, kVip, kVipPort);
  h.Inject(refused, Syn().Seq(0));
  h.Expect(refused, RstAck().Seq(0).Ack(1));
  ExpectFlows(h, c, b, 1, "old listener's session");

  Flow& c81 = h.Client(40003, 0);
  EXPECT_EQ(c81.tuple.local_port, 81);
  h.Handshake(c81);
  Flow& b81 = h.ExpectSyn();
  ResetConnecting(h, c81, b81);
  h.Inject(c, Rst().Seq(23));
  h.Expect(b, Rst().AckBitOptional().Seq(23));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
}

// A listener renamed (a new listener on the old one's address and port, as far as the proxy
// knows) takes clients at once: the old one gives the port up before the new one listens.
TEST(Reconfig, RenamedListenerTakesTheSamePort) {
  ProxyHarness h;
  h.Start();
  ProxySettings next = h.running();
  next.listeners[0].name = "renamed";
  ASSERT_TRUE(h.Reconfigure(next).ok());
  EXPECT_EQ(h.counter(ProxyCounter::kListenFailures), 0u);
  Flow& c = h.Client(40001);
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 1u) << "the new record counts";
  ResetConnecting(h, c, b);
}

// A change that leaves a listener as it was does not disturb handshakes in progress on it.
TEST(Reconfig, UnchangedListenerKeepsListening) {
  ProxyHarness h;
  Flow& c = h.Client(40001);
  h.Inject(c, h.SynOf(c));
  h.Expect(c, SynAck().Seq(0).Ack(1));
  ProxySettings next = h.running();
  next.pools[0].backends[1].weight = 7;  // a pool change only
  ASSERT_TRUE(h.Reconfigure(next).ok());
  h.Inject(c, Ack().Seq(1).Ack(1));  // the handshake completes: accepted
  Flow& b = h.ExpectSyn();
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 1u);
  ResetConnecting(h, c, b);
}

}  // namespace
}  // namespace ferry::proxy::packet
