#include "diagnostics.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace ferry::ferryd {
namespace {

using tcp::Tcb;

// Chargen's state in Tcb::user_data: the stream's position modulo the pattern's period, and
// whether the connection waits in the starved list.
constexpr uintptr_t kOffsetMask = 0xffff;
constexpr uintptr_t kStarvedBit = uintptr_t{1} << 16;
static_assert(kChargenPeriod <= kOffsetMask);

uintptr_t State(const Tcb& c) { return reinterpret_cast<uintptr_t>(c.user_data); }
void SetState(Tcb& c, uintptr_t state) { c.user_data = reinterpret_cast<void*>(state); }
uint32_t Offset(const Tcb& c) { return static_cast<uint32_t>(State(c) & kOffsetMask); }
void SetOffset(Tcb& c, uint32_t offset) {
  SetState(c, (State(c) & ~kOffsetMask) | offset);
}
bool Starved(const Tcb& c) { return State(c) & kStarvedBit; }

// The bytes generated per Send: a chain of this much at most, so that one call does not walk
// an arbitrarily long chain and a refill of a large send queue still goes out in pieces.
constexpr uint32_t kMaxChunk = 64 * 1024;

// One period of the RFC 864 stream, computed once.
const std::array<char, kChargenPeriod>& Pattern() {
  static const std::array<char, kChargenPeriod> pattern = [] {
    std::array<char, kChargenPeriod> p{};
    for (uint32_t i = 0; i < kChargenPeriod; ++i) p[i] = ChargenByte(i);
    return p;
  }();
  return pattern;
}

// Copies `n` bytes of the stream starting at `offset` (< kChargenPeriod) to `out`.
void CopyPattern(char* out, uint32_t n, uint32_t offset) {
  const std::array<char, kChargenPeriod>& pattern = Pattern();
  while (n > 0) {
    const uint32_t k = std::min(n, kChargenPeriod - offset);
    std::memcpy(out, pattern.data() + offset, k);
    out += k;
    n -= k;
    offset = 0;
  }
}

DiagCounter ClosedCounter(tcp::CloseReason reason) {
  switch (reason) {
    case tcp::CloseReason::kNormal: return DiagCounter::kClosedNormal;
    case tcp::CloseReason::kReset: return DiagCounter::kClosedReset;
    case tcp::CloseReason::kRefused: return DiagCounter::kClosedRefused;
    case tcp::CloseReason::kTimedOut: return DiagCounter::kClosedTimedOut;
    case tcp::CloseReason::kKeepaliveTimeout: return DiagCounter::kClosedKeepaliveTimeout;
    case tcp::CloseReason::kFinWait2Timeout: return DiagCounter::kClosedFinWait2Timeout;
  }
  return DiagCounter::kClosedNormal;
}

}  // namespace

char ChargenByte(uint64_t i) {
  // RFC 864, "Data Syntax": characters numbered 0..94 in ASCII order (space is 0), line N
  // holds characters (0+N mod 95) through (71+N mod 95), then carriage return, line feed.
  constexpr uint64_t kLine = kChargenLineLength + 2;
  const uint64_t line = i / kLine;
  const uint64_t column = i % kLine;
  if (column == kChargenLineLength) return '\r';
  if (column == kChargenLineLength + 1) return '\n';
  return static_cast<char>(' ' + (line + column) % 95);
}

DiagnosticServices::DiagnosticServices(tcp::TcpStack& stack, rte_mempool* pool,
                                       DiagCounters& counters, base::Instant now)
    : stack_(stack), pool_(pool), counters_(counters), now_(now), pool_reserve_(pool->size / 4) {
  starved_.reserve(stack.options().max_connections);
  retrying_.reserve(stack.options().max_connections);
  Pattern();  // built now, on the control path, not in the first connection's event
}

