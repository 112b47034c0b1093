// Data transfer: delivery and reassembly (RFC 9293 §3.10.7.4 first and seventh), the
// acknowledgment policy (RFC 9293 §3.8.6.3, RFC 5681 §4.2, RFC 1122 §4.2.3.2), zero-copy
// delivery (docs/tcp.md), and sending: the initial window (RFC 6928), slow start (RFC 5681
// §3.1, RFC 3465) and the send queue's cap (stack.h).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// ========================================= Delivery =========================================

// RFC 9293 §3.10.7.4 seventh: in-order text goes to the user, RCV.NXT advances.
TEST(Receive, InOrderDataIsDelivered) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("hello"));
  EXPECT_EQ(h.Events(), Log({"data 5"}));
  EXPECT_EQ(h.Deliveries(), std::vector<std::string>{"hello"});
  EXPECT_EQ(h.counter(TcpCounter::kBytesIn), 5u);
}

// docs/tcp.md "Zero copy": the payload is handed over in the mbuf it arrived in.
TEST(Receive, DeliveryIsZeroCopy) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Len(1000));
  ASSERT_NE(h.last_delivered_mbuf(), nullptr);
  EXPECT_EQ(h.last_delivered_mbuf(), h.last_injected_mbuf());
}

// RFC 9293 §3.10.7.4 seventh / RFC 2018 §4: segments arriving out of order are held and
// delivered in order once the hole is filled.
TEST(Receive, ReassemblyDeliversInOrder) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(201).Ack(1).Len(100));
  h.Inject(Ack().Seq(101).Ack(1).Len(100));
  EXPECT_TRUE(h.Events().empty());
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  EXPECT_EQ(h.Received(), PeerPattern(1, 300));
  EXPECT_EQ(h.counter(TcpCounter::kOutOfOrderSegments), 2u);
}

// docs/tcp.md / reassembly.h: out-of-order segments are held as the mbufs they arrived in
// (counted in mbufs_held) and leave the stack when delivered; nothing stays behind.
TEST(Receive, HeldSegmentsLeaveTheStackWhenDelivered) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(101).Ack(1).Len(100));
  h.Inject(Ack().Seq(301).Ack(1).Len(100));
  EXPECT_EQ(h.stack().mbufs_held(), 2u);
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(201).Ack(1).Len(100));
  EXPECT_EQ(h.stack().mbufs_held(), 0u);
  EXPECT_EQ(h.Received(), PeerPattern(1, 400));
}

// reassembly.h / StackOptions::reassembly_segments: the out-of-order queue is bounded; a
// segment beyond the bound is dropped and counted (the peer sends it again), and SACK
// reports only what is held (RFC 2018 §8: nothing SACKed was dropped).
TEST(Receive, ReassemblyQueueIsBounded) {
  Harness h;
  h.stack_options().reassembly_segments = 4;
  h.EstablishPassive();
  for (uint32_t i = 1; i <= 6; ++i) h.Inject(Ack().Seq(1 + 200 * i).Ack(1).Len(100));
  EXPECT_EQ(h.counter(TcpCounter::kReassemblyDrops), 2u);
  EXPECT_EQ(h.stack().mbufs_held(), 4u);
  while (std::optional<Captured> c = h.Take()) {
    for (size_t b = 0; b < c->options.sack_block_count; ++b) {
      EXPECT_LE(c->options.sack_blocks[b].right.raw() - h.peer_isn(), 901u)
          << "SACKed data that was dropped: " << h.Describe(*c);
    }
  }
  for (uint32_t i = 0; i <= 6; ++i) h.Inject(Ack().Seq(1 + 200 * i).Ack(1).Len(200));
  EXPECT_EQ(h.Received(), PeerPattern(1, 1400));
}

