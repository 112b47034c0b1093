// ArpCache: resolution with a bounded queue, RFC 826 merge rules, retries, failure hold-down,
// ageing with the unicast refresh, static entries. The cache never touches packet bytes, so
// these tests hand it the addresses of plain rte_mbuf structs as opaque handles.
#include "net/arp_cache.h"

#include <rte_mbuf.h>

#include <vector>

#include "gtest/gtest.h"

namespace ferry::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

const Ipv4Address kPeer = Ipv4Address::FromOctets(198, 18, 0, 2);
const Ipv4Address kOther = Ipv4Address::FromOctets(198, 18, 0, 3);
const MacAddress kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
const MacAddress kNewMac{{0x02, 0, 0, 0, 0, 0x22}};

struct Request {
  Ipv4Address target;
  bool unicast;
  MacAddress to;
};

class RecordingSink : public ArpCache::Sink {
 public:
  void SendRequest(Ipv4Address target, const MacAddress* unicast_to) override {
    requests.push_back({target, unicast_to != nullptr, unicast_to ? *unicast_to : MacAddress{}});
  }
  void Transmit(rte_mbuf* packet, const MacAddress& destination) override {
    sent.push_back({packet, destination});
  }
  void Drop(rte_mbuf* packet) override { dropped.push_back(packet); }

  std::vector<Request> requests;
  std::vector<std::pair<rte_mbuf*, MacAddress>> sent;
  std::vector<rte_mbuf*> dropped;
};

class ArpCacheTest : public ::testing::Test {
 protected:
  ArpCache::Options Options() {
    ArpCache::Options o;
    o.capacity = 4;
    o.queue_per_entry = 3;
    o.queue_total = 5;
    o.entry_lifetime = seconds(100);
    o.request_interval = seconds(1);
    o.request_attempts = 3;
    return o;
  }
  rte_mbuf* Packet(int i) { return &packets_[i]; }

  base::Instant t0_{};
  NetCounters counters_;
  RecordingSink sink_;
  rte_mbuf packets_[16]{};
};

// ---- Resolution ------------------------------------------------------------------------

TEST_F(ArpCacheTest, MissQueuesThePacketAndBroadcastsOneRequest) {
  ArpCache cache(Options(), counters_);
  cache.Output(kPeer, Packet(0), t0_, sink_);
  cache.Output(kPeer, Packet(1), t0_, sink_);
  ASSERT_EQ(sink_.requests.size(), 1u);  // the second packet joins the pending resolution
  EXPECT_EQ(sink_.requests[0].target, kPeer);
  EXPECT_FALSE(sink_.requests[0].unicast);
  EXPECT_TRUE(sink_.sent.empty());
  EXPECT_EQ(cache.queued(), 2u);
  EXPECT_EQ(cache.StateOf(kPeer), ArpCache::State::kIncomplete);
}

TEST_F(ArpCacheTest, ReplyReleasesTheQueueInOrder) {
  ArpCache cache(Options(), counters_);
  cache.Output(kPeer, Packet(0), t0_, sink_);
  cache.Output(kPeer, Packet(1), t0_, sink_);
  EXPECT_TRUE(cache.Learn(kPeer, kPeerMac, /*create=*/true, t0_ + milliseconds(1), sink_));
  ASSERT_EQ(sink_.sent.size(), 2u);
  EXPECT_EQ(sink_.sent[0].first, Packet(0));
  EXPECT_EQ(sink_.sent[1].first, Packet(1));
  EXPECT_EQ(sink_.sent[0].second, kPeerMac);
  EXPECT_EQ(cache.queued(), 0u);
  EXPECT_EQ(counters_.Load(NetCounter::kArpEntriesLearned), 1u);
}

TEST_F(ArpCacheTest, KnownAddressTransmitsAtOnce) {
  ArpCache cache(Options(), counters_);
  cache.Learn(kPeer, kPeerMac, true, t0_, sink_);
  cache.Output(kPeer, Packet(0), t0_ + seconds(1), sink_);
  ASSERT_EQ(sink_.sent.size(), 1u);
  EXPECT_TRUE(sink_.requests.empty());
}

// ---- Queue bounds -----------------------------------------------------------------------

TEST_F(ArpCacheTest, PerEntryQueueIsBounded) {
  ArpCache cache(Options(), counters_);
  for (int i = 0; i < 5; ++i) cache.Output(kPeer, Packet(i), t0_, sink_);
  EXPECT_EQ(cache.queued(), 3u);
  ASSERT_EQ(sink_.dropped.size(), 2u);
  EXPECT_EQ(sink_.dropped[0], Packet(3));
  EXPECT_EQ(counters_.Load(NetCounter::kDropArpQueueFull), 2u);
}

