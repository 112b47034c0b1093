// A stateful fuzzer for tcp::TcpStack (TESTING.md, item 5): each input builds a fresh stack
// with small limits (8 TCBs, a SYN backlog of 1 or 2 so SYN cookies come into play, short
// timers), listens on two ports, and then runs a sequence of operations read from the input:
// segments from a peer, time passing, and the owner's API calls (Send, Shutdown, Close, Abort,
// ReceiveSpaceChanged, Connect, Listen/StopListening, ICMP fragmentation needed). Handlers of
// the stack's events read further bytes from the input to decide what to do, from inside the
// event (echo the data back, hold it, close, abort...).
//
// Segments are made in-window often: for every 4-tuple the harness tracks what the stack last
// sent (its ISS, highest sequence sent, last ACK, timestamp) by parsing every packet it sends,
// and builds sequence and acknowledgment numbers as small offsets from those.
//
// Input layout: 3 configuration bytes (see Configure), then operations until the input runs
// out. Each operation starts with one byte, op % 8:
//   0-3  a segment from the peer (Inject)    4  time passes, then Tick (AdvanceTime)
//   5    an owner action on a connection     6  Connect (an active open)
//   7    listener changes or ICMP fragmentation needed
// Bytes read past the end are 0.
//
// What must hold:
//   - no crash, sanitizer report or failed assert in lib/tcp;
//   - every packet the stack sends is a well-formed IPv4 + TCP packet from our address that
//     ParseSegment accepts (checksum included);
//   - the events follow events.h: no event to an owner after OnClosed, Close or Abort; OnData
//     brings a well-formed chain of `length` > 0 bytes, never more than the owner said it could
//     take (ReceiveSpace, AcceptReceiveSpace); no data after OnPeerFin; OnAcked never
//     acknowledges more than was sent;
//   - after every call: connections() <= max_connections, free_tcbs() + connections() ==
//     max_connections, the state gauges are not underflowed and add up to connections();
//   - a SYN for a listener is answered with a SYN cookie only if the SYN-RECEIVED backlog or
//     the TCB pool is full;
//   - at the end, once the owner has closed everything and 10 minutes have passed with a
//     silent peer, every connection is gone, the gauges are 0, and after the stack is destroyed
//     every mbuf is back in its pool.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/siphash.h"
#include "net/address.h"
#include "net/bytes.h"
#include "net/host.h"
#include "net/ipv4.h"
#include "net/tcp_header.h"
#include "tcp/events.h"
#include "tcp/options.h"
#include "tcp/segment.h"
#include "tcp/stack.h"
#include "tcp/stack_options.h"
#include "tcp/tcb.h"
#include "tcp/tcp_counters.h"
#include "fuzz_check.h"

namespace ferry::tcp {
namespace {

using net::TcpFlags;
using std::chrono::milliseconds;
using std::chrono::seconds;

const net::Ipv4Address kFerry = net::Ipv4Address::FromOctets(198, 18, 0, 1);
const net::Ipv4Address kPeer = net::Ipv4Address::FromOctets(198, 18, 0, 2);
// Another destination the peer may send to: the wildcard listener takes it, the other not.
const net::Ipv4Address kOther = net::Ipv4Address::FromOctets(198, 18, 0, 9);
constexpr uint16_t kListenPorts[] = {80, 8080};
constexpr uint16_t kClosedPort = 81;
constexpr uint32_t kMaxConnections = 8;
constexpr size_t kMaxOwners = 48;  // connections the owner may hold over one input
constexpr size_t kMaxFlows = 16;
constexpr uint32_t kPoolSize = 8191;

rte_mempool* g_pool = nullptr;      // headers, received segments, data to send
rte_mempool* g_indirect = nullptr;  // send-queue slices

// The input, read front to back; 0 once it runs out.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  bool empty() const { return n_ == 0; }
  uint8_t U8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint16_t U16() { return static_cast<uint16_t>(U8() << 8 | U8()); }
  uint32_t U32() { return uint32_t{U16()} << 16 | U16(); }

