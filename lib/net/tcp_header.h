// The TCP header (RFC 9293 §3.1): a checked view for receive and a plain struct for emit. Only
// framing lives here; options are parsed by the TCP code that uses them, and sequence-space
// rules by the state machine.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/address.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/parse_error.h"

namespace ferry::net {

// The eight control bits of byte 13 (RFC 9293 §3.1; CWR and ECE from RFC 3168).
struct TcpFlags {
  static constexpr uint8_t kFin = 0x01;
  static constexpr uint8_t kSyn = 0x02;
  static constexpr uint8_t kRst = 0x04;
  static constexpr uint8_t kPsh = 0x08;
  static constexpr uint8_t kAck = 0x10;
  static constexpr uint8_t kUrg = 0x20;
  static constexpr uint8_t kEce = 0x40;
  static constexpr uint8_t kCwr = 0x80;
};

class TcpHeaderView {
 public:
  static constexpr size_t kMinHeaderLength = 20;
  static constexpr size_t kMaxHeaderLength = 60;

  TcpHeaderView() = default;

  // `bytes` is the IPv4 payload, i.e. the whole segment. Returns kTruncated if shorter than 20
  // bytes; kBadDataOffset if the data offset is below 5 words (RFC 9293 §3.1: the header is at
  // least 20 bytes) or reaches past the segment. Otherwise kOk and fills `out`; `out` is left
  // unchanged on error. The checksum is checked separately by TcpChecksumValid.
  static ParseError Parse(std::span<const uint8_t> bytes, TcpHeaderView& out) {
    if (bytes.size() < kMinHeaderLength) return ParseError::kTruncated;
    const size_t data_offset = (size_t{bytes[12]} >> 4) * 4;
    if (data_offset < kMinHeaderLength || data_offset > bytes.size()) {
      return ParseError::kBadDataOffset;
    }
    out = TcpHeaderView(bytes);
    return ParseError::kOk;
  }

  uint16_t source_port() const { return LoadBe16(&bytes_[0]); }
  uint16_t destination_port() const { return LoadBe16(&bytes_[2]); }
  uint32_t seq_number() const { return LoadBe32(&bytes_[4]); }
  uint32_t ack_number() const { return LoadBe32(&bytes_[8]); }
  // The header length in bytes (the field is in 32-bit words).
  size_t data_offset() const { return (size_t{bytes_[12]} >> 4) * 4; }
  // The TcpFlags bits. The reserved bits of byte 12 are ignored, as RFC 9293 §3.1 requires of
  // a receiver.
  uint8_t flags() const { return bytes_[13]; }
  bool fin() const { return flags() & TcpFlags::kFin; }
  bool syn() const { return flags() & TcpFlags::kSyn; }
  bool rst() const { return flags() & TcpFlags::kRst; }
  bool psh() const { return flags() & TcpFlags::kPsh; }
  bool ack() const { return flags() & TcpFlags::kAck; }
  bool urg() const { return flags() & TcpFlags::kUrg; }
  uint16_t window() const { return LoadBe16(&bytes_[14]); }
  uint16_t checksum() const { return LoadBe16(&bytes_[16]); }
  uint16_t urgent_pointer() const { return LoadBe16(&bytes_[18]); }
  std::span<const uint8_t> options() const {
    return bytes_.subspan(kMinHeaderLength, data_offset() - kMinHeaderLength);
  }
  std::span<const uint8_t> payload() const { return bytes_.subspan(data_offset()); }
  // Header and payload: what the checksum covers.
  std::span<const uint8_t> segment() const { return bytes_; }

 private:
  explicit TcpHeaderView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

// True if the checksum over the pseudo-header built from `src` and `dst` and the whole segment
// is correct (RFC 9293 §3.1). Unlike UDP, TCP has no "no checksum" value.
inline bool TcpChecksumValid(const TcpHeaderView& tcp, Ipv4Address src, Ipv4Address dst) {
  return TransportChecksum(src, dst, IpProtocol::kTcp, tcp.segment()) == 0;
}

struct TcpHeaderRepr {
  static constexpr size_t kMinLength = 20;
  static constexpr size_t kMaxOptionsLength = 40;

  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint32_t seq_number = 0;
  uint32_t ack_number = 0;
  uint8_t flags = 0;  // TcpFlags bits
  uint16_t window = 0;
  uint16_t urgent_pointer = 0;
  // Already encoded and padded (with EOL/NOP) to a multiple of 4 bytes, at most 40.
  std::span<const uint8_t> options = {};

  // Header length in bytes, 20 plus options: the data offset.
  size_t length() const { return kMinLength + options.size(); }

  // Writes the header and options at the start of `out`, with checksum 0: the caller fills it
  // after the payload is in place, with TransportChecksum, or seeds it with PseudoHeaderSum for
  // NIC offload. out.size() must be >= length().
  void Emit(std::span<uint8_t> out) const {
    assert(options.size() % 4 == 0 && options.size() <= kMaxOptionsLength);
    assert(out.size() >= length());
    StoreBe16(&out[0], source_port);
    StoreBe16(&out[2], destination_port);
    StoreBe32(&out[4], seq_number);
    StoreBe32(&out[8], ack_number);
    out[12] = static_cast<uint8_t>((length() / 4) << 4);
    out[13] = flags;
    StoreBe16(&out[14], window);
    StoreBe16(&out[16], 0);
    StoreBe16(&out[18], urgent_pointer);
    if (!options.empty()) std::memcpy(&out[kMinLength], options.data(), options.size());
  }
};

}  // namespace ferry::net