absl::Status DiagnosticServices::Listen(
    const std::vector<control::DiagnosticListenerSettings>& listeners) {
  for (size_t i = 0; i < listeners.size(); ++i) {
    const control::DiagnosticListenerSettings& l = listeners[i];
    Service* service = nullptr;
    tcp::ConnectionOptions options = l.connection;
    switch (l.service) {
      case control::DiagnosticService::kEcho:
        service = &echo_;
        // Echo takes no more than its send queue holds. The SYN-ACK's window is offered
        // before OnAccept, from the options alone, and a window may not shrink afterwards
        // (RFC 9293 §3.8.6.2.2), so the options must not offer more than the queue.
        options.receive_window = std::min(options.receive_window, options.send_buffer);
        break;
      case control::DiagnosticService::kDiscard: service = &discard_; break;
      case control::DiagnosticService::kChargen: service = &chargen_; break;
    }
    if (absl::Status s = stack_.Listen(l.address, l.port, options, service); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("diagnostics[", i, "] (",
                                                 std::string(control::Name(l.service)), " on ",
                                                 l.address.ToString(), ":", l.port,
                                                 "): ", s.message()));
    }
  }
  return absl::OkStatus();
}

// ---- Every service ---------------------------------------------------------------------------

tcp::ConnectionHandler* DiagnosticServices::Service::OnAccept(Tcb& connection) {
  connection.user_data = nullptr;  // the stack leaves it as the TCB's last owner set it
  owner_.counters_.Add(accepted_);
  owner_.counters_.Add(DiagCounter::kConnectionsOpen);
  Opened(connection);
  return this;
}

// RFC 862, 863 and 864 all end when the client is done: close our side too. Close sends the
// FIN after whatever is still queued (echo's last bytes) and lets go of the connection: no
// more events, so the open-connection gauge drops here.
void DiagnosticServices::Service::OnPeerFin(Tcb& connection) {
  Released(connection);
  owner_.counters_.Add(DiagCounter::kClosedOnPeerFin);
  owner_.counters_.Sub(DiagCounter::kConnectionsOpen);
  owner_.stack_.Close(connection, owner_.now_);
}

void DiagnosticServices::Service::OnClosed(Tcb& connection, tcp::CloseReason reason) {
  Released(connection);
  owner_.counters_.Add(ClosedCounter(reason));
  owner_.counters_.Sub(DiagCounter::kConnectionsOpen);
}

// ---- Echo (RFC 862) --------------------------------------------------------------------------

void DiagnosticServices::Echo::OnData(Tcb& connection, rte_mbuf* chain, uint32_t length) {
  // RFC 862: "any data received is sent back". The received mbufs themselves are queued, no
  // copy. They fit: the window offered was at most ReceiveSpace(), the send queue's space,
  // and every byte received since has been queued here (events.h).
  const uint32_t taken = owner_.stack_.Send(connection, chain, owner_.now_);
  owner_.counters_.Add(DiagCounter::kEchoBytes, taken);
  if (chain != nullptr) {
    owner_.counters_.Add(DiagCounter::kEchoDroppedBytes, length - taken);
    rte_pktmbuf_free(chain);
  }
}

void DiagnosticServices::Echo::OnAcked(Tcb& connection, uint32_t) {
  // Acknowledged bytes left the send queue: that much more can be echoed, so the window can
  // open by as much (RFC 9293 §3.8.6.2.2 decides whether an update goes out now).
  owner_.stack_.ReceiveSpaceChanged(connection, owner_.now_);
}

uint32_t DiagnosticServices::Echo::ReceiveSpace(const Tcb& connection) const {
  return connection.send_space();
}

// ---- Discard (RFC 863) -----------------------------------------------------------------------

void DiagnosticServices::Discard::OnData(Tcb&, rte_mbuf* chain, uint32_t length) {
  // RFC 863: "simply throws away any data it receives".
  owner_.counters_.Add(DiagCounter::kDiscardBytes, length);
  rte_pktmbuf_free(chain);
}

uint32_t DiagnosticServices::Discard::ReceiveSpace(const Tcb&) const {
  return kUnboundedReceiveSpace;
}

// ---- Chargen (RFC 864) -----------------------------------------------------------------------

void DiagnosticServices::Chargen::Opened(Tcb& connection) {
  // RFC 864: "Once a connection is established a stream of data is sent out".
  SetState(connection, 0);
  Fill(connection);
}

void DiagnosticServices::Chargen::Released(Tcb& connection) { owner_.Unstarve(connection); }

