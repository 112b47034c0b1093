// The end of a session (docs/proxy.md "A session's life" 5): FINs passed on per direction once
// everything before them is queued (half-close both ways), RST propagation, connections the
// stack gives up on, the idle timeout and the maximum lifetime.
#include "gtest/gtest.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

// ======================================== Half-close ========================================

// The client closes first: its FIN goes on to the backend after its data (RFC 9293 §3.10.4),
// the backend goes on sending and the client receives it; the backend's FIN then goes to the
// client and the session ends (both connections left to the stack to finish).
TEST(HalfClose, ClientFirst) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  h.Inject(c, Ack().Seq(1).Ack(1).Data("request"));
  h.Expect(b, Ack().Seq(1).Ack(1).Data("request"));
  h.Inject(c, Fin().Seq(8).Ack(1));
  h.Expect(b, Fin().Seq(8).Ack(1));
  h.Expect(c, Ack().Seq(1).Ack(9));

  h.Inject(b, Ack().Seq(1).Ack(9).Data("response"));
  h.Expect(c, Ack().Seq(1).Ack(9).Data("response"));
  h.Inject(b, Ack().Seq(9).Ack(9).Data(" more"));
  h.Expect(c, Ack().Seq(9).Ack(9).Data(" more"));
  h.Expect(b, Ack().Seq(9).Ack(14));  // every second segment (RFC 5681 §4.2)
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 1u) << "one direction is still open";

  h.Inject(b, Fin().Seq(14).Ack(9));
  h.Expect(b, Ack().Seq(9).Ack(15));
  h.Expect(c, Fin().Seq(14).Ack(9));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsActive), 0u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, *b.backend), 0u);
  h.Inject(c, Ack().Seq(9).Ack(15));
  h.Advance(1s);
  h.ExpectNothing();
  EXPECT_EQ(c.from_ferry, "response more");
  EXPECT_EQ(b.from_ferry, "request");
}

// The backend closes first (a server that sends a banner and hangs up its side): the client
// gets the data, then the FIN, and may go on sending to the backend; its FIN ends the session.
TEST(HalfClose, BackendFirst) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  h.Inject(b, Fin().Seq(1).Ack(1).Data("banner"));
  h.Expect(c, Ack().Seq(1).Ack(1).Data("banner"));
  h.Expect(c, Fin().Seq(7).Ack(1));
  h.Expect(b, Ack().Seq(1).Ack(8));

  h.Inject(c, Ack().Seq(1).Ack(8).Data("still talking"));
  h.Expect(b, Ack().Seq(1).Ack(8).Data("still talking"));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 1u);

  h.Inject(c, Fin().Seq(14).Ack(8));
  h.Expect(c, Ack().Seq(8).Ack(15));
  h.Expect(b, Fin().Seq(14).Ack(8));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  h.Inject(b, Ack().Seq(8).Ack(15));
  h.Advance(1s);
  h.ExpectNothing();
  EXPECT_EQ(b.from_ferry, "still talking");
}

// docs/proxy.md 5: "A FIN is passed on per direction once everything before it is queued":
// behind a backend's zero window the client's data waits in the queue, and the FIN follows it
// when the window opens, never ahead of it.
TEST(HalfClose, FinFollowsDataWaitingForTheWindow) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Accept(b, Peer{.win = 0});
  h.Inject(c, Ack().Seq(1).Ack(1).Data("last words"));
  h.Inject(c, Fin().Seq(11).Ack(1));
  h.Expect(c, Ack().Seq(1).Ack(12));
  h.ExpectNothing(b);
  h.Inject(b, Ack().Seq(1).Ack(1).Win(100));
  h.Expect(b, Fin().Seq(1).Ack(1).Data("last words"));  // the FIN rides on the last data

  h.Inject(b, Fin().Seq(1).Ack(12));
  h.Expect(b, Ack().Seq(12).Ack(2));
  h.Expect(c, Fin().Seq(1).Ack(12));
  h.Inject(c, Ack().Seq(12).Ack(2));
  h.ExpectNothing();
}

