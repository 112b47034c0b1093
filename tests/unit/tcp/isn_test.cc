// IsnGenerator against RFC 6528 §3 / RFC 9293 §3.4.1: ISN = M + F(4-tuple, key), M a 4 us clock.
#include "tcp/isn.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <set>
#include <span>
#include <unordered_set>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tcp/four_tuple.h"
#include "tcp/seq.h"

namespace ferry::tcp {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr base::SipKey kKey{0x0123456789abcdefu, 0xfedcba9876543210u};
constexpr base::SipKey kOtherKey{0x0123456789abcdefu, 0xfedcba9876543211u};

constexpr FourTuple kTuple{net::Ipv4Address::FromOctets(198, 18, 0, 1),
                           net::Ipv4Address::FromOctets(198, 19, 0, 7), 443, 51000};

// Well away from the epoch, at a tick boundary.
const base::Instant kT0 = base::Instant{} + hours(1);

// ---------------------------------------------------------------------------------------------
// FourTuple

TEST(FourTupleTest, EqualityComparesAllFourFields) {
  FourTuple t = kTuple;
  EXPECT_EQ(t, kTuple);
  t.local_port = 444;
  EXPECT_FALSE(t == kTuple);
  t = kTuple;
  t.remote_ip = net::Ipv4Address::FromOctets(198, 19, 0, 8);
  EXPECT_FALSE(t == kTuple);
}

TEST(FourTupleTest, UsableAsAbslHashKey) {
  std::unordered_set<FourTuple, absl::Hash<FourTuple>> set;
  set.insert(kTuple);
  FourTuple swapped{kTuple.remote_ip, kTuple.local_ip, kTuple.remote_port, kTuple.local_port};
  set.insert(swapped);
  set.insert(kTuple);
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(kTuple));
  EXPECT_TRUE(set.contains(swapped));
  EXPECT_NE(absl::Hash<FourTuple>{}(kTuple), absl::Hash<FourTuple>{}(swapped));
}

// ---------------------------------------------------------------------------------------------
// M: the 4-microsecond clock (RFC 9293 §3.4.1)

TEST(IsnGeneratorTest, SameTupleAndTimeGiveSameIsn) {
  const IsnGenerator gen(kKey);
  EXPECT_EQ(gen.Next(kTuple, kT0), gen.Next(kTuple, kT0));
  EXPECT_EQ(IsnGenerator(kKey).Next(kTuple, kT0), gen.Next(kTuple, kT0));
}

TEST(IsnGeneratorTest, AdvancesByOnePerFourMicroseconds) {
  const IsnGenerator gen(kKey);
  const Seq isn = gen.Next(kTuple, kT0);
  EXPECT_EQ(gen.Next(kTuple, kT0 + nanoseconds(3999)), isn);
  EXPECT_EQ(gen.Next(kTuple, kT0 + microseconds(4)), isn + 1);
  EXPECT_EQ(gen.Next(kTuple, kT0 + microseconds(7)), isn + 1);
  EXPECT_EQ(gen.Next(kTuple, kT0 + microseconds(8)), isn + 2);
}

