// The PROXY protocol header (W. Tarreau, "The PROXY protocol, Versions 1 & 2", HAProxy
// Technologies, revision 2020/03/05; haproxy.org/download/2.x/doc/proxy-protocol.txt): the block
// ferry prepends to a backend connection, before the first payload byte, for pools that ask for
// it, so the backend learns the client's address and port as ferry saw them (§2: what the server
// would have got from getpeername() and getsockname() had the client connected directly).
//
// Encoding. Every encoder writes into a caller-provided span (the proxy points it at the first
// mbuf of the backend leg) and returns the number of bytes written, or 0 if the header does not
// fit; none allocates, all are safe on the data path.
//   v1 (§2.1): one US-ASCII line, "PROXY TCP4 <src> <dst> <srcport> <dstport>\r\n", at most
//       kV1Tcp4MaxLength (56) bytes; the receiver's limit for any v1 line is kV1MaxLength (107).
//   v2 (§2.2): the 12-byte signature, version/command, family/protocol, a 16-bit big-endian
//       length of what follows, the 12-byte IPv4 address block, then TLVs. V2Writer builds it
//       in place: the TLVs a pool's config lists, the registered ones that have helpers
//       (AUTHORITY §2.2.2, CRC32C §2.2.3, UNIQUE_ID §2.2.5, NETNS §2.2.7), and NOOP padding
//       (§2.2.4) to a requested alignment. The CRC, when asked for, is computed last, over the
//       finished header with its own field zeroed, as §2.2.3 prescribes for senders.
//   A LOCAL header (command 0x0, family UNSPEC, no address block) is what health checks send
//   (§2.2: "the connection was established on purpose by the proxy without being relayed";
//   §2.1 advises against v1 "UNKNOWN" for them, so there is no v1 variant).
//
// Decoding (for tests and ferry's own test servers) follows check-then-parse: the fixed fields
// are checked as soon as enough bytes are present, every length is checked against the span
// before anything behind it is read, and the result is a plain ProxyHeader whose TLV list has
// already been framed, so iterating it cannot read out of bounds. Any byte string, of any
// length, gives either kOk or one ProxyHeaderError; nothing past the span is read, which makes
// the decoders safe to fuzz. kTruncated means "a prefix of something that may still be a valid
// header": a streaming receiver waits for more bytes; everything else is final.
//
// Addresses and ports are in host order in the structs here and in network order on the wire.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <ostream>
#include <span>
#include <string_view>

#include "net/address.h"

