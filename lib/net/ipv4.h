// IPv4 (RFC 791): a checked view for receive and a plain struct for emit (no options).
//
// The view checks structure only. Policy (TTL, fragments, addresses) belongs to the host, which
// counts each refusal under its own reason.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>

#include "net/address.h"
#include "net/bytes.h"
#include "net/checksum.h"
#include "net/parse_error.h"

namespace ferry::net {

struct IpProtocol {
  static constexpr uint8_t kIcmp = 1;
  static constexpr uint8_t kTcp = 6;
  static constexpr uint8_t kUdp = 17;
};

class Ipv4View {
 public:
  static constexpr size_t kMinHeaderLength = 20;

  Ipv4View() = default;

  // `bytes` is the Ethernet payload. Checks, in this order, returning the first that fails:
  //   kTruncated        fewer than 20 bytes;
  //   kBadVersion       version != 4;
  //   kBadHeaderLength  IHL < 5 or IHL*4 past the buffer (RFC 791 §3.1: "the minimum value for a
  //                     correct header is 5");
  //   kBadTotalLength   total length < IHL*4 or past the buffer;
  //   kBadChecksum      header checksum wrong (only when `verify_checksum`; pass false when the
  //                     NIC already verified it, RTE_MBUF_F_RX_IP_CKSUM_GOOD).
  // Otherwise kOk and fills `out`; `out` is left unchanged on error. Bytes past total length
  // are link-layer padding (frames shorter than 60 bytes are padded) and are excluded from
  // payload().
  static ParseError Parse(std::span<const uint8_t> bytes, Ipv4View& out,
                          bool verify_checksum = true) {
    if (bytes.size() < kMinHeaderLength) return ParseError::kTruncated;
    if ((bytes[0] >> 4) != 4) return ParseError::kBadVersion;
    const size_t header_length = size_t{bytes[0] & 0x0fu} * 4;
    if (header_length < kMinHeaderLength || header_length > bytes.size()) {
      return ParseError::kBadHeaderLength;
    }
    const size_t total_length = LoadBe16(&bytes[2]);
    if (total_length < header_length || total_length > bytes.size()) {
      return ParseError::kBadTotalLength;
    }
    if (verify_checksum && Ipv4HeaderChecksum(bytes.first(header_length)) != 0) {
      return ParseError::kBadChecksum;
    }
    out = Ipv4View(bytes.first(total_length));
    return ParseError::kOk;
  }

  uint8_t version() const { return bytes_[0] >> 4; }
  size_t header_length() const { return size_t{bytes_[0] & 0x0fu} * 4; }
  uint8_t dscp() const { return bytes_[1] >> 2; }
  uint8_t ecn() const { return bytes_[1] & 0x03; }
  uint16_t total_length() const { return LoadBe16(&bytes_[2]); }
  uint16_t identification() const { return LoadBe16(&bytes_[4]); }
  bool dont_fragment() const { return bytes_[6] & 0x40; }
  bool more_fragments() const { return bytes_[6] & 0x20; }
  // In 8-byte units (RFC 791 §3.1, "Fragment Offset").
  uint16_t fragment_offset() const { return LoadBe16(&bytes_[6]) & 0x1fff; }
  // A fragment is any datagram but the whole one: MF set, or a non-zero offset (the last one).
  bool is_fragment() const { return more_fragments() || fragment_offset() != 0; }
  uint8_t ttl() const { return bytes_[8]; }
  uint8_t protocol() const { return bytes_[9]; }
  uint16_t header_checksum() const { return LoadBe16(&bytes_[10]); }
  Ipv4Address source() const { return Ipv4Address(LoadBe32(&bytes_[12])); }
  Ipv4Address destination() const { return Ipv4Address(LoadBe32(&bytes_[16])); }
  std::span<const uint8_t> header() const { return bytes_.first(header_length()); }
  std::span<const uint8_t> options() const {
    return bytes_.subspan(kMinHeaderLength, header_length() - kMinHeaderLength);
  }
  // From the end of the header to total length.
  std::span<const uint8_t> payload() const { return bytes_.subspan(header_length()); }

 private:
  // `bytes` is exactly total length long.
  explicit Ipv4View(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

struct Ipv4Repr {
  static constexpr size_t kLength = 20;

  Ipv4Address source{};
  Ipv4Address destination{};
  uint8_t protocol = 0;
  uint8_t ttl = 64;
  uint16_t payload_length = 0;  // bytes after the header; total length is this + 20
  uint16_t identification = 0;
  bool dont_fragment = true;
  uint8_t dscp_ecn = 0;  // the whole second octet: DSCP << 2 | ECN

  // Writes a 20-byte header (IHL 5, no options, not a fragment) at the start of `out`;
  // out.size() must be >= kLength and payload_length <= 65515. With `fill_checksum` false the
  // checksum field is left 0 for the NIC to fill (RTE_MBUF_F_TX_IP_CKSUM).
  void Emit(std::span<uint8_t> out, bool fill_checksum = true) const {
    assert(out.size() >= kLength);
    assert(payload_length <= 0xffff - kLength);
    out[0] = 0x45;
    out[1] = dscp_ecn;
    StoreBe16(&out[2], static_cast<uint16_t>(kLength + payload_length));
    StoreBe16(&out[4], identification);
    StoreBe16(&out[6], dont_fragment ? 0x4000 : 0);
    out[8] = ttl;
    out[9] = protocol;
    StoreBe16(&out[10], 0);
    StoreBe32(&out[12], source.value);
    StoreBe32(&out[16], destination.value);
    if (fill_checksum) StoreBe16(&out[10], Ipv4HeaderChecksum(out.first(kLength)));
  }
};

}  // namespace ferry::net
