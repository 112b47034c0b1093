// Config: text-format parsing with file:line:column errors, validation that names the field
// path of every mistake (STYLE.md habit 5), resolution into Settings (defaults applied, driver
// profiles loaded) and the EAL argument list those settings imply.
#include "control/config.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

constexpr char kMinimal[] = R"pb(
  interfaces {
    name: "lan0"
    driver: "af_packet"
    device: "iface=veth0"
    ipv4 { address: "198.18.0.1" prefix_length: 24 }
  }
)pb";

v1::Config Parse(const std::string& text) {
  auto c = ParseConfigText(text, "test.conf");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : v1::Config();
}

// ---- Parsing -----------------------------------------------------------------------------

TEST(ParseConfigText, MinimalConfigParsesAndValidates) {
  auto c = ParseConfigText(kMinimal, "test.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(ValidateConfig(*c).ok()) << ValidateConfig(*c);
  ASSERT_EQ(c->interfaces_size(), 1);
  EXPECT_EQ(c->interfaces(0).name(), "lan0");
  EXPECT_EQ(c->interfaces(0).driver(), "af_packet");
  EXPECT_EQ(c->interfaces(0).device(), "iface=veth0");
  ASSERT_EQ(c->interfaces(0).ipv4_size(), 1);
  EXPECT_EQ(c->interfaces(0).ipv4(0).address(), "198.18.0.1");
  EXPECT_EQ(c->interfaces(0).ipv4(0).prefix_length(), 24u);
}

// text_proto.h: "<source_name>:<line>:<column>: <message>", lines and columns from 1.
TEST(ParseConfigText, SyntaxErrorNamesSourceLineAndColumnFromOne) {
  //                        line 1         line 2            line 3: column 8 is 'f'
  auto c = ParseConfigText("interfaces {\n  name: \"lan0\"\n  mtu: fast\n}\n", "a.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "a.conf:3:8: ")) << c.status();
}

TEST(ParseConfigText, SyntaxErrorOnTheFirstCharacterIsLineOneColumnOne) {
  auto c = ParseConfigText("{\n", "first.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "first.conf:1:1: ")) << c.status();
}

TEST(ParseConfigText, UnclosedBraceIsReportedAtTheEnd) {
  auto c = ParseConfigText("interfaces {\n  name: \"lan0\"\n", "open.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "open.conf:3:")) << c.status();
}

// text_proto.h: unknown fields are errors, never ignored, so a misspelt option cannot silently
// fall back to its default. libprotobuf reports an unknown name at the token that follows it
// (here the '{' in column 12, 1-based), once it has read the whole name.
TEST(ParseConfigText, UnknownFieldNameIsAnErrorWithItsPosition) {
  auto c = ParseConfigText("\ninterfacez {}\n", "b.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "b.conf:2:12: ")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "interfacez")) << c.status();
}

TEST(ParseConfigText, UnknownNestedFieldIsAnErrorWithItsPosition) {
  auto c = ParseConfigText("workers {\n  count: 2\n  lcore: 3\n}\n", "c.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  // Line 3 is "  lcore: 3": the name starts in column 3, the ':' after it is column 8.
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "c.conf:3:8: ")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "lcore")) << c.status();
}

TEST(ParseConfigText, EmptyTextIsAnEmptyConfig) {
  auto c = ParseConfigText("", "empty.conf");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->interfaces_size(), 0);
}

TEST(LoadConfigFile, MissingFileIsNotFoundNamingThePath) {
  auto c = LoadConfigFile("/nonexistent/ferryd.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "/nonexistent/ferryd.conf")) << c.status();
}

// ---- Validation: each case is a config text and the exact field path its error starts with.

std::string Iface(const std::string& body) { return "interfaces { " + body + " }\n"; }
const std::string kGood = R"(name: "lan0" driver: "af_packet" device: "iface=v0" )";
const std::string kAddr = R"(ipv4 { address: "198.18.0.1" prefix_length: 24 } )";
const std::string kOk = Iface(kGood + kAddr);
std::string Lan1(const std::string& rest) {
  return Iface(R"(name: "lan1" driver: "af_packet" device: "iface=v1" )" + rest);
}
std::string Addr(const std::string& address, int length) {
  return absl::StrCat(R"(ipv4 { address: ")", address, R"(" prefix_length: )", length, " } ");
}

struct InvalidCase {
  const char* rule;  // what the case breaks; also the test's name
  std::string text;
  const char* error_prefix;
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.rule; }

std::vector<InvalidCase> InvalidCases() {
  const std::string arp = R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:01" } )";
  return {
      // Interfaces.
      {"NoInterfaces", "", "interfaces: "},
      {"EmptyName", Iface(R"(driver: "af_packet" )" + kAddr), "interfaces[0].name: "},
      {"NameWithSpace", Iface(R"(name: "lan 0" driver: "af_packet" )" + kAddr),
       "interfaces[0].name: "},
      {"NameWithSlash", Iface(R"(name: "lan/0" driver: "af_packet" )" + kAddr),
       "interfaces[0].name: "},
      {"NameOf33Characters",
       Iface(R"(name: "abcdefghijklmnopqrstuvwxyz0123456" driver: "af_packet" )" + kAddr),
       "interfaces[0].name: "},
      {"DuplicateName",
       kOk + Iface(R"(name: "lan0" driver: "af_packet" device: "iface=v1" )" +
                   Addr("198.19.0.1", 24)),
       "interfaces[1].name: "},
      {"MissingDriver", Iface(R"(name: "lan0" )" + kAddr), "interfaces[0].driver: "},
      {"DriverIsAPath", Iface(R"(name: "lan0" driver: "../af_packet" )" + kAddr),
       "interfaces[0].driver: "},
      {"DuplicateDevice",
       kOk + Iface(R"(name: "lan1" driver: "af_packet" device: "iface=v0" )" +
                   Addr("198.19.0.1", 24)),
       "interfaces[1].device: "},
      {"Mtu67", Iface(kGood + kAddr + "mtu: 67"), "interfaces[0].mtu: "},
      {"Mtu9001", Iface(kGood + kAddr + "mtu: 9001"), "interfaces[0].mtu: "},
      {"Vlan4095", Iface(kGood + kAddr + "vlan: 4095"), "interfaces[0].vlan: "},
      {"NoIpv4Address", Iface(kGood), "interfaces[0].ipv4: "},
      {"AddressTextThreeOctets", Iface(kGood + Addr("198.18.0", 24)),
       "interfaces[0].ipv4[0].address: "},
      {"AddressTextEmpty", Iface(kGood + R"(ipv4 { prefix_length: 24 })"),
       "interfaces[0].ipv4[0].address: "},
      {"MulticastAddress", Iface(kGood + Addr("224.0.0.1", 24)),
       "interfaces[0].ipv4[0].address: "},
      {"LoopbackAddress", Iface(kGood + Addr("127.0.0.1", 8)), "interfaces[0].ipv4[0].address: "},
      {"UnspecifiedAddress", Iface(kGood + Addr("0.0.0.0", 24)),
       "interfaces[0].ipv4[0].address: "},
      {"ClassEAddress", Iface(kGood + Addr("240.0.0.1", 24)), "interfaces[0].ipv4[0].address: "},
      {"LimitedBroadcastAddress", Iface(kGood + Addr("255.255.255.255", 32)),
       "interfaces[0].ipv4[0].address: "},
      {"PrefixLength0", Iface(kGood + Addr("198.18.0.1", 0)),
       "interfaces[0].ipv4[0].prefix_length: "},
      {"PrefixLength33", Iface(kGood + Addr("198.18.0.1", 33)),
       "interfaces[0].ipv4[0].prefix_length: "},
      {"NetworkAddressOfTheSubnet", Iface(kGood + Addr("198.18.0.0", 24)),
       "interfaces[0].ipv4[0].address: "},
      {"BroadcastAddressOfTheSubnet", Iface(kGood + Addr("198.18.0.255", 24)),
       "interfaces[0].ipv4[0].address: "},
      {"BroadcastAddressOfASlash30", Iface(kGood + Addr("198.18.0.3", 30)),
       "interfaces[0].ipv4[0].address: "},
      {"DuplicateAddressOnOneInterface", Iface(kGood + kAddr + kAddr),
       "interfaces[0].ipv4[1].address: "},
      {"DuplicateAddressAcrossInterfaces", kOk + Lan1(kAddr), "interfaces[1].ipv4[0].address: "},
      {"SecondInterfaceSubnetInsideTheFirst", kOk + Lan1(Addr("198.18.0.9", 28)),
       "interfaces[1].ipv4[0]: "},
      {"SecondInterfaceSubnetAroundTheFirst", kOk + Lan1(Addr("198.18.1.9", 16)),
       "interfaces[1].ipv4[0]: "},
      {"OverlapWithASecondaryAddress",
       Iface(kGood + kAddr + Addr("10.1.0.1", 16)) + Lan1(Addr("10.1.2.1", 24)),
       "interfaces[1].ipv4[0]: "},
      {"StaticArpBadAddress",
       Iface(kGood + kAddr + R"(static_arp { address: "x" mac: "02:00:00:00:00:01" })"),
       "interfaces[0].static_arp[0].address: "},
      {"StaticArpMulticastAddress",
       Iface(kGood + kAddr + R"(static_arp { address: "224.0.0.5" mac: "02:00:00:00:00:01" })"),
       "interfaces[0].static_arp[0].address: "},
      {"StaticArpBadMac",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:01" })"),
       "interfaces[0].static_arp[0].mac: "},
      {"StaticArpMulticastMac",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "01:00:5e:00:00:01" })"),
       "interfaces[0].static_arp[0].mac: "},
      {"StaticArpBroadcastMac",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "ff:ff:ff:ff:ff:ff" })"),
       "interfaces[0].static_arp[0].mac: "},
      {"StaticArpZeroMac",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "00:00:00:00:00:00" })"),
       "interfaces[0].static_arp[0].mac: "},
      {"StaticArpDuplicate",
       Iface(kGood + kAddr + arp +
             R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:02" })"),
       "interfaces[0].static_arp[1].address: "},
      {"StaticArpForOurOwnAddress",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.1" mac: "02:00:00:00:00:01" })"),
       "interfaces[0].static_arp[0].address: "},
      {"StaticArpOffSubnet",
       Iface(kGood + kAddr + R"(static_arp { address: "10.0.0.2" mac: "02:00:00:00:00:01" })"),
       "interfaces[0].static_arp[0].address: "},
      {"AddressInZeroSlashEight", Iface(kGood + Addr("0.1.2.3", 8)),
       "interfaces[0].ipv4[0].address: "},
      {"AddressWithLeadingZero", Iface(kGood + Addr("198.018.0.1", 24)),
       "interfaces[0].ipv4[0].address: "},
      {"RoutePrefixTrailingSpace", kOk + R"(routes { prefix: "0.0.0.0/0 " via: "198.18.0.2" })",
       "routes[0].prefix: "},
      {"RouteViaSubnetBroadcast", kOk + R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.255" })",
       "routes[0].via: "},
      {"RouteViaSubnetNetwork", kOk + R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.0" })",
       "routes[0].via: "},
      // Routes.
      {"RoutePrefixWithoutLength", kOk + R"(routes { prefix: "198.19.0.0" via: "198.18.0.2" })",
       "routes[0].prefix: "},
      {"RoutePrefixLength33", kOk + R"(routes { prefix: "198.19.0.0/33" via: "198.18.0.2" })",
       "routes[0].prefix: "},
      {"RouteHostBitsSet", kOk + R"(routes { prefix: "198.19.0.1/16" via: "198.18.0.2" })",
       "routes[0].prefix: "},
      {"RouteTwice",
       kOk + R"(routes { prefix: "198.19.0.0/16" via: "198.18.0.2" }
                routes { prefix: "198.19.0.0/16" via: "198.18.0.3" })",
       "routes[1].prefix: "},
      {"RouteViaNotAnAddress", kOk + R"(routes { prefix: "0.0.0.0/0" via: "gateway" })",
       "routes[0].via: "},
      {"RouteViaMissing", kOk + R"(routes { prefix: "0.0.0.0/0" })", "routes[0].via: "},
      {"RouteViaOffLink", kOk + R"(routes { prefix: "0.0.0.0/0" via: "10.0.0.1" })",
       "routes[0].via: "},
      {"RouteViaOurOwnAddress", kOk + R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.1" })",
       "routes[0].via: "},
      {"RouteViaOurOwnSecondaryAddress",
       Iface(kGood + kAddr + Addr("198.18.0.5", 24)) +
           R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.5" })",
       "routes[0].via: "},
      // Workers.
      {"Workers129", kOk + "workers { count: 129 }", "workers.count: "},
      {"LcoresCountMismatch", kOk + "workers { count: 2 lcores: 1 }", "workers.lcores: "},
      {"LcoresMoreThanWorkers", kOk + "workers { lcores: 1 lcores: 2 }", "workers.lcores: "},
      {"LcoreIsTheMainLcore", kOk + "workers { lcores: 0 }", "workers.lcores[0]: "},
      {"LcoreIsTheExplicitMainLcore", kOk + "workers { count: 2 main_lcore: 3 lcores: 1 lcores: 3 }",
       "workers.lcores[1]: "},
      {"LcoreTwice", kOk + "workers { count: 2 lcores: 1 lcores: 1 }", "workers.lcores[1]: "},
      {"Lcore1024", kOk + "workers { lcores: 1024 }", "workers.lcores[0]: "},
      {"MainLcore1024", kOk + "workers { main_lcore: 1024 lcores: 1 }", "workers.main_lcore: "},
      {"MbufsPerWorker100", kOk + "workers { mbufs_per_worker: 100 }",
       "workers.mbufs_per_worker: "},
      {"IdlePollsBeforeSleepTooMany", kOk + "workers { idle_polls_before_sleep: 1000001 }",
       "workers.idle_polls_before_sleep: "},
      {"IdleSleepMax200000us", kOk + "workers { idle_sleep_max_us: 200000 }",
       "workers.idle_sleep_max_us: "},
      // ARP.
      {"ArpCapacity8", kOk + "arp { capacity: 8 }", "arp.capacity: "},
      {"ArpQueuePerEntry1025", kOk + "arp { queue_per_entry: 1025 }", "arp.queue_per_entry: "},
      {"ArpEntryLifetime5s", kOk + "arp { entry_lifetime_s: 5 }", "arp.entry_lifetime_s: "},
      {"ArpRequestInterval5ms", kOk + "arp { request_interval_ms: 5 }",
       "arp.request_interval_ms: "},
      {"ArpRequestAttempts101", kOk + "arp { request_attempts: 101 }", "arp.request_attempts: "},
      {"ArpGratuitousCount101", kOk + "arp { gratuitous_count: 101 }", "arp.gratuitous_count: "},
      // EAL.
      {"EalMemory10Mb", kOk + "eal { memory_mb: 10 }", "eal.memory_mb: "},
      {"EalFilePrefixWithSlash", kOk + R"(eal { file_prefix: "a/b" })", "eal.file_prefix: "},
      {"EalExtraArgWithoutDash",
       kOk + R"(eal { extra_args: "--no-shconf" extra_args: "no-huge" })",
       "eal.extra_args[1]: "},
      {"EalExtraArgEmpty", kOk + R"(eal { extra_args: "" })", "eal.extra_args[0]: "},
  };
}

