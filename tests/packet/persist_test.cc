// Zero windows: the sender's persist timer and window probes (RFC 9293 §3.8.6.1, RFC 1122
// §4.2.2.17), and the receiver's answers to probes.
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// A connection without timestamps or window scaling whose peer acknowledged the first 100
// bytes and closed its window; 100 more bytes wait to be sent.
void ZeroWindow(Harness& h) {
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false});
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(101).Win(0));
  h.Events();
  h.SendBytes(100);
}

// A window probe from ferry at snd_una (relative): either one octet of new data at SND.NXT
// (RFC 1122 §4.2.2.17: "probe ... containing one octet") or, Linux's form, an empty segment
// at SND.UNA - 1. Both elicit an ACK carrying the current window.
void ExpectProbe(Harness& h, uint32_t snd_una, std::source_location loc =
                                                   std::source_location::current()) {
  std::optional<Captured> c = h.Take();
  if (!c) {
    ADD_FAILURE_AT(loc.file_name(), loc.line()) << "no window probe";
    return;
  }
  const uint32_t seq = c->seq - h.iss();
  const bool one_octet = seq == snd_una && c->payload.size() == 1;
  const bool empty = seq == snd_una - 1 && c->payload.empty();
  EXPECT_TRUE((one_octet || empty) && (c->flags & TcpFlags::kAck) && !(c->flags & TcpFlags::kFin))
      << "not a window probe: " << h.Describe(*c);
}

// RFC 9293 §3.8.6.1: nothing beyond the window is sent while the window is zero, except the
// probes.
TEST(Persist, ZeroWindowStopsSending) {
  Harness h;
  ZeroWindow(h);
  h.ExpectNothing();
  EXPECT_EQ(h.tcb()->send_queued(), 100u);
}

// RFC 9293 §3.8.6.1 (SHLD-29): "the first zero-window probe when a zero window has existed
// for the retransmission timeout period".
TEST(Persist, FirstProbeAfterOneRto) {
  Harness h;
  ZeroWindow(h);
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), rto);
  ExpectProbe(h, 101);
  EXPECT_EQ(h.counter(TcpCounter::kPersistProbes), 1u);
}

// RFC 9293 §3.8.6.1 (SHLD-30) / RFC 1122 §4.2.2.17: "increase exponentially the interval
// between successive probes".
TEST(Persist, ProbeIntervalDoubles) {
  Harness h;
  ZeroWindow(h);
  const int64_t rto = Ms(h.tcb()->rtt().rto());
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(10s)), rto);
  ExpectProbe(h, 101);
  h.Inject(Ack().Seq(1).Ack(101).Win(0));
  std::vector<int64_t> intervals;
  for (int i = 0; i < 3; ++i) {
    intervals.push_back(Ms(h.AdvanceUntilOutput(60s)));
    ExpectProbe(h, 101);
    h.Inject(Ack().Seq(1).Ack(101).Win(0));
  }
  EXPECT_GE(intervals[0], rto);
  EXPECT_EQ(intervals[1], 2 * intervals[0]);
  EXPECT_EQ(intervals[2], 2 * intervals[1]);
}

// RFC 1122 §4.2.2.17: "the sending TCP MUST allow the connection to stay open as long as the
// receiving TCP continues to send acknowledgments in response to the probe segments" — even
// past the retransmission limit.
TEST(Persist, AnsweredProbesNeverTimeOut) {
  Harness h;
  h.stack_options().max_retransmissions = 2;
  ZeroWindow(h);
  for (int i = 0; i < 8; ++i) {
    h.AdvanceUntilOutput(120s);
    ExpectProbe(h, 101);
    h.Inject(Ack().Seq(1).Ack(101).Win(0));
  }
  EXPECT_TRUE(h.Events().empty());
  ASSERT_NE(h.tcb(), nullptr);
  EXPECT_EQ(h.tcb()->state(), TcpState::kEstablished);
}

