// SackScoreboard: RFC 6675 §4 worked examples (IsLost, Pipe, NextSeg step by step, at several
// places in sequence space including across 2^32), block validation (beyond snd_max,
// D-SACK, malformed), merging, cumulative-ACK trimming, the capacity limit, and a seeded
// random run against an octet-by-octet model of the RFC's definitions.
#include "tcp/sack_scoreboard.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::tcp {
namespace {

using Rule = SackScoreboard::NextSegment::Rule;

constexpr uint32_t kSmss = 1000;

SackBlock Block(Seq left, Seq right) { return SackBlock{left, right}; }
SackBlock Block(uint32_t left, uint32_t right) { return SackBlock{Seq(left), Seq(right)}; }

std::vector<SackBlock> Ranges(const SackScoreboard& sb) {
  return {sb.ranges().begin(), sb.ranges().end()};
}

// ---------------------------------------------------------------------------------------------
// Worked examples: ten segments of 1000 octets; segment k is [Left(k), Right(k)). Run at an
// ordinary ISS, just below 2^31 and just below 2^32 so that the flight straddles the wraps.

class SackWorkedExample : public ::testing::TestWithParam<uint32_t> {
 protected:
  Seq Left(int k) const { return Seq(GetParam()) + static_cast<uint32_t>(k - 1) * kSmss; }
  Seq Right(int k) const { return Left(k) + kSmss; }
  SackBlock Segs(int first, int last) const { return Block(Left(first), Right(last)); }

  // Segments 1 and 2 are acknowledged; 3..10 are outstanding; nothing left to send.
  Seq snd_una() const { return Left(3); }
  Seq snd_max() const { return Right(10); }

  uint32_t Sack(std::initializer_list<SackBlock> blocks) {
    return sb_
        .Update(snd_una(), std::span<const SackBlock>(blocks.begin(), blocks.size()), snd_max())
        .newly_sacked;
  }
  uint32_t Pipe(Seq high_rxt) const { return sb_.Pipe(snd_una(), snd_max(), high_rxt, kSmss); }
  SackScoreboard::NextSegment Next(Seq high_rxt, bool new_data = false, bool rescue = false) const {
    return sb_.NextSeg({.snd_una = snd_una(),
                        .snd_max = snd_max(),
                        .high_rxt = high_rxt,
                        .smss = kSmss,
                        .new_data_ready = new_data,
                        .rescue_allowed = rescue});
  }
  void ExpectNext(const SackScoreboard::NextSegment& n, Rule rule, Seq seq, uint32_t len) {
    EXPECT_EQ(n.rule, rule);
    EXPECT_EQ(n.seq, seq);
    EXPECT_EQ(n.len, len);
  }

  void SetUp() override { sb_.Reset(snd_una()); }

