// config.tcp and config.diagnostics (control/tcp_config.h): every validation error by the
// field path it names, the edges that must pass, and resolution into lib/tcp's StackOptions
// and ConnectionOptions: unset fields keep the defaults of tcp/stack_options.h, a listener's
// connection block overrides tcp.connection, which overrides those defaults.
#include "control/tcp_config.h"

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "control/config.h"
#include "control/text_proto.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Two interfaces, so that "an address of any interface" has more than one answer.
const std::string kInterfaces = R"(
  interfaces {
    name: "lan0" driver: "af_packet" device: "iface=v0"
    ipv4 { address: "198.18.0.1" prefix_length: 24 }
    ipv4 { address: "198.18.0.5" prefix_length: 24 }
  }
  interfaces {
    name: "lan1" driver: "af_packet" device: "iface=v1" mtu: 9000
    ipv4 { address: "198.19.0.1" prefix_length: 24 }
  }
)";

std::string Tcp(const std::string& body) { return kInterfaces + "tcp { " + body + " }\n"; }
std::string Diag(const std::string& body) {
  return "diagnostics { " + body + " }\n";
}
std::string Listeners(const std::string& diagnostics) { return kInterfaces + diagnostics; }

v1::Config Parse(const std::string& text) {
  auto c = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : v1::Config();
}

// ---- Validation: each case is a config and the exact field path its error starts with ------

struct InvalidCase {
  const char* rule;
  std::string text;
  const char* error_prefix;
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.rule; }

