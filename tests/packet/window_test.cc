// Windows: window scaling (RFC 7323 §2), the send window and its update rule (RFC 9293
// §3.10.7.4 fifth), silly window syndrome avoidance on both sides (RFC 9293 §3.8.6.2), the
// receive window offered from the owner's space, and Nagle (RFC 9293 §3.7.4, RFC 896).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// ================================= Window scaling (RFC 7323) =================================

// RFC 7323 §2.2-2.3: both sides sent WS, so windows after the SYN are scaled: ours by our
// shift (5 for a 1 MiB window), the peer's by its own.
TEST(WindowScale, NegotiatedBothWays) {
  Harness h;
  h.connection_options().receive_window = 1 << 20;
  h.Listen();
  h.Inject(Syn().Seq(0).Win(65535).Mss(1460).Ws(7).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Win(65535).Ws(5));
  h.Inject(Ack().Seq(1).Ack(1).Win(100));  // 100 << 7 = 12800 bytes
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_EQ(TcbInspector::rcv_wscale(*h.tcb()), 5);
  EXPECT_EQ(TcbInspector::snd_wscale(*h.tcb()), 7);
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 12800u);
  h.Inject(Ack().Seq(1).Ack(1).Data("x"));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(2).Win((1 << 20) >> 5));
}

// RFC 7323 §2.2: the peer's window is scaled by its shift: 100 << 7 bytes may be sent, and
// sender SWS avoidance (RFC 9293 §3.8.6.2.1) holds back the 1120-byte tail while more data
// is queued behind it.
TEST(WindowScale, PeerWindowIsScaled) {
  Harness h;
  h.EstablishPassive(Peer{.ws = 7, .ts = false, .win = 100});
  h.SendBytes(20000);
  for (uint32_t i = 0; i < 8; ++i) h.Expect(Ack().Seq(1 + i * kMss).Ack(1).Len(kMss));
  h.ExpectNothing();
}

// RFC 7323 §2.2: without the peer's WS neither side scales, and our SYN-ACK offers none.
TEST(WindowScale, NotUsedUnlessBothOffer) {
  Harness h;
  h.connection_options().receive_window = 1 << 20;
  h.Listen();
  h.Inject(Syn().Seq(0).Win(65535).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Win(65535).NoWs());
  h.Inject(Ack().Seq(1).Ack(1).Win(1000));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_FALSE(TcbInspector::wscale_ok(*h.tcb()));
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 1000u);
  h.Inject(Ack().Seq(1).Ack(1).Data("x"));
  h.Advance(100ms);
  // Unscaled, and the right edge stays put for one byte (receiver SWS, RFC 9293 §3.8.6.2.2).
  h.Expect(Ack().Seq(1).Ack(2).Win(65534));
}

// RFC 7323 §2.3: a shift above 14 "MUST use 14 instead".
TEST(WindowScale, ShiftAbove14IsTakenAs14) {
  Harness h;
  h.Listen();
  // MSS 1460, NOP, WS 15 (written as bytes: the emitter refuses shifts above 14).
  h.Inject(Syn().Seq(0).Win(65535).RawOptions({2, 4, 5, 180, 1, 3, 3, 15}));
  h.Expect(SynAck().Seq(0).Ack(1).Ws(0));
  h.Inject(Ack().Seq(1).Ack(1).Win(1));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_EQ(TcbInspector::snd_wscale(*h.tcb()), 14);
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 1u << 14);
}

// RFC 7323 §2.2: "The window field in a segment where the SYN bit is set MUST NOT be scaled":
// the peer's SYN window is taken as bytes.
TEST(WindowScale, SynWindowIsNotScaled) {
  Harness h;
  h.connection_options().congestion = CongestionAlgorithm::kNewReno;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(SynAck().Seq(0).Ack(1).Win(3000).Mss(1460).Ws(4).NoTs());
  h.Expect(Ack().Seq(1).Ack(1));
  ASSERT_EQ(h.Events(), Log({"connected"}));
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 3000u);
}

// RFC 7323 §2.2: a WS option on a non-SYN segment is ignored: the shift stays what the
// handshake set.
TEST(WindowScale, OptionOutsideSynIsIgnored) {
  Harness h;
  h.EstablishPassive(Peer{.ws = 2, .ts = false, .win = 1000});
  // NOP, WS 9 (a Seg's .Ws is not emitted outside a SYN, so write the bytes).
  h.Inject(Ack().Seq(1).Ack(1).Win(1000).RawOptions({1, 3, 3, 9}));
  EXPECT_EQ(TcbInspector::snd_wscale(*h.tcb()), 2);
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 4000u);
}

