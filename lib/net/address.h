// Link and network addresses as value types, in host order, with control-path parsing.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace ferry::net {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static constexpr MacAddress Broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static constexpr MacAddress Zero() { return {}; }
  bool IsBroadcast() const { return *this == Broadcast(); }
  // Group bit (I/G) of the first octet: broadcast and multicast.
  bool IsMulticast() const { return bytes[0] & 0x01; }
  bool IsZero() const { return *this == Zero(); }
  std::string ToString() const;
  // Parses "02:00:00:aa:bb:cc". Returns InvalidArgument naming the text otherwise.
  static absl::StatusOr<MacAddress> Parse(absl::string_view text);
  friend auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

struct Ipv4Address {
  uint32_t value = 0;  // host order

  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(uint32_t v) : value(v) {}
  static constexpr Ipv4Address FromOctets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Address(uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d);
  }
  bool IsUnspecified() const { return value == 0; }
  bool IsLimitedBroadcast() const { return value == 0xffffffffu; }
  // 224.0.0.0/4
  bool IsMulticast() const { return (value >> 28) == 0xe; }
  std::string ToString() const;
  // Parses dotted quad "198.18.0.1" (exactly four decimal octets, no leading junk).
  static absl::StatusOr<Ipv4Address> Parse(absl::string_view text);
  friend auto operator<=>(const Ipv4Address&, const Ipv4Address&) = default;

  template <typename H>
  friend H AbslHashValue(H h, Ipv4Address a) {
    return H::combine(std::move(h), a.value);
  }
};

struct Ipv4Prefix {
  Ipv4Address address;
  uint8_t length = 0;  // 0..32

  uint32_t Mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  Ipv4Address Network() const { return Ipv4Address(address.value & Mask()); }
  // The directed broadcast address of the subnet (all host bits set).
  Ipv4Address Broadcast() const { return Ipv4Address(address.value | ~Mask()); }
  bool Contains(Ipv4Address a) const { return (a.value & Mask()) == (address.value & Mask()); }
  std::string ToString() const;
  // Parses "198.18.0.0/15".
  static absl::StatusOr<Ipv4Prefix> Parse(absl::string_view text);
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

}  // namespace ferry::net
