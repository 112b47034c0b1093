#!/usr/bin/env bash
# Live configuration changes under load (docs/control.md "Publishing a config"): while wrk
# drives HTTP through ferry's proxy, ferryctl adds, removes, re-weights, drains and re-adds
# backends and replaces the whole config; not one request may fail and not one session may be
# reset. Sessions keep their backend: a backend removed while keep-alive connections use it
# keeps serving them (state "removed" in the stats, bytes still growing) until they end.
#
#   a. two wrk runs at once (8 keep-alive connections; 8 with a connection per request), and
#      eight changes of the running config one after the other, each a new version; no
#      session reset while they happen
#   b. after the load: every counter of failure is 0, the removed backend's record is gone
#      once its sessions are, and the mbufs are back at baseline
source "$(dirname "$0")/proxy_lib.sh"
: "${FERRYCTL:?FERRYCTL must name the ferryctl binary}"

ctl() { "$FERRYCTL" --socket "$FERRY_SOCKET" "$@"; }

proxy_topology
proxy_nginx_start b1 198.18.1.10
proxy_nginx_start b2 198.18.1.11
proxy_nginx_start b3 198.18.1.12
CONFIG=$FERRY_WORK/ferryd.conf
proxy_write_config "$CONFIG" "$(proxy_listener web 80 web)
$(proxy_pool web weighted_round_robin '' "$(proxy_backend b1 198.18.1.10 80)" "$(proxy_backend b2 198.18.1.11 80)")"
proxy_start "$CONFIG"
PROXY_URL=http://$FERRY_ADDR:80
proxy_curl_ids 20
[ "$PROXY_IDS" = "b1=10 b2=10" ] || fail "before the changes: $PROXY_IDS"

# The JSON value of a backend's metric (or its state, with metric "state").
backend_metric() {  # POOL NAME METRIC
  ctl stats -o json | /usr/bin/python3 -c '
import json, sys
pool, name, metric = sys.argv[1:4]
for b in json.load(sys.stdin).get("backends", []):
    if b["pool"] == pool and b["name"] == name:
        if metric == "state":
            print(b["state"]); break
        for m in b["stats"]["metrics"]:
            if m["name"] == metric: print(m["value"])
        break
' "$@"
}

log "a. wrk for 20 s (keep-alive and a connection per request) while the config changes"
# Long enough that the changes (about 12 s) end while both still run. Each subshell numbers its
# wrk log apart (proxy_wrk names it after PROXY_CURL_RUNS).
WRK_SECONDS=20
( PROXY_CURL_RUNS=100; proxy_wrk "$WRK_SECONDS" 8 ) >"$FERRY_WORK/wrk_keepalive.out" 2>&1 &
wrk_keepalive=$!
( PROXY_CURL_RUNS=200; proxy_wrk "$WRK_SECONDS" 8 -H 'Connection: close' ) >"$FERRY_WORK/wrk_close.out" 2>&1 &
wrk_close=$!
# Changes start once wrk's keep-alive sessions are up on both backends.
keepalive_up() {
  local a b
  a=$(backend_metric web b1 sessions_active) b=$(backend_metric web b2 sessions_active)
  [ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt 0 ]
}
wait_for 10 keepalive_up || fail "wrk's sessions did not reach both backends"

version() { ctl config get -o json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
v0=$(version)
changes=(
  "backend add web 198.18.1.12:80 --name b3"
  "backend weight web b1 3"
  "backend drain web b2"
  "backend enable web b2"
  "backend remove web b1"
  "backend disable web b3"
  "backend enable web b3"
  "backend add web 198.18.1.10:80 --name b1"
)
for change in "${changes[@]}"; do
  # shellcheck disable=SC2086  # the words of the change are ferryctl's arguments
  out=$(ctl $change) || fail "ferryctl $change: $out"
  log "  ferryctl $change: $(tr '\n' ' ' <<<"$out")"
  if [ "$change" = "backend drain web b2" ]; then
    state=$(backend_metric web b2 state)
    [ "$state" = BACKEND_STATE_DRAINING ] || fail "b2 drained with keep-alive sessions on it: state $state"
  fi
  if [ "$change" = "backend remove web b1" ]; then
    # b1's keep-alive sessions carry on: its record reads removed, with sessions, and its
    # bytes still grow.
    state=$(backend_metric web b1 state)
    active=$(backend_metric web b1 sessions_active)
    bytes_then=$(backend_metric web b1 bytes_from_backend)
    [ "$state" = BACKEND_STATE_REMOVED ] && [ "${active:-0}" -gt 0 ] \
      || fail "b1 just removed: state $state, sessions_active $active (want removed, > 0)"
    sleep 1
    bytes_now=$(backend_metric web b1 bytes_from_backend)
    [ "${bytes_now:-0}" -gt "${bytes_then:-0}" ] \
      || fail "removed b1 served nothing more ($bytes_then -> $bytes_now bytes): sessions lost their backend?"
    log "  removed b1 still serves its $active keep-alive sessions ($bytes_then -> $bytes_now bytes)"
  fi
  sleep 1  # paces the eight changes over the run
done
v1=$(version)
[ "$v1" = $((v0 + ${#changes[@]})) ] || fail "config version $v0 -> $v1 after ${#changes[@]} changes"
# While wrk still runs: not one session was reset by anyone during the changes. (When wrk
# stops, it may close keep-alive connections with a response in flight: a client RST, counted,
# which says nothing of the changes.)
kill -0 "$wrk_keepalive" 2>/dev/null && kill -0 "$wrk_close" 2>/dev/null \
  || fail "wrk ended before the changes did: the check below would count its closing"
proxy_snapshot changes
for key in listener.client_resets listener.client_timeouts; do
  v=$(proxy_value changes "$key" web)
  [ "$v" = 0 ] || fail "$key is $v during the changes"
done

for pid in $wrk_keepalive $wrk_close; do
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" = 0 ] || { cat "$FERRY_WORK/wrk_keepalive.out" "$FERRY_WORK/wrk_close.out"; fail "wrk reported failures (exit $rc)"; }
done
sed 's/^/  keep-alive /' "$FERRY_WORK/wrk_keepalive.out" | grep -E 'requests in|Socket|Non-2xx' || true
sed 's/^/  per-request /' "$FERRY_WORK/wrk_close.out" | grep -E 'requests in|Socket|Non-2xx' || true

log "b. no failure anywhere, removed records released, mbufs back"
proxy_snapshot b
for key in listener.no_backend listener.connect_gave_up listener.rejected_over_limit; do
  v=$(proxy_value b "$key" web)
  [ "$v" = 0 ] || fail "$key is $v: a change disturbed the traffic"
done
v=$(proxy_value b listener.client_resets web)
[ "$v" -le 16 ] || fail "$v client resets: more than wrk's 16 connections closing at its end"
for b in b1 b2 b3; do
  for key in backend.backend_resets backend.connect_refused backend.connect_timeouts; do
    v=$(proxy_value b "$key" web "$b")
    [ "$v" = 0 ] || fail "$b: $key is $v"
  done
done
# The removed b1's record goes once its last session has (the re-added b1 is a new record).
no_removed() { ! ctl stats -o json | grep -q BACKEND_STATE_REMOVED; }
wait_for 10 no_removed || fail "the removed b1 is still in the stats after its sessions ended"
proxy_curl_ids 30
for b in b1 b2 b3; do
  [ "$(proxy_count "$b")" -gt 0 ] || fail "after the changes $b gets nothing: $PROXY_IDS"
done
log "  after the changes: $PROXY_IDS"
proxy_expect_baseline
ferry_stop
log "PASS"
