// The scripted packet-test harness (suite `packet`, docs/tcp.md "Packet tests"): one
// tcp::TcpStack in process with a fake clock, a fake IPv4 output that parses back every segment
// the stack sends, and a recording owner for its connections. Tests read like scripts:
//
//   Harness h;
//   h.Listen();
//   h.Inject(Syn().Seq(0).Win(65535).Mss(1460).SackOk().Ts(100, 0).Ws(7));
//   h.Expect(SynAck().Seq(0).Ack(1).Mss(1460).SackOk().TsEcr(100).Ws(0));
//   h.Inject(Ack().Seq(1).Ack(1));
//   EXPECT_EQ(h.Events(), Log({"accept"}));
//   h.Advance(200ms);
//   h.ExpectNothing();
//
// Sequence numbers are relative on both sides, as packetdrill prints them: the peer's ISN is
// chosen per flow by the harness (SetPeerIsn to pick one, e.g. near 2^32 to test wraparound)
// and written as 0 in scripts; ferry's ISS is keyed-random, so the harness learns it from the
// first SYN or SYN-ACK ferry sends on the flow and expresses ferry's sequence numbers relative
// to it. An ACK number (and a SACK block) always refers to the other side's space: in Inject,
// .Ack(1) means ferry's ISS + 1; in Expect, .Ack(1) means the peer's ISN + 1. Until ferry's ISS
// is known on a flow (e.g. a RST answering a segment to a closed port) its numbers are
// absolute.
//
// Defaults on injection: the window is the one of the peer's SYN (Peer::win); once both SYNs
// carried timestamps, every non-RST segment gets TSval from the peer's clock (ms since the
// start, never behind a TSval a script injected) and TSecr = ferry's latest TSval, unless the
// script says .Ts(...) or .NoTs(), as a well-behaved peer would (RFC 7323 §3.2).
//
// Flows: a flow is (ferry's port, the peer's port). Listen and Connect make the flow they use
// the default one; .Port(remote) / .Ports(local, remote) name another.
//
// What the harness checks on its own, for every segment ferry sends: the IPv4 header (version,
// addresses, protocol 6, total length, DF), the TCP checksum and header framing (through
// tcp::ParseSegment), that data bytes equal what the owner queued at those sequence numbers,
// and that TSvals never go backwards on a flow. For every delivery (OnData): the chain is
// well formed and its length is what was announced. At the end: every mbuf of every pool is
// back (the stack leaks none).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "net/address.h"
#include "net/tcp_header.h"
#include "tcp/events.h"
#include "tcp/options.h"
#include "tcp/segment.h"
#include "tcp/stack.h"
#include "tcp/stack_options.h"
#include "tcp/tcb.h"
#include "tcp/tcp_counters.h"

namespace ferry::tcp {

// Read access to a TCB's private state for assertions the wire cannot show (tcb.h befriends
// it). Prefer checking segments; use this for negotiated values only.
class TcbInspector {
 public:
  static uint8_t snd_wscale(const Tcb& t) { return t.snd_wscale_; }
  static uint8_t rcv_wscale(const Tcb& t) { return t.rcv_wscale_; }
  static bool wscale_ok(const Tcb& t) { return t.wscale_ok_; }
  static bool ts_ok(const Tcb& t) { return t.ts_ok_; }
  static bool sack_ok(const Tcb& t) { return t.sack_ok_; }
  static uint32_t snd_wnd(const Tcb& t) { return t.snd_wnd_; }
  static uint16_t peer_mss(const Tcb& t) { return t.peer_mss_; }
};

}  // namespace ferry::tcp

