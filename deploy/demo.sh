#!/usr/bin/env bash
# The demo: ferry proxying real traffic on a built-in virtual topology.
#
#   [client namespace 198.18.0.2] ==veth== lan0 198.18.0.1 [ferryd] lan1 198.18.1.1 ==veth==
#   [backend namespace: nginx b1 198.18.1.10, b2 .11, b3 .12]
#
# ferryd (net_af_packet on both veths) listens on 198.18.0.1:80 and balances over the three
# nginx backends (round robin); the client sends HTTP requests with curl and wrk, downloads a
# file through the proxy (sha256 checked), and talks to ferry's own TCP echo service; ferryctl
# shows the appliance's status, drains a backend live and re-enables it, and prints the
# statistics; everything is torn down on exit.
#
# usage: deploy/demo.sh [BUILD_DIR]     (as root; deploy/quickstart.sh demo builds first)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
export FERRYD=$build/app/ferryd/ferryd
export FERRYCTL=$build/app/ferryctl/ferryctl
export FERRY_DRIVERS_DIR=$root/drivers-config
export FERRY_ID=demo
# The default control socket, so that a plain `ferryctl status` in another shell finds it.
export FERRY_SOCKET=/run/ferry/ferry.sock
[ -x "$FERRYD" ] && [ -x "$FERRYCTL" ] \
  || { echo "demo: no ferryd or ferryctl in $build; run deploy/quickstart.sh demo" >&2; exit 2; }
ctl() { "$FERRYCTL" --socket "$FERRY_SOCKET" "$@"; }

# The appliance runs on hugepages when deploy/setup.sh could reserve them.
free_pages=$(awk '/HugePages_Free/ { print $2 }' /proc/meminfo)
if [ "${free_pages:-0}" -ge 256 ]; then
  export FERRY_EAL='hugepages: true file_prefix: "ferry-demo"'
else
  echo "demo: fewer than 256 free hugepages; running ferryd with --no-huge"
fi

source "$root/tests/integration/proxy_lib.sh"

echo "== topology: client namespace $PROXY_CLIENT_NS (198.18.0.2) -- ferryd -- backend namespace $PROXY_BACKEND_NS"
proxy_topology >/dev/null
for i in 0 1 2; do
  proxy_nginx_start "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}"
  echo "   nginx ${PROXY_BACKEND_NAMES[$i]} on ${PROXY_BACKEND_ADDRS[$i]}:80"
done

backends=()
for i in 0 1 2; do
  backends+=("$(proxy_backend "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}" 80)")
done
conf=$FERRY_WORK/ferryd.conf
proxy_write_config "$conf" "$(proxy_listener web 80 web)
$(proxy_pool web round_robin "connect_timeout_ms: 1000 connect_attempts: 3" "${backends[@]}")"
# ferry's own TCP stack also answers on 198.18.0.1:7 (echo, RFC 862).
echo 'diagnostics { service: "echo" port: 7 }' >>"$conf"
echo "== ferryd config:"
sed 's/^/   /' "$conf"
proxy_start "$conf" >/dev/null
grep -E "interface|proxy:|ready" "$FERRYD_LOG" | sed 's/^/   /'

echo "== ferryctl status"
ctl status | sed 's/^/   /'

echo "== client: ping 198.18.0.1"
in_ns ping -c 3 -i 0.2 198.18.0.1 | tail -n 2 | sed 's/^/   /'

echo "== client: curl http://198.18.0.1/id, one request"
in_ns curl -sS -v http://198.18.0.1/id 2>&1 | grep -E "^(> GET|< HTTP|\*   Trying|\* Connected)" | sed 's/^/   /'
echo "   body: $(in_ns curl -sS http://198.18.0.1/id)"

echo "== client: 30 requests, a connection each (round robin over b1, b2, b3)"
proxy_curl_ids 30
echo "   answered by: $PROXY_IDS"

echo "== client: 16 MB download through the proxy, sha256 checked"
want=${PROXY_WWW_SHA[16777216]}
got=$(in_ns curl -sS --max-time 60 "http://198.18.0.1/bytes/16777216" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "sha256 of the download: $got, want $want"
echo "   sha256 $got: as served"

echo "== client: wrk, 8 connections with keep-alive, 3 s"
in_ns wrk -t 1 -c 8 -d 3s http://198.18.0.1/id | grep -E "Requests/sec|requests in|Latency" | sed 's/^/   /'

echo "== client: 20 MB through ferry's own TCP echo service (sha256 of what comes back)"
in_ns timeout 60 "$PY" "$TCP_LOAD" echo 198.18.0.1 7 --bytes $((20 << 20)) --timeout 50 \
  | grep RESULT | sed 's/^/   /'

echo "== ferryctl backend drain web b3: a live change, no restart"
ctl backend drain web b3 | sed 's/^/   /'
proxy_curl_ids 30
echo "   30 requests answered by: $PROXY_IDS"
ctl backend enable web b3 | sed 's/^/   /'
proxy_curl_ids 30
echo "   after enable, 30 requests answered by: $PROXY_IDS"

echo "== nginx access logs: requests per backend"
for b in "${PROXY_BACKEND_NAMES[@]}"; do echo "   $b: $(proxy_nginx_requests "$b")"; done

echo "== ferryd idle CPU over 2 s: $(ferry_cpu_percent 2)% of one core"
echo "== ferryctl stats (non-zero counters; listeners; backends)"
ctl stats | sed 's/^/   /'

echo "== stopping ferryd (SIGTERM)"
ferry_stop
echo "== demo done; namespaces, veths and nginx are removed on exit"
