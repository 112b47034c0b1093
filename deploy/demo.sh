#!/usr/bin/env bash
# The demo: a client namespace on a veth, ferryd on the other end (net_af_packet), the client
# resolves and pings the appliance, talks TCP to ferry's own stack (echo, chargen; every byte
# checked), ferryd prints its counters, everything is torn down.
# Later milestones grow this into a proxied HTTP demo.
#
# usage: deploy/demo.sh [BUILD_DIR]     (as root; deploy/quickstart.sh demo builds first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
export FERRYD=$build/app/ferryd/ferryd
export FERRY_DRIVERS_DIR=$root/drivers-config
export FERRY_ID=demo
[ -x "$FERRYD" ] || { echo "demo: no ferryd at $FERRYD; run deploy/quickstart.sh demo" >&2; exit 2; }

# The appliance runs on hugepages when deploy/setup.sh could reserve them.
free_pages=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
if [ "${free_pages:-0}" -ge 256 ]; then
  export FERRY_EAL='hugepages: true file_prefix: "ferry-demo"'
else
  echo "demo: fewer than 256 free hugepages; running ferryd with --no-huge"
fi

source "$root/tests/integration/lib.sh"

echo "== topology: namespace $FERRY_NS (client 198.18.0.2) <-veth-> ferryd on $FERRY_IF (198.18.0.1)"
ferry_topology_one_arm
# ferry's own TCP stack answers on 198.18.0.1: echo (RFC 862), discard (863), chargen (864).
ferry_write_config "$FERRY_WORK/ferryd.conf" 'tcp { time_wait_ms: 1000 }
diagnostics { service: "echo" port: 7 }
diagnostics { service: "discard" port: 9 }
diagnostics { service: "chargen" port: 19 }'
echo "== ferryd config:"
sed 's/^/   /' "$FERRY_WORK/ferryd.conf"
ferry_start "$FERRY_WORK/ferryd.conf"
grep -E "interface|ready" "$FERRYD_LOG" | sed 's/^/   /'

echo "== client: arping 198.18.0.1"
in_ns arping -c 2 -w 3 -I "$FERRY_PEER_IF" 198.18.0.1
echo "== client: ping 198.18.0.1"
in_ns ping -c 5 -i 0.2 198.18.0.1
echo "== client's neighbour table"
in_ns ip neigh show dev "$FERRY_PEER_IF"

load="/usr/bin/python3 $root/tests/integration/tcp_load.py"
echo "== client: 50 MB through ferry's TCP echo service (sha256 of what comes back)"
in_ns timeout 120 $load echo 198.18.0.1 7 --bytes $((50 << 20)) --timeout 100 | sed 's/^/   /'
echo "== client: 8 parallel connections x 4 MB to echo"
in_ns timeout 120 $load echo 198.18.0.1 7 --bytes $((4 << 20)) --conns 8 --timeout 100 |
  grep RESULT | sed 's/^/   /'
echo "== client: 20 MB from chargen (RFC 864 pattern checked)"
in_ns timeout 120 $load chargen 198.18.0.1 19 --bytes $((20 << 20)) --timeout 100 |
  grep RESULT | sed 's/^/   /'

echo "== ferryd idle CPU over 2 s: $(ferry_cpu_percent 2)% of one core"
echo "== ferryd counters (SIGUSR1; non-zero ones)"
lines=$(wc -l <"$FERRYD_LOG")
kill -USR1 "$FERRYD_PID"
wait_for 5 grep -q "worker 0: busy" <(tail -n +"$((lines + 1))" "$FERRYD_LOG")
tail -n +"$((lines + 1))" "$FERRYD_LOG" | awk '$NF != "0"'

echo "== stopping ferryd (SIGTERM)"
ferry_stop
echo "== demo done; namespace and veth are removed on exit"
