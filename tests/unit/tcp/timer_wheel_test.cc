// TimerWheel: exact-tick firing, rounding up (never early), timers beyond one revolution,
// cancel and reschedule (also from inside callbacks), long gaps, and a seeded random run of
// 100k timers checked against a std::multimap model.
#include "tcp/timer_wheel.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace ferry::tcp {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

const base::Instant kOrigin = base::Instant{} + hours(1);

base::Instant At(base::Duration d) { return kOrigin + d; }

TimerWheel::Options Opts(base::Duration tick, size_t slots) {
  TimerWheel::Options o;
  o.tick = tick;
  o.slots = slots;
  return o;
}

// Records what fired, in order.
struct Recorder {
  std::vector<uint32_t> ids;
  void operator()(TimerNode& n) { ids.push_back(n.id); }
};

static_assert(TimerWheel::Valid(TimerWheel::Options{}));
static_assert(!TimerWheel::Valid(TimerWheel::Options{milliseconds(1), 4095}));
static_assert(!TimerWheel::Valid(TimerWheel::Options{milliseconds(1), 0}));
static_assert(!TimerWheel::Valid(TimerWheel::Options{nanoseconds(0), 4096}));

// ---------------------------------------------------------------------------------------------
// Firing time

TEST(TimerWheelTest, FiresAtExactTickAndOnlyOnce) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(7, 0);
  wheel.Schedule(t, At(milliseconds(5)));
  EXPECT_TRUE(wheel.scheduled(t));
  EXPECT_EQ(wheel.ExpiryOf(t), At(milliseconds(5)));

  Recorder r;
  EXPECT_EQ(wheel.Advance(At(milliseconds(4)), r), 0u);
  EXPECT_EQ(wheel.Advance(At(microseconds(4999)), r), 0u);
  EXPECT_TRUE(r.ids.empty());
  EXPECT_EQ(wheel.Advance(At(milliseconds(5)), r), 1u);
  EXPECT_EQ(r.ids, std::vector<uint32_t>{7});
  EXPECT_FALSE(wheel.scheduled(t));
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_EQ(wheel.Advance(At(milliseconds(5)), r), 0u);
  EXPECT_EQ(wheel.Advance(At(milliseconds(50)), r), 0u);
  EXPECT_EQ(r.ids.size(), 1u);
}

TEST(TimerWheelTest, DeadlineBetweenTicksRoundsUpNeverEarly) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(microseconds(5001)));
  EXPECT_EQ(wheel.ExpiryOf(t), At(milliseconds(6)));

  Recorder r;
  // Past the deadline but not at the next tick: a timer may be late by up to a tick, never
  // early.
  wheel.Advance(At(microseconds(5001)), r);
  wheel.Advance(At(microseconds(5999)), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(At(milliseconds(6)), r);
  EXPECT_EQ(r.ids.size(), 1u);
}

TEST(TimerWheelTest, ConfigurableTickGranularity) {
  TimerWheel wheel(Opts(milliseconds(10), 8), kOrigin);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(15)));
  EXPECT_EQ(wheel.ExpiryOf(t), At(milliseconds(20)));
  Recorder r;
  wheel.Advance(At(milliseconds(19)), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(At(milliseconds(20)), r);
  EXPECT_EQ(r.ids.size(), 1u);
}

TEST(TimerWheelTest, DeadlineAlreadyPassedFiresAtNextAdvance) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  Recorder r;
  wheel.Advance(At(milliseconds(10)), r);

  TimerNode past(1, 0), now(2, 0), before_origin(3, 0);
  wheel.Schedule(past, At(milliseconds(3)));
  wheel.Schedule(now, At(milliseconds(10)));
  wheel.Schedule(before_origin, kOrigin - hours(1));
  EXPECT_EQ(wheel.size(), 3u);
  // Same `now` as the last Advance: they are due, so they fire.
  EXPECT_EQ(wheel.Advance(At(milliseconds(10)), r), 3u);
  EXPECT_EQ(r.ids, (std::vector<uint32_t>{1, 2, 3}));
}