// The client's data and FIN arrive before the backend is up: both wait in the session, and
// the backend gets the data then the FIN once connected.
TEST(HalfClose, FinBeforeTheBackendIsUpWaitsWithTheData) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(c, Fin().Seq(1).Ack(1).Data("quick"));
  h.Expect(c, Ack().Seq(1).Ack(7));
  h.Inject(b, h.SynAckOf(b));
  std::optional<Captured> first = h.Take(b);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->payload, "quick");
  if (!(first->flags & TcpFlags::kFin)) h.Expect(b, Fin().Seq(6).Ack(1));

  h.Inject(b, Fin().Seq(1).Ack(7));
  h.Expect(b, Ack().Seq(7).Ack(2));
  h.Expect(c, Fin().Seq(1).Ack(7));
  h.Inject(c, Ack().Seq(7).Ack(2));
  EXPECT_EQ(b.from_ferry, "quick");
}

// docs/proxy.md 5: "once everything before it is queued": the client's FIN arrives while the
// last of its bytes are still held in the session (the PROXY header took their queue space,
// see proxy_flow_control_test.cc); the FIN waits for them and follows them.
TEST(HalfClose, FinWaitsForBytesStillHeld) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 4000;
  h.pool().proxy_protocol = ProxyProtocolVersion::kV1;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  for (uint32_t i = 0; i < 4; ++i) h.Inject(c, Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  h.Inject(c, Fin().Seq(4001).Ack(1));
  h.Inject(b, h.SynAckOf(b));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 43u);
  h.Advance(1ms);
  std::optional<Captured> last = h.TakeLast(b);
  ASSERT_TRUE(last.has_value());
  EXPECT_FALSE(last->flags & TcpFlags::kFin) << "the FIN went ahead of held bytes";

  h.Inject(b, Ack().Seq(1).Ack(1 + 4000));
  h.Advance(1ms);
  last = h.TakeLast(b);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->flags & TcpFlags::kFin);
  EXPECT_EQ(last->seq + last->payload.size() - *b.iss, 1u + 4043u) << h.Describe(b, *last);
  EXPECT_EQ(b.from_ferry, "PROXY TCP4 198.18.0.2 198.18.0.1 40000 80\r\n" + PeerPattern(1, 4000));

  h.Inject(b, Fin().Seq(1).Ack(1 + 4043 + 1));
  h.Expect(b, Ack().Seq(4045).Ack(2));
  std::optional<Captured> fin = h.TakeLast(c);
  ASSERT_TRUE(fin.has_value());
  EXPECT_TRUE(fin->flags & TcpFlags::kFin);
  h.Inject(c, Ack().Seq(4002).Ack(2));
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
}

// ====================================== Resets ==========================================

// docs/proxy.md 5: a RST ends the session with a RST to the other side (client_resets).
TEST(Reset, ClientResetIsPassedToTheBackend) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  h.Inject(c, Ack().Seq(1).Ack(1).Data("abc"));
  h.Expect(b, Ack().Seq(1).Ack(1).Data("abc"));
  h.Inject(c, Rst().Seq(4));
  h.Expect(b, Rst().AckBitOptional().Seq(4));
  EXPECT_EQ(h.counter(ListenerCounter::kClientResets), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kBackendResets, *b.backend), 0u);
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  h.Advance(1s);
  h.ExpectNothing();
}

// The same from the backend's side (backend_resets), with data still queued for the client:
// the queued data is dropped (the RST says the stream is broken) and its mbufs released.
TEST(Reset, BackendResetIsPassedToTheClient) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c, Peer{.win = 0});  // the client reads nothing: data waits in its queue
  Flow& b = h.ExpectSyn();
  h.Accept(b);
  h.Inject(b, Ack().Seq(1).Ack(1).Len(1000));
  h.ExpectNothing(c);
  h.Inject(b, Rst().Seq(1001));
  h.Expect(c, Rst().AckBitOptional().Seq(1));
  EXPECT_EQ(h.counter(BackendCounter::kBackendResets, *b.backend), 1u);
  EXPECT_EQ(h.counter(ListenerCounter::kClientResets), 0u);
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  EXPECT_EQ(h.stack().mbufs_held(), 0u);
  h.FlushAll();
}

