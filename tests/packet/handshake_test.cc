// Opening connections: LISTEN, SYN-SENT and SYN-RECEIVED (RFC 9293 §3.5, §3.10.7.2,
// §3.10.7.3), the options a SYN and SYN-ACK offer (RFC 7323, RFC 2018), and the SYN timers
// (RFC 6298 §2.1, §5.5).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// =================================== LISTEN → SYN-RECEIVED ===================================

// RFC 9293 §3.10.7.2 third: a SYN to a listener gets <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>;
// RFC 7323 §2.2 / §3.2 and RFC 2018 §2: WS, TS and SACK-permitted are answered because the SYN
// offered them; TSecr echoes the SYN's TSval; the SYN-ACK's window is never scaled.
TEST(Listen, SynGetsSynAckWithTheOptionsOffered) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Win(65535).Mss(1460).SackOk().Ts(100, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1).Win(65535).Mss(1460).SackOk().TsEcr(100).Ws(0).NoSack());
  h.ExpectNothing();
  EXPECT_EQ(h.stack().connections(), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsSynReceived), 1u);
  EXPECT_TRUE(h.Events().empty()) << "nothing is accepted before the handshake completes";
}

// RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: an acceptable ACK completes the passive open.
TEST(Listen, AckOfSynAckEstablishes) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept"}));
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kPassiveOpens), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsEstablished), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsSynReceived), 0u);
}

// RFC 7323 §2.2 ("MAY be sent in a <SYN,ACK> only if the corresponding option was received in
// the initial <SYN>"), §3.2 (likewise for TSopt), RFC 2018 §2 (SACK-permitted likewise).
TEST(Listen, SynAckOffersNothingThePeerDidNot) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Win(8192).Mss(1400).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1460).NoWs().NoSackOk().NoTs());
}

// RFC 9293 §3.7.1: the MSS option announces what we can receive (the stack's configured MSS,
// from the interface MTU), whatever the peer announced.
TEST(Listen, SynAckMssIsOursNotThePeers) {
  Harness h;
  h.stack_options().mss = 1400;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(9000).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1400));
}

// RFC 7323 §2.3: our shift is the smallest that can carry the receive window we offer.
TEST(Listen, WindowScaleIsSmallestShiftForTheReceiveWindow) {
  Harness h;
  h.connection_options().receive_window = 1 << 20;  // 65535 << 4 is just short of it
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).Ws(2).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Win(65535).Ws(5));
}

// RFC 6298 §2.1 (RTO starts at 1 s) and §5.5 (doubles on each expiry); RFC 9293 §3.8.1:
// the SYN-ACK is retransmitted unchanged.
TEST(Listen, SynAckRetransmittedWithExponentialBackoff) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1460));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 1000);
  h.ExpectRetransmit(SynAck().Seq(0).Ack(1).Mss(1460));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 2000);
  h.ExpectRetransmit(SynAck().Seq(0).Ack(1).Mss(1460));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 4000);
  h.ExpectRetransmit(SynAck().Seq(0).Ack(1).Mss(1460));
  EXPECT_GE(h.counter(TcpCounter::kRetransmits), 3u);
}

// RFC 9293 §3.8.3 (R2 for a SYN, here StackOptions::syn_retries): an unanswered SYN-ACK is
// given up, and the half-open connection disappears without a word to anyone.
TEST(Listen, SynReceivedGivenUpAfterSynRetries) {
  Harness h;
  h.stack_options().syn_retries = 2;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Advance(1s);
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Advance(2s);
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Advance(4s);
  h.Flush();  // a RST here is allowed, not required
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsSynReceived), 0u);
  EXPECT_TRUE(h.Events().empty());
  h.Advance(30s);
  h.ExpectNothing();
}

