// A worker's transmit buffer for one port queue: frames collect during a loop iteration and
// leave in one tx_burst when the iteration ends (or when the buffer fills), so the doorbell is
// rung once per batch, not per frame.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <array>
#include <cstdint>

#include "net/net_counters.h"

namespace ferry::net {

class TxQueue {
 public:
  static constexpr uint16_t kCapacity = 64;

  TxQueue(uint16_t port_id, uint16_t queue_id, NetCounters& counters)
      : port_id_(port_id), queue_id_(queue_id), counters_(&counters) {}

  void Add(rte_mbuf* frame) {
    if (count_ == kCapacity) Flush();
    frames_[count_++] = frame;
  }

  // Hands the batch to the NIC. What the ring cannot take now is freed and counted: holding it
  // would grow an unbounded backlog behind a stalled port, and TCP retransmits what matters.
  void Flush() {
    if (count_ == 0) return;
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < count_; ++i) bytes += rte_pktmbuf_pkt_len(frames_[i]);
    const uint16_t sent = rte_eth_tx_burst(port_id_, queue_id_, frames_.data(), count_);
    for (uint16_t i = sent; i < count_; ++i) {
      bytes -= rte_pktmbuf_pkt_len(frames_[i]);
      rte_pktmbuf_free(frames_[i]);
    }
    counters_->Add(NetCounter::kTxFrames, sent);
    counters_->Add(NetCounter::kTxBytes, bytes);
    if (sent < count_) counters_->Add(NetCounter::kDropTxRingFull, count_ - sent);
    count_ = 0;
  }

  uint16_t pending() const { return count_; }

 private:
  uint16_t port_id_;
  uint16_t queue_id_;
  NetCounters* counters_;
  uint16_t count_ = 0;
  std::array<rte_mbuf*, kCapacity> frames_{};
};

}  // namespace ferry::net
