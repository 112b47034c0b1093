#include "tcp/timer_wheel.h"

#include <algorithm>

namespace ferry::tcp {
namespace {

// Ticks from the origin to `t`, rounded down (for now) or up (for deadlines); 0 before it.
uint64_t TicksDown(base::Duration since_origin, base::Duration tick) {
  if (since_origin.count() <= 0) return 0;
  return static_cast<uint64_t>(since_origin.count() / tick.count());
}

uint64_t TicksUp(base::Duration since_origin, base::Duration tick) {
  if (since_origin.count() <= 0) return 0;
  const auto d = since_origin.count();
  const auto t = tick.count();
  return static_cast<uint64_t>(d / t + (d % t != 0 ? 1 : 0));
}

}  // namespace

TimerWheel::TimerWheel(const Options& options, base::Instant origin)
    : tick_(options.tick),
      mask_(options.slots - 1),
      origin_(origin),
      slots_(new TimerLink[options.slots]) {
  assert(Valid(options));
  InitHead(overdue_);
  for (size_t i = 0; i < options.slots; ++i) InitHead(slots_[i]);
}

TimerWheel::~TimerWheel() {
  auto clear = [](TimerLink& head) {
    while (!Empty(head)) Unlink(*head.next);
  };
  clear(overdue_);
  for (size_t i = 0; i <= mask_; ++i) clear(slots_[i]);
}

void TimerWheel::Schedule(TimerNode& node, base::Instant deadline) {
  if (scheduled(node)) {
    Unlink(node);
  } else {
    ++size_;
  }
  node.expiry_tick = TicksUp(deadline - origin_, tick_);
  if (node.expiry_tick <= reached_tick_) {
    PushBack(overdue_, node);
  } else {
    PushBack(slots_[node.expiry_tick & mask_], node);
  }
}

bool TimerWheel::Cancel(TimerNode& node) {
  if (!scheduled(node)) return false;
  Unlink(node);
  --size_;
  return true;
}

bool TimerWheel::CollectDue(base::Instant now, TimerLink& due) {
  // Timers armed for a tick already reached go first: they are the oldest due.
  if (!Empty(overdue_)) {
    TimerLink* first = overdue_.next;
    TimerLink* last = overdue_.prev;
    first->prev = due.prev;
    due.prev->next = first;
    last->next = &due;
    due.prev = last;
    InitHead(overdue_);
  }

  const uint64_t target = TicksDown(now - origin_, tick_);
  if (target > reached_tick_) {
    // Ticks reached_tick_+1 .. target, but never more than one revolution of slots: after a
    // longer gap every slot is visited once and the expiry compare picks what is due.
    const uint64_t visits = std::min<uint64_t>(target - reached_tick_, mask_ + 1);
    for (uint64_t i = 1; i <= visits; ++i) {
      TimerLink& head = slots_[(reached_tick_ + i) & mask_];
      for (TimerLink* link = head.next; link != &head;) {
        TimerLink* next = link->next;
        if (static_cast<TimerNode*>(link)->expiry_tick <= target) {
          Unlink(*link);
          PushBack(due, *link);
        }
        link = next;
      }
    }
    // Set before any callback runs, so that timers armed from callbacks for a tick <= target
    // go to overdue_ and wait for the next Advance.
    reached_tick_ = target;
  }
  return !Empty(due);
}

}  // namespace ferry::tcp
