// TCP options on the wire: the MSS we send with (RFC 9293 §3.7.1, RFC 6691), malformed option
// areas (RFC 9293 §3.1-3.2, MUST-7, MUST-68), the layout ferry emits (options.h: Linux's),
// SACK blocks (RFC 2018 §3-4), and other segments dropped before any connection sees them
// (bad checksum, impossible flags).
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

// =================================== MSS (RFC 9293 §3.7.1) ===================================

// RFC 9293 §3.7.1: Eff.snd.MSS = min(SendMSS + 20, MMS_S) - 20: a peer offering 9000 still
// gets segments that fit our own MTU (StackOptions::mss = 1460).
TEST(Mss, PeerMssAboveOursIsClamped) {
  Harness h;
  h.EstablishPassive(Peer{.mss = 9000, .ts = false});
  EXPECT_EQ(h.tcb()->mss(), 1460);
  h.SendBytes(5000);
  h.Expect(Ack().Seq(1).Ack(1).Len(1460));
}

// RFC 9293 §3.7.1: a smaller peer MSS bounds our segments.
TEST(Mss, PeerMssBelowOursIsUsed) {
  Harness h;
  h.EstablishPassive(Peer{.mss = 1000, .ts = false});
  EXPECT_EQ(h.tcb()->mss(), 1000);
  h.SendBytes(2500);
  h.Expect(Ack().Seq(1).Ack(1).Len(1000));
  h.Expect(Ack().Seq(1001).Ack(1).Len(1000));
  h.Expect(Ack().Seq(2001).Ack(1).Len(500));
}

// RFC 9293 §3.7.1 (MUST-15): "If an MSS Option is not received at connection setup, TCP
// implementations MUST assume a default send MSS of 536".
TEST(Mss, NoOptionMeans536) {
  Harness h;
  h.EstablishPassive(Peer{.mss = std::nullopt, .ts = false});
  EXPECT_EQ(h.tcb()->mss(), 536);
  h.SendBytes(1000);
  h.Expect(Ack().Seq(1).Ack(1).Len(536));
  h.Expect(Ack().Seq(537).Ack(1).Len(464));
}

// The same on an active open: the SYN-ACK's MSS option (or its absence) sets the send MSS.
TEST(Mss, SynAckMssAppliesToActiveOpens) {
  Harness h;
  h.EstablishActive(Peer{.mss = 1200, .ts = false});
  h.SendBytes(2000);
  h.Expect(Ack().Seq(1).Ack(1).Len(1200));
  h.Expect(Ack().Seq(1201).Ack(1).Len(800));
}

// RFC 6691 / RFC 9293 §3.7.1: the MSS excludes options, so the 12 bytes of timestamps on
// every segment come out of the payload (1448 for MSS 1460).
TEST(Mss, TimestampsComeOutOfThePayload) {
  Harness h;
  h.EstablishPassive();
  h.SendBytes(3000);
  h.Expect(Ack().Seq(1).Ack(1).Len(kMssTs));
  h.Expect(Ack().Seq(1 + kMssTs).Ack(1).Len(kMssTs));
  h.Expect(Ack().Seq(1 + 2 * kMssTs).Ack(1).Len(3000 - 2 * kMssTs));
}

// options.h: "Passed on as received, 0 included: the TCB clamps it": an MSS of 0 must not
// make segments of 0 bytes (no progress) nor above the default.
TEST(Mss, ZeroIsClampedToSomethingUsable) {
  Harness h;
  h.EstablishPassive(Peer{.mss = 0, .ts = false});
  EXPECT_GT(h.tcb()->mss(), 0);
  EXPECT_LE(h.tcb()->mss(), 536);
  h.SendBytes(100);
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_GT(c->payload.size(), 0u);
}

// RFC 9293 §3.2 (MUST-65: MSS only on SYNs): an MSS option on a later segment is ignored.
TEST(Mss, OptionOutsideSynIsIgnored) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).RawOptions({2, 4, 0, 100}));  // MSS 100
  EXPECT_EQ(h.tcb()->mss(), 1460);
}

// ========================== Malformed options (RFC 9293 §3.1, §3.2) ==========================