  SackScoreboard sb_;
};

INSTANTIATE_TEST_SUITE_P(AcrossSequenceSpace, SackWorkedExample,
                         ::testing::Values(1000u, 0x7fffe000u, 0xffffe000u, 0xfffffc18u));

// Segment 3 is lost; SACKs for 4, 4-5, ..., 4-10 arrive one per duplicate ACK.
TEST_P(SackWorkedExample, OneLossThenSacksForTheRest) {
  Seq high_rxt = snd_una();  // recovery not entered: nothing retransmitted
  EXPECT_EQ(Pipe(high_rxt), 8000u);
  EXPECT_FALSE(sb_.IsLost(Left(3), kSmss));
  EXPECT_EQ(Next(high_rxt).rule, Rule::kNone);
  EXPECT_EQ(sb_.HighestSacked(), snd_una());

  // First duplicate ACK, SACK 4.
  EXPECT_EQ(Sack({Segs(4, 4)}), 1000u);
  EXPECT_FALSE(sb_.IsLost(Left(3), kSmss));
  EXPECT_EQ(Pipe(high_rxt), 7000u);  // 3 and 5..10 still in the network
  // Not lost yet: rule 2 (new data) comes before rule 3 (unSACKed, not lost).
  EXPECT_EQ(Next(high_rxt, /*new_data=*/true).rule, Rule::kNewData);
  ExpectNext(Next(high_rxt), Rule::kUnsacked, Left(3), 1000);

  // Second, SACK 4-5: 2000 octets above 3 is not *more than* (DupThresh-1)*SMSS.
  EXPECT_EQ(Sack({Segs(4, 5)}), 1000u);
  EXPECT_FALSE(sb_.IsLost(Left(3), kSmss));
  EXPECT_EQ(Pipe(high_rxt), 6000u);

  // Third, SACK 4-6: three segments SACKed above 3, so it is lost.
  EXPECT_EQ(Sack({Segs(4, 6)}), 1000u);
  EXPECT_TRUE(sb_.IsLost(Left(3), kSmss));
  EXPECT_TRUE(sb_.IsLost(Right(3) - 1, kSmss));  // every octet of the hole
  EXPECT_FALSE(sb_.IsLost(Left(7), kSmss));      // nothing SACKed above 7
  EXPECT_FALSE(sb_.IsLost(Left(5), kSmss));      // SACKed
  EXPECT_EQ(Pipe(high_rxt), 4000u);              // 7..10 only; 3 is lost
  // Rule 1 wins over new data.
  ExpectNext(Next(high_rxt, /*new_data=*/true), Rule::kLost, Left(3), 1000);

  // The TCB retransmits 3 (RFC 6675 §5: HighRxt moves past it).
  high_rxt = Right(3);
  EXPECT_EQ(Pipe(high_rxt), 5000u);  // the retransmission is in the network too
  EXPECT_EQ(Next(high_rxt).rule, Rule::kNone);
  EXPECT_EQ(Next(high_rxt, /*new_data=*/true).rule, Rule::kNewData);

  // The rest of the flight's SACKs arrive; pipe drains to the retransmission alone.
  for (int k = 7; k <= 10; ++k) {
    EXPECT_EQ(Sack({Segs(4, k)}), 1000u) << k;
    EXPECT_EQ(Pipe(high_rxt), (10u - k) * 1000u + 1000u) << k;
    EXPECT_EQ(Next(high_rxt).rule, Rule::kNone) << k;
  }
  EXPECT_EQ(sb_.SackedBytes(), 7000u);
  EXPECT_EQ(sb_.HighestSacked(), snd_max());
  EXPECT_EQ(Ranges(sb_), std::vector<SackBlock>{Segs(4, 10)});

  // The retransmission arrives: everything is acknowledged.
  auto r = sb_.Update(snd_max(), {}, snd_max());
  EXPECT_EQ(r.sacked_now_acked, 7000u);
  EXPECT_EQ(r.newly_sacked, 0u);
  EXPECT_TRUE(sb_.empty());
  EXPECT_EQ(sb_.SackedBytes(), 0u);
  EXPECT_EQ(sb_.Pipe(snd_max(), snd_max(), high_rxt, kSmss), 0u);
}

// Segments 3 and 5 lost: both holes are lost once 6..10 are SACKed; NextSeg takes them in
// order and then has nothing to retransmit.
TEST_P(SackWorkedExample, TwoLosses) {
  Sack({Segs(6, 10), Segs(4, 4)});
  EXPECT_EQ(Ranges(sb_), (std::vector<SackBlock>{Segs(4, 4), Segs(6, 10)}));
  EXPECT_TRUE(sb_.IsLost(Left(3), kSmss));
  EXPECT_TRUE(sb_.IsLost(Left(5), kSmss));

  Seq high_rxt = snd_una();
  EXPECT_EQ(Pipe(high_rxt), 0u);
  ExpectNext(Next(high_rxt, true), Rule::kLost, Left(3), 1000);
  high_rxt = Right(3);
  EXPECT_EQ(Pipe(high_rxt), 1000u);
  ExpectNext(Next(high_rxt, true), Rule::kLost, Left(5), 1000);
  high_rxt = Right(5);
  EXPECT_EQ(Pipe(high_rxt), 2000u);
  EXPECT_EQ(Next(high_rxt).rule, Rule::kNone);

  // The cumulative ACK moves to 5 (3 arrived): 4 leaves the board.
  auto r = sb_.Update(Left(5), {}, snd_max());
  EXPECT_EQ(r.sacked_now_acked, 1000u);
  EXPECT_EQ(Ranges(sb_), std::vector<SackBlock>{Segs(6, 10)});
  EXPECT_EQ(sb_.Pipe(Left(5), snd_max(), high_rxt, kSmss), 1000u);
}

// A hole wider than one segment is retransmitted SMSS at a time, never into SACKed data.
TEST_P(SackWorkedExample, WideHoleInSmssPieces) {
  Sack({Segs(6, 10)});  // 3, 4, 5 lost
  Seq high_rxt = snd_una();
  constexpr uint32_t kSmall = 1460;
  auto next = [&] {
    return sb_.NextSeg(
        {.snd_una = snd_una(), .snd_max = snd_max(), .high_rxt = high_rxt, .smss = kSmall});
  };
  ExpectNext(next(), Rule::kLost, Left(3), 1460);
  high_rxt = Left(3) + 1460;
  ExpectNext(next(), Rule::kLost, Left(3) + 1460, 1460);
  high_rxt = Left(3) + 2920;
  ExpectNext(next(), Rule::kLost, Left(3) + 2920, 80);
  high_rxt = Right(5);
  EXPECT_EQ(next().rule, Rule::kNone);
}

// An octet retransmitted before it was deemed lost (rule 3) counts twice in pipe (§4 SetPipe,
// note after (b)).
TEST_P(SackWorkedExample, RetransmittedButNotLostCountsTwice) {
  Sack({Segs(4, 4)});
  ExpectNext(Next(snd_una()), Rule::kUnsacked, Left(3), 1000);
  const Seq high_rxt = Right(3);
  EXPECT_EQ(Pipe(high_rxt), 1000u + 1000u + 6000u);
  // A stale high_rxt below snd_una counts nothing twice.
  EXPECT_EQ(Pipe(Left(1)), 7000u);
}

// Rule 4: once nothing below the highest SACK is left to retransmit and no new data can go,
// one rescue segment ending at the highest unSACKed octet.
TEST_P(SackWorkedExample, RescueRetransmission) {
  Sack({Segs(4, 6)});
  const Seq high_rxt = Right(3);  // 3 already retransmitted
  EXPECT_EQ(Next(high_rxt).rule, Rule::kNone);
  ExpectNext(Next(high_rxt, false, /*rescue=*/true), Rule::kRescue, Left(10), 1000);
  // New data, when it can go, comes first (rule 2 before rule 4).
  EXPECT_EQ(Next(high_rxt, true, true).rule, Rule::kNewData);

  // With the tail SACKed, the rescue ends just below it.
  Sack({Segs(9, 10), Segs(4, 6)});
  ExpectNext(Next(Right(8), false, true), Rule::kRescue, Left(8), 1000);
}

// ---------------------------------------------------------------------------------------------
// IsLost

TEST(SackScoreboardTest, IsLostByDiscontiguousRanges) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  // Small segments: two separate 100-octet SACKs above 0 are neither DupThresh ranges nor
  // more than 2 * SMSS octets.
  const SackBlock two[] = {Block(100u, 200u), Block(300u, 400u)};
  sb.Update(Seq(0), two, Seq(1000));
  EXPECT_FALSE(sb.IsLost(Seq(0), kSmss));
  // A third discontiguous one makes DupThresh.
  const SackBlock third[] = {Block(500u, 600u)};
  sb.Update(Seq(0), third, Seq(1000));
  EXPECT_TRUE(sb.IsLost(Seq(0), kSmss));
  EXPECT_TRUE(sb.IsLost(Seq(99), kSmss));
  EXPECT_FALSE(sb.IsLost(Seq(200), kSmss));  // two ranges above
  EXPECT_FALSE(sb.IsLost(Seq(100), kSmss));  // SACKed
  EXPECT_FALSE(sb.IsLost(Seq(700), kSmss));  // nothing above
}