TEST_F(ArpCacheTest, TotalQueueIsBoundedAcrossEntries) {
  ArpCache cache(Options(), counters_);
  for (int i = 0; i < 3; ++i) cache.Output(kPeer, Packet(i), t0_, sink_);
  for (int i = 3; i < 6; ++i) cache.Output(kOther, Packet(i), t0_, sink_);
  EXPECT_EQ(cache.queued(), 5u);  // queue_total
  EXPECT_EQ(counters_.Load(NetCounter::kDropArpQueueFull), 1u);
}

TEST_F(ArpCacheTest, TableCapacityIsFixed) {
  ArpCache cache(Options(), counters_);
  for (uint8_t i = 1; i <= 4; ++i) {
    cache.Learn(Ipv4Address::FromOctets(198, 18, 1, i), kPeerMac, true, t0_, sink_);
  }
  cache.Output(kPeer, Packet(0), t0_, sink_);
  EXPECT_EQ(sink_.dropped.size(), 1u);
  EXPECT_EQ(counters_.Load(NetCounter::kDropArpTableFull), 1u);
  EXPECT_FALSE(cache.Learn(kOther, kPeerMac, true, t0_, sink_));
  EXPECT_EQ(cache.size(), 4u);
}

// ---- Retries and failure ----------------------------------------------------------------

TEST_F(ArpCacheTest, RequestsRepeatEachIntervalThenQueueIsDropped) {
  ArpCache cache(Options(), counters_);
  cache.Output(kPeer, Packet(0), t0_, sink_);
  cache.Tick(t0_ + milliseconds(999), sink_);
  EXPECT_EQ(sink_.requests.size(), 1u);  // not yet due
  cache.Tick(t0_ + seconds(1), sink_);
  EXPECT_EQ(sink_.requests.size(), 2u);
  cache.Tick(t0_ + seconds(2), sink_);
  EXPECT_EQ(sink_.requests.size(), 3u);  // request_attempts reached
  EXPECT_TRUE(sink_.dropped.empty());
  cache.Tick(t0_ + seconds(3), sink_);
  EXPECT_EQ(sink_.requests.size(), 3u);
  ASSERT_EQ(sink_.dropped.size(), 1u);
  EXPECT_EQ(counters_.Load(NetCounter::kDropArpUnresolved), 1u);
  EXPECT_EQ(cache.StateOf(kPeer), ArpCache::State::kFailed);
  EXPECT_EQ(cache.queued(), 0u);
}

// A stream of packets to a dead address must not become a stream of broadcasts.
TEST_F(ArpCacheTest, FailedAddressIsHeldDownForAnInterval) {
  ArpCache cache(Options(), counters_);
  cache.Output(kPeer, Packet(0), t0_, sink_);
  for (int s = 1; s <= 3; ++s) cache.Tick(t0_ + seconds(s), sink_);
  cache.Output(kPeer, Packet(1), t0_ + milliseconds(3500), sink_);
  EXPECT_EQ(sink_.requests.size(), 3u);
  EXPECT_EQ(sink_.dropped.size(), 2u);
  cache.Tick(t0_ + seconds(4), sink_);  // hold-down over: entry forgotten
  EXPECT_FALSE(cache.StateOf(kPeer).has_value());
  cache.Output(kPeer, Packet(2), t0_ + seconds(4), sink_);
  EXPECT_EQ(sink_.requests.size(), 4u);
}

TEST_F(ArpCacheTest, LateReplyDuringHoldDownIsStillLearned) {
  ArpCache cache(Options(), counters_);
  cache.Output(kPeer, Packet(0), t0_, sink_);
  for (int s = 1; s <= 3; ++s) cache.Tick(t0_ + seconds(s), sink_);
  EXPECT_TRUE(cache.Learn(kPeer, kPeerMac, /*create=*/false, t0_ + milliseconds(3100), sink_));
  EXPECT_EQ(cache.StateOf(kPeer), ArpCache::State::kReachable);
}

// ---- RFC 826 merge ----------------------------------------------------------------------

TEST_F(ArpCacheTest, UnknownSenderIsNotAddedUnlessWeAreTheTarget) {
  ArpCache cache(Options(), counters_);
  EXPECT_FALSE(cache.Learn(kPeer, kPeerMac, /*create=*/false, t0_, sink_));
  EXPECT_FALSE(cache.StateOf(kPeer).has_value());
}

