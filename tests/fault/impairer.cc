// impairer: the fault suite's path impairments (TESTING.md item 4: the kernel here has no
// netem). It takes the packets an iptables NFQUEUE rule in the Linux peer's namespace hands it
// and, per packet, from a seeded PRNG: lets it pass, drops it, corrupts one byte of its TCP
// payload, duplicates it, or holds it back (reorder).
//
// Why each impairment is real to the TCP stacks on both ends:
//   - A queued packet is "stolen" from the output path, so Linux's TCP believes it sent it; a
//     drop here is a loss on the wire. (An iptables DROP in OUTPUT is not: the sender gets
//     EPERM and simply sends the segment again later.)
//   - The kernel completes the TCP checksum before it copies a packet to us, and a packet we
//     give back modified is not checksummed again: a flipped payload byte reaches ferryd with a
//     checksum that no longer matches, which ferryd must drop and count (drop_bad_checksum).
//   - Held packets are verdicted later, after the next `--reorder_gap` packets have passed or
//     `--reorder_max_ms` has gone by, whichever is first; NFQUEUE verdicts may come in any
//     order, so the kernel sends them in the order we decide.
//   - A duplicate is the same bytes sent again through a raw socket marked with `--mark`; the
//     NFQUEUE rule must skip that mark (`-m mark ! --mark M/M`) or the copy would come back
//     here. Only outbound packets can be duplicated this way (inbound ones pass, counted).
//
// Runs until SIGTERM/SIGINT or --lifetime_s, then releases what it holds and prints its
// counters as one line of name=value words after "impairer stats:". Prints "impairer ready"
// once the queue is bound, so that the test adds its NFQUEUE rule only then.
//
// Exit codes: 0 clean stop; 1 netlink or socket setup failed; 2 bad flags.
#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(uint32_t, queue, 0, "NFQUEUE number to bind (iptables ... -j NFQUEUE --queue-num N)");
ABSL_FLAG(uint64_t, seed, 1, "PRNG seed: the same seed and packet sequence give the same faults");
ABSL_FLAG(double, drop, 0, "Probability that a packet is dropped");
ABSL_FLAG(double, corrupt, 0,
          "Probability that a packet has one TCP payload byte flipped (checksum left as it was); "
          "packets without payload pass");
ABSL_FLAG(double, duplicate, 0, "Probability that an outbound packet is sent twice");
ABSL_FLAG(double, reorder, 0, "Probability that a packet is held back and overtaken");
ABSL_FLAG(uint32_t, reorder_gap, 1, "A held packet is released after this many others pass");
ABSL_FLAG(uint32_t, reorder_max_ms, 10, "... or after this long, whichever comes first");
ABSL_FLAG(uint32_t, mark, 1, "Mark (SO_MARK) of duplicates; the NFQUEUE rule must skip it");
ABSL_FLAG(uint32_t, lifetime_s, 300, "Exit on its own after this long");

