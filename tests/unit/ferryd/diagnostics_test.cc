// ferryd's diagnostic services (app/ferryd/diagnostics.h) on a real TcpStack, with a fake
// clock and a peer scripted in the test: segments the peer sends are built with
// tcp::BuildSegment and fed to TcpStack::Input; segments the stack sends are parsed back with
// tcp::ParseSegment. The peer offers no options but MSS, so windows are plain 16-bit values.
// Each test checks what goes on the wire, the counters, and that no mbuf is left behind.
#include "diagnostics.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "net/host.h"
#include "tcp/segment.h"

namespace ferry::ferryd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using tcp::Seq;

const net::Ipv4Address kUs = net::Ipv4Address::FromOctets(198, 18, 0, 1);
const net::Ipv4Address kPeer = net::Ipv4Address::FromOctets(198, 18, 0, 2);
constexpr uint16_t kEchoPort = 7;
constexpr uint16_t kDiscardPort = 9;
constexpr uint16_t kChargenPort = 19;
constexpr uint32_t kPeerIsn = 1000;

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

// A segment the stack sent, payload copied out.
struct Sent {
  uint16_t source_port;
  uint16_t destination_port;
  Seq seq;
  Seq ack;
  uint8_t flags;
  uint16_t window;
  std::string payload;
};

class CaptureOutput final : public net::Ipv4Output {
 public:
  void SendIpv4(rte_mbuf* packet, base::Instant) override {
    const uint8_t* ip = rte_pktmbuf_mtod(packet, const uint8_t*);
    const uint16_t header_length = static_cast<uint16_t>((ip[0] & 0x0f) * 4);
    rte_pktmbuf_adj(packet, header_length);
    tcp::Segment s;
    const tcp::SegmentError e = tcp::ParseSegment(packet, kUs, kPeer, s);
    EXPECT_EQ(e, tcp::SegmentError::kOk);
    if (e != tcp::SegmentError::kOk) {
      rte_pktmbuf_free(packet);
      return;
    }
    std::string payload(s.payload_length, '\0');
    if (s.payload_length > 0) {
      const void* p = rte_pktmbuf_read(s.payload, 0, s.payload_length, payload.data());
      if (p != payload.data()) std::memcpy(payload.data(), p, s.payload_length);
    }
    rte_pktmbuf_free(s.payload);
    sent.push_back(
        {s.source_port, s.destination_port, s.seq, s.ack, s.flags, s.window, std::move(payload)});
  }
  std::deque<Sent> sent;
};

class DiagnosticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    // Cache size 0: rte_mempool_avail_count is then exact, which the reserve tests rely on.
    pool_ = rte_pktmbuf_pool_create(("diag_stack" + std::to_string(n)).c_str(), 4095, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    worker_pool_ = rte_pktmbuf_pool_create(("diag_worker" + std::to_string(n++)).c_str(), 255,
                                           0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(worker_pool_, nullptr);
    options_.max_connections = 64;
    options_.syn_backlog = 16;
  }

  void TearDown() override {
    diagnostics_.reset();
    stack_.reset();
    output_.sent.clear();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "stack pool leak";
    EXPECT_EQ(rte_mempool_in_use_count(worker_pool_), 0u) << "worker pool leak";
    rte_mempool_free(pool_);
    rte_mempool_free(worker_pool_);
  }

  void Start(std::vector<control::DiagnosticListenerSettings> listeners) {
    std::array<uint8_t, 16> key_bytes{};
    for (size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = static_cast<uint8_t>(i + 1);
    stack_ = std::make_unique<tcp::TcpStack>(options_, pool_, pool_, output_, tcp_counters_,
                                             base::SipKey::FromBytes(key_bytes), now_);
    diagnostics_ = std::make_unique<DiagnosticServices>(*stack_, worker_pool_, counters_, now_);
    const absl::Status s = diagnostics_->Listen(listeners);
    ASSERT_TRUE(s.ok()) << s;
  }

  static control::DiagnosticListenerSettings Listener(control::DiagnosticService service,
                                                      uint16_t port) {
    control::DiagnosticListenerSettings l;
    l.service = service;
    l.port = port;
    return l;
  }

  // The peer sends a segment to our `port` (sequence numbers absolute).
  void Inject(uint16_t port, uint8_t flags, uint32_t seq, Seq ack, uint16_t window,
              const std::string& data = "", bool mss = false) {
    tcp::OutSegment o;
    o.source_port = peer_port_;
    o.destination_port = port;
    o.seq = Seq(seq);
    o.ack = ack;
    o.flags = flags;
    o.window = window;
    if (mss) o.options.mss = 1460;
    if (!data.empty()) {
      rte_mbuf* p = rte_pktmbuf_alloc(pool_);
      ASSERT_NE(p, nullptr);
      char* bytes = rte_pktmbuf_append(p, static_cast<uint16_t>(data.size()));
      ASSERT_NE(bytes, nullptr);
      std::memcpy(bytes, data.data(), data.size());
      o.payload = p;
      o.payload_length = static_cast<uint32_t>(data.size());
    }
    rte_mbuf* chain = tcp::BuildSegment(o, kPeer, kUs, pool_, false);
    ASSERT_NE(chain, nullptr);
    // As the host delivers it: one mbuf, at the TCP header.
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(m, nullptr);
    const uint32_t length = rte_pktmbuf_pkt_len(chain);
    char* flat = rte_pktmbuf_append(m, static_cast<uint16_t>(length));
    ASSERT_NE(flat, nullptr);
    const void* read = rte_pktmbuf_read(chain, 0, length, flat);
    if (read != flat) std::memcpy(flat, read, length);
    rte_pktmbuf_free(chain);
    rte_pktmbuf_adj(m, 20);
    diagnostics_->set_now(now_);
    stack_->Input(m, kPeer, kUs, now_);
  }

  // Handshake with our `port`: SYN, our SYN-ACK, the ACK. Returns the SYN-ACK.
  Sent Connect(uint16_t port, uint16_t window = 65535) {
    Inject(port, kSyn, kPeerIsn, Seq(0), window, "", /*mss=*/true);
    Sent syn_ack = Take();
    EXPECT_EQ(syn_ack.flags, kSyn | kAck);
    iss_ = syn_ack.seq;
    Inject(port, kAck, kPeerIsn + 1, iss_ + 1, window);
    return syn_ack;
  }

  void Advance(base::Duration d) {
    now_ += d;
    diagnostics_->set_now(now_);
    stack_->Tick(now_);
    diagnostics_->Poll();
  }

  Sent Take() {
    EXPECT_FALSE(output_.sent.empty());
    if (output_.sent.empty()) return Sent{};
    Sent s = std::move(output_.sent.front());
    output_.sent.pop_front();
    return s;
  }

  // Everything the stack sent so far, its payload concatenated; `fins` counts FIN flags.
  std::string TakePayload(int* fins = nullptr) {
    std::string all;
    while (!output_.sent.empty()) {
      Sent s = Take();
      all += s.payload;
      if (fins != nullptr && (s.flags & kFin)) ++*fins;
    }
    return all;
  }

  uint64_t Count(DiagCounter c) const { return counters_.Load(c); }

  rte_mempool* pool_ = nullptr;
  rte_mempool* worker_pool_ = nullptr;
  tcp::StackOptions options_;
  base::Instant now_{seconds(100)};
  CaptureOutput output_;
  tcp::TcpCounters tcp_counters_;
  DiagCounters counters_;
  std::unique_ptr<tcp::TcpStack> stack_;
  std::unique_ptr<DiagnosticServices> diagnostics_;
  uint16_t peer_port_ = 40000;
  Seq iss_;
};

// ---- The RFC 864 pattern ---------------------------------------------------------------------

std::string ChargenText(uint64_t from, uint64_t length) {
  std::string s;
  for (uint64_t i = from; i < from + length; ++i) s += ChargenByte(i);
  return s;
}

TEST(ChargenPattern, LinesFollowRfc864) {
  // "On the first line (line 0) put the characters numbered 0 through 71": the 95 printing
  // characters in order, space first.
  EXPECT_EQ(ChargenText(0, 74),
            " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n");
  // "On the next line (line 1) put the characters numbered 1 through 72."
  EXPECT_EQ(ChargenText(74, 74),
            "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n");
  // Line 94 wraps around the ring: characters 94, 0, 1, ... ('~', ' ', '!', ...).
  EXPECT_EQ(ChargenText(94 * 74, 4), "~ !\"");
  // 95 lines later the stream repeats.
  EXPECT_EQ(ChargenText(kChargenPeriod, 1000), ChargenText(0, 1000));
  EXPECT_EQ(kChargenPeriod, 95u * 74u);
}

// ---- Echo (RFC 862) --------------------------------------------------------------------------

TEST_F(DiagnosticsTest, EchoSendsBackWhatArrivesThenClosesAfterThePeer) {
  Start({Listener(control::DiagnosticService::kEcho, kEchoPort)});
  Connect(kEchoPort);
  EXPECT_EQ(Count(DiagCounter::kEchoAccepted), 1u);
  EXPECT_EQ(Count(DiagCounter::kConnectionsOpen), 1u);

  Inject(kEchoPort, kAck | kPsh, kPeerIsn + 1, iss_ + 1, 65535, "hello, ferry\n");
  Advance(milliseconds(1));
  std::string echoed = TakePayload();
  EXPECT_EQ(echoed, "hello, ferry\n");
  EXPECT_EQ(Count(DiagCounter::kEchoBytes), 13u);

  // The peer acknowledges and closes: our FIN follows.
  Inject(kEchoPort, kAck | kFin, kPeerIsn + 14, iss_ + 14, 65535);
  Advance(milliseconds(1));
  int fins = 0;
  EXPECT_EQ(TakePayload(&fins), "");
  EXPECT_EQ(fins, 1);
  EXPECT_EQ(Count(DiagCounter::kClosedOnPeerFin), 1u);
  EXPECT_EQ(Count(DiagCounter::kConnectionsOpen), 0u);
  EXPECT_EQ(Count(DiagCounter::kEchoDroppedBytes), 0u);
  Inject(kEchoPort, kAck, kPeerIsn + 15, iss_ + 15, 65535);  // ACK of our FIN
}

// The window the echo listener offers, from the SYN-ACK on, never exceeds its send queue, so
// everything the peer may send can be queued back.
TEST_F(DiagnosticsTest, EchoOffersNoMoreWindowThanItsSendQueue) {
  control::DiagnosticListenerSettings l = Listener(control::DiagnosticService::kEcho, kEchoPort);
  l.connection.send_buffer = 4000;
  l.connection.receive_window = 65535;
  Start({l});
  const Sent syn_ack = Connect(kEchoPort, /*window=*/1000);  // the peer takes little back
  EXPECT_LE(syn_ack.window, 4000);

  // Fill the window the stack offered, in segments of at most 1460.
  uint32_t sent = 0;
  const std::string chunk(1460, 'e');
  while (sent < syn_ack.window) {
    const uint32_t n = std::min<uint32_t>(1460, syn_ack.window - sent);
    Inject(kEchoPort, kAck, kPeerIsn + 1 + sent, iss_ + 1, 1000, chunk.substr(0, n));
    sent += n;
  }
  EXPECT_EQ(Count(DiagCounter::kEchoBytes), sent);
  EXPECT_EQ(Count(DiagCounter::kEchoDroppedBytes), 0u);
  Inject(kEchoPort, kRst, kPeerIsn + 1 + sent, Seq(0), 0);
  EXPECT_EQ(Count(DiagCounter::kClosedReset), 1u);
  EXPECT_EQ(Count(DiagCounter::kConnectionsOpen), 0u);
}

// ---- Discard (RFC 863) -----------------------------------------------------------------------

TEST_F(DiagnosticsTest, DiscardCountsAndFreesWhatArrives) {
  Start({Listener(control::DiagnosticService::kDiscard, kDiscardPort)});
  Connect(kDiscardPort);
  const std::string data(1460, 'd');
  for (uint32_t i = 0; i < 10; ++i) {
    Inject(kDiscardPort, kAck, kPeerIsn + 1 + i * 1460, iss_ + 1, 65535, data);
  }
  Advance(milliseconds(50));
  EXPECT_EQ(TakePayload(), "");  // ACKs only
  EXPECT_EQ(Count(DiagCounter::kDiscardBytes), 14600u);
  EXPECT_EQ(Count(DiagCounter::kDiscardAccepted), 1u);
  Inject(kDiscardPort, kAck | kFin, kPeerIsn + 1 + 14600, iss_ + 1, 65535);
  Advance(milliseconds(1));
  int fins = 0;
  TakePayload(&fins);
  EXPECT_EQ(fins, 1);
  EXPECT_EQ(Count(DiagCounter::kConnectionsOpen), 0u);
  Inject(kDiscardPort, kAck, kPeerIsn + 14602, iss_ + 2, 65535);
}

// ---- Chargen (RFC 864) -----------------------------------------------------------------------

TEST_F(DiagnosticsTest, ChargenStreamsThePatternAcrossMbufsAndRefills) {
  control::DiagnosticListenerSettings l =
      Listener(control::DiagnosticService::kChargen, kChargenPort);
  l.connection.send_buffer = 20000;  // ~10 mbufs: well inside the worker pool
  Start({l});
  Connect(kChargenPort);
  EXPECT_EQ(Count(DiagCounter::kChargenBytes), 20000u);

  // Read and acknowledge as it comes: the queue refills from where the text left off.
  std::string received;
  for (int round = 0; round < 20 && received.size() < 100000; ++round) {
    Advance(milliseconds(1));
    received += TakePayload();
    Inject(kChargenPort, kAck, kPeerIsn + 1, iss_ + 1 + static_cast<uint32_t>(received.size()),
           65535);
  }
  ASSERT_GE(received.size(), 100000u);
  EXPECT_EQ(received, ChargenText(0, received.size()));
  EXPECT_GE(Count(DiagCounter::kChargenBytes), received.size());

  // What the peer sends is thrown away.
  Inject(kChargenPort, kAck, kPeerIsn + 1, iss_ + 1 + static_cast<uint32_t>(received.size()),
         65535, "ignored");
  EXPECT_EQ(Count(DiagCounter::kChargenDiscardedBytes), 7u);
  Inject(kChargenPort, kRst, kPeerIsn + 8, Seq(0), 0);
  EXPECT_EQ(Count(DiagCounter::kClosedReset), 1u);
  EXPECT_EQ(Count(DiagCounter::kConnectionsOpen), 0u);
}

// The last quarter of the worker's pool is left for receiving: chargen stops short of it and
// resumes from Poll once mbufs are back.
TEST_F(DiagnosticsTest, ChargenLeavesThePoolReserveAndResumesFromPoll) {
  control::DiagnosticListenerSettings l =
      Listener(control::DiagnosticService::kChargen, kChargenPort);
  l.connection.send_buffer = 1 << 20;  // far more than the 255-mbuf pool
  Start({l});
  // Hold all but a few mbufs above the reserve, as if receiving had them.
  const uint32_t reserve = worker_pool_->size / 4;
  std::vector<rte_mbuf*> held;
  while (rte_mempool_avail_count(worker_pool_) > reserve) {
    held.push_back(rte_pktmbuf_alloc(worker_pool_));
  }
  Connect(kChargenPort);
  EXPECT_EQ(Count(DiagCounter::kChargenBytes), 0u);
  EXPECT_GE(Count(DiagCounter::kChargenPoolLow), 1u);
  EXPECT_EQ(rte_mempool_avail_count(worker_pool_), reserve);  // the reserve is untouched
  Advance(milliseconds(1));
  EXPECT_EQ(TakePayload(), "");

  // Receiving gives its mbufs back; the next Poll refills up to the reserve again.
  for (rte_mbuf* m : held) rte_pktmbuf_free(m);
  Advance(milliseconds(1));
  EXPECT_GT(Count(DiagCounter::kChargenBytes), 0u);
  EXPECT_EQ(rte_mempool_avail_count(worker_pool_), reserve);
  const std::string first = TakePayload();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, ChargenText(0, first.size()));

  // A reset while starved takes the connection off the retry list.
  Inject(kChargenPort, kRst, kPeerIsn + 1, Seq(0), 0);
  EXPECT_EQ(Count(DiagCounter::kConnectionsOpen), 0u);
  Advance(milliseconds(1));
}

// ---- Listening -------------------------------------------------------------------------------

TEST_F(DiagnosticsTest, ListenErrorNamesTheListener) {
  Start({});
  const absl::Status s =
      diagnostics_->Listen({Listener(control::DiagnosticService::kEcho, kEchoPort),
                            Listener(control::DiagnosticService::kDiscard, kEchoPort)});
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StartsWith(s.message(), "diagnostics[1] (discard on 0.0.0.0:7): ")) << s;
}

}  // namespace
}  // namespace ferry::ferryd