 private:
  const uint8_t* p_;
  size_t n_;
};

// One 4-tuple as the peer sees it: what the stack sent on it, and what the peer sent.
struct Flow {
  uint16_t local_port = 0;   // ferry's
  uint16_t remote_port = 0;  // the peer's
  // From the stack's packets.
  bool seen = false;
  uint32_t s_iss = 0;       // seq of its last SYN
  uint32_t s_last_seq = 0;  // seq of its last segment
  uint32_t s_nxt = 0;       // highest seq + length sent
  uint32_t s_ack = 0;       // its last ACK number (its RCV.NXT)
  bool s_ack_valid = false;
  uint32_t s_ts = 0;  // its last TSval
  // The peer's side.
  uint32_t p_iss = 0;
  uint32_t p_nxt = 0;
  uint32_t p_ts = 1;
};

class Harness;

// The owner of one connection. Never reused within an input, so an event that reaches a
// closed one is a stack bug, not a mix-up.
class Owner final : public ConnectionHandler {
 public:
  Harness* h = nullptr;
  Tcb* tcb = nullptr;
  bool live = false;        // events may come
  bool connecting = false;  // Connect: the Tcb is not known until it returns
  bool peer_fin = false;
  uint64_t budget = 0;  // bytes the owner can still take (ReceiveSpace)
  uint64_t sent = 0;    // bytes Send took
  uint64_t acked = 0;   // bytes OnAcked reported
  std::vector<rte_mbuf*> held;

  void CheckEvent(const Tcb& connection) const {
    FUZZ_CHECK(live);
    FUZZ_CHECK(tcb == nullptr ? connecting : tcb == &connection);
  }
  void FreeHeld() {
    for (rte_mbuf* m : held) rte_pktmbuf_free(m);
    held.clear();
  }

  void OnConnected(Tcb& connection) override;
  void OnData(Tcb& connection, rte_mbuf* chain, uint32_t length) override;
  void OnAcked(Tcb& connection, uint32_t bytes) override;
  void OnPeerFin(Tcb& connection) override;
  void OnClosed(Tcb& connection, CloseReason reason) override;
  uint32_t ReceiveSpace(const Tcb& connection) const override {
    CheckEvent(connection);
    return static_cast<uint32_t>(std::min<uint64_t>(budget, UINT32_MAX));
  }
};

class Harness final : public net::Ipv4Output, public ListenHandler {
 public:
  Harness(const uint8_t* data, size_t size) : in(data, size) {}

  Reader in;
  base::Instant now{seconds(1000)};
  StackOptions stack_options;
  ConnectionOptions conn_options;
  uint32_t accept_space = UINT32_MAX;
  TcpCounters counters;
  std::unique_ptr<TcpStack> stack;
  std::array<Owner, kMaxOwners> owners;
  size_t owners_used = 0;
  std::array<Flow, kMaxFlows> flows;
  size_t flow_count = 0;
  size_t flow_next = 0;  // the one to replace when full
  bool listening[2] = {false, false};

  // ---- net::Ipv4Output: every packet the stack sends.
  void SendIpv4(rte_mbuf* packet, base::Instant) override {
    FUZZ_CHECK(packet != nullptr);
    FUZZ_CHECK(rte_pktmbuf_data_len(packet) >= net::Ipv4Repr::kLength);
    uint32_t total = 0;
    uint16_t segs = 0;
    for (const rte_mbuf* m = packet; m != nullptr; m = m->next) {
      total += rte_pktmbuf_data_len(m);
      ++segs;
    }
    FUZZ_CHECK(total == rte_pktmbuf_pkt_len(packet) && segs == packet->nb_segs);
    const uint8_t* ip = rte_pktmbuf_mtod(packet, const uint8_t*);
    FUZZ_CHECK(ip[0] == 0x45);
    FUZZ_CHECK(net::LoadBe16(ip + 2) == total);
    FUZZ_CHECK(ip[9] == net::IpProtocol::kTcp);
    const net::Ipv4Address source(net::LoadBe32(ip + 12));
    FUZZ_CHECK(source == kFerry || source == kOther);
    FUZZ_CHECK(net::Ipv4Address(net::LoadBe32(ip + 16)) == kPeer);
    rte_pktmbuf_adj(packet, net::Ipv4Repr::kLength);
    // The TCP checksum is the NIC's with offload; the stack leaves the pseudo-header sum.
    packet->ol_flags =
        stack_options.tcp_checksum_offload ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
    Segment s;
    FUZZ_CHECK(ParseSegment(packet, source, kPeer, s) == SegmentError::kOk);
    Record(s);
    rte_pktmbuf_free(s.payload);
  }