// RFC 9293 §3.1 (MUST-7: "be prepared to handle an illegal option length (e.g., zero)"): the
// segment is dropped, counted, and not answered.
TEST(MalformedOptions, ZeroLengthIsDropped) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).RawOptions({2, 0, 5, 180}));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kDropBadOptions), 1u);
  EXPECT_EQ(h.stack().connections(), 0u);
}

// options.h: an option running past the end of the options area.
TEST(MalformedOptions, TruncatedOptionIsDropped) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).RawOptions({1, 1, 8, 10}));  // TS claims 10 bytes, 2 are left
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kDropBadOptions), 1u);
}

// options.h: a known kind with a length its definition forbids (MSS is 4 bytes).
TEST(MalformedOptions, WrongLengthForAKnownKindIsDropped) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).RawOptions({2, 5, 5, 180, 0, 1, 1, 1}));
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kDropBadOptions), 1u);
}

// The same rules in an established connection: the segment is dropped, its data unseen.
TEST(MalformedOptions, DroppedInEstablishedToo) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  h.Inject(Ack().Seq(1).Ack(1).Data("evil").RawOptions({5, 1, 0, 0}));
  h.ExpectNothing();
  EXPECT_EQ(h.Received(), "");
  EXPECT_EQ(h.counter(TcpCounter::kDropBadOptions), 1u);
}

// RFC 9293 §3.2 (MUST-68, and "a TCP implementation MUST ignore without error any TCP option
// it does not implement"): a well-framed unknown option is skipped.
TEST(MalformedOptions, UnknownOptionIsSkipped) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).RawOptions({99, 4, 0xab, 0xcd, 2, 4, 0x03, 0xe8}));  // MSS 1000
  h.Expect(SynAck().Seq(0).Ack(1));
  h.Inject(Ack().Seq(1).Ack(1));
  ASSERT_EQ(h.Events(), Log({"accept"}));
  EXPECT_EQ(h.tcb()->mss(), 1000);
}

// RFC 9293 §3.2: End of Option List ends the list; what follows is padding, not read.
TEST(MalformedOptions, BytesAfterEndOfListAreIgnored) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).RawOptions({2, 4, 0x03, 0xe8, 0, 0xff, 0xff, 0xff}));
  h.Expect(SynAck().Seq(0).Ack(1));
  EXPECT_EQ(h.counter(TcpCounter::kDropBadOptions), 0u);
}

// RFC 9293 §3.2: options need not be aligned (NOPs are optional).
TEST(MalformedOptions, UnalignedOptionsAreFine) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).RawOptions({4, 2, 2, 4, 0x05, 0xb4, 3, 3, 2}));
  h.Expect(SynAck().Seq(0).Ack(1).Mss(1460).SackOk().Ws(0).NoTs());
}

// ============================== Other drops before a connection ==============================

// RFC 9293 §3.1: "a segment with a bad checksum is discarded", counted, not answered.
TEST(Drops, BadChecksumIsDiscarded) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(1).Ack(1).Data("corrupt").BadChecksum());
  h.Advance(100ms);
  h.ExpectNothing();
  EXPECT_EQ(h.Received(), "");
  EXPECT_EQ(h.counter(TcpCounter::kDropBadChecksum), 1u);
}

// segment.cc: SYN with FIN or RST, and segments with none of SYN, ACK, RST, are dropped and
// counted; no RST answers them (not even on a closed port).
TEST(Drops, ImpossibleFlagsAreDropped) {
  Harness h;
  h.Inject(Seg(TcpFlags::kSyn | TcpFlags::kFin).Seq(0));
  h.Inject(Seg(TcpFlags::kSyn | TcpFlags::kRst).Seq(0));
  h.Inject(Seg(TcpFlags::kFin | TcpFlags::kPsh | TcpFlags::kUrg).Seq(0));  // "Xmas"
  h.Inject(Seg(0).Seq(0));                                                  // null scan
  h.ExpectNothing();
  EXPECT_EQ(h.counter(TcpCounter::kDropBadFlags), 4u);
}

// ================================ Layout (options.h, Linux's) ================================

