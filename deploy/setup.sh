#!/usr/bin/env bash
# ferry host setup for Debian 12 (bookworm), run as root:
#   1. installs the Debian packages ferry needs to build and test that are not installed yet
#      (apt-get update runs only when something is missing), and keeps the services they bring
#      (nginx, iperf3) from running on the host;
#   2. reserves 2 MiB hugepages and mounts hugetlbfs at /dev/hugepages for ferryd.
# Safe to run again: a second run changes nothing and prints two lines.
set -euo pipefail

readonly BUILD_PACKAGES=(
  g++ meson ninja-build pkg-config
  libdpdk-dev dpdk libnuma-dev
  libabsl-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev  # tests/fuzz: clang++ with libFuzzer, ASan and UBSan runtimes
  libnetfilter-queue-dev    # tests/fault: the NFQUEUE impairer (meson needs it to configure)
)
# Kernel-side peers and tools for the interop, fault and adversary tests (TESTING.md).
readonly TEST_PACKAGES=(
  iproute2 iputils-ping arping tcpdump python3-scapy ethtool
  iptables nftables socat curl procps psmisc kmod
  nginx-light wrk iperf3  # tests/integration/proxy_*: backends and load behind ferry's proxy
  python3-prometheus-client  # tests/integration/control_*: parses ferryd's /metrics
  python3-grpcio python3-protobuf  # tests/integration/control_grpc.py: raw and bad requests
  haproxy valgrind python3-matplotlib  # perf/: the baseline proxy, instruction counts, the chart
)
# Services the test packages bring that must not run on the host: the tests start their own
# instances inside network namespaces (a system nginx would hold port 80 of the host).
readonly QUIET_SERVICES=(nginx iperf3 haproxy)
readonly HUGEPAGE_KB=2048
readonly HUGEPAGE_SYSFS=/sys/kernel/mm/hugepages/hugepages-${HUGEPAGE_KB}kB
readonly HUGEPAGE_MOUNT=/dev/hugepages

hugepages=512  # 512 x 2 MiB = 1 GiB
do_hugepages=1

say() { echo "ferry setup: $*"; }
warn() { echo "ferry setup: warning: $*" >&2; }
die() {
  echo "ferry setup: error: $*" >&2
  exit 1
}

usage() {
  cat <<EOF
Usage: $(basename "$0") [--hugepages N | --no-hugepages] [--help]

Prepares a Debian 12 host for building, testing and running ferry. Must run as root.

  1. Installs whichever of these Debian packages are missing (apt-get update runs only then):
       build: ${BUILD_PACKAGES[*]}
       tests: ${TEST_PACKAGES[*]}
     and stops and disables the system's ${QUIET_SERVICES[*]}: the tests start their own.
  2. Reserves 2 MiB hugepages for ferryd (only ever raises the count) and mounts hugetlbfs at
     ${HUGEPAGE_MOUNT} if it is not mounted. If the kernel cannot supply them this is a
     warning, not an error: the tests run DPDK with --no-huge. The reservation does not survive
     a reboot; run this script again (or set vm.nr_hugepages in /etc/sysctl.d) for that.

Options:
  --hugepages N    reserve at least N 2 MiB pages (default 512, i.e. 1 GiB)
  --no-hugepages   skip step 2
  -h, --help       show this help
EOF
}

