// Config: text-format parsing with file:line:column errors, validation that names the field
// path of every mistake, resolution into Settings (defaults, driver profiles) and EAL args.
#include "control/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

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

TEST(ParseConfigText, MinimalConfigIsValid) {
  v1::Config c = Parse(kMinimal);
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  EXPECT_EQ(c.interfaces(0).ipv4(0).address(), "198.18.0.1");
}

TEST(ParseConfigText, SyntaxErrorNamesSourceLineAndColumn) {
  auto c = ParseConfigText("interfaces {\n  name: \"lan0\"\n  mtu: fast\n}\n", "a.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "a.conf:3:")) << c.status();
}

TEST(ParseConfigText, UnknownFieldIsAnErrorNotIgnored) {
  auto c = ParseConfigText("\ninterfacez {}\n", "b.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "b.conf:2:")) << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), "interfacez")) << c.status();
}

TEST(LoadConfigFile, MissingFileIsNotFoundNamingThePath) {
  auto c = LoadConfigFile("/nonexistent/ferryd.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "/nonexistent/ferryd.conf"));
}

// ---- Validation: each case is a config text and the exact field path its error starts with.

struct InvalidCase {
  const char* what;
  std::string text;
  const char* error_prefix;
};

std::string Iface(const std::string& body) { return "interfaces { " + body + " }\n"; }
const std::string kGood = R"(name: "lan0" driver: "af_packet" device: "iface=v0" )";
const std::string kAddr = R"(ipv4 { address: "198.18.0.1" prefix_length: 24 } )";
const std::string kOk = Iface(kGood + kAddr);

std::vector<InvalidCase> InvalidCases() {
  return {
      {"no interfaces", "", "interfaces: "},
      {"empty name", Iface(R"(driver: "af_packet" )" + kAddr), "interfaces[0].name: "},
      {"bad name", Iface(R"(name: "lan 0" driver: "af_packet" )" + kAddr), "interfaces[0].name: "},
      {"duplicate name", kOk + Iface(R"(name: "lan0" driver: "af_packet" device: "iface=v1" ipv4 { address: "198.19.0.1" prefix_length: 24 })"), "interfaces[1].name: "},
      {"missing driver", Iface(R"(name: "lan0" )" + kAddr), "interfaces[0].driver: "},
      {"duplicate device", kOk + Iface(R"(name: "lan1" driver: "af_packet" device: "iface=v0" ipv4 { address: "198.19.0.1" prefix_length: 24 })"), "interfaces[1].device: "},
      {"mtu too small", Iface(kGood + kAddr + "mtu: 67"), "interfaces[0].mtu: "},
      {"mtu too big", Iface(kGood + kAddr + "mtu: 9001"), "interfaces[0].mtu: "},
      {"vlan 4095", Iface(kGood + kAddr + "vlan: 4095"), "interfaces[0].vlan: "},
      {"no address", Iface(kGood), "interfaces[0].ipv4: "},
      {"address text", Iface(kGood + R"(ipv4 { address: "198.18.0" prefix_length: 24 })"), "interfaces[0].ipv4[0].address: "},
      {"multicast address", Iface(kGood + R"(ipv4 { address: "224.0.0.1" prefix_length: 24 })"), "interfaces[0].ipv4[0].address: "},
      {"loopback address", Iface(kGood + R"(ipv4 { address: "127.0.0.1" prefix_length: 8 })"), "interfaces[0].ipv4[0].address: "},
      {"unspecified address", Iface(kGood + R"(ipv4 { address: "0.0.0.0" prefix_length: 24 })"), "interfaces[0].ipv4[0].address: "},
      {"class E address", Iface(kGood + R"(ipv4 { address: "240.0.0.1" prefix_length: 24 })"), "interfaces[0].ipv4[0].address: "},
      {"prefix 0", Iface(kGood + R"(ipv4 { address: "198.18.0.1" prefix_length: 0 })"), "interfaces[0].ipv4[0].prefix_length: "},
      {"prefix 33", Iface(kGood + R"(ipv4 { address: "198.18.0.1" prefix_length: 33 })"), "interfaces[0].ipv4[0].prefix_length: "},
      {"network address", Iface(kGood + R"(ipv4 { address: "198.18.0.0" prefix_length: 24 })"), "interfaces[0].ipv4[0].address: "},
      {"broadcast address", Iface(kGood + R"(ipv4 { address: "198.18.0.255" prefix_length: 24 })"), "interfaces[0].ipv4[0].address: "},
      {"duplicate address", Iface(kGood + kAddr + kAddr), "interfaces[0].ipv4[1].address: "},
      {"overlapping subnets", kOk + Iface(R"(name: "lan1" driver: "af_packet" device: "iface=v1" ipv4 { address: "198.18.0.9" prefix_length: 16 })"), "interfaces[1].ipv4[0]: "},
      {"static arp address", Iface(kGood + kAddr + R"(static_arp { address: "x" mac: "02:00:00:00:00:01" })"), "interfaces[0].static_arp[0].address: "},
      {"static arp mac", Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:01" })"), "interfaces[0].static_arp[0].mac: "},
      {"static arp multicast mac", Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "01:00:5e:00:00:01" })"), "interfaces[0].static_arp[0].mac: "},
      {"static arp duplicate", Iface(kGood + kAddr + R"(static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:01" } static_arp { address: "198.18.0.2" mac: "02:00:00:00:00:02" })"), "interfaces[0].static_arp[1].address: "},
      {"route prefix", kOk + R"(routes { prefix: "198.19.0.0" via: "198.18.0.2" })", "routes[0].prefix: "},
      {"route host bits", kOk + R"(routes { prefix: "198.19.0.1/16" via: "198.18.0.2" })", "routes[0].prefix: "},
      {"route twice", kOk + R"(routes { prefix: "198.19.0.0/16" via: "198.18.0.2" } routes { prefix: "198.19.0.0/16" via: "198.18.0.3" })", "routes[1].prefix: "},
      {"route via text", kOk + R"(routes { prefix: "0.0.0.0/0" via: "gateway" })", "routes[0].via: "},
      {"route via off-link", kOk + R"(routes { prefix: "0.0.0.0/0" via: "10.0.0.1" })", "routes[0].via: "},
      {"route via ourselves", kOk + R"(routes { prefix: "0.0.0.0/0" via: "198.18.0.1" })", "routes[0].via: "},
      {"too many workers", kOk + "workers { count: 129 }", "workers.count: "},
      {"lcores count", kOk + "workers { count: 2 lcores: 1 }", "workers.lcores: "},
      {"lcore is main", kOk + "workers { lcores: 0 }", "workers.lcores[0]: "},
      {"lcore twice", kOk + "workers { count: 2 lcores: 1 lcores: 1 }", "workers.lcores[1]: "},
      {"few mbufs", kOk + "workers { mbufs_per_worker: 100 }", "workers.mbufs_per_worker: "},
      {"long idle sleep", kOk + "workers { idle_sleep_max_us: 200000 }", "workers.idle_sleep_max_us: "},
      {"tiny arp table", kOk + "arp { capacity: 8 }", "arp.capacity: "},
      {"fast arp retries", kOk + "arp { request_interval_ms: 5 }", "arp.request_interval_ms: "},
      {"little memory", kOk + "eal { memory_mb: 10 }", "eal.memory_mb: "},
      {"file prefix", kOk + R"(eal { file_prefix: "a/b" })", "eal.file_prefix: "},
      {"extra arg", kOk + R"(eal { extra_args: "no-huge" })", "eal.extra_args[0]: "},
  };
}

TEST(ValidateConfig, EveryMistakeNamesItsFieldPath) {
  const std::vector<InvalidCase> cases = InvalidCases();
  ASSERT_GE(cases.size(), 40u);
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.what);
    auto config = ParseConfigText(c.text, "case.conf");
    ASSERT_TRUE(config.ok()) << config.status();
    absl::Status s = ValidateConfig(*config);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), c.error_prefix))
        << "want prefix \"" << c.error_prefix << "\", got \"" << s.message() << "\"";
  }
}

