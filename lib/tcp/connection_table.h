// A worker's connection table: 4-tuple to connection, capacity fixed at start-up
// (ARCHITECTURE.md: "the connection table is preallocated"). Lookups run once per received
// segment; inserts and erases once per connection. Nothing allocates after construction: the
// map is reserved to twice the capacity, so erasures (which leave tombstones) are cleaned up
// in place and never trigger a reallocating resize.
//
// The hash is Abseil's, seeded per process, so a peer cannot precompute colliding tuples.
#pragma once

#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "tcp/four_tuple.h"

namespace ferry::tcp {

template <typename Connection>
class ConnectionTable {
 public:
  explicit ConnectionTable(size_t capacity) : capacity_(capacity) { map_.reserve(capacity * 2); }
  // Bytes the table's slots take, per connection it can hold (reserved for twice that many).
  size_t bytes_per_connection() const {
    return capacity_ == 0 ? 0 : map_.capacity() * (sizeof(FourTuple) + sizeof(Connection*) + 1) / capacity_;
  }
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;

  // The connection for `tuple`, or nullptr.
  Connection* Find(const FourTuple& tuple) const {
    auto it = map_.find(tuple);
    return it == map_.end() ? nullptr : it->second;
  }

  enum class InsertResult { kInserted, kExists, kFull };
  // Adds `connection` under `tuple`. Returns kExists (leaving the table as it was) if the tuple
  // is taken, kFull if the table holds `capacity` connections already.
  InsertResult Insert(const FourTuple& tuple, Connection* connection) {
    if (map_.size() >= capacity_) {
      return map_.contains(tuple) ? InsertResult::kExists : InsertResult::kFull;
    }
    return map_.try_emplace(tuple, connection).second ? InsertResult::kInserted
                                                      : InsertResult::kExists;
  }

  // Removes `tuple`; returns false if it was not there.
  bool Erase(const FourTuple& tuple) { return map_.erase(tuple) == 1; }

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }

  // Visits every (tuple, connection); `fn` must not insert or erase.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [tuple, connection] : map_) fn(tuple, connection);
  }

 private:
  size_t capacity_;
  absl::flat_hash_map<FourTuple, Connection*> map_;
};

}  // namespace ferry::tcp