TEST(TimerWheelTest, TimeGoingBackwardsFiresNothingNew) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  Recorder r;
  wheel.Advance(At(milliseconds(10)), r);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(12)));
  wheel.Advance(At(milliseconds(5)), r);
  wheel.Advance(kOrigin - hours(1), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(At(milliseconds(12)), r);
  EXPECT_EQ(r.ids.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Beyond one revolution

TEST(TimerWheelTest, TimerBeyondOneRevolutionWaitsForItsRound) {
  TimerWheel wheel(Opts(milliseconds(1), 16), kOrigin);
  // 100 = 6 * 16 + 4: the same slot as 4, 20, 36, 52, 68, 84.
  TimerNode far(100, 0), near(4, 0), mid(52, 0);
  wheel.Schedule(far, At(milliseconds(100)));
  wheel.Schedule(near, At(milliseconds(4)));
  wheel.Schedule(mid, At(milliseconds(52)));

  Recorder r;
  std::vector<int> fired_at;
  for (int ms = 1; ms <= 120; ++ms) {
    const size_t before = r.ids.size();
    wheel.Advance(At(milliseconds(ms)), r);
    for (size_t i = before; i < r.ids.size(); ++i) {
      fired_at.push_back(ms);
      EXPECT_EQ(static_cast<int>(r.ids[i]), ms) << "timer " << r.ids[i] << " fired at " << ms;
    }
  }
  EXPECT_EQ(fired_at, (std::vector<int>{4, 52, 100}));
}

TEST(TimerWheelTest, LongTimerInOneBigStepIsNotFiredEarly) {
  TimerWheel wheel(Opts(milliseconds(1), 16), kOrigin);
  TimerNode far(1, 0);
  wheel.Schedule(far, At(milliseconds(1000)));
  Recorder r;
  // Jumps of more than a revolution land on far's slot without reaching its tick.
  wheel.Advance(At(milliseconds(500)), r);
  wheel.Advance(At(milliseconds(999)), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(At(milliseconds(1000)), r);
  EXPECT_EQ(r.ids.size(), 1u);
}

// Advance visits at most one revolution of slots, whatever the gap: a century of 1 ms ticks
// (3e12) would never finish if it walked tick by tick.
TEST(TimerWheelTest, LongGapFiresEverythingDueInOneRevolution) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> within_3h(0, hours(3) / nanoseconds(1));
  std::vector<TimerNode> due(10000);
  for (uint32_t i = 0; i < due.size(); ++i) {
    due[i].id = i;
    wheel.Schedule(due[i], At(nanoseconds(within_3h(rng))));
  }
  TimerNode later(99999, 0);
  const base::Instant century = At(hours(24 * 365 * 100));
  wheel.Schedule(later, century + milliseconds(1));

  std::vector<bool> seen(due.size(), false);
  size_t fired = wheel.Advance(century, [&](TimerNode& n) {
    ASSERT_LT(n.id, due.size());
    EXPECT_FALSE(seen[n.id]);
    seen[n.id] = true;
  });
  EXPECT_EQ(fired, due.size());
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
  EXPECT_TRUE(wheel.scheduled(later));
  EXPECT_EQ(wheel.size(), 1u);

  // Stepping on from the new position still works tick by tick.
  Recorder r;
  wheel.Advance(century + microseconds(999), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(century + milliseconds(1), r);
  EXPECT_EQ(r.ids, std::vector<uint32_t>{99999});
}

// ---------------------------------------------------------------------------------------------
// Cancel and reschedule

TEST(TimerWheelTest, CancelBeforeFire) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode a(1, 0), b(2, 0);
  EXPECT_FALSE(wheel.Cancel(a));  // never armed
  wheel.Schedule(a, At(milliseconds(5)));
  wheel.Schedule(b, At(milliseconds(5)));
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_TRUE(wheel.Cancel(a));
  EXPECT_FALSE(wheel.scheduled(a));
  EXPECT_FALSE(wheel.Cancel(a));
  EXPECT_EQ(wheel.size(), 1u);

  Recorder r;
  wheel.Advance(At(milliseconds(10)), r);
  EXPECT_EQ(r.ids, std::vector<uint32_t>{2});
  EXPECT_FALSE(wheel.Cancel(b));  // already fired
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CancelOverdueTimer) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  Recorder r;
  wheel.Advance(At(milliseconds(10)), r);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(1)));
  EXPECT_TRUE(wheel.Cancel(t));
  wheel.Advance(At(milliseconds(11)), r);
  EXPECT_TRUE(r.ids.empty());
}

