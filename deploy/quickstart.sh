#!/usr/bin/env bash
# The README's two commands, as root on Debian 12:
#   deploy/quickstart.sh demo   set up, build, run the demo
#   deploy/quickstart.sh test   set up, build with warnings as errors, run every test suite
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

usage() { echo "usage: $0 demo|test" >&2; exit 2; }
[ $# -eq 1 ] || usage

# Configures (once) and builds a build directory; extra arguments go to meson setup.
build() {
  local dir=$1; shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
  ninja -C "$dir"
}

case "$1" in
  demo)
    bash deploy/setup.sh
    build build
    exec bash deploy/demo.sh "$root/build"
    ;;
  test)
    bash deploy/setup.sh
    build build-test -Dwerror=true
    # Every suite: unit, packet, integration, fault, fuzz, perf-quick (those that exist yet).
    exec meson test -C build-test --print-errorlogs --num-processes 2
    ;;
  *) usage ;;
esac