namespace ferry::fault {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeld = 64;  // more held than this: the oldest is released at once
constexpr int kExitSetup = 1;
constexpr int kExitFlags = 2;

#define IMPAIRER_STATS(X) \
  X(packets)              \
  X(outbound)             \
  X(inbound)              \
  X(passed)               \
  X(dropped)              \
  X(corrupted)            \
  X(corrupt_skipped)      \
  X(duplicated)           \
  X(duplicate_skipped)    \
  X(duplicate_failed)     \
  X(reordered)            \
  X(released_by_gap)      \
  X(released_by_timer)    \
  X(released_by_overflow) \
  X(released_at_exit)     \
  X(not_ipv4)

struct Stats {
#define X(name) uint64_t name = 0;
  IMPAIRER_STATS(X)
#undef X
  std::string Line() const {
    std::string out;
#define X(name) absl::StrAppend(&out, out.empty() ? "" : " ", #name, "=", name);
    IMPAIRER_STATS(X)
#undef X
    return out;
  }
};

enum class Action { kPass, kDrop, kCorrupt, kDuplicate, kReorder };

struct Held {
  uint32_t id;
  Clock::time_point release_at;
  uint32_t gap_left;
};

// [begin, end) of the TCP payload in an IPv4 packet, or {0, 0} if it has none or is not TCP.
std::pair<size_t, size_t> TcpPayload(const uint8_t* p, size_t len) {
  if (len < 20 || (p[0] >> 4) != 4) return {0, 0};
  const size_t ihl = size_t{p[0] & 0x0fu} * 4;
  const size_t total = std::min<size_t>(len, (size_t{p[2]} << 8) | p[3]);
  if (p[9] != IPPROTO_TCP || ihl < 20 || total < ihl + 20) return {0, 0};
  const size_t doff = static_cast<size_t>(p[ihl + 12] >> 4) * 4;
  if (doff < 20 || ihl + doff >= total) return {0, 0};
  return {ihl + doff, total};
}

class Impairer {
 public:
  Impairer(uint64_t seed, int raw_socket)
      : rng_(seed),
        drop_(absl::GetFlag(FLAGS_drop)),
        corrupt_(drop_ + absl::GetFlag(FLAGS_corrupt)),
        duplicate_(corrupt_ + absl::GetFlag(FLAGS_duplicate)),
        reorder_(duplicate_ + absl::GetFlag(FLAGS_reorder)),
        gap_(absl::GetFlag(FLAGS_reorder_gap)),
        max_hold_(std::chrono::milliseconds(absl::GetFlag(FLAGS_reorder_max_ms))),
        raw_(raw_socket) {}

  void set_queue(nfq_q_handle* qh) { qh_ = qh; }
  const Stats& stats() const { return stats_; }

  // One packet from the kernel: decide, verdict (or hold), then let held packets go whose
  // turn has come. Returns 0, which nfq_handle_packet passes back and nobody reads.
  int Handle(nfq_data* nfa) {
    const nfqnl_msg_packet_hdr* ph = nfq_get_msg_packet_hdr(nfa);
    if (ph == nullptr) return 0;
    const uint32_t id = ntohl(ph->packet_id);
    const bool outbound = ph->hook == NF_INET_LOCAL_OUT || ph->hook == NF_INET_POST_ROUTING;
    unsigned char* data = nullptr;
    const int len = nfq_get_payload(nfa, &data);
    ++stats_.packets;
    ++(outbound ? stats_.outbound : stats_.inbound);
    if (len < 20 || (data[0] >> 4) != 4) {
      ++stats_.not_ipv4;
      Verdict(id, NF_ACCEPT);
      return 0;
    }
    switch (Choose()) {
      case Action::kPass:
        ++stats_.passed;
        Verdict(id, NF_ACCEPT);
        break;
      case Action::kDrop:
        ++stats_.dropped;
        Verdict(id, NF_DROP);
        break;
      case Action::kCorrupt: {
        const auto [begin, end] = TcpPayload(data, static_cast<size_t>(len));
        if (begin == end) {
          ++stats_.corrupt_skipped;
          Verdict(id, NF_ACCEPT);
          break;
        }
        scratch_.assign(data, data + len);
        const size_t at = begin + rng_() % (end - begin);
        scratch_[at] ^= static_cast<uint8_t>(1 + rng_() % 255);  // never 0: the byte changes
        ++stats_.corrupted;
        nfq_set_verdict(qh_, id, NF_ACCEPT, static_cast<uint32_t>(len), scratch_.data());
        break;
      }
      case Action::kDuplicate:
        Verdict(id, NF_ACCEPT);
        if (!outbound) {
          ++stats_.duplicate_skipped;
          break;
        }
        if (SendCopy(data, static_cast<size_t>(len))) {
          ++stats_.duplicated;
        } else {
          ++stats_.duplicate_failed;
        }
        break;
      case Action::kReorder:
        ++stats_.reordered;
        if (held_.size() == kMaxHeld) Release(NF_ACCEPT, &stats_.released_by_overflow);
        held_.push_back({id, Clock::now() + max_hold_, gap_});
        return 0;  // a held packet does not count towards the gap of those before it
    }
    for (Held& h : held_) {
      if (h.gap_left > 0) --h.gap_left;
    }
    while (!held_.empty() && held_.front().gap_left == 0) {
      Release(NF_ACCEPT, &stats_.released_by_gap);
    }
    return 0;
  }