std::vector<InvalidCase> InvalidCases() {
  const std::string echo7 = R"(service: "echo" port: 7 )";
  return {
      // tcp: ranges.
      {"MaxConnectionsAboveLimit", Tcp("max_connections: 1048577"), "tcp.max_connections: "},
      {"SynBacklogAboveLimit", Tcp("syn_backlog: 1048577"), "tcp.syn_backlog: "},
      {"SynBacklogAboveMaxConnections", Tcp("max_connections: 100 syn_backlog: 101"),
       "tcp.syn_backlog: "},
      {"SynBacklogAboveDefaultMaxConnections", Tcp("syn_backlog: 16385"), "tcp.syn_backlog: "},
      {"RtoMinAboveOneMinute", Tcp("rto_min_ms: 60001"), "tcp.rto_min_ms: "},
      {"RtoInitialAboveLimit", Tcp("rto_initial_ms: 600001"), "tcp.rto_initial_ms: "},
      {"RtoMaxBelowSixtySeconds", Tcp("rto_max_ms: 59999"), "tcp.rto_max_ms: "},
      {"RtoMaxAboveOneHour", Tcp("rto_max_ms: 3600001"), "tcp.rto_max_ms: "},
      // tcp: min <= initial <= max, with defaults filling the unset ones.
      {"RtoMinAboveInitial", Tcp("rto_min_ms: 500 rto_initial_ms: 400"), "tcp.rto_min_ms: "},
      {"RtoMinAboveDefaultInitial", Tcp("rto_min_ms: 1001"), "tcp.rto_min_ms: "},
      {"RtoInitialBelowDefaultMin", Tcp("rto_initial_ms: 199"), "tcp.rto_initial_ms: "},
      {"RtoInitialAboveMax", Tcp("rto_initial_ms: 70000 rto_max_ms: 65000"),
       "tcp.rto_initial_ms: "},
      {"RtoInitialAboveDefaultMax", Tcp("rto_initial_ms: 60001"), "tcp.rto_initial_ms: "},
      {"DelayedAckOfHalfASecond", Tcp("delayed_ack_ms: 500"), "tcp.delayed_ack_ms: "},
      {"DelayedAckAboveHalfASecond", Tcp("delayed_ack_ms: 600"), "tcp.delayed_ack_ms: "},
      {"TimeWaitAboveTenMinutes", Tcp("time_wait_ms: 600001"), "tcp.time_wait_ms: "},
      {"FinWait2AboveOneHour", Tcp("fin_wait_2_timeout_ms: 3600001"),
       "tcp.fin_wait_2_timeout_ms: "},
      {"MaxRetransmissionsAbove100", Tcp("max_retransmissions: 101"),
       "tcp.max_retransmissions: "},
      {"SynRetriesAbove100", Tcp("syn_retries: 101"), "tcp.syn_retries: "},
      {"ChallengeAckLimitAboveLimit", Tcp("challenge_ack_limit: 1000001"),
       "tcp.challenge_ack_limit: "},
      {"SendQueueEntriesAboveLimit", Tcp("send_queue_entries: 65537"),
       "tcp.send_queue_entries: "},
      {"ReassemblySegmentsAboveUint16", Tcp("reassembly_segments: 65536"),
       "tcp.reassembly_segments: "},
      // tcp.connection.
      {"UnknownCongestionControl", Tcp(R"(connection { congestion_control: "bbr" })"),
       "tcp.connection.congestion_control: "},
      {"CongestionControlIsCaseSensitive", Tcp(R"(connection { congestion_control: "CUBIC" })"),
       "tcp.connection.congestion_control: "},
      {"SendBufferOf2To31", Tcp("connection { send_buffer_bytes: 2147483648 }"),
       "tcp.connection.send_buffer_bytes: "},
      {"ReceiveWindowBeyondScale14", Tcp("connection { receive_window_bytes: 1073725441 }"),
       "tcp.connection.receive_window_bytes: "},
      {"KeepaliveIdleAboveOneDay", Tcp("connection { keepalive_idle_s: 86401 }"),
       "tcp.connection.keepalive_idle_s: "},
      {"KeepaliveIntervalAboveOneHour", Tcp("connection { keepalive_interval_s: 3601 }"),
       "tcp.connection.keepalive_interval_s: "},
      {"ZeroKeepaliveProbesWithKeepaliveOn",
       Tcp("connection { keepalive: true keepalive_probes: 0 }"),
       "tcp.connection.keepalive_probes: "},
      {"KeepaliveProbesAbove127", Tcp("connection { keepalive_probes: 128 }"),
       "tcp.connection.keepalive_probes: "},
      // diagnostics.
      {"ServiceMissing", Listeners(Diag("port: 7")), "diagnostics[0].service: "},
      {"ServiceUnknown", Listeners(Diag(echo7) + Diag(R"(service: "foo" port: 9)")),
       "diagnostics[1].service: "},
      {"AddressUnparsable", Listeners(Diag(echo7 + R"(address: "198.18.0")")),
       "diagnostics[0].address: "},
      {"AddressOfNoInterface", Listeners(Diag(echo7 + R"(address: "198.18.0.2")")),
       "diagnostics[0].address: "},
      {"PortMissing", Listeners(Diag(R"(service: "echo")")), "diagnostics[0].port: "},
      {"PortAbove65535", Listeners(Diag(R"(service: "echo" port: 65536)")),
       "diagnostics[0].port: "},
      {"SameAddressAndPortTwice",
       Listeners(Diag(echo7 + R"(address: "198.18.0.1")") +
                 Diag(R"(service: "discard" port: 7 address: "198.18.0.1")")),
       "diagnostics[1]: "},
      {"WildcardTwiceOnAPort", Listeners(Diag(echo7) + Diag(R"(service: "discard" port: 7)")),
       "diagnostics[1]: "},
      {"AddressAfterWildcardOnAPort",
       Listeners(Diag(echo7) + Diag(R"(service: "discard" port: 7 address: "198.18.0.5")")),
       "diagnostics[1]: "},
      {"WildcardAfterAddressOnAPort",
       Listeners(Diag(echo7 + R"(address: "198.19.0.1")") +
                 Diag(R"(service: "discard" port: 19)") + Diag(R"(service: "chargen" port: 7)")),
       "diagnostics[2]: "},
      {"ListenerConnectionBlock",
       Listeners(Diag(echo7 + "connection { send_buffer_bytes: 4294967295 }")),
       "diagnostics[0].connection.send_buffer_bytes: "},
      {"ListenerZeroKeepaliveProbes",
       Listeners(Diag(echo7 + "connection { keepalive: true keepalive_probes: 0 }")),
       "diagnostics[0].connection.keepalive_probes: "},
      {"ListenerCongestionControl",
       Listeners(Diag(echo7 + R"(connection { congestion_control: "reno" })")),
       "diagnostics[0].connection.congestion_control: "},
  };
}