namespace ferry::proxy {

// §2.1: the longest v1 line a receiver must accept, CRLF included ("PROXY UNKNOWN" with two
// full IPv6 addresses). A receiver that has not seen CRLF within this many bytes rejects.
inline constexpr size_t kV1MaxLength = 107;
// §2.1: "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n".
inline constexpr size_t kV1Tcp4MaxLength = 56;

// §2.2: the signature that starts every v2 header (it contains a NUL: not a C string).
inline constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
// §2.2: signature, version/command, family/protocol, 16-bit length.
inline constexpr size_t kV2FixedLength = 16;
// §2.2: the address block for TCP/UDP over IPv4 (2 * 4 + 2 * 2).
inline constexpr size_t kV2Ipv4AddressLength = 12;
// The length field is 16 bits, so a v2 header is at most this long.
inline constexpr size_t kV2MaxLength = kV2FixedLength + 0xffff;
// §2.2.5: a unique ID is "up to 128 bytes".
inline constexpr size_t kMaxUniqueIdLength = 128;
// §2.2: a TLV is a type byte and a 16-bit big-endian length, then the value.
inline constexpr size_t kTlvHeaderLength = 3;

// §2.2: the low nibble of the 13th byte. Other values "must not be emitted by senders".
enum class Command : uint8_t {
  kLocal = 0x0,  // health check: the receiver uses the real connection endpoints
  kProxy = 0x1,  // relayed: the address block describes the client's connection
};

// §2.2: the 14th byte, address family (high nibble) and transport protocol (low nibble). These
// are the only combinations the specification lists; a receiver rejects any other.
struct V2Family {
  static constexpr uint8_t kUnspec = 0x00;
  static constexpr uint8_t kTcp4 = 0x11;
  static constexpr uint8_t kUdp4 = 0x12;
  static constexpr uint8_t kTcp6 = 0x21;
  static constexpr uint8_t kUdp6 = 0x22;
  static constexpr uint8_t kUnixStream = 0x31;
  static constexpr uint8_t kUnixDgram = 0x32;
};

// §2.2: registered TLV types (PP2_TYPE_*), and §2.2.8's application-specific range.
struct Pp2Type {
  static constexpr uint8_t kAlpn = 0x01;       // §2.2.1
  static constexpr uint8_t kAuthority = 0x02;  // §2.2.2
  static constexpr uint8_t kCrc32c = 0x03;     // §2.2.3
  static constexpr uint8_t kNoop = 0x04;       // §2.2.4
  static constexpr uint8_t kUniqueId = 0x05;   // §2.2.5
  static constexpr uint8_t kSsl = 0x20;        // §2.2.6 (value holds sub-TLVs; not parsed here)
  static constexpr uint8_t kNetns = 0x30;      // §2.2.7
  static constexpr uint8_t kMinCustom = 0xE0;  // §2.2.8
  static constexpr uint8_t kMaxCustom = 0xEF;
};

// The address block (§2.2, "source layer 3 address, destination layer 3 address, source layer 4
// address, destination layer 4 address"): the client as source, the address it connected to
// (ferry's listener) as destination.
struct ProxyAddresses {
  net::Ipv4Address source;
  net::Ipv4Address destination;
  uint16_t source_port = 0;
  uint16_t destination_port = 0;

  friend bool operator==(const ProxyAddresses&, const ProxyAddresses&) = default;
};

// One TLV, as given to the writer or as found by the decoder. `value` views memory owned by the
// caller (the pool's config) or by the parsed bytes.
struct Tlv {
  uint8_t type = 0;
  std::span<const uint8_t> value;

  friend bool operator==(const Tlv& a, const Tlv& b);
};

// ---------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR all ones):
// the checksum of RFC 4960 Appendix B that §2.2.3 names. Never fails, never allocates.

// True if Crc32c() uses the SSE4.2 crc32 instruction (the build targets a CPU that has it).
#if defined(__SSE4_2__)
inline constexpr bool kCrc32cHardware = true;
#else
inline constexpr bool kCrc32cHardware = false;
#endif

// CRC-32C of `data`; Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::span<const uint8_t> data);
// Continues a CRC: Crc32cExtend(Crc32c(a), b) == Crc32c(a followed by b), and
// Crc32cExtend(0, a) == Crc32c(a). Lets a receiver checksum a header with one field taken as
// zeros without copying it.
uint32_t Crc32cExtend(uint32_t crc, std::span<const uint8_t> data);
// The table-driven software version, one byte per step: the reference the hardware path is
// tested against. Same contract as Crc32cExtend.
uint32_t Crc32cPortableExtend(uint32_t crc, std::span<const uint8_t> data);

// ---------------------------------------------------------------------------------------------
// Encoding.

// Writes the v1 line for TCP over IPv4 (§2.1) at the start of `out`. Returns its length (at
// most kV1Tcp4MaxLength), or 0 if `out` is shorter than that, in which case `out` is untouched.
size_t EncodeV1(const ProxyAddresses& addresses, std::span<uint8_t> out);

// Builds a v2 header in place. Start with Proxy() or Local(), add TLVs in the order they
// should appear, then Finish(). A step that does not fit, or that the specification forbids,
// makes the writer fail: later steps do nothing and Finish() returns 0. On failure the contents
// of `out` are unspecified; the caller sends nothing and counts the failure.
//
//   proxy::V2Writer w = proxy::V2Writer::Proxy(addresses, mbuf_data);
//   w.AddTlvs(pool.proxy_tlvs);
//   w.AddUniqueId(connection_id);
//   w.AddCrc32c();
//   const size_t n = w.Finish(/*alignment=*/4);
class V2Writer {
 public:
  // Command PROXY (0x21), family TCP over IPv4 (0x11), and the address block: 28 bytes so far.
  static V2Writer Proxy(const ProxyAddresses& addresses, std::span<uint8_t> out);
  // Command LOCAL (0x20), family UNSPEC (0x00), no address block (§2.2: a LOCAL sender "should
  // not present any address"): 16 bytes so far. TLVs may follow, e.g. a CRC.
  static V2Writer Local(std::span<uint8_t> out);