TEST(SackScoreboardTest, IsLostByteRuleIsStrictlyMoreThan) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock exactly[] = {Block(1000u, 3000u)};
  sb.Update(Seq(0), exactly, Seq(10000));
  EXPECT_FALSE(sb.IsLost(Seq(0), kSmss));  // 2000 == (3-1)*1000
  const SackBlock one_more[] = {Block(3000u, 3001u)};
  sb.Update(Seq(0), one_more, Seq(10000));
  EXPECT_TRUE(sb.IsLost(Seq(0), kSmss));
  EXPECT_FALSE(sb.IsLost(Seq(0), 1001));  // the limit scales with SMSS
}

// ---------------------------------------------------------------------------------------------
// Merging and order

TEST(SackScoreboardTest, AdjacentBlocksMerge) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock a[] = {Block(10u, 20u)};
  const SackBlock b[] = {Block(20u, 30u)};
  const SackBlock c[] = {Block(0u, 10u)};
  EXPECT_EQ(sb.Update(Seq(0), a, Seq(100)).newly_sacked, 10u);
  EXPECT_EQ(sb.Update(Seq(0), b, Seq(100)).newly_sacked, 10u);
  EXPECT_EQ(sb.Update(Seq(0), c, Seq(100)).newly_sacked, 10u);
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(0u, 30u)});
  EXPECT_EQ(sb.SackedBytes(), 30u);
}