  void Record(const Segment& s) {
    Flow& f = FindFlow(s.source_port, s.destination_port);
    if (s.rst()) return;  // says nothing about the connection's numbers
    f.seen = true;
    if (s.syn()) f.s_iss = s.seq.raw();
    f.s_last_seq = s.seq.raw();
    const uint32_t end = s.seq.raw() + s.length();
    if (!f.s_ack_valid || s.syn() || static_cast<int32_t>(end - f.s_nxt) > 0) f.s_nxt = end;
    if (s.ack_flag()) {
      f.s_ack = s.ack.raw();
      f.s_ack_valid = true;
    }
    if (s.options.timestamps) f.s_ts = s.options.timestamps->value;
  }

  Flow& FindFlow(uint16_t local_port, uint16_t remote_port) {
    for (size_t i = 0; i < flow_count; ++i) {
      if (flows[i].local_port == local_port && flows[i].remote_port == remote_port) {
        return flows[i];
      }
    }
    size_t i;
    if (flow_count < kMaxFlows) {
      i = flow_count++;
    } else {
      i = flow_next;
      flow_next = (flow_next + 1) % kMaxFlows;
    }
    flows[i] = Flow{};
    flows[i].local_port = local_port;
    flows[i].remote_port = remote_port;
    flows[i].p_iss = flows[i].p_nxt = 0x10000000u * (remote_port & 0xf) + 1000u * local_port;
    return flows[i];
  }

  // ---- ListenHandler.
  ConnectionHandler* OnAccept(Tcb& connection) override {
    // One byte: refuse (1 in 16), else the owner's first budget (receive space).
    const uint8_t b = in.U8();
    if ((b & 0x0f) == 0x0f || owners_used == kMaxOwners) return nullptr;
    Owner& o = owners[owners_used++];
    o.h = this;
    o.tcb = &connection;
    o.live = true;
    // events.h: the owner must take what the SYN-ACK offered.
    o.budget = std::min<uint64_t>(accept_space, conn_options.receive_window);
    return &o;
  }
  uint32_t AcceptReceiveSpace() const override { return accept_space; }

  // ---- Invariants after each call into the stack.
  void CheckStack() {
    const size_t n = stack->connections();
    FUZZ_CHECK(n <= kMaxConnections);
    FUZZ_CHECK(stack->free_tcbs() + n == kMaxConnections);
    uint64_t sum = 0;
    for (TcpCounter g : {TcpCounter::kConnectionsSynSent, TcpCounter::kConnectionsSynReceived,
                         TcpCounter::kConnectionsEstablished, TcpCounter::kConnectionsClosing,
                         TcpCounter::kConnectionsTimeWait}) {
      const uint64_t v = counters.Load(g);
      FUZZ_CHECK(v < (uint64_t{1} << 63));  // not underflowed
      sum += v;
    }
    FUZZ_CHECK(sum == n);
  }

  // ---- Configuration: 3 bytes.
  void Configure() {
    const uint8_t c0 = in.U8(), c1 = in.U8(), c2 = in.U8();
    StackOptions& s = stack_options;
    s.max_connections = kMaxConnections;
    s.syn_backlog = (c2 & 1) ? 1 : 2;
    s.syn_cookies = !(c0 & 0x01);
    s.rto.initial = milliseconds(500);
    s.rto.min = milliseconds(100);
    s.rto.max = seconds(4);
    s.time_wait = seconds(2);
    s.fin_wait_2_timeout = seconds(3);
    s.max_retransmissions = 4;
    s.syn_retries = 2;
    s.challenge_ack_limit = (c2 & 2) ? 2 : 1000;
    s.timer_tick = milliseconds(1);
    s.timer_slots = 256;
    s.send_queue_entries = 32;
    s.reassembly_segments = 8;
    s.sack_ranges = 8;
    s.mss = (c2 & 4) ? 536 : 1460;
    s.ephemeral_first = 50000;
    s.ephemeral_last = (c2 & 8) ? 50001 : 50063;
    s.pressure_free_mbufs = (c2 & 0x10) ? kPoolSize - 64 : 0;
    s.reserve_free_mbufs = (c2 & 0x20) ? kPoolSize - 48 : 0;
    s.tcp_checksum_offload = c0 & 0x80;

    ConnectionOptions& o = conn_options;
    o.keepalive = c0 & 0x02;
    o.keepalive_idle = seconds(5);
    o.keepalive_interval = seconds(1);
    o.keepalive_probes = 2;
    o.nagle = c0 & 0x04;
    o.window_scaling = !(c0 & 0x08);
    o.timestamps = !(c0 & 0x10);
    o.sack = !(c0 & 0x20);
    o.congestion = (c0 & 0x40) ? CongestionAlgorithm::kNewReno : CongestionAlgorithm::kCubic;
    static constexpr uint32_t kWindows[] = {1024, 8192, 65535, 300000};
    static constexpr uint32_t kSendBuffers[] = {2048, 16384, 65536, 1 << 20};
    static constexpr uint32_t kAcceptSpace[] = {UINT32_MAX, 0, 3000, 65535};
    o.receive_window = kWindows[c1 & 3];
    o.send_buffer = kSendBuffers[(c1 >> 2) & 3];
    accept_space = kAcceptSpace[(c1 >> 4) & 3];
  }

