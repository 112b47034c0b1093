// SYN cookies (RFC 4987 §3.6): the MSS round trip through the table, what the MAC binds (tuple,
// peer ISN, key, MSS index, full counter), the 2-period lifetime, the timestamp encoding of
// window scale and SACK-permitted, and a blind-forgery count.
#include "tcp/syn_cookie.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "gtest/gtest.h"
#include "tcp/four_tuple.h"
#include "tcp/seq.h"

namespace ferry::tcp {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr base::SipKey kKey{0x5eed5eed5eed5eedu, 0x0badc0ffee0ddf00u};
constexpr base::SipKey kOtherKey{0x5eed5eed5eed5eedu, 0x0badc0ffee0ddf01u};

constexpr FourTuple kTuple{net::Ipv4Address::FromOctets(198, 18, 0, 1),
                           net::Ipv4Address::FromOctets(198, 19, 3, 4), 443, 40000};
constexpr Seq kPeerIsn(0x9abcdef0);

// The start of period 1000 (t = 1000, t mod 32 = 8).
const base::Instant kPeriodStart = base::Instant{} + 1000 * kCookiePeriod;

// ---------------------------------------------------------------------------------------------
// MSS encoding

TEST(SynCookiesTest, EachTableEntryRoundTrips) {
  const SynCookies jar(kKey);
  for (const uint16_t mss : kSynCookieMssTable) {
    const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, mss, kPeriodStart);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart), mss) << mss;
  }
}

TEST(SynCookiesTest, PeerMssBetweenEntriesRoundsDown) {
  const SynCookies jar(kKey);
  const struct {
    uint16_t peer;
    uint16_t recorded;
  } cases[] = {
      {65, 64},     {535, 64},    {537, 536},   {1219, 536},  {1221, 1220}, {1300, 1220},
      {1400, 1380}, {1452, 1440}, {1459, 1440}, {1461, 1460}, {4311, 1460}, {4313, 4312},
      {8959, 4312}, {9000, 8960}, {65535, 8960},
  };
  for (const auto& c : cases) {
    const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, c.peer, kPeriodStart);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart), c.recorded) << c.peer;
  }
}

TEST(SynCookiesTest, EveryPeerMssGetsTheLargestEntryNotAboveIt) {
  const SynCookies jar(kKey);
  for (uint32_t peer = kSynCookieMssTable.front(); peer <= 65535; peer += 7) {
    const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, static_cast<uint16_t>(peer), kPeriodStart);
    const std::optional<uint16_t> mss = jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart);
    ASSERT_TRUE(mss.has_value()) << peer;
    EXPECT_LE(*mss, peer);
    // No larger entry would also have fit.
    for (const uint16_t entry : kSynCookieMssTable) {
      if (entry > *mss) {
        EXPECT_GT(entry, peer) << peer;
      }
    }
  }
}

TEST(SynCookiesTest, PeerMssBelowTheTableGetsTheSmallestEntry) {
  const SynCookies jar(kKey);
  for (const uint16_t peer : {uint16_t{0}, uint16_t{1}, uint16_t{48}, uint16_t{63}}) {
    const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, peer, kPeriodStart);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart), 64) << peer;
  }
}

TEST(SynCookiesTest, LayoutIsCounterThenMssIndexThenMac) {
  const SynCookies jar(kKey);
  for (uint32_t i = 0; i < kSynCookieMssTable.size(); ++i) {
    const uint32_t c = jar.MakeCookie(kTuple, kPeerIsn, kSynCookieMssTable[i], kPeriodStart).raw();
    EXPECT_EQ(c >> 27, 1000u % 32);
    EXPECT_EQ((c >> 24) & 7, i);
  }
  const uint32_t next_period =
      jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart + kCookiePeriod).raw();
  EXPECT_EQ(next_period >> 27, 1001u % 32);
}

TEST(SynCookiesTest, SamePeriodSameCookie) {
  // A pure function of its inputs: a retransmitted SYN in the same period gets the same ISN.
  const SynCookies jar(kKey);
  EXPECT_EQ(jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart),
            jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart + kCookiePeriod - nanoseconds(1)));
}

// ---------------------------------------------------------------------------------------------
// What the MAC binds