TEST(IsnGeneratorTest, Advances250kPerSecond) {
  const IsnGenerator gen(kKey);
  const Seq isn = gen.Next(kTuple, kT0);
  EXPECT_EQ(gen.Next(kTuple, kT0 + seconds(1)) - isn, 250'000);
  EXPECT_EQ(gen.Next(kTuple, kT0 + seconds(1000)) - isn, 250'000'000);
  EXPECT_EQ(IsnGenerator::kTicksPerSecond, 250'000u);
}

TEST(IsnGeneratorTest, WrapsModulo2To32) {
  const IsnGenerator gen(kKey);
  // At the epoch M = 0, so the ISN is F alone. Pick the instant where M + F = 2^32 - 1.
  const uint32_t f = gen.Next(kTuple, base::Instant{}).raw();
  const base::Instant last = base::Instant{} + IsnGenerator::kTick * (uint64_t{0xffffffff} - f);
  EXPECT_EQ(gen.Next(kTuple, last).raw(), 0xffffffffu);
  const Seq after = gen.Next(kTuple, last + 2 * IsnGenerator::kTick);
  EXPECT_EQ(after.raw(), 1u);
  EXPECT_GT(after, gen.Next(kTuple, last));  // still "later", modulo 2^32 (RFC 9293 §3.4)
  EXPECT_EQ(after - gen.Next(kTuple, last), 2);
}

TEST(IsnGeneratorTest, ClockItselfWrapsAfter2To32Ticks) {
  // M is a 32-bit counter: 2^32 ticks of 4 us (~4.77 h) later it reads the same.
  const IsnGenerator gen(kKey);
  const base::Duration period = IsnGenerator::kTick * (uint64_t{1} << 32);
  EXPECT_EQ(gen.Next(kTuple, kT0 + period), gen.Next(kTuple, kT0));
  EXPECT_EQ(gen.Next(kTuple, kT0 + period + microseconds(4)), gen.Next(kTuple, kT0) + 1);
}

TEST(IsnGeneratorTest, TicksEvenlyBeforeTheEpoch) {
  // Instants before a clock's epoch are negative; M still steps once per 4 us there.
  const IsnGenerator gen(kKey);
  const Seq at_epoch = gen.Next(kTuple, base::Instant{});
  EXPECT_EQ(gen.Next(kTuple, base::Instant{} - nanoseconds(1)), at_epoch - 1);
  EXPECT_EQ(gen.Next(kTuple, base::Instant{} - microseconds(4)), at_epoch - 1);
  EXPECT_EQ(gen.Next(kTuple, base::Instant{} - nanoseconds(4001)), at_epoch - 2);
}

// ---------------------------------------------------------------------------------------------
// F: the keyed hash of the 4-tuple (RFC 6528 §3)

TEST(IsnGeneratorTest, EachTupleFieldChangesTheIsn) {
  const IsnGenerator gen(kKey);
  const Seq isn = gen.Next(kTuple, kT0);
  FourTuple t = kTuple;
  t.local_ip = net::Ipv4Address::FromOctets(198, 18, 0, 2);
  EXPECT_NE(gen.Next(t, kT0), isn);
  t = kTuple;
  t.remote_ip = net::Ipv4Address::FromOctets(198, 19, 0, 6);
  EXPECT_NE(gen.Next(t, kT0), isn);
  t = kTuple;
  t.local_port = 8443;
  EXPECT_NE(gen.Next(t, kT0), isn);
  t = kTuple;
  t.remote_port = 51001;
  EXPECT_NE(gen.Next(t, kT0), isn);
  // The two ends of one connection are different tuples.
  const FourTuple swapped{kTuple.remote_ip, kTuple.local_ip, kTuple.remote_port,
                          kTuple.local_port};
  EXPECT_NE(gen.Next(swapped, kT0), isn);
}

TEST(IsnGeneratorTest, SwappingOnlyThePortsChangesTheIsn) {
  // Ports are hashed in their places, not combined symmetrically.
  const IsnGenerator gen(kKey);
  const FourTuple swapped{kTuple.local_ip, kTuple.remote_ip, kTuple.remote_port,
                          kTuple.local_port};
  EXPECT_NE(gen.Next(swapped, kT0), gen.Next(kTuple, kT0));
}

TEST(IsnGeneratorTest, NeighbouringTuplesAreNotOneTickApart) {
  // F must not be linear in the port: consecutive remote ports (a client's ephemeral range)
  // should give unrelated ISNs, not ones an observer could extrapolate.
  const IsnGenerator gen(kKey);
  std::set<uint32_t> offsets;
  FourTuple t = kTuple;
  Seq prev = gen.Next(t, kT0);
  for (int i = 0; i < 64; ++i) {
    ++t.remote_port;
    const Seq isn = gen.Next(t, kT0);
    offsets.insert(static_cast<uint32_t>(isn - prev));
    prev = isn;
  }
  EXPECT_GT(offsets.size(), 60u);
}

TEST(IsnGeneratorTest, DifferentKeysGiveDifferentIsns) {
  EXPECT_NE(IsnGenerator(kKey).Next(kTuple, kT0), IsnGenerator(kOtherKey).Next(kTuple, kT0));
  EXPECT_NE(IsnGenerator(kKey).Next(kTuple, kT0), IsnGenerator({}).Next(kTuple, kT0));
}

// ---------------------------------------------------------------------------------------------
// MakeKey

TEST(IsnGeneratorTest, MakeKeyUsesTheSourcesBytes) {
  const auto key = IsnGenerator::MakeKey([](std::span<uint8_t> out) {
    EXPECT_EQ(out.size(), 16u);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
    return absl::OkStatus();
  });
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->k0, 0x0706050403020100u);
  EXPECT_EQ(key->k1, 0x0f0e0d0c0b0a0908u);
}

TEST(IsnGeneratorTest, MakeKeyPassesTheSourcesErrorOn) {
  const auto key = IsnGenerator::MakeKey([](std::span<uint8_t>) {
    return absl::UnavailableError("getrandom: EAGAIN");
  });
  EXPECT_EQ(key.status(), absl::UnavailableError("getrandom: EAGAIN"));
}

TEST(IsnGeneratorTest, MakeKeyRefusesAnAllZeroKey) {
  const auto key = IsnGenerator::MakeKey([](std::span<uint8_t> out) {
    std::fill(out.begin(), out.end(), 0);
    return absl::OkStatus();
  });
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace ferry::tcp
