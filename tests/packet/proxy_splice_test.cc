// The splice (docs/proxy.md "A session's life" 2 and 4, splice.cc): the backend's SYN, bytes
// forwarded byte-exact and in order both ways, zero copy, and the client's bytes held while the
// backend connects.
#include <rte_mbuf.h>

#include "gtest/gtest.h"
#include "proxy_harness.h"

namespace ferry::proxy::packet {
namespace {

// Whether `piece` reads its bytes out of the buffer of `injected` (docs/tcp.md "Zero copy":
// an indirect mbuf attached to the received one, narrowed to the bytes sent).
testing::AssertionResult ReadsFrom(const Captured::Piece& piece, const rte_mbuf* injected) {
  if (!piece.indirect) return testing::AssertionFailure() << "a direct mbuf: the bytes were copied";
  if (piece.owner != injected) {
    return testing::AssertionFailure() << "attached to another mbuf than the one injected";
  }
  const auto* begin = static_cast<const uint8_t*>(injected->buf_addr);
  const auto* data = static_cast<const uint8_t*>(piece.data);
  if (data < begin || data + piece.length > begin + injected->buf_len) {
    return testing::AssertionFailure() << "data outside the injected mbuf's buffer";
  }
  return testing::AssertionSuccess();
}

// ====================================== Connecting =======================================

// docs/proxy.md 1-2: the client's handshake completes (accept), the pool's policy picks a
// backend, and the SYN leaves from the backend's default_source and an ephemeral port (checked
// by ExpectSyn); the backend's SYN-ACK is acknowledged and the session is spliced.
TEST(Splice, BackendSynLeavesFromTheSourceAddress) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c);
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 1u);
  EXPECT_EQ(h.counter(ProxyCounter::kSessionsActive), 1u);
  Flow& b = h.ExpectSyn(std::nullopt, Syn().Seq(0).Mss(1460).SackOk().TsAny().Ws(0));
  EXPECT_EQ(b.tuple.local_ip, kSourceIp);
  EXPECT_EQ(b.tuple.remote_ip, BackendIp(*b.backend));
  EXPECT_EQ(b.tuple.remote_port, kBackendPort);
  EXPECT_EQ(h.counter(ProxyCounter::kConnectAttempts), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsActive, *b.backend), 1u);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsTotal, *b.backend), 0u) << "not yet connected";
  h.Accept(b);
  EXPECT_EQ(h.counter(BackendCounter::kSessionsTotal, *b.backend), 1u);
  h.ExpectNothing();

  h.Inject(c, Rst().Seq(1));
  h.Expect(b, Rst().AckBitOptional().Seq(1));
}

// docs/proxy.md 2: with source_addresses configured, each new backend connection leaves from
// the next of them in turn.
TEST(Splice, SourceAddressesAreUsedInTurn) {
  ProxyHarness h;
  const net::Ipv4Address second = net::Ipv4Address::FromOctets(198, 18, 1, 2);
  h.settings().source_addresses = {kSourceIp, second};
  auto [c1, b1] = h.Splice(40001);
  auto [c2, b2] = h.Splice(40002);
  auto [c3, b3] = h.Splice(40003);
  EXPECT_EQ(b1.tuple.local_ip, kSourceIp);
  EXPECT_EQ(b2.tuple.local_ip, second);
  EXPECT_EQ(b3.tuple.local_ip, kSourceIp);
  for (Flow* c : {&c1, &c2, &c3}) h.Inject(*c, Rst().Seq(1));
  for (Flow* b : {&b1, &b2, &b3}) h.Expect(*b, Rst().AckBitOptional().Seq(1));
}

// ====================================== Forwarding =======================================

// docs/proxy.md 4: each chain one side delivers is queued on the other side's send queue: a
// request goes to the backend, the response to the client, byte for byte, each carrying the
// ACK of what came the other way on its own connection; the byte counters match.
TEST(Splice, RequestAndResponseAreForwarded) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  h.Inject(c, Ack().Seq(1).Ack(1).Data("GET / HTTP/1.0\r\n\r\n"));
  h.Expect(b, Ack().Seq(1).Ack(1).Data("GET / HTTP/1.0\r\n\r\n"));
  h.Advance(50ms);
  h.Expect(c, Ack().Seq(1).Ack(19));  // delayed (RFC 9293 §3.8.6.3): the backend is slower
  h.Inject(b, Ack().Seq(1).Ack(19).Data("HTTP/1.0 200 OK\r\n\r\n"));
  h.Expect(c, Ack().Seq(1).Ack(19).Data("HTTP/1.0 200 OK\r\n\r\n"));
  h.Inject(c, Ack().Seq(19).Ack(20));
  h.Advance(100ms);
  h.Expect(b, Ack().Seq(19).Ack(20));  // the delayed ACK of the response (RFC 9293 §3.8.6.3)
  h.ExpectNothing();

  EXPECT_EQ(h.counter(ListenerCounter::kBytesFromClient), 18u);
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), 18u);
  EXPECT_EQ(h.counter(BackendCounter::kBytesFromBackend, *b.backend), 19u);
  EXPECT_EQ(h.counter(ListenerCounter::kBytesToClient), 19u);

  h.Inject(b, Rst().Seq(20));
  h.Expect(c, Rst().AckBitOptional().Seq(20));
}

