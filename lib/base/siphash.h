// SipHash-2-4: J.-P. Aumasson and D. J. Bernstein, "SipHash: a fast short-input PRF"
// (INDOCRYPT 2012). A keyed pseudorandom function with a 128-bit key and a 64-bit output, fast
// on the short inputs a TCP stack hashes (a 4-tuple and a counter): initial sequence numbers
// (RFC 6528) and SYN cookies (RFC 4987 §3.6) need outputs an off-path attacker cannot predict
// without the key, which a non-cryptographic hash does not give.
//
// Written from the paper's §2 description: the key is read as two little-endian 64-bit words;
// the message is cut into little-endian 64-bit words, the last one padded with zeros and with
// the message length mod 256 in its top byte; each word is absorbed with c = 2 SipRounds, and
// the state is finalized with d = 4 SipRounds. No allocation, no table, constant time in the
// key; safe on the packet path.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>

namespace ferry::base {

struct SipKey {
  uint64_t k0 = 0;  // key bytes 0..7, little-endian (the paper's k0)
  uint64_t k1 = 0;  // key bytes 8..15, little-endian (the paper's k1)

  // The key the paper writes as the byte string bytes[0] .. bytes[15].
  static constexpr SipKey FromBytes(std::span<const uint8_t, 16> bytes) {
    SipKey key;
    for (int i = 7; i >= 0; --i) {
      key.k0 = key.k0 << 8 | bytes[i];
      key.k1 = key.k1 << 8 | bytes[8 + i];
    }
    return key;
  }

  friend bool operator==(const SipKey&, const SipKey&) = default;
};

// SipHash-2-4 of `data` under `key`. Never fails.
uint64_t SipHash24(const SipKey& key, std::span<const uint8_t> data);

// SipHash-2-4 of the byte string made of `words`, each written little-endian (8 * size bytes).
// Equal to SipHash24 over that buffer, without building it: each word is one message block.
// For hashing a few integers, e.g. SipHash24Words(key, {ips, ports}).
uint64_t SipHash24Words(const SipKey& key, std::span<const uint64_t> words);
inline uint64_t SipHash24Words(const SipKey& key, std::initializer_list<uint64_t> words) {
  return SipHash24Words(key, std::span<const uint64_t>(words.begin(), words.size()));
}

}  // namespace ferry::base