  // ---- Operations.
  void Run() {
    Configure();
    stack = std::make_unique<TcpStack>(stack_options, g_pool, g_indirect, *this, counters,
                                       base::SipKey{0x0123456789abcdefull, 0xfedcba9876543210ull},
                                       now);
    for (int i = 0; i < 2; ++i) {
      FUZZ_CHECK(stack->Listen(i == 0 ? net::Ipv4Address() : kFerry, kListenPorts[i],
                               conn_options, this)
                     .ok());
      listening[i] = true;
    }
    while (!in.empty()) {
      const uint8_t op = in.U8();
      switch (op & 7) {
        case 0: case 1: case 2: case 3: Inject(op); break;
        case 4: AdvanceTime(in.U8()); break;
        case 5: OwnerAction(op); break;
        case 6: ConnectOp(op); break;
        case 7: ListenerOrIcmp(op); break;
      }
      CheckStack();
    }
    Finish();
  }

  Flow* PickFlow(uint8_t b) {
    if (!(b & 0x80) && flow_count > 0) return &flows[b % flow_count];
    static constexpr uint16_t kLocal[] = {kListenPorts[0], kListenPorts[1], kListenPorts[0],
                                          kClosedPort};
    return &FindFlow(kLocal[b & 3], static_cast<uint16_t>(40000 + ((b >> 2) & 7)));
  }

  // A signed offset from one byte (and another for the larger scales).
  int64_t Delta(uint8_t mode) {
    switch (mode & 3) {
      case 0: return 0;
      case 1: return static_cast<int8_t>(in.U8());
      case 2: return int64_t{static_cast<int8_t>(in.U8())} * 512;
      default: return static_cast<int16_t>(in.U16()) * int64_t{64};
    }
  }

