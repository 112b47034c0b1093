// Two TcpStacks joined back to back by a simulated wire with a fake clock: whole transfers
// through the real input, output and timer paths, clean and with seeded loss, reordering and
// duplication. Every byte is checked, and both stacks must end with no connection and no mbuf.
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tcp/stack.h"

namespace ferry::tcp {
namespace {

using namespace std::chrono_literals;

const net::Ipv4Address kClientIp = net::Ipv4Address::FromOctets(198, 18, 0, 2);
const net::Ipv4Address kServerIp = net::Ipv4Address::FromOctets(198, 18, 0, 1);

struct Impairment {
  double loss = 0;
  double reorder = 0;    // delivered one extra millisecond late
  double duplicate = 0;
};

// Each direction: packets in flight with their delivery time.
class Wire {
 public:
  struct Packet {
    base::Instant at;
    rte_mbuf* mbuf;
    bool to_server;
  };
  class End : public net::Ipv4Output {
   public:
    End(Wire& wire, bool to_server) : wire_(wire), to_server_(to_server) {}
    void SendIpv4(rte_mbuf* packet, base::Instant now) override {
      wire_.Send(packet, to_server_, now);
    }

   private:
    Wire& wire_;
    bool to_server_;
  };

  Wire(Impairment impairment, uint32_t seed) : impairment_(impairment), rng_(seed) {}
  ~Wire() {
    for (auto& p : packets_) rte_pktmbuf_free(p.mbuf);
  }

  void Send(rte_mbuf* m, bool to_server, base::Instant now) {
    std::uniform_real_distribution<double> u(0, 1);
    ++sent_;
    if (getenv("LOOPBACK_TRACE") != nullptr && sent_ < 200) {
      const auto* t = rte_pktmbuf_mtod_offset(m, const uint8_t*, 20);
      auto be32 = [](const uint8_t* b) { return uint32_t{b[0]} << 24 | b[1] << 16 | b[2] << 8 | b[3]; };
      fprintf(stderr, "%s t=%ld flags=%02x seq=%u ack=%u win=%u len=%u\n", to_server ? "C>S" : "S>C",
              static_cast<long>((now - base::Instant{}) / 1ms), t[13], be32(t + 4), be32(t + 8),
              t[14] << 8 | t[15], m->pkt_len - 20 - (t[12] >> 4) * 4);
    }
    if (u(rng_) < impairment_.loss) {
      ++lost_;
      rte_pktmbuf_free(m);
      return;
    }
    base::Instant at = now + 1ms;
    if (u(rng_) < impairment_.reorder) at += 1ms;
    if (u(rng_) < impairment_.duplicate) {
      rte_mbuf* copy = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
      if (copy != nullptr) packets_.push_back({at, copy, to_server});
    }
    packets_.push_back({at, m, to_server});
  }

  // Delivers every packet due by `now`; returns how many.
  size_t Deliver(base::Instant now, TcpStack& client, TcpStack& server) {
    size_t n = 0;
    for (size_t i = 0; i < packets_.size();) {
      if (packets_[i].at > now) {
        ++i;
        continue;
      }
      Packet p = packets_[i];
      packets_.erase(packets_.begin() + static_cast<long>(i));
      rte_pktmbuf_adj(p.mbuf, sizeof(rte_ipv4_hdr));
      if (p.to_server) {
        server.Input(p.mbuf, kClientIp, kServerIp, now);
      } else {
        client.Input(p.mbuf, kServerIp, kClientIp, now);
      }
      ++n;
    }
    return n;
  }

  size_t sent() const { return sent_; }
  size_t lost() const { return lost_; }