class InvalidTcpConfig : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidTcpConfig, IsRefusedNamingTheFieldPath) {
  const InvalidCase& c = GetParam();
  auto config = ParseConfigText(c.text, "case.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status s = ValidateConfig(*config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), c.error_prefix))
      << "want prefix \"" << c.error_prefix << "\", got \"" << s.message() << "\"";
  EXPECT_GT(s.message().size(), std::string(c.error_prefix).size()) << s;
}

INSTANTIATE_TEST_SUITE_P(ValidateTcp, InvalidTcpConfig, ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return std::string(info.param.rule);
                         });

struct ValidCase {
  const char* rule;
  std::string text;
};

std::ostream& operator<<(std::ostream& os, const ValidCase& c) { return os << c.rule; }

std::vector<ValidCase> ValidCases() {
  return {
      {"NoTcpBlockNoListeners", kInterfaces},
      {"EmptyTcpBlock", Tcp("")},
      {"RangeMinimums",
       Tcp("max_connections: 1 syn_backlog: 1 rto_min_ms: 1 rto_initial_ms: 1 "
           "rto_max_ms: 60000 delayed_ack_ms: 1 time_wait_ms: 1 fin_wait_2_timeout_ms: 1 "
           "max_retransmissions: 1 syn_retries: 1 challenge_ack_limit: 1 "
           "send_queue_entries: 1 reassembly_segments: 1 "
           "connection { send_buffer_bytes: 1 receive_window_bytes: 1 keepalive_idle_s: 1 "
           "keepalive_interval_s: 1 keepalive_probes: 1 }")},
      {"RangeMaximums",
       Tcp("max_connections: 1048576 syn_backlog: 1048576 rto_min_ms: 60000 "
           "rto_initial_ms: 600000 rto_max_ms: 3600000 delayed_ack_ms: 499 "
           "time_wait_ms: 600000 fin_wait_2_timeout_ms: 3600000 max_retransmissions: 100 "
           "syn_retries: 100 challenge_ack_limit: 1000000 send_queue_entries: 65536 "
           "reassembly_segments: 65535 "
           "connection { send_buffer_bytes: 2147483647 receive_window_bytes: 1073725440 "
           "keepalive_idle_s: 86400 keepalive_interval_s: 3600 keepalive_probes: 127 }")},
      // RttEstimator::Valid allows equality at both ends.
      {"RtoAllEqual", Tcp("rto_min_ms: 60000 rto_initial_ms: 60000 rto_max_ms: 60000")},
      // Left unset, the backlog shrinks to a small TCB pool instead of being refused.
      {"SmallPoolWithDefaultBacklog", Tcp("max_connections: 10")},
      {"NewRenoAndOptionsOff",
       Tcp(R"(connection { congestion_control: "newreno" nagle: true window_scaling: false
                           timestamps: false sack: false keepalive: true })")},
      {"KeepaliveOffWithProbes", Tcp("connection { keepalive: false keepalive_probes: 3 }")},
      {"ThreeServicesOnTheWildcard",
       Listeners(Diag(R"(service: "echo" port: 7)") + Diag(R"(service: "discard" port: 9)") +
                 Diag(R"(service: "chargen" port: 19)"))},
      {"OnePortOnTwoAddresses",
       Listeners(Diag(R"(service: "echo" port: 7 address: "198.18.0.1")") +
                 Diag(R"(service: "discard" port: 7 address: "198.18.0.5")") +
                 Diag(R"(service: "chargen" port: 7 address: "198.19.0.1")"))},
      {"ExplicitWildcardAddress", Listeners(Diag(R"(service: "echo" port: 7 address: "0.0.0.0")"))},
      {"Port65535", Listeners(Diag(R"(service: "discard" port: 65535)"))},
      {"ListenerOverrides",
       Listeners(Diag(R"(service: "chargen" port: 19
                         connection { congestion_control: "newreno" send_buffer_bytes: 65536 })"))},
  };
}

class ValidTcpConfig : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidTcpConfig, IsAccepted) {
  auto config = ParseConfigText(GetParam().text, "case.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status s = ValidateConfig(*config);
  EXPECT_TRUE(s.ok()) << s;
}

INSTANTIATE_TEST_SUITE_P(ValidateTcp, ValidTcpConfig, ::testing::ValuesIn(ValidCases()),
                         [](const ::testing::TestParamInfo<ValidCase>& info) {
                           return std::string(info.param.rule);
                         });

// The messages in full: the path, the value, and the rule or the other field involved.
TEST(ValidateTcp, ErrorsSayWhatIsWrongAndWhy) {
  const auto message = [](const std::string& text) {
    return std::string(ValidateConfig(Parse(text)).message());
  };
  EXPECT_EQ(message(Tcp("delayed_ack_ms: 600")),
            "tcp.delayed_ack_ms: 600 is out of range 1..499 (RFC 9293 §3.8.6.3: an ACK MUST NOT "
            "be delayed 0.5 s or more)");
  EXPECT_EQ(message(Tcp("rto_max_ms: 30000")),
            "tcp.rto_max_ms: 30000 is below 60000 (RFC 6298 §2.5: a maximum RTO must be at "
            "least 60 s)");
  EXPECT_EQ(message(Tcp("rto_min_ms: 500 rto_initial_ms: 400")),
            "tcp.rto_min_ms: 500 is above tcp.rto_initial_ms (400)");
  EXPECT_EQ(message(Tcp("rto_min_ms: 1500")),
            "tcp.rto_min_ms: 1500 is above tcp.rto_initial_ms (1000, the default)");
  EXPECT_EQ(message(Tcp("rto_initial_ms: 100")),
            "tcp.rto_initial_ms: 100 is below tcp.rto_min_ms (200, the default)");
  EXPECT_EQ(message(Tcp("rto_initial_ms: 70000")),
            "tcp.rto_initial_ms: 70000 is above tcp.rto_max_ms (60000, the default)");
  EXPECT_EQ(message(Tcp("max_connections: 100 syn_backlog: 200")),
            "tcp.syn_backlog: 200 is above tcp.max_connections (100)");
  EXPECT_EQ(message(Tcp("connection { send_buffer_bytes: 2147483648 }")),
            "tcp.connection.send_buffer_bytes: 2147483648 is out of range 1..2147483647 "
            "(or 0 for the default)");
  EXPECT_EQ(message(Tcp(R"(connection { congestion_control: "bbr" })")),
            "tcp.connection.congestion_control: \"bbr\" is not one of cubic, newreno");
  EXPECT_EQ(message(Tcp("connection { keepalive: true keepalive_probes: 0 }")),
            "tcp.connection.keepalive_probes: 0 would drop an idle connection without probing "
            "it (RFC 9293 §3.8.4); 1..127, or leave it unset for the default, 9");
  EXPECT_EQ(message(Listeners(Diag(R"(service: "echo" port: 7)") +
                              Diag(R"(service: "foo" port: 9)"))),
            "diagnostics[1].service: \"foo\" is not one of echo, discard, chargen");
  EXPECT_EQ(message(Listeners(Diag(R"(service: "echo" port: 7 address: "198.18.0.2")"))),
            "diagnostics[0].address: 198.18.0.2 is not an address of any interface (or 0.0.0.0 "
            "for all of them)");
  EXPECT_EQ(message(Listeners(Diag(R"(service: "echo" port: 0)"))),
            "diagnostics[0].port: is required: 1..65535");
  EXPECT_EQ(message(Listeners(Diag(R"(service: "echo" port: 7 address: "198.18.0.1")") +
                              Diag(R"(service: "discard" port: 7 address: "198.18.0.1")"))),
            "diagnostics[1]: 198.18.0.1:7 is already taken by diagnostics[0] (echo on "
            "198.18.0.1:7)");
  EXPECT_EQ(message(Listeners(Diag(R"(service: "chargen" port: 19)") +
                              Diag(R"(service: "echo" port: 19 address: "198.19.0.1")"))),
            "diagnostics[1]: 198.19.0.1:19 is already taken by diagnostics[0] (chargen on "
            "0.0.0.0:19)");
}

TEST(ValidateTcp, TcpIsCheckedAfterTheInterfacesAndBeforeTheListeners) {
  // Field order: interfaces (1) before tcp (6) before diagnostics (7).
  const std::string bad_listener = Diag(R"(service: "foo" port: 7)");
  const std::string bad_interface = R"(interfaces { name: "lan0" driver: "af_packet"
    ipv4 { address: "198.18.0.1" prefix_length: 24 } mtu: 10 })";
  EXPECT_TRUE(absl::StartsWith(
      ValidateConfig(Parse(bad_interface + "tcp { delayed_ack_ms: 900 }" + bad_listener))
          .message(),
      "interfaces[0].mtu: "));
  EXPECT_TRUE(absl::StartsWith(
      ValidateConfig(Parse(Tcp("delayed_ack_ms: 900") + bad_listener)).message(),
      "tcp.delayed_ack_ms: "));
}

