// The four numbers that name a TCP connection (RFC 9293 §3.4: "A connection is fully specified
// by the pair of sockets at the ends"), seen from ferry's side: local is ferry's address and
// port on that leg, remote the peer's. Host byte order throughout.
#pragma once

#include <cstdint>
#include <utility>

#include "net/address.h"

namespace ferry::tcp {

struct FourTuple {
  net::Ipv4Address local_ip;
  net::Ipv4Address remote_ip;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;

  friend bool operator==(const FourTuple&, const FourTuple&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const FourTuple& t) {
    return H::combine(std::move(h), t.local_ip, t.remote_ip, t.local_port, t.remote_port);
  }
};

}  // namespace ferry::tcp
