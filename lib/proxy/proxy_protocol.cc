#include "proxy/proxy_protocol.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "net/bytes.h"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace ferry::proxy {
namespace {

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---------------------------------------------------------------------------------------------
// CRC-32C

// Reflected form of the Castagnoli polynomial 0x1EDC6F41 (RFC 4960 Appendix B; RFC 3720 §B.4).
constexpr uint32_t kCastagnoliReflected = 0x82F63B78u;

constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c >> 1) ^ ((c & 1) ? kCastagnoliReflected : 0);
    table[i] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kCrc32cTable = MakeCrc32cTable();

#if defined(__SSE4_2__)
// The crc32 instruction computes the same reflected Castagnoli CRC, without the initial and
// final inversion; the 64-bit form takes eight bytes in memory (little-endian) order.
uint32_t HardwareExtend(uint32_t crc, std::span<const uint8_t> data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t c = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, *p);
  return ~c32;
}
#endif

// ---------------------------------------------------------------------------------------------
// v1 text

char* PutDecimal(char* p, uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = digits[--n];
  return p;
}

char* PutIpv4(char* p, net::Ipv4Address a) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    p = PutDecimal(p, (a.value >> shift) & 0xff);
    if (shift != 0) *p++ = '.';
  }
  return p;
}

// §2.1: "a decimal integer in the range [0..max]"; "heading zeroes are not permitted".
bool ParseCanonicalDecimal(std::string_view s, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

// §2.1: "exactly 4 integers in the range [0..255] ... separated by exactly one dot".
bool ParseCanonicalIpv4(std::string_view s, net::Ipv4Address& out) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    uint32_t octet;
    if (!ParseCanonicalDecimal(s.substr(0, dot), 255, octet)) return false;
    value = value << 8 | octet;
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  out = net::Ipv4Address(value);
  return true;
}

// Takes " <field>" off the front of `rest`: exactly one space, then a non-empty run of
// non-space characters (§2.1 "exactly one space" between fields).
bool NextField(std::string_view& rest, std::string_view& field) {
  if (rest.empty() || rest[0] != ' ') return false;
  rest.remove_prefix(1);
  field = rest.substr(0, rest.find(' '));
  rest.remove_prefix(field.size());
  return !field.empty();
}

// ---------------------------------------------------------------------------------------------
// v2 binary

void PutV2Fixed(std::span<uint8_t> out, Command command, uint8_t family) {
  std::copy(kV2Signature.begin(), kV2Signature.end(), out.begin());
  out[12] = static_cast<uint8_t>(0x20 | static_cast<uint8_t>(command));  // §2.2: version 2
  out[13] = family;
  net::StoreBe16(&out[14], 0);  // the length, written by Finish()
}

// §2.2: the address block's size for each family byte it lists; nullopt for any other byte.
std::optional<size_t> V2AddressLength(uint8_t family) {
  switch (family) {
    case V2Family::kUnspec:
      return 0;
    case V2Family::kTcp4:
    case V2Family::kUdp4:
      return kV2Ipv4AddressLength;
    case V2Family::kTcp6:
    case V2Family::kUdp6:
      return 2 * 16 + 2 * 2;
    case V2Family::kUnixStream:
    case V2Family::kUnixDgram:
      return 2 * 108;
  }
  return std::nullopt;
}

// True if the first min(bytes.size(), prefix.size()) bytes agree.
bool MatchesPrefix(std::span<const uint8_t> bytes, std::span<const uint8_t> prefix) {
  const size_t n = std::min(bytes.size(), prefix.size());
  return std::equal(prefix.begin(), prefix.begin() + n, bytes.begin());
}

}  // namespace

bool operator==(const Tlv& a, const Tlv& b) {
  return a.type == b.type && std::ranges::equal(a.value, b.value);
}

// ---------------------------------------------------------------------------------------------
// CRC-32C

uint32_t Crc32cPortableExtend(uint32_t crc, std::span<const uint8_t> data) {
  uint32_t c = ~crc;
  for (uint8_t b : data) c = kCrc32cTable[(c ^ b) & 0xff] ^ (c >> 8);
  return ~c;
}

uint32_t Crc32cExtend(uint32_t crc, std::span<const uint8_t> data) {
#if defined(__SSE4_2__)
  return HardwareExtend(crc, data);
#else
  return Crc32cPortableExtend(crc, data);
#endif
}

uint32_t Crc32c(std::span<const uint8_t> data) { return Crc32cExtend(0, data); }

// ---------------------------------------------------------------------------------------------
// Encoding