// RFC 9293 §3.10.7.4 first: "If a segment's contents straddle the boundary between old and
// new, only the new parts are processed": overlapping retransmissions deliver each byte once.
TEST(Receive, OverlapsDeliverEachByteOnce) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(51).Ack(1).Len(100));
  h.Inject(Ack().Seq(301).Ack(1).Len(100));
  h.Inject(Ack().Seq(251).Ack(1).Len(200));  // covers the queued 301..400
  h.Inject(Ack().Seq(120).Ack(1).Len(150));
  EXPECT_EQ(h.Received(), PeerPattern(1, 450));
}

// RFC 9293 §3.10.7.4 first: text beyond the right window edge is trimmed off; what fits is
// taken (and never more than the owner's space, events.h).
TEST(Receive, TextBeyondTheWindowIsTrimmed) {
  Harness h;
  h.connection_options().receive_window = 1000;  // the SYN-ACK's window (STACK_BUGS.md B4)
  h.SetAutoRead(false);
  h.SetReceiveBuffer(1000);
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Len(1460));
  EXPECT_EQ(h.Received(), PeerPattern(1, 1000));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(1001).Win(0));
}

// RFC 9293 §3.10.7.4 first: a segment wholly outside the window is not acceptable: ACK, drop.
TEST(Receive, SegmentBeyondTheWindowIsDroppedWithAck) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1 + 70000).Ack(1).Len(100));  // the window is 65535
  h.Expect(Ack().Seq(1).Ack(1));
  EXPECT_TRUE(h.Events().empty());
}

// RFC 9293 §3.4 (arithmetic modulo 2^32): a stream crossing sequence number 2^32 is received
// like any other.
TEST(Receive, SequenceNumbersWrapAround) {
  Harness h;
  h.SetPeerIsn(0xffffff00u);
  h.EstablishPassive();
  for (uint32_t i = 0; i < 5; ++i) h.Inject(Ack().Seq(1 + 100 * i).Ack(1).Len(100));
  EXPECT_EQ(h.Received(), PeerPattern(1, 500));
  h.Advance(100ms);
  std::optional<Captured> last;
  while (std::optional<Captured> c = h.Take()) last = c;
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ack, 0xffffff00u + 501);  // past 2^32
}

// RFC 9293 §3.4 and RFC 2018: out-of-order segments and SACK blocks across 2^32 work like
// anywhere else.
TEST(Receive, ReassemblyAcrossTheWrap) {
  Harness h;
  h.SetPeerIsn(0xffffff00u);
  h.EstablishPassive();
  h.Inject(Ack().Seq(301).Ack(1).Len(100));  // 0x2d..0x91: past the wrap
  h.Expect(Ack().Seq(1).Ack(1).Sack({{301, 401}}));
  h.Inject(Ack().Seq(101).Ack(1).Len(200));  // 0xffffff65..: straddles it
  h.Expect(Ack().Seq(1).Ack(1).Sack({{101, 401}}));
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(401).NoSack());
  EXPECT_EQ(h.Received(), PeerPattern(1, 400));
}

// RFC 9293 §3.10.7.3 fourth: after the SYN-ACK moves the connection to ESTABLISHED, "If
// there are other controls or text in the segment, then continue processing at the sixth
// step": data on a SYN-ACK is delivered and acknowledged (at once or delayed).
TEST(Receive, DataOnTheSynAck) {
  Harness h;
  ASSERT_NE(h.Connect(), nullptr);
  h.Expect(Syn().Seq(0));
  h.Inject(SynAck().Seq(0).Ack(1).Mss(1460).NoTs().Data("banner"));
  EXPECT_EQ(h.Events(), Log({"connected", "data 6"}));
  EXPECT_EQ(h.Received(), "banner");
  h.Advance(100ms);
  std::optional<Captured> last;
  while (std::optional<Captured> c = h.Take()) last = c;
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->ack - h.peer_isn(), 7u) << h.Describe(*last);
}

// RFC 9293 §3.10.7.4 sixth: URG is accepted and ignored (ferry does not implement urgent
// data, RFC 6093); the text is ordinary data.
TEST(Receive, UrgentDataIsOrdinaryData) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("abc").Urg(2));
  EXPECT_EQ(h.Received(), "abc");
}