class InvalidConfig : public ::testing::TestWithParam<InvalidCase> {};

// ValidateConfig (config.h): InvalidArgument whose message starts with the field path.
TEST_P(InvalidConfig, IsRefusedNamingTheFieldPath) {
  const InvalidCase& c = GetParam();
  auto config = ParseConfigText(c.text, "case.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status s = ValidateConfig(*config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StartsWith(s.message(), c.error_prefix))
      << "want prefix \"" << c.error_prefix << "\", got \"" << s.message() << "\"";
  // A bare path is not enough: the reason follows it.
  EXPECT_GT(s.message().size(), std::string(c.error_prefix).size()) << s;
}

INSTANTIATE_TEST_SUITE_P(ValidateConfig, InvalidConfig, ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return std::string(info.param.rule);
                         });

TEST(ValidateConfig, TheTableHasAtLeastThirtyDistinctCases) {
  const std::vector<InvalidCase> cases = InvalidCases();
  EXPECT_GE(cases.size(), 30u);
  std::vector<std::string> texts;
  for (const InvalidCase& c : cases) texts.push_back(c.text);
  std::sort(texts.begin(), texts.end());
  EXPECT_EQ(std::adjacent_find(texts.begin(), texts.end()), texts.end())
      << "two cases share a config text";
}