// ---- Resolution ----------------------------------------------------------------------------

TEST(ResolveStackOptions, UnsetFieldsKeepTheDefaultsOfStackOptions) {
  const tcp::StackOptions defaults;
  const tcp::StackOptions o = ResolveStackOptions(v1::Tcp(), 1500);
  EXPECT_EQ(o.max_connections, defaults.max_connections);
  EXPECT_EQ(o.syn_backlog, defaults.syn_backlog);
  EXPECT_EQ(o.syn_cookies, defaults.syn_cookies);
  EXPECT_EQ(o.rto.min, defaults.rto.min);
  EXPECT_EQ(o.rto.initial, defaults.rto.initial);
  EXPECT_EQ(o.rto.max, defaults.rto.max);
  EXPECT_EQ(o.rto.clock_granularity, defaults.rto.clock_granularity);
  EXPECT_EQ(o.delayed_ack, defaults.delayed_ack);
  EXPECT_EQ(o.time_wait, defaults.time_wait);
  EXPECT_EQ(o.fin_wait_2_timeout, defaults.fin_wait_2_timeout);
  EXPECT_EQ(o.max_retransmissions, defaults.max_retransmissions);
  EXPECT_EQ(o.syn_retries, defaults.syn_retries);
  EXPECT_EQ(o.challenge_ack_limit, defaults.challenge_ack_limit);
  EXPECT_EQ(o.timer_tick, defaults.timer_tick);
  EXPECT_EQ(o.timer_slots, defaults.timer_slots);
  EXPECT_EQ(o.send_queue_entries, defaults.send_queue_entries);
  EXPECT_EQ(o.reassembly_segments, defaults.reassembly_segments);
  EXPECT_EQ(o.sack_ranges, defaults.sack_ranges);
  EXPECT_EQ(o.ephemeral_first, defaults.ephemeral_first);
  EXPECT_EQ(o.ephemeral_last, defaults.ephemeral_last);
  // RFC 9293 §3.7.1: MTU less 20 bytes of IPv4 and 20 of TCP header.
  EXPECT_EQ(o.mss, 1460);
  EXPECT_FALSE(o.tcp_checksum_offload);
  // And the values those defaults are documented with (config.proto).
  EXPECT_EQ(o.max_connections, 16384u);
  EXPECT_EQ(o.syn_backlog, 1024u);
  EXPECT_TRUE(o.syn_cookies);
  EXPECT_EQ(o.rto.min, milliseconds(200));
  EXPECT_EQ(o.rto.initial, seconds(1));
  EXPECT_EQ(o.rto.max, seconds(60));
  EXPECT_EQ(o.delayed_ack, milliseconds(40));
  EXPECT_EQ(o.time_wait, seconds(60));
  EXPECT_EQ(o.max_retransmissions, 15u);
  EXPECT_EQ(o.syn_retries, 6u);
}