TEST(TimerWheelTest, RescheduleLater) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(5)));
  wheel.Schedule(t, At(milliseconds(9000)));  // beyond one revolution of 4096
  EXPECT_EQ(wheel.size(), 1u);
  EXPECT_EQ(wheel.ExpiryOf(t), At(milliseconds(9000)));
  Recorder r;
  wheel.Advance(At(milliseconds(8999)), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(At(milliseconds(9000)), r);
  EXPECT_EQ(r.ids.size(), 1u);
}

TEST(TimerWheelTest, RescheduleEarlier) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(9000)));
  wheel.Schedule(t, At(milliseconds(3)));
  EXPECT_EQ(wheel.size(), 1u);
  Recorder r;
  wheel.Advance(At(milliseconds(2)), r);
  EXPECT_TRUE(r.ids.empty());
  wheel.Advance(At(milliseconds(3)), r);
  EXPECT_EQ(r.ids.size(), 1u);
  wheel.Advance(At(milliseconds(10000)), r);
  EXPECT_EQ(r.ids.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Callbacks that change the wheel

TEST(TimerWheelTest, PeriodicTimerReschedulesItselfInsideCallback) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(10)));
  std::vector<base::Instant> fired;
  auto rearm = [&](TimerNode& n) {
    EXPECT_FALSE(wheel.scheduled(n));  // unlinked before the callback
    fired.push_back(wheel.ExpiryOf(n));
    wheel.Schedule(n, wheel.ExpiryOf(n) + milliseconds(10));
  };
  for (int ms = 1; ms <= 100; ++ms) wheel.Advance(At(milliseconds(ms)), rearm);
  ASSERT_EQ(fired.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fired[i], At(milliseconds(10 * (i + 1))));
  EXPECT_TRUE(wheel.scheduled(t));
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Cancel(t);
}

TEST(TimerWheelTest, RearmForReachedTickFromCallbackWaitsForNextAdvance) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(1, 0), other(2, 0);
  wheel.Schedule(t, At(milliseconds(10)));
  int calls = 0;
  auto cb = [&](TimerNode& n) {
    ++calls;
    if (n.id == 1 && calls == 1) {
      wheel.Schedule(n, At(milliseconds(10)));      // "now" again: must not loop
      wheel.Schedule(other, At(milliseconds(50)));  // within this Advance's span
    }
  };
  EXPECT_EQ(wheel.Advance(At(milliseconds(100)), cb), 1u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(wheel.size(), 2u);
  EXPECT_EQ(wheel.Advance(At(milliseconds(100)), cb), 2u);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, RearmBeyondTargetFromCallbackFiresOnTime) {
  TimerWheel wheel(Opts(milliseconds(1), 16), kOrigin);
  TimerNode t(1, 0);
  wheel.Schedule(t, At(milliseconds(3)));
  std::vector<base::Instant> fired_at;
  base::Instant now;
  auto cb = [&](TimerNode& n) {
    fired_at.push_back(now);
    // 5 ms later lands in a slot this Advance has yet to visit; the expiry compare holds it.
    if (fired_at.size() == 1) wheel.Schedule(n, now + milliseconds(5));
  };
  now = At(milliseconds(6));
  wheel.Advance(now, cb);
  for (int ms = 7; ms <= 12; ++ms) {
    now = At(milliseconds(ms));
    wheel.Advance(now, cb);
  }
  EXPECT_EQ(fired_at, (std::vector<base::Instant>{At(milliseconds(6)), At(milliseconds(11))}));
}

