// TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4, "Sequence
// Numbers": "all arithmetic dealing with sequence numbers must be performed modulo 2**32").
// a < b means b is ahead of a by less than 2^31. Every comparison in lib/tcp goes through this
// type, never through raw uint32_t, so a wraparound bug cannot hide in one place.
#pragma once

#include <cstdint>

namespace ferry::tcp {

class Seq {
 public:
  constexpr Seq() = default;
  constexpr explicit Seq(uint32_t raw) : raw_(raw) {}
  constexpr uint32_t raw() const { return raw_; }

  constexpr Seq operator+(uint32_t n) const { return Seq(raw_ + n); }
  constexpr Seq operator-(uint32_t n) const { return Seq(raw_ - n); }
  constexpr Seq& operator+=(uint32_t n) { raw_ += n; return *this; }
  constexpr Seq& operator-=(uint32_t n) { raw_ -= n; return *this; }
  // Distance from b to a (a - b) as a signed 32-bit value: positive when a is ahead of b.
  friend constexpr int32_t operator-(Seq a, Seq b) { return static_cast<int32_t>(a.raw_ - b.raw_); }

  friend constexpr bool operator==(Seq a, Seq b) { return a.raw_ == b.raw_; }
  friend constexpr bool operator<(Seq a, Seq b) { return (a - b) < 0; }
  friend constexpr bool operator<=(Seq a, Seq b) { return (a - b) <= 0; }
  friend constexpr bool operator>(Seq a, Seq b) { return (a - b) > 0; }
  friend constexpr bool operator>=(Seq a, Seq b) { return (a - b) >= 0; }

 private:
  uint32_t raw_ = 0;
};

constexpr Seq Max(Seq a, Seq b) { return a < b ? b : a; }
constexpr Seq Min(Seq a, Seq b) { return a < b ? a : b; }

// lo <= x < hi, modulo 2^32 (RFC 9293's "x in [lo, hi)").
constexpr bool InWindow(Seq x, Seq lo, Seq hi) { return lo <= x && x < hi; }

}  // namespace ferry::tcp
