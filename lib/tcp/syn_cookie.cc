#include "tcp/syn_cookie.h"

#include <cassert>
#include <ratio>

namespace ferry::tcp {
namespace {

constexpr int kCounterShift = 27;  // bits 31..27: t mod 32
constexpr uint32_t kCounterMask = 0x1f;
constexpr int kMssShift = 24;  // bits 26..24: MSS index
constexpr uint32_t kMssMask = 0x7;
constexpr uint32_t kMacMask = 0x00ff'ffff;  // bits 23..0

static_assert(kSynCookieMssTable.size() == kMssMask + 1);

// t = floor(now / 64 s). floor, so instants before the clock's epoch count down evenly; the
// cast wraps negative counters, which the modular arithmetic below tolerates.
uint64_t Counter(base::Instant now) {
  using Periods = std::chrono::duration<int64_t, std::ratio<64>>;
  static_assert(Periods(1) == kCookiePeriod);
  return static_cast<uint64_t>(std::chrono::floor<Periods>(now.time_since_epoch()).count());
}

uint32_t MssIndex(uint16_t peer_mss) {
  uint32_t i = kSynCookieMssTable.size() - 1;
  while (i > 0 && kSynCookieMssTable[i] > peer_mss) --i;
  return i;
}

constexpr uint32_t kTsWscaleMask = 0x0f;
constexpr uint32_t kTsSackBit = 0x10;
constexpr uint32_t kTsOptionBits = 0x3f;  // bit 5 reserved (ECN in Linux's layout)

}  // namespace

uint32_t SynCookies::Mac(const FourTuple& tuple, Seq peer_isn, uint64_t counter,
                         uint32_t mss_index) const {
  const uint64_t ips = uint64_t{tuple.local_ip.value} << 32 | tuple.remote_ip.value;
  const uint64_t ports_isn = uint64_t{tuple.local_port} << 48 |
                             uint64_t{tuple.remote_port} << 32 | peer_isn.raw();
  return static_cast<uint32_t>(base::SipHash24Words(key_, {ips, ports_isn, counter, mss_index})) &
         kMacMask;
}

Seq SynCookies::MakeCookie(const FourTuple& tuple, Seq peer_isn, uint16_t peer_mss,
                           base::Instant now) const {
  const uint64_t t = Counter(now);
  const uint32_t index = MssIndex(peer_mss);
  return Seq((static_cast<uint32_t>(t) & kCounterMask) << kCounterShift |
             index << kMssShift | Mac(tuple, peer_isn, t, index));
}

std::optional<uint16_t> SynCookies::CheckCookie(const FourTuple& tuple, Seq peer_isn, Seq cookie,
                                                base::Instant now) const {
  const uint64_t t_now = Counter(now);
  const uint32_t c = cookie.raw();
  // How many periods ago the cookie was made, mod 32: a cookie from the future shows up as
  // 31, 30, ... and is refused along with stale ones.
  const uint32_t age = (static_cast<uint32_t>(t_now) - (c >> kCounterShift)) & kCounterMask;
  if (age >= kCookiePeriods) return std::nullopt;
  const uint32_t index = (c >> kMssShift) & kMssMask;
  if ((c & kMacMask) != Mac(tuple, peer_isn, t_now - age, index)) return std::nullopt;
  return kSynCookieMssTable[index];
}

uint32_t EncodeTsval(uint32_t ts_now, uint8_t wscale, bool sack_ok) {
  assert(wscale <= kCookieNoWindowScale);
  const uint32_t options = (wscale & kTsWscaleMask) | (sack_ok ? kTsSackBit : 0);
  uint32_t ts = (ts_now & ~kTsOptionBits) | options;
  // RFC 7323 §5.3: TSvals compare modulo 2^32; never send one ahead of the clock, or the next
  // segment's TSval (from the clock) would look older than this one to the peer's PAWS check.
  if (static_cast<int32_t>(ts - ts_now) > 0) ts -= kTsOptionBits + 1;
  return ts;
}

CookieTsOptions DecodeTsecr(uint32_t tsecr) {
  CookieTsOptions o;
  const uint8_t wscale = tsecr & kTsWscaleMask;
  if (wscale != kCookieNoWindowScale) o.wscale = wscale;
  o.sack_ok = (tsecr & kTsSackBit) != 0;
  return o;
}

}  // namespace ferry::tcp