TEST(SackScoreboardTest, OverlappingBlocksCountOnlyNewOctets) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock first[] = {Block(10u, 30u)};
  const SackBlock overlap[] = {Block(20u, 40u)};
  const SackBlock inside[] = {Block(15u, 25u)};
  EXPECT_EQ(sb.Update(Seq(0), first, Seq(100)).newly_sacked, 20u);
  EXPECT_EQ(sb.Update(Seq(0), overlap, Seq(100)).newly_sacked, 10u);
  EXPECT_EQ(sb.Update(Seq(0), inside, Seq(100)).newly_sacked, 0u);
  EXPECT_EQ(sb.Update(Seq(0), first, Seq(100)).newly_sacked, 0u);  // repeated
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(10u, 40u)});
  EXPECT_EQ(sb.SackedBytes(), 30u);
}

TEST(SackScoreboardTest, BlockBridgingSeveralRangesFillsTheGaps) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock three[] = {Block(10u, 20u), Block(30u, 40u), Block(50u, 60u), Block(80u, 90u)};
  EXPECT_EQ(sb.Update(Seq(0), three, Seq(100)).newly_sacked, 40u);
  const SackBlock bridge[] = {Block(15u, 55u)};
  EXPECT_EQ(sb.Update(Seq(0), bridge, Seq(100)).newly_sacked, 20u);
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(10u, 60u), Block(80u, 90u)}));
  EXPECT_EQ(sb.SackedBytes(), 60u);
}