size_t EncodeV1(const ProxyAddresses& a, std::span<uint8_t> out) {
  if (out.size() < kV1Tcp4MaxLength) return 0;
  char line[kV1Tcp4MaxLength];
  constexpr std::string_view kPrefix = "PROXY TCP4 ";
  char* p = std::copy(kPrefix.begin(), kPrefix.end(), line);
  p = PutIpv4(p, a.source);
  *p++ = ' ';
  p = PutIpv4(p, a.destination);
  *p++ = ' ';
  p = PutDecimal(p, a.source_port);
  *p++ = ' ';
  p = PutDecimal(p, a.destination_port);
  *p++ = '\r';
  *p++ = '\n';
  const auto n = static_cast<size_t>(p - line);
  std::memcpy(out.data(), line, n);
  return n;
}

V2Writer V2Writer::Proxy(const ProxyAddresses& a, std::span<uint8_t> out) {
  constexpr size_t kLength = kV2FixedLength + kV2Ipv4AddressLength;
  if (out.size() < kLength) return V2Writer(out, false, 0);
  PutV2Fixed(out, Command::kProxy, V2Family::kTcp4);
  // §2.2: source address, destination address, source port, destination port, network order.
  net::StoreBe32(&out[16], a.source.value);
  net::StoreBe32(&out[20], a.destination.value);
  net::StoreBe16(&out[24], a.source_port);
  net::StoreBe16(&out[26], a.destination_port);
  return V2Writer(out, true, kLength);
}

V2Writer V2Writer::Local(std::span<uint8_t> out) {
  if (out.size() < kV2FixedLength) return V2Writer(out, false, 0);
  PutV2Fixed(out, Command::kLocal, V2Family::kUnspec);
  return V2Writer(out, true, kV2FixedLength);
}

size_t V2Writer::Append(uint8_t type, std::span<const uint8_t> value) {
  if (!ok_) return 0;
  const size_t total = kTlvHeaderLength + value.size();
  if (value.size() > 0xffff || total > out_.size() - size_ || size_ + total > kV2MaxLength) {
    ok_ = false;
    return 0;
  }
  out_[size_] = type;
  net::StoreBe16(&out_[size_ + 1], static_cast<uint16_t>(value.size()));
  std::copy(value.begin(), value.end(), out_.begin() + static_cast<ptrdiff_t>(size_ + 3));
  const size_t value_offset = size_ + kTlvHeaderLength;
  size_ += total;
  return value_offset;
}

void V2Writer::AddTlv(uint8_t type, std::span<const uint8_t> value) {
  if (type == Pp2Type::kCrc32c) {
    ok_ = false;
    return;
  }
  Append(type, value);
}

void V2Writer::AddTlvs(std::span<const Tlv> tlvs) {
  for (const Tlv& tlv : tlvs) AddTlv(tlv.type, tlv.value);
}

void V2Writer::AddAuthority(std::string_view host) { Append(Pp2Type::kAuthority, AsBytes(host)); }

void V2Writer::AddUniqueId(std::span<const uint8_t> id) {
  if (id.size() > kMaxUniqueIdLength) {
    ok_ = false;
    return;
  }
  Append(Pp2Type::kUniqueId, id);
}

void V2Writer::AddNetns(std::string_view name) { Append(Pp2Type::kNetns, AsBytes(name)); }

void V2Writer::AddCrc32c() {
  if (crc_offset_ != 0) {
    ok_ = false;
    return;
  }
  // §2.2.3: "initialize the checksum field to '0's".
  constexpr std::array<uint8_t, 4> kZero{};
  crc_offset_ = Append(Pp2Type::kCrc32c, kZero);
}

size_t V2Writer::Finish(size_t alignment) {
  if (!ok_) return 0;
  if (alignment > kV2MaxLength) ok_ = false;
  if (ok_ && alignment > 1 && size_ % alignment != 0) {
    // §2.2.4: a NOOP "can be used to align only by 3 or more bytes because a TLV can not be
    // smaller than that", so a gap of 1 or 2 is widened by whole alignments.
    size_t pad = alignment - size_ % alignment;
    while (pad < kTlvHeaderLength) pad += alignment;
    if (pad > out_.size() - size_ || size_ + pad > kV2MaxLength) {
      ok_ = false;
    } else {
      out_[size_] = Pp2Type::kNoop;
      net::StoreBe16(&out_[size_ + 1], static_cast<uint16_t>(pad - kTlvHeaderLength));
      std::fill_n(out_.begin() + static_cast<ptrdiff_t>(size_ + kTlvHeaderLength),
                  pad - kTlvHeaderLength, uint8_t{0});
      size_ += pad;
    }
  }
  if (!ok_) return 0;
  // §2.2: "the length of the protocol header in bytes is always exactly 16 + this value".
  net::StoreBe16(&out_[14], static_cast<uint16_t>(size_ - kV2FixedLength));
  // §2.2.3: checksum the whole header, field zeroed, then "put the resultant value into the
  // checksum field". Network order, as HAProxy writes and checks it.
  if (crc_offset_ != 0) net::StoreBe32(&out_[crc_offset_], Crc32c(out_.first(size_)));
  return size_;
}

