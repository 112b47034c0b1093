// ICMP for IPv4 (RFC 792): a checked view over a whole ICMP message. Only the 8-byte common
// header is interpreted; what bytes 4..7 mean depends on the type, so the view offers each
// reading and the caller picks by type().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/address.h"
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

// The datagram an ICMP error message quotes: its IP header and at least the first 8 bytes of
// its payload (RFC 792; RFC 1812 §4.3.2.3 lets routers quote more). Unlike Ipv4View, the quote
// is not held to the header's total length, which counts the original datagram that the quote
// cuts short by design. What is checked is that the header and 8 bytes past it are there:
// enough for the ports of TCP or UDP and, for TCP, the sequence number.
class IcmpQuoteView {
 public:
  static constexpr size_t kMinHeaderLength = 20;
  static constexpr size_t kTransportBytes = 8;

  IcmpQuoteView() = default;

  // `bytes` is the payload of an ICMP error message (IcmpView::payload()). Checks, in this
  // order, returning the first that fails:
  //   kTruncated        fewer than 20 + 8 bytes;
  //   kBadVersion       version != 4;
  //   kBadHeaderLength  IHL < 5;
  //   kTruncated        fewer than IHL*4 + 8 bytes.
  // Otherwise kOk and fills `out`; `out` is left unchanged on error. The quoted header's
  // checksum is not verified: routers may have changed the TTL and left it stale.
  static ParseError Parse(std::span<const uint8_t> bytes, IcmpQuoteView& out) {
    if (bytes.size() < kMinHeaderLength + kTransportBytes) return ParseError::kTruncated;
    if ((bytes[0] >> 4) != 4) return ParseError::kBadVersion;
    const size_t header_length = size_t{bytes[0] & 0x0fu} * 4;
    if (header_length < kMinHeaderLength) return ParseError::kBadHeaderLength;
    if (bytes.size() < header_length + kTransportBytes) return ParseError::kTruncated;
    out = IcmpQuoteView(bytes);
    return ParseError::kOk;
  }

  size_t header_length() const { return size_t{bytes_[0] & 0x0fu} * 4; }
  // The original datagram's length, which the quote may fall short of.
  uint16_t total_length() const { return LoadBe16(&bytes_[2]); }
  // In 8-byte units. Only the first fragment (offset 0) quotes a transport header.
  uint16_t fragment_offset() const { return LoadBe16(&bytes_[6]) & 0x1fff; }
  uint8_t protocol() const { return bytes_[9]; }
  Ipv4Address source() const { return Ipv4Address(LoadBe32(&bytes_[12])); }
  Ipv4Address destination() const { return Ipv4Address(LoadBe32(&bytes_[16])); }
  // From the quoted transport header to the end of the quote: at least 8 bytes.
  std::span<const uint8_t> transport() const { return bytes_.subspan(header_length()); }
  // TCP and UDP both start with the ports (RFC 9293 §3.1, RFC 768).
  uint16_t source_port() const { return LoadBe16(&transport()[0]); }
  uint16_t destination_port() const { return LoadBe16(&transport()[2]); }
  // TCP: the quoted segment's sequence number (RFC 9293 §3.1), bytes 4..7.
  uint32_t tcp_sequence() const { return LoadBe32(&transport()[4]); }

 private:
  explicit IcmpQuoteView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

}  // namespace ferry::net