// The edges of every range, and the shapes the invalid cases must not catch by accident.
struct ValidCase {
  const char* rule;
  std::string text;
};

std::ostream& operator<<(std::ostream& os, const ValidCase& c) { return os << c.rule; }

std::vector<ValidCase> ValidCases() {
  return {
      {"Minimal", kMinimal},
      {"Mtu68", Iface(kGood + kAddr + "mtu: 68")},
      {"Mtu9000", Iface(kGood + kAddr + "mtu: 9000")},
      {"Vlan1", Iface(kGood + kAddr + "vlan: 1")},
      {"Vlan4094", Iface(kGood + kAddr + "vlan: 4094")},
      {"NameOf32Characters",
       Iface(R"(name: "abcdefghijklmnopqrstuvwxyz012345" driver: "af_packet" )" + kAddr)},
      {"NameWithDotDashUnderscore", Iface(R"(name: "lan-0.v_1" driver: "af_packet" )" + kAddr)},
      // The same subnet twice on one interface is a secondary address, not an overlap.
      {"TwoAddressesOfOneSubnetOnOneInterface", Iface(kGood + kAddr + Addr("198.18.0.5", 24))},
      {"NestedSubnetsOnOneInterface", Iface(kGood + kAddr + Addr("198.18.1.5", 16))},
      {"AdjacentSubnetsOnTwoInterfaces", kOk + Lan1(Addr("198.18.1.1", 24))},
      // RFC 3021: on a /31 both addresses are hosts; a /32 is one host.
      {"Slash31NetworkAddress", Iface(kGood + Addr("192.0.2.0", 31))},
      {"Slash31UpperAddress", Iface(kGood + Addr("192.0.2.1", 31))},
      {"Slash32", Iface(kGood + Addr("192.0.2.7", 32))},
      {"StaticArpEntry",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:01" })")},
      {"StaticArpOnTwoInterfaces",
       Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:01" })") +
           Lan1(Addr("198.19.0.1", 24) +
                R"(static_arp { address: "198.19.0.2" mac: "02:00:00:00:00:01" })")},
      {"DefaultRoute", kOk + R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.254" })"},
      {"RoutesThroughTwoInterfaces",
       kOk + Lan1(Addr("198.19.0.1", 24)) +
           R"(routes { prefix: "10.0.0.0/8" via: "198.18.0.2" }
              routes { prefix: "10.0.0.0/16" via: "198.19.0.2" }
              routes { prefix: "0.0.0.0/0" via: "198.19.0.254" })"},
      {"Workers128", kOk + "workers { count: 128 }"},
      {"ExplicitLcores", kOk + "workers { count: 3 main_lcore: 2 lcores: 0 lcores: 1 lcores: 5 }"},
      {"Lcore1023", kOk + "workers { lcores: 1023 }"},
      {"RangeMinimums",
       kOk + "workers { mbufs_per_worker: 1023 idle_polls_before_sleep: 1 idle_sleep_max_us: 1 } "
             "arp { capacity: 16 queue_per_entry: 1 entry_lifetime_s: 10 request_interval_ms: 10 "
             "request_attempts: 1 gratuitous_count: 1 } eal { memory_mb: 64 }"},
      {"RangeMaximums",
       kOk + "workers { idle_polls_before_sleep: 1000000 idle_sleep_max_us: 100000 "
             "mbufs_per_worker: 16777216 } "
             "arp { capacity: 1048576 queue_per_entry: 1024 entry_lifetime_s: 86400 "
             "request_interval_ms: 60000 request_attempts: 100 gratuitous_count: 100 }"},
      {"EalOptions",
       kOk + R"(eal { hugepages: false file_prefix: "ferry-test.1"
                      extra_args: "--no-shconf" extra_args: "-d" extra_args: "-x" })"},
  };
}