TEST_F(ArpCacheTest, KnownSenderIsUpdatedEvenWhenNotTheTarget) {
  ArpCache cache(Options(), counters_);
  cache.Learn(kPeer, kPeerMac, true, t0_, sink_);
  EXPECT_TRUE(cache.Learn(kPeer, kNewMac, /*create=*/false, t0_ + seconds(1), sink_));
  EXPECT_EQ(cache.Lookup(kPeer, t0_ + seconds(1), sink_), kNewMac);
}

TEST_F(ArpCacheTest, StaticEntriesAreNeverOverwrittenOrAged) {
  ArpCache cache(Options(), counters_);
  ASSERT_TRUE(cache.AddStatic(kPeer, kPeerMac));
  EXPECT_FALSE(cache.Learn(kPeer, kNewMac, true, t0_, sink_));
  cache.Tick(t0_ + seconds(100000), sink_);
  EXPECT_EQ(cache.Lookup(kPeer, t0_ + seconds(100000), sink_), kPeerMac);
  EXPECT_TRUE(sink_.requests.empty());
}

// ---- Ageing -----------------------------------------------------------------------------

TEST_F(ArpCacheTest, EntryInUseIsRefreshedByUnicastBeforeItExpires) {
  ArpCache cache(Options(), counters_);
  cache.Learn(kPeer, kPeerMac, true, t0_, sink_);
  EXPECT_EQ(cache.Lookup(kPeer, t0_ + seconds(89), sink_), kPeerMac);
  EXPECT_TRUE(sink_.requests.empty());  // not in the last tenth of its life yet
  EXPECT_EQ(cache.Lookup(kPeer, t0_ + seconds(91), sink_), kPeerMac);
  ASSERT_EQ(sink_.requests.size(), 1u);
  EXPECT_TRUE(sink_.requests[0].unicast);  // RFC 1122 §2.3.2.1 unicast poll
  EXPECT_EQ(sink_.requests[0].to, kPeerMac);
  cache.Lookup(kPeer, t0_ + milliseconds(91500), sink_);
  EXPECT_EQ(sink_.requests.size(), 1u);  // at most one poll per request interval
  cache.Learn(kPeer, kPeerMac, false, t0_ + seconds(92), sink_);  // the poll's answer
  cache.Tick(t0_ + seconds(150), sink_);
  EXPECT_EQ(cache.StateOf(kPeer), ArpCache::State::kReachable);
}

TEST_F(ArpCacheTest, UnusedEntryAgesOut) {
  ArpCache cache(Options(), counters_);
  cache.Learn(kPeer, kPeerMac, true, t0_, sink_);
  cache.Tick(t0_ + seconds(99), sink_);
  EXPECT_EQ(cache.StateOf(kPeer), ArpCache::State::kReachable);
  cache.Tick(t0_ + seconds(100), sink_);
  EXPECT_FALSE(cache.StateOf(kPeer).has_value());
  EXPECT_EQ(counters_.Load(NetCounter::kArpEntriesExpired), 1u);
}

TEST_F(ArpCacheTest, ExpiredEntryIsResolvedAfreshOnOutput) {
  ArpCache cache(Options(), counters_);
  cache.Learn(kPeer, kPeerMac, true, t0_, sink_);
  cache.Output(kPeer, Packet(0), t0_ + seconds(101), sink_);  // before any Tick removed it
  EXPECT_TRUE(sink_.sent.empty());
  ASSERT_EQ(sink_.requests.size(), 1u);
  EXPECT_FALSE(sink_.requests[0].unicast);
  EXPECT_EQ(cache.StateOf(kPeer), ArpCache::State::kIncomplete);
}

// Erasures leave tombstones; the table must keep working through many learn/expire cycles.
TEST_F(ArpCacheTest, ChurnThroughManyAddressesKeepsWorking) {
  ArpCache cache(Options(), counters_);
  base::Instant t = t0_;
  for (uint32_t round = 0; round < 2000; ++round) {
    const Ipv4Address a(0xc6120000u + round);
    ASSERT_TRUE(cache.Learn(a, kPeerMac, true, t, sink_)) << round;
    t += seconds(101);
    cache.Tick(t, sink_);
    ASSERT_EQ(cache.size(), 0u);
  }
}

}  // namespace
}  // namespace ferry::net