TEST(ResolveStackOptions, ConfiguredValuesReplaceTheDefaults) {
  const v1::Config c = Parse(Tcp(
      "max_connections: 2000 syn_backlog: 64 syn_cookies: false rto_min_ms: 300 "
      "rto_initial_ms: 2000 rto_max_ms: 120000 delayed_ack_ms: 10 time_wait_ms: 1000 "
      "fin_wait_2_timeout_ms: 5000 max_retransmissions: 5 syn_retries: 3 "
      "challenge_ack_limit: 50 send_queue_entries: 64 reassembly_segments: 16"));
  ASSERT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  const tcp::StackOptions o = ResolveStackOptions(c.tcp(), 9000);
  EXPECT_EQ(o.max_connections, 2000u);
  EXPECT_EQ(o.syn_backlog, 64u);
  EXPECT_FALSE(o.syn_cookies);
  EXPECT_EQ(o.rto.min, milliseconds(300));
  EXPECT_EQ(o.rto.initial, milliseconds(2000));
  EXPECT_EQ(o.rto.max, milliseconds(120000));
  EXPECT_EQ(o.delayed_ack, milliseconds(10));
  EXPECT_EQ(o.time_wait, milliseconds(1000));
  EXPECT_EQ(o.fin_wait_2_timeout, milliseconds(5000));
  EXPECT_EQ(o.max_retransmissions, 5u);
  EXPECT_EQ(o.syn_retries, 3u);
  EXPECT_EQ(o.challenge_ack_limit, 50u);
  EXPECT_EQ(o.send_queue_entries, 64u);
  EXPECT_EQ(o.reassembly_segments, 16);
  EXPECT_EQ(o.mss, 8960);
  EXPECT_TRUE(tcp::RttEstimator::Valid(o.rto));
}