class ValidConfig : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidConfig, IsAccepted) {
  auto config = ParseConfigText(GetParam().text, "case.conf");
  ASSERT_TRUE(config.ok()) << config.status();
  const absl::Status s = ValidateConfig(*config);
  EXPECT_TRUE(s.ok()) << s;
}

INSTANTIATE_TEST_SUITE_P(ValidateConfig, ValidConfig, ::testing::ValuesIn(ValidCases()),
                         [](const ::testing::TestParamInfo<ValidCase>& info) {
                           return std::string(info.param.rule);
                         });

TEST(ValidateConfig, ErrorSaysWhatIsWrongWithTheValue) {
  EXPECT_EQ(ValidateConfig(Parse(Iface(kGood + Addr("198.18.0.1", 33)))).message(),
            "interfaces[0].ipv4[0].prefix_length: 33 is out of range 1..32");
  EXPECT_EQ(ValidateConfig(Parse(kOk + "workers { count: 129 }")).message(),
            "workers.count: 129 is out of range 1..128 (or 0 for the default)");
}

TEST(ValidateConfig, OverlapErrorNamesBothSubnetsAndTheOtherField) {
  const absl::Status s = ValidateConfig(Parse(kOk + Lan1(Addr("198.18.0.9", 16))));
  EXPECT_EQ(s.message(),
            "interfaces[1].ipv4[0]: subnet 198.18.0.0/16 overlaps interfaces[0].ipv4[0] "
            "(198.18.0.0/24)");
}

