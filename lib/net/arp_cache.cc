#include "net/arp_cache.h"

#include <algorithm>

namespace ferry::net {

using base::Instant;

ArpCache::ArpCache(const Options& options, NetCounters& counters)
    : options_(options), counters_(counters), queue_total_(options.queue_total) {
  // Twice the capacity: erasures leave tombstones, and an in-place cleanup (not a reallocating
  // resize) happens only while the table is under 25/32 full.
  entries_.reserve(options_.capacity * 2);
  slots_.resize(queue_total_);
  free_slots_.reserve(queue_total_);
  for (size_t i = queue_total_; i-- > 0;) free_slots_.push_back(static_cast<uint32_t>(i));
}

bool ArpCache::Enqueue(Entry& entry, rte_mbuf* packet) {
  if (entry.queue_length >= options_.queue_per_entry || free_slots_.empty()) return false;
  const uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  slots_[index] = Slot{packet, kNone};
  if (entry.queue_tail == kNone) {
    entry.queue_head = index;
  } else {
    slots_[entry.queue_tail].next = index;
  }
  entry.queue_tail = index;
  ++entry.queue_length;
  return true;
}

void ArpCache::Release(Entry& entry, Sink& sink) {
  // Detach the queue first: Transmit may come back into the cache.
  uint32_t index = entry.queue_head;
  entry.queue_head = entry.queue_tail = kNone;
  entry.queue_length = 0;
  const MacAddress mac = entry.mac;
  while (index != kNone) {
    Slot slot = slots_[index];
    free_slots_.push_back(index);
    sink.Transmit(slot.packet, mac);
    index = slot.next;
  }
}

void ArpCache::DropQueue(Entry& entry, Sink& sink) {
  uint32_t index = entry.queue_head;
  entry.queue_head = entry.queue_tail = kNone;
  entry.queue_length = 0;
  while (index != kNone) {
    Slot slot = slots_[index];
    free_slots_.push_back(index);
    counters_.Add(NetCounter::kDropArpUnresolved);
    sink.Drop(slot.packet);
    index = slot.next;
  }
}

void ArpCache::Output(Ipv4Address next_hop, rte_mbuf* packet, Instant now, Sink& sink) {
  if (std::optional<MacAddress> mac = Lookup(next_hop, now, sink)) {
    sink.Transmit(packet, *mac);
    return;
  }
  auto it = entries_.find(next_hop);
  if (it == entries_.end() || it->second.state == State::kReachable) {
    // Unknown, or Reachable but expired (Lookup refused it): resolve afresh.
    if (it == entries_.end()) {
      if (entries_.size() >= options_.capacity) {
        counters_.Add(NetCounter::kDropArpTableFull);
        sink.Drop(packet);
        return;
      }
      it = entries_.emplace(next_hop, Entry{}).first;
    }
    Entry& entry = it->second;
    entry.state = State::kIncomplete;
    entry.attempts = 1;
    entry.deadline = now + options_.request_interval;
    counters_.Add(NetCounter::kArpRequestsOut);
    sink.SendRequest(next_hop, nullptr);
  }
  Entry& entry = it->second;
  if (entry.state == State::kFailed) {
    counters_.Add(NetCounter::kDropArpUnresolved);
    sink.Drop(packet);
    return;
  }
  if (!Enqueue(entry, packet)) {
    counters_.Add(NetCounter::kDropArpQueueFull);
    sink.Drop(packet);
  }
}

std::optional<MacAddress> ArpCache::Lookup(Ipv4Address ip, Instant now, Sink& sink) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  Entry& entry = it->second;
  switch (entry.state) {
    case State::kStatic:
      return entry.mac;
    case State::kReachable: {
      if (now >= entry.deadline) return std::nullopt;
      const base::Duration left = entry.deadline - now;
      if (left < options_.entry_lifetime / 10 &&
          now - entry.last_refresh >= options_.request_interval) {
        entry.last_refresh = now;
        counters_.Add(NetCounter::kArpRequestsOut);
        sink.SendRequest(ip, &entry.mac);
      }
      return entry.mac;
    }
    case State::kIncomplete:
    case State::kFailed:
      return std::nullopt;
  }
  return std::nullopt;
}

bool ArpCache::Learn(Ipv4Address ip, const MacAddress& mac, bool create, Instant now,
                     Sink& sink) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (!create) return false;
    if (entries_.size() >= options_.capacity) {
      counters_.Add(NetCounter::kDropArpTableFull);
      return false;
    }
    it = entries_.emplace(ip, Entry{}).first;
  }
  Entry& entry = it->second;
  if (entry.state == State::kStatic) return entry.mac == mac;
  entry.mac = mac;
  entry.state = State::kReachable;
  entry.attempts = 0;
  entry.deadline = now + options_.entry_lifetime;
  entry.last_refresh = now;
  counters_.Add(NetCounter::kArpEntriesLearned);
  Release(entry, sink);
  return true;
}

bool ArpCache::AddStatic(Ipv4Address ip, const MacAddress& mac) {
  auto it = entries_.find(ip);
  if (it == entries_.end()) {
    if (entries_.size() >= options_.capacity) return false;
    it = entries_.emplace(ip, Entry{}).first;
  }
  it->second.mac = mac;
  it->second.state = State::kStatic;
  return true;
}

void ArpCache::Tick(Instant now, Sink& sink) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& entry = it->second;
    bool erase = false;
    switch (entry.state) {
      case State::kStatic:
        break;
      case State::kReachable:
        if (now >= entry.deadline) {
          counters_.Add(NetCounter::kArpEntriesExpired);
          erase = true;
        }
        break;
      case State::kIncomplete:
        if (now < entry.deadline) break;
        if (entry.attempts < options_.request_attempts) {
          ++entry.attempts;
          entry.deadline = now + options_.request_interval;
          counters_.Add(NetCounter::kArpRequestsOut);
          sink.SendRequest(it->first, nullptr);
        } else {
          DropQueue(entry, sink);
          entry.state = State::kFailed;
          entry.deadline = now + options_.request_interval;
        }
        break;
      case State::kFailed:
        erase = now >= entry.deadline;
        break;
    }
    if (erase) {
      entries_.erase(it++);
    } else {
      ++it;
    }
  }
}

std::optional<ArpCache::State> ArpCache::StateOf(Ipv4Address ip) const {
  auto it = entries_.find(ip);
  if (it == entries_.end()) return std::nullopt;
  return it->second.state;
}

}  // namespace ferry::net