// ========================== Send window (RFC 9293 §3.10.7.4 fifth) ==========================

// RFC 9293 §3.8.6: no data beyond SND.UNA + SND.WND is sent.
TEST(SendWindow, DataStopsAtThePeersWindow) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 3000});
  h.SendBytes(2920);
  h.Expect(Ack().Seq(1).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1 + kMss).Ack(1).Len(kMss));
  h.SendBytes(1000);
  h.ExpectNothing() ;  // 80 bytes of window: less than half the largest window (SWS)
  h.Inject(Ack().Seq(1).Ack(2921).Win(3000));
  h.Expect(Ack().Seq(2921).Ack(1).Len(1000));
}

// RFC 9293 §3.10.7.4 fifth: "If SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =<
// SEG.ACK), set SND.WND <- SEG.WND": an old, reordered segment does not reopen a window a
// newer one closed.
TEST(SendWindow, OldSegmentDoesNotUpdateTheWindow) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 65535});
  h.Inject(Ack().Seq(1).Ack(1).Data("abc").Win(65535));
  h.Inject(Ack().Seq(4).Ack(1).Win(0));  // newer: window closed
  h.Inject(Ack().Seq(1).Ack(1).Win(65535));  // older (SEG.SEQ < SND.WL1): ignored
  h.Flush();
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 0u);
  h.SendBytes(100);
  h.ExpectNothing();
}

// RFC 9293 §3.10.7.4 fifth: a window update carried by a pure ACK with the same SEG.SEQ and
// SEG.ACK (SND.WL1 = SEG.SEQ, SND.WL2 =< SEG.ACK) is taken.
TEST(SendWindow, PureWindowUpdateIsTaken) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 1000});
  h.Inject(Ack().Seq(1).Ack(1).Win(5000));
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 5000u);
  h.Inject(Ack().Seq(1).Ack(1).Win(200));  // a shrinking window is still recorded
  EXPECT_EQ(TcbInspector::snd_wnd(*h.tcb()), 200u);
}

// RFC 9293 §3.8.6.2.1 sender SWS avoidance: with the usable window below both a full
// segment and half the largest window ever offered, and more queued than fits, wait.
TEST(SendWindow, SenderSwsWaitsForAUsefulWindow) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 10000});
  h.SendBytes(10000);
  for (uint32_t i = 0; i < 6; ++i) h.Expect(Ack().Seq(1 + i * kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1 + 6 * kMss).Ack(1).Len(10000 - 6 * kMss));
  h.SendBytes(5000);
  h.Inject(Ack().Seq(1).Ack(1001).Win(10000));  // 1000 bytes of window open
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(6001).Win(10000));  // 6000 open: full segments fit
  h.Expect(Ack().Seq(10001).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(10001 + kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(10001 + 2 * kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(10001 + 3 * kMss).Ack(1).Len(5000 - 3 * kMss));  // the rest: all queued
}

// RFC 9293 §3.8.6.2.1: a partial segment is sent when it holds all the queued data (the push
// case) even if the window is larger.
TEST(SendWindow, ShortSegmentWithAllQueuedDataGoesAtOnce) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false, .win = 65535});
  h.Send("tiny");
  h.Expect(Ack().Seq(1).Ack(1).Data("tiny"));
}

// =========================== Receive window (RFC 9293 §3.8.6.2.2) ===========================

// events.h / RFC 9293 §3.8.6.2.2: the window offered is at most what the owner can take
// (ReceiveSpace), from the SYN-ACK on.
TEST(ReceiveWindow, OfferedWindowIsTheOwnersSpace) {
  Harness h;
  h.SetReceiveBuffer(10000);
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  h.Expect(SynAck().Seq(0).Ack(1).Win(10000));
}

// events.h: "The stack never delivers more than the window it offered, and it offers at most
// ReceiveSpace()": an owner that can take 1000 bytes is never handed more.
TEST(ReceiveWindow, DeliveriesNeverExceedTheOwnersSpace) {
  Harness h;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(1000);
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  h.Inject(Ack().Seq(1001).Ack(1).Len(1000));
  EXPECT_LE(h.held(), 1000u);
}

// The tests below give the listener a receive_window equal to the owner's buffer, so the
// SYN-ACK's window matches it (B4).