// RFC 9293 §3.10.7.2 third ("any other control or text should be queued for processing
// later"): RCV.NXT = SEG.SEQ + 1 before the SYN-ACK goes, so it acknowledges the SYN only.
// Data sent with the SYN is either kept for later or dropped; if the peer has to send it
// again, it is delivered exactly once.
TEST(Listen, SynWithDataAcknowledgesOnlyTheSyn) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs().Data("hello"));
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(6).Ack(1).Data("world"));  // the peer goes on; "hello" unacked
  h.Flush();
  h.Inject(Ack().Seq(1).Ack(1).Data("hello"));  // and retransmits it
  h.Flush();
  EXPECT_EQ(h.Received(), "helloworld");
}

// A retransmitted SYN (same ISN) in SYN-RECEIVED must not start another connection or change
// our ISS; Linux answers it with the SYN-ACK again, RFC 9293 §3.10.7.4 first (unacceptable
// segment) with an ACK. Either way the handshake then completes.
TEST(Listen, RetransmittedSynInSynReceivedKeepsTheSameIss) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Advance(100ms);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  std::optional<Captured> reply = h.Take();
  if (reply) {
    const bool synack = reply->flags == (TcpFlags::kSyn | TcpFlags::kAck) &&
                        reply->seq == h.iss() && reply->ack == h.peer_isn() + 1;
    const bool ack = reply->flags == TcpFlags::kAck && reply->seq == h.iss() + 1 &&
                     reply->ack == h.peer_isn() + 1;
    EXPECT_TRUE(synack || ack) << h.Describe(*reply);
  }
  EXPECT_EQ(h.iss_history().size(), 1u);
  EXPECT_EQ(h.stack().connections(), 1u);
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept"}));
}

// RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: "If the segment acknowledgment is not acceptable,
// form a reset segment <SEQ=SEG.ACK><CTL=RST>".
TEST(Listen, UnacceptableAckInSynReceivedGetsReset) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1000));
  h.Expect(Rst().Seq(1000));
  EXPECT_TRUE(h.Events().empty());
  h.Inject(Ack().Seq(1).Ack(1));  // the right ACK still completes it
  EXPECT_EQ(h.Events(), Log({"accept"}));
}

// RFC 9293 §3.10.7.4 fifth then seventh: the ACK that completes the handshake may carry
// data; events.h: it is delivered right after the accept.
TEST(Listen, ThirdAckWithDataIsDelivered) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1).Data("hello"));
  EXPECT_EQ(h.Events(), Log({"accept", "data 5"}));
  EXPECT_EQ(h.Received(), "hello");
}

// RFC 9293 §3.10.7.4 eighth: a FIN on the third ACK is processed in ESTABLISHED: the owner
// gets the connection and the peer's FIN, which is acknowledged (CLOSE-WAIT).
TEST(Listen, ThirdAckWithFin) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Fin().Seq(1).Ack(1));
  h.Expect(Ack().Seq(1).Ack(2));
  EXPECT_EQ(h.Events(), Log({"accept", "peer_fin"}));
  EXPECT_EQ(h.tcb()->state(), TcpState::kCloseWait);
}

// ConnectionOptions: window_scaling, timestamps and sack off mean none of them is offered or
// answered, whatever the peer offers (RFC 7323 and RFC 2018 make each optional).
TEST(Listen, OptionsTurnedOffAreNotNegotiated) {
  Harness h;
  h.connection_options().window_scaling = false;
  h.connection_options().timestamps = false;
  h.connection_options().sack = false;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ts(100, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1460).NoWs().NoTs().NoSackOk());
  h.Inject(Ack().Seq(1).Ack(1).NoTs());
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_FALSE(TcbInspector::ts_ok(*h.tcb()));
  EXPECT_FALSE(TcbInspector::sack_ok(*h.tcb()));
  EXPECT_FALSE(TcbInspector::wscale_ok(*h.tcb()));
}