TEST(TimerWheelTest, CallbackCancelsAnotherDueTimer) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode a(1, 0), b(2, 0), c(3, 0);
  wheel.Schedule(a, At(milliseconds(5)));
  wheel.Schedule(b, At(milliseconds(5)));
  wheel.Schedule(c, At(milliseconds(6)));
  std::vector<uint32_t> ids;
  auto cb = [&](TimerNode& n) {
    ids.push_back(n.id);
    // Whichever of a and b fires first cancels the other and c, all already collected as due.
    EXPECT_TRUE(wheel.Cancel(n.id == 1 ? b : a));
    EXPECT_TRUE(wheel.Cancel(c));
  };
  EXPECT_EQ(wheel.Advance(At(milliseconds(6)), cb), 1u);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CallbackReschedulesAnotherDueTimerLater) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode a(1, 0), b(2, 0);
  wheel.Schedule(a, At(milliseconds(5)));
  wheel.Schedule(b, At(milliseconds(6)));
  std::vector<uint32_t> ids;
  auto cb = [&](TimerNode& n) {
    ids.push_back(n.id);
    if (n.id == 1) wheel.Schedule(b, At(milliseconds(20)));
  };
  wheel.Advance(At(milliseconds(10)), cb);
  EXPECT_EQ(ids, std::vector<uint32_t>{1});
  wheel.Advance(At(milliseconds(20)), cb);
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2}));
}

TEST(TimerWheelTest, KindAndIdReachTheCallback) {
  TimerWheel wheel(TimerWheel::Options{}, kOrigin);
  TimerNode t(12345, 3);
  wheel.Schedule(t, At(milliseconds(1)));
  TimerNode* got = nullptr;
  wheel.Advance(At(milliseconds(1)), [&](TimerNode& n) { got = &n; });
  ASSERT_EQ(got, &t);
  EXPECT_EQ(got->id, 12345u);
  EXPECT_EQ(got->kind, 3u);
}

TEST(TimerWheelTest, DestroyingTheWheelUnlinksScheduledNodes) {
  TimerNode a(1, 0), b(2, 0);
  {
    TimerWheel wheel(TimerWheel::Options{}, kOrigin);
    wheel.Schedule(a, At(milliseconds(5)));
    wheel.Schedule(b, kOrigin);  // overdue list
  }
  EXPECT_FALSE(TimerWheel::scheduled(a));
  EXPECT_FALSE(TimerWheel::scheduled(b));
}

// ---------------------------------------------------------------------------------------------
// Random run against a model

// The model: expiry tick -> node index, plus each node's position in it. A timer is due when
// its rounded-up tick <= the tick of `now`, which is what the wheel promises.
class Model {
 public:
  explicit Model(size_t n) : where_(n), armed_(n, false) {}
  void Schedule(uint32_t i, uint64_t tick) {
    Cancel(i);
    where_[i] = by_tick_.emplace(tick, i);
    armed_[i] = true;
  }
  bool Cancel(uint32_t i) {
    if (!armed_[i]) return false;
    by_tick_.erase(where_[i]);
    armed_[i] = false;
    return true;
  }
  // Removes and returns the due nodes, sorted.
  std::vector<uint32_t> TakeDue(uint64_t tick) {
    std::vector<uint32_t> due;
    auto end = by_tick_.upper_bound(tick);
    for (auto it = by_tick_.begin(); it != end; ++it) {
      due.push_back(it->second);
      armed_[it->second] = false;
    }
    by_tick_.erase(by_tick_.begin(), end);
    std::sort(due.begin(), due.end());
    return due;
  }
  size_t size() const { return by_tick_.size(); }
  bool armed(uint32_t i) const { return armed_[i]; }

 private:
  std::multimap<uint64_t, uint32_t> by_tick_;
  std::vector<std::multimap<uint64_t, uint32_t>::iterator> where_;
  std::vector<bool> armed_;
};