TEST(ValidateConfig, SecondAddressOnTheSameSubnetAndInterfaceIsFine) {
  v1::Config c = Parse(Iface(kGood + kAddr + R"(ipv4 { address: "198.18.0.5" prefix_length: 24 })"));
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
}

TEST(ValidateConfig, ErrorsSayWhatIsWrongWithTheValue) {
  v1::Config c = Parse(Iface(kGood + R"(ipv4 { address: "198.18.0.1" prefix_length: 33 })"));
  EXPECT_EQ(ValidateConfig(c).message(),
            "interfaces[0].ipv4[0].prefix_length: 33 is out of range 1..32");
}

// ---- Resolution and EAL arguments ---------------------------------------------------------

class ResolveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ferry-profiles-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "af_packet.textproto")
        << "name: \"af_packet\" bus: VDEV vdev_driver: \"net_af_packet\" "
           "devargs: \"framecnt=512\" queue_count_devarg: \"qpairs\"\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ResolveTest, DefaultsAreApplied) {
  auto s = ResolveSettings(Parse(kMinimal), dir_.string());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->workers.count, 1u);
  EXPECT_EQ(s->workers.lcores, std::vector<uint32_t>{1});
  EXPECT_EQ(s->workers.mbufs_per_worker, 16383u);
  EXPECT_EQ(s->workers.idle_sleep_max, std::chrono::microseconds(500));
  EXPECT_EQ(s->host.arp.capacity, 4096u);
  EXPECT_EQ(s->host.arp.request_attempts, 3u);
  EXPECT_EQ(s->host.gratuitous_count, 3u);
  EXPECT_TRUE(s->eal.hugepages);
  EXPECT_EQ(s->eal.file_prefix, "ferry");
  ASSERT_EQ(s->ports.size(), 1u);
  EXPECT_EQ(s->ports[0].mtu, 1500);
  EXPECT_EQ(s->ports[0].profile.vdev_driver, "net_af_packet");
  ASSERT_EQ(s->host.interfaces.size(), 1u);
  EXPECT_EQ(s->host.interfaces[0].addresses[0].ToString(), "198.18.0.1/24");
}

