// One worker's TCP timers (retransmission, delayed ACK, persist, keepalive, TIME-WAIT,
// SYN-RECEIVED) on a hashed timing wheel: Varghese & Lauck, "Hashed and Hierarchical Timing
// Wheels" (1987), scheme 6.
//
// Time is cut into ticks of `Options::tick` counted from the wheel's origin. A timer's deadline
// is rounded *up* to a tick, its expiry tick E, and the timer is linked into slot
// E mod slots. Timers further out than one revolution share a slot with nearer ones; each
// keeps its absolute expiry tick and Advance fires a timer only when E <= the current tick, so
// nothing fires early and no per-revolution round counters need updating. Timers are
// intrusive: the owner embeds a TimerNode in its TCB, so Schedule and Cancel are O(1) list
// operations and never allocate. The wheel allocates its slot heads once, at construction.
//
// A timer fires at the first Advance(now) with now >= its deadline rounded up to the tick
// (never earlier; at most one tick later than the deadline, plus however late Advance is
// called). Advance(now) costs O(min(ticks elapsed, slots) + timers in the visited slots): a gap
// of hours visits each slot once, not once per tick. Timers many revolutions out (keepalive,
// hours) are passed over once per revolution: with N of them each tick costs about N / slots
// compares. Within one Advance, timers fire in expiry order when less than one revolution has
// elapsed; after a longer gap they fire in slot order.
//
// Callbacks may Schedule or Cancel any timer, including the one firing and ones due in the same
// Advance (a cancelled one does not fire). A timer armed from a callback for a tick the current
// Advance has reached fires at the next Advance, not this one, so a callback that re-arms its
// own timer "now" cannot loop forever.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/clock.h"

namespace ferry::tcp {

// The list links of a timer; also the type of the wheel's list heads.
struct TimerLink {
  TimerLink* prev = nullptr;
  TimerLink* next = nullptr;  // null exactly when not on a list
};

// One timer, embedded by its owner (for example `Tcb::rtx_timer`). `id` and `kind` are the
// owner's, for the callback to find what fired; the wheel never reads them. A node must not be
// destroyed while scheduled, and cannot be copied or moved (the wheel points at it).
struct TimerNode : TimerLink {
  TimerNode() = default;
  TimerNode(uint32_t id_in, uint32_t kind_in) : id(id_in), kind(kind_in) {}
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;
  ~TimerNode() { assert(next == nullptr && "TimerNode destroyed while scheduled"); }

  uint64_t expiry_tick = 0;  // the wheel's, valid while scheduled
  uint32_t id = 0;
  uint32_t kind = 0;
};

class TimerWheel {
 public:
  struct Options {
    base::Duration tick = std::chrono::milliseconds(1);  // > 0
    size_t slots = 4096;                                 // a power of two
  };

  // True if the wheel can be built from `options`; the config layer checks this (and names the
  // bad field) before a worker is made.
  static constexpr bool Valid(const Options& options) {
    return options.tick.count() > 0 && options.slots > 0 &&
           (options.slots & (options.slots - 1)) == 0;
  }

  // Ticks are counted from `origin`; deadlines before it are due at once. Options must be
  // Valid (asserted).
  TimerWheel(const Options& options, base::Instant origin);
  // Unlinks any timers still scheduled, so their nodes may then be destroyed.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms `node` to fire at `deadline` rounded up to the next tick. If it is already scheduled
  // it is moved (this is Reschedule). A deadline at or before the ticks already advanced fires
  // at the next Advance. O(1).
  void Schedule(TimerNode& node, base::Instant deadline);

  // Disarms `node`. Returns false if it was not scheduled (already fired or never armed). O(1).
  bool Cancel(TimerNode& node);

  // Fires (calls fire(TimerNode&) for) every timer due by `now`, each once and unlinked first,
  // so `fire` may re-arm it. `Fire` is any callable; it is not stored and nothing allocates.
  // `now` earlier than a previous Advance is treated as that earlier time. Returns the number
  // of timers fired.
  template <typename Fire>
  size_t Advance(base::Instant now, Fire&& fire);

  static bool scheduled(const TimerNode& node) { return node.next != nullptr; }
  // The instant `node` will fire at (its deadline rounded up to a tick); meaningless unless
  // scheduled.
  base::Instant ExpiryOf(const TimerNode& node) const {
    return origin_ + tick_ * static_cast<int64_t>(node.expiry_tick);
  }
  size_t size() const { return size_; }
  base::Duration tick() const { return tick_; }
  size_t slots() const { return mask_ + 1; }

 private:
  // Moves every timer due by the tick of `now` onto `due`, in firing order, and marks that tick
  // as reached. Returns false (and moves nothing) if there is nothing to do.
  bool CollectDue(base::Instant now, TimerLink& due);

  static void InitHead(TimerLink& head) { head.prev = head.next = &head; }
  static bool Empty(const TimerLink& head) { return head.next == &head; }
  static void PushBack(TimerLink& head, TimerLink& link) {
    link.prev = head.prev;
    link.next = &head;
    head.prev->next = &link;
    head.prev = &link;
  }
  static void Unlink(TimerLink& link) {
    link.prev->next = link.next;
    link.next->prev = link.prev;
    link.prev = link.next = nullptr;
  }

  base::Duration tick_;
  size_t mask_;
  base::Instant origin_;
  // Every tick <= reached_tick_ has been processed; timers armed for such a tick wait on
  // overdue_ for the next Advance.
  uint64_t reached_tick_ = 0;
  size_t size_ = 0;
  TimerLink overdue_;
  std::unique_ptr<TimerLink[]> slots_;
};

template <typename Fire>
size_t TimerWheel::Advance(base::Instant now, Fire&& fire) {
  // Collect first, fire second: a callback may unlink any node, including the next due one,
  // and a node taken off `due` is simply not fired.
  TimerLink due;
  InitHead(due);
  if (!CollectDue(now, due)) return 0;
  size_t fired = 0;
  while (!Empty(due)) {
    auto& node = static_cast<TimerNode&>(*due.next);
    Unlink(node);
    --size_;
    ++fired;
    fire(node);
  }
  return fired;
}

}  // namespace ferry::tcp
