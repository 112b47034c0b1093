// The splice (proxy.h): the events of a session's two connections. Received mbuf chains go to
// the other connection's send queue as they are; what does not fit yet (the backend is still
// connecting, or a queue took less) is held in the session, and the window each side is offered
// excludes it, so what is held stays within max_in_flight_bytes per direction. FINs are passed
// on per direction once everything before them is queued (half-close both ways); a RST or a
// connection that times out ends the session with a RST to the other side.
#include <rte_mbuf.h>

#include <array>

#include "proxy/proxy.h"
#include "proxy/proxy_protocol.h"

namespace ferry::proxy {
namespace {

Side SideOf(const Session& s, const tcp::Tcb& connection) {
  return s.client == &connection ? Side::kClient : Side::kBackend;
}

}  // namespace

// ---- Flow control ----------------------------------------------------------------------------

uint32_t Proxy::ReceiveSpace(const tcp::Tcb& connection) const {
  const Session* s = SessionOf(connection);
  if (s == nullptr) return 0;
  const Side to = Other(SideOf(*s, connection));
  const uint32_t held = s->held_for(to).bytes;
  uint32_t space = 0;
  if (s->state == SessionState::kSpliced) {
    const tcp::Tcb* destination = to == Side::kClient ? s->client : s->backend;
    if (destination != nullptr) space = destination->send_space();
  } else {
    // Before the backend is connected, what the client sends waits here, up to the cap.
    space = s->listener->settings.max_in_flight_bytes;
  }
  return space > held ? space - held : 0;
}

bool Proxy::Hold(Session& s, Side to, rte_mbuf* chain, uint32_t length) {
  HeldData& held = s.held_for(to);
  if (held.head == nullptr) {
    held.head = chain;
  } else {
    if (static_cast<uint32_t>(held.head->nb_segs) + chain->nb_segs > RTE_MBUF_MAX_NB_SEGS) {
      rte_pktmbuf_free(chain);
      counters_.Add(ProxyCounter::kPendingOverflows);
      return false;
    }
    held.tail->next = chain;
    held.head->nb_segs = static_cast<uint16_t>(held.head->nb_segs + chain->nb_segs);
    held.head->pkt_len += chain->pkt_len;
  }
  held.tail = rte_pktmbuf_lastseg(chain);
  held.bytes += length;
  counters_.Add(ProxyCounter::kBytesHeld, length);
  return true;
}

void Proxy::CountBytes(Session& s, Side to, uint32_t bytes) {
  if (to == Side::kClient) {
    s.listener->stats->counters.Add(ListenerCounter::kBytesToClient, bytes);
  } else {
    s.backend_stats->counters.Add(BackendCounter::kBytesToBackend, bytes);
  }
}

void Proxy::Flush(Session& s, Side to) {
  tcp::Tcb* destination = s.connection(to);
  if (destination == nullptr || s.state != SessionState::kSpliced) return;
  HeldData& held = s.held_for(to);
  if (held.head != nullptr) {
    rte_mbuf* rest = held.head;
    const uint32_t taken = stack_.Send(*destination, rest, now_);
    if (taken > 0) {
      CountBytes(s, to, taken);
      counters_.Sub(ProxyCounter::kBytesHeld, taken);
      held.bytes -= taken;
    }
    if (rest == nullptr) {
      held = HeldData{};
    } else if (rest != held.head) {
      // The queue split the chain; the remainder may start with a new mbuf (send_queue.h).
      held.head = rest;
      held.tail = rte_pktmbuf_lastseg(rest);
    }
  }
  // RFC 9293 §3.10.4: the FIN follows everything queued before it, so it is passed on only
  // once nothing from that direction is held.
  if (held.head == nullptr && s.fin_from(Other(to)) && !s.shut_down(to)) {
    s.shut_down(to) = true;
    stack_.Shutdown(*destination, now_);
    if (s.shut_down(Other(to))) {
      // Both directions are finished: the stack completes both closes on its own.
      EndSession(s, Ending::kFinished);
    }
  }
}

// ---- Events ----------------------------------------------------------------------------------

void Proxy::OnConnected(tcp::Tcb& connection) {
  Session* s = SessionOf(connection);
  if (s == nullptr || &connection != s->backend) return;
  wheel_.Cancel(s->connect_timer);
  BackendStats& stats = *s->backend_stats;
  stats.connect_time.Record(now_ - s->attempt_started_at);
  stats.counters.Add(BackendCounter::kSessionsTotal);
  s->state = SessionState::kSpliced;
  s->last_activity = now_;
  if (!SendProxyHeader(*s)) {
    counters_.Add(ProxyCounter::kProxyHeaderFailures);
    EndSession(*s, Ending::kBroken);
    return;
  }
  Flush(*s, Side::kBackend);
  // The client's window was the cap less what is held; now it is the backend's queue space.
  if (s->state == SessionState::kSpliced && s->client != nullptr) {
    stack_.ReceiveSpaceChanged(*s->client, now_);
  }
}

void Proxy::OnData(tcp::Tcb& connection, rte_mbuf* chain, uint32_t length) {
  Session* s = SessionOf(connection);
  if (s == nullptr) {
    rte_pktmbuf_free(chain);
    return;
  }
  const Side from = SideOf(*s, connection);
  const Side to = Other(from);
  s->last_activity = now_;
  if (from == Side::kClient) {
    s->listener->stats->counters.Add(ListenerCounter::kBytesFromClient, length);
    s->bytes_from_client += length;
  } else {
    s->backend_stats->counters.Add(BackendCounter::kBytesFromBackend, length);
    s->bytes_from_backend += length;
  }
  tcp::Tcb* destination = s->connection(to);
  HeldData& held = s->held_for(to);
  if (s->state == SessionState::kSpliced && destination != nullptr && held.head == nullptr) {
    rte_mbuf* rest = chain;
    const uint32_t taken = stack_.Send(*destination, rest, now_);
    CountBytes(*s, to, taken);
    if (rest == nullptr) return;
    chain = rest;
    length -= taken;
  }
  if (!Hold(*s, to, chain, length)) EndSession(*s, Ending::kBroken);
}

void Proxy::OnAcked(tcp::Tcb& connection, uint32_t) {
  Session* s = SessionOf(connection);
  if (s == nullptr) return;
  const Side side = SideOf(*s, connection);
  s->last_activity = now_;
  // This connection's queue has room: first what is held for it, then the other side's window.
  Flush(*s, side);
  if (s->state == SessionState::kFree) return;  // Flush ended it
  if (tcp::Tcb* other = s->connection(Other(side))) stack_.ReceiveSpaceChanged(*other, now_);
}

void Proxy::OnPeerFin(tcp::Tcb& connection) {
  Session* s = SessionOf(connection);
  if (s == nullptr) return;
  const Side from = SideOf(*s, connection);
  s->fin_from(from) = true;
  s->last_activity = now_;
  Flush(*s, Other(from));  // passes the FIN on if nothing is held (and the backend is up)
}

void Proxy::OnClosed(tcp::Tcb& connection, tcp::CloseReason reason) {
  Session* s = SessionOf(connection);
  if (s == nullptr) return;
  connection.user_data = nullptr;
  const Side side = SideOf(*s, connection);
  s->connection(side) = nullptr;
  if (side == Side::kBackend && s->state != SessionState::kSpliced) {
    // The attempt failed before the backend accepted: refused (RST to the SYN) or, rarely
    // before connect_timeout, the SYN retries ran out.
    BackendCounters& c = s->backend_stats->counters;
    c.Add(reason == tcp::CloseReason::kTimedOut ? BackendCounter::kConnectTimeouts
                                                : BackendCounter::kConnectRefused);
    AttemptFailed(*s);
    return;
  }
  switch (reason) {
    case tcp::CloseReason::kNormal:
      // Both FINs on this connection: both directions are over.
      EndSession(*s, Ending::kFinished);
      return;
    case tcp::CloseReason::kReset:
      if (side == Side::kClient) {
        s->listener->stats->counters.Add(ListenerCounter::kClientResets);
      } else {
        s->backend_stats->counters.Add(BackendCounter::kBackendResets);
      }
      break;
    case tcp::CloseReason::kRefused:
    case tcp::CloseReason::kTimedOut:
    case tcp::CloseReason::kKeepaliveTimeout:
    case tcp::CloseReason::kFinWait2Timeout:
      if (side == Side::kClient) {
        s->listener->stats->counters.Add(ListenerCounter::kClientTimeouts);
      } else {
        s->backend_stats->counters.Add(BackendCounter::kBackendTimeouts);
      }
      break;
  }
  // RST propagation: the other side learns at once that the stream is broken.
  EndSession(*s, Ending::kBroken);
}

// ---- PROXY protocol --------------------------------------------------------------------------

bool Proxy::SendProxyHeader(Session& s) {
  // The pool as it is now (the listener's): a session whose listener was removed while its
  // backend was connecting cannot know what header the backend expects, and is ended.
  if (s.listener->pool < 0) return false;
  const PoolState& state = pools_[static_cast<uint32_t>(s.listener->pool)];
  const PoolSettings& pool = *state.settings;
  if (pool.proxy_protocol == ProxyProtocolVersion::kNone) return true;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return false;
  std::span<uint8_t> out(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_tailroom(m));
  // The client as source, the virtual service it connected to as destination (§2.1, §2.2).
  const tcp::FourTuple& client = s.client->tuple();
  const ProxyAddresses addresses{.source = client.remote_ip,
                                 .destination = client.local_ip,
                                 .source_port = client.remote_port,
                                 .destination_port = client.local_port};
  size_t length = 0;
  if (pool.proxy_protocol == ProxyProtocolVersion::kV1) {
    length = EncodeV1(addresses, out);
  } else {
    V2Writer writer = V2Writer::Proxy(addresses, out);
    writer.AddTlvs(state.tlvs);
    if (pool.proxy_protocol_crc32c) writer.AddCrc32c();
    length = writer.Finish();
  }
  if (length == 0 || rte_pktmbuf_append(m, static_cast<uint16_t>(length)) == nullptr) {
    rte_pktmbuf_free(m);
    return false;
  }
  rte_mbuf* rest = m;
  stack_.Send(*s.backend, rest, now_);
  if (rest != nullptr) {  // an empty queue of at least 1 KiB takes a header whole
    rte_pktmbuf_free(rest);
    return false;
  }
  return true;
}

}  // namespace ferry::proxy