// options.h: a SYN-ACK answering every option is MSS, SACK-permitted+TS, NOP WS, as Linux
// writes it: 02 04 mss | 04 02 08 0a tsval tsecr | 01 03 03 shift.
TEST(Layout, SynAckLooksLikeLinux) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ts(100, 0).Ws(7));
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  const std::vector<uint8_t>& o = c->raw_options;
  ASSERT_EQ(o.size(), 20u);
  EXPECT_EQ(std::vector<uint8_t>(o.begin(), o.begin() + 4), (std::vector<uint8_t>{2, 4, 5, 180}));
  EXPECT_EQ(std::vector<uint8_t>(o.begin() + 4, o.begin() + 8),
            (std::vector<uint8_t>{4, 2, 8, 10}));
  EXPECT_EQ(std::vector<uint8_t>(o.begin() + 12, o.begin() + 16),
            (std::vector<uint8_t>{0, 0, 0, 100}));  // TSecr
  EXPECT_EQ(std::vector<uint8_t>(o.begin() + 16, o.end()), (std::vector<uint8_t>{1, 3, 3, 0}));
}

// options.h: without timestamps SACK-permitted is NOP NOP 04 02.
TEST(Layout, SynAckWithoutTimestamps) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).SackOk().Ws(7).NoTs());
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->raw_options,
            (std::vector<uint8_t>{2, 4, 5, 180, 1, 1, 4, 2, 1, 3, 3, 0}));
}

// options.h: data segments carry NOP NOP TS (12 bytes).
TEST(Layout, DataSegmentCarriesNopNopTimestamps) {
  Harness h;
  h.EstablishPassive();
  h.Send("x");
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->raw_options.size(), 12u);
  EXPECT_EQ(std::vector<uint8_t>(c->raw_options.begin(), c->raw_options.begin() + 4),
            (std::vector<uint8_t>{1, 1, 8, 10}));
}

// options.h / RFC 2018 §3: an ACK with SACK is NOP NOP TS, NOP NOP 05 len blocks.
TEST(Layout, SackFollowsTimestamps) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(101).Ack(1).Len(100));
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  const std::vector<uint8_t>& o = c->raw_options;
  ASSERT_EQ(o.size(), 24u);
  EXPECT_EQ(std::vector<uint8_t>(o.begin() + 12, o.begin() + 16),
            (std::vector<uint8_t>{1, 1, 5, 10}));
}

// ================================== SACK blocks (RFC 2018) ==================================

// RFC 2018 §3: with timestamps, at most 3 SACK blocks fit; the first is the most recent
// (§4), the rest the most recently reported ones.
TEST(SackBlocks, AtMostThreeWithTimestamps) {
  Harness h;
  h.EstablishPassive();
  for (uint32_t i = 1; i <= 4; ++i) {
    h.Inject(Ack().Seq(1 + 200 * i).Ack(1).Len(100));
    h.Flush();
  }
  h.Inject(Ack().Seq(1 + 200 * 5).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{1001, 1101}, {801, 901}, {601, 701}}));
}

// RFC 2018 §3: without timestamps 4 blocks fit.
TEST(SackBlocks, FourWithoutTimestamps) {
  Harness h;
  h.EstablishPassive(Peer{.ts = false});
  for (uint32_t i = 1; i <= 4; ++i) {
    h.Inject(Ack().Seq(1 + 200 * i).Ack(1).Len(100));
    if (i < 4) h.Flush();
  }
  h.Expect(Ack().Seq(1).Ack(1).Sack({{801, 901}, {601, 701}, {401, 501}, {201, 301}}));
}

// RFC 2018 §2: no SACK option towards a peer that did not send SACK-permitted.
TEST(SackBlocks, NoneWithoutPermission) {
  Harness h;
  h.EstablishPassive(Peer{.sack = false});
  h.Inject(Ack().Seq(101).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).NoSack());
}

// RFC 2018 §4: "the first SACK block ... MUST specify the contiguous block of data containing
// the segment which triggered this ACK"; adjacent queued segments are reported merged.
TEST(SackBlocks, FirstBlockHoldsTheTriggeringSegment) {
  Harness h;
  h.EstablishPassive();
  h.Inject(Ack().Seq(501).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{501, 601}}));
  h.Inject(Ack().Seq(201).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{201, 301}, {501, 601}}));
  h.Inject(Ack().Seq(601).Ack(1).Len(100));
  h.Expect(Ack().Seq(1).Ack(1).Sack({{501, 701}, {201, 301}}));
}

}  // namespace
}  // namespace ferry::tcp::packet
