// The ARP cache of one interface on one worker (RFC 826, with the host rules of RFC 1122
// §2.3.2). It maps next-hop IPv4 addresses to MAC addresses and holds a bounded queue of
// packets for each address being resolved. It is pure: it never touches a port, a packet's
// bytes or a clock. Time comes in as an argument, and what must happen (send a request,
// transmit a released packet, drop one) goes out through the Sink.
//
// Entry life: a miss creates an Incomplete entry and sends a broadcast request; requests repeat
// every request_interval up to request_attempts, then queued packets are dropped
// (drop_arp_unresolved) and the entry is held Failed for one more interval so that a stream of
// packets to a dead address does not become a stream of broadcasts. A reply makes the entry
// Reachable for entry_lifetime; in the last tenth of that life a lookup sends a unicast
// request to the known MAC (RFC 1122 §2.3.2.1, "unicast poll"), so an address in use is
// refreshed before it ages out and traffic never stalls. Static entries never change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/clock.h"
#include "net/address.h"
#include "net/net_counters.h"

struct rte_mbuf;

namespace ferry::net {

class ArpCache {
 public:
  struct Options {
    size_t capacity = 4096;          // entries, fixed at construction
    size_t queue_per_entry = 8;      // packets waiting on one address
    size_t queue_total = 1024;       // packets waiting on all addresses together
    base::Duration entry_lifetime = std::chrono::seconds(300);
    base::Duration request_interval = std::chrono::seconds(1);
    uint32_t request_attempts = 3;
  };

  enum class State : uint8_t { kIncomplete, kReachable, kFailed, kStatic };

  // What the cache needs done. Packets handed to Transmit or Drop belong to the sink again.
  class Sink {
   public:
    virtual ~Sink() = default;
    // Send an ARP request for `target`: broadcast when `unicast_to` is null.
    virtual void SendRequest(Ipv4Address target, const MacAddress* unicast_to) = 0;
    // `packet` waited for `destination`; it can go now.
    virtual void Transmit(rte_mbuf* packet, const MacAddress& destination) = 0;
    // `packet` cannot be delivered; the reason is already counted.
    virtual void Drop(rte_mbuf* packet) = 0;
  };

  ArpCache(const Options& options, NetCounters& counters);
  ArpCache(const ArpCache&) = delete;
  ArpCache& operator=(const ArpCache&) = delete;

  // Sends `packet` to `next_hop`: through sink.Transmit at once if the address is known,
  // otherwise queued until it resolves. Drops (through sink.Drop, counted) when the queue or
  // the table is full or the address recently failed to resolve.
  void Output(Ipv4Address next_hop, rte_mbuf* packet, base::Instant now, Sink& sink);

  // The MAC for `ip` if usable now; sends the unicast refresh when the entry is near the end
  // of its life. Returns nullopt for unknown, incomplete, failed and expired entries.
  std::optional<MacAddress> Lookup(Ipv4Address ip, base::Instant now, Sink& sink);

  // RFC 826 "merge": a valid ARP packet said `ip` is at `mac`. An existing entry is updated
  // (and its queue released); a new one is created only when `create` (we were the target).
  // Static entries are never changed. Returns true if the table now maps ip to mac.
  bool Learn(Ipv4Address ip, const MacAddress& mac, bool create, base::Instant now, Sink& sink);

  // Adds a permanent entry; returns false if the table is full.
  bool AddStatic(Ipv4Address ip, const MacAddress& mac);

  // Repeats due requests, gives up on unresolvable addresses and ages out entries.
  // Call it at least every request_interval / 4 or so; its cost is linear in the table size.
  void Tick(base::Instant now, Sink& sink);

  std::optional<State> StateOf(Ipv4Address ip) const;
  size_t size() const { return entries_.size(); }
  size_t queued() const { return queue_total_ - free_slots_.size(); }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Entry {
    MacAddress mac;
    State state = State::kIncomplete;
    uint32_t attempts = 0;          // requests sent while Incomplete
    base::Instant deadline;         // Incomplete/Failed: next step; Reachable: expiry
    base::Instant last_refresh;     // Reachable: when the last unicast poll went out
    uint32_t queue_head = kNone;    // FIFO of waiting packets, through slots_
    uint32_t queue_tail = kNone;
    uint32_t queue_length = 0;
  };
  struct Slot {
    rte_mbuf* packet = nullptr;
    uint32_t next = kNone;
  };

  void Release(Entry& entry, Sink& sink);   // transmit every queued packet to entry.mac
  void DropQueue(Entry& entry, Sink& sink);  // drop every queued packet (unresolved)
  bool Enqueue(Entry& entry, rte_mbuf* packet);

  Options options_;
  NetCounters& counters_;
  absl::flat_hash_map<Ipv4Address, Entry> entries_;  // reserved to capacity: never rehashes
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;                  // stack of free indices into slots_
  size_t queue_total_;
};

}  // namespace ferry::net