// A long in-order transfer: everything arrives in order, and at least every second full
// segment is acknowledged.
TEST(Receive, BulkTransferIsDeliveredAndAcknowledged) {
  Harness h;
  h.EstablishPassive();
  constexpr uint32_t kSegments = 40;
  for (uint32_t i = 0; i < kSegments; ++i) {
    h.Inject(Ack().Seq(1 + i * kMssTs).Ack(1).Len(kMssTs));
  }
  EXPECT_EQ(h.Received(), PeerPattern(1, kSegments * kMssTs));
  EXPECT_EQ(h.pending(), kSegments / 2);
  uint32_t i = 2;
  while (std::optional<Captured> c = h.Take()) {
    EXPECT_EQ(c->ack - h.peer_isn(), 1 + i * kMssTs);
    i += 2;
  }
}

// events.h: a handler may Send from inside OnData (an echo): the reply carries the ACK, and
// no separate ACK follows (RFC 9293 §3.8.6.3: the ACK rides on the data).
TEST(Receive, EchoFromInsideOnData) {
  Harness h;
  h.EstablishPassive();
  h.on_event = [&h](const std::string& event) {
    if (event.starts_with("data")) h.Send(h.Deliveries().back());
  };
  h.Inject(Ack().Seq(1).Ack(1).Data("ping"));
  h.Expect(Ack().Seq(1).Ack(5).Data("ping"));
  h.Advance(100ms);
  h.ExpectNothing();
}

// events.h: Abort from inside OnData: a RST goes, no more events, the connection is gone
// (and stays valid until the event returns: no crash, nothing leaked).
TEST(Receive, AbortFromInsideOnData) {
  Harness h;
  h.EstablishPassive();
  h.on_event = [&h](const std::string& event) {
    if (event.starts_with("data")) h.Abort();
  };
  h.Inject(Fin().Seq(1).Ack(1).Data("bye"));
  h.Expect(Rst().AckBitOptional().Seq(1));
  h.ExpectNothing();
  EXPECT_EQ(h.Events(), Log({"data 3"}));
  EXPECT_EQ(h.stack().connections(), 0u);
}

// ====================================== Acknowledgments ======================================

// RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: a lone segment's ACK may be delayed, by at most
// StackOptions::delayed_ack (40 ms; the RFC's bound is 0.5 s).
TEST(DelayedAck, LoneSegmentIsAckedAfterTheDelay) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("hi"));
  h.ExpectNothing();
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(1s)), 40);
  h.Expect(Ack().Seq(1).Ack(3));
}

// StackOptions::delayed_ack is the configured delay.
TEST(DelayedAck, DelayIsConfigurable) {
  Harness h;
  h.stack_options().delayed_ack = 100ms;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("hi"));
  EXPECT_EQ(Ms(h.AdvanceUntilOutput(1s)), 100);
  h.Expect(Ack().Seq(1).Ack(3));
}

// RFC 5681 §4.2 / RFC 9293 §3.8.6.3 (SHLD-19): "an ACK SHOULD be generated for at least
// every second full-sized segment".
TEST(DelayedAck, EverySecondFullSegmentIsAckedAtOnce) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Len(kMssTs));
  h.ExpectNothing();
  h.Inject(Ack().Seq(1 + kMssTs).Ack(1).Len(kMssTs));
  h.Expect(Ack().Seq(1).Ack(1 + 2 * kMssTs));
  h.Inject(Ack().Seq(1 + 2 * kMssTs).Ack(1).Len(kMssTs));
  h.ExpectNothing();
}

// RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
// segment arrives", with SACK information (RFC 2018 §4).
TEST(DelayedAck, OutOfOrderSegmentIsAckedAtOnce) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1 + kMssTs).Ack(1).Len(kMssTs));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{1 + kMssTs, 1 + 2 * kMssTs}}));
}

// RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate ACK when the incoming segment
// fills in all or part of a gap in the sequence space."
TEST(DelayedAck, SegmentFillingTheHoleIsAckedAtOnce) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(101).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{101, 201}}));
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(201).NoSack());
}