  // Releases held packets whose time is up; returns ms until the next one is due (-1: none).
  int ReleaseDue(Clock::time_point now) {
    while (!held_.empty() && held_.front().release_at <= now) {
      Release(NF_ACCEPT, &stats_.released_by_timer);
    }
    // Deadlines and gaps both grow from front to back, so the front is always due first.
    if (held_.empty()) return -1;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(held_.front().release_at - now);
    return static_cast<int>(std::max<int64_t>(wait.count(), 0));
  }

  void ReleaseAll() {
    while (!held_.empty()) Release(NF_ACCEPT, &stats_.released_at_exit);
  }

 private:
  Action Choose() {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    if (u < drop_) return Action::kDrop;
    if (u < corrupt_) return Action::kCorrupt;
    if (u < duplicate_) return Action::kDuplicate;
    if (u < reorder_) return Action::kReorder;
    return Action::kPass;
  }

  void Verdict(uint32_t id, uint32_t verdict) { nfq_set_verdict(qh_, id, verdict, 0, nullptr); }

  void Release(uint32_t verdict, uint64_t* counter) {
    Verdict(held_.front().id, verdict);
    held_.pop_front();
    ++*counter;
  }

  bool SendCopy(const uint8_t* p, size_t len) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, p + 16, 4);
    return sendto(raw_, p, len, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(len);
  }

  std::mt19937_64 rng_;
  // Cumulative thresholds for one uniform draw in [0, 1).
  const double drop_, corrupt_, duplicate_, reorder_;
  const uint32_t gap_;
  const Clock::duration max_hold_;
  const int raw_;
  nfq_q_handle* qh_ = nullptr;
  std::deque<Held> held_;
  std::vector<uint8_t> scratch_;
  Stats stats_;
};

int OnPacket(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* impairer) {
  return static_cast<Impairer*>(impairer)->Handle(nfa);
}

// The kernel's own counters for our queue (this namespace's /proc/net/netfilter/
// nfnetlink_queue): packets it dropped because the queue was full or our socket overran.
std::string KernelQueueStats(uint32_t queue) {
  std::ifstream in("/proc/net/netfilter/nfnetlink_queue");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 7 && f[0] == std::to_string(queue)) {
      return absl::StrCat("kernel_queue_dropped=", f[5], " kernel_user_dropped=", f[6]);
    }
  }
  return "kernel_queue_dropped=? kernel_user_dropped=?";
}

