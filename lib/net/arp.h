// ARP (RFC 826) for Ethernet hardware addresses and IPv4 protocol addresses, the only pairing
// ferry speaks: a checked view for receive and a plain struct for emit. 28 bytes either way.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "net/address.h"
#include "net/bytes.h"
#include "net/ethernet.h"
#include "net/parse_error.h"

namespace ferry::net {

enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

// Field layout (RFC 826 "Packet format"): ar$hrd 0, ar$pro 2, ar$hln 4, ar$pln 5, ar$op 6,
// ar$sha 8, ar$spa 14, ar$tha 18, ar$tpa 24.
class ArpView {
 public:
  static constexpr size_t kLength = 28;
  static constexpr uint16_t kHardwareEthernet = 1;

  ArpView() = default;

  // Returns kTruncated if `bytes` (the Ethernet payload) is shorter than 28 bytes; kUnsupported
  // unless it is Ethernet/IPv4 (hrd 1, pro 0x0800, hln 6, pln 4), the first questions of RFC
  // 826's reception algorithm ("Do I have the hardware type in ar$hrd?", "Do I speak the
  // protocol in ar$pro?", with the optional length checks). Otherwise kOk and
  // fills `out`; `out` is left unchanged on error. Trailing Ethernet padding is ignored. The
  // operation is not checked: callers count unknown ones.
  static ParseError Parse(std::span<const uint8_t> bytes, ArpView& out) {
    if (bytes.size() < kLength) return ParseError::kTruncated;
    if (LoadBe16(&bytes[0]) != kHardwareEthernet || LoadBe16(&bytes[2]) != EtherType::kIpv4 ||
        bytes[4] != 6 || bytes[5] != 4) {
      return ParseError::kUnsupported;
    }
    out = ArpView(bytes.first(kLength));
    return ParseError::kOk;
  }

  // Raw ar$op; compare with ArpOp. Values other than 1 and 2 are possible (RFC 5494 lists more).
  uint16_t operation() const { return LoadBe16(&bytes_[6]); }
  MacAddress sender_mac() const { return LoadMac(8); }
  Ipv4Address sender_ip() const { return Ipv4Address(LoadBe32(&bytes_[14])); }
  MacAddress target_mac() const { return LoadMac(18); }
  Ipv4Address target_ip() const { return Ipv4Address(LoadBe32(&bytes_[24])); }

 private:
  explicit ArpView(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  MacAddress LoadMac(size_t offset) const {
    MacAddress mac;
    std::memcpy(mac.bytes.data(), &bytes_[offset], mac.bytes.size());
    return mac;
  }

  std::span<const uint8_t> bytes_;
};

struct ArpRepr {
  static constexpr size_t kLength = 28;

  uint16_t operation = 0;  // an ArpOp value
  MacAddress sender_mac{};
  Ipv4Address sender_ip{};
  MacAddress target_mac{};
  Ipv4Address target_ip{};

  // Writes the 28-byte Ethernet/IPv4 ARP packet at the start of `out`; out.size() must be
  // >= kLength. Padding to the minimum frame size is the caller's.
  void Emit(std::span<uint8_t> out) const {
    assert(out.size() >= kLength);
    StoreBe16(&out[0], ArpView::kHardwareEthernet);
    StoreBe16(&out[2], EtherType::kIpv4);
    out[4] = 6;
    out[5] = 4;
    StoreBe16(&out[6], operation);
    std::memcpy(&out[8], sender_mac.bytes.data(), 6);
    StoreBe32(&out[14], sender_ip.value);
    std::memcpy(&out[18], target_mac.bytes.data(), 6);
    StoreBe32(&out[24], target_ip.value);
  }
};

}  // namespace ferry::net
