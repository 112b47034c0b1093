// Ethernet II frames and 802.1Q VLAN tags: checked views for receive, plain structs for emit.
// The FCS is not here: the NIC strips it on receive and appends it on transmit.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/address.h"
#include "net/bytes.h"
#include "net/parse_error.h"

namespace ferry::net {

struct EtherType {
  static constexpr uint16_t kIpv4 = 0x0800;
  static constexpr uint16_t kArp = 0x0806;
  static constexpr uint16_t kVlan = 0x8100;  // IEEE 802.1Q C-tag
  static constexpr uint16_t kQinQ = 0x88a8;  // IEEE 802.1ad S-tag
  static constexpr uint16_t kIpv6 = 0x86dd;
};

// Destination MAC, source MAC, EtherType: 14 bytes. Once Parse succeeds every accessor reads
// inside those 14 bytes.
class EthernetView {
 public:
  static constexpr size_t kHeaderLength = 14;

  EthernetView() = default;

  // Returns kTruncated if `frame` is shorter than 14 bytes, else kOk and fills `out`. `out` is
  // left unchanged on error.
  static ParseError Parse(std::span<const uint8_t> frame, EthernetView& out) {
    if (frame.size() < kHeaderLength) return ParseError::kTruncated;
    out = EthernetView(frame);
    return ParseError::kOk;
  }

  MacAddress destination() const { return LoadMac(0); }
  MacAddress source() const { return LoadMac(6); }
  uint16_t ethertype() const { return LoadBe16(&frame_[12]); }
  size_t header_length() const { return kHeaderLength; }
  // Everything after the header, including any padding up to the 60-byte minimum frame.
  std::span<const uint8_t> payload() const { return frame_.subspan(kHeaderLength); }

 private:
  explicit EthernetView(std::span<const uint8_t> frame) : frame_(frame) {}

  MacAddress LoadMac(size_t offset) const {
    MacAddress mac;
    std::memcpy(mac.bytes.data(), &frame_[offset], mac.bytes.size());
    return mac;
  }

  std::span<const uint8_t> frame_;
};

// An 802.1Q tag as it follows an Ethernet header whose EtherType is 0x8100: TCI (PCP 3 bits,
// DEI 1 bit, VID 12 bits) then the inner EtherType. Four bytes.
class VlanTagView {
 public:
  static constexpr size_t kHeaderLength = 4;

  VlanTagView() = default;

  // `bytes` starts right after the Ethernet header. Returns kTruncated if shorter than 4 bytes,
  // else kOk and fills `out`. `out` is left unchanged on error.
  static ParseError Parse(std::span<const uint8_t> bytes, VlanTagView& out) {
    if (bytes.size() < kHeaderLength) return ParseError::kTruncated;
    out = VlanTagView(bytes);
    return ParseError::kOk;
  }

  uint8_t pcp() const { return static_cast<uint8_t>(bytes_[0] >> 5); }
  bool dei() const { return bytes_[0] & 0x10; }
  uint16_t vlan_id() const { return LoadBe16(&bytes_[0]) & 0x0fff; }
  uint16_t inner_ethertype() const { return LoadBe16(&bytes_[2]); }
  size_t header_length() const { return kHeaderLength; }
  std::span<const uint8_t> payload() const { return bytes_.subspan(kHeaderLength); }

 private:
  explicit VlanTagView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  std::span<const uint8_t> bytes_;
};

struct EthernetRepr {
  static constexpr size_t kLength = 14;

  MacAddress destination{};
  MacAddress source{};
  uint16_t ethertype = 0;

  // Writes the 14-byte header at the start of `out`; out.size() must be >= kLength.
  void Emit(std::span<uint8_t> out) const {
    assert(out.size() >= kLength);
    std::memcpy(&out[0], destination.bytes.data(), 6);
    std::memcpy(&out[6], source.bytes.data(), 6);
    StoreBe16(&out[12], ethertype);
  }
};

struct VlanTagRepr {
  static constexpr size_t kLength = 4;

  uint16_t vlan_id = 0;  // 12 bits
  uint8_t pcp = 0;       // 3 bits
  uint16_t inner_ethertype = 0;

  // Writes TCI and inner EtherType at the start of `out` (the caller writes the outer EtherType
  // 0x8100 in the Ethernet header); out.size() must be >= kLength. DEI is always 0: ferry never
  // marks its own frames drop-eligible.
  void Emit(std::span<uint8_t> out) const {
    assert(out.size() >= kLength);
    assert(vlan_id <= 0x0fff && pcp <= 7);
    StoreBe16(&out[0], static_cast<uint16_t>((pcp & 0x7) << 13 | (vlan_id & 0x0fff)));
    StoreBe16(&out[2], inner_ethertype);
  }
};

}  // namespace ferry::net