TEST_F(ResolveTest, UnknownDriverNamesTheInterfaceField) {
  v1::Config c = Parse(kMinimal);
  c.mutable_interfaces(0)->set_driver("nosuchnic");
  auto s = ResolveSettings(c, dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "interfaces[0].driver: ")) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "nosuchnic"));
}

TEST_F(ResolveTest, InvalidConfigIsRefusedBeforeProfilesAreRead) {
  v1::Config c = Parse(kMinimal);
  c.mutable_workers()->set_count(500);
  auto s = ResolveSettings(c, "/nonexistent");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::StartsWith(s.status().message(), "workers.count: "));
}

TEST_F(ResolveTest, EalArgumentsForATestRun) {
  v1::Config c = Parse(std::string(kMinimal) +
                       R"(workers { count: 2 } eal { hugepages: false file_prefix: "t1" extra_args: "--no-shconf" })");
  auto s = ResolveSettings(c, dir_.string());
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<std::string> names;
  std::vector<std::string> args = EalArguments(*s, &names);
  const std::string line = absl::StrJoin(args, " ");
  EXPECT_EQ(args[0], "ferryd");
  EXPECT_TRUE(absl::StrContains(line, "-l 0,1,2")) << line;
  EXPECT_TRUE(absl::StrContains(line, "--file-prefix=t1")) << line;
  EXPECT_TRUE(absl::StrContains(line, "--no-huge -m 512")) << line;
  EXPECT_TRUE(absl::StrContains(line, "--vdev=net_af_packet0,framecnt=512,qpairs=2,iface=veth0"))
      << line;
  EXPECT_TRUE(absl::StrContains(line, "--no-pci")) << line;
  EXPECT_EQ(args.back(), "--no-shconf");
  EXPECT_EQ(names, std::vector<std::string>{"net_af_packet0"});
}

}  // namespace
}  // namespace ferry::control