  // Appends a TLV. Fails if the value is over 65535 bytes, if the header would no longer fit
  // `out` or its 16-bit length, or if `type` is kCrc32c (its value is computed: use
  // AddCrc32c()).
  void AddTlv(uint8_t type, std::span<const uint8_t> value);
  // AddTlv for each, in order: the list a pool's config gives.
  void AddTlvs(std::span<const Tlv> tlvs);
  // §2.2.2: the host name the client asked for (e.g. its TLS SNI), UTF-8.
  void AddAuthority(std::string_view host);
  // §2.2.5: an opaque connection ID. Fails if longer than kMaxUniqueIdLength.
  void AddUniqueId(std::span<const uint8_t> id);
  // §2.2.7: the network namespace's name, US-ASCII.
  void AddNetns(std::string_view name);
  // §2.2.3: reserves the 4-byte checksum TLV; Finish() fills it. Fails if called twice.
  void AddCrc32c();

  // Pads with one NOOP TLV (§2.2.4) so that the header length is a multiple of `alignment`
  // (0 or 1: no padding), writes the length field and, if reserved, the CRC-32C. A NOOP is at
  // least 3 bytes, so a gap of 1 or 2 grows by `alignment` until it can hold one. Returns the
  // header length, or 0 if any step failed or the padding does not fit.
  size_t Finish(size_t alignment = 0);

  // False once a step has failed.
  bool ok() const { return ok_; }
  // Bytes written so far.
  size_t size() const { return size_; }

 private:
  V2Writer(std::span<uint8_t> out, bool ok, size_t size) : out_(out), ok_(ok), size_(size) {}
  // Appends a TLV without the kCrc32c check. Returns the value's offset, or 0 on failure.
  size_t Append(uint8_t type, std::span<const uint8_t> value);

  std::span<uint8_t> out_;
  bool ok_;
  size_t size_;
  size_t crc_offset_ = 0;  // offset of the CRC value; 0 when none was reserved
};

// A v2 header with no TLVs: V2Writer::Proxy(addresses, out).Finish(). 28 bytes, or 0.
size_t EncodeV2(const ProxyAddresses& addresses, std::span<uint8_t> out);
// A LOCAL v2 header with no TLVs, for health checks: 16 bytes, or 0.
size_t EncodeV2Local(std::span<uint8_t> out);

// ---------------------------------------------------------------------------------------------
// Decoding.

enum class ProxyHeaderError : uint8_t {
  kOk,
  kTruncated,     // a prefix of what may be a valid header: wait for more bytes
  kBadSignature,  // starts with neither "PROXY" (v1) nor the v2 signature
  kBadSyntax,     // v1: not "PROXY" SP protocol ... CRLF with single spaces (§2.1)
  kBadFamily,     // v1 protocol not TCP4/TCP6/UNKNOWN; v2 family byte not one §2.2 lists
  kUnsupported,   // v1 TCP6: well-formed, but ferry decodes IPv4 only
  kBadAddress,    // v1: an address or port that is not canonical decimal in range (§2.1)
  kBadLength,     // v1: no CRLF in 107 bytes; v2: length shorter than the address block
  kBadVersion,    // v2: version nibble is not 2
  kBadCommand,    // v2: command nibble is neither LOCAL nor PROXY
  kBadTlv,        // v2: TLVs do not tile the rest of the header, or a known TLV has a bad size
  kBadChecksum,   // v2: the CRC-32C TLV does not match the header (§2.2.3)
};

// A stable lower_snake_case name for logs and stats. Returns "unknown" for values outside the
// enum.
std::string_view Name(ProxyHeaderError e);
// So test failures print the name rather than a raw byte.
inline std::ostream& operator<<(std::ostream& os, ProxyHeaderError e) { return os << Name(e); }

// The TLV area of a v2 header, already checked to be an exact sequence of whole TLVs, so that
// iterating it cannot read past it. Obtained from Parse() (or ParseV2); a default one is empty.
class TlvList {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Tlv;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Tlv;

