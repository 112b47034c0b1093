#include "tcp/connection_table.h"

#include <vector>

#include "gtest/gtest.h"

namespace ferry::tcp {
namespace {

struct Conn {
  int id;
};

FourTuple Tuple(uint16_t remote_port, uint32_t remote_ip = 0xc6120002) {
  return FourTuple{net::Ipv4Address(0xc6120001), net::Ipv4Address(remote_ip), 80, remote_port};
}

using Result = ConnectionTable<Conn>::InsertResult;

TEST(ConnectionTable, FindsWhatWasInsertedByTheWholeTuple) {
  ConnectionTable<Conn> table(4);
  Conn a{1};
  EXPECT_EQ(table.Insert(Tuple(1000), &a), Result::kInserted);
  EXPECT_EQ(table.Find(Tuple(1000)), &a);
  EXPECT_EQ(table.Find(Tuple(1001)), nullptr);
  EXPECT_EQ(table.Find(Tuple(1000, 0xc6120003)), nullptr);
  FourTuple swapped = Tuple(1000);
  std::swap(swapped.local_port, swapped.remote_port);
  EXPECT_EQ(table.Find(swapped), nullptr);  // direction matters
}

TEST(ConnectionTable, DuplicateTupleIsRefusedAndKeepsTheFirst) {
  ConnectionTable<Conn> table(4);
  Conn a{1}, b{2};
  table.Insert(Tuple(1000), &a);
  EXPECT_EQ(table.Insert(Tuple(1000), &b), Result::kExists);
  EXPECT_EQ(table.Find(Tuple(1000)), &a);
}

TEST(ConnectionTable, CapacityIsFixed) {
  ConnectionTable<Conn> table(2);
  Conn c[3] = {{0}, {1}, {2}};
  EXPECT_EQ(table.Insert(Tuple(1), &c[0]), Result::kInserted);
  EXPECT_EQ(table.Insert(Tuple(2), &c[1]), Result::kInserted);
  EXPECT_EQ(table.Insert(Tuple(3), &c[2]), Result::kFull);
  EXPECT_EQ(table.Insert(Tuple(2), &c[2]), Result::kExists);
  EXPECT_TRUE(table.Erase(Tuple(1)));
  EXPECT_FALSE(table.Erase(Tuple(1)));
  EXPECT_EQ(table.Insert(Tuple(3), &c[2]), Result::kInserted);
  EXPECT_EQ(table.size(), 2u);
}

// Connections come and go for days: churn through many tuples at full capacity.
TEST(ConnectionTable, ChurnAtCapacityKeepsWorking) {
  constexpr size_t kCapacity = 1000;
  ConnectionTable<Conn> table(kCapacity);
  std::vector<Conn> conns(kCapacity);
  for (uint16_t i = 0; i < kCapacity; ++i) ASSERT_EQ(table.Insert(Tuple(i), &conns[i]), Result::kInserted);
  for (uint32_t round = 0; round < 50000; ++round) {
    const uint16_t old_port = static_cast<uint16_t>(round % kCapacity);
    const uint32_t old_ip = 0xc6120002 + round / kCapacity;
    ASSERT_TRUE(table.Erase(Tuple(old_port, old_ip))) << round;
    ASSERT_EQ(table.Insert(Tuple(old_port, old_ip + 1), &conns[old_port]), Result::kInserted);
  }
  EXPECT_EQ(table.size(), kCapacity);
  size_t visited = 0;
  table.ForEach([&](const FourTuple&, Conn*) { ++visited; });
  EXPECT_EQ(visited, kCapacity);
}

}  // namespace
}  // namespace ferry::tcp