TEST(ValidateConfig, FirstMistakeInFieldOrderIsReported) {
  // Both the interface and the workers are wrong: the interface comes first in the file.
  const absl::Status s =
      ValidateConfig(Parse(Iface(kGood + kAddr + "mtu: 10") + "workers { count: 500 }"));
  EXPECT_TRUE(absl::StartsWith(s.message(), "interfaces[0].mtu: ")) << s;
}

// ---- Resolution and EAL arguments ---------------------------------------------------------

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ferry-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    // The tiny profiles these tests need; drivers-config/ is tested by driver_profile_test.
    Write("af_packet", R"pb(bus: VDEV vdev_driver: "net_af_packet" name: "af_packet"
                            devargs: "framecnt=512" queue_count_devarg: "qpairs")pb");
    Write("ring", R"pb(name: "ring" bus: VDEV vdev_driver: "net_ring")pb");
    Write("pcinic", R"pb(name: "pcinic" bus: PCI devargs: "rxq_cqe_comp_en=0"
                         eal_args: "--iova-mode=va")pb");
    Write("pcinic2", R"pb(name: "pcinic2" bus: PCI eal_args: "--iova-mode=va"
                          eal_args: "--in-memory")pb");
    Write("broken", R"pb(name: "broken" bus: VDEV)pb");  // no vdev_driver
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / (name + ".textproto")) << text;
  }
  Settings Resolve(const std::string& text) {
    auto s = ResolveSettings(Parse(text), dir_.string());
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : Settings();
  }

  std::filesystem::path dir_;
};

// Position of `arg` in `args`, or -1.
int IndexOf(const std::vector<std::string>& args, const std::string& arg) {
  auto it = std::find(args.begin(), args.end(), arg);
  return it == args.end() ? -1 : static_cast<int>(it - args.begin());
}

TEST_F(ResolveTest, DefaultsAreApplied) {
  const Settings s = Resolve(kMinimal);
  // config.proto: workers count 0 means 1, on the lcores after the main one (0).
  EXPECT_EQ(s.workers.count, 1u);
  EXPECT_EQ(s.workers.main_lcore, 0u);
  EXPECT_EQ(s.workers.lcores, std::vector<uint32_t>{1});
  EXPECT_EQ(s.workers.mbufs_per_worker, 16383u);
  EXPECT_EQ(s.workers.idle_polls_before_sleep, 256u);
  EXPECT_EQ(s.workers.idle_sleep_max, std::chrono::microseconds(500));
  // ARP defaults.
  EXPECT_EQ(s.host.arp.capacity, 4096u);
  EXPECT_EQ(s.host.arp.queue_per_entry, 8u);
  EXPECT_EQ(s.host.arp.entry_lifetime, std::chrono::seconds(300));
  EXPECT_EQ(s.host.arp.request_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(s.host.arp.request_attempts, 3u);
  EXPECT_EQ(s.host.gratuitous_count, 3u);
  // EAL defaults: hugepages on, memory left to DPDK, prefix "ferry".
  EXPECT_TRUE(s.eal.hugepages);
  EXPECT_EQ(s.eal.memory_mb, 0u);
  EXPECT_EQ(s.eal.file_prefix, "ferry");
  EXPECT_TRUE(s.eal.extra_args.empty());
  // The interface: MTU 1500, untagged.
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].interface_name, "lan0");
  EXPECT_EQ(s.ports[0].device, "iface=veth0");
  EXPECT_EQ(s.ports[0].mtu, 1500);
  EXPECT_EQ(s.ports[0].profile.bus, net::PortProfile::Bus::kVdev);
  EXPECT_EQ(s.ports[0].profile.vdev_driver, "net_af_packet");
  ASSERT_EQ(s.host.interfaces.size(), 1u);
  EXPECT_EQ(s.host.interfaces[0].name, "lan0");
  EXPECT_EQ(s.host.interfaces[0].mtu, 1500);
  EXPECT_EQ(s.host.interfaces[0].vlan, 0);
  ASSERT_EQ(s.host.interfaces[0].addresses.size(), 1u);
  EXPECT_EQ(s.host.interfaces[0].addresses[0].ToString(), "198.18.0.1/24");
  EXPECT_TRUE(s.host.routes.empty());
}