// RFC 9293 §3.10.7.2 first: a RST to a listener is ignored.
TEST(Listen, RstToListenerIsIgnored) {
  Harness h;
  h.Listen();
  h.Inject(Rst().Seq(0));
  h.Inject(RstAck().Seq(0).Ack(77));
  h.ExpectNothing();
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.2 second: an ACK to a listener (no connection, and it is no SYN cookie)
// gets <SEQ=SEG.ACK><CTL=RST>.
TEST(Listen, AckToListenerGetsReset) {
  Harness h;
  h.stack_options().syn_cookies = false;
  h.Listen();
  h.Inject(Ack().Seq(5).Ack(12345));
  h.Expect(Rst().Seq(12345).NoOpts());
  EXPECT_EQ(h.stack().connections(), 0u);
}

// events.h: an owner that refuses a connection in OnAccept gets it reset.
TEST(Listen, RefusedAcceptIsReset) {
  Harness h;
  h.SetRefuseAccept(true);
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept refused"}));
  h.Expect(Rst().Seq(1));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// Listen's documented errors: the same port twice is AlreadyExists; StopListening ends new
// opens (a SYN then meets a closed port, RFC 9293 §3.10.7.1).
TEST(Listen, ListenTwiceFailsAndStopListeningClosesThePort) {
  Harness h;
  h.Listen();
  EXPECT_EQ(h.stack().Listen(kFerryIp, kFerryPort, h.connection_options(), &h).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(h.stack().Listen(kFerryIp, 81, h.connection_options(), nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.stack().StopListening(kFerryIp, kFerryPort).ok());
  EXPECT_EQ(h.stack().StopListening(kFerryIp, kFerryPort).code(), absl::StatusCode::kNotFound);
  h.Inject(Syn().Seq(0).NoTs());
  h.Expect(RstAck().Seq(0).Ack(1));
}

// StackOptions::max_connections: with every TCB in use a SYN makes no connection (a SYN
// cookie, which needs no TCB, or a drop counted as table full), and Connect fails with
// kNoTcb.
TEST(Listen, FullTableMakesNoConnection) {
  Harness h;
  h.stack_options().max_connections = 1;
  h.EstablishPassive();
  h.UseFlow(kFerryPort, 40001);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  EXPECT_EQ(h.stack().connections(), 1u);
  if (h.pending() == 0) {
    EXPECT_EQ(h.counter(TcpCounter::kDropTableFull), 1u);
  } else {
    h.Expect(SynAck().Seq(0).Ack(1));
    EXPECT_EQ(h.counter(TcpCounter::kCookiesSent), 1u);
  }
  ConnectError error = ConnectError::kOk;
  const FourTuple tuple{kFerryIp, kPeerIp, 45000, kFerryPort};
  EXPECT_EQ(h.stack().Connect(tuple, h.connection_options(), &h, h.now(), &error), nullptr);
  EXPECT_EQ(error, ConnectError::kNoTcb);
}

// A listener on 0.0.0.0 accepts on any of our addresses.
TEST(Listen, WildcardAddressAccepts) {
  Harness h;
  ASSERT_TRUE(h.stack().Listen(net::Ipv4Address(), kFerryPort, h.connection_options(), &h).ok());
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
}

// ========================================= SYN-SENT =========================================

// RFC 9293 §3.10.1 OPEN: <SEQ=ISS><CTL=SYN>, offering MSS, SACK-permitted, TS (TSecr 0,
// RFC 7323 §3.2) and WS.
TEST(SynSent, ConnectSendsSynWithOptions) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0).Win(65535).Mss(1460).SackOk().TsEcr(0).Ws(0).NoSack());
  h.ExpectNothing();
  EXPECT_EQ(h.tcb()->state(), TcpState::kSynSent);
  EXPECT_EQ(h.counter(TcpCounter::kActiveOpens), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsSynSent), 1u);
}

// RFC 9293 §3.10.7.3 fourth: a SYN-ACK acknowledging our SYN moves to ESTABLISHED and is
// acknowledged with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; TSecr echoes the peer's TSval.
TEST(SynSent, SynAckEstablishesAndIsAcknowledged) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(SynAck().Seq(0).Ack(1).Win(65535).Mss(1460).SackOk().Ts(500, h.last_tsval()).Ws(7));
  h.Expect(Ack().Seq(1).Ack(1).Win(65535).TsEcr(500).NoSack());
  EXPECT_EQ(h.Events(), Log({"connected"}));
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
  EXPECT_EQ(TcbInspector::snd_wscale(*h.tcb()), 7);
  EXPECT_TRUE(TcbInspector::sack_ok(*h.tcb()));
  EXPECT_TRUE(TcbInspector::ts_ok(*h.tcb()));
}

