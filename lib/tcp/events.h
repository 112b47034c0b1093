// What the stack tells the owner of a connection (the proxy's session, ferryd's diagnostic
// services, the packet tests): the events of docs/tcp.md, delivered by calling the owner's
// handler from inside TcpStack::Input, Tick or an API call.
//
// Rules for handlers:
//   - A handler may call any TcpStack API from inside an event, on this connection or another
//     (Send, Shutdown, Close, Abort, ReceiveSpaceChanged, Connect). The connection stays valid
//     until the event returns, even if the handler closed or aborted it.
//   - OnClosed is the last event of a connection; its Tcb& is invalid once it returns. A
//     connection the owner Close()d or Abort()ed reports nothing more (not even OnClosed).
//   - Payload handed over in OnData belongs to the handler. The stack never delivers more than
//     the window it offered, and it offers at most ReceiveSpace(): a handler that can always
//     take ReceiveSpace() bytes never has to drop data. A passive open's SYN-ACK goes out
//     before the owner exists: it offers ListenHandler::AcceptReceiveSpace() (and at most
//     ConnectionOptions::receive_window and 64 KiB, unscaled), and the edge it sets is kept
//     (RFC 9293 §3.8.6.2.2), so a new connection's owner must be able to take that much.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>

struct rte_mbuf;

namespace ferry::tcp {

class Tcb;

// Why a connection ended, as OnClosed reports it.
enum class CloseReason : uint8_t {
  kNormal,            // both FINs exchanged and ours acknowledged
  kReset,             // the peer sent an acceptable RST (RFC 9293 §3.10.7.4)
  kRefused,           // RST in answer to our SYN (SYN-SENT)
  kTimedOut,          // retransmission limit reached (RFC 9293 §3.8.3, R2)
  kKeepaliveTimeout,  // keep-alive probes unanswered (RFC 9293 §3.8.4)
  kFinWait2Timeout,   // the peer never closed its side after we closed ours
};

constexpr std::string_view Name(CloseReason r) {
  switch (r) {
    case CloseReason::kNormal: return "normal";
    case CloseReason::kReset: return "reset";
    case CloseReason::kRefused: return "refused";
    case CloseReason::kTimedOut: return "timed_out";
    case CloseReason::kKeepaliveTimeout: return "keepalive_timeout";
    case CloseReason::kFinWait2Timeout: return "fin_wait_2_timeout";
  }
  return "unknown";
}

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Active open: our SYN was answered and acknowledged; the connection is ESTABLISHED.
  virtual void OnConnected(Tcb& connection) = 0;
  // In-order payload: `chain` (a well-formed mbuf chain of `length` > 0 bytes) is the
  // handler's now.
  virtual void OnData(Tcb& connection, rte_mbuf* chain, uint32_t length) = 0;
  // The peer acknowledged `bytes` of what we sent: the send queue has that much more space.
  virtual void OnAcked(Tcb& connection, uint32_t bytes) = 0;
  // The peer's FIN: it will send nothing more (OnData will not be called again).
  virtual void OnPeerFin(Tcb& connection) = 0;
  // The connection is over; see CloseReason. Last event.
  virtual void OnClosed(Tcb& connection, CloseReason reason) = 0;
  // Bytes the handler can take right now beyond what it has been given. The window offered to
  // the peer is at most this (and never shrinks, RFC 9293 §3.8.6.2.2). When it grows, the
  // handler calls TcpStack::ReceiveSpaceChanged so a window update can go out.
  virtual uint32_t ReceiveSpace(const Tcb& connection) const = 0;
};

class ListenHandler {
 public:
  virtual ~ListenHandler() = default;
  // A passive open completed (the ACK of our SYN-ACK arrived, or a valid SYN cookie). Returns
  // the handler for the new connection, or nullptr to refuse it (it is reset). Data that came
  // with the ACK is delivered right after, through the returned handler.
  virtual ConnectionHandler* OnAccept(Tcb& connection) = 0;
  // What each new connection's owner can take at first: the window the SYN-ACK offers is at
  // most this. The default leaves it to ConnectionOptions::receive_window.
  virtual uint32_t AcceptReceiveSpace() const { return UINT32_MAX; }
};

}  // namespace ferry::tcp