TEST(SackScoreboardTest, OutOfOrderBlocksAreSorted) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock blocks[] = {Block(50u, 60u), Block(10u, 20u), Block(70u, 75u), Block(30u, 40u)};
  EXPECT_EQ(sb.Update(Seq(0), blocks, Seq(100)).newly_sacked, 35u);
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(10u, 20u), Block(30u, 40u), Block(50u, 60u),
                                                Block(70u, 75u)}));
  EXPECT_EQ(sb.HighestSacked(), Seq(75));
  EXPECT_TRUE(sb.IsSacked(Seq(10)));
  EXPECT_TRUE(sb.IsSacked(Seq(19)));
  EXPECT_FALSE(sb.IsSacked(Seq(20)));
  EXPECT_FALSE(sb.IsSacked(Seq(9)));
  EXPECT_TRUE(sb.IsSacked(Seq(74)));
  EXPECT_FALSE(sb.IsSacked(Seq(75)));
}

// ---------------------------------------------------------------------------------------------
// Validation

TEST(SackScoreboardTest, BlocksBeyondSndMaxAreIgnored) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock blocks[] = {Block(50u, 101u), Block(200u, 300u), Block(90u, 100u)};
  auto r = sb.Update(Seq(0), blocks, Seq(100));
  EXPECT_EQ(r.invalid_blocks, 2u);
  EXPECT_EQ(r.newly_sacked, 10u);  // [90, 100) ends exactly at snd_max: fine
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(90u, 100u)});
}

TEST(SackScoreboardTest, MalformedBlocksAreIgnored) {
  SackScoreboard sb;
  sb.Reset(Seq(1000));
  const SackBlock blocks[] = {
      Block(1500u, 1500u),  // empty
      Block(1600u, 1500u),  // inverted
      Block(900u, 1100u),   // straddles snd_una, not first: not a D-SACK
  };
  auto r = sb.Update(Seq(1000), blocks, Seq(2000));
  EXPECT_EQ(r.invalid_blocks, 3u);
  EXPECT_FALSE(r.dsack);
  EXPECT_TRUE(sb.empty());
}

TEST(SackScoreboardTest, DsackBelowCumulativeAckIsIgnored) {
  SackScoreboard sb;
  sb.Reset(Seq(1000));
  // As in RFC 2883's examples: the duplicate [500, 1000) first, then an ordinary block.
  const SackBlock blocks[] = {Block(500u, 1000u), Block(1500u, 1600u)};
  auto r = sb.Update(Seq(1000), blocks, Seq(2000));
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.invalid_blocks, 0u);
  EXPECT_EQ(r.newly_sacked, 100u);
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(1500u, 1600u)});
  EXPECT_FALSE(sb.IsSacked(Seq(999)));
}

TEST(SackScoreboardTest, DsackInsideSecondBlock) {
  SackScoreboard sb;
  sb.Reset(Seq(1000));
  const SackBlock blocks[] = {Block(1500u, 1600u), Block(1400u, 1700u)};
  auto r = sb.Update(Seq(1000), blocks, Seq(2000));
  EXPECT_TRUE(r.dsack);
  EXPECT_EQ(r.newly_sacked, 300u);
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(1400u, 1700u)});
}

TEST(SackScoreboardTest, OnlyTheFirstBlockCanBeDsack) {
  SackScoreboard sb;
  sb.Reset(Seq(1000));
  const SackBlock blocks[] = {Block(1500u, 1600u), Block(500u, 1000u)};
  auto r = sb.Update(Seq(1000), blocks, Seq(2000));
  EXPECT_FALSE(r.dsack);
  EXPECT_EQ(r.invalid_blocks, 1u);
  EXPECT_EQ(r.newly_sacked, 100u);
}

// ---------------------------------------------------------------------------------------------
// Cumulative ACK