bool CheckProbability(const char* name, double p) {
  if (p >= 0 && p <= 1) return true;
  std::fprintf(stderr, "impairer: --%s=%g: want a probability in [0, 1]\n", name, p);
  return false;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "NFQUEUE path impairer for the fault tests.\n\n"
      "  iptables -A OUTPUT -p tcp -m mark ! --mark 1/1 -j NFQUEUE --queue-num 5\n"
      "  impairer --queue=5 --seed=7 --reorder=0.05 --duplicate=0.02 --corrupt=0.01 --drop=0.01");
  absl::ParseCommandLine(argc, argv);
  const uint32_t queue = absl::GetFlag(FLAGS_queue);
  const double sum = absl::GetFlag(FLAGS_drop) + absl::GetFlag(FLAGS_corrupt) +
                     absl::GetFlag(FLAGS_duplicate) + absl::GetFlag(FLAGS_reorder);
  if (!CheckProbability("drop", absl::GetFlag(FLAGS_drop)) ||
      !CheckProbability("corrupt", absl::GetFlag(FLAGS_corrupt)) ||
      !CheckProbability("duplicate", absl::GetFlag(FLAGS_duplicate)) ||
      !CheckProbability("reorder", absl::GetFlag(FLAGS_reorder))) {
    return kExitFlags;
  }
  if (sum > 1) {
    std::fprintf(stderr, "impairer: the probabilities add up to %g, more than 1\n", sum);
    return kExitFlags;
  }
  if (queue > 65535 || absl::GetFlag(FLAGS_reorder_gap) == 0) {
    std::fprintf(stderr, "impairer: --queue must be 0..65535 and --reorder_gap at least 1\n");
    return kExitFlags;
  }

  // Signals arrive through a descriptor, so the loop below needs no handler and no races.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const int sfd = signalfd(-1, &signals, SFD_CLOEXEC);

  const int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  const int mark = static_cast<int>(absl::GetFlag(FLAGS_mark));
  if (sfd < 0 || raw < 0 || setsockopt(raw, SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) {
    std::fprintf(stderr, "impairer: signalfd or raw socket: %s\n", std::strerror(errno));
    return kExitSetup;
  }
  Impairer impairer(absl::GetFlag(FLAGS_seed), raw);
  nfq_handle* h = nfq_open();
  if (h == nullptr) {
    std::fprintf(stderr, "impairer: nfq_open: %s\n", std::strerror(errno));
    return kExitSetup;
  }
  nfq_q_handle* qh = nfq_create_queue(h, static_cast<uint16_t>(queue), &OnPacket, &impairer);
  if (qh == nullptr) {
    std::fprintf(stderr, "impairer: cannot bind queue %u (another listener?): %s\n", queue,
                 std::strerror(errno));
    nfq_close(h);
    return kExitSetup;
  }
  impairer.set_queue(qh);
  if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0 || nfq_set_queue_maxlen(qh, 8192) < 0) {
    std::fprintf(stderr, "impairer: configuring queue %u: %s\n", queue, std::strerror(errno));
    nfq_destroy_queue(qh);
    nfq_close(h);
    return kExitSetup;
  }
  const int fd = nfq_fd(h);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 8 << 20);
  // Overruns are counted by the kernel (kernel_user_dropped), not reported as ENOBUFS.
  const int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

  std::printf("impairer ready: queue %u seed %lu drop %g corrupt %g duplicate %g reorder %g "
              "(gap %u, max %u ms)\n",
              queue, static_cast<unsigned long>(absl::GetFlag(FLAGS_seed)),
              absl::GetFlag(FLAGS_drop), absl::GetFlag(FLAGS_corrupt),
              absl::GetFlag(FLAGS_duplicate), absl::GetFlag(FLAGS_reorder),
              absl::GetFlag(FLAGS_reorder_gap), absl::GetFlag(FLAGS_reorder_max_ms));
  std::fflush(stdout);

  const Clock::time_point end =
      Clock::now() + std::chrono::seconds(absl::GetFlag(FLAGS_lifetime_s));
  alignas(8) static char buf[256 * 1024];
  const char* why = "lifetime reached";
  int rc = 0;
  while (true) {
    const Clock::time_point now = Clock::now();
    if (now >= end) break;
    const int due = impairer.ReleaseDue(now);
    const int until_end = static_cast<int>(
        std::chrono::ceil<std::chrono::milliseconds>(end - now).count());
    pollfd fds[2] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(fds, 2, due < 0 ? until_end : std::min(due, until_end)) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "impairer: poll: %s\n", std::strerror(errno));
      rc = kExitSetup;
      why = "poll failed";
      break;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        why = si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
        break;
      }
    }
    if (fds[0].revents & POLLIN) {
      // Drain what is there, bounded so that held packets' timers are looked at in between.
      for (int i = 0; i < 512; ++i) {
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ENOBUFS) {
            std::fprintf(stderr, "impairer: recv: %s\n", std::strerror(errno));
          }
          break;
        }
        nfq_handle_packet(h, buf, static_cast<int>(n));
      }
    }
  }
  impairer.ReleaseAll();
  const std::string kernel = KernelQueueStats(queue);
  nfq_destroy_queue(qh);
  nfq_close(h);
  close(raw);
  std::printf("impairer stopping (%s)\nimpairer stats: queue=%u %s %s\n", why, queue,
              impairer.stats().Line().c_str(), kernel.c_str());
  std::fflush(stdout);
  return rc;
}

}  // namespace
}  // namespace ferry::fault

int main(int argc, char** argv) { return ferry::fault::Main(argc, argv); }