// ConnectionOptions off on an active open: the SYN offers only the MSS.
TEST(SynSent, OptionsTurnedOffAreNotOffered) {
  Harness h;
  h.connection_options().window_scaling = false;
  h.connection_options().timestamps = false;
  h.connection_options().sack = false;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0).Mss(1460).NoWs().NoTs().NoSackOk());
}

// RFC 6298 §2.1 and §5.5: the SYN is retransmitted after 1 s, then 2 s, then 4 s.
TEST(SynSent, SynRetransmittedWithExponentialBackoff) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 1000);
  h.ExpectRetransmit(Syn().Seq(0).Mss(1460));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 2000);
  h.ExpectRetransmit(Syn().Seq(0).Mss(1460));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), 4000);
  h.ExpectRetransmit(Syn().Seq(0).Mss(1460));
}

// RFC 9293 §3.8.3 R2 for SYNs (StackOptions::syn_retries): the owner hears kTimedOut.
TEST(SynSent, SynRetriesExhaustedTimesOut) {
  Harness h;
  h.stack_options().syn_retries = 2;
  ASSERT_NE(h.Connect(), nullptr);
  h.Advance(1s + 2s + 4s);
  EXPECT_EQ(h.Events(), Log({"closed timed_out"}));
  h.Flush();
  EXPECT_EQ(h.stack().connections(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kConnectionsSynSent), 0u);
}

// RFC 9293 §3.10.7.3 second: a RST with an acceptable ACK resets the connection
// ("connection reset"; for an active open, refused).
TEST(SynSent, RstWithAcceptableAckIsRefused) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(RstAck().Seq(0).Ack(1));
  EXPECT_EQ(h.Events(), Log({"closed refused"}));
  h.ExpectNothing();
  EXPECT_EQ(h.stack().connections(), 0u);
}

// RFC 9293 §3.10.7.3 first: an unacceptable ACK on a RST drops the segment; RFC 5961 §3.2
// (via §3.10.7.3 second): a RST without ACK in SYN-SENT is dropped too.
TEST(SynSent, RstWithoutAcceptableAckIsIgnored) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(RstAck().Seq(0).Ack(5));
  h.Inject(Rst().Seq(0));
  h.ExpectNothing();
  EXPECT_TRUE(h.Events().empty());
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kSynSent);
}

// RFC 9293 §3.10.7.3 first: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
// <SEQ=SEG.ACK><CTL=RST>" and drop it; the connection stays in SYN-SENT. The first time, the
// SYN goes again at once (stack: the peer held an older incarnation, which the RST clears);
// after that the retransmission timer decides.
TEST(SynSent, SynAckWithBadAckGetsReset) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(SynAck().Seq(0).Ack(100).Mss(1460).NoTs());
  h.Expect(Rst().Seq(100).NoOpts());
  h.ExpectRetransmit(Syn().Seq(0));
  h.Inject(SynAck().Seq(0).Ack(0).Mss(1460).NoTs());  // SEG.ACK =< ISS
  h.Expect(Rst().Seq(0).NoOpts());
  h.ExpectNothing();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.tcb()->state(), TcpState::kSynSent);
  h.Inject(SynAck().Seq(0).Ack(1).Mss(1460).NoTs());
  h.Expect(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"connected"}));
}