void DiagnosticServices::Chargen::OnData(Tcb&, rte_mbuf* chain, uint32_t length) {
  // RFC 864: "any data received is thrown away".
  owner_.counters_.Add(DiagCounter::kChargenDiscardedBytes, length);
  rte_pktmbuf_free(chain);
}

void DiagnosticServices::Chargen::OnAcked(Tcb& connection, uint32_t) { Fill(connection); }

uint32_t DiagnosticServices::Chargen::ReceiveSpace(const Tcb&) const {
  return kUnboundedReceiveSpace;
}

void DiagnosticServices::Chargen::Fill(Tcb& connection) {
  DiagnosticServices& d = owner_;
  uint32_t space = connection.send_space();
  if (space == 0) return;  // the next OnAcked refills
  uint32_t budget = d.PoolBudget();
  while (space > 0) {
    // One chain of fresh mbufs holding the next `want` bytes of the stream.
    const uint32_t want = std::min(space, kMaxChunk);
    const uint32_t offset = Offset(connection);
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    uint32_t length = 0;
    while (length < want && budget > 0) {
      rte_mbuf* m = rte_pktmbuf_alloc(d.pool_);
      if (m == nullptr) break;
      --budget;
      const uint16_t n =
          static_cast<uint16_t>(std::min<uint32_t>(want - length, rte_pktmbuf_tailroom(m)));
      char* p = rte_pktmbuf_append(m, n);
      CopyPattern(p, n, (offset + length) % kChargenPeriod);
      if (head == nullptr) {
        head = m;
      } else {
        tail->next = m;
        head->nb_segs++;
        head->pkt_len += n;
      }
      tail = m;
      length += n;
    }
    if (head == nullptr) {
      // The pool is down to its reserve: leave it to receiving, try again from Poll.
      d.counters_.Add(DiagCounter::kChargenPoolLow);
      d.MarkStarved(connection);
      return;
    }
    rte_mbuf* rest = head;
    const uint32_t taken = d.stack_.Send(connection, rest, d.now_);
    d.counters_.Add(DiagCounter::kChargenBytes, taken);
    SetOffset(connection, static_cast<uint32_t>((offset + taken) % kChargenPeriod));
    if (rest != nullptr) {
      // The queue took less than it said it had room for (not yet synchronized, or its
      // chain slots ran out). The untaken text is regenerated next time from the new offset.
      rte_pktmbuf_free(rest);
      // With nothing queued no acknowledgement will come to call Fill again: retry from Poll.
      if (connection.send_queued() == 0) d.MarkStarved(connection);
      return;
    }
    if (length < want) {
      d.counters_.Add(DiagCounter::kChargenPoolLow);
      d.MarkStarved(connection);
      return;
    }
    space = connection.send_space();
  }
}

// ---- Waiting for mbufs -----------------------------------------------------------------------

uint32_t DiagnosticServices::PoolBudget() const {
  const uint32_t available = rte_mempool_avail_count(pool_);
  return available > pool_reserve_ ? available - pool_reserve_ : 0;
}

void DiagnosticServices::MarkStarved(Tcb& connection) {
  if (Starved(connection)) return;
  SetState(connection, State(connection) | kStarvedBit);
  starved_.push_back(&connection);  // within the reserved capacity: one TCB, one entry
}

void DiagnosticServices::Unstarve(Tcb& connection) {
  if (!Starved(connection)) return;
  SetState(connection, State(connection) & ~kStarvedBit);
  auto it = std::find(starved_.begin(), starved_.end(), &connection);
  if (it != starved_.end()) {
    *it = starved_.back();
    starved_.pop_back();
  }
}

void DiagnosticServices::RetryStarved() {
  // Fill may starve a connection again, which appends to starved_: work from a copy. Send
  // raises no event, so no connection in the copy closes while it is being walked.
  retrying_.swap(starved_);
  for (Tcb* connection : retrying_) {
    SetState(*connection, State(*connection) & ~kStarvedBit);
    chargen_.Fill(*connection);
  }
  retrying_.clear();
}

}  // namespace ferry::ferryd