 private:
  Impairment impairment_;
  std::mt19937 rng_;
  std::vector<Packet> packets_;
  size_t sent_ = 0;
  size_t lost_ = 0;
};

uint8_t PatternByte(uint64_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }

// The server side: takes everything, checks the pattern, closes when the client does.
class Sink : public ListenHandler, public ConnectionHandler {
 public:
  explicit Sink(TcpStack*& stack, base::Instant& now) : stack_(stack), now_(now) {}
  ConnectionHandler* OnAccept(Tcb&) override {
    ++accepted;
    return this;
  }
  void OnConnected(Tcb&) override {}
  void OnData(Tcb&, rte_mbuf* chain, uint32_t length) override {
    for (rte_mbuf* m = chain; m != nullptr; m = m->next) {
      const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
      for (uint16_t i = 0; i < m->data_len; ++i) {
        if (p[i] != PatternByte(received)) ++mismatches;
        ++received;
      }
    }
    EXPECT_EQ(chain->pkt_len, length);
    rte_pktmbuf_free(chain);
  }
  void OnAcked(Tcb&, uint32_t) override {}
  void OnPeerFin(Tcb& c) override {
    peer_fin = true;
    stack_->Close(c, now_);
  }
  void OnClosed(Tcb&, CloseReason r) override { closed_reason = r; }
  uint32_t ReceiveSpace(const Tcb&) const override { return 1u << 30; }

  TcpStack*& stack_;
  base::Instant& now_;
  int accepted = 0;
  uint64_t received = 0;
  uint64_t mismatches = 0;
  bool peer_fin = false;
  std::optional<CloseReason> closed_reason;
};

// The client side: sends `total` bytes of the pattern as the window allows, then closes.
class Source : public ConnectionHandler {
 public:
  Source(TcpStack*& stack, base::Instant& now, rte_mempool* pool, uint64_t total)
      : stack_(stack), now_(now), pool_(pool), total_(total) {}
  void OnConnected(Tcb& c) override {
    connected = true;
    Fill(c);
  }
  void OnData(Tcb&, rte_mbuf* chain, uint32_t) override { rte_pktmbuf_free(chain); }
  void OnAcked(Tcb& c, uint32_t bytes) override {
    acked += bytes;
    Fill(c);
  }
  void OnPeerFin(Tcb&) override { peer_fin = true; }
  void OnClosed(Tcb&, CloseReason r) override { closed_reason = r; }
  uint32_t ReceiveSpace(const Tcb&) const override { return 1u << 20; }

  void Fill(Tcb& c) {
    while (sent_ < total_ && c.send_space() > 0) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) return;
      const uint32_t n = static_cast<uint32_t>(
          std::min<uint64_t>({total_ - sent_, c.send_space(), 2000}));
      auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(n)));
      for (uint32_t i = 0; i < n; ++i) p[i] = PatternByte(sent_ + i);
      const uint32_t taken = stack_->Send(c, m, now_);
      sent_ += taken;
      if (m != nullptr) {
        rte_pktmbuf_free(m);
        return;
      }
    }
    if (sent_ == total_ && !closed_) {
      closed_ = true;
      stack_->Shutdown(c, now_);
    }
  }

  TcpStack*& stack_;
  base::Instant& now_;
  rte_mempool* pool_;
  uint64_t total_;
  uint64_t sent_ = 0;
  uint64_t acked = 0;
  bool closed_ = false;
  bool connected = false;
  bool peer_fin = false;
  std::optional<CloseReason> closed_reason;
};

struct Result {
  uint64_t received = 0;
  uint64_t mismatches = 0;
  bool done = false;
  base::Duration elapsed{};
};

class LoopbackTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    static int n = 0;
    pool_ = rte_pktmbuf_pool_create(("loopback" + std::to_string(n++)).c_str(), 16383, 256, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u);
    rte_mempool_free(pool_);
  }

  Result Run(uint64_t total, Impairment impairment, ConnectionOptions options = {},
             uint32_t seed = 1) {
    Result result;
    StackOptions stack_options;
    stack_options.max_connections = 8;
    stack_options.time_wait = 2s;
    TcpCounters& client_counters = client_stats_;
    TcpCounters& server_counters = server_stats_;
    Wire wire(impairment, seed);
    Wire::End to_server(wire, true), to_client(wire, false);
    base::Instant now{};
    TcpStack* client_ptr = nullptr;
    TcpStack* server_ptr = nullptr;
    {
      TcpStack client(stack_options, pool_, pool_, to_server, client_counters, {1, 2}, now);
      TcpStack server(stack_options, pool_, pool_, to_client, server_counters, {3, 4}, now);
      client_ptr = &client;
      server_ptr = &server;
      Sink sink(server_ptr, now);
      Source source(client_ptr, now, pool_, total);
      EXPECT_TRUE(server.Listen(kServerIp, 80, options, &sink).ok());
      ConnectError error;
      Tcb* c = client.Connect(FourTuple{kClientIp, kServerIp, 0, 80}, options, &source, now,
                              &error);
      EXPECT_NE(c, nullptr);
      // Bounded: 600 s of simulated time.
      for (int step = 0; step < 600'000; ++step) {
        now += 1ms;
        wire.Deliver(now, client, server);
        client.Tick(now);
        server.Tick(now);
        if (source.closed_reason && sink.peer_fin && client.connections() == 0 &&
            server.connections() == 0) {
          result.done = true;
          break;
        }
      }
      result.elapsed = now - base::Instant{};
      if (getenv("LOOPBACK_TRACE") != nullptr || !result.done) {
        for (size_t i = 0; i < static_cast<size_t>(TcpCounter::kCount); ++i) {
          const auto c = static_cast<TcpCounter>(i);
          if (client_counters.Load(c) || server_counters.Load(c)) {
            fprintf(stderr, "  %-32s client %8lu server %8lu\n", std::string(Name(c)).c_str(),
                    client_counters.Load(c), server_counters.Load(c));
          }
        }
      }
      result.received = sink.received;
      result.mismatches = sink.mismatches;
      EXPECT_EQ(client.mbufs_held(), 0u);
      EXPECT_EQ(server.mbufs_held(), 0u);
    }
    return result;
  }

  uint64_t Client(TcpCounter c) const { return client_stats_.Load(c); }
  uint64_t Server(TcpCounter c) const { return server_stats_.Load(c); }

  rte_mempool* pool_ = nullptr;
  TcpCounters client_stats_;
  TcpCounters server_stats_;
};

TEST_F(LoopbackTest, CleanTransferArrivesWhole) {
  const Result r = Run(4'000'000, {});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.received, 4'000'000u);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_EQ(Client(TcpCounter::kRetransmits), 0u);
}

TEST_F(LoopbackTest, TwoPercentLossWithSack) {
  const Result r = Run(4'000'000, {.loss = 0.02});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.received, 4'000'000u);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_GT(Client(TcpCounter::kRetransmits), 0u);
  EXPECT_GT(Client(TcpCounter::kSackRecoveries), 0u);
}

TEST_F(LoopbackTest, TwoPercentLossWithoutSack) {
  ConnectionOptions o;
  o.sack = false;
  const Result r = Run(2'000'000, {.loss = 0.02}, o);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.received, 2'000'000u);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_GT(Client(TcpCounter::kFastRecoveries), 0u);
}

TEST_F(LoopbackTest, ReorderingAndDuplication) {
  const Result r = Run(2'000'000, {.reorder = 0.05, .duplicate = 0.02});
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.received, 2'000'000u);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_GT(Server(TcpCounter::kOutOfOrderSegments), 0u);
}

TEST_F(LoopbackTest, NoOptionsAtAll) {
  ConnectionOptions o;
  o.sack = o.timestamps = o.window_scaling = false;
  const Result r = Run(1'000'000, {.loss = 0.01}, o);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.received, 1'000'000u);
  EXPECT_EQ(r.mismatches, 0u);
}

TEST_F(LoopbackTest, NewRenoHeavyLoss) {
  ConnectionOptions o;
  o.congestion = CongestionAlgorithm::kNewReno;
  const Result r = Run(1'000'000, {.loss = 0.08, .reorder = 0.02}, o, 7);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.received, 1'000'000u);
  EXPECT_EQ(r.mismatches, 0u);
  EXPECT_GT(Client(TcpCounter::kRtoExpiries), 0u);
}

}  // namespace
}  // namespace ferry::tcp