// A peer that still holds this tuple from an older connection (TIME-WAIT after our restart,
// RFC 6191's conditions unmet) answers our SYN with an ACK of that connection: RST
// <SEQ=SEG.ACK> (RFC 9293 §3.10.7.3 first) clears it, and the SYN goes again at once instead
// of after the retransmission timeout, so the connect is not a second late.
TEST(SynSent, AckOfAnOlderIncarnationGetsResetAndTheSynAgain) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(Ack().AbsoluteSeq(777).Ack(0x4000).NoTs());
  h.Expect(Rst().Seq(0x4000).NoOpts());
  h.ExpectRetransmit(Syn().Seq(0));
  h.Inject(SynAck().Seq(0).Ack(1).Mss(1460).NoTs());
  h.Expect(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"connected"}));
}

// RFC 9293 §3.10.7.3 fourth, "Otherwise": a SYN without ACK in SYN-SENT is a simultaneous
// open: SYN-RECEIVED and <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; its ACK completes the open.
TEST(SynSent, SimultaneousOpen) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  EXPECT_EQ(h.tcb()->state(), TcpState::kSynReceived);
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"connected"}));
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
}

// RFC 9293 §3.10.7.3: a segment with neither SYN nor RST in SYN-SENT is dropped (an ACK
// with a bad ack number gets a reset first, above).
TEST(SynSent, PlainAckIsDropped) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(Ack().Seq(0).Ack(1));
  h.ExpectNothing();
  EXPECT_EQ(h.tcb()->state(), TcpState::kSynSent);
}

// stack.h: Connect on a tuple in use fails with kTupleInUse; the first is untouched.
TEST(SynSent, ConnectOnATupleInUseFails) {
  Harness h;
  ASSERT_NE(h.Connect(kFerryPort, 45000), nullptr);
  h.Expect(Syn().Seq(0));
  ConnectError error = ConnectError::kOk;
  const FourTuple tuple{kFerryIp, kPeerIp, 45000, kFerryPort};
  EXPECT_EQ(h.stack().Connect(tuple, h.connection_options(), &h, h.now(), &error), nullptr);
  EXPECT_EQ(error, ConnectError::kTupleInUse);
  h.ExpectNothing();
}

// stack.h: local port 0 picks an ephemeral port in [ephemeral_first, ephemeral_last].
TEST(SynSent, EphemeralPortChosenInRange) {
  Harness h;
  Tcb* t = h.Connect(kFerryPort, 0);
  ASSERT_NE(t, nullptr);
  EXPECT_GE(t->tuple().local_port, h.stack().options().ephemeral_first);
  EXPECT_LE(t->tuple().local_port, h.stack().options().ephemeral_last);
  h.Expect(Syn().Seq(0).Ports(t->tuple().local_port, kFerryPort));
}

// RFC 9293 §3.10.2 SEND in SYN-SENT: "Queue the data for transmission after entering
// ESTABLISHED state"; nothing rides on the SYN.
TEST(SynSent, DataQueuedBeforeEstablishedGoesAfterTheHandshake) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  EXPECT_EQ(h.Send("early"), 5u);
  h.ExpectNothing();
  h.Inject(SynAck().Seq(0).Ack(1).Mss(1460).NoTs());
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  if (c->payload.empty()) {
    EXPECT_EQ(c->seq - h.iss(), 1u) << h.Describe(*c);
    h.Expect(Ack().Seq(1).Ack(1).Data("early"));
  } else {
    EXPECT_EQ(c->payload, "early") << h.Describe(*c);
    EXPECT_EQ(c->ack - h.peer_isn(), 1u) << h.Describe(*c);
  }
}

// RFC 6528 / RFC 9293 §3.4.1: ISNs differ per 4-tuple (keyed hash), so two connections at
// the same instant do not start at the same sequence number.
TEST(SynSent, IssDiffersPerTuple) {
  Harness h;
  ASSERT_NE(h.Connect(kFerryPort, 45000), nullptr);
  h.Expect(Syn().Seq(0));
  const uint32_t first = h.iss();
  ASSERT_NE(h.Connect(kFerryPort, 45001), nullptr);
  h.Expect(Syn().Seq(0).Ports(45001, kFerryPort));
  EXPECT_NE(first, h.iss());
}

}  // namespace
}  // namespace ferry::tcp::packet