// RFC 9293 §3.10.7.4 first: a duplicate (already received) segment is not acceptable and is
// answered with an ACK at once (it tells the peer its retransmission was needless).
TEST(DelayedAck, DuplicateSegmentIsAckedAtOnce) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Advance(100ms);
  h.Expect(Ack().Seq(1).Ack(101));
  h.Inject(Ack().Seq(1).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(101));
  EXPECT_EQ(h.Received().size(), 100u);
}

// RFC 9293 §3.8.6.3: data going the other way carries the ACK; no separate ACK follows.
TEST(DelayedAck, AckRidesOnOutgoingData) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("request"));
  h.Send("response");
  h.Expect(Ack().Seq(1).Ack(8).Data("response"));
  h.Advance(150ms);  // past the delayed-ACK timeout, short of the RTO
  h.ExpectNothing();
}

// RFC 9293 §3.8.6.3: a pure ACK (no data) is not acknowledged.
TEST(DelayedAck, PureAcksAreNotAcknowledged) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(100);
  h.Expect(Ack().Seq(1).Ack(1).Len(100));
  h.Inject(Ack().Seq(1).Ack(101));
  h.Advance(500ms);
  h.ExpectNothing();
}

// ========================================== Sending ==========================================

// RFC 6928 §2: IW = min(10 * MSS, max(2 * MSS, 14600)): ten full segments, then wait.
TEST(Send, InitialWindowIsTenSegments) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(20 * kMss);
  for (uint32_t i = 0; i < 10; ++i) h.Expect(Ack().Seq(1 + i * kMss).Ack(1).Len(kMss));
  h.ExpectNothing();
}

// RFC 5681 §3.1 slow start with RFC 3465 byte counting (L = 1 SMSS): each ACK of one full
// segment grows cwnd by one SMSS, so it releases two segments.
TEST(Send, SlowStartReleasesTwoSegmentsPerAck) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(40 * kMss);
  for (uint32_t i = 0; i < 10; ++i) h.Expect(Ack().Seq(1 + i * kMss).Ack(1).Len(kMss));
  uint32_t next = 10;
  for (uint32_t acked = 1; acked <= 5; ++acked) {
    h.Inject(Ack().Seq(1).Ack(1 + acked * kMss));
    h.Expect(Ack().Seq(1 + next * kMss).Ack(1).Len(kMss));
    h.Expect(Ack().Seq(1 + (next + 1) * kMss).Ack(1).Len(kMss));
    h.ExpectNothing();
    next += 2;
  }
}

// RFC 5681 §4.1: after an idle period longer than the RTO, cwnd restarts from at most the
// initial window.
TEST(Send, IdleConnectionRestartsFromTheInitialWindow) {
  Harness h;
  h.connection_options().congestion = CongestionAlgorithm::kNewReno;
  h.EstablishPassive(Peer{.ts = false});
  h.SendBytes(10 * kMss);
  for (uint32_t i = 0; i < 10; ++i) {
    h.Expect(Ack().Seq(1 + i * kMss).Ack(1).Len(kMss));
    h.Inject(Ack().Seq(1).Ack(1 + (i + 1) * kMss));
  }
  EXPECT_EQ(h.tcb()->congestion()->cwnd(), 20 * kMss);
  h.Advance(5s);
  h.SendBytes(30 * kMss);
  for (uint32_t i = 0; i < 10; ++i) h.Expect(Ack().Seq(1 + (10 + i) * kMss).Ack(1).Len(kMss));
  h.ExpectNothing();
}

// docs/tcp.md: sent data stays in the send queue (counted in mbufs_held) until it is
// acknowledged, then nothing is left.
TEST(Send, AcknowledgedDataLeavesTheStack) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(5000);
  h.Flush();
  EXPECT_GT(h.stack().mbufs_held(), 0u);
  h.Inject(Ack().Seq(1).Ack(5001));
  EXPECT_EQ(h.stack().mbufs_held(), 0u);
}