size_t EncodeV2(const ProxyAddresses& addresses, std::span<uint8_t> out) {
  return V2Writer::Proxy(addresses, out).Finish();
}

size_t EncodeV2Local(std::span<uint8_t> out) { return V2Writer::Local(out).Finish(); }

// ---------------------------------------------------------------------------------------------
// Decoding

std::string_view Name(ProxyHeaderError e) {
  switch (e) {
    case ProxyHeaderError::kOk:
      return "ok";
    case ProxyHeaderError::kTruncated:
      return "truncated";
    case ProxyHeaderError::kBadSignature:
      return "bad_signature";
    case ProxyHeaderError::kBadSyntax:
      return "bad_syntax";
    case ProxyHeaderError::kBadFamily:
      return "bad_family";
    case ProxyHeaderError::kUnsupported:
      return "unsupported";
    case ProxyHeaderError::kBadAddress:
      return "bad_address";
    case ProxyHeaderError::kBadLength:
      return "bad_length";
    case ProxyHeaderError::kBadVersion:
      return "bad_version";
    case ProxyHeaderError::kBadCommand:
      return "bad_command";
    case ProxyHeaderError::kBadTlv:
      return "bad_tlv";
    case ProxyHeaderError::kBadChecksum:
      return "bad_checksum";
  }
  return "unknown";
}

Tlv TlvList::Iterator::operator*() const {
  const size_t length = net::LoadBe16(&area_[offset_ + 1]);
  return Tlv{area_[offset_], area_.subspan(offset_ + kTlvHeaderLength, length)};
}

TlvList::Iterator& TlvList::Iterator::operator++() {
  offset_ += kTlvHeaderLength + net::LoadBe16(&area_[offset_ + 1]);
  return *this;
}

ProxyHeaderError TlvList::Parse(std::span<const uint8_t> area, TlvList& out) {
  size_t offset = 0;
  while (offset < area.size()) {
    const size_t left = area.size() - offset;
    if (left < kTlvHeaderLength) return ProxyHeaderError::kBadTlv;
    const size_t length = net::LoadBe16(&area[offset + 1]);
    if (left - kTlvHeaderLength < length) return ProxyHeaderError::kBadTlv;
    offset += kTlvHeaderLength + length;
  }
  out = TlvList(area);
  return ProxyHeaderError::kOk;
}

std::optional<Tlv> TlvList::Find(uint8_t type) const {
  for (const Tlv& tlv : *this) {
    if (tlv.type == type) return tlv;
  }
  return std::nullopt;
}

ProxyHeaderError ParseV1(std::span<const uint8_t> bytes, ProxyHeader& out) {
  constexpr std::string_view kSignature = "PROXY";
  if (!MatchesPrefix(bytes, AsBytes(kSignature))) return ProxyHeaderError::kBadSignature;
  // §2.1: "The receiver must wait for the CRLF sequence before starting to decode the
  // addresses"; "If the CRLF sequence is not found in the first 107 characters, the receiver
  // should declare the line invalid."
  const size_t window = std::min(bytes.size(), kV1MaxLength);
  size_t cr = 0;
  while (cr + 1 < window && !(bytes[cr] == '\r' && bytes[cr + 1] == '\n')) ++cr;
  if (cr + 1 >= window) {
    return bytes.size() >= kV1MaxLength ? ProxyHeaderError::kBadLength
                                        : ProxyHeaderError::kTruncated;
  }
  const std::string_view line(reinterpret_cast<const char*>(bytes.data()), cr);
  if (line.size() <= kSignature.size() || line[kSignature.size()] != ' ') {
    return ProxyHeaderError::kBadSyntax;
  }
  std::string_view rest = line.substr(kSignature.size());
  std::string_view protocol;
  if (!NextField(rest, protocol)) return ProxyHeaderError::kBadSyntax;

  ProxyHeader header;
  header.version = 1;
  header.command = Command::kProxy;
  header.length = cr + 2;
  if (protocol == "UNKNOWN") {
    // §2.1: "the receiver must ignore anything presented before the CRLF is found".
    header.family = V2Family::kUnspec;
    out = header;
    return ProxyHeaderError::kOk;
  }
  if (protocol == "TCP6") return ProxyHeaderError::kUnsupported;
  if (protocol != "TCP4") return ProxyHeaderError::kBadFamily;

  std::string_view fields[4];
  for (std::string_view& field : fields) {
    if (!NextField(rest, field)) return ProxyHeaderError::kBadSyntax;
  }
  if (!rest.empty()) return ProxyHeaderError::kBadSyntax;
  ProxyAddresses addresses;
  uint32_t source_port;
  uint32_t destination_port;
  if (!ParseCanonicalIpv4(fields[0], addresses.source) ||
      !ParseCanonicalIpv4(fields[1], addresses.destination) ||
      !ParseCanonicalDecimal(fields[2], 0xffff, source_port) ||
      !ParseCanonicalDecimal(fields[3], 0xffff, destination_port)) {
    return ProxyHeaderError::kBadAddress;
  }
  addresses.source_port = static_cast<uint16_t>(source_port);
  addresses.destination_port = static_cast<uint16_t>(destination_port);
  header.family = V2Family::kTcp4;
  header.addresses = addresses;
  out = header;
  return ProxyHeaderError::kOk;
}

