// Closing connections (RFC 9293 §3.6, §3.10.4 CLOSE, §3.10.5 ABORT, §3.10.7.4 eighth, the
// FIN bit): FIN-WAIT-1, FIN-WAIT-2, CLOSING, CLOSE-WAIT, LAST-ACK, and half-close.
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// ======================================= Active close =======================================

// RFC 9293 §3.10.4 CLOSE in ESTABLISHED: "form a FIN segment and send it, and enter
// FIN-WAIT-1"; its ACK moves to FIN-WAIT-2 without an event (OnAcked is for data only).
TEST(ActiveClose, ShutdownSendsFinAndItsAckEntersFinWait2) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1).TsAny());
  EXPECT_EQ(h.tcb()->state(), TcpState::kFinWait1);
  h.Inject(Ack().Seq(1).Ack(2));
  EXPECT_EQ(h.tcb()->state(), TcpState::kFinWait2);
  EXPECT_TRUE(h.Events().empty());
  h.ExpectNothing();
}

// RFC 9293 §3.10.7.4 eighth, FIN-WAIT-2: the peer's FIN is acknowledged and the connection
// enters TIME-WAIT; both FINs exchanged and ours acknowledged is a normal close.
TEST(ActiveClose, PeerFinInFinWait2EntersTimeWait) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2));
  h.Inject(Fin().Seq(1).Ack(2));
  h.Expect(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin", "closed normal"}));
  EXPECT_EQ(h.stack().connections(), 1u) << "TIME-WAIT keeps the tuple";
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsEstablished), 0u);
}

// RFC 9293 §3.10.7.4 eighth, FIN-WAIT-1: a FIN that also acknowledges our FIN goes straight
// to TIME-WAIT.
TEST(ActiveClose, FinAckingOurFinGoesStraightToTimeWait) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Fin().Seq(1).Ack(2));
  h.Expect(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin", "closed normal"}));
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 1u);
}

// RFC 9293 §3.6 (simultaneous close) and §3.10.7.4 eighth: FIN-WAIT-1 receiving a FIN that
// does not acknowledge ours enters CLOSING; the ACK of our FIN then enters TIME-WAIT.
TEST(ActiveClose, SimultaneousCloseGoesThroughClosing) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin"}));
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kClosing);
  h.Inject(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.Events(), Log({"closed normal"}));
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 1u);
}

// RFC 9293 §3.10.4: "queue [the FIN] until all preceding SENDs have been segmentized"; the
// FIN takes the sequence number after the data.
TEST(ActiveClose, FinFollowsQueuedData) {
  Harness h;
  h.EstablishPassive();
  EXPECT_EQ(h.Send("hello"), 5u);
  h.Expect(Ack().Seq(1).Ack(1).Data("hello"));
  h.Shutdown();
  h.Expect(Fin().Seq(6).Ack(1));
  h.Inject(Ack().Seq(1).Ack(7));
  EXPECT_EQ(h.Events(), Log({"acked 5"}));
  EXPECT_EQ(h.tcb()->state(), TcpState::kFinWait2);
}

// RFC 9293 §3.10.4: data the window holds back is sent before the FIN, which may ride on the
// last data segment.
TEST(ActiveClose, FinWaitsForDataHeldByTheWindow) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 4});
  EXPECT_EQ(h.Send("abcdefgh"), 8u);
  h.Expect(Ack().Seq(1).Ack(1).Data("abcd"));
  h.Shutdown();
  h.ExpectNothing();  // no FIN ahead of "efgh"
  h.Inject(Ack().Seq(1).Ack(5).Win(100));
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->payload, "efgh");
  EXPECT_EQ(c->seq - h.iss(), 5u);
  if (!(c->flags & TcpFlags::kFin)) h.Expect(Fin().Seq(9).Ack(1));
}

// RFC 6298 §5 / RFC 9293 §3.8.1: the FIN occupies sequence space and is retransmitted like
// data until acknowledged.
TEST(ActiveClose, FinIsRetransmittedUntilAcknowledged) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), rto);
  h.ExpectRetransmit(Fin().Seq(1).Ack(1));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 2 * rto);
  h.ExpectRetransmit(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2));
  h.Advance(30s);
  h.ExpectNothing();
}

// RFC 9293 §3.10.7.4 seventh, FIN-WAIT-1/FIN-WAIT-2: the peer may go on sending after our
// FIN (half-close); its data is delivered.
TEST(ActiveClose, DataStillArrivesAfterOurFin) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2).Data("late data"));
  EXPECT_EQ(h.Events(), Log({"data 9"}));
  EXPECT_EQ(h.Received(), "late data");
  h.Advance(500ms);
  h.Expect(Ack().Seq(2).Ack(10));
}