TEST(ResolveStackOptions, DefaultBacklogShrinksToASmallPool) {
  const tcp::StackOptions o = ResolveStackOptions(Parse(Tcp("max_connections: 10")).tcp(), 1500);
  EXPECT_EQ(o.max_connections, 10u);
  EXPECT_EQ(o.syn_backlog, 10u);
}

TEST(ResolveConnectionOptions, EmptyBlockKeepsTheBase) {
  tcp::ConnectionOptions base;
  base.congestion = tcp::CongestionAlgorithm::kNewReno;
  base.send_buffer = 12345;
  base.keepalive = true;
  const tcp::ConnectionOptions o = ResolveConnectionOptions(v1::TcpConnection(), base);
  EXPECT_EQ(o.congestion, tcp::CongestionAlgorithm::kNewReno);
  EXPECT_EQ(o.send_buffer, 12345u);
  EXPECT_TRUE(o.keepalive);
  const tcp::ConnectionOptions defaults;
  EXPECT_EQ(o.nagle, defaults.nagle);
  EXPECT_EQ(o.window_scaling, defaults.window_scaling);
  EXPECT_EQ(o.timestamps, defaults.timestamps);
  EXPECT_EQ(o.sack, defaults.sack);
  EXPECT_EQ(o.receive_window, defaults.receive_window);
  EXPECT_EQ(o.keepalive_idle, defaults.keepalive_idle);
  EXPECT_EQ(o.keepalive_interval, defaults.keepalive_interval);
  EXPECT_EQ(o.keepalive_probes, defaults.keepalive_probes);
}

TEST(ResolveConnectionOptions, EveryFieldOverrides) {
  v1::TcpConnection c;
  ASSERT_TRUE(
      ParseTextProto(R"(congestion_control: "newreno" nagle: true window_scaling: false
                        timestamps: false sack: false send_buffer_bytes: 65536
                        receive_window_bytes: 32768 keepalive: true keepalive_idle_s: 60
                        keepalive_interval_s: 5 keepalive_probes: 3)",
                     "connection", &c)
          .ok());
  const tcp::ConnectionOptions o = ResolveConnectionOptions(c, tcp::ConnectionOptions{});
  EXPECT_EQ(o.congestion, tcp::CongestionAlgorithm::kNewReno);
  EXPECT_TRUE(o.nagle);
  EXPECT_FALSE(o.window_scaling);
  EXPECT_FALSE(o.timestamps);
  EXPECT_FALSE(o.sack);
  EXPECT_EQ(o.send_buffer, 65536u);
  EXPECT_EQ(o.receive_window, 32768u);
  EXPECT_TRUE(o.keepalive);
  EXPECT_EQ(o.keepalive_idle, seconds(60));
  EXPECT_EQ(o.keepalive_interval, seconds(5));
  EXPECT_EQ(o.keepalive_probes, 3u);
}