TEST(SynCookiesTest, WrongTupleIsRejected) {
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  FourTuple t = kTuple;
  t.local_ip = net::Ipv4Address::FromOctets(198, 18, 0, 2);
  EXPECT_EQ(jar.CheckCookie(t, kPeerIsn, cookie, kPeriodStart), std::nullopt);
  t = kTuple;
  t.remote_ip = net::Ipv4Address::FromOctets(198, 19, 3, 5);
  EXPECT_EQ(jar.CheckCookie(t, kPeerIsn, cookie, kPeriodStart), std::nullopt);
  t = kTuple;
  t.local_port = 444;
  EXPECT_EQ(jar.CheckCookie(t, kPeerIsn, cookie, kPeriodStart), std::nullopt);
  t = kTuple;
  t.remote_port = 40001;
  EXPECT_EQ(jar.CheckCookie(t, kPeerIsn, cookie, kPeriodStart), std::nullopt);
}

TEST(SynCookiesTest, WrongPeerIsnIsRejected) {
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn + 1, cookie, kPeriodStart), std::nullopt);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn - 1, cookie, kPeriodStart), std::nullopt);
}

TEST(SynCookiesTest, WrongKeyIsRejected) {
  const Seq cookie = SynCookies(kKey).MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  EXPECT_EQ(SynCookies(kOtherKey).CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart),
            std::nullopt);
}

TEST(SynCookiesTest, ACookieIsNotOurIsnPlusOne) {
  // CheckCookie takes SEG.ACK - 1; passing SEG.ACK itself must fail.
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie + 1, kPeriodStart), std::nullopt);
}

TEST(SynCookiesTest, EditedMssIndexIsRejected) {
  // The MAC covers the MSS index: a peer cannot raise its MSS by flipping bits 24-26.
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 536, kPeriodStart);
  for (uint32_t index = 0; index < 8; ++index) {
    const Seq edited((cookie.raw() & ~(uint32_t{7} << 24)) | index << 24);
    if (edited == cookie) continue;
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, edited, kPeriodStart), std::nullopt) << index;
  }
}

TEST(SynCookiesTest, EditedCounterIsRejected) {
  // Moving a cookie into the next period (still within the accepted window) does not extend
  // its life: the MAC covers the full counter.
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  const Seq moved(cookie.raw() + (uint32_t{1} << 27));
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, moved, kPeriodStart + kCookiePeriod),
            std::nullopt);
}

TEST(SynCookiesTest, EachMacBitMatters) {
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  for (int bit = 0; bit < 24; ++bit) {
    const Seq edited(cookie.raw() ^ (uint32_t{1} << bit));
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, edited, kPeriodStart), std::nullopt) << bit;
  }
}

// ---------------------------------------------------------------------------------------------
// Lifetime: the current period and the one before (64 to 128 s)

TEST(SynCookiesTest, MadeAtPeriodStartValidFor128Seconds) {
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart + seconds(64)), 1460);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie,
                            kPeriodStart + 2 * kCookiePeriod - nanoseconds(1)),
            1460);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart + 2 * kCookiePeriod),
            std::nullopt);
}

TEST(SynCookiesTest, MadeAtPeriodEndValidFor64Seconds) {
  const SynCookies jar(kKey);
  const base::Instant made = kPeriodStart + kCookiePeriod - nanoseconds(1);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, made);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, made + seconds(64)), 1460);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, made + seconds(64) + nanoseconds(1)),
            std::nullopt);
}

TEST(SynCookiesTest, OlderCountersAreRejected) {
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  for (int periods = 2; periods < 32; ++periods) {
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart + periods * kCookiePeriod),
              std::nullopt)
        << periods;
  }
}

TEST(SynCookiesTest, CounterFromTheFutureIsRejected) {
  const SynCookies jar(kKey);
  for (int periods = 1; periods < 31; ++periods) {
    const Seq cookie =
        jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart + periods * kCookiePeriod);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart), std::nullopt) << periods;
  }
}

TEST(SynCookiesTest, CounterDoesNotAliasAfter32Periods) {
  // 32 periods later the 5-bit field reads the same, but the MAC was over the old counter.
  const SynCookies jar(kKey);
  const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1460, kPeriodStart);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart + 32 * kCookiePeriod),
            std::nullopt);
  EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, kPeriodStart + 33 * kCookiePeriod),
            std::nullopt);
}

TEST(SynCookiesTest, WorksAcrossTheCounterWrapAndBeforeTheEpoch) {
  // t = 31 -> 32 wraps the 5-bit field; t = -1 -> 0 crosses the clock's epoch.
  const SynCookies jar(kKey);
  for (const base::Instant made : {base::Instant{} + 32 * kCookiePeriod - nanoseconds(1),
                                   base::Instant{} - nanoseconds(1)}) {
    const Seq cookie = jar.MakeCookie(kTuple, kPeerIsn, 1440, made);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, made), 1440);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, made + nanoseconds(1)), 1440);
    EXPECT_EQ(jar.CheckCookie(kTuple, kPeerIsn, cookie, made + kCookiePeriod + nanoseconds(1)),
              std::nullopt);
  }
}