ProxyHeaderError ParseV2(std::span<const uint8_t> bytes, ProxyHeader& out) {
  if (!MatchesPrefix(bytes, kV2Signature)) return ProxyHeaderError::kBadSignature;
  if (bytes.size() <= 12) return ProxyHeaderError::kTruncated;
  // §2.2: the version "must always be sent as \x2 and the receiver must only accept this
  // value"; other commands "must drop connections".
  if (bytes[12] >> 4 != 2) return ProxyHeaderError::kBadVersion;
  const uint8_t command = bytes[12] & 0x0f;
  if (command != static_cast<uint8_t>(Command::kLocal) &&
      command != static_cast<uint8_t>(Command::kProxy)) {
    return ProxyHeaderError::kBadCommand;
  }
  if (bytes.size() <= 13) return ProxyHeaderError::kTruncated;
  const uint8_t family = bytes[13];
  const std::optional<size_t> address_length = V2AddressLength(family);
  // §2.2: other values "must be rejected as invalid by receivers".
  if (!address_length) return ProxyHeaderError::kBadFamily;
  if (bytes.size() < kV2FixedLength) return ProxyHeaderError::kTruncated;
  const size_t length = net::LoadBe16(&bytes[14]);
  if (length < *address_length) return ProxyHeaderError::kBadLength;
  // §2.2: "The receiver must also reject incoming connections containing partial protocol
  // headers": final for a receiver that reads once, a wait for one that streams.
  if (bytes.size() < kV2FixedLength + length) return ProxyHeaderError::kTruncated;
  const std::span<const uint8_t> whole = bytes.first(kV2FixedLength + length);

  TlvList tlvs;
  if (TlvList::Parse(whole.subspan(kV2FixedLength + *address_length), tlvs) !=
      ProxyHeaderError::kOk) {
    return ProxyHeaderError::kBadTlv;
  }
  std::optional<size_t> crc_offset;
  for (const Tlv& tlv : tlvs) {
    if (tlv.type == Pp2Type::kCrc32c) {
      // §2.2.3: "a 32-bit number"; one checksum field, so a second one is malformed.
      if (tlv.value.size() != 4 || crc_offset) return ProxyHeaderError::kBadTlv;
      crc_offset = static_cast<size_t>(tlv.value.data() - whole.data());
    } else if (tlv.type == Pp2Type::kUniqueId && tlv.value.size() > kMaxUniqueIdLength) {
      return ProxyHeaderError::kBadTlv;  // §2.2.5: "up to 128 bytes"
    }
  }
  if (crc_offset) {
    // §2.2.3: "replace the 32 bits of the checksum field ... with all '0's and calculate a
    // CRC32c checksum value of the whole PROXY header", here without copying it.
    constexpr std::array<uint8_t, 4> kZero{};
    uint32_t crc = Crc32c(whole.first(*crc_offset));
    crc = Crc32cExtend(crc, kZero);
    crc = Crc32cExtend(crc, whole.subspan(*crc_offset + 4));
    if (crc != net::LoadBe32(&whole[*crc_offset])) return ProxyHeaderError::kBadChecksum;
  }

  ProxyHeader header;
  header.version = 2;
  header.command = static_cast<Command>(command);
  header.family = family;
  if (header.command == Command::kProxy && family == V2Family::kTcp4) {
    ProxyAddresses a;
    a.source = net::Ipv4Address(net::LoadBe32(&whole[16]));
    a.destination = net::Ipv4Address(net::LoadBe32(&whole[20]));
    a.source_port = net::LoadBe16(&whole[24]);
    a.destination_port = net::LoadBe16(&whole[26]);
    header.addresses = a;
  }
  header.length = whole.size();
  header.tlvs = tlvs;
  out = header;
  return ProxyHeaderError::kOk;
}

ProxyHeaderError ParseProxyHeader(std::span<const uint8_t> bytes, ProxyHeader& out) {
  if (bytes.empty()) return ProxyHeaderError::kTruncated;
  if (bytes[0] == kV2Signature[0]) return ParseV2(bytes, out);
  if (bytes[0] == 'P') return ParseV1(bytes, out);
  return ProxyHeaderError::kBadSignature;
}

}  // namespace ferry::proxy