  void Inject(uint8_t op) {
    Flow& f = *PickFlow(in.U8());
    const uint8_t fb = in.U8();
    static constexpr uint8_t kTemplates[] = {
        TcpFlags::kSyn,
        TcpFlags::kSyn | TcpFlags::kAck,
        TcpFlags::kAck,
        TcpFlags::kAck | TcpFlags::kPsh,
        TcpFlags::kFin | TcpFlags::kAck,
        TcpFlags::kRst,
        TcpFlags::kRst | TcpFlags::kAck,
        0};
    uint8_t flags = kTemplates[fb & 7];
    if ((fb & 7) == 7) flags = in.U8();
    const uint8_t checksum_mode = (fb >> 3) & 3;  // 0, 3 computed; 1 NIC says good; 2 bad
    const bool raw_options = fb & 0x20;

    // Sequence number.
    const uint8_t sm = in.U8();
    uint32_t seq;
    switch (sm & 3) {
      case 0: seq = f.s_ack_valid ? f.s_ack : f.p_nxt; break;
      case 1: seq = f.p_nxt; break;
      case 2: seq = f.p_iss; break;
      default: seq = in.U32(); break;
    }
    seq += static_cast<uint32_t>(Delta(sm >> 2));
    if ((flags & TcpFlags::kSyn) && !(flags & TcpFlags::kAck) && (sm & 0x10)) {
      seq = f.p_iss + 100000 + in.U8() * 4096u;  // a new incarnation
    }
    // Acknowledgment number.
    const uint8_t am = in.U8();
    uint32_t ack;
    switch (am & 3) {
      case 0: ack = f.s_nxt; break;
      case 1: ack = f.s_last_seq; break;
      case 2: ack = f.s_iss + 1; break;
      default: ack = in.U32(); break;
    }
    ack += static_cast<uint32_t>(Delta(am >> 2));
    // Window.
    const uint8_t wb = in.U8();
    uint16_t window;
    switch (wb & 3) {
      case 0: window = 65535; break;
      case 1: window = 0; break;
      case 2: window = wb; break;
      default: window = in.U16(); break;
    }

    // Options.
    TcpOptions options;
    std::array<uint8_t, kMaxOptionsLength> raw{};
    size_t raw_length = 0;
    if (raw_options) {
      raw_length = std::min<size_t>(in.U8() % (kMaxOptionsLength + 1), kMaxOptionsLength);
      for (size_t i = 0; i < raw_length; ++i) raw[i] = in.U8();
      raw_length = (raw_length + 3) & ~size_t{3};  // pad with EOL
    } else {
      const uint8_t ob = in.U8();
      if (ob & 0x01) options.mss = static_cast<uint16_t>(in.U8() * 6);
      if (ob & 0x02) options.window_scale = std::min<uint8_t>(in.U8() & 15, kMaxWindowScale);
      options.sack_permitted = ob & 0x04;
      if (ob & 0x08) {
        const uint8_t tb = in.U8();
        switch (tb & 3) {
          case 0: f.p_ts += 1 + (tb >> 4); break;
          case 1: break;
          case 2: f.p_ts -= 100000; break;
          default: f.p_ts = in.U32(); break;
        }
        const uint32_t ecr = (tb & 4) ? in.U32() : f.s_ts;
        options.timestamps = TcpOptions::Timestamps{.value = f.p_ts, .echo_reply = ecr};
      }
      if (!(flags & TcpFlags::kSyn)) {
        const uint8_t blocks = (ob >> 4) & 3;
        for (uint8_t i = 0; i < blocks + ((ob & 0x40) ? 1 : 0); ++i) {
          const uint8_t a = in.U8(), b = in.U8();
          Seq left(f.s_nxt - uint32_t{a} * 64);
          if (a == 0xff) left = Seq(in.U32());
          options.sack_blocks[i] = SackBlock{left, left + (uint32_t{b} + 1) * 16};
          options.sack_block_count = i + 1;
        }
      }
    }

    // Payload: 0 to 3000 bytes in 1 to 4 mbufs.
    const uint8_t lb = in.U8();
    uint32_t length;
    switch (lb & 3) {
      case 0: length = 0; break;
      case 1: length = 1 + (in.U8() & 63); break;
      case 2: length = in.U16() % 3001; break;
      default: length = (lb & 4) ? 536 : 1460; break;
    }
    const uint32_t pieces = std::max<uint32_t>(1 + ((lb >> 4) & 3), (length + 2047) / 2048);
    rte_mbuf* payload = nullptr;
    if (length > 0) {
      payload = MakeChain(length, pieces, static_cast<uint8_t>(seq));
      if (payload == nullptr) return;  // the pool is dry: checked at the end
    }

    rte_mbuf* packet;
    if (raw_options) {
      packet = RawSegment(f, seq, ack, flags, window, {raw.data(), raw_length}, payload,
                          length);
    } else {
      OutSegment out;
      out.source_port = f.remote_port;
      out.destination_port = f.local_port;
      out.seq = Seq(seq);
      out.ack = Seq(ack);
      out.flags = flags;
      out.window = window;
      out.options = options;
      out.payload = payload;
      out.payload_length = length;
      packet = BuildSegment(out, kPeer, kFerry, g_pool, /*tcp_checksum_offload=*/false);
      if (packet != nullptr) rte_pktmbuf_adj(packet, net::Ipv4Repr::kLength);
    }
    if (packet == nullptr) return;
    packet->ol_flags = 0;
    if (checksum_mode == 1 || raw_options) packet->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    if (checksum_mode == 2) {
      uint8_t* tcp = rte_pktmbuf_mtod(packet, uint8_t*);
      tcp[16] ^= 0x5a;
    }

    // Peer bookkeeping: what it has now sent.
    uint32_t seg_len = length + ((flags & TcpFlags::kSyn) ? 1 : 0) + ((flags & TcpFlags::kFin) ? 1 : 0);
    if ((flags & TcpFlags::kSyn) && !(flags & TcpFlags::kAck)) f.p_iss = seq;
    if ((flags & TcpFlags::kSyn)) f.p_nxt = seq + seg_len;
    else if (static_cast<int32_t>(seq + seg_len - f.p_nxt) > 0) f.p_nxt = seq + seg_len;

    // A SYN cookie is only for a full backlog or a full table.
    const bool may_cookie =
        counters.Load(TcpCounter::kConnectionsSynReceived) >= stack_options.syn_backlog ||
        stack->connections() >= kMaxConnections;
    const uint64_t cookies_before = counters.Load(TcpCounter::kCookiesSent);

    // The checksum covers the destination: the one to kOther is said to be checked by the NIC.
    const bool other = (op & 0xf8) == 0xf8;
    if (other) packet->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    stack->Input(packet, kPeer, other ? kOther : kFerry, now);
    if (!may_cookie) FUZZ_CHECK(counters.Load(TcpCounter::kCookiesSent) == cookies_before);
  }

