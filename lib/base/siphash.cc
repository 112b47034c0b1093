#include "base/siphash.h"

#include <bit>
#include <cstddef>

namespace ferry::base {
namespace {

// The paper's state and its round function (§2, "SipRound").
struct SipState {
  uint64_t v0, v1, v2, v3;

  // Initialization (§2): the key XORed with the constants "somepseudorandomlygeneratedbytes".
  explicit SipState(const SipKey& key)
      : v0(key.k0 ^ 0x736f6d6570736575),
        v1(key.k1 ^ 0x646f72616e646f6d),
        v2(key.k0 ^ 0x6c7967656e657261),
        v3(key.k1 ^ 0x7465646279746573) {}

  void Round() {
    v0 += v1;
    v2 += v3;
    v1 = std::rotl(v1, 13);
    v3 = std::rotl(v3, 16);
    v1 ^= v0;
    v3 ^= v2;
    v0 = std::rotl(v0, 32);
    v2 += v1;
    v0 += v3;
    v1 = std::rotl(v1, 17);
    v3 = std::rotl(v3, 21);
    v1 ^= v2;
    v3 ^= v0;
    v2 = std::rotl(v2, 32);
  }

  // Compression (§2): v3 ^= m, c = 2 SipRounds, v0 ^= m.
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }

  // Finalization (§2): v2 ^= 0xff, d = 4 SipRounds, output v0 ^ v1 ^ v2 ^ v3.
  uint64_t Finish() {
    v2 ^= 0xff;
    Round();
    Round();
    Round();
    Round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

// Little-endian load of n <= 8 bytes, whatever the host's byte order.
uint64_t LoadLe(const uint8_t* p, size_t n) {
  uint64_t m = 0;
  for (size_t i = n; i > 0; --i) m = m << 8 | p[i - 1];
  return m;
}

}  // namespace

uint64_t SipHash24(const SipKey& key, std::span<const uint8_t> data) {
  SipState s(key);
  const size_t full = data.size() / 8 * 8;
  for (size_t i = 0; i < full; i += 8) s.Absorb(LoadLe(data.data() + i, 8));
  // The last block: the 0..7 remaining bytes, then zeros, and the length mod 256 in the top
  // byte (§2: "ends with a byte encoding the positive integer b mod 256").
  const uint64_t tail = LoadLe(data.data() + full, data.size() - full);
  s.Absorb(tail | static_cast<uint64_t>(data.size() & 0xff) << 56);
  return s.Finish();
}

uint64_t SipHash24Words(const SipKey& key, std::span<const uint64_t> words) {
  SipState s(key);
  for (const uint64_t w : words) s.Absorb(w);
  // A whole number of 8-byte blocks: the last block holds only the length byte.
  s.Absorb(static_cast<uint64_t>((words.size() * 8) & 0xff) << 56);
  return s.Finish();
}

}  // namespace ferry::base