// A client that resets while the backend is still connecting: the attempt is abandoned (in
// SYN-SENT no RST is sent, RFC 9293 §3.10.5), and the backend's late SYN-ACK finds no
// connection and is answered with a RST (RFC 9293 §3.10.7.1).
TEST(Reset, ClientResetWhileConnectingAbandonsTheAttempt) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(c, Rst().Seq(1));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(ListenerCounter::kClientResets), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, *b.backend), 0u);
  h.Inject(b, h.SynAckOf(b));
  h.Expect(b, Rst().AckBitOptional().Seq(1));
}

// docs/proxy.md 5: a connection the stack gives up on (retransmissions unanswered) ends the
// session with a RST to the other side (backend_timeouts).
TEST(Reset, UnreachableBackendResetsTheClient) {
  ProxyHarness h;
  h.stack_options().max_retransmissions = 2;
  auto [c, b] = h.Splice();
  h.Inject(c, Ack().Seq(1).Ack(1).Data("hello?"));
  h.Expect(b, Ack().Seq(1).Ack(1).Data("hello?"));
  int retransmissions = 0;
  while (h.counter(ProxyCounter::kSessionsActive) == 1 && Ms(h.elapsed()) < 120'000) {
    h.AdvanceUntilOutput(b, 60s);
    while (std::optional<Captured> r = h.Take(b)) {
      if (r->rst()) break;
      EXPECT_EQ(r->payload, "hello?");
      ++retransmissions;
    }
  }
  EXPECT_EQ(retransmissions, 2);
  EXPECT_EQ(h.counter(BackendCounter::kBackendTimeouts, *b.backend), 1u);
  std::optional<Captured> last = h.TakeLast(c);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->rst()) << h.Describe(c, *last);
}

// The same for a client the stack gives up on (client_timeouts): the backend gets the RST.
TEST(Reset, UnreachableClientResetsTheBackend) {
  ProxyHarness h;
  h.stack_options().max_retransmissions = 2;
  auto [c, b] = h.Splice();
  h.Inject(b, Ack().Seq(1).Ack(1).Data("are you there?"));
  h.Expect(c, Ack().Seq(1).Ack(1).Data("are you there?"));
  while (h.counter(ProxyCounter::kSessionsActive) == 1 && Ms(h.elapsed()) < 120'000) {
    h.Advance(100ms);
  }
  EXPECT_EQ(h.counter(ListenerCounter::kClientTimeouts), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kBackendTimeouts, *b.backend), 0u);
  std::optional<Captured> last = h.TakeLast(b);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->rst()) << h.Describe(b, *last);
  h.FlushAll();
}

// ====================================== Timeouts ==========================================

// docs/proxy.md 5: no byte either way for idle_timeout: both connections are closed (FIN to
// each), idle_timeouts counted.
TEST(Idle, NoTrafficClosesBothSides) {
  ProxyHarness h;
  h.listener().idle_timeout = 10s;
  auto [c, b] = h.Splice();
  h.Advance(9999ms);
  h.ExpectNothing();
  h.Advance(2ms);
  h.Expect(c, Fin().Seq(1).Ack(1));
  h.Expect(b, Fin().Seq(1).Ack(1));
  EXPECT_EQ(h.counter(ListenerCounter::kIdleTimeouts), 1u);
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  // The peers close their sides; the stack finishes on its own.
  h.Inject(c, Fin().Seq(1).Ack(2));
  h.Expect(c, Ack().Seq(2).Ack(2));
  h.Inject(b, Fin().Seq(1).Ack(2));
  h.Expect(b, Ack().Seq(2).Ack(2));
}

// Data resets the idle clock: the session lives idle_timeout past its last byte.
TEST(Idle, DataResetsTheIdleClock) {
  ProxyHarness h;
  h.listener().idle_timeout = 10s;
  auto [c, b] = h.Splice();
  h.Advance(6s);
  h.Inject(c, Ack().Seq(1).Ack(1).Data("ping"));
  h.Expect(b, Ack().Seq(1).Ack(1).Data("ping"));
  h.Inject(b, Ack().Seq(1).Ack(5));
  h.Advance(50ms);
  h.Expect(c, Ack().Seq(1).Ack(5));
  const base::Instant last_byte = h.now() - 50ms;
  h.Advance(6s);  // 12 s after the splice: past the first deadline
  h.ExpectNothing();
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 1u);
  h.AdvanceUntilOutput(10s);
  EXPECT_GE(h.now() - last_byte, 10s);
  EXPECT_LE(h.now() - last_byte, 10s + 2ms);
  h.Expect(c, Fin().Seq(1).Ack(5));
  h.Expect(b, Fin().Seq(5).Ack(1));
  EXPECT_EQ(h.counter(ListenerCounter::kIdleTimeouts), 1u);
  h.Inject(c, Fin().Seq(5).Ack(2));
  h.Inject(b, Fin().Seq(1).Ack(6));
  h.FlushAll();
}