namespace ferry::tcp::packet {

using namespace std::chrono_literals;
using net::TcpFlags;

inline constexpr net::Ipv4Address kFerryIp = net::Ipv4Address::FromOctets(198, 18, 0, 1);
inline constexpr net::Ipv4Address kPeerIp = net::Ipv4Address::FromOctets(198, 18, 0, 2);
inline constexpr uint16_t kFerryPort = 80;
inline constexpr uint16_t kPeerPort = 40000;
// Payload of a full segment at MSS 1460: without options, and with the 12 bytes of NOP NOP TS
// every segment carries once timestamps are on (RFC 7323 §3.2, RFC 6691).
inline constexpr uint32_t kMss = 1460;
inline constexpr uint32_t kMssTs = 1460 - 12;

// The bytes the peer sends at relative sequence number `seq` onwards (lowercase), and the
// bytes the harness's owner queues on ferry's side at stream offset `offset` (uppercase), so
// every byte's origin and position can be checked.
std::string PeerPattern(uint32_t seq, uint32_t length);
std::string OwnerPattern(uint32_t offset, uint32_t length);

// Whole milliseconds of a duration, for readable EXPECT_EQs on timing.
inline int64_t Ms(base::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// A SACK block in relative sequence numbers [left, right).
struct Block {
  uint32_t left = 0;
  uint32_t right = 0;
  friend bool operator==(const Block&, const Block&) = default;
};

// Timestamps in a script: value and echo reply; a missing one is "any" in an expectation.
struct TsSpec {
  std::optional<uint32_t> val;
  std::optional<uint32_t> ecr;
};

class SegmentCodec;

// One segment in a script, as injected (from the peer) or expected (from ferry). Fields left
// unset are defaulted on injection (see Harness::Inject) and not checked on expectation.
class Seg {
 public:
  explicit Seg(uint8_t flags) : flags_(flags) {}

  Seg& Seq(uint32_t relative) { seq_ = relative; return *this; }
  Seg& Ack(uint32_t relative) { ack_ = relative; return *this; }
  Seg& Win(uint16_t raw) { win_ = raw; return *this; }
  // Adds flag bits (e.g. TcpFlags::kPsh, kUrg, kEce). PSH is only compared when set here
  // (RFC 9293 §3.9.1: when to push is the sender's choice).
  Seg& Flags(uint8_t bits) {
    flags_ |= bits;
    if (bits & TcpFlags::kPsh) psh_checked_ = true;
    return *this;
  }
  Seg& NoPsh() { flags_ &= ~TcpFlags::kPsh; psh_checked_ = true; return *this; }
  // Expectation: the ACK bit may be on or off (a RST may carry one: RFC 9293 §3.10.5 sends
  // <SEQ=SND.NXT><CTL=RST>, Linux adds ACK).
  Seg& AckBitOptional() { ack_bit_optional_ = true; return *this; }
  Seg& Urg(uint16_t pointer) { flags_ |= TcpFlags::kUrg; urgent_ = pointer; return *this; }

  Seg& Mss(uint16_t v) { mss_ = v; return *this; }
  Seg& NoMss() { mss_ = std::optional<uint16_t>(); return *this; }
  Seg& Ws(uint8_t v) { ws_ = v; return *this; }
  Seg& NoWs() { ws_ = std::optional<uint8_t>(); return *this; }
  Seg& SackOk() { sack_ok_ = true; return *this; }
  Seg& NoSackOk() { sack_ok_ = false; return *this; }
  Seg& Ts(uint32_t val, uint32_t ecr) { ts_ = TsSpec{val, ecr}; return *this; }
  // Expectation: TS present with this echo reply, any value.
  Seg& TsEcr(uint32_t ecr) { ts_ = TsSpec{std::nullopt, ecr}; return *this; }
  // Expectation: TS present, any value and echo.
  Seg& TsAny() { ts_ = TsSpec{}; return *this; }
  Seg& NoTs() { ts_ = std::optional<TsSpec>(); return *this; }
  Seg& Sack(std::vector<Block> blocks) { sack_ = std::move(blocks); return *this; }
  Seg& NoSack() { sack_ = std::vector<Block>{}; return *this; }
  // Expectation: no option at all. Injection: none, not even the automatic timestamps.
  Seg& NoOpts() { return NoMss().NoWs().NoSackOk().NoTs().NoSack(); }

  // Payload: exact bytes, or `length` bytes of PeerPattern (injection, from .Seq on) or any
  // `length` bytes (expectation; their content is still checked against what was queued).
  Seg& Data(std::string bytes) { data_ = std::move(bytes); return *this; }
  Seg& Len(uint32_t length) { len_ = length; return *this; }

  // The flow: the peer's port (ferry's from the default flow), or both.
  Seg& Port(uint16_t remote) { remote_port_ = remote; return *this; }
  Seg& Ports(uint16_t local, uint16_t remote) {
    local_port_ = local;
    remote_port_ = remote;
    return *this;
  }

  // Injection only: this options area instead of the emitted one (padded with EOL to a
  // multiple of 4), and a corrupted checksum.
  Seg& RawOptions(std::vector<uint8_t> bytes) { raw_options_ = std::move(bytes); return *this; }
  Seg& BadChecksum() { bad_checksum_ = true; return *this; }
  // Injection only: this sequence number as is, not relative to the flow's peer ISN (to
  // replay another flow's numbers).
  Seg& AbsoluteSeq(uint32_t absolute) { absolute_seq_ = absolute; return *this; }

 private:
  friend class Harness;
  friend class SegmentCodec;

  uint8_t flags_;
  bool psh_checked_ = false;
  bool ack_bit_optional_ = false;
  std::optional<uint32_t> seq_;
  std::optional<uint32_t> ack_;
  std::optional<uint16_t> win_;
  uint16_t urgent_ = 0;
  // Outer optional: unset (default / unchecked); inner: absent or this value.
  std::optional<std::optional<uint16_t>> mss_;
  std::optional<std::optional<uint8_t>> ws_;
  std::optional<bool> sack_ok_;
  std::optional<std::optional<TsSpec>> ts_;
  std::optional<std::vector<Block>> sack_;
  std::optional<std::string> data_;
  std::optional<uint32_t> len_;
  std::optional<uint16_t> remote_port_;
  std::optional<uint16_t> local_port_;
  std::optional<std::vector<uint8_t>> raw_options_;
  std::optional<uint32_t> absolute_seq_;
  bool bad_checksum_ = false;
};

inline Seg Syn() { return Seg(TcpFlags::kSyn); }
inline Seg SynAck() { return Seg(TcpFlags::kSyn | TcpFlags::kAck); }
inline Seg Ack() { return Seg(TcpFlags::kAck); }
inline Seg Fin() { return Seg(TcpFlags::kFin | TcpFlags::kAck); }  // FIN with ACK, as sent
inline Seg Rst() { return Seg(TcpFlags::kRst); }
inline Seg RstAck() { return Seg(TcpFlags::kRst | TcpFlags::kAck); }

// A segment ferry sent, as parsed back.
struct Captured {
  base::Instant at;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint32_t seq = 0;  // absolute
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  uint16_t urgent = 0;
  TcpOptions options;
  std::vector<uint8_t> raw_options;  // the options area as sent
  std::string payload;
  // It covered nothing beyond what ferry had already sent on the flow (SYN, data or FIN).
  bool retransmission = false;
  // Where each payload mbuf with data read its bytes, so zero copy can be checked: `owner` is
  // the mbuf whose buffer holds them (rte_mbuf_from_indirect for an indirect mbuf, the mbuf
  // itself for a direct one). The pointers are for comparison only: the packet is freed.
  struct Piece {
    const rte_mbuf* owner = nullptr;
    bool indirect = false;
    const void* data = nullptr;  // first byte
    uint16_t length = 0;
  };
  std::vector<Piece> pieces;
  bool syn() const { return flags & TcpFlags::kSyn; }
  bool rst() const { return flags & TcpFlags::kRst; }
};

// What the peer's SYN (or SYN-ACK) offers in Establish*.
struct Peer {
  std::optional<uint16_t> mss = 1460;
  std::optional<uint8_t> ws = 7;
  bool sack = true;
  bool ts = true;
  uint16_t win = 65535;  // raw window of the SYN; later segments default to this too
};

// ---- Shared by the harnesses (this one and proxy_harness.h) ---------------------------------

// What a script knows of one TCP flow to number its segments (relative sequence numbers, the
// peer's timestamps and window) and to check ferry's (ISS, retransmissions, TSvals).
struct FlowNumbers {
  uint16_t local_port = 0;   // ferry's
  uint16_t remote_port = 0;  // the peer's
  uint32_t peer_isn = 0;
  std::optional<uint32_t> iss;
  uint32_t sent_end = 0;  // highest relative sequence number sent, plus one
  std::vector<uint32_t> iss_history;
  bool peer_syn_ts = false;
  bool our_syn_ts = false;
  std::optional<uint32_t> last_tsval;        // ours
  std::optional<uint32_t> peer_last_tsval;   // injected
  uint16_t peer_window = 65535;
  bool ts_on() const { return peer_syn_ts && our_syn_ts; }
};

// A packet ferry sent: the addresses of its IPv4 header and the segment.
struct SentSegment {
  net::Ipv4Address source;
  net::Ipv4Address destination;
  Captured segment;
};

// The wire side of a script, whoever owns the connections: building the segment a peer
// injects, parsing back a packet ferry sent, comparing it with an expectation, describing
// both. Each works on one flow's FlowNumbers.
class SegmentCodec {
 public:
  struct Pools {
    rte_mempool* header = nullptr;    // the stack's headers
    rte_mempool* indirect = nullptr;  // send-queue slices
    rte_mempool* data = nullptr;      // injected segments and owners' data
  };
  // The packet tests' pools, made once per process (making them per test costs more than the
  // tests); each harness checks that it gives back every mbuf it took.
  static const Pools& pools();
  // Where the fake clocks start: well away from zero (and from the epoch's SYN-cookie
  // period), so nothing depends on Instant{} being special.
  static base::Instant ClockStart();

  // The peer's TS clock on `f`: ms since the start plus a base, never behind a TSval the
  // peer sent on it.
  static uint32_t PeerTsNow(const FlowNumbers& f, base::Duration elapsed);
  // `s` as the peer of `f` sends it from `source` to `destination`, with the defaults of
  // Harness::Inject (`explicit_tsval`: the TSval of a .Ts/.TsEcr that names none), in one mbuf
  // of `pool` positioned at the TCP header, as the IPv4 host hands it to TcpStack::Input.
  // Records the peer's timestamp and SYN window in `f`. nullptr (a failure added at `loc`)
  // if the script is incomplete or the segment cannot be built.
  static rte_mbuf* BuildInjected(const Seg& s, FlowNumbers& f, net::Ipv4Address source,
                                 net::Ipv4Address destination, base::Duration elapsed,
                                 uint32_t explicit_tsval, rte_mempool* pool,
                                 std::source_location loc);
  // Checks a packet ferry sent (IPv4 header: version, protocol 6, total length, DF, TTL; TCP
  // framing and checksum through ParseSegment) and parses it. Frees the packet. nullopt (a
  // failure added) if it does not parse.
  static std::optional<SentSegment> ParseSent(rte_mbuf* packet, base::Instant at);
  // Learns ferry's ISS from its SYN, marks retransmissions and checks that TSvals never go
  // backwards on the flow (RFC 7323 §5.4).
  static void Track(Captured& c, FlowNumbers& f);
  // Compares everything `want` names but the flow; appends what differs to `why`.
  static bool Compare(const Seg& want, const Captured& got, const FlowNumbers& f,
                      std::vector<std::string>& why);
  // "S. seq 0 ack 1 win 65535 <mss 1460,...> len 0 @5ms", relative to `f` (absolute if null).
  static std::string Describe(const Captured& c, const FlowNumbers* f, base::Instant start);
  // "S. seq 0 ack * win * <...> len 0".
  static std::string Describe(const Seg& s);
  // A chain of `bytes` in `pool` (2000 bytes per mbuf); nullptr (failure added) if it runs dry.
  static rte_mbuf* MakeChain(std::string_view bytes, rte_mempool* pool);
  // The flow a Seg names with .Port/.Ports, if it names one.
  static std::optional<uint16_t> local_port(const Seg& s) { return s.local_port_; }
  static std::optional<uint16_t> remote_port(const Seg& s) { return s.remote_port_; }
};

using EventLog = std::vector<std::string>;
inline EventLog Log(std::initializer_list<const char*> events) {
  return EventLog(events.begin(), events.end());
}

class Harness final : public ListenHandler, public ConnectionHandler {
 public:
  Harness();
  ~Harness() override;
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // --- Setup (before the first use of the stack) ---
  // ferry's defaults except max_connections (256: the pool is allocated up front).
  StackOptions& stack_options();
  // Used by Listen and Connect. The harness default differs from ferry's in one place:
  // receive_window is 65535, so ferry's window shift is 0 and windows read as bytes.
  ConnectionOptions& connection_options() { return connection_options_; }
  TcpStack& stack();
  TcpCounters& counters() { return counters_; }
  uint64_t counter(TcpCounter c) const { return counters_.Load(c); }

  // --- Connections ---
  // Listens on ferry's `port`; the flow (port, kPeerPort) becomes the default.
  void Listen(uint16_t port = kFerryPort);
  // Active open to the peer's `remote_port` from ferry's `local_port` (0: ephemeral, learned
  // from the SYN); the flow becomes the default. Returns the TCB (nullptr on failure).
  Tcb* Connect(uint16_t remote_port = kFerryPort, uint16_t local_port = 45000,
               ConnectError* error = nullptr);
  // The three-way handshakes with standard checks; afterwards the event log is empty and
  // ferry's ISS and the negotiated options are known.
  void EstablishPassive(const Peer& peer = {});
  void EstablishActive(const Peer& peer = {});
  // Makes (local, remote) the default flow.
  void UseFlow(uint16_t local_port, uint16_t remote_port);
  // The peer's ISN on the default flow (or on `remote_port`'s flow); set before its SYN.
  void SetPeerIsn(uint32_t absolute, std::optional<uint16_t> remote_port = std::nullopt);
  uint32_t peer_isn() const;
  // Ferry's ISS on the default flow (absolute), once learned.
  uint32_t iss() const;
  // Every ISS ferry used on the default flow, oldest first (TIME-WAIT reuse).
  const std::vector<uint32_t>& iss_history() const;

  // The default flow's connection, while the owner holds it (nullptr after OnClosed, Close,
  // Abort, or before accept).
  Tcb* tcb() const;

  // --- Owner actions on the default flow ---
  // Queues bytes (Send) and returns how many the stack took.
  uint32_t Send(std::string_view bytes);
  uint32_t SendBytes(uint32_t length);  // OwnerPattern bytes, continuing the stream
  void Shutdown();
  void Close();
  void Abort();
  // Receive buffer: ReceiveSpace() = buffer - held. With auto-read (the default) data is
  // consumed as delivered, so held stays 0. Read frees `n` held bytes (all by default) and
  // calls ReceiveSpaceChanged.
  void SetReceiveBuffer(uint32_t bytes);
  void SetAutoRead(bool on);
  void Read(std::optional<uint32_t> n = std::nullopt);
  uint32_t held() const;
  // Accept or refuse (OnAccept returns nullptr) passive opens.
  void SetRefuseAccept(bool refuse) { refuse_accept_ = refuse; }
  // Called from inside every event, after it is logged (to react from the handler).
  std::function<void(const std::string& event)> on_event;

  // Memory pressure (StackOptions::pressure_free_mbufs, reserve_free_mbufs): takes mbufs out
  // of the stack's header pool (the one it judges pressure by) until only `leave_free` are
  // left, as other connections would; ReleasePool gives them back. The stack sees the change
  // at its next Tick (Advance).
  void SqueezePool(uint32_t leave_free);
  void ReleasePool();

  // ICMP fragmentation needed quoting ferry's relative sequence number `quoted_seq`.
  bool FragmentationNeeded(uint32_t quoted_seq, uint16_t next_hop_mtu);

  // --- Script steps ---
  void Inject(const Seg& segment, std::source_location loc = std::source_location::current());
  // Takes the oldest segment ferry sent and not yet expected, and checks it.
  void Expect(const Seg& segment, std::source_location loc = std::source_location::current());
  // Expect, and the segment must be a retransmission (nothing in it is new).
  void ExpectRetransmit(const Seg& segment,
                        std::source_location loc = std::source_location::current());
  void ExpectNothing(std::source_location loc = std::source_location::current());
  // Takes the oldest unchecked segment as is (nullopt if none).
  std::optional<Captured> Take();
  size_t pending() const { return captured_.size(); }
  // Discards every unchecked segment.
  void Flush() { captured_.clear(); }

  // Moves the clock forward by `d`, ticking the stack every `step` (default: the timer tick;
  // larger steps for idle periods of hours or days).
  void Advance(base::Duration d, std::optional<base::Duration> step = std::nullopt);
  // Moves the clock forward until ferry sends something or `limit` has passed; returns the
  // time moved.
  base::Duration AdvanceUntilOutput(base::Duration limit);
  base::Instant now() const { return now_; }
  base::Duration elapsed() const { return now_ - start_; }

  // Events since the last call: "accept", "accept refused", "connected", "data N",
  // "acked N", "peer_fin", "closed <reason>".
  EventLog Events();
  // Every byte delivered on the default flow so far.
  const std::string& Received() const;
  // The payload of each OnData on the default flow since the last call, in order.
  std::vector<std::string> Deliveries();
  // The last delivered chain's first mbuf and the mbuf of the last injected segment (zero
  // copy: they are the same).
  const rte_mbuf* last_delivered_mbuf() const { return last_delivered_; }
  const rte_mbuf* last_injected_mbuf() const { return last_injected_; }

  // Ferry's latest TSval on the default flow; the peer's TS clock now (ms since start plus a
  // base, never behind a TSval a script injected).
  uint32_t last_tsval() const;
  uint32_t PeerTsNow();

  // Readable one-line forms: "80>40000 S. seq 0 ack 1 win 65535 <mss 1460,sackOK,TS val 5
  // ecr 100,wscale 7> len 0".
  std::string Describe(const Captured& c) const;
  std::string Describe(const Seg& s) const;

 private:
  struct Flow : FlowNumbers {
    Tcb* tcb = nullptr;
    std::string sent;      // every byte the owner queued, from relative seq 1
    std::string received;  // every byte delivered
    std::vector<std::string> deliveries;  // per OnData, until Deliveries() takes them
    uint32_t buffer = 1u << 20;
    uint32_t held = 0;
    bool auto_read = true;
    std::deque<std::pair<rte_mbuf*, uint32_t>> held_chains;
  };

  // ListenHandler / ConnectionHandler.
  ConnectionHandler* OnAccept(Tcb& connection) override;
  // The default flow's buffer (SetReceiveBuffer), what the SYN-ACK may offer.
  uint32_t AcceptReceiveSpace() const override;
  void OnConnected(Tcb& connection) override;
  void OnData(Tcb& connection, rte_mbuf* chain, uint32_t length) override;
  void OnAcked(Tcb& connection, uint32_t bytes) override;
  void OnPeerFin(Tcb& connection) override;
  void OnClosed(Tcb& connection, CloseReason reason) override;
  uint32_t ReceiveSpace(const Tcb& connection) const override;

  class Output;
  friend class Output;
  void Capture(rte_mbuf* packet);

  Flow& FlowFor(uint16_t local_port, uint16_t remote_port);
  Flow& FlowOf(const Tcb& connection);
  Flow& FlowOf(const Seg& s);
  Flow& DefaultFlow();
  const Flow& DefaultFlow() const;
  void Event(Flow& flow, std::string text);
  bool Compare(const Seg& want, const Captured& got, const Flow& flow,
               std::vector<std::string>& why) const;
  rte_mbuf* MakeChain(std::string_view bytes);

  StackOptions stack_options_;
  ConnectionOptions connection_options_;
  TcpCounters counters_;
  std::unique_ptr<Output> output_;
  rte_mempool* header_pool_ = nullptr;
  rte_mempool* indirect_pool_ = nullptr;
  rte_mempool* data_pool_ = nullptr;
  std::vector<unsigned> in_use_at_start_;
  std::vector<rte_mbuf*> squeezed_;  // SqueezePool
  std::unique_ptr<TcpStack> stack_;
  base::Instant start_;
  base::Instant now_;
  std::map<std::pair<uint16_t, uint16_t>, Flow> flows_;
  std::pair<uint16_t, uint16_t> default_flow_{kFerryPort, kPeerPort};
  std::deque<Captured> captured_;
  EventLog events_;
  bool refuse_accept_ = false;
  std::set<uint16_t> listening_;
  const rte_mbuf* last_delivered_ = nullptr;
  const rte_mbuf* last_injected_ = nullptr;
};

}  // namespace ferry::tcp::packet
