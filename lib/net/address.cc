#include "net/address.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace ferry::net {

std::string MacAddress::ToString() const {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                         bytes[3], bytes[4], bytes[5]);
}

absl::StatusOr<MacAddress> MacAddress::Parse(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  MacAddress mac;
  bool ok = parts.size() == 6;
  for (size_t i = 0; ok && i < 6; ++i) {
    uint32_t v;
    ok = parts[i].size() == 2 &&
         parts[i].find_first_not_of("0123456789abcdefABCDEF") == absl::string_view::npos &&
         absl::SimpleHexAtoi(parts[i], &v) && v <= 0xff;
    if (ok) mac.bytes[i] = static_cast<uint8_t>(v);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a MAC address (want six hex pairs, 02:00:00:00:00:01)"));
  }
  return mac;
}

std::string Ipv4Address::ToString() const {
  return absl::StrFormat("%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                         value & 0xff);
}

absl::StatusOr<Ipv4Address> Ipv4Address::Parse(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  uint32_t value = 0;
  bool ok = parts.size() == 4;
  for (size_t i = 0; ok && i < 4; ++i) {
    uint32_t octet = 0;
    // Leading zeros are refused: inet_aton reads "010" as octal, so the text is ambiguous.
    ok = !parts[i].empty() && parts[i].size() <= 3 &&
         (parts[i].size() == 1 || parts[i][0] != '0') &&
         parts[i].find_first_not_of("0123456789") == absl::string_view::npos &&
         absl::SimpleAtoi(parts[i], &octet) && octet <= 255;
    value = value << 8 | octet;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not an IPv4 address (want a dotted quad, 198.18.0.1)"));
  }
  return Ipv4Address(value);
}

std::string Ipv4Prefix::ToString() const {
  return absl::StrCat(address.ToString(), "/", length);
}

absl::StatusOr<Ipv4Prefix> Ipv4Prefix::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  uint32_t length = 0;
  const absl::string_view digits = slash == absl::string_view::npos ? "" : text.substr(slash + 1);
  if (digits.empty() || digits.size() > 2 ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &length) || length > 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not an IPv4 prefix (want address/length, 198.18.0.0/15)"));
  }
  auto address = Ipv4Address::Parse(text.substr(0, slash));
  if (!address.ok()) return address.status();
  return Ipv4Prefix{*address, static_cast<uint8_t>(length)};
}

}  // namespace ferry::net
