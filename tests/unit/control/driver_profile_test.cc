// Driver profiles: conversion of ferry.v1.DriverProfile to net::PortProfile (offload and RSS
// names to RTE_ETH_* bits, the key decoded), the errors a bad profile gets, and every profile
// shipped in drivers-config/ loading cleanly.
#include "control/driver_profile.h"

#include <rte_ethdev.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/text_proto.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

// A profile from text, converted as if read from "p.textproto".
absl::StatusOr<net::PortProfile> Convert(const std::string& text) {
  v1::DriverProfile p;
  absl::Status s = ParseTextProto(text, "p.textproto", &p);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return s;
  return ToPortProfile(p, "p.textproto");
}

// A key of `bytes` bytes as hex: 6d5a repeated.
std::string Key(int bytes) {
  std::string hex;
  for (int i = 0; i < bytes; ++i) hex += (i % 2 == 0) ? "6d" : "5a";
  return hex;
}

// ---- ToPortProfile: valid profiles --------------------------------------------------------

TEST(ToPortProfile, VdevProfileCarriesEveryField) {
  auto p = Convert(R"pb(name: "af_packet" bus: VDEV vdev_driver: "net_af_packet"
                        devargs: "framecnt=512,blocksz=4096" queue_count_devarg: "qpairs"
                        eal_args: "--iova-mode=va" eal_args: "--in-memory"
                        rx_ring_size: 1024 tx_ring_size: 2048
                        tx_offloads: MULTI_SEGS burst: 16 promiscuous: true link_wait_s: 5)pb");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "af_packet");
  EXPECT_EQ(p->bus, net::PortProfile::Bus::kVdev);
  EXPECT_EQ(p->vdev_driver, "net_af_packet");
  EXPECT_EQ(p->devargs, "framecnt=512,blocksz=4096");
  EXPECT_EQ(p->queue_count_devarg, "qpairs");
  EXPECT_EQ(p->eal_args, (std::vector<std::string>{"--iova-mode=va", "--in-memory"}));
  EXPECT_EQ(p->rx_ring_size, 1024);
  EXPECT_EQ(p->tx_ring_size, 2048);
  EXPECT_EQ(p->rx_offloads, 0u);
  EXPECT_EQ(p->tx_offloads, RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
  EXPECT_FALSE(p->rss);
  EXPECT_EQ(p->rss_hash_functions, 0u);
  EXPECT_TRUE(p->rss_key.empty());  // ferry's symmetric key
  EXPECT_EQ(p->burst, 16);
  EXPECT_TRUE(p->promiscuous);
  EXPECT_EQ(p->link_wait_s, 5u);
}

TEST(ToPortProfile, MinimalVdevProfileGetsTheDefaults) {
  auto p = Convert(R"pb(name: "ring" bus: VDEV vdev_driver: "net_ring")pb");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rx_ring_size, 0);  // the driver's preference
  EXPECT_EQ(p->tx_ring_size, 0);
  EXPECT_EQ(p->burst, 32);  // driver_profile.proto: 0 means 32
  EXPECT_FALSE(p->promiscuous);
  EXPECT_EQ(p->link_wait_s, 0u);
  EXPECT_TRUE(p->eal_args.empty());
}