  // A chain of `pieces` mbufs holding `length` bytes.
  rte_mbuf* MakeChain(uint32_t length, uint32_t pieces, uint8_t fill) {
    rte_mbuf* head = nullptr;
    uint32_t left = length;
    for (uint32_t i = 0; i < pieces && left > 0; ++i) {
      const uint32_t n = i + 1 == pieces ? left : std::min(left, (length + pieces - 1) / pieces);
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      if (m == nullptr) {
        rte_pktmbuf_free(head);
        return nullptr;
      }
      char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
      FUZZ_CHECK(p != nullptr);
      std::memset(p, fill + i, n);
      if (head == nullptr) {
        head = m;
      } else {
        FUZZ_CHECK(rte_pktmbuf_chain(head, m) == 0);
      }
      left -= n;
    }
    return head;
  }

  // A TCP header written by hand, with options as the input gives them (maybe malformed).
  // The NIC is said to have checked the checksum.
  rte_mbuf* RawSegment(const Flow& f, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                       std::span<const uint8_t> options, rte_mbuf* payload, uint32_t length) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    if (m == nullptr) {
      rte_pktmbuf_free(payload);
      return nullptr;
    }
    const size_t header = 20 + options.size();
    uint8_t* t = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(header)));
    FUZZ_CHECK(t != nullptr);
    net::StoreBe16(t, f.remote_port);
    net::StoreBe16(t + 2, f.local_port);
    net::StoreBe32(t + 4, seq);
    net::StoreBe32(t + 8, ack);
    t[12] = static_cast<uint8_t>((header / 4) << 4);
    t[13] = flags;
    net::StoreBe16(t + 14, window);
    net::StoreBe16(t + 16, 0);
    net::StoreBe16(t + 18, 0);
    std::memcpy(t + 20, options.data(), options.size());
    if (payload != nullptr && rte_pktmbuf_chain(m, payload) != 0) {
      rte_pktmbuf_free(m);
      rte_pktmbuf_free(payload);
      return nullptr;
    }
    (void)length;
    return m;
  }

  void AdvanceTime(uint8_t b) {
    static constexpr base::Duration kSteps[] = {
        milliseconds(0),   milliseconds(1),   milliseconds(10), milliseconds(40),
        milliseconds(100), milliseconds(200), milliseconds(500), seconds(1),
        seconds(2),        seconds(3),        seconds(5),       seconds(10),
        seconds(30),       seconds(60),       seconds(65),      seconds(70)};
    if (b < 16) {
      now += kSteps[b];
    } else {
      const int64_t x = b - 16;
      now += milliseconds(x * x * 7 / 5);  // up to 80 s
    }
    stack->Tick(now);
  }

  Owner* PickOwner(uint8_t b) {
    size_t live = 0;
    for (size_t i = 0; i < owners_used; ++i) live += owners[i].live && owners[i].tcb != nullptr;
    if (live == 0) return nullptr;
    size_t k = b % live;
    for (size_t i = 0; i < owners_used; ++i) {
      if (owners[i].live && owners[i].tcb != nullptr && k-- == 0) return &owners[i];
    }
    return nullptr;
  }

  // Queues `length` fresh bytes in `pieces` mbufs; frees what Send did not take.
  void SendBytes(Owner& o, uint32_t length, uint32_t pieces) {
    if (length == 0) return;
    rte_mbuf* chain = MakeChain(length, std::max<uint32_t>(pieces, (length + 2047) / 2048), 0x61);
    if (chain == nullptr) return;
    SendChain(o, chain);
  }
  void SendChain(Owner& o, rte_mbuf* chain) {
    const uint32_t before = rte_pktmbuf_pkt_len(chain);
    const uint32_t taken = stack->Send(*o.tcb, chain, now);
    FUZZ_CHECK(taken <= before);
    o.sent += taken;
    if (taken == before) {
      FUZZ_CHECK(chain == nullptr);
    } else {
      FUZZ_CHECK(chain != nullptr && rte_pktmbuf_pkt_len(chain) == before - taken);
      rte_pktmbuf_free(chain);
    }
  }

  void Forget(Owner& o) {
    o.live = false;
    o.FreeHeld();
  }

  // The owner's actions, on one of its live connections (also used from inside events).
  void Act(Owner& o, uint8_t a) {
    if (!o.live || o.tcb == nullptr) return;
    switch (a & 7) {
      case 0: case 1:
        SendBytes(o, 1 + in.U16() % 6000, 1 + ((a >> 3) & 3));
        break;
      case 2:
        stack->Shutdown(*o.tcb, now);
        break;
      case 3:
        Forget(o);
        stack->Close(*o.tcb, now);
        break;
      case 4:
        Forget(o);
        stack->Abort(*o.tcb, now);
        break;
      case 5: case 6:
        o.budget += uint64_t{in.U8()} << ((a >> 3) & 15);
        o.FreeHeld();
        stack->ReceiveSpaceChanged(*o.tcb, now);
        break;
      case 7:
        // Nothing; the data it holds stays held.
        break;
    }
  }

  void OwnerAction(uint8_t op) {
    Owner* o = PickOwner(in.U8());
    if (o == nullptr) return;
    Act(*o, static_cast<uint8_t>(op >> 3));
  }

  void ConnectOp(uint8_t op) {
    if (owners_used == kMaxOwners) return;
    const uint8_t b = in.U8();
    Owner& o = owners[owners_used++];
    o.h = this;
    o.live = true;
    o.connecting = true;
    o.budget = uint64_t{in.U16()} << ((b >> 4) & 7);
    static constexpr uint16_t kRemote[] = {80, 443, 40000, 40001};
    FourTuple tuple{.local_ip = kFerry,
                    .remote_ip = kPeer,
                    .local_port = static_cast<uint16_t>((b & 4) ? 0 : 50000 + (b & 3)),
                    .remote_port = kRemote[(op >> 3) & 3]};
    ConnectionOptions options = conn_options;
    if (b & 8) options.window_scaling = !options.window_scaling;
    ConnectError error = ConnectError::kOk;
    Tcb* tcb = stack->Connect(tuple, options, &o, now, &error);
    o.connecting = false;
    if (tcb == nullptr) {
      FUZZ_CHECK(error != ConnectError::kOk);
      o.live = false;
      return;
    }
    FUZZ_CHECK(error == ConnectError::kOk);
    FUZZ_CHECK(tcb->state() == TcpState::kSynSent);
    o.tcb = tcb;
  }

  void ListenerOrIcmp(uint8_t op) {
    const uint8_t b = in.U8();
    if (op & 0x08) {
      const int i = b & 1;
      const net::Ipv4Address address = i == 0 ? net::Ipv4Address() : kFerry;
      if (listening[i]) {
        FUZZ_CHECK(stack->StopListening(address, kListenPorts[i]).ok());
      } else {
        FUZZ_CHECK(stack->Listen(address, kListenPorts[i], conn_options, this).ok());
      }
      listening[i] = !listening[i];
      return;
    }
    if (flow_count == 0) return;
    const Flow& f = flows[b % flow_count];
    const uint32_t quoted = f.s_nxt - 1 - uint32_t{in.U8()} * 256;
    const uint16_t mtu = static_cast<uint16_t>(in.U8() * 8);
    stack->IcmpFragmentationNeeded(kFerry, kPeer, f.local_port, f.remote_port, quoted, mtu,
                                   now);
  }

  // The owner closes whatever it still holds, and the peer falls silent: within 10 minutes
  // every connection must be gone.
  void Finish() {
    for (size_t i = 0; i < owners_used; ++i) {
      Owner& o = owners[i];
      if (!o.live || o.tcb == nullptr) continue;
      Forget(o);
      stack->Close(*o.tcb, now);
      CheckStack();
    }
    // Steps of 30 s: every timer here (RTO at most 4 s, 4 retransmissions, TIME-WAIT 2 s,
    // FIN-WAIT-2 3 s, keep-alive 5 s + 2 x 1 s) fires at most once per Tick and re-arms from
    // `now`, so 20 steps see every connection through, and cost a fraction of 1 s steps.
    for (int i = 0; i < 20; ++i) {
      now += seconds(30);
      stack->Tick(now);
    }
    CheckStack();
    if (stack->connections() != 0) {
      // Which ones, for the report: the TCBs the owner had (a TCB may have been reused).
      for (size_t i = 0; i < owners_used; ++i) {
        const Tcb* t = owners[i].tcb;
        if (t == nullptr || t->state() == TcpState::kClosed) continue;
        std::fprintf(stderr, "tcp_stack_fuzz: left over: %u -> %u in %s\n",
                     t->tuple().local_port, t->tuple().remote_port, Name(t->state()).data());
      }
    }
    FUZZ_CHECK(stack->connections() == 0);
    FUZZ_CHECK(stack->free_tcbs() == kMaxConnections);
    stack.reset();
    for (size_t i = 0; i < owners_used; ++i) owners[i].FreeHeld();
    FUZZ_CHECK(rte_mempool_in_use_count(g_pool) == 0);
    FUZZ_CHECK(rte_mempool_in_use_count(g_indirect) == 0);
  }
};

