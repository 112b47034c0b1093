// SYN cookies (RFC 4987 §3.6; the layout in tcp/syn_cookie.h): when a listener's SYN backlog
// is full, a SYN is answered without keeping state; a valid cookie ACK builds the connection
// with the MSS from the cookie and window scale / SACK from the echoed timestamp.
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

constexpr uint16_t kB = 40001;  // the peer port that meets the full backlog
constexpr uint16_t kC = 40002;

// A listener with a backlog of one, filled by a half-open connection from kPeerPort. The
// default flow becomes kB's.
void FillBacklog(Harness& h) {
  h.stack_options().syn_backlog = 1;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  ASSERT_EQ(h.stack().connections(), 1u);
  h.UseFlow(kFerryPort, kB);
}

// RFC 4987 §3.6: with the backlog full, the SYN-ACK carries a cookie as its ISN and no TCB
// is made; our options are offered as usual (with timestamps, WS and SACK-permitted too).
TEST(SynCookie, FullBacklogAnswersWithACookie) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Win(65535).Mss(1460).SackOk().Ts(5000, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1460).SackOk().TsEcr(5000).Ws(0));
  EXPECT_EQ(h.stack().connections(), 1u) << "no state for a cookie";
  EXPECT_EQ(h.counter(TcpCounter::kCookiesSent), 1u);
  h.Advance(10s);
  while (std::optional<Captured> c = h.Take()) {
    EXPECT_EQ(c->remote_port, kPeerPort) << "a cookie SYN-ACK was retransmitted: "
                                         << h.Describe(*c);
  }
}

// RFC 4987 §3.6: the ACK that returns a valid cookie (SEG.ACK - 1) completes the passive open.
TEST(SynCookie, ValidCookieAckEstablishes) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ts(5000, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept"}));
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
  EXPECT_EQ(h.stack().connections(), 2u);
  EXPECT_EQ(h.counter(TcpCounter::kCookiesAccepted), 1u);
  h.Send("hi");
  h.Expect(Ack().Seq(1).Ack(1).Data("hi"));
}

// syn_cookie.h: the peer's window scale and SACK-permitted travel in our TSval's low bits
// and come back in the ACK's TSecr; the connection uses them.
TEST(SynCookie, TimestampCarriesWindowScaleAndSack) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ts(5000, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1).Win(100));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_TRUE(TcbInspector::ts_ok(*h.tcb()));
  EXPECT_TRUE(TcbInspector::sack_ok(*h.tcb()));
  EXPECT_TRUE(TcbInspector::wscale_ok(*h.tcb()));
  EXPECT_EQ(TcbInspector::snd_wscale(*h.tcb()), 7);
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 100u << 7);
  // SACK works: an out-of-order segment is reported.
  h.Inject(Ack().Seq(11).Ack(1).Data("later"));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{11, 16}}));
}

// syn_cookie.h (RFC 4987 §3.6's limitation): without timestamps the cookie cannot carry WS or
// SACK, so the SYN-ACK offers neither and the connection runs without them.
TEST(SynCookie, WithoutTimestampsNoWindowScaleNorSack) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ws(7).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1460).NoWs().NoSackOk().NoTs());
  h.Inject(Ack().Seq(1).Ack(1).Win(60000));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_FALSE(TcbInspector::wscale_ok(*h.tcb()));
  EXPECT_FALSE(TcbInspector::sack_ok(*h.tcb()));
  EXPECT_FALSE(TcbInspector::ts_ok(*h.tcb()));
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 60000u);
}

// syn_cookie.h: the cookie records the largest table MSS <= the peer's (1400 → 1380).
TEST(SynCookie, MssIsRoundedDownToTheTable) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1400).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_EQ(h.tcb()->mss(), 1380);
  h.SendBytes(3000);
  h.Expect(Ack().Seq(1).Ack(1).Len(1380));
}

// RFC 9293 §3.7.1 through the cookie: no MSS option means 536.
TEST(SynCookie, NoMssOptionMeans536) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).NoOpts());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_EQ(h.tcb()->mss(), 536);
}

// syn_cookie.h: an ACK whose cookie does not check out makes no connection and is counted.
TEST(SynCookie, WrongCookieIsRejected) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(2));
  h.Flush();  // a RST (RFC 9293 §3.10.7.2) is allowed
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.stack().connections(), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kCookiesRejected), 1u);
}

// syn_cookie.h: the cookie answers one SYN: its ISN is in the MAC, so an ACK with another
// SEG.SEQ - 1 fails.
TEST(SynCookie, CookieIsBoundToThePeersIsn) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(2).Ack(1));
  h.Flush();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.counter(TcpCounter::kCookiesRejected), 1u);
}

// syn_cookie.h: the cookie is bound to the 4-tuple: another peer port presenting it fails.
TEST(SynCookie, CookieIsBoundToTheTuple) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  const uint32_t cookie = h.iss();
  h.UseFlow(kFerryPort, kC);  // no ISS known here: .Ack is absolute
  h.Inject(Ack().AbsoluteSeq(h.peer_isn() + 1).Ack(cookie + 1));
  h.Flush();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.counter(TcpCounter::kCookiesAccepted), 0u);
}

// syn_cookie.h: a cookie is valid for the current and the previous 64 s period: an ACK
// 60 s later still works, one 130 s later does not.
TEST(SynCookie, CookieExpires) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Advance(130s, 1s);
  h.Flush();
  h.Inject(Ack().Seq(1).Ack(1));
  h.Flush();
  EXPECT_TRUE(h.Events().empty());
  EXPECT_EQ(h.counter(TcpCounter::kCookiesRejected), 1u);
}

TEST(SynCookie, CookieSurvivesAMinute) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Advance(60s, 1s);
  h.Flush();
  h.Inject(Ack().Seq(1).Ack(1));
  EXPECT_EQ(h.Events(), Log({"accept"}));
}

// events.h: data on the cookie ACK is delivered right after the accept.
TEST(SynCookie, DataOnTheCookieAckIsDelivered) {
  Harness h;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ts(5000, 0).Ws(7));
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1).Data("GET /"));
  EXPECT_EQ(h.Events(), Log({"accept", "data 5"}));
  EXPECT_EQ(h.Received(), "GET /");
}

// StackOptions::syn_cookies off: a SYN beyond the backlog is dropped and counted.
TEST(SynCookie, OffMeansDrop) {
  Harness h;
  h.stack_options().syn_cookies = false;
  FillBacklog(h);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kDropBacklogFull), 1u);
  EXPECT_EQ(h.counter(TcpCounter::kCookiesSent), 0u);
}

// The backlog counts SYN-RECEIVED connections only: once the first completes, the next SYN
// gets state (and SYN-ACK retransmissions) again.
TEST(SynCookie, BacklogFreesWhenTheHandshakeCompletes) {
  Harness h;
  FillBacklog(h);
  h.UseFlow(kFerryPort, kPeerPort);
  h.Inject(Ack().Seq(1).Ack(1));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  h.UseFlow(kFerryPort, kB);
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1));
  EXPECT_EQ(h.stack().connections(), 2u);
  EXPECT_EQ(h.counter(TcpCounter::kCookiesSent), 0u);
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(5s)), 1000) << "a stateful SYN-ACK is retransmitted";
}

}  // namespace
}  // namespace ferry::tcp::packet
