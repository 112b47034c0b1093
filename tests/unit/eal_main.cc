// main() for unit tests that need mbufs: EAL without hugepages, PCI devices or a shared runtime
// directory, with a per-process file prefix so that tests run in parallel (TESTING.md).
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  std::string prefix = "--file-prefix=ferry-unit-" + std::to_string(getpid());
  const char* eal_argv[] = {"unit", "--no-huge", "--no-pci", "--no-shconf", "-m", "128",
                            "--log-level=error", "-l", "0", prefix.c_str()};
  if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
    std::fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  // EAL leaves its (empty) runtime directory, /var/run/dpdk/<prefix>, behind: remove it so
  // test runs do not pile them up.
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all(runtime_dir, ignored);
  return rc;
}