TEST(ResolveDiagnostics, ListenerOverridesGlobalOverridesDefaults) {
  const v1::Config c = Parse(
      kInterfaces +
      R"(tcp { connection { congestion_control: "newreno" send_buffer_bytes: 65536
                            keepalive: true keepalive_probes: 4 } }
         diagnostics { service: "echo" port: 7 }
         diagnostics { service: "chargen" port: 19 address: "198.19.0.1"
                       connection { congestion_control: "cubic" keepalive: false
                                    receive_window_bytes: 8192 } })");
  ASSERT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  const std::vector<DiagnosticListenerSettings> d = ResolveDiagnostics(c);
  ASSERT_EQ(d.size(), 2u);
  const tcp::ConnectionOptions defaults;

  // diagnostics[0]: everything from tcp.connection, the rest from the defaults.
  EXPECT_EQ(d[0].service, DiagnosticService::kEcho);
  EXPECT_TRUE(d[0].address.IsUnspecified());
  EXPECT_EQ(d[0].port, 7);
  EXPECT_EQ(d[0].connection.congestion, tcp::CongestionAlgorithm::kNewReno);
  EXPECT_EQ(d[0].connection.send_buffer, 65536u);
  EXPECT_TRUE(d[0].connection.keepalive);
  EXPECT_EQ(d[0].connection.keepalive_probes, 4u);
  EXPECT_EQ(d[0].connection.receive_window, defaults.receive_window);
  EXPECT_EQ(d[0].connection.keepalive_idle, hours(2));

  // diagnostics[1]: its own fields win, unset ones come from tcp.connection.
  EXPECT_EQ(d[1].service, DiagnosticService::kChargen);
  EXPECT_EQ(d[1].address.ToString(), "198.19.0.1");
  EXPECT_EQ(d[1].port, 19);
  EXPECT_EQ(d[1].connection.congestion, tcp::CongestionAlgorithm::kCubic);
  EXPECT_FALSE(d[1].connection.keepalive);
  EXPECT_EQ(d[1].connection.receive_window, 8192u);
  EXPECT_EQ(d[1].connection.send_buffer, 65536u);
  EXPECT_EQ(d[1].connection.keepalive_probes, 4u);
}

TEST(ResolveDiagnostics, EachServiceByName) {
  const v1::Config c = Parse(Listeners(Diag(R"(service: "discard" port: 9)") +
                                       Diag(R"(service: "chargen" port: 19)") +
                                       Diag(R"(service: "echo" port: 7)")));
  const std::vector<DiagnosticListenerSettings> d = ResolveDiagnostics(c);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].service, DiagnosticService::kDiscard);
  EXPECT_EQ(d[1].service, DiagnosticService::kChargen);
  EXPECT_EQ(d[2].service, DiagnosticService::kEcho);
  EXPECT_EQ(Name(DiagnosticService::kEcho), "echo");
  EXPECT_EQ(Name(DiagnosticService::kDiscard), "discard");
  EXPECT_EQ(Name(DiagnosticService::kChargen), "chargen");
}

// Through ResolveSettings with the real af_packet profile: the MSS fits the smaller MTU of the
// two interfaces (1500 and 9000), and the listeners and tcp.connection are in Settings.
TEST(ResolveSettings, TcpAndDiagnosticsAreResolved) {
  auto s = ResolveSettings(
      Parse(Tcp(R"(delayed_ack_ms: 25 connection { sack: false })") +
            Diag(R"(service: "echo" port: 7)")),
      FERRY_SOURCE_ROOT "/drivers-config");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->tcp.mss, 1460);
  EXPECT_EQ(s->tcp.delayed_ack, milliseconds(25));
  EXPECT_FALSE(s->tcp.tcp_checksum_offload);
  EXPECT_FALSE(s->tcp_connection.sack);
  ASSERT_EQ(s->diagnostics.size(), 1u);
  EXPECT_EQ(s->diagnostics[0].port, 7);
  EXPECT_FALSE(s->diagnostics[0].connection.sack);
}

TEST(ResolveSettings, MssFollowsASmallMtu) {
  auto s = ResolveSettings(Parse(R"(interfaces { name: "lan0" driver: "af_packet"
                                       device: "iface=v0" mtu: 576
                                       ipv4 { address: "198.18.0.1" prefix_length: 24 } })"),
                           FERRY_SOURCE_ROOT "/drivers-config");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->tcp.mss, 536);  // RFC 9293 §3.7.1's default MSS comes from this MTU
  EXPECT_TRUE(s->diagnostics.empty());
}

TEST(ResolveSettings, InvalidTcpIsRefusedWithItsPath) {
  auto s = ResolveSettings(Parse(Tcp("delayed_ack_ms: 600")), FERRY_SOURCE_ROOT "/drivers-config");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "tcp.delayed_ack_ms: 600 ")) << s.status();
}

}  // namespace
}  // namespace ferry::control