TEST(SackScoreboardTest, CumulativeAckTrimsAndDropsRanges) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock blocks[] = {Block(10u, 20u), Block(30u, 40u), Block(50u, 60u)};
  sb.Update(Seq(0), blocks, Seq(100));
  ASSERT_EQ(sb.SackedBytes(), 30u);

  // snd_una to 35: [10,20) is gone, [30,40) is cut to [35,40).
  auto r = sb.Update(Seq(35), {}, Seq(100));
  EXPECT_EQ(r.sacked_now_acked, 15u);
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(35u, 40u), Block(50u, 60u)}));
  EXPECT_EQ(sb.SackedBytes(), 15u);

  // A block that starts below the new snd_una is now invalid.
  const SackBlock stale[] = {Block(60u, 70u), Block(30u, 40u)};
  r = sb.Update(Seq(35), stale, Seq(100));
  EXPECT_EQ(r.invalid_blocks, 1u);
  EXPECT_EQ(r.newly_sacked, 10u);
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(35u, 40u), Block(50u, 70u)}));

  // snd_una to exactly a range's right edge.
  r = sb.Update(Seq(40), {}, Seq(100));
  EXPECT_EQ(r.sacked_now_acked, 5u);
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(50u, 70u)});
  EXPECT_EQ(sb.HighestSacked(), Seq(70));
}

TEST(SackScoreboardTest, ResetForgetsEverything) {
  SackScoreboard sb;
  sb.Reset(Seq(0));
  const SackBlock blocks[] = {Block(10u, 20u)};
  sb.Update(Seq(0), blocks, Seq(100));
  sb.Reset(Seq(5));
  EXPECT_TRUE(sb.empty());
  EXPECT_EQ(sb.SackedBytes(), 0u);
  EXPECT_EQ(sb.HighestSacked(), Seq(5));
  EXPECT_FALSE(sb.IsSacked(Seq(10)));
  EXPECT_EQ(sb.Pipe(Seq(5), Seq(100), Seq(5), kSmss), 95u);
}

// ---------------------------------------------------------------------------------------------
// Capacity

TEST(SackScoreboardTest, WhenFullTheLowestRangeIsForgotten) {
  SackScoreboard sb(4);
  EXPECT_EQ(sb.capacity(), 4u);
  sb.Reset(Seq(0));
  for (uint32_t i = 1; i <= 4; ++i) {
    const SackBlock b[] = {Block(i * 100, i * 100 + 10)};
    sb.Update(Seq(0), b, Seq(10000));
  }
  ASSERT_EQ(sb.ranges().size(), 4u);

  // A fifth, higher range pushes out [100, 110).
  const SackBlock high[] = {Block(500u, 510u)};
  EXPECT_EQ(sb.Update(Seq(0), high, Seq(10000)).newly_sacked, 10u);
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(200u, 210u), Block(300u, 310u),
                                                Block(400u, 410u), Block(500u, 510u)}));
  EXPECT_EQ(sb.SackedBytes(), 40u);
  EXPECT_FALSE(sb.IsSacked(Seq(100)));

  // One below them all is reported delivered but not kept.
  const SackBlock low[] = {Block(50u, 60u)};
  EXPECT_EQ(sb.Update(Seq(0), low, Seq(10000)).newly_sacked, 10u);
  EXPECT_EQ(sb.ranges().front(), Block(200u, 210u));
  EXPECT_EQ(sb.SackedBytes(), 40u);

  // One in the middle keeps the highest four.
  const SackBlock mid[] = {Block(250u, 260u)};
  sb.Update(Seq(0), mid, Seq(10000));
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(250u, 260u), Block(300u, 310u),
                                                Block(400u, 410u), Block(500u, 510u)}));

  // A block that merges ranges needs no room and forgets nothing.
  const SackBlock merge[] = {Block(310u, 400u)};
  EXPECT_EQ(sb.Update(Seq(0), merge, Seq(10000)).newly_sacked, 90u);
  EXPECT_EQ(Ranges(sb),
            (std::vector<SackBlock>{Block(250u, 260u), Block(300u, 410u), Block(500u, 510u)}));
  EXPECT_EQ(sb.SackedBytes(), 130u);
}

TEST(SackScoreboardTest, CapacityOneKeepsTheHighest) {
  SackScoreboard sb(1);
  sb.Reset(Seq(0));
  const SackBlock blocks[] = {Block(300u, 310u), Block(100u, 110u), Block(500u, 510u)};
  sb.Update(Seq(0), blocks, Seq(1000));
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(500u, 510u)});
  EXPECT_EQ(sb.SackedBytes(), 10u);
}