TEST_F(ResolveTest, HugepagesStayOnUnlessTurnedOff) {
  EXPECT_TRUE(Resolve(kOk + "eal { }").eal.hugepages);
  EXPECT_TRUE(Resolve(kOk + "eal { hugepages: true }").eal.hugepages);
  EXPECT_FALSE(Resolve(kOk + "eal { hugepages: false }").eal.hugepages);
}

TEST_F(ResolveTest, DefaultLcoresSkipTheMainLcore) {
  EXPECT_EQ(Resolve(kOk + "workers { count: 3 }").workers.lcores,
            (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(Resolve(kOk + "workers { count: 3 main_lcore: 1 }").workers.lcores,
            (std::vector<uint32_t>{0, 2, 3}));
  EXPECT_EQ(Resolve(kOk + "workers { count: 2 lcores: 7 lcores: 4 }").workers.lcores,
            (std::vector<uint32_t>{7, 4}));
}

TEST_F(ResolveTest, ConfiguredValuesReplaceTheDefaults) {
  const Settings s = Resolve(
      Iface(kGood + kAddr + Addr("198.18.0.5", 24) + "mtu: 9000 vlan: 42 " +
            R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:aa" })") +
      R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.254" }
         workers { count: 2 main_lcore: 4 mbufs_per_worker: 4095 idle_polls_before_sleep: 9
                   idle_sleep_max_us: 1 }
         arp { capacity: 64 queue_per_entry: 2 entry_lifetime_s: 60 request_interval_ms: 250
               request_attempts: 5 gratuitous_count: 1 }
         eal { memory_mb: 256 file_prefix: "t1" extra_args: "--no-shconf" })");
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].mtu, 9000);
  ASSERT_EQ(s.host.interfaces.size(), 1u);
  const net::InterfaceConfig& ic = s.host.interfaces[0];
  EXPECT_EQ(ic.mtu, 9000);
  EXPECT_EQ(ic.vlan, 42);
  ASSERT_EQ(ic.addresses.size(), 2u);
  EXPECT_EQ(ic.addresses[1].ToString(), "198.18.0.5/24");
  ASSERT_EQ(ic.static_arp.size(), 1u);
  EXPECT_EQ(ic.static_arp[0].first.ToString(), "198.18.0.2");
  EXPECT_EQ(ic.static_arp[0].second.ToString(), "02:00:00:00:00:aa");
  ASSERT_EQ(s.host.routes.size(), 1u);
  EXPECT_EQ(s.host.routes[0].first.ToString(), "0.0.0.0/0");
  EXPECT_EQ(s.host.routes[0].second.ToString(), "198.18.0.254");
  EXPECT_EQ(s.workers.count, 2u);
  EXPECT_EQ(s.workers.main_lcore, 4u);
  EXPECT_EQ(s.workers.lcores, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(s.workers.mbufs_per_worker, 4095u);
  EXPECT_EQ(s.workers.idle_polls_before_sleep, 9u);
  EXPECT_EQ(s.workers.idle_sleep_max, std::chrono::microseconds(1));
  EXPECT_EQ(s.host.arp.capacity, 64u);
  EXPECT_EQ(s.host.arp.queue_per_entry, 2u);
  EXPECT_EQ(s.host.arp.entry_lifetime, std::chrono::seconds(60));
  EXPECT_EQ(s.host.arp.request_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(s.host.arp.request_attempts, 5u);
  EXPECT_EQ(s.host.gratuitous_count, 1u);
  EXPECT_EQ(s.eal.memory_mb, 256u);
  EXPECT_EQ(s.eal.file_prefix, "t1");
  EXPECT_EQ(s.eal.extra_args, std::vector<std::string>{"--no-shconf"});
}

TEST_F(ResolveTest, InterfacesKeepTheirOrderAndEachGetsItsProfile) {
  const Settings s = Resolve(kOk + Iface(R"(name: "r0" driver: "ring" )" + Addr("10.0.0.1", 8)) +
                             Lan1(Addr("198.19.0.1", 24)));
  ASSERT_EQ(s.ports.size(), 3u);
  ASSERT_EQ(s.host.interfaces.size(), 3u);
  EXPECT_EQ(s.ports[0].profile.vdev_driver, "net_af_packet");
  EXPECT_EQ(s.ports[1].profile.vdev_driver, "net_ring");
  EXPECT_EQ(s.ports[2].profile.vdev_driver, "net_af_packet");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.ports[i].interface_name, s.host.interfaces[i].name) << i;
  }
}