// ---------------------------------------------------------------------------------------------
// Forgery

TEST(SynCookiesTest, RandomCookiesAreAlmostNeverAccepted) {
  // A blind attacker sends ACKs with random cookies for one tuple and peer ISN. Each passes
  // with probability 2/32 (counter) * 2^-24 (MAC) = 2^-28: over 2^20 tries, 1/256 expected.
  const SynCookies jar(kKey);
  std::mt19937 rng(20240601);
  constexpr uint32_t kTries = 1 << 20;
  uint32_t accepted = 0;
  for (uint32_t i = 0; i < kTries; ++i) {
    if (jar.CheckCookie(kTuple, kPeerIsn, Seq(rng()), kPeriodStart)) ++accepted;
  }
  EXPECT_LE(accepted, kTries >> 20);
}

TEST(SynCookiesTest, RandomMacsWithTheRightCounterAreAlmostNeverAccepted) {
  // An attacker who knows the current counter guesses only the index and MAC: 2^-24 per try,
  // 1/16 expected over 2^20 tries.
  const SynCookies jar(kKey);
  std::mt19937 rng(7);
  constexpr uint32_t kTries = 1 << 20;
  const uint32_t counter_bits = (1000u % 32) << 27;
  uint32_t accepted = 0;
  for (uint32_t i = 0; i < kTries; ++i) {
    const Seq guess(counter_bits | (rng() & 0x07ff'ffffu));
    if (jar.CheckCookie(kTuple, kPeerIsn, guess, kPeriodStart)) ++accepted;
  }
  EXPECT_LE(accepted, kTries >> 20);
}

// ---------------------------------------------------------------------------------------------
// Window scale and SACK-permitted in the timestamp

TEST(CookieTimestampTest, RoundTripsEveryWindowScaleAndSackFlag) {
  for (const uint32_t ts_now : {0u, 5u, 63u, 64u, 0x12345678u, 0x7fffffffu, 0xffffffffu}) {
    for (uint8_t ws = 0; ws <= kCookieNoWindowScale; ++ws) {
      for (const bool sack : {false, true}) {
        const uint32_t tsval = EncodeTsval(ts_now, ws, sack);
        const CookieTsOptions want{
            ws == kCookieNoWindowScale ? std::nullopt : std::optional<uint8_t>(ws), sack};
        EXPECT_EQ(DecodeTsecr(tsval), want) << ts_now << " ws " << int{ws} << " sack " << sack;
      }
    }
  }
}

TEST(CookieTimestampTest, TsvalNeverAheadOfTheClockAndWithin64) {
  // RFC 7323 §5.3: later TSvals come straight from the clock; this one must not exceed it.
  for (const uint32_t ts_now : {0u, 5u, 63u, 64u, 100u, 0x12345678u, 0xffffffc0u, 0xffffffffu}) {
    for (uint8_t ws = 0; ws <= kCookieNoWindowScale; ++ws) {
      for (const bool sack : {false, true}) {
        const int32_t behind = static_cast<int32_t>(ts_now - EncodeTsval(ts_now, ws, sack));
        EXPECT_GE(behind, 0) << ts_now << " ws " << int{ws};
        EXPECT_LT(behind, 64) << ts_now << " ws " << int{ws};
      }
    }
  }
}

TEST(CookieTimestampTest, RoundsBackAcrossZero) {
  // ts_now = 5 with options 0x1e (ws 14, SACK) would give 0x1e > 5: it goes back 64, to
  // 0xffffffde, which is still "before" 5 modulo 2^32.
  EXPECT_EQ(EncodeTsval(5, 14, true), 0xffffffdeu);
  EXPECT_EQ(EncodeTsval(0x1e, 14, true), 0x1eu);
  EXPECT_EQ(EncodeTsval(0x1f, 14, true), 0x1eu);
}

TEST(CookieTimestampTest, ReservedBitIsZero) {
  for (uint8_t ws = 0; ws <= kCookieNoWindowScale; ++ws) {
    EXPECT_EQ(EncodeTsval(0xffffffffu, ws, true) & 0x20, 0u);
  }
}

}  // namespace
}  // namespace ferry::tcp