void Owner::OnConnected(Tcb& connection) {
  CheckEvent(connection);
  FUZZ_CHECK(connection.state() == TcpState::kEstablished);
  // Sometimes act at once (send, shut down, close...).
  const uint8_t b = h->in.U8();
  if (b & 1) h->Act(*this, static_cast<uint8_t>(b >> 1));
}

void Owner::OnData(Tcb& connection, rte_mbuf* chain, uint32_t length) {
  CheckEvent(connection);
  FUZZ_CHECK(!peer_fin);
  FUZZ_CHECK(chain != nullptr && length > 0 && rte_pktmbuf_pkt_len(chain) == length);
  uint32_t total = 0;
  uint16_t segs = 0;
  for (const rte_mbuf* m = chain; m != nullptr; m = m->next) {
    total += rte_pktmbuf_data_len(m);
    ++segs;
  }
  FUZZ_CHECK(total == length && segs == chain->nb_segs);
  // events.h: never more than the window offered, which is never more than ReceiveSpace.
  FUZZ_CHECK(length <= budget);
  budget -= length;
  const uint8_t b = h->in.U8();
  switch (b & 7) {
    case 0: case 1:  // consumed: the space comes back
      rte_pktmbuf_free(chain);
      budget += length;
      if (b & 8) h->stack->ReceiveSpaceChanged(connection, h->now);
      break;
    case 2: case 3:  // echoed back, and consumed
      budget += length;
      h->SendChain(*this, chain);
      break;
    case 4:  // held
      held.push_back(chain);
      break;
    default:  // consumed, then an owner action
      rte_pktmbuf_free(chain);
      budget += length;
      h->Act(*this, static_cast<uint8_t>(b >> 3));
      break;
  }
}