TEST(ToPortProfile, PciProfileWithOffloadsRssAndKey) {
  auto p = Convert(absl::StrCat(R"pb(name: "ixgbe" bus: PCI
                        rx_offloads: [IPV4_CKSUM, TCP_CKSUM]
                        tx_offloads: [IPV4_CKSUM, TCP_CKSUM, UDP_CKSUM]
                        rss { enabled: true hash_types: ["ipv4", "tcp"] key_hex: ")pb",
                                Key(40), R"pb(" })pb"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->bus, net::PortProfile::Bus::kPci);
  EXPECT_EQ(p->vdev_driver, "");
  EXPECT_EQ(p->rx_offloads, RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
  EXPECT_EQ(p->tx_offloads, RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
  EXPECT_TRUE(p->rss);
  EXPECT_EQ(p->rss_hash_functions, RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);
  ASSERT_EQ(p->rss_key.size(), 40u);
  for (size_t i = 0; i < p->rss_key.size(); ++i) {
    EXPECT_EQ(p->rss_key[i], i % 2 == 0 ? 0x6d : 0x5a) << i;
  }
  EXPECT_EQ(p->burst, 32);
}

TEST(ToPortProfile, EachRxOffloadMapsToItsRteEthBit) {
  struct Case {
    const char* name;
    uint64_t bit;
  };
  for (const Case& c : std::vector<Case>{{"IPV4_CKSUM", RTE_ETH_RX_OFFLOAD_IPV4_CKSUM},
                                         {"TCP_CKSUM", RTE_ETH_RX_OFFLOAD_TCP_CKSUM},
                                         {"UDP_CKSUM", RTE_ETH_RX_OFFLOAD_UDP_CKSUM},
                                         {"VLAN_STRIP", RTE_ETH_RX_OFFLOAD_VLAN_STRIP}}) {
    auto p = Convert(absl::StrCat(R"(name: "x" bus: PCI rx_offloads: )", c.name));
    ASSERT_TRUE(p.ok()) << c.name << ": " << p.status();
    EXPECT_EQ(p->rx_offloads, c.bit) << c.name;
    EXPECT_EQ(p->tx_offloads, 0u) << c.name;
  }
}

TEST(ToPortProfile, EachTxOffloadMapsToItsRteEthBit) {
  struct Case {
    const char* name;
    uint64_t bit;
  };
  for (const Case& c : std::vector<Case>{{"IPV4_CKSUM", RTE_ETH_TX_OFFLOAD_IPV4_CKSUM},
                                         {"TCP_CKSUM", RTE_ETH_TX_OFFLOAD_TCP_CKSUM},
                                         {"UDP_CKSUM", RTE_ETH_TX_OFFLOAD_UDP_CKSUM},
                                         {"VLAN_INSERT", RTE_ETH_TX_OFFLOAD_VLAN_INSERT},
                                         {"MULTI_SEGS", RTE_ETH_TX_OFFLOAD_MULTI_SEGS},
                                         {"MBUF_FAST_FREE", RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE}}) {
    auto p = Convert(absl::StrCat(R"(name: "x" bus: PCI tx_offloads: )", c.name));
    ASSERT_TRUE(p.ok()) << c.name << ": " << p.status();
    EXPECT_EQ(p->tx_offloads, c.bit) << c.name;
    EXPECT_EQ(p->rx_offloads, 0u) << c.name;
  }
}

TEST(ToPortProfile, EachRssHashTypeMapsToItsRteEthRssBit) {
  auto p = Convert(R"(name: "x" bus: PCI rss { enabled: true hash_types: ["udp"] })");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rss_hash_functions, RTE_ETH_RSS_NONFRAG_IPV4_UDP);
  p = Convert(R"(name: "x" bus: PCI rss { enabled: true hash_types: ["ipv4", "tcp", "udp"] })");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rss_hash_functions,
            RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP);
}

TEST(ToPortProfile, RssKeyOf52BytesAndUpperCaseHexDecode) {
  auto p = Convert(absl::StrCat(R"(name: "x" bus: PCI rss { key_hex: ")", Key(52), R"(" })"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rss_key.size(), 52u);
  p = Convert(absl::StrCat(R"(name: "x" bus: PCI rss { key_hex: "ABCDEF)", Key(37), R"(" })"));
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->rss_key.size(), 40u);
  EXPECT_EQ(p->rss_key[0], 0xab);
  EXPECT_EQ(p->rss_key[1], 0xcd);
  EXPECT_EQ(p->rss_key[2], 0xef);
}

TEST(ToPortProfile, RangeEdgesAreAccepted) {
  auto p = Convert(R"(name: "x" bus: PCI burst: 64 rx_ring_size: 32768 tx_ring_size: 32768
                      link_wait_s: 60)");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->burst, 64);
  EXPECT_EQ(p->rx_ring_size, 32768);
  EXPECT_EQ(p->tx_ring_size, 32768);
  EXPECT_EQ(p->link_wait_s, 60u);
}

// ---- ToPortProfile: refusals --------------------------------------------------------------

struct BadProfile {
  const char* rule;
  std::string text;
  const char* error_prefix;  // driver_profile.h: "<source>: <field>: <reason>"
};

std::ostream& operator<<(std::ostream& os, const BadProfile& c) { return os << c.rule; }

std::vector<BadProfile> BadProfiles() {
  return {
      {"MissingBus", R"(name: "x" vdev_driver: "net_ring")", "p.textproto: bus: "},
      {"VdevWithoutVdevDriver", R"(name: "x" bus: VDEV)", "p.textproto: vdev_driver: "},
      {"RxOnlyOffloadInTx", R"(name: "x" bus: PCI tx_offloads: VLAN_STRIP)",
       "p.textproto: tx_offloads[0]: "},
      {"RxOnlyOffloadInTxAfterAGoodOne",
       R"(name: "x" bus: PCI tx_offloads: [IPV4_CKSUM, VLAN_STRIP])",
       "p.textproto: tx_offloads[1]: "},
      {"TxOnlyOffloadInRx", R"(name: "x" bus: PCI rx_offloads: MULTI_SEGS)",
       "p.textproto: rx_offloads[0]: "},
      {"VlanInsertInRx", R"(name: "x" bus: PCI rx_offloads: VLAN_INSERT)",
       "p.textproto: rx_offloads[0]: "},
      {"MbufFastFreeInRx", R"(name: "x" bus: PCI rx_offloads: [TCP_CKSUM, MBUF_FAST_FREE])",
       "p.textproto: rx_offloads[1]: "},
      {"UnspecifiedOffload", R"(name: "x" bus: PCI tx_offloads: OFFLOAD_UNSPECIFIED)",
       "p.textproto: tx_offloads[0]: "},
      {"UnknownRssHashType", R"(name: "x" bus: PCI rss { hash_types: ["ipv4", "sctp"] })",
       "p.textproto: rss.hash_types[1]: "},
      {"RssHashTypeInUpperCase", R"(name: "x" bus: PCI rss { hash_types: "TCP" })",
       "p.textproto: rss.hash_types[0]: "},
      {"OddLengthKey", absl::StrCat(R"(name: "x" bus: PCI rss { key_hex: ")", Key(40), R"(6" })"),
       "p.textproto: rss.key_hex: "},
      {"NonHexKey", absl::StrCat(R"(name: "x" bus: PCI rss { key_hex: "zz)", Key(39), R"(" })"),
       "p.textproto: rss.key_hex: "},
      {"KeyWith0xPrefix", absl::StrCat(R"(name: "x" bus: PCI rss { key_hex: "0x)", Key(39), R"(" })"),
       "p.textproto: rss.key_hex: "},
      {"KeyOf2Bytes", R"(name: "x" bus: PCI rss { key_hex: "6d5a" })", "p.textproto: rss.key_hex: "},
      {"KeyOf41Bytes", absl::StrCat(R"(name: "x" bus: PCI rss { key_hex: ")", Key(41), R"(" })"),
       "p.textproto: rss.key_hex: "},
      {"Burst65", R"(name: "x" bus: PCI burst: 65)", "p.textproto: burst: "},
      {"RxRing32769", R"(name: "x" bus: PCI rx_ring_size: 32769)", "p.textproto: rx_ring_size: "},
      {"TxRing65536", R"(name: "x" bus: PCI tx_ring_size: 65536)", "p.textproto: tx_ring_size: "},
      {"LinkWait61s", R"(name: "x" bus: PCI link_wait_s: 61)", "p.textproto: link_wait_s: "},
  };
}

class BadDriverProfile : public ::testing::TestWithParam<BadProfile> {};

TEST_P(BadDriverProfile, IsRefusedNamingTheSourceAndField) {
  auto p = Convert(GetParam().text);
  ASSERT_FALSE(p.ok()) << "accepted: " << GetParam().text;
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << p.status();
  EXPECT_TRUE(absl::StartsWith(p.status().message(), GetParam().error_prefix))
      << "want prefix \"" << GetParam().error_prefix << "\", got \"" << p.status().message()
      << "\"";
}

INSTANTIATE_TEST_SUITE_P(ToPortProfile, BadDriverProfile, ::testing::ValuesIn(BadProfiles()),
                         [](const ::testing::TestParamInfo<BadProfile>& info) {
                           return std::string(info.param.rule);
                         });

TEST(ToPortProfile, OffloadErrorNamesTheOffloadAndDirection) {
  auto p = Convert(R"(name: "x" bus: PCI tx_offloads: VLAN_STRIP)");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "p.textproto: tx_offloads[0]: VLAN_STRIP is not a transmit offload");
  p = Convert(R"(name: "x" bus: PCI rx_offloads: MULTI_SEGS)");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "p.textproto: rx_offloads[0]: MULTI_SEGS is not a receive offload");
}