// RFC 9293 §3.8.6.1: a window update reopens the window and the queued data goes at once.
TEST(Persist, WindowUpdateResumesSending) {
  Harness h;
  ZeroWindow(h);
  h.Advance(10ms);
  h.Inject(Ack().Seq(1).Ack(101).Win(65535));
  h.Expect(Ack().Seq(101).Ack(1).Len(100));
  h.ExpectNothing();
}

// RFC 9293 §3.8.6.1: the probe is what recovers from a lost window update: its ACK carries
// the open window, and sending resumes.
TEST(Persist, ProbeRecoversALostWindowUpdate) {
  Harness h;
  ZeroWindow(h);
  h.AdvanceUntilOutput(10s);
  std::optional<Captured> probe = h.Take();
  ASSERT_TRUE(probe.has_value());
  const uint32_t acked = 101 + static_cast<uint32_t>(probe->payload.size());
  h.Inject(Ack().Seq(1).Ack(acked).Win(65535));
  h.Expect(Ack().Seq(acked).Ack(1).Len(201 - acked));
  h.Inject(Ack().Seq(1).Ack(201));
  h.Advance(30s);
  h.ExpectNothing();
}

// RFC 9293 §3.8.6.1 (and §3.10.7.4 fifth): a window that shrinks to zero with data in flight
// leaves it in flight; the retransmission timer or the persist timer, never both, keeps the
// connection alive.
TEST(Persist, ZeroWindowWithDataInFlightStillRecovers) {
  Harness h;
  h.EstablishPassive(Peer{.ws = std::nullopt, .ts = false});
  h.SendBytes(300);
  h.Expect(Ack().Seq(1).Ack(1).Len(300));
  h.Inject(Ack().Seq(1).Ack(101).Win(0));  // 200 bytes in flight, window closed
  h.AdvanceUntilOutput(10s);
  ASSERT_GE(h.pending(), 1u) << "something must be sent to learn when the window opens";
  h.Flush();
  h.Inject(Ack().Seq(1).Ack(101).Win(1000));
  h.AdvanceUntilOutput(10s);
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->seq - h.iss(), 101u) << h.Describe(*c);
}

// ====================================== Receiving side ======================================

// An owner that reads nothing on its own and can hold 1000 bytes, on a listener whose
// receive window is that size too (so the SYN-ACK, sent before the owner is known, offers no
// more: see STACK_BUGS.md B4).
void SmallReceiver(Harness& h) {
  h.connection_options().receive_window = 1000;
  h.SetAutoRead(false);
  h.SetReceiveBuffer(1000);
  h.EstablishPassive(Peer{.ts = false});
}

// RFC 9293 §3.8.6.2.2 / §3.10.7.4: with the owner's buffer full, the ACK offers a zero window.
TEST(ZeroWindowReceiver, FullBufferOffersZeroWindow) {
  Harness h;
  SmallReceiver(h);
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  h.Advance(500ms);
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
  h.ExpectNothing();
}

// RFC 9293 §3.10.7.4 first: "If the RCV.WND is zero, no segments will be acceptable, but
// special allowance should be made to accept valid ACKs"; a probe beyond the window is not
// acceptable and gets an ACK with the (zero) window; its octet is not taken.
TEST(ZeroWindowReceiver, ProbeIsAnsweredWithZeroWindow) {
  Harness h;
  SmallReceiver(h);
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  h.Advance(500ms);
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
  h.Inject(Ack().Seq(1001).Ack(1).Len(1));
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
  h.Inject(Ack().Seq(1000).Ack(1));  // Linux's empty probe at RCV.NXT - 1
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
  EXPECT_EQ(h.Received().size(), 1000u);
}

// RFC 9293 §3.8.6.2.2: when the owner frees enough room, a window update is sent without
// waiting for the peer's probe.
TEST(ZeroWindowReceiver, ReadingOpensTheWindowWithAnUpdate) {
  Harness h;
  SmallReceiver(h);
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  h.Advance(500ms);
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
  h.Read();
  h.Expect(Ack().Seq(1).Ack(1001).Win(1000));
}

}  // namespace
}  // namespace ferry::tcp::packet
