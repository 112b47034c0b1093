// Initial sequence numbers per RFC 6528 §3 (which RFC 9293 §3.4.1 adopts):
//
//   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// M is the RFC 9293 §3.4.1 clock, a 32-bit counter that ticks every 4 microseconds (250,000
// per second, wrapping every ~4.77 hours), taken here from the caller's `now`. F is
// SipHash-2-4 (base/siphash.h) of the 4-tuple under a secret key, truncated to 32 bits.
//
// Why both terms (RFC 6528 §3): F gives each 4-tuple its own sequence-number space that an
// off-path attacker cannot guess without the key, so it cannot forge segments that fall into a
// connection's window; M makes successive incarnations of the same 4-tuple start ahead of the
// old one's sequence numbers, so stray segments of an old connection are not taken as new
// data (RFC 9293 §3.4.1).
//
// One generator per worker, with that worker's own key, drawn at start-up from the kernel's
// random source (RFC 6528 §3: F must not be computable from outside, so its key is secret and
// random; SipHash's is 128 bits). A given 4-tuple is always steered to the same worker
// (RSS), so it always meets the same key and the same clock, and its ISNs advance with M as
// RFC 6528 requires. Each worker's Instant has its own epoch; that only shifts M by a constant
// per worker, which the random F hides anyway.
//
// Next is a pure function of its arguments: no clock is read, nothing is allocated.
#pragma once

#include <cstdint>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/siphash.h"
#include "tcp/four_tuple.h"
#include "tcp/seq.h"

namespace ferry::tcp {

class IsnGenerator {
 public:
  // RFC 9293 §3.4.1: "bound to a (possibly fictitious) 32-bit clock whose low-order bit is
  // incremented roughly every 4 microseconds".
  static constexpr base::Duration kTick = std::chrono::microseconds(4);
  static constexpr uint32_t kTicksPerSecond = 250'000;

  explicit IsnGenerator(const base::SipKey& key) : key_(key) {}

  // The ISN for a connection on `tuple` opened at `now`. The same tuple and time always give
  // the same ISN; one tick of kTick later it is one more (mod 2^32). Never fails.
  Seq Next(const FourTuple& tuple, base::Instant now) const;

  // Control path, once per worker at start-up: a fresh 128-bit key (for this generator, or for
  // SynCookies) from `fill_random`, which must fill the whole span with unpredictable bytes or
  // return an error, e.g. a wrapper around getrandom(2). Returns that error unchanged, or
  // Internal if the source produced an all-zero key (a broken source, not bad luck: the odds
  // are 2^-128).
  static absl::StatusOr<base::SipKey> MakeKey(
      absl::FunctionRef<absl::Status(std::span<uint8_t>)> fill_random);

 private:
  base::SipKey key_;
};

}  // namespace ferry::tcp