// ---- LoadDriverProfile --------------------------------------------------------------------

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "ferry-driver-profile-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / (name + ".textproto")) << text;
  }
  std::string Path(const std::string& name) const {
    return (dir_ / (name + ".textproto")).string();
  }
  std::filesystem::path dir_;
};

TEST_F(LoadTest, GoodProfileLoads) {
  Write("tap", R"(name: "tap" bus: VDEV vdev_driver: "net_tap" queue_count_devarg: "")");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "tap");
  EXPECT_EQ(p->vdev_driver, "net_tap");
}

TEST_F(LoadTest, MissingProfileIsNotFoundNamingTheProfileAndFile) {
  auto p = LoadDriverProfile(dir_.string(), "nosuch");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "\"nosuch\"")) << p.status();
  EXPECT_TRUE(absl::StrContains(p.status().message(), Path("nosuch"))) << p.status();
}

TEST_F(LoadTest, MissingDirectoryIsNotFound) {
  auto p = LoadDriverProfile((dir_ / "absent").string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LoadTest, NameMustMatchTheFile) {
  Write("tap", R"(name: "tapp" bus: VDEV vdev_driver: "net_tap")");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.status().message(),
            absl::StrCat(Path("tap"), ": name: \"tapp\" differs from the file name"));
}