// stack.h: after Shutdown, Send takes nothing (the FIN is the last byte).
TEST(ActiveClose, SendAfterShutdownTakesNothing) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  EXPECT_EQ(h.Send("more"), 0u);
  EXPECT_EQ(h.tcb()->send_space(), 0u);
  h.ExpectNothing();
}

// RFC 1122 §4.2.2.13 and events.h: data arriving after the owner Close()d (no one will read
// it) is answered with a RST, and the connection is gone.
TEST(ActiveClose, DataAfterCloseIsAnsweredWithReset) {
  Harness h;
  h.EstablishPassive();
  h.Close();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2).Data("anyone?"));
  h.Expect(Rst().AckBitOptional().Seq(2));
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.stack().connections(), 0u);
}

// A closed (orphaned) connection in FIN-WAIT-2 whose peer never sends its FIN is removed after
// StackOptions::fin_wait_2_timeout.
TEST(ActiveClose, OrphanedFinWait2TimesOut) {
  Harness h;
  h.stack_options().fin_wait_2_timeout = 5s;
  h.EstablishPassive();
  h.Close();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2));
  h.Advance(4900ms);
  EXPECT_EQ(h.stack().connections(), 1u);
  h.Advance(200ms);
  h.Flush();
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_TRUE(h.Events().empty()) << "the owner closed: no more events";
}

// RFC 9293 §3.10.7.4 eighth: the FIN is processed only once RCV.NXT reaches it. An
// out-of-order FIN is acknowledged as a duplicate (RCV.NXT unchanged); once the hole is filled
// the FIN counts, either from the queue or when the peer retransmits it.
TEST(ActiveClose, OutOfOrderFinWaitsForTheHole) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(6).Ack(1).Data("world"));
  h.Expect(Ack().Seq(1).Ack(1));
  EXPECT_TRUE(h.Events().empty());
  h.Inject(Ack().Seq(1).Ack(1).Data("hello"));
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  if (c->ack - h.peer_isn() == 11) {
    h.Inject(Fin().Seq(11).Ack(1));
    h.Expect(Ack().Seq(1).Ack(12));
  } else {
    EXPECT_EQ(c->ack - h.peer_isn(), 12u) << h.Describe(*c);
  }
  EXPECT_EQ(h.Received(), "helloworld");
  const EventLog events = h.Events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "peer_fin");
}

// RFC 9293 §3.10.4: only an orphaned FIN-WAIT-2 times out; a half-closed connection whose
// owner still reads waits as long as the peer keeps sending.
TEST(ActiveClose, HalfClosedFinWait2WaitsForThePeer) {
  Harness h;
  h.stack_options().fin_wait_2_timeout = 5s;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2));
  h.Advance(30s, 10ms);
  h.ExpectNothing();
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kFinWait2);
  h.Inject(Ack().Seq(1).Ack(2).Data("still talking"));
  EXPECT_EQ(h.Events(), Log({"data 13"}));
}

// RFC 9293 §3.10.4 CLOSE: "Queue this until all preceding SENDs have been segmentized": a
// Close with data held back by a zero window sends the data, then the FIN, once the window
// opens; the owner hears nothing more.
TEST(ActiveClose, CloseWithDataBehindAZeroWindow) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Win(0));
  h.Send("pending");
  h.Close();
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(1).Win(1000));
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->payload, "pending") << h.Describe(*c);
  if (!(c->flags & TcpFlags::kFin)) h.Expect(Fin().Seq(8).Ack(1));
  h.Inject(Fin().Seq(1).Ack(9));
  h.Expect(Ack().Seq(9).Ack(2));
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 1u);
}

