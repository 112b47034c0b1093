// RFC 1071 Internet checksum and RFC 1624 incremental update; see checksum.h.
#include "net/checksum.h"

#include <cassert>

#include "net/bytes.h"

namespace ferry::net {
namespace {

// End-around carry folding (RFC 1071 §4.1): the sum modulo 0xffff, where a non-zero sum never
// folds to 0.
uint16_t Fold(uint64_t sum) {
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

void InternetChecksum::Add(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  if (n == 0) return;
  if (has_odd_byte_) {
    sum_ += uint32_t{odd_byte_} << 8 | p[0];
    has_odd_byte_ = false;
    ++p;
    --n;
  }
  // Big-endian 32-bit words added into 64 bits: the carries pile up in the high half and are
  // folded back at the end (RFC 1071 §2(C) parallel summation, §2(D) deferred carries).
  uint64_t sum = sum_;
  for (; n >= 16; p += 16, n -= 16) {
    sum += LoadBe32(p);
    sum += LoadBe32(p + 4);
    sum += LoadBe32(p + 8);
    sum += LoadBe32(p + 12);
  }
  for (; n >= 4; p += 4, n -= 4) sum += LoadBe32(p);
  if (n >= 2) {
    sum += LoadBe16(p);
    p += 2;
    n -= 2;
  }
  if (n == 1) {
    has_odd_byte_ = true;
    odd_byte_ = p[0];
  }
  // Keep the accumulator far from overflow however many chunks are added.
  sum_ = (sum & 0xffffffff) + (sum >> 32);
}

void InternetChecksum::AddU16(uint16_t word) {
  if (has_odd_byte_) {
    uint8_t bytes[2];
    StoreBe16(bytes, word);
    Add(bytes);
    return;
  }
  sum_ += word;
}

void InternetChecksum::AddU32(uint32_t word) {
  if (has_odd_byte_) {
    uint8_t bytes[4];
    StoreBe32(bytes, word);
    Add(bytes);
    return;
  }
  sum_ += word;
}

uint16_t InternetChecksum::Sum() const {
  uint64_t sum = sum_;
  if (has_odd_byte_) sum += uint32_t{odd_byte_} << 8;
  return Fold(sum);
}

uint16_t Ipv4HeaderChecksum(std::span<const uint8_t> header) {
  InternetChecksum c;
  c.Add(header);
  return c.Finish();
}

uint16_t PseudoHeaderSum(Ipv4Address src, Ipv4Address dst, uint8_t protocol, uint16_t l4_length) {
  uint64_t sum = uint64_t{src.value} + dst.value + protocol + l4_length;
  return Fold(sum);
}

uint16_t TransportChecksum(Ipv4Address src, Ipv4Address dst, uint8_t protocol,
                           std::span<const uint8_t> segment) {
  assert(segment.size() <= 0xffff);
  InternetChecksum c;
  c.AddU16(PseudoHeaderSum(src, dst, protocol, static_cast<uint16_t>(segment.size())));
  c.Add(segment);
  return c.Finish();
}

uint16_t ChecksumAdjust(uint16_t old_checksum, uint16_t old_word, uint16_t new_word) {
  uint32_t sum = uint32_t{static_cast<uint16_t>(~old_checksum)} +
                 uint32_t{static_cast<uint16_t>(~old_word)} + new_word;
  return static_cast<uint16_t>(~Fold(sum));
}

}  // namespace ferry::net
