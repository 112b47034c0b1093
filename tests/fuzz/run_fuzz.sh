#!/usr/bin/env bash
# Builds one libFuzzer target with clang++ (ASan + UBSan) from the library sources it needs and
# runs it for a fixed time on a scratch copy of its seed corpus (TESTING.md, item 5).
#
# Usage: run_fuzz.sh TARGET SECONDS BUILD_DIR [libFuzzer flags or corpus directories...]
#   TARGET     net_views, host_input, tcp_options, tcp_stack or config_text
#              (tests/fuzz/TARGET_fuzz.cc)
#   SECONDS    -max_total_time for libFuzzer; 0 only builds (libFuzzer's own 0 means forever)
#   BUILD_DIR  where BUILD_DIR/fuzz/ caches objects and the binary, and keeps crash files
# Extra arguments go to libFuzzer before the scratch corpus; a directory among them becomes the
# corpus that new inputs are written to (README.md, "Longer runs by hand").
#
# The project compiler is g++, which has no libFuzzer, so meson cannot build these; a small
# ninja file per target does instead, so a rerun recompiles only what changed (headers
# included, through clang's depfiles) and a change of flags rebuilds everything.
#
# Exits 0 if the run ended cleanly, 1 on any crash, leak, UB report, timeout or OOM (printing
# the reproducer's path and how to replay it), 2 on bad usage or a failed build.
set -euo pipefail

usage() {
  echo "usage: $(basename "$0") TARGET SECONDS BUILD_DIR [libFuzzer flags or dirs...]" >&2
  exit 2
}
(($# >= 3)) || usage
readonly target=$1 seconds=$2
build_dir=$(mkdir -p "$3" && cd "$3" && pwd)
shift 3
[[ $seconds =~ ^[0-9]+$ ]] || usage

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$fuzz_dir/../.." && pwd)
readonly fuzz_dir root
readonly out=$build_dir/fuzz
readonly work=$out/$target  # ninja's build dir for this target: objects, generated code
readonly binary=$out/${target}_fuzz

# What each target is built from, besides tests/fuzz/TARGET_fuzz.cc: the lib/ sources it calls
# into, the .proto files it needs generated, the pkg-config modules it links, and libFuzzer's
# -max_len (room for a frame up to an mbuf's data room, a full options area, a config file).
lib_sources=()
protos=()
modules=()
max_len=4096
case $target in
  net_views)
    lib_sources=(net/checksum.cc net/address.cc)
    modules=(absl_status absl_statusor absl_strings absl_str_format)
    max_len=2048
    ;;
  host_input)
    lib_sources=(net/host.cc net/arp_cache.cc net/routes.cc net/checksum.cc net/address.cc)
    modules=(libdpdk absl_status absl_statusor absl_strings absl_str_format absl_flat_hash_map)
    max_len=2050  # two control bytes and a 2048-byte frame (an mbuf's default data room)
    ;;
  tcp_options)
    lib_sources=(tcp/options.cc)
    max_len=64
    ;;
  tcp_stack)
    lib_sources=(tcp/ack.cc tcp/congestion_window.cc tcp/cubic.cc tcp/input.cc tcp/isn.cc
                 tcp/newreno.cc tcp/options.cc tcp/output.cc tcp/reassembly.cc tcp/rtt.cc
                 tcp/sack_scoreboard.cc tcp/segment.cc tcp/send_queue.cc tcp/stack.cc
                 tcp/syn_cookie.cc tcp/tcb.cc tcp/timer_wheel.cc tcp/timers.cc
                 net/host.cc net/arp_cache.cc net/routes.cc net/checksum.cc net/address.cc
                 base/siphash.cc)
    modules=(libdpdk absl_status absl_statusor absl_strings absl_str_format absl_flat_hash_map)
    max_len=4096  # 3 configuration bytes and a few hundred operations
    ;;
  config_text)
    lib_sources=(control/config_load.cc control/config_validate.cc control/driver_profile.cc
                 control/network_config.cc control/proxy_config.cc control/tcp_config.cc
                 control/text_proto.cc net/address.cc net/port.cc net/routes.cc base/log.cc
                 base/siphash.cc proxy/balancer_factory.cc proxy/least_connections.cc
                 proxy/maglev.cc proxy/power_of_two.cc proxy/proxy_protocol.cc
                 proxy/round_robin.cc proxy/weighted_round_robin.cc)
    protos=(config driver_profile)
    modules=(libdpdk protobuf absl_status absl_statusor absl_strings absl_str_format
             absl_flat_hash_map absl_hash)
    ;;
  *)
    echo "run_fuzz.sh: unknown target '$target' (net_views, host_input, tcp_options," \
      "tcp_stack, config_text)" >&2
    exit 2
    ;;
esac

for tool in clang++ ninja pkg-config; do
  command -v "$tool" >/dev/null ||
    { echo "run_fuzz.sh: $tool not found (deploy/setup.sh installs it)" >&2; exit 2; }
