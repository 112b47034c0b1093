// The Internet checksum (RFC 1071): the 16-bit one's complement of the one's complement sum of
// a byte string taken as big-endian 16-bit words. Used by IPv4 (RFC 791), ICMP (RFC 792), UDP
// (RFC 768) and TCP (RFC 9293 §3.1), the last two over a pseudo-header as well.
//
// Every value here is a host-order uint16_t: store it with StoreBe16 and it lands in the packet
// in network order. Summing big-endian words is what makes that true on any host.
//
// Two uses, one function: with the checksum field zeroed, the result is the value to emit; with
// the received checksum in place, the result is 0 exactly when the data is intact (RFC 1071 §1
// (3): the sum over the data and its checksum is all 1 bits; complemented, that is 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/address.h"

namespace ferry::net {

// Accumulates the one's complement sum of a byte stream fed in pieces. The pieces are joined as
// one stream: a chunk of odd length leaves its last byte waiting to pair with the first byte of
// the next, so where a buffer is split never changes the result.
class InternetChecksum {
 public:
  InternetChecksum() = default;

  void Add(std::span<const uint8_t> bytes);
  // Appends the two big-endian bytes of `word` to the stream.
  void AddU16(uint16_t word);
  // Appends the four big-endian bytes of `word` to the stream.
  void AddU32(uint32_t word);

  // The folded sum, not complemented. A trailing odd byte is padded on its right with zeros
  // (RFC 9293 §3.1, RFC 768). Does not change the accumulator, so more data may follow.
  uint16_t Sum() const;
  // ~Sum(): the checksum of everything added so far.
  uint16_t Finish() const { return static_cast<uint16_t>(~Sum()); }

 private:
  uint64_t sum_ = 0;
  bool has_odd_byte_ = false;
  uint8_t odd_byte_ = 0;
};

// Checksum of an IPv4 header (RFC 791 §3.1, "Header Checksum"), IHL*4 bytes including options.
// 0 for a received header that is intact.
uint16_t Ipv4HeaderChecksum(std::span<const uint8_t> header);

// Folded, not complemented, one's complement sum of the TCP/UDP pseudo-header (RFC 9293 §3.1,
// RFC 768): source, destination, zero, protocol, L4 length. This is the value DPDK's TX checksum
// offload (RTE_MBUF_F_TX_TCP_CKSUM / _UDP_CKSUM) expects pre-seeded in the L4 checksum field,
// i.e. rte_ipv4_phdr_cksum() but in host order: StoreBe16 it into the field.
uint16_t PseudoHeaderSum(Ipv4Address src, Ipv4Address dst, uint8_t protocol, uint16_t l4_length);

// The full TCP or UDP checksum of `segment` (header and data) including the pseudo-header, with
// segment.size() (at most 65535) as the L4 length. For emit, zero the segment's checksum field
// first and store the result. For verify, run it over the received segment with its checksum in
// place: the result is 0 exactly when the segment is intact.
//
// UDP senders take note: a computed 0 must go on the wire as 0xffff, since 0 there means "no
// checksum" (RFC 768). This function does not do that substitution, so that verify stays "== 0".
uint16_t TransportChecksum(Ipv4Address src, Ipv4Address dst, uint8_t protocol,
                           std::span<const uint8_t> segment);

// Incremental update after one 16-bit word covered by `old_checksum` changed from `old_word` to
// `new_word`, by RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). Eqn. 3 rather than RFC 1141's form
// because that one yields 0xffff where a recomputation gives 0 (RFC 1624 §4). Eqn. 3 differs from
// a recomputation only when all the covered data becomes zero (0 instead of 0xffff).
// For a 32-bit field (an address), apply it to each half.
uint16_t ChecksumAdjust(uint16_t old_checksum, uint16_t old_word, uint16_t new_word);

}  // namespace ferry::net