// events.h: a handler may call the API from inside an event. Closing from OnPeerFin (the
// usual reaction of a proxy) sends our FIN, which may carry the ACK of theirs.
TEST(PassiveClose, CloseFromInsideOnPeerFin) {
  Harness h;
  h.EstablishPassive();
  h.on_event = [&h](const std::string& event) {
    if (event == "peer_fin") h.Close();
  };
  h.Inject(Fin().Seq(1).Ack(1));
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  if (!(c->flags & TcpFlags::kFin)) {
    EXPECT_EQ(c->ack - h.peer_isn(), 2u) << h.Describe(*c);
    c = h.Take();
    ASSERT_TRUE(c.has_value());
  }
  EXPECT_EQ(c->flags & ~TcpFlags::kPsh, TcpFlags::kFin | TcpFlags::kAck) << h.Describe(*c);
  EXPECT_EQ(c->seq - h.iss(), 1u);
  EXPECT_EQ(c->ack - h.peer_isn(), 2u);
  h.Inject(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin"}));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// ======================================= Passive close =======================================

// RFC 9293 §3.10.7.4 eighth, ESTABLISHED: a FIN is acknowledged at once, the owner is told,
// and the connection enters CLOSE-WAIT.
TEST(PassiveClose, PeerFinIsAcknowledgedAndEntersCloseWait) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin"}));
  EXPECT_EQ(h.tcb()->state(), TcpState::kCloseWait);
}

// RFC 9293 §3.10.4 CLOSE in CLOSE-WAIT: FIN, LAST-ACK; its ACK closes the connection with no
// TIME-WAIT (only the side that closed first waits).
TEST(PassiveClose, ShutdownInCloseWaitThenAckCloses) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Events();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(2));
  EXPECT_EQ(h.tcb()->state(), TcpState::kLastAck);
  h.Inject(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.Events(), Log({"closed normal"}));
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsTimeWait), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsClosing), 0u);
}

// RFC 9293 §3.10.7.4 seventh and eighth: data and FIN in one segment: the data is delivered,
// then the FIN, and one ACK covers both.
TEST(PassiveClose, DataWithFinDeliversBoth) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1).Data("bye"));
  h.Expect(Ack().Seq(1).Ack(5));
  EXPECT_EQ(h.Events(), Log({"data 3", "peer_fin"}));
  EXPECT_EQ(h.Received(), "bye");
}

// RFC 9293 §3.10.7.4 seventh, CLOSE-WAIT: "This should not occur since a FIN has been
// received from the remote side. Ignore the segment text."
TEST(PassiveClose, DataAfterPeerFinIsIgnored) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Events();
  h.Inject(Ack().Seq(2).Ack(1).Data("ghost"));
  h.Flush();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.Received(), "");
}

// Half-close (RFC 9293 §3.6): in CLOSE-WAIT we can still send.
TEST(PassiveClose, SendingContinuesInCloseWait) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  EXPECT_EQ(h.Send("still here"), 10u);
  h.Expect(Ack().Seq(1).Ack(2).Data("still here"));
  h.Inject(Ack().Seq(2).Ack(11));
  EXPECT_EQ(h.Events(), Log({"peer_fin", "acked 10"}));
}

// RFC 9293 §3.8.1: in LAST-ACK our FIN is retransmitted until acknowledged.
TEST(PassiveClose, LastAckRetransmitsFin) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(2));
  h.AdvanceUntilOutput(10s);
  h.ExpectRetransmit(Fin().Seq(1).Ack(2));
  h.Inject(Ack().Seq(2).Ack(2));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// A retransmitted FIN in CLOSE-WAIT (our ACK was lost) is acknowledged again
// (RFC 9293 §3.10.7.4 first: not acceptable, send an ACK) and reported only once.
TEST(PassiveClose, RetransmittedFinIsAcknowledgedAgain) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  EXPECT_EQ(h.Events(), Log({"peer_fin"}));
}

// events.h: Close() in CLOSE-WAIT finishes the close on its own and reports nothing more.
TEST(PassiveClose, CloseInCloseWaitFinishesSilently) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Events();
  h.Close();
  h.Expect(Fin().Seq(1).Ack(2));
  h.Inject(Ack().Seq(2).Ack(2));
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.stack().connections(), 0u);
}

// =========================================== Abort ===========================================

// RFC 9293 §3.10.5 ABORT in ESTABLISHED: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>",
// queued data is dropped, the TCB deleted; events.h: no more events.
TEST(Abort, AbortSendsResetAtSndNxt) {
  Harness h;
  h.EstablishPassive();
  h.Send("unsent?");
  h.Expect(Ack().Seq(1).Ack(1).Data("unsent?"));
  h.Abort();
  h.Expect(Rst().AckBitOptional().Seq(8));
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kResetsOut), 1u);
  h.Advance(10s);
  h.ExpectNothing();
}

// RFC 9293 §3.10.5 ABORT in SYN-SENT: delete the TCB; no segment is sent.
TEST(Abort, AbortInSynSentSendsNothing) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Abort();
  h.ExpectNothing();
  EXPECT_EQ(h.stack().connections(), 0u);
  h.Advance(5s);
  h.ExpectNothing();
}

}  // namespace
}  // namespace ferry::tcp::packet