// docs/proxy.md 5: a session older than max_lifetime is closed whatever it is doing
// (lifetime_expiries), here one that talks every second.
TEST(Lifetime, ABusySessionEndsAtMaxLifetime) {
  ProxyHarness h;
  h.listener().max_lifetime = 5s;
  const base::Instant start = h.now();
  auto [c, b] = h.Splice();
  uint32_t seq = 1;
  while (h.counter(ProxyCounter::kSessionsActive) == 1 && h.now() - start < 10s) {
    h.Inject(c, Ack().Seq(seq).Ack(1).Data("tick"));
    seq += 4;
    h.Inject(b, Ack().Seq(1).Ack(seq));
    h.Advance(1s);
  }
  EXPECT_EQ(h.counter(ListenerCounter::kLifetimeExpiries), 1u);
  EXPECT_EQ(h.counter(ListenerCounter::kIdleTimeouts), 0u);
  EXPECT_GE(h.now() - start, 5s);
  EXPECT_LE(h.now() - start, 6s);
  std::optional<Captured> to_client = h.TakeLast(c);
  std::optional<Captured> to_backend = h.TakeLast(b);
  ASSERT_TRUE(to_client.has_value());
  ASSERT_TRUE(to_backend.has_value());
  EXPECT_TRUE(to_client->flags & TcpFlags::kFin) << h.Describe(c, *to_client);
  EXPECT_TRUE(to_backend->flags & TcpFlags::kFin) << h.Describe(b, *to_backend);
  h.Inject(c, Fin().Seq(seq).Ack(2));
  h.Inject(b, Fin().Seq(1).Ack(seq + 1));
  h.FlushAll();
}

// The idle timeout also covers a session whose backend never answers within it: the client
// gets its FIN, the attempt is abandoned (no RST from SYN-SENT).
TEST(Idle, TimeoutWhileConnectingClosesTheClient) {
  ProxyHarness h;
  h.listener().idle_timeout = 500ms;  // before the SYN's first retransmission (RTO 1 s)
  h.pool().connect_timeout = 10s;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(c, 5s)), 500);
  h.Expect(c, Fin().Seq(1).Ack(1));
  EXPECT_EQ(h.counter(ListenerCounter::kIdleTimeouts), 1u);
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 0u);
  h.ExpectNothing(b);
  h.Inject(c, Fin().Seq(1).Ack(2));
  h.Expect(c, Ack().Seq(2).Ack(2));
}

// proxy.h, Ending::kTimedOut: an idle session whose client stopped reading (zero window,
// probes unanswered) still has bytes nobody acknowledged all that time: that connection is
// reset rather than closed, so its mbufs go now instead of waiting out the retransmission
// limit; the backend, with nothing queued, gets its FIN.
TEST(Idle, UnacknowledgedBytesAreResetNotClosed) {
  ProxyHarness h;
  h.listener().idle_timeout = 10s;
  Flow& c = h.Client();
  h.Handshake(c, Peer{.win = 0});
  Flow& b = h.ExpectSyn();
  h.Accept(b);
  h.Inject(b, Ack().Seq(1).Ack(1).Len(1000));
  h.Advance(10s);
  EXPECT_EQ(h.counter(ListenerCounter::kIdleTimeouts), 1u);
  std::optional<Captured> last = h.TakeLast(c);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->rst()) << h.Describe(c, *last);
  last = h.TakeLast(b);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->flags & TcpFlags::kFin) << h.Describe(b, *last);
  EXPECT_FALSE(last->rst());
  EXPECT_EQ(h.stack().mbufs_held(), 0u);
  h.Inject(b, Fin().Seq(1001).Ack(2));
  h.Expect(b, Ack().Seq(2).Ack(1002));
}

}  // namespace
}  // namespace ferry::proxy::packet