// The two directions at once, several segments each: everything arrives in order and
// byte-exact on the other side (both streams are compared whole).
TEST(Splice, StreamsInBothDirectionsArriveInOrder) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  for (uint32_t i = 0; i < 4; ++i) {
    h.Inject(c, Ack().Seq(1 + i * kMssTs).Ack(1).Len(kMssTs));
    h.Inject(b, Ack().Seq(1 + i * 700).Ack(1).Len(700));
  }
  h.Advance(100ms);
  EXPECT_EQ(b.from_ferry, c.from_peer);
  EXPECT_EQ(c.from_ferry, b.from_peer);
  EXPECT_EQ(b.from_ferry, PeerPattern(1, 4 * kMssTs));
  EXPECT_EQ(c.from_ferry, PeerPattern(1, 4 * 700));
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), 4 * kMssTs);
  EXPECT_EQ(h.counter(ListenerCounter::kBytesToClient), 4 * 700u);
  h.FlushAll();

  h.Inject(c, Rst().Seq(1 + 4 * kMssTs));
  h.Expect(b, Rst().AckBitOptional().Seq(1 + 4 * kMssTs));
}

// ======================================= Zero copy =======================================

// docs/proxy.md 4, "No byte is copied": the payload ferry sends to the backend is read, through
// indirect mbufs, out of the very buffer the client's segment arrived in.
TEST(ZeroCopy, ClientBytesGoOutOfTheReceivedBuffer) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  h.Inject(c, Ack().Seq(1).Ack(1).Len(1000));
  const rte_mbuf* injected = h.last_injected_mbuf();
  std::optional<Captured> out = h.Take(b);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->payload, PeerPattern(1, 1000));
  ASSERT_FALSE(out->pieces.empty());
  for (const Captured::Piece& piece : out->pieces) EXPECT_TRUE(ReadsFrom(piece, injected));

  // A retransmission (nothing acknowledged within the RTO) reads the same buffer again.
  EXPECT_GT(Ms(h.AdvanceUntilOutput(b, 5s)), 0);
  out = h.Take(b);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->payload, PeerPattern(1, 1000));
  for (const Captured::Piece& piece : out->pieces) EXPECT_TRUE(ReadsFrom(piece, injected));
  h.FlushAll();

  h.Inject(b, Rst().Seq(1));
  h.Expect(c, Rst().AckBitOptional().Seq(1));
}

// The same the other way: the backend's bytes reach the client from the backend's buffer.
TEST(ZeroCopy, BackendBytesGoOutOfTheReceivedBuffer) {
  ProxyHarness h;
  auto [c, b] = h.Splice();
  h.Inject(b, Ack().Seq(1).Ack(1).Len(1200));
  const rte_mbuf* injected = h.last_injected_mbuf();
  std::optional<Captured> out = h.Take(c);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->payload, PeerPattern(1, 1200));
  ASSERT_FALSE(out->pieces.empty());
  for (const Captured::Piece& piece : out->pieces) EXPECT_TRUE(ReadsFrom(piece, injected));
  h.FlushAll();

  h.Inject(c, Rst().Seq(1));
  h.Expect(b, Rst().AckBitOptional().Seq(1));
}

// ============================== Before the backend connects ==============================

// docs/proxy.md "Flow control": before the backend is connected the client may send up to the
// cap; its bytes wait in the session (bytes_held) and the window it is offered is
// max_in_flight_bytes less what is held. Once the backend is up they go first, in order.
TEST(Connecting, ClientBytesAreHeldUntilTheBackendIsUp) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 10000;
  Flow& c = h.Client();
  h.Inject(c, h.SynOf(c));
  h.Expect(c, SynAck().Seq(0).Ack(1).Win(10000));  // AcceptReceiveSpace: the cap
  h.Inject(c, Ack().Seq(1).Ack(1));
  Flow& b = h.ExpectSyn();

  h.Inject(c, Ack().Seq(1).Ack(1).Data("early "));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 6u);
  h.Advance(50ms);
  h.Expect(c, Ack().Seq(1).Ack(7).Win(10000 - 6));
  for (uint32_t i = 0; i < 4; ++i) h.Inject(c, Ack().Seq(7 + i * 1000).Ack(1).Len(1000));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 4006u);
  h.Advance(50ms);
  std::optional<Captured> ack = h.TakeLast(c);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->ack - c.peer_isn, 4007u);
  EXPECT_EQ(ack->window, 10000u - 4006u);
  h.ExpectNothing();

  h.Inject(b, h.SynAckOf(b));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 0u);
  h.Advance(50ms);
  EXPECT_EQ(b.from_ferry, "early " + PeerPattern(7, 4000));
  EXPECT_EQ(h.counter(BackendCounter::kBytesToBackend, *b.backend), 4006u);
  h.FlushAll();

  h.Inject(c, Rst().Seq(4007));
  h.Expect(b, Rst().AckBitOptional().Seq(4007));
}