void Owner::OnAcked(Tcb& connection, uint32_t bytes) {
  CheckEvent(connection);
  acked += bytes;
  FUZZ_CHECK(acked <= sent);
}

void Owner::OnPeerFin(Tcb& connection) {
  CheckEvent(connection);
  FUZZ_CHECK(!peer_fin);
  peer_fin = true;
  const uint8_t b = h->in.U8();
  if (b & 1) h->Act(*this, static_cast<uint8_t>(b >> 1));
}

void Owner::OnClosed(Tcb& connection, CloseReason reason) {
  CheckEvent(connection);
  (void)reason;
  h->Forget(*this);
}

}  // namespace
}  // namespace ferry::tcp

// EAL's runtime directory is removed at exit, as in host_input_fuzz.cc.
namespace {
std::string g_runtime_dir;
void RemoveRuntimeDir() {
  if (!g_runtime_dir.empty()) rmdir(g_runtime_dir.c_str());
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const std::string prefix = "--file-prefix=ferry-fuzz-" + std::to_string(getpid());
  const char* eal_argv[] = {"fuzz", "--no-huge", "--no-pci", "--no-shconf", "-m", "256",
                            "--log-level=error", "-l", "0", prefix.c_str()};
  std::atexit(RemoveRuntimeDir);
  if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
    std::fprintf(stderr, "tcp_stack_fuzz: EAL init failed: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  g_runtime_dir = rte_eal_get_runtime_dir();
  // No per-lcore caches, so that the in-use counts are exact after every input.
  ferry::tcp::g_pool = rte_pktmbuf_pool_create("fuzz_pool", ferry::tcp::kPoolSize, 0, 0,
                                               RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ferry::tcp::g_indirect =
      rte_pktmbuf_pool_create("fuzz_indirect", ferry::tcp::kPoolSize, 0, 0, 0, SOCKET_ID_ANY);
  if (ferry::tcp::g_pool == nullptr || ferry::tcp::g_indirect == nullptr) {
    std::fprintf(stderr, "tcp_stack_fuzz: pool: %s\n", rte_strerror(rte_errno));
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ferry::tcp::Harness h(data, size);
  h.Run();
  return 0;
}