TEST_F(ResolveTest, UnknownDriverNamesTheInterfaceField) {
  v1::Config c = Parse(kOk + Lan1(Addr("198.19.0.1", 24)));
  c.mutable_interfaces(1)->set_driver("nosuchnic");
  auto s = ResolveSettings(c, dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "interfaces[1].driver: ")) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "nosuchnic")) << s.status();
}

TEST_F(ResolveTest, BadProfileNamesTheInterfaceFieldAndTheProfileFile) {
  v1::Config c = Parse(kMinimal);
  c.mutable_interfaces(0)->set_driver("broken");
  auto s = ResolveSettings(c, dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "interfaces[0].driver: ")) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "broken.textproto")) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "vdev_driver")) << s.status();
}

TEST_F(ResolveTest, InvalidConfigIsRefusedBeforeProfilesAreRead) {
  v1::Config c = Parse(kMinimal);
  c.mutable_workers()->set_count(500);
  auto s = ResolveSettings(c, "/nonexistent");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "workers.count: ")) << s.status();
}

TEST_F(ResolveTest, EalArgumentsForATestRunWithoutHugepages) {
  const Settings s = Resolve(
      std::string(kMinimal) +
      R"(workers { count: 1 } eal { hugepages: false file_prefix: "t1"
                                   extra_args: "--log-level=8" extra_args: "--no-shconf" })");
  std::vector<std::string> names;
  const std::vector<std::string> args = EalArguments(s, &names);
  const std::string line = absl::StrJoin(args, " ");
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args[0], "ferryd");
  // "-l" then the main lcore and the workers' as one argument.
  const int l = IndexOf(args, "-l");
  ASSERT_GE(l, 0) << line;
  ASSERT_LT(l + 1, static_cast<int>(args.size()));
  EXPECT_EQ(args[l + 1], "0,1") << line;
  EXPECT_GE(IndexOf(args, "--main-lcore=0"), 0) << line;
  EXPECT_GE(IndexOf(args, "--file-prefix=t1"), 0) << line;
  // Without hugepages EAL needs a size: 512 MiB unless memory_mb says otherwise.
  const int no_huge = IndexOf(args, "--no-huge");
  ASSERT_GE(no_huge, 0) << line;
  EXPECT_EQ(IndexOf(args, "-m"), no_huge + 1) << line;
  EXPECT_EQ(args[no_huge + 2], "512") << line;
  // Profile devargs, the queue count (one per worker), then the interface's own devargs.
  EXPECT_GE(IndexOf(args, "--vdev=net_af_packet0,framecnt=512,qpairs=1,iface=veth0"), 0) << line;
  EXPECT_GE(IndexOf(args, "--no-pci"), 0) << line;
  // Extra args last, in order.
  ASSERT_GE(args.size(), 2u);
  EXPECT_EQ(args[args.size() - 2], "--log-level=8") << line;
  EXPECT_EQ(args[args.size() - 1], "--no-shconf") << line;
  EXPECT_EQ(names, std::vector<std::string>{"net_af_packet0"});
}

TEST_F(ResolveTest, EalArgumentsWithDefaultHugepages) {
  const Settings s = Resolve(kMinimal);
  const std::vector<std::string> args = EalArguments(s, nullptr);
  const std::string line = absl::StrJoin(args, " ");
  EXPECT_EQ(IndexOf(args, "--no-huge"), -1) << line;
  EXPECT_GE(IndexOf(args, "--huge-unlink"), 0) << line;  // no files left behind
  EXPECT_EQ(IndexOf(args, "-m"), -1) << line;  // DPDK decides
  EXPECT_GE(IndexOf(args, "--file-prefix=ferry"), 0) << line;
  EXPECT_EQ(args.back(), "--no-pci") << line;  // no extra args
}

TEST_F(ResolveTest, EalArgumentsMemoryWithHugepages) {
  const std::vector<std::string> args = EalArguments(Resolve(kOk + "eal { memory_mb: 256 }"),
                                                     nullptr);
  const std::string line = absl::StrJoin(args, " ");
  const int m = IndexOf(args, "-m");
  ASSERT_GE(m, 0) << line;
  EXPECT_EQ(args[m + 1], "256") << line;
  EXPECT_EQ(IndexOf(args, "--no-huge"), -1) << line;
}