// docs/proxy.md "Flow control": a client that fills the cap before the backend is up sees a
// zero window (the right edge stays where the SYN-ACK put it, RFC 9293 §3.8.6.2.2); once the
// backend has acknowledged the bytes the window opens again.
TEST(Connecting, WindowClosesAtTheCapAndReopensOnceForwarded) {
  ProxyHarness h;
  h.listener().max_in_flight_bytes = 4000;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  for (uint32_t i = 0; i < 4; ++i) h.Inject(c, Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 4000u);
  h.Advance(50ms);
  std::optional<Captured> last = h.TakeLast(c);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ack - c.peer_isn, 4001u);
  EXPECT_EQ(last->window, 0u);

  h.Inject(b, h.SynAckOf(b));
  h.Advance(10ms);
  EXPECT_EQ(b.from_ferry, PeerPattern(1, 4000));
  h.Flush(b);
  h.ExpectNothing(c);  // nothing acknowledged yet: no room
  h.Inject(b, Ack().Seq(1).Ack(4001));
  h.Expect(c, Ack().Seq(1).Ack(4001).Win(4000));

  h.Inject(c, Rst().Seq(4001));
  h.Expect(b, Rst().AckBitOptional().Seq(4001));
}

// docs/proxy.md "Flow control": what the client sent while connecting goes to whichever
// backend the session ends up on: here the first refuses and the retry's backend gets it all.
TEST(Connecting, HeldBytesGoToTheBackendOfTheRetry) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& first = h.ExpectSyn();
  h.Inject(c, Ack().Seq(1).Ack(1).Data("hello"));
  h.Inject(first, RstAck().Seq(0).Ack(1));
  h.AdvanceUntilOutput(1s);
  Flow& second = h.ExpectSyn();
  EXPECT_NE(second.backend, first.backend);
  h.Inject(second, h.SynAckOf(second));
  h.Expect(second, Ack().Seq(1).Ack(1).Data("hello"));
  EXPECT_EQ(first.from_ferry, "");
  h.FlushAll();

  h.Inject(c, Rst().Seq(6));
  h.Expect(second, Rst().AckBitOptional().Seq(6));
}

// RFC 9293 §3.10.7.4: the ACK completing the client's handshake may carry data and a FIN; the
// proxy accepts first, then holds both, and the backend gets the data and the FIN once up.
TEST(Connecting, DataAndFinOnTheHandshakeAck) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Inject(c, h.SynOf(c));
  h.Expect(c, SynAck().Seq(0).Ack(1));
  h.Inject(c, Fin().Seq(1).Ack(1).Data("one shot"));
  EXPECT_EQ(h.counter(ListenerCounter::kSessionsTotal), 1u);
  EXPECT_EQ(h.counter(ProxyCounter::kBytesHeld), 8u);
  h.Expect(c, Ack().Seq(1).Ack(10));
  Flow& b = h.ExpectSyn();
  h.Inject(b, h.SynAckOf(b));
  h.Expect(b, Ack().Seq(1).Ack(1).Data("one shot"));
  h.Expect(b, Fin().Seq(9).Ack(1));

  h.Inject(b, Fin().Seq(1).Ack(10).Data("answer"));
  h.Expect(b, Ack().Seq(10).Ack(8));
  h.Expect(c, Ack().Seq(1).Ack(10).Data("answer"));
  h.Expect(c, Fin().Seq(7).Ack(10));
  h.Inject(c, Ack().Seq(10).Ack(8));
  h.ExpectNothing();
}

// RFC 9293 §3.10.7.3: data on the backend's SYN-ACK (a server that speaks first) is taken
// once the session is spliced and reaches the client.
TEST(Connecting, DataOnTheBackendSynAckReachesTheClient) {
  ProxyHarness h;
  Flow& c = h.Client();
  h.Handshake(c);
  Flow& b = h.ExpectSyn();
  h.Inject(b, h.SynAckOf(b).Data("220 ready\r\n"));
  h.Expect(c, Ack().Seq(1).Ack(1).Data("220 ready\r\n"));
  EXPECT_EQ(h.counter(BackendCounter::kBytesFromBackend, *b.backend), 11u);
  h.FlushAll();

  h.Inject(c, Rst().Seq(1));
  h.Expect(b, Rst().AckBitOptional().Seq(1));
}

}  // namespace
}  // namespace ferry::proxy::packet