// ---------------------------------------------------------------------------------------------
// Wraparound

TEST(SackScoreboardTest, RangesAcrossTwoToThe32) {
  SackScoreboard sb;
  const Seq una(0xffffff00u);
  const Seq max(0x00000400u);
  sb.Reset(una);
  const SackBlock blocks[] = {Block(0x100u, 0x200u), Block(0xffffff80u, 0x10u)};
  EXPECT_EQ(sb.Update(una, blocks, max).newly_sacked, 0x100u + 0x90u);
  EXPECT_EQ(Ranges(sb), (std::vector<SackBlock>{Block(0xffffff80u, 0x10u), Block(0x100u, 0x200u)}));
  EXPECT_TRUE(sb.IsSacked(Seq(0xffffffffu)));
  EXPECT_TRUE(sb.IsSacked(Seq(0)));
  EXPECT_FALSE(sb.IsSacked(Seq(0x10u)));
  EXPECT_FALSE(sb.IsSacked(Seq(0xffffff7fu)));
  EXPECT_EQ(sb.HighestSacked(), Seq(0x200u));

  // Bridge the two across zero.
  const SackBlock bridge[] = {Block(0x10u, 0x100u)};
  EXPECT_EQ(sb.Update(una, bridge, max).newly_sacked, 0xf0u);
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(0xffffff80u, 0x200u)});
  // 0x80 unSACKed below, 0x280 SACKed above: more than 2 * 0x100.
  EXPECT_TRUE(sb.IsLost(una, 0x100));
  EXPECT_EQ(sb.Pipe(una, max, una, 0x100), 0x200u);  // only the tail [0x200, 0x400)

  // Cumulative ACK past zero trims.
  auto r = sb.Update(Seq(0x20u), {}, max);
  EXPECT_EQ(r.sacked_now_acked, 0xa0u);
  EXPECT_EQ(Ranges(sb), std::vector<SackBlock>{Block(0x20u, 0x200u)});
}

// ---------------------------------------------------------------------------------------------
// Random run against a model

// RFC 6675 §4 taken literally, one octet at a time, over a bitmap of SACKed octets.
class OctetModel {
 public:
  OctetModel(Seq una, uint32_t len) : una_(una), sacked_(len, false) {}
  size_t Off(Seq s) const { return static_cast<uint32_t>(s - una_); }
  void Sack(Seq l, Seq r) {
    for (Seq s = l; s != r; s += 1) sacked_[Off(s)] = true;
  }
  bool IsSacked(Seq s) const { return sacked_[Off(s)]; }
  uint32_t SackedBytes() const {
    uint32_t n = 0;
    for (bool b : sacked_) n += b;
    return n;
  }
  // lost[i] for every offset, computed by walking down from the top.
  std::vector<bool> LostMap(uint32_t smss) const {
    std::vector<bool> lost(sacked_.size(), false);
    uint32_t ranges = 0, bytes = 0;
    for (size_t i = sacked_.size(); i-- > 0;) {
      if (sacked_[i]) {
        ++bytes;
        if (i == 0 || !sacked_[i - 1]) ++ranges;  // the start of a discontiguous run
      } else {
        lost[i] = ranges >= 3 || bytes > 2 * smss;
      }
    }
    return lost;
  }
  uint32_t Pipe(Seq high_rxt, uint32_t smss) const {
    const auto lost = LostMap(smss);
    uint32_t pipe = 0;
    for (size_t i = 0; i < sacked_.size(); ++i) {
      if (sacked_[i]) continue;
      if (!lost[i]) ++pipe;
      if (una_ + static_cast<uint32_t>(i) < high_rxt) ++pipe;
    }
    return pipe;
  }
  // Rules 1 and 3: the smallest unSACKed octet >= high_rxt below the highest SACKed octet.
  SackScoreboard::NextSegment Next(Seq high_rxt, uint32_t smss) const {
    const auto lost = LostMap(smss);
    size_t top = sacked_.size();
    while (top > 0 && !sacked_[top - 1]) --top;
    size_t start = high_rxt > una_ ? Off(high_rxt) : 0;
    for (size_t i = start; i < top; ++i) {
      if (sacked_[i]) continue;
      uint32_t len = 0;
      while (len < smss && !sacked_[i + len]) ++len;
      return {lost[i] ? Rule::kLost : Rule::kUnsacked, una_ + static_cast<uint32_t>(i), len};
    }
    return {};
  }