// RFC 9293 §3.4: connections are told apart by the 4-tuple; interleaved traffic on two of
// them never mixes.
TEST(Send, ConnectionsAreIndependent) {
  Harness h;
  h.EstablishPassive();
  h.UseFlow(kFerryPort, 40001);
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("to A").Port(kPeerPort));
  h.Inject(Ack().Seq(1).Ack(1).Data("to B").Port(40001));
  h.Inject(Ack().Seq(5).Ack(1).Data(" again").Port(kPeerPort));
  EXPECT_EQ(h.Received(), "to B");
  h.UseFlow(kFerryPort, kPeerPort);
  EXPECT_EQ(h.Received(), "to A again");
  h.Flush();  // ACKs (A's second segment is acknowledged at once: every second segment)
  h.Send("reply A");
  h.Expect(Ack().Seq(1).Ack(11).Data("reply A"));
}

// events.h: OnAcked reports the bytes each ACK frees from the send queue.
TEST(Send, AckedEventsReportBytes) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(3000);
  h.Flush();
  h.Inject(Ack().Seq(1).Ack(1001));
  h.Inject(Ack().Seq(1).Ack(3001));
  EXPECT_EQ(h.Events(), Log({"acked 1000", "acked 2000"}));
  EXPECT_EQ(h.tcb()->send_queued(), 0u);
}

// stack.h: Send takes what fits under ConnectionOptions::send_buffer and returns the count;
// acknowledged bytes make room again.
TEST(Send, SendBufferCapsWhatIsTaken) {
  Harness h;
  h.connection_options().send_buffer = 4000;
  h.EstablishPassive();
  EXPECT_EQ(h.tcb()->send_space(), 4000u);
  EXPECT_EQ(h.SendBytes(10000), 4000u);
  EXPECT_EQ(h.tcb()->send_space(), 0u);
  EXPECT_EQ(h.SendBytes(10), 0u);
  h.Flush();
  h.Inject(Ack().Seq(1).Ack(1001));
  EXPECT_EQ(h.tcb()->send_space(), 1000u);
}

// A long transfer to a peer that acknowledges every segment: every byte goes out once, in
// order (the harness checks each byte against what was queued), and the queue drains.
TEST(Send, BulkTransferDrains) {
  Harness h;
  h.EstablishPassive();
  constexpr uint32_t kBytes = 300'000;
  uint32_t queued = 0;
  uint32_t highest = 1;
  while (queued < kBytes || h.pending() > 0) {
    if (queued < kBytes) queued += h.SendBytes(std::min<uint32_t>(kBytes - queued, 65536));
    std::optional<Captured> c = h.Take();
    if (!c) {
      h.Advance(1ms);
      ASSERT_LT(Ms(h.elapsed()), 10'000) << "transfer stalled at " << highest;
      continue;
    }
    const uint32_t end = c->seq - h.iss() + static_cast<uint32_t>(c->payload.size());
    ASSERT_EQ(c->seq - h.iss(), highest) << "out of order or retransmitted: " << h.Describe(*c);
    highest = end;
    h.Inject(Ack().Seq(1).Ack(end));
  }
  EXPECT_EQ(highest, 1 + kBytes);
  EXPECT_EQ(h.tcb()->send_queued(), 0u);
  EXPECT_EQ(h.counter(TcpCounter::kRetransmits), 0u);
}

// docs/tcp.md: payload is sent from the queued mbufs by reference, so a retransmission reads
// the same bytes (checked by the harness) even though it is a new slice.
TEST(Send, RetransmissionReadsTheSameBytes) {
  Harness h;
  h.EstablishPassive();
  h.Send("zero copy bytes");
  h.Expect(Ack().Seq(1).Ack(1).Data("zero copy bytes"));
  h.AdvanceUntilOutput(10s);
  h.Expect(Ack().Seq(1).Ack(1).Data("zero copy bytes"));
}

}  // namespace
}  // namespace ferry::tcp::packet