TEST_F(LoadTest, MissingNameDiffersFromTheFile) {
  Write("tap", R"(bus: VDEV vdev_driver: "net_tap")");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StartsWith(p.status().message(), Path("tap") + ": name: ")) << p.status();
}

TEST_F(LoadTest, SyntaxErrorHasFileLineAndColumn) {
  Write("tap", "name: \"tap\"\nbus VDEV\n");  // line 2: no ':' before an enum value
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  // 1-based: "VDEV" starts in column 5.
  EXPECT_TRUE(absl::StartsWith(p.status().message(), Path("tap") + ":2:5: ")) << p.status();
}

TEST_F(LoadTest, UnknownFieldIsASyntaxError) {
  Write("tap", "name: \"tap\"\nbus: VDEV\nvdev_drivr: \"net_tap\"\n");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(p.status().message(), Path("tap") + ":3:")) << p.status();
  EXPECT_TRUE(absl::StrContains(p.status().message(), "vdev_drivr")) << p.status();
}

TEST_F(LoadTest, UnknownEnumValueIsASyntaxError) {
  Write("tap", "name: \"tap\"\nbus: USB\n");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  // libprotobuf places this error at the token after the value (here the end of the file, on
  // line 3), so only the file, the value and the field are checked.
  EXPECT_TRUE(absl::StartsWith(p.status().message(), Path("tap") + ":")) << p.status();
  EXPECT_TRUE(absl::StrContains(p.status().message(), "\"USB\"")) << p.status();
  EXPECT_TRUE(absl::StrContains(p.status().message(), "\"bus\"")) << p.status();
}

TEST_F(LoadTest, ConversionErrorNamesTheFile) {
  Write("tap", R"(name: "tap" bus: VDEV vdev_driver: "net_tap" burst: 100)");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(p.status().message(), Path("tap") + ": burst: ")) << p.status();
}

// ---- Shipped profiles ---------------------------------------------------------------------

// Every profile we ship must load: a typo in one would only show on the machine that uses it.
TEST(ShippedProfiles, EveryTextprotoInDriversConfigLoads) {
  const std::filesystem::path dir = std::filesystem::path(FERRY_SOURCE_ROOT) / "drivers-config";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<std::string> loaded;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".textproto") continue;
    const std::string name = entry.path().stem().string();
    auto p = LoadDriverProfile(dir.string(), name);
    EXPECT_TRUE(p.ok()) << name << ": " << p.status();
    loaded.push_back(name);
  }
  std::sort(loaded.begin(), loaded.end());
  EXPECT_GE(loaded.size(), 11u) << absl::StrJoin(loaded, " ");
  for (const char* want : {"af_packet", "tap", "memif", "ring", "mlx5", "ice", "i40e", "ixgbe",
                           "virtio", "vmxnet3", "ena"}) {
    EXPECT_TRUE(std::binary_search(loaded.begin(), loaded.end(), want))
        << "drivers-config/" << want << ".textproto is missing";
  }
}

}  // namespace
}  // namespace ferry::control
