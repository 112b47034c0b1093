// UDP (RFC 768): a checked view over a datagram. Checksum verification is separate because it
// needs the IPv4 addresses for the pseudo-header and may already have been done by the NIC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/address.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/parse_error.h"

namespace ferry::net {

class UdpView {
 public:
  static constexpr size_t kHeaderLength = 8;

  UdpView() = default;

  // `bytes` is the IPv4 payload. Returns kTruncated if shorter than 8 bytes; kBadTotalLength if
  // the length field, which RFC 768 defines as header plus data, is below 8 or past the buffer.
  // Otherwise kOk and fills `out`; `out` is left unchanged on error. Bytes past the length field
  // are not part of the datagram.
  static ParseError Parse(std::span<const uint8_t> bytes, UdpView& out) {
    if (bytes.size() < kHeaderLength) return ParseError::kTruncated;
    const size_t length = LoadBe16(&bytes[4]);
    if (length < kHeaderLength || length > bytes.size()) return ParseError::kBadTotalLength;
    out = UdpView(bytes.first(length));
    return ParseError::kOk;
  }

  uint16_t source_port() const { return LoadBe16(&bytes_[0]); }
  uint16_t destination_port() const { return LoadBe16(&bytes_[2]); }
  uint16_t length() const { return LoadBe16(&bytes_[4]); }
  uint16_t checksum() const { return LoadBe16(&bytes_[6]); }
  // Bounded by the length field.
  std::span<const uint8_t> payload() const { return bytes_.subspan(kHeaderLength); }
  // Header and payload, bounded by the length field: what the checksum covers.
  std::span<const uint8_t> datagram() const { return bytes_; }

 private:
  // `bytes` is exactly length() long.
  explicit UdpView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

// True if the datagram carries no checksum (field 0, which RFC 768 allows over IPv4) or carries
// a correct one over the pseudo-header built from `src` and `dst`.
inline bool UdpChecksumValid(const UdpView& udp, Ipv4Address src, Ipv4Address dst) {
  if (udp.checksum() == 0) return true;
  return TransportChecksum(src, dst, IpProtocol::kUdp, udp.datagram()) == 0;
}

}  // namespace ferry::net
