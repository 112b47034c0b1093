// Why a checked view refused a packet. One value per check, so the caller can count drops by
// reason (net_counters.h) without formatting anything on the data path.
#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>

namespace ferry::net {

enum class ParseError : uint8_t {
  kOk,
  kTruncated,        // fewer bytes than the fixed header needs
  kBadVersion,       // IPv4 version field is not 4
  kBadHeaderLength,  // IPv4 IHL < 5 or past the buffer
  kBadTotalLength,   // IPv4 total length or UDP length inconsistent with the buffer
  kBadChecksum,
  kUnsupported,    // a well-formed header of a kind ferry does not handle (ARP non-Ethernet/IPv4)
  kBadDataOffset,  // TCP data offset < 5 or past the buffer
};

// A stable lower_snake_case name for logs and stats. Returns "unknown" for values outside the
// enum.
constexpr std::string_view Name(ParseError e) {
  switch (e) {
    case ParseError::kOk:
      return "ok";
    case ParseError::kTruncated:
      return "truncated";
    case ParseError::kBadVersion:
      return "bad_version";
    case ParseError::kBadHeaderLength:
      return "bad_header_length";
    case ParseError::kBadTotalLength:
      return "bad_total_length";
    case ParseError::kBadChecksum:
      return "bad_checksum";
    case ParseError::kUnsupported:
      return "unsupported";
    case ParseError::kBadDataOffset:
      return "bad_data_offset";
  }
  return "unknown";
}

// So test failures and control-path logs print the name rather than a raw byte.
inline std::ostream& operator<<(std::ostream& os, ParseError e) { return os << Name(e); }

}  // namespace ferry::net
