// Driver profiles: conversion to net::PortProfile, the errors a bad profile gets, and every
// profile shipped in drivers-config/ loading cleanly.
#include "control/driver_profile.h"

#include <rte_ethdev.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "control/text_proto.h"
#include "gtest/gtest.h"

namespace ferry::control {
namespace {

absl::StatusOr<net::PortProfile> Convert(const std::string& text) {
  v1::DriverProfile p;
  absl::Status s = ParseTextProto(text, "p.textproto", &p);
  if (!s.ok()) return s;
  return ToPortProfile(p, "p.textproto");
}

TEST(ToPortProfile, VdevProfile) {
  auto p = Convert(R"pb(name: "af_packet" bus: VDEV vdev_driver: "net_af_packet"
                        devargs: "framecnt=512" queue_count_devarg: "qpairs"
                        tx_offloads: MULTI_SEGS burst: 16)pb");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->bus, net::PortProfile::Bus::kVdev);
  EXPECT_EQ(p->vdev_driver, "net_af_packet");
  EXPECT_EQ(p->queue_count_devarg, "qpairs");
  EXPECT_EQ(p->tx_offloads, RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
  EXPECT_EQ(p->burst, 16);
}

TEST(ToPortProfile, PciProfileWithOffloadsAndRss) {
  auto p = Convert(R"pb(name: "ixgbe" bus: PCI
                        rx_offloads: [IPV4_CKSUM, TCP_CKSUM]
                        tx_offloads: [IPV4_CKSUM, TCP_CKSUM, UDP_CKSUM]
                        rss { enabled: true hash_types: ["ipv4", "tcp"]
                              key_hex: "6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a6d5a" })pb");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->bus, net::PortProfile::Bus::kPci);
  EXPECT_EQ(p->rx_offloads, RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
  EXPECT_EQ(p->tx_offloads, RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM |
                                RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
  EXPECT_TRUE(p->rss);
  EXPECT_EQ(p->rss_hash_functions, RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);
  ASSERT_EQ(p->rss_key.size(), 40u);
  EXPECT_EQ(p->rss_key[0], 0x6d);
  EXPECT_EQ(p->rss_key[1], 0x5a);
  EXPECT_EQ(p->burst, 32);  // default
}

TEST(ToPortProfile, ErrorsNameTheSourceAndField) {
  struct Case { const char* text; const char* want; };
  for (const Case& c : std::vector<Case>{
           {R"(name: "x")", "p.textproto: bus: "},
           {R"(name: "x" bus: VDEV)", "p.textproto: vdev_driver: "},
           {R"(name: "x" bus: PCI tx_offloads: VLAN_STRIP)", "p.textproto: tx_offloads[0]: "},
           {R"(name: "x" bus: PCI rx_offloads: MULTI_SEGS)", "p.textproto: rx_offloads[0]: "},
           {R"(name: "x" bus: PCI rss { hash_types: "sctp" })", "p.textproto: rss.hash_types[0]: "},
           {R"(name: "x" bus: PCI rss { key_hex: "6d5" })", "p.textproto: rss.key_hex: "},
           {R"(name: "x" bus: PCI rss { key_hex: "zz" })", "p.textproto: rss.key_hex: "},
           {R"(name: "x" bus: PCI rss { key_hex: "6d5a" })", "p.textproto: rss.key_hex: "},
           {R"(name: "x" bus: PCI burst: 65)", "p.textproto: burst: "},
           {R"(name: "x" bus: PCI rx_ring_size: 40000)", "p.textproto: rx_ring_size: "},
           {R"(name: "x" bus: PCI link_wait_s: 61)", "p.textproto: link_wait_s: "},
       }) {
    auto p = Convert(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_TRUE(absl::StartsWith(p.status().message(), c.want)) << p.status();
  }
}

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ferry-dp-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / (name + ".textproto")) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadTest, MissingProfileIsNotFoundNamingIt) {
  auto p = LoadDriverProfile(dir_.string(), "nosuch");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(p.status().message(), "\"nosuch\""));
}

TEST_F(LoadTest, NameMustMatchTheFile) {
  Write("tap", R"(name: "tapp" bus: VDEV vdev_driver: "net_tap")");
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StrContains(p.status().message(), "name: \"tapp\" differs from the file name"))
      << p.status();
}

TEST_F(LoadTest, SyntaxErrorHasFileLineAndColumn) {
  Write("tap", "name: \"tap\"\nbus VDEV\n");  // missing colon
  auto p = LoadDriverProfile(dir_.string(), "tap");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(absl::StrContains(p.status().message(), "tap.textproto:2:")) << p.status().message();
}

// Every profile we ship must load: a typo in one would only show on the machine that uses it.
TEST(ShippedProfiles, AllLoad) {
  const std::filesystem::path dir = std::filesystem::path(FERRY_SOURCE_ROOT) / "drivers-config";
  std::vector<std::string> loaded;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".textproto") continue;
    const std::string name = entry.path().stem().string();
    auto p = LoadDriverProfile(dir.string(), name);
    EXPECT_TRUE(p.ok()) << name << ": " << p.status();
    loaded.push_back(name);
  }
  for (const char* want : {"af_packet", "tap", "memif", "ring", "mlx5", "ice", "i40e", "ixgbe",
                           "virtio", "vmxnet3", "ena"}) {
    EXPECT_NE(std::find(loaded.begin(), loaded.end(), want), loaded.end()) << want;
  }
}

}  // namespace
}  // namespace ferry::control