parse_args() {
  while (($# > 0)); do
    case "$1" in
      --hugepages)
        (($# >= 2)) || die "--hugepages needs a page count (see --help)"
        hugepages=$2
        shift 2
        ;;
      --hugepages=*)
        hugepages=${1#--hugepages=}
        shift
        ;;
      --no-hugepages)
        do_hugepages=0
        shift
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      *)
        echo "ferry setup: error: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
  done
  [[ $hugepages =~ ^[0-9]+$ ]] || die "--hugepages wants a whole number of 2 MiB pages, not '$hugepages'"
  hugepages=$((10#$hugepages))
}

check_host() {
  ((EUID == 0)) || die "must run as root (try: sudo $0)"
  [[ -r /etc/debian_version ]] ||
    die "this is not Debian (no /etc/debian_version); the package list is for Debian 12"
  local version
  version=$(</etc/debian_version)
  [[ $version == 12* ]] ||
    warn "written for Debian 12, this is Debian '$version'; package names may differ"
}

installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  # "install ok installed", or "hold ok installed" for a package pinned by apt-mark hold.
  [[ $status == *" ok installed" ]]
}

install_packages() {
  local all=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
  local missing=() p
  for p in "${all[@]}"; do
    installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    say "all ${#all[@]} packages present"
    return
  fi
  say "installing ${#missing[@]} missing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Debian starts a package's service on install unless policy-rc.d says no (exit 101). Say
  # no for the length of the install, unless the host already has its own policy.
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# ferry setup: no service starts during its package install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get -q update
  apt-get -q install -y --no-install-recommends "${missing[@]}"
  if ((made_policy)); then
    rm -f "$policy"
    trap - EXIT
  fi
  local still=()
  for p in "${missing[@]}"; do
    installed "$p" || still+=("$p")
  done
  ((${#still[@]} == 0)) || die "still not installed after apt-get: ${still[*]}"
  say "all ${#all[@]} packages present (${#missing[@]} installed now)"
}

# Stops and disables QUIET_SERVICES wherever they run or would start at boot: systemd when it is
# the init system, the sysv scripts and rc links otherwise (containers and VMs without
# systemd). Prints a line only when it changed something.
quiet_services() {
  local svc done=()
  for svc in "${QUIET_SERVICES[@]}"; do
    installed "$svc" || continue
    if [[ -d /run/systemd/system ]]; then
      if systemctl is-enabled --quiet "$svc" 2>/dev/null || systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || warn "could not stop and disable $svc"
        done+=("$svc")
      fi
      continue
    fi
    if [[ -x /etc/init.d/$svc ]] && /etc/init.d/"$svc" status >/dev/null 2>&1; then
      /etc/init.d/"$svc" stop >/dev/null 2>&1 || warn "could not stop $svc"
      done+=("$svc")
    fi
    if compgen -G "/etc/rc[2-5].d/S*$svc" >/dev/null; then
      update-rc.d "$svc" disable >/dev/null 2>&1 || warn "could not disable $svc at boot"
      [[ " ${done[*]} " == *" $svc "* ]] || done+=("$svc")
    fi
  done
  ((${#done[@]} == 0)) || say "stopped and disabled the system's ${done[*]} (the tests run their own)"
}

# The file that holds the 2 MiB page count: /proc/sys/vm/nr_hugepages counts pages of the
# default size, which is 2 MiB unless the kernel was booted with default_hugepagesz=1G.
hugepage_count_file() {
  local default_kb
  default_kb=$(awk '$1 == "Hugepagesize:" { print $2 }' /proc/meminfo)
  if [[ $default_kb == "$HUGEPAGE_KB" ]]; then
    echo /proc/sys/vm/nr_hugepages
  else
    echo "$HUGEPAGE_SYSFS/nr_hugepages"
  fi
}

setup_hugepages() {
  local file have
  file=$(hugepage_count_file)
  if [[ ! -r $file ]]; then
    warn "this kernel offers no 2 MiB hugepages ($file is missing); ferryd will need --no-huge"
    return
  fi
  have=$(<"$file")
  # Only ever raise the count: pages in use by a running ferryd must not be taken away.
  if ((have < hugepages)); then
    if ! echo "$hugepages" 2>/dev/null >"$file"; then
      warn "could not write $file, hugepages stay at $have of the $hugepages wanted;" \
        "ferryd needs them, the tests run with --no-huge"
    else
      have=$(<"$file")
      if ((have < hugepages)); then
        warn "the kernel reserved only $have of $hugepages 2 MiB hugepages (not enough free" \
          "contiguous memory?); ferryd needs them, the tests run with --no-huge"
      fi
    fi
  fi

  if ! mountpoint -q "$HUGEPAGE_MOUNT" 2>/dev/null; then
    if ! { mkdir -p "$HUGEPAGE_MOUNT" &&
      mount -t hugetlbfs -o "pagesize=${HUGEPAGE_KB}k" nodev "$HUGEPAGE_MOUNT"; }; then
      warn "could not mount hugetlbfs at $HUGEPAGE_MOUNT; DPDK will need --no-huge"
    fi
  fi
  local where="not mounted"
  if mountpoint -q "$HUGEPAGE_MOUNT" 2>/dev/null; then
    where="hugetlbfs at $HUGEPAGE_MOUNT"
  fi
  local free="?"
  [[ -r $HUGEPAGE_SYSFS/free_hugepages ]] && free=$(<"$HUGEPAGE_SYSFS/free_hugepages")
  say "hugepages: $have x $((HUGEPAGE_KB / 1024)) MiB reserved ($free free), $where"
}

main() {
  parse_args "$@"
  check_host
  install_packages
  quiet_services
  if ((do_hugepages)); then
    setup_hugepages
  fi
}

main "$@"