TEST_F(ResolveTest, EalArgumentsQueuePairsFollowTheWorkerCount) {
  const Settings s = Resolve(std::string(kMinimal) + "workers { count: 4 main_lcore: 2 }");
  const std::vector<std::string> args = EalArguments(s, nullptr);
  const std::string line = absl::StrJoin(args, " ");
  const int l = IndexOf(args, "-l");
  ASSERT_GE(l, 0) << line;
  EXPECT_EQ(args[l + 1], "2,0,1,3,4") << line;
  EXPECT_GE(IndexOf(args, "--main-lcore=2"), 0) << line;
  EXPECT_GE(IndexOf(args, "--vdev=net_af_packet0,framecnt=512,qpairs=4,iface=veth0"), 0) << line;
}

TEST_F(ResolveTest, EalArgumentsNumberVdevsPerDriver) {
  const Settings s = Resolve(kOk + Iface(R"(name: "r0" driver: "ring" )" + Addr("10.0.0.1", 8)) +
                             Lan1(Addr("198.19.0.1", 24)));
  std::vector<std::string> names;
  const std::vector<std::string> args = EalArguments(s, &names);
  const std::string line = absl::StrJoin(args, " ");
  EXPECT_EQ(names,
            (std::vector<std::string>{"net_af_packet0", "net_ring0", "net_af_packet1"}));
  EXPECT_GE(IndexOf(args, "--vdev=net_af_packet0,framecnt=512,qpairs=1,iface=v0"), 0) << line;
  EXPECT_GE(IndexOf(args, "--vdev=net_ring0"), 0) << line;
  EXPECT_GE(IndexOf(args, "--vdev=net_af_packet1,framecnt=512,qpairs=1,iface=v1"), 0) << line;
}

TEST_F(ResolveTest, EalArgumentsForPciAllowListTheDeviceAndKeepPciOn) {
  const Settings s = Resolve(
      Iface(R"(name: "wan0" driver: "pcinic" device: "0000:3b:00.0,mprq_en=1" )" +
            Addr("198.18.0.1", 24)) +
      Iface(R"(name: "wan1" driver: "pcinic2" device: "0000:3b:00.1" )" + Addr("198.19.0.1", 24)) +
      R"(eal { extra_args: "--no-telemetry" })");
  std::vector<std::string> names;
  const std::vector<std::string> args = EalArguments(s, &names);
  const std::string line = absl::StrJoin(args, " ");
  EXPECT_EQ(names, (std::vector<std::string>{"0000:3b:00.0", "0000:3b:00.1"}));
  // The family's devargs come before the interface's own, so the interface's win.
  const int a0 = IndexOf(args, "0000:3b:00.0,rxq_cqe_comp_en=0,mprq_en=1");
  ASSERT_GE(a0, 1) << line;
  EXPECT_EQ(args[a0 - 1], "-a") << line;
  const int a1 = IndexOf(args, "0000:3b:00.1");
  ASSERT_GE(a1, 1) << line;
  EXPECT_EQ(args[a1 - 1], "-a") << line;
  EXPECT_EQ(IndexOf(args, "--no-pci"), -1) << line;
  // Profile EAL args once each, before the operator's extra args.
  EXPECT_EQ(std::count(args.begin(), args.end(), "--iova-mode=va"), 1) << line;
  EXPECT_LT(IndexOf(args, "--iova-mode=va"), IndexOf(args, "--in-memory")) << line;
  EXPECT_LT(IndexOf(args, "--in-memory"), IndexOf(args, "--no-telemetry")) << line;
  EXPECT_EQ(args.back(), "--no-telemetry") << line;
}

}  // namespace
}  // namespace ferry::control

namespace ferry::control {
namespace {

// A PCI profile needs a PCI address, and one device can back only one interface, whatever
// profile or devargs each names.
TEST_F(ResolveTest, PciInterfaceNeedsAnAddressAndADeviceOfItsOwn) {
  struct Case { std::string text; const char* want; };
  const std::string pci0 =
      R"(interfaces { name: "w0" driver: "pcinic" device: "0000:3b:00.0" ipv4 { address: "198.18.0.1" prefix_length: 24 } })";
  for (const Case& c : std::vector<Case>{
           {R"(interfaces { name: "w0" driver: "pcinic" ipv4 { address: "198.18.0.1" prefix_length: 24 } })",
            "interfaces[0].device: "},
           {R"(interfaces { name: "w0" driver: "pcinic" device: "iface=eth0" ipv4 { address: "198.18.0.1" prefix_length: 24 } })",
            "interfaces[0].device: "},
           {pci0 + R"(interfaces { name: "w1" driver: "pcinic2" device: "0000:3b:00.0" ipv4 { address: "198.19.0.1" prefix_length: 24 } })",
            "interfaces[1].device: PCI device 0000:3b:00.0 is already interfaces[0]"},
           {pci0 + R"(interfaces { name: "w1" driver: "pcinic" device: "0000:3B:00.0,x=1" ipv4 { address: "198.19.0.1" prefix_length: 24 } })",
            "interfaces[1].device: PCI device 0000:3B:00.0 is already interfaces[0]"},
       }) {
    auto s = ResolveSettings(Parse(c.text), dir_.string());
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_TRUE(absl::StartsWith(s.status().message(), c.want)) << s.status();
  }
}

}  // namespace
}  // namespace ferry::control