TEST(TimerWheelTest, RandomScheduleCancelAdvanceMatchesModel) {
  constexpr uint32_t kTimers = 100000;
  constexpr int64_t kTickNs = 1000000;
  constexpr size_t kSlots = 256;  // small, so most timers are many revolutions out
  TimerWheel wheel(Opts(nanoseconds(kTickNs), kSlots), kOrigin);
  Model model(kTimers);
  std::vector<TimerNode> nodes(kTimers);
  for (uint32_t i = 0; i < kTimers; ++i) nodes[i].id = i;

  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<uint32_t> pick(0, kTimers - 1);
  // Delays from 0 to 40 revolutions, in nanoseconds so that rounding is exercised.
  std::uniform_int_distribution<int64_t> delay(0, 40 * kSlots * kTickNs);
  std::uniform_int_distribution<int> op(0, 999);
  // Mostly steps shorter than a tick (several Advances per tick), rarely up to 3 revolutions.
  std::uniform_int_distribution<int64_t> small_step(0, kTickNs / 2);
  std::uniform_int_distribution<int64_t> big_step(0, 3 * kSlots * kTickNs);

  base::Duration now_since_origin{0};
  auto tick_up = [](int64_t ns) {
    return ns <= 0 ? uint64_t{0} : static_cast<uint64_t>((ns + kTickNs - 1) / kTickNs);
  };
  auto schedule = [&](uint32_t i, int64_t d) {
    wheel.Schedule(nodes[i], kOrigin + nanoseconds(d));
    model.Schedule(i, tick_up(d));
  };

  for (uint32_t i = 0; i < kTimers; ++i) schedule(i, delay(rng));
  ASSERT_EQ(wheel.size(), kTimers);

  size_t total_fired = 0;
  size_t rearmed_in_callback = 0;
  size_t max_fired_at_once = 0;
  for (int step = 0; step < 300000; ++step) {
    const int o = op(rng);
    if (o < 550) {
      // A few deadlines in the past, to exercise the overdue path.
      const int64_t past = o < 20 ? 5 * kTickNs : 0;
      schedule(pick(rng), now_since_origin.count() + delay(rng) - past);
    } else if (o < 850) {
      const uint32_t i = pick(rng);
      ASSERT_EQ(wheel.Cancel(nodes[i]), model.Cancel(i)) << "step " << step;
    } else {
      const bool big = o == 999;
      now_since_origin += nanoseconds(big ? big_step(rng) : small_step(rng));
      const uint64_t now_tick = static_cast<uint64_t>(now_since_origin.count() / kTickNs);
      const std::vector<uint32_t> expected = model.TakeDue(now_tick);
      const base::Instant now = kOrigin + now_since_origin;

      std::vector<uint32_t> fired;
      uint64_t last_expiry = 0;
      bool in_order = true;
      wheel.Advance(now, [&](TimerNode& n) {
        fired.push_back(n.id);
        EXPECT_LE(wheel.ExpiryOf(n), now) << "fired early";
        if (n.expiry_tick < last_expiry) in_order = false;
        last_expiry = n.expiry_tick;
        // Re-arm about a third of them from inside the callback.
        if (op(rng) < 333) {
          schedule(n.id, now_since_origin.count() + delay(rng) / 64);
          ++rearmed_in_callback;
        }
      });
      if (!big) {
        EXPECT_TRUE(in_order) << "step " << step;
      }
      std::sort(fired.begin(), fired.end());
      ASSERT_EQ(fired, expected) << "step " << step;
      total_fired += fired.size();
      max_fired_at_once = std::max(max_fired_at_once, fired.size());
    }
    ASSERT_EQ(wheel.size(), model.size()) << "step " << step;
  }
  for (uint32_t i = 0; i < kTimers; ++i) ASSERT_EQ(wheel.scheduled(nodes[i]), model.armed(i));
  // The run must have done real work for the comparison to mean anything.
  EXPECT_GT(total_fired, 20000u);
  EXPECT_GT(max_fired_at_once, 1000u);
  EXPECT_GT(rearmed_in_callback, 5000u);
  EXPECT_GT(wheel.size(), 5000u);
  // The nodes are destroyed before the wheel, and a node must not die scheduled.
  for (auto& n : nodes) wheel.Cancel(n);
}

}  // namespace
}  // namespace ferry::tcp
