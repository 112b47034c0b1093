// SYN cookies (RFC 4987 §3.6, after D. J. Bernstein's 1996 design): when a listener's SYN
// backlog is full, ferry answers a SYN without keeping any state, and encodes what it must
// remember about the SYN in the ISN of its SYN-ACK. The ACK that completes the handshake
// acknowledges that ISN + 1; if the cookie checks out, the connection is built from the ACK
// alone. Linux's layout served as a reference for the idea; the code is ferry's own.
//
// The cookie (our ISN), 32 bits:
//
//    31       27 26   24 23                                          0
//   +-----------+-------+---------------------------------------------+
//   | t mod 32  | MSS   | MAC: low 24 bits of SipHash-2-4 under the   |
//   |           | index | listener's key of (4-tuple, peer ISN, t,    |
//   |           |       | MSS index)                                  |
//   +-----------+-------+---------------------------------------------+
//
// - t = floor(now / 64 s), the counter. Only t mod 32 travels; the MAC covers the full t, so a
//   cookie from 32 periods ago does not alias one from now. The counter in the top bits makes
//   successive cookie ISNs for a tuple move forward with time, as RFC 4987 §3.6 describes.
// - The MSS index: kSynCookieMssTable[index] is the largest table entry <= the peer's MSS.
//   The MAC covers it, so the peer cannot raise its MSS by editing these bits.
// - The peer's ISN is in the MAC: a cookie answers one SYN only.
//
// Lifetime: CheckCookie accepts counters t_now and t_now - 1 (kCookiePeriods = 2), so a cookie
// stays valid at least 64 s and at most 128 s after MakeCookie, depending on where in its
// period it was made. Counters older than that, or ahead of now (t_now + 1 .. t_now + 30 mod
// 32), are refused. Nothing is retransmitted from a cookie (there is no state to retransmit
// from); a client whose SYN-ACK was lost retransmits its SYN and gets a fresh cookie.
//
// Forgery: a blind guess must hit one of the 2 accepted counters out of 32 and the 24-bit MAC,
// 2^-28 per random ACK (2^-24 for an attacker that knows the current counter). That is Linux's
// margin too; a success yields a connection from a spoofed address whose replies the attacker
// cannot read.
//
// What is lost (RFC 4987 §3.6: a cookie cannot hold the TCP options a SYN negotiates, such as
// window scaling and SACK): the cookie has room for the MSS only. When the SYN carried no timestamps, the SYN-ACK must
// offer neither window scale nor SACK-permitted, and the connection runs with both off
// (windows of at most 64 KiB, RFC 7323 §2; loss recovery without SACK, RFC 2018). When the
// SYN carried timestamps (RFC 7323 §3), the low 6 bits of our TSval in the SYN-ACK carry the
// peer's window scale shift and its SACK-permitted flag (EncodeTsval); the ACK echoes that
// TSval in TSecr (RFC 7323 §3.2) and DecodeTsecr recovers them. Our own window scale is not
// stored: the listener derives it from its configuration, the same one it put in the SYN-ACK.
// The TSecr bits are not authenticated; a peer that edits them only chooses options it could
// have asked for in its SYN.
//
// Keys: one SynCookies per worker, with its own key (IsnGenerator::MakeKey), distinct from the
// worker's ISN key. A tuple is always steered to the same worker (RSS), so the ACK meets the
// key and the clock that made its cookie. Everything here is a pure function of its
// arguments: no clock is read, nothing is allocated.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "base/siphash.h"
#include "tcp/four_tuple.h"
#include "tcp/seq.h"

namespace ferry::tcp {

// The MSS values a cookie can carry, smallest first; the index takes 3 bits.
inline constexpr std::array<uint16_t, 8> kSynCookieMssTable = {
    64,    // floor for peers below 536 (tiny-MTU links); a peer below 64 gets 64 as well,
           // and the TCB's own minimum MSS applies in any case
    536,   // RFC 9293 §3.7.1 default (576-byte datagrams): a SYN with no MSS option
    1220,  // 1280-byte MTU paths (many tunnels; IPv6's minimum MTU) less 60 bytes of headers
    1380,  // WireGuard (MTU 1420) and IPsec paths
    1440,  // Ethernet less 60 bytes: PPPoE (1452) and other light encapsulations round here
    1460,  // Ethernet, 1500 - 40
    4312,  // 4352-byte MTU links
    8960,  // 9000-byte jumbo frames
};

// The counter period, and how many periods (the current one and the one before) are accepted.
inline constexpr base::Duration kCookiePeriod = std::chrono::seconds(64);
inline constexpr uint32_t kCookiePeriods = 2;

class SynCookies {
 public:
  explicit SynCookies(const base::SipKey& key) : key_(key) {}

  // Our ISN for a SYN-ACK answering a SYN on `tuple` with sequence number `peer_isn` and MSS
  // option `peer_mss` (536 if the SYN had none, RFC 9293 §3.7.1). The MSS recorded is the
  // largest kSynCookieMssTable entry <= peer_mss (or the smallest entry if none is). Never
  // fails.
  Seq MakeCookie(const FourTuple& tuple, Seq peer_isn, uint16_t peer_mss,
                 base::Instant now) const;

  // For an ACK (no SYN, no RST) arriving for a listener with no matching SYN-RECEIVED TCB:
  // peer_isn = SEG.SEQ - 1, cookie = SEG.ACK - 1. Returns the MSS recorded in the cookie if it
  // was made by this key for this tuple and peer ISN in the current or the previous period;
  // nullopt otherwise (forged, stale, from the future, or for another connection). The caller
  // drops the segment and counts it; RFC 9293 §3.10.7.2 would answer an unacceptable ACK to a
  // LISTEN socket with a RST, which the caller may rate-limit.
  std::optional<uint16_t> CheckCookie(const FourTuple& tuple, Seq peer_isn, Seq cookie,
                                      base::Instant now) const;

 private:
  uint32_t Mac(const FourTuple& tuple, Seq peer_isn, uint64_t counter,
               uint32_t mss_index) const;

  base::SipKey key_;
};

// Window scale and SACK-permitted carried in the low bits of our SYN-ACK's TSval.
// Bits 0-3: the peer's window scale shift 0..14, or 15 for "the SYN had no window scale
// option". Bit 4: SACK-permitted. Bit 5: reserved (Linux puts ECN there; ferry does not
// negotiate ECN and sends 0).
inline constexpr uint8_t kCookieNoWindowScale = 15;

struct CookieTsOptions {
  std::optional<uint8_t> wscale;  // the peer's shift (RFC 7323 §2.2), nullopt if none offered
  bool sack_ok = false;           // the SYN carried SACK-permitted (RFC 2018 §2)

  friend bool operator==(const CookieTsOptions&, const CookieTsOptions&) = default;
};

// The TSval to send in a cookie SYN-ACK: `ts_now` (our timestamp clock) with its low 6 bits
// replaced by the options, moved back by 64 if that would put it ahead of ts_now, so later
// TSvals never go backwards (RFC 7323 §5.3, PAWS drops segments whose TSval is older than
// the last one seen). wscale is 0..14, or kCookieNoWindowScale; larger values are a caller
// bug (asserted). Never fails.
uint32_t EncodeTsval(uint32_t ts_now, uint8_t wscale, bool sack_ok);

// Recovers the options from the TSecr of the ACK that completes a cookie handshake (which
// echoes our TSval, RFC 7323 §3.2). Only meaningful once CheckCookie has accepted the ACK and
// the ACK carries a timestamps option; otherwise the connection has neither option.
CookieTsOptions DecodeTsecr(uint32_t tsecr);

}  // namespace ferry::tcp
