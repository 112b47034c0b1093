// The harness itself: expectations that should fail do, and say why in a readable line; the
// relative sequence numbers and the byte patterns are what the scripts assume. (A packet test
// that cannot fail is a defect; these keep the harness honest.)
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace ferry::tcp::packet {
namespace {

TEST(Harness, MismatchPrintsBothSegments) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  EXPECT_NONFATAL_FAILURE(h.Expect(SynAck().Seq(0).Ack(2)),
                          "actual: 80>40000 S. seq 0 ack 1 win 65535 <mss 1460> len 0");
}

TEST(Harness, MismatchNamesTheFields) {
  Harness h;
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  EXPECT_NONFATAL_FAILURE(h.Expect(Ack().Seq(5).Ack(1).Win(1)), "differs in: flags, seq, win");
}

TEST(Harness, ExpectNothingFailsOnOutput) {
  Harness h;
  h.Inject(Syn().Seq(0));  // closed port: a RST comes back
  EXPECT_NONFATAL_FAILURE(h.ExpectNothing(), "expected no segment, but ferry sent");
}

TEST(Harness, ExpectFailsWhenNothingWasSent) {
  Harness h;
  h.Listen();
  EXPECT_NONFATAL_FAILURE(h.Expect(SynAck().Seq(0)), "but ferry sent nothing");
}

TEST(Harness, ExpectRetransmitRejectsNewData) {
  Harness h;
  h.EstablishPassive();
  h.Send("new");
  EXPECT_NONFATAL_FAILURE(h.ExpectRetransmit(Ack().Seq(1).Ack(1).Data("new")),
                          "expected a retransmission");
}

TEST(Harness, UnsetFieldsAreNotCheckedButPayloadIs) {
  Harness h;
  h.EstablishPassive();
  h.Send("abc");
  EXPECT_NONFATAL_FAILURE(h.Expect(Ack()), "differs in: len");
}

// The peer's numbers are relative to the ISN the harness picked, modulo 2^32.
TEST(Harness, RelativeNumbersWrap) {
  Harness h;
  h.SetPeerIsn(0xfffffffeu);
  h.Listen();
  h.Inject(Syn().Seq(0).Mss(1460).NoTs());
  std::optional<Captured> c = h.Take();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->ack, 0xffffffffu);
  EXPECT_EQ(c->seq, h.iss());
  EXPECT_EQ(h.Describe(*c).substr(0, 22), "80>40000 S. seq 0 ack ");
}

TEST(Harness, DescribeShowsWildcards) {
  Harness h;
  EXPECT_EQ(h.Describe(SynAck().Seq(0).Ack(1).Mss(1460).SackOk().TsEcr(100).Ws(7)),
            "80>40000 S.(P?) seq 0 ack 1 win * <mss 1460,sackOK,TS val * ecr 100,wscale 7> "
            "len 0");
}

TEST(Harness, PatternsDetectShiftedStreams) {
  EXPECT_NE(PeerPattern(0, 100), PeerPattern(1, 100));
  EXPECT_NE(PeerPattern(0, 100), PeerPattern(36, 100));
  EXPECT_NE(OwnerPattern(0, 100), PeerPattern(0, 100));
  EXPECT_EQ(PeerPattern(10, 5), PeerPattern(0, 15).substr(10));
}

}  // namespace
}  // namespace ferry::tcp::packet