// RFC 9293 §3.8.6.2.2: as data is held by the owner, the window offered shrinks from the
// right edge's point of view only by what was received (the edge stays put).
TEST(ReceiveWindow, HeldDataNarrowsTheWindowButNotTheEdge) {
  Harness h;
  h.connection_options().receive_window = 10000;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(10000);
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Len(kMss));
  h.Inject(Ack().Seq(1 + kMss).Ack(1).Len(kMss));
  h.Expect(Ack().Seq(1).Ack(1 + 2 * kMss).Win(10000 - 2 * kMss));
}

// RFC 9293 §3.8.6.2.2 ("the right window edge must not move to the left") and RFC 7323
// §2.4: when the owner's space drops below what was offered, the edge already advertised is
// kept.
TEST(ReceiveWindow, WindowIsNeverShrunk) {
  Harness h;
  h.connection_options().receive_window = 10000;
  h.SetReceiveBuffer(10000);
  h.EstablishPassive(Peer{.ts = false});
  h.SetReceiveBuffer(2000);  // the owner's space drops
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(1001).Win(9000));  // the right edge stays at 10001
}

// RFC 9293 §3.8.6.2.2 receiver SWS avoidance: the window is not opened in small steps; an
// owner freeing less than min(buffer / 2, MSS) sends no update.
TEST(ReceiveWindow, SmallReadsSendNoUpdate) {
  Harness h;
  h.connection_options().receive_window = 8000;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(8000);
  h.EstablishPassive(Peer{.ts = false});
  for (uint32_t i = 0; i < 8; ++i) h.Inject(Ack().Seq(1 + i * 1000).Ack(1).Len(1000));
  h.Advance(100ms);
  h.Flush();
  h.Read(100);
  h.ExpectNothing();
  h.Read(2900);
  h.Expect(Ack().Seq(1).Ack(8001).Win(3000));
}

// RFC 9293 §3.8.6.2.2: min(Fr * RCV.BUFF, Eff.snd.MSS) with Fr = 1/2: an owner whose whole
// buffer is smaller than an MSS still gets its window reopened (else the connection would
// stall for good), even on a listener whose receive_window is much larger.
TEST(ReceiveWindow, SmallBufferStillReopens) {
  Harness h;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(1000);
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
  h.Read();
  std::optional<Captured> update = h.Take();
  if (!update) {
    // No update on its own: then the answer to the peer's window probe must open it.
    h.Inject(Ack().Seq(1001).Ack(1).Len(1));
    update = h.Take();
  }
  ASSERT_TRUE(update.has_value());
  EXPECT_GE(update->window, 500u) << h.Describe(*update);
}

// ================================== Nagle (RFC 9293 §3.7.4) ==================================

// ConnectionOptions: Nagle is off by default: every small send goes out at once.
TEST(Nagle, OffByDefault) {
  Harness h;
  h.EstablishPassive();
  h.Send("a");
  h.Send("b");
  h.Send("c");
  h.Expect(Ack().Seq(1).Ack(1).Data("a"));
  h.Expect(Ack().Seq(2).Ack(1).Data("b"));
  h.Expect(Ack().Seq(3).Ack(1).Data("c"));
}

// RFC 9293 §3.7.4 (RFC 896): with Nagle on, a short segment waits while data is
// unacknowledged; the ACK releases what accumulated in one segment.
TEST(Nagle, SmallSegmentsWaitForTheAck) {
  Harness h;
  h.connection_options().nagle = true;
  h.EstablishPassive();
  h.Send("a");
  h.Expect(Ack().Seq(1).Ack(1).Data("a"));
  h.Send("b");
  h.Send("c");
  h.ExpectNothing();
  h.Inject(Ack().Seq(1).Ack(2));
  h.Expect(Ack().Seq(2).Ack(1).Data("bc"));
}

// RFC 9293 §3.7.4: Nagle never holds back a full-sized segment.
TEST(Nagle, FullSegmentsAreNotDelayed) {
  Harness h;
  h.connection_options().nagle = true;
  h.EstablishPassive();
  h.Send("a");
  h.Expect(Ack().Seq(1).Ack(1).Data("a"));
  h.SendBytes(kMssTs + 10);
  h.Expect(Ack().Seq(2).Ack(1).Len(kMssTs));
  h.ExpectNothing();  // the 10-byte tail waits
}

// RFC 9293 §3.7.4 and §3.10.4: a FIN is not held back by Nagle.
TEST(Nagle, FinIsNotDelayed) {
  Harness h;
  h.connection_options().nagle = true;
  h.EstablishPassive();
  h.Send("a");
  h.Expect(Ack().Seq(1).Ack(1).Data("a"));
  h.Shutdown();
  h.Expect(Fin().Seq(2).Ack(1));
}

}  // namespace
}  // namespace ferry::tcp::packet
