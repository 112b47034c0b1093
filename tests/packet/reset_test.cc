// Resets: segments to no connection (RFC 9293 §3.10.7.1, CLOSED), and RST arriving in each
// state (RFC 9293 §3.10.7.4 second, with RFC 5961 §3.2's exact-match rule; the in-window
// challenge is in rfc5961_test.cc).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// ============================ CLOSED (no connection, no listener) ============================

// RFC 9293 §3.10.7.1: "If the ACK bit is off, sequence number zero is used,
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>".
TEST(Closed, SynToClosedPortGetsRstAck) {
  Harness h;
  h.Inject(Syn().Seq(0).Mss(1460));
  h.Expect(RstAck().Seq(0).Ack(1).Win(0).NoOpts());
  EXPECT_EQ(h.counter(TcpCounter::kResetsOut), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kDropNoConnection), 1u);
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.1: "If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>".
TEST(Closed, AckToClosedPortGetsRstAtItsAckNumber) {
  Harness h;
  h.Inject(Ack().Seq(100).Ack(777).Data("data"));
  h.Expect(Rst().Seq(777).NoOpts());
}

// RFC 9293 §3.10.7.1: SEG.LEN counts the SYN, the FIN and every octet of data.
TEST(Closed, ResetAcknowledgesSegLen) {
  Harness h;
  h.Inject(Seg(TcpFlags::kFin).Flags(TcpFlags::kPsh).Seq(10).Data("abc").NoTs());
  h.ExpectNothing();  // FIN without ACK: impossible flags (segment.cc), dropped
  h.Inject(Syn().Seq(10).Data("abc"));
  h.Expect(RstAck().Seq(0).Ack(14));
}

// RFC 9293 §3.10.7.1: "An incoming segment containing a RST is discarded."
TEST(Closed, ResetIsNeverAnsweredWithReset) {
  Harness h;
  h.Inject(Rst().Seq(0));
  h.Inject(RstAck().Seq(0).Ack(5));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kResetsOut), 0u);
}

// A listener on another port does not make this one open.
TEST(Closed, ListenerOnAnotherPortDoesNotAnswer) {
  Harness h;
  h.Listen(8080);
  h.UseFlow(kFerryPort, kPeerPort);
  h.Inject(Syn().Seq(0));
  h.Expect(RstAck().Seq(0).Ack(1));
}

// ==================================== RST in a connection ====================================

// RFC 9293 §3.10.7.4 second, ESTABLISHED, with RFC 5961 §3.2: a RST at exactly RCV.NXT
// resets the connection: the owner hears kReset and nothing is sent.
TEST(ResetIn, EstablishedRstAtRcvNxtResets) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
  h.ExpectNothing();
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kResetsIn), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsEstablished), 0u);
}

// The same with the ACK bit on (Linux's active resets carry it).
TEST(ResetIn, EstablishedRstAckAtRcvNxtResets) {
  Harness h;
  h.EstablishPassive();
  h.Inject(RstAck().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.5.3: "TCP implementations SHOULD allow a received RST segment to include data"
// (diagnostic text, not stream data): the reset happens, the text is not delivered.
TEST(ResetIn, RstWithDataResetsWithoutDelivering) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1).Data("diagnostic"));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
  EXPECT_EQ(h.Received(), "");
}

// RFC 9293 §3.10.7.4 second, SYN-RECEIVED from a passive open: "return this connection to
// the LISTEN state and return. The user need not be informed."
TEST(ResetIn, SynReceivedReturnsToListen) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460));
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Rst().Seq(1));
  h.ExpectNothing();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsSynReceived), 0u);
  h.Advance(5s);
  h.ExpectNothing();  // no SYN-ACK retransmission for the dead connection
  h.Inject(Syn().Seq(500).Mss(1460));  // the listener still listens
  h.Expect(SynAck().Seq(0).Ack(501));
}

// RFC 9293 §3.10.7.4 second, CLOSE-WAIT: the reset reaches the owner.
TEST(ResetIn, CloseWaitRstResets) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Events();
  h.Inject(Rst().Seq(2));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.4 second, FIN-WAIT-1/FIN-WAIT-2: reset, the owner is told.
TEST(ResetIn, FinWait2RstResets) {
  Harness h;
  h.EstablishPassive();
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2));
  h.Inject(Rst().Seq(1));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.4 second, LAST-ACK: "enter the CLOSED state, delete the TCB".
TEST(ResetIn, LastAckRstCloses) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  h.Shutdown();
  h.Expect(Fin().Seq(1).Ack(2));
  h.Events();
  h.Inject(Rst().Seq(2));
  EXPECT_EQ(h.stack().connections(), 0u);
  h.Advance(10s);
  h.ExpectNothing();  // no FIN retransmission for the dead connection
}

// RFC 9293 §3.10.7.4 second: a reset connection stops everything: queued data is not
// retransmitted, and a later segment on the tuple meets CLOSED (§3.10.7.1).
TEST(ResetIn, ResetConnectionSendsNothingMore) {
  Harness h;
  h.stack_options().syn_cookies = false;  // so the listener answers a stray ACK with RST
  h.EstablishPassive();
  h.SendBytes(3000);
  h.Flush();
  h.Inject(Rst().Seq(1));
  EXPECT_EQ(h.Events(), Log({"closed reset"}));
  h.Advance(10s);
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(1).Data("x").NoTs());
  h.Expect(Rst().Seq(1));
}

// RFC 9293 §3.10.7.4 second: a RST outside the window is dropped silently (RFC 5961 §3.2,
// first bullet: "silently drop").
TEST(ResetIn, RstOutsideWindowIsIgnored) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Rst().Seq(1 + 1'000'000));
  h.Inject(Rst().Seq(0));  // just below RCV.NXT
  h.ExpectNothing();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
}

// RFC 9293 §3.10.7.4 second, SYN-RECEIVED from an active open (simultaneous open): "the
// connection was refused, signal the user".
TEST(ResetIn, SimultaneousOpenRstIsRefused) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Rst().Seq(1));
  EXPECT_EQ(h.Events(), Log({"closed refused"}));
  EXPECT_EQ(h.stack().connections(), 0u);
}

}  // namespace
}  // namespace ferry::tcp::packet
