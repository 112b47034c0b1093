#include "tcp/isn.h"

#include <array>
#include <chrono>
#include <ratio>

namespace ferry::tcp {

Seq IsnGenerator::Next(const FourTuple& tuple, base::Instant now) const {
  // M, the 4-microsecond clock of RFC 9293 §3.4.1 / RFC 6528 §3. floor (not truncation) keeps
  // ticks evenly spaced even before the epoch; the cast to 32 bits is the clock's wraparound.
  using Ticks = std::chrono::duration<int64_t, std::ratio<4, 1'000'000>>;
  static_assert(Ticks(1) == kTick);
  const int64_t ticks = std::chrono::floor<Ticks>(now.time_since_epoch()).count();
  const uint32_t m = static_cast<uint32_t>(static_cast<uint64_t>(ticks));
  // F(localip, localport, remoteip, remoteport, secretkey), RFC 6528 §3: a keyed PRF of the
  // 4-tuple, here SipHash-2-4 truncated to its low 32 bits.
  const uint64_t ips = uint64_t{tuple.local_ip.value} << 32 | tuple.remote_ip.value;
  const uint64_t ports = uint64_t{tuple.local_port} << 16 | tuple.remote_port;
  const uint32_t f = static_cast<uint32_t>(base::SipHash24Words(key_, {ips, ports}));
  return Seq(m) + f;
}

absl::StatusOr<base::SipKey> IsnGenerator::MakeKey(
    absl::FunctionRef<absl::Status(std::span<uint8_t>)> fill_random) {
  std::array<uint8_t, 16> bytes{};
  if (absl::Status s = fill_random(bytes); !s.ok()) return s;
  const base::SipKey key = base::SipKey::FromBytes(bytes);
  if (key == base::SipKey{}) {
    return absl::InternalError(
        "random source gave an all-zero 128-bit SipHash key; refusing it (broken source?)");
  }
  return key;
}

}  // namespace ferry::tcp
