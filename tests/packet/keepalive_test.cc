// Keep-alives (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6): off unless asked for, probes after the
// idle time at SND.NXT - 1, repeated at the interval, and the connection dropped when enough
// go unanswered.
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

void KeepaliveOn(Harness& h) {
  ConnectionOptions& o = h.connection_options();
  o.keepalive = true;
  o.keepalive_idle = 10s;
  o.keepalive_interval = 2s;
  o.keepalive_probes = 3;
}

// RFC 1122 §4.2.3.6: a keep-alive probe is an ACK with sequence number SND.NXT - 1, "with or
// without one garbage octet of data".
void ExpectKeepalive(Harness& h, uint32_t snd_nxt,
                     std::source_location loc = std::source_location::current()) {
  std::optional<Captured> c = h.Take();
  if (!c) {
    ADD_FAILURE_AT(loc.file_name(), loc.line()) << "no keep-alive probe";
    return;
  }
  EXPECT_EQ(c->flags & ~TcpFlags::kPsh, TcpFlags::kAck) << h.Describe(*c);
  EXPECT_EQ(c->seq - h.iss(), snd_nxt - 1) << h.Describe(*c);
  EXPECT_LE(c->payload.size(), 1u) << h.Describe(*c);
  EXPECT_EQ(c->ack - h.peer_isn(), 1u) << h.Describe(*c);
}

// RFC 1122 §4.2.3.6: "Keep-alive packets MUST only be sent when the application requests
// them" and the default MUST be off: hours of idleness send nothing.
TEST(Keepalive, OffByDefault) {
  Harness h;
  h.EstablishPassive();
  h.Advance(3h, 1s);
  h.ExpectNothing();
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
}

// RFC 1122 §4.2.3.6: the first probe goes when the connection has been idle for the
// keep-alive time (configurable; ConnectionOptions::keepalive_idle).
TEST(Keepalive, FirstProbeAfterTheIdleTime) {
  Harness h;
  KeepaliveOn(h);
  h.EstablishPassive();
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 10'000);
  ExpectKeepalive(h, 1);
}

// RFC 1122 §4.2.3.6: an answered probe shows the peer is alive; the connection goes on and
// the next probe waits for another idle period.
TEST(Keepalive, AnsweredProbeRestartsTheIdleTime) {
  Harness h;
  KeepaliveOn(h);
  h.EstablishPassive();
  h.AdvanceUntilOutput(60s);
  ExpectKeepalive(h, 1);
  h.Inject(Ack().Seq(1).Ack(1));
  h.ExpectNothing();
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 10'000);
  ExpectKeepalive(h, 1);
  EXPECT_TRUE(h.Events().empty());
}

// RFC 9293 §3.8.4 / ConnectionOptions: unanswered probes repeat every keepalive_interval;
// after keepalive_probes of them the connection is dropped and the owner hears
// kKeepaliveTimeout.
TEST(Keepalive, UnansweredProbesDropTheConnection) {
  Harness h;
  KeepaliveOn(h);
  h.EstablishPassive();
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 10'000);
  ExpectKeepalive(h, 1);
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 2'000);
  ExpectKeepalive(h, 1);
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 2'000);
  ExpectKeepalive(h, 1);
  EXPECT_TRUE(h.Events().empty());
  h.Advance(2s);
  EXPECT_EQ(h.Events(), Log({"closed keepalive_timeout"}));
  h.Flush();  // a RST may tell the peer
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kKeepaliveTimeouts), 1u);
}

// RFC 1122 §4.2.3.6: idle means nothing received: data from the peer restarts the idle time.
TEST(Keepalive, ReceivedDataRestartsTheIdleTime) {
  Harness h;
  KeepaliveOn(h);
  h.EstablishPassive();
  h.Advance(8s);
  h.Inject(Ack().Seq(1).Ack(1).Data("ping"));
  h.Advance(1s);
  h.Expect(Ack().Seq(1).Ack(5));  // the (delayed) ACK of "ping"
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(60s)), 9'000) << "10 s after the data arrived";
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->ack - h.peer_isn(), 5u);
  EXPECT_EQ(c->seq - h.iss(), 0u);
}

// RFC 1122 §4.2.3.6: the probe's sequence number lies outside the window, so it consumes no
// sequence space: data sent afterwards still starts at SND.NXT.
TEST(Keepalive, ProbeConsumesNoSequenceSpace) {
  Harness h;
  KeepaliveOn(h);
  h.EstablishPassive();
  h.AdvanceUntilOutput(60s);
  ExpectKeepalive(h, 1);
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Send("after"), 5u);
  h.Expect(Ack().Seq(1).Ack(1).Data("after"));
}

// The owner's choice per connection: a listener with keep-alives off makes connections
// without them even when another listener has them on.
TEST(Keepalive, OptionIsPerListener) {
  Harness h;
  KeepaliveOn(h);
  h.Listen(81);
  h.connection_options().keepalive = false;
  h.UseFlow(kFerryPort, kPeerPort);
  h.EstablishPassive();
  h.Advance(60s, 100ms);
  h.ExpectNothing();
}

}  // namespace
}  // namespace ferry::tcp::packet