done
((${#protos[@]} == 0)) || command -v protoc >/dev/null ||
  { echo "run_fuzz.sh: protoc not found (deploy/setup.sh installs it)" >&2; exit 2; }

# -march=corei7 as the project builds (DPDK's headers want SSE4.2). DPDK's headers are system
# headers, as in meson.build, so their own warnings stay out of the log.
cxxflags="-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
cxxflags+=" -march=corei7 -I$root/lib -I$work/gen"
cxxflags+=" -DFERRY_SOURCE_ROOT=\\\"$root\\\""
ldflags=""
for m in "${modules[@]}"; do
  if [[ $m == libdpdk ]]; then
    cxxflags+=" -isystem /usr/include/dpdk -isystem /usr/include/x86_64-linux-gnu/dpdk"
    cxxflags+=" -include rte_config.h"
    ldflags+=" $(pkg-config --libs libdpdk)"
  else
    cxxflags+=" $(pkg-config --cflags "$m")"
    ldflags+=" $(pkg-config --libs "$m")"
  fi
done

mkdir -p "$work"
{
  echo "# Generated by tests/fuzz/run_fuzz.sh for $target; rewritten on every run."
  echo "ninja_required_version = 1.10"
  echo "builddir = $work"
  echo "cxxflags = $cxxflags"
  echo "ldflags = $ldflags"
  echo "rule cxx"
  echo "  command = clang++ \$cxxflags -MD -MF \$out.d -c \$in -o \$out"
  echo "  depfile = \$out.d"
  echo "  deps = gcc"
  echo "  description = clang++ \$in"
  echo "rule link"
  echo "  command = clang++ \$cxxflags \$in -o \$out \$ldflags"
  echo "  description = link \$out"
  echo "rule protoc"
  echo "  command = protoc --proto_path=$root/lib/control/proto --cpp_out=$work/gen \$in"
  echo "  description = protoc \$in"
  generated_headers=""
  objects=""
  for p in "${protos[@]}"; do
    gen=$work/gen/ferry/v1/$p.pb
    echo "build $gen.cc $gen.h: protoc $root/lib/control/proto/ferry/v1/$p.proto"
    generated_headers+=" $gen.h"
    echo "build $work/obj/gen/$p.pb.o: cxx $gen.cc || $generated_headers"
    objects+=" $work/obj/gen/$p.pb.o"
  done
  for s in "${lib_sources[@]}" "fuzz:${target}_fuzz.cc"; do
    if [[ $s == fuzz:* ]]; then
      src=$fuzz_dir/${s#fuzz:}
    else
      src=$root/lib/$s
    fi
    obj=$work/obj/${s#fuzz:}.o
    # Order-only on the generated headers: sources may include them before they exist.
    echo "build $obj: cxx $src${generated_headers:+ ||$generated_headers}"
    objects+=" $obj"
  done
  echo "build $binary: link$objects"
  echo "default $binary"
} >"$work/build.ninja.new"
mv "$work/build.ninja.new" "$work/build.ninja"

if ! ninja -C "$work" -j "$(nproc)" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  echo "run_fuzz.sh: building $target failed" >&2
  exit 2
fi
grep -q '^\[' "$work/build.log" && echo "run_fuzz.sh: built $binary" ||
  echo "run_fuzz.sh: $binary is up to date"
((seconds > 0)) || exit 0

# libFuzzer adds what it finds to its first corpus directory: a scratch copy, never the seeds.
corpus=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fuzz-$target.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
if [[ -d $fuzz_dir/corpus/$target ]]; then
  cp -- "$fuzz_dir/corpus/$target"/* "$corpus"/ 2>/dev/null || true
fi
crashes=$out/crashes/$target
mkdir -p "$crashes"
flags=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len"
  -print_final_stats=1 -artifact_prefix="$crashes/")
[[ -f $fuzz_dir/$target.dict ]] && flags+=(-dict="$fuzz_dir/$target.dict")

# UBSan prints no stack unless asked; -fno-sanitize-recover already makes its reports fatal.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

marker=$work/run-started
touch "$marker"
echo "run_fuzz.sh: $binary ${flags[*]} $* $corpus"
set +e
"$binary" "${flags[@]}" "$@" "$corpus" 2>&1 | tee "$work/last-run.log"
rc=${PIPESTATUS[0]}
set -e
# A target that starts EAL (host_input) removes its runtime directory when it exits normally;
# one that crashed leaves it, with a telemetry socket, under /var/run/dpdk (or the user's
# runtime dir). Sweep those of fuzz processes that are gone.
for d in /var/run/dpdk/ferry-fuzz-* "${XDG_RUNTIME_DIR:-/tmp}"/dpdk/ferry-fuzz-*; do
  [[ -d $d ]] || continue
  kill -0 "${d##*-}" 2>/dev/null || rm -rf -- "$d"
done

# One line for the test log: inputs run, coverage (cov: edges, ft: features), corpus, speed.
summary=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/last-run.log" | tail -n 1 | tr -s ' \t' ' ' ||
  true)
echo "run_fuzz.sh: $target: ${summary:-stopped before the end}"

if ((rc != 0)); then
  echo "run_fuzz.sh: $target FAILED (libFuzzer exit $rc)" >&2
  found=0
  while IFS= read -r f; do
    found=1
    echo "run_fuzz.sh: reproducer: $f" >&2
    echo "run_fuzz.sh:   replay:  $binary $f" >&2
    echo "run_fuzz.sh:   bytes:   $(od -An -tx1 -v "$f" | tr -d ' \n' | head -c 4096)" >&2
  done < <(find "$crashes" -type f -newer "$marker" | sort)
  ((found)) || echo "run_fuzz.sh: no reproducer was written; see the log above" >&2
  exit 1
fi