    Iterator() = default;
    Tlv operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) {
      return a.area_.data() == b.area_.data() && a.offset_ == b.offset_;
    }

   private:
    friend class TlvList;
    Iterator(std::span<const uint8_t> area, size_t offset) : area_(area), offset_(offset) {}
    std::span<const uint8_t> area_;
    size_t offset_ = 0;
  };

  TlvList() = default;

  // Returns kOk and sets `out` if `area` is a sequence of TLVs whose lengths add up to exactly
  // area.size(); kBadTlv otherwise (a TLV header or value running past the end), leaving `out`
  // unchanged.
  static ProxyHeaderError Parse(std::span<const uint8_t> area, TlvList& out);

  Iterator begin() const { return Iterator(area_, 0); }
  Iterator end() const { return Iterator(area_, area_.size()); }
  bool empty() const { return area_.empty(); }
  // The first TLV of `type`, if any.
  std::optional<Tlv> Find(uint8_t type) const;
  // The raw area, TLV headers included.
  std::span<const uint8_t> bytes() const { return area_; }

 private:
  explicit TlvList(std::span<const uint8_t> area) : area_(area) {}
  std::span<const uint8_t> area_;
};

// A decoded header. Views into the parsed bytes (the TLVs) live as long as those bytes.
struct ProxyHeader {
  uint8_t version = 0;  // 1 or 2
  // v1 lines are always PROXY (§2.1 has no LOCAL; "UNKNOWN" shows as no addresses).
  Command command = Command::kProxy;
  // The v2 family/protocol byte as sent. v1: kTcp4, or kUnspec for "UNKNOWN".
  uint8_t family = V2Family::kUnspec;
  // Set only for command PROXY with TCP over IPv4. Otherwise the receiver uses the real
  // connection's endpoints: v1 "UNKNOWN" (§2.1), LOCAL and UNSPEC (§2.2), and the families
  // ferry does not decode, for which §2.2 lets a receiver "fall back to the UNSPEC mode".
  std::optional<ProxyAddresses> addresses;
  // Header bytes, CRLF or TLVs included: the payload starts at this offset.
  size_t length = 0;
  // v2 TLVs after the address block (empty for v1). A CRC-32C TLV among them has been verified.
  TlvList tlvs;
};

// Parses a v1 line at the start of `bytes` (§2.1). Returns kOk and fills `out`, or the first
// check that failed, leaving `out` unchanged. Bytes after the CRLF are not looked at.
ProxyHeaderError ParseV1(std::span<const uint8_t> bytes, ProxyHeader& out);

// Parses a v2 header at the start of `bytes` (§2.2): signature, version 2, command, a family
// byte §2.2 lists, a length that covers the family's address block and fits in `bytes`, TLVs
// that tile the rest, a CRC32C TLV (at most one, 4 bytes) that matches, and a UNIQUE_ID of at
// most 128 bytes. Returns kOk and fills `out`, or the first check that failed, leaving `out`
// unchanged. The address block's size comes from the family byte for both commands: §2.2 says
// receivers "must not assume zero is presented for LOCAL connections".
ProxyHeaderError ParseV2(std::span<const uint8_t> bytes, ProxyHeader& out);

// Either version, told apart by the first byte ('P' for v1, CR for v2; §2.2 "Identifying the
// protocol version"). Returns kTruncated for an empty span, kBadSignature for any other first
// byte, and otherwise what ParseV1 or ParseV2 returns.
ProxyHeaderError ParseProxyHeader(std::span<const uint8_t> bytes, ProxyHeader& out);

}  // namespace ferry::proxy