 private:
  Seq una_;
  std::vector<bool> sacked_;
};

TEST(SackScoreboardTest, RandomBlocksMatchOctetModel) {
  std::mt19937 rng(6675);
  constexpr uint32_t kWindow = 6000;
  constexpr uint32_t kSeg = 100;
  int lost_seen = 0, unsacked_seen = 0;
  for (int round = 0; round < 300; ++round) {
    const Seq una(static_cast<uint32_t>(rng()) | (round % 3 == 0 ? 0xffffe000u : 0));
    const Seq max = una + kWindow;
    SackScoreboard sb(64);  // room for every range this test can make
    sb.Reset(una);
    OctetModel model(una, kWindow);
    std::uniform_int_distribution<uint32_t> seg(0, kWindow / kSeg - 1);
    std::uniform_int_distribution<uint32_t> segs(1, 4);
    for (int ack = 0; ack < 12; ++ack) {
      std::vector<SackBlock> blocks;
      for (int b = 0; b < 3; ++b) {
        const uint32_t first = seg(rng);
        const uint32_t n = std::min(segs(rng), kWindow / kSeg - first);
        blocks.push_back(Block(una + first * kSeg, una + (first + n) * kSeg));
      }
      const uint32_t before = model.SackedBytes();
      for (const auto& b : blocks) model.Sack(b.left, b.right);
      // A first block inside the second is a D-SACK and skipped, which changes nothing: the
      // second block covers it.
      const auto r = sb.Update(una, blocks, max);
      ASSERT_EQ(r.newly_sacked, model.SackedBytes() - before);
      ASSERT_EQ(r.invalid_blocks, 0u);
      ASSERT_EQ(sb.SackedBytes(), model.SackedBytes());
      for (uint32_t off = 0; off < kWindow; off += 37) {
        ASSERT_EQ(sb.IsSacked(una + off), model.IsSacked(una + off)) << off;
      }
      const auto lost = model.LostMap(kSeg);
      for (uint32_t off = 0; off < kWindow; off += 50) {
        if (!model.IsSacked(una + off)) {
          ASSERT_EQ(sb.IsLost(una + off, kSeg), lost[off]) << off;
        }
      }
      const Seq high_rxt = una + std::uniform_int_distribution<uint32_t>(0, kWindow)(rng);
      ASSERT_EQ(sb.Pipe(una, max, high_rxt, kSeg), model.Pipe(high_rxt, kSeg));
      const auto got =
          sb.NextSeg({.snd_una = una, .snd_max = max, .high_rxt = high_rxt, .smss = kSeg});
      const auto want = model.Next(high_rxt, kSeg);
      ASSERT_EQ(got.rule, want.rule);
      if (want.rule != Rule::kNone) {
        ASSERT_EQ(got.seq, want.seq);
        ASSERT_EQ(got.len, want.len);
      }
      lost_seen += want.rule == Rule::kLost;
      unsacked_seen += want.rule == Rule::kUnsacked;
    }
  }
  EXPECT_GT(lost_seen, 100);
  EXPECT_GT(unsacked_seen, 100);
}

}  // namespace
}  // namespace ferry::tcp
