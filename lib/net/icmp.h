// ICMP for IPv4 (RFC 792): a checked view over a whole ICMP message. Only the 8-byte common
// header is interpreted; what bytes 4..7 mean depends on the type, so the view offers each
// reading and the caller picks by type().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/bytes.h"
#include "net/checksum.h"
#include "net/parse_error.h"

namespace ferry::net {

struct IcmpType {
  static constexpr uint8_t kEchoReply = 0;
  static constexpr uint8_t kDestinationUnreachable = 3;
  static constexpr uint8_t kEchoRequest = 8;
  static constexpr uint8_t kTimeExceeded = 11;
};

struct IcmpCode {
  // Destination Unreachable code 4, with the next-hop MTU in bytes 6..7 (RFC 1191 §4).
  static constexpr uint8_t kFragmentationNeeded = 4;
};

class IcmpView {
 public:
  static constexpr size_t kHeaderLength = 8;

  IcmpView() = default;

  // `bytes` is the whole ICMP message (the IPv4 payload). Returns kTruncated if shorter than 8
  // bytes; kBadChecksum if `verify_checksum` and the checksum, which RFC 792 takes over the whole
  // message, is wrong. Otherwise kOk and fills `out`; `out` is left unchanged on error.
  static ParseError Parse(std::span<const uint8_t> bytes, IcmpView& out,
                          bool verify_checksum = true) {
    if (bytes.size() < kHeaderLength) return ParseError::kTruncated;
    if (verify_checksum) {
      InternetChecksum c;
      c.Add(bytes);
      if (c.Finish() != 0) return ParseError::kBadChecksum;
    }
    out = IcmpView(bytes);
    return ParseError::kOk;
  }

  uint8_t type() const { return bytes_[0]; }
  uint8_t code() const { return bytes_[1]; }
  uint16_t checksum() const { return LoadBe16(&bytes_[2]); }
  // Echo and echo reply: identifier and sequence number (RFC 792, "Echo or Echo Reply Message").
  uint16_t identifier() const { return LoadBe16(&bytes_[4]); }
  uint16_t sequence() const { return LoadBe16(&bytes_[6]); }
  // Destination unreachable, fragmentation needed: the next-hop MTU (RFC 1191 §4).
  uint16_t next_hop_mtu() const { return LoadBe16(&bytes_[6]); }
  // Bytes 4..7, whatever the type makes of them.
  std::span<const uint8_t> rest_of_header() const { return bytes_.subspan(4, 4); }
  // After the 8-byte header: echo data, or for error messages the quoted IP header and first
  // 8 bytes of its datagram (RFC 792) or more (RFC 1812 §4.3.2.3).
  std::span<const uint8_t> payload() const { return bytes_.subspan(kHeaderLength); }
  // The whole message, as it was parsed.
  std::span<const uint8_t> message() const { return bytes_; }

 private:
  explicit IcmpView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

}  // namespace ferry::net
