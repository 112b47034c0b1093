// TIME-WAIT (RFC 9293 §3.3.2, §3.10.7.4 eighth) and its reuse by a new SYN (RFC 6191,
// RFC 1122 §4.2.2.13).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// Active close to TIME-WAIT on the default flow: our FIN is seq 1 + sent, the peer's FIN
// at 1 + peer_sent.
void CloseToTimeWait(Harness& h, uint32_t peer_sent = 0) {
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1 + peer_sent));
  h.Inject(Fin().Seq(1 + peer_sent).Ack(2));
  h.Expect(Ack().Seq(2).Ack(2 + peer_sent));
  h.Events();
  ASSERT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 1u);
}

// RFC 9293 §3.3.2 / StackOptions::time_wait (2 MSL, 60 s as in Linux): the tuple is kept that
// long and no longer.
TEST(TimeWait, LastsTwoMsl) {
  Harness h;
  h.EstablishPassive();
  CloseToTimeWait(h);
  h.Advance(59'999ms);
  EXPECT_EQ(h.stack().connections(), 1u);
  h.Advance(2ms);
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 0u);
  h.ExpectNothing();
  EXPECT_EQ(h.stack().free_tcbs(), h.stack().options().max_connections);
}

// RFC 9293 §3.10.7.4 eighth, TIME-WAIT: a retransmitted FIN is acknowledged and the 2 MSL
// timeout restarts.
TEST(TimeWait, RetransmittedFinIsAckedAndRestartsTheTimer) {
  Harness h;
  h.EstablishPassive();
  CloseToTimeWait(h);
  h.Advance(30s);
  h.Inject(Fin().Seq(1).Ack(2));
  h.Expect(Ack().Seq(2).Ack(2));
  h.Advance(59s);
  EXPECT_EQ(h.stack().connections(), 1u) << "the timer restarted at the retransmitted FIN";
  h.Advance(2s);
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.4 first: an old duplicate data segment in TIME-WAIT is not acceptable and
// gets an ACK.
TEST(TimeWait, OldDataIsAnsweredWithAck) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("abc"));
  h.Advance(100ms);
  h.Flush();
  CloseToTimeWait(h, 3);
  h.Inject(Ack().Seq(1).Ack(1).Data("abc"));
  h.Expect(Ack().Seq(2).Ack(5));
  EXPECT_TRUE(h.Events().empty());
}

// RFC 6191 §2 (previous incarnation used timestamps): a SYN whose TSval is above the last
// one seen is honoured: a new connection in SYN-RECEIVED, with an ISS above everything the
// old one sent (RFC 1122 §4.2.2.13).
TEST(TimeWait, SynWithNewerTimestampReusesTheTuple) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(101));
  h.Events();
  h.Shutdown();
  h.Expect(Fin().Seq(101).Ack(1));
  h.Inject(Fin().Seq(1).Ack(102));
  h.Expect(Ack().Seq(102).Ack(2));
  h.Events();
  const uint32_t old_iss = h.iss();
  h.Advance(1s);
  h.Inject(Syn().Seq(100000).Mss(1460).SackOk().Ts(h.PeerTsNow() + 10, 0).Ws(7));
  std::optional<Captured> synack = h.Take();
  ASSERT_TRUE(synack.has_value()) << "the SYN was not honoured";
  EXPECT_EQ(synack->flags, TcpFlags::kSyn | TcpFlags::kAck);
  EXPECT_EQ(synack->ack, h.peer_isn() + 100001);
  EXPECT_GT(static_cast<int32_t>(synack->seq - (old_iss + 102)), 0)
      << "the new ISS must lie above the old connection's sequence numbers";
  h.Inject(Ack().Seq(100001).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept"}));
}

// RFC 6191 §2: a SYN whose TSval is older than the last one seen does not reopen the tuple
// ("silently drop"; RFC 7323 §5.3 PAWS and Linux answer with an ACK, which RFC 9293
// §3.10.7.4 fourth leaves open): no SYN-ACK, TIME-WAIT stays.
void ExpectAtMostAnAck(Harness& h, std::source_location loc = std::source_location::current()) {
  if (std::optional<Captured> c = h.Take()) {
    EXPECT_EQ(c->flags & ~TcpFlags::kPsh, TcpFlags::kAck)
        << "called from line " << loc.line() << ": " << h.Describe(*c);
    EXPECT_EQ(c->seq - h.iss(), 2u) << h.Describe(*c);
  }
  h.ExpectNothing(loc);
}

TEST(TimeWait, SynWithOlderTimestampIsDropped) {
  Harness h;
  h.EstablishPassive();
  CloseToTimeWait(h);
  h.Inject(Syn().Seq(100000).Mss(1460).SackOk().Ts(10, 0).Ws(7));
  ExpectAtMostAnAck(h);
  EXPECT_EQ(h.stack().connections(), 1u);
  EXPECT_TRUE(h.Events().empty());
}

// RFC 6191 §2 (no timestamps on either incarnation) = RFC 1122 §4.2.2.13: a SYN with a
// sequence number above the old RCV.NXT reopens the tuple.
TEST(TimeWait, SynWithHigherSequenceReusesWithoutTimestamps) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  CloseToTimeWait(h);
  h.Advance(1s);
  h.Inject(Syn().Seq(5000).Mss(1460).NoTs());
  std::optional<Captured> synack = h.Take();
  ASSERT_TRUE(synack.has_value()) << "the SYN was not honoured";
  EXPECT_EQ(synack->flags, TcpFlags::kSyn | TcpFlags::kAck);
  EXPECT_EQ(synack->ack, h.peer_isn() + 5001);
}

// RFC 6191 §2 / RFC 1122 §4.2.2.13: without timestamps, a SYN at or below the old RCV.NXT is
// an old duplicate: not honoured (at most an ACK, as above).
TEST(TimeWait, SynWithOldSequenceIsDroppedWithoutTimestamps) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Data("0123456789"));
  h.Advance(100ms);
  h.Flush();
  CloseToTimeWait(h, 10);
  h.Inject(Syn().Seq(5).Mss(1460).NoTs());
  ExpectAtMostAnAck(h);
  EXPECT_EQ(h.stack().connections(), 1u);
  EXPECT_TRUE(h.Events().empty());
}

// RFC 9293 §3.3.2: only the side that closes first waits; the passive closer goes from
// LAST-ACK straight to CLOSED and frees the tuple at once.
TEST(TimeWait, PassiveCloserDoesNotWait) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(2));
  h.Inject(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 0u);
}

// TIME-WAIT on the active-open side too: the same rules whoever opened.
TEST(TimeWait, ActiveOpenerClosingFirstWaits) {
  Harness h;
  h.EstablishActive();
  CloseToTimeWait(h);
  EXPECT_EQ(h.stack().connections(), 1u);
  ConnectError error = ConnectError::kOk;
  const FourTuple tuple{kFerryIp, kPeerIp, 45000, kFerryPort};
  EXPECT_EQ(h.stack().Connect(tuple, h.connection_options(), &h, h.now(), &error),
            nullptr);
  EXPECT_EQ(error, ConnectError::kTupleInUse) << "the tuple is still in TIME-WAIT";
  h.Advance(61s);
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.4 (TIME-WAIT, ACK): a plain ACK of our FIN again needs no answer.
TEST(TimeWait, DuplicateAckNeedsNoAnswer) {
  Harness h;
  h.EstablishPassive();
  CloseToTimeWait(h);
  h.Inject(Ack().Seq(2).Ack(2));
  h.ExpectNothing();
  EXPECT_EQ(h.stack().connections(), 1u);
}

}  // namespace
}  // namespace ferry::tcp::packet
