#!/usr/bin/env bash
# The control plane end to end (issue 5): every RPC of ferry.v1.Ferry and every ferryctl verb
# through ferryd's real socket, against a real ferryd proxying to nginx backends
# (proxy_lib.sh's topology), and the bad input ferryd must refuse while it keeps serving.
#   a. status (table, JSON), status over TCP (grpc_port), ferryctl's exit codes: no socket (3),
#      no permission (3), bad usage (2), every verb's --help (0);
#   b. config get/validate/diff round trip; validate of an invalid config (1, field path);
#   c. stats: counters equal the traffic sent; stats --watch --count 2;
#   d. backend disable/enable/drain/weight/add/remove, each seen by curl through the proxy;
#      refusals (ALREADY_EXISTS, NOT_FOUND);
#   e. config apply with a changed backend set (diff, changes, version 2 -> 3 ...); a stale
#      --expected-version is ABORTED and changes nothing;
#   f. sessions of held idle connections: all, by --backend, by --client, paged; a drained
#      backend with sessions is "draining", then "drained" once they end;
#   g. /metrics against stats -o json (control_metrics_check.py);
#   h. bad input: malformed request bytes, unknown fields (top level and nested), an oversized
#      config, 8 appliers racing on one version, clients that go away mid-stream, a second
#      ferryd on the same socket. ferryd answers `ferryctl status` after each.
# Needs python3-grpcio (control_grpc.py) and python3-prometheus-client.
source "$(dirname "$0")/control_lib.sh"
shopt -s extglob

CONF=$FERRY_WORK/ferryd.conf
B4_ADDR=198.18.1.13   # a fourth nginx, for backend add
HOLD_PORT=9000

proxy_topology
proxy_client_addresses 2   # 198.18.0.3 as a second client (sessions --client)
in_backend ip addr add "$B4_ADDR/24" dev "$PROXY_B_PEER_IF"
for i in 0 1 2; do proxy_nginx_start "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}"; done
proxy_nginx_start b4 "$B4_ADDR"
# Idle-connection servers for the sessions phase: h1 on b1's address, h2 on b2's.
proxy_spawn hold-h1 "$PROXY_BACKEND_NS" "$PY" "$PROXY_HOLD" serve "198.18.1.10:$HOLD_PORT" --timeout 300
proxy_spawn hold-h2 "$PROXY_BACKEND_NS" "$PY" "$PROXY_HOLD" serve "198.18.1.11:$HOLD_PORT" --timeout 300
proxy_wait_line hold-h1 '^LISTENING' 10
proxy_wait_line hold-h2 '^LISTENING' 10

PROXY_CONTROL="grpc_port: $CONTROL_GRPC_PORT metrics_port: $CONTROL_METRICS_PORT"
proxy_write_config "$CONF" "$(proxy_listener rr 80 rr)
$(proxy_pool rr round_robin "" "$(proxy_backend b1 198.18.1.10 80)" "$(proxy_backend b2 198.18.1.11 80)" "$(proxy_backend b3 198.18.1.12 80)")
$(proxy_listener wrr 81 wrr)
$(proxy_pool wrr weighted_round_robin "" "$(proxy_backend b1 198.18.1.10 80)" "$(proxy_backend b2 198.18.1.11 80)")
$(proxy_listener hold 82 hold)
$(proxy_pool hold round_robin "" "$(proxy_backend h1 198.18.1.10 $HOLD_PORT)" "$(proxy_backend h2 198.18.1.11 $HOLD_PORT)")"
proxy_start "$CONF"
grep -q "control: gRPC on unix:$FERRY_SOCKET (mode 0660)" "$FERRYD_LOG" \
  || fail "ferryd did not log its socket: $(grep control: "$FERRYD_LOG")"

# ---- a. status, reaching ferryd, exit codes ---------------------------------------------------
log "a. status"
ctl status
expect_in "$CTL_OUT" "pid $FERRYD_PID," "status"
expect_in "$CTL_OUT" "config version 1," "status"
expect_in "$CTL_OUT" "198.18.0.1/24" "status"
expect_in "$CTL_OUT" "198.18.1.1/24" "status"
ctl_json "$FERRY_WORK/status.json" status
[ -n "$(jv "$FERRY_WORK/status.json" 'd["version"]')" ] || fail "status: no version"
[ "$(jv "$FERRY_WORK/status.json" 'd["pid"]')" = "$FERRYD_PID" ] || fail "status: pid is not $FERRYD_PID"
[ "$(jv "$FERRY_WORK/status.json" 'd["config_version"]')" = 1 ] || fail "status: config_version is not \"1\""
[ "$(jv "$FERRY_WORK/status.json" 'len(d["workers"])')" = 1 ] || fail "status: not one worker"
[ "$(jv "$FERRY_WORK/status.json" '[(p["interface"], p["link_up"], p["addresses"]) for p in d["ports"]]')" \
  = "[('lan0', True, ['198.18.0.1/24']), ('lan1', True, ['198.18.1.1/24'])]" ] \
  || fail "status: ports: $(jv "$FERRY_WORK/status.json" 'd["ports"]')"
[ "$(jv "$FERRY_WORK/status.json" '(d["listeners"], d["backends"])')" = "(3, 7)" ] \
  || fail "status: listeners and backends: $(jv "$FERRY_WORK/status.json" '(d["listeners"], d["backends"])')"

log "a. gRPC over TCP on 127.0.0.1:$CONTROL_GRPC_PORT"
out=$(timeout -k 2 20 "$FERRYCTL" --address "127.0.0.1:$CONTROL_GRPC_PORT" status 2>&1) \
  || fail "ferryctl --address 127.0.0.1:$CONTROL_GRPC_PORT status: $out"
expect_in "$out" "pid $FERRYD_PID," "status over TCP"

log "a. exit codes"
rc=0; out=$(timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_WORK/no-such.sock" status 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "no socket: exit $rc, want 3: $out"
expect_in "$out" "no ferryd socket at $FERRY_WORK/no-such.sock" "no socket"
rc=0; out=$(FERRY_SOCKET=$FERRY_WORK/no-such.sock timeout -k 2 20 "$FERRYCTL" status 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "FERRY_SOCKET without a socket: exit $rc, want 3: $out"
[ "$(stat -c '%a %U' "$FERRY_SOCKET")" = "660 root" ] || fail "socket: $(stat -c '%a %U' "$FERRY_SOCKET"), want 660 root"
rc=0; out=$(timeout -k 2 20 setpriv --reuid=nobody --regid=nogroup --clear-groups \
  "$FERRYCTL" --socket "$FERRY_SOCKET" status 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "as nobody: exit $rc, want 3: $out"
expect_in "$out" "permission denied on $FERRY_SOCKET" "as nobody"
# Not a socket; a socket nobody serves (connection refused); a socket that accepts and never
# answers (ferryctl's --timeout): each "unreachable".
: >"$FERRY_WORK/plain-file"
rc=0; out=$(timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_WORK/plain-file" status 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "a regular file as socket: exit $rc, want 3: $out"
"$PY" -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$FERRY_WORK/dead.sock"
rc=0; out=$(timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_WORK/dead.sock" status 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "a socket nobody serves: exit $rc, want 3: $out"
proxy_spawn silent "$PROXY_CLIENT_NS" "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); print("LISTENING", flush=True)
conns = []
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    s.settimeout(1)
    try: conns.append(s.accept()[0])
    except socket.timeout: pass' "$FERRY_WORK/silent.sock"
proxy_wait_line silent '^LISTENING' 10
rc=0; out=$(timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_WORK/silent.sock" --timeout 500ms status 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "a socket that never answers: exit $rc, want 3: $out"
expect_in "$out" "within 500ms" "a socket that never answers"
proxy_stop silent
ctl_expect 2 frobnicate
ctl_expect 2 status --no-such-flag
ctl_expect 2 backend add rr
expect_in "$CTL_ERR" "missing ADDRESS:PORT" "backend add rr"
ctl_expect 2 stats --interval 5parsecs --watch
ctl_expect 2 config apply -f "$FERRY_WORK/no-such-file"
for verb in "" status config "config get" "config validate" "config apply" "config diff" \
    backend "backend add" "backend remove" "backend weight" "backend enable" \
    "backend disable" "backend drain" stats sessions; do
  # shellcheck disable=SC2086  # the verb's words
  ctl_expect 0 $verb --help
  [ -n "$CTL_OUT$CTL_ERR" ] || fail "ferryctl $verb --help printed nothing"
done

# ---- b. config get / validate / diff ------------------------------------------------------
log "b. config get, validate, diff"
ctl config get
printf '%s\n' "$CTL_OUT" >"$FERRY_WORK/running.textproto"
[ "$(head -n 1 "$FERRY_WORK/running.textproto")" = "# version 1" ] \
  || fail "config get: first line $(head -n 1 "$FERRY_WORK/running.textproto")"
ctl config validate -f "$FERRY_WORK/running.textproto"
expect_in "$CTL_OUT" "is valid and applies live" "validate of config get"
ctl config diff -f "$FERRY_WORK/running.textproto"
expect_in "$CTL_OUT" "no differences" "diff of config get"
ctl_json "$FERRY_WORK/running.json" config get
[ "$(jv "$FERRY_WORK/running.json" 'd["version"]')" = 1 ] || fail "config get -o json: version not \"1\""
[ "$(jv "$FERRY_WORK/running.json" '[l["name"] for l in d["config"]["proxy"]["listeners"]]')" \
  = "['rr', 'wrr', 'hold']" ] || fail "config get -o json: listeners"
ctl config validate -f - <"$FERRY_WORK/running.textproto"
expect_in "$CTL_OUT" "valid" "validate -f -"

cfg_mutate "$FERRY_WORK/running.textproto" "$FERRY_WORK/bad-port.textproto" 'p.listeners[1].port = 0'
ctl_expect 1 config validate -f "$FERRY_WORK/bad-port.textproto"
expect_in "$CTL_OUT$CTL_ERR" "is invalid" "validate of port 0"
expect_in "$CTL_OUT$CTL_ERR" "proxy.listeners[1].port" "validate of port 0"
ctl_json "$FERRY_WORK/validate.json" config validate -f "$FERRY_WORK/running.textproto"
[ "$(jv "$FERRY_WORK/validate.json" '(d["valid"], d["live"])')" = "(True, True)" ] \
  || fail "validate -o json: $(cat "$FERRY_WORK/validate.json")"
# A syntax error in -f is ferryctl's: usage (2), with the file's line.
printf 'proxy { listeners { nosuchfield: 1 } }\n' >"$FERRY_WORK/syntax.textproto"
ctl_expect 2 config validate -f "$FERRY_WORK/syntax.textproto"
expect_in "$CTL_ERR" "syntax.textproto:1:" "validate of a syntax error"

# ---- c. stats ---------------------------------------------------------------------------
log "c. stats match the traffic"
proxy_curl_ids 30
log "  rr: $PROXY_IDS"
[ "$PROXY_IDS" = "b1=10 b2=10 b3=10" ] || fail "round robin over b1 b2 b3: $PROXY_IDS"
ctl_json "$FERRY_WORK/stats.json" stats
[ "$(stat_of listener rr sessions_total "$FERRY_WORK/stats.json")" = 30 ] \
  || fail "listener rr sessions_total is $(stat_of listener rr sessions_total "$FERRY_WORK/stats.json"), want 30"
rr__idle() { ctl_json "$FERRY_WORK/idle.json" stats; [ "$(stat_of listener rr sessions_active "$FERRY_WORK/idle.json")" = 0 ]; }
wait_for 10 rr__idle || fail "listener rr sessions_active is $(stat_of listener rr sessions_active "$FERRY_WORK/idle.json"), want 0 after the requests"
[ "$(stat_of listener wrr sessions_total "$FERRY_WORK/stats.json")" = 0 ] \
  || fail "listener wrr sessions_total is $(stat_of listener wrr sessions_total "$FERRY_WORK/stats.json"), want 0"
[ "$(stat_of listener rr bytes_from_client "$FERRY_WORK/stats.json")" -gt 0 ] \
  || fail "listener rr bytes_from_client is 0"
for b in b1 b2 b3; do
  [ "$(stat_of backend "rr/$b" sessions_total "$FERRY_WORK/stats.json")" = 10 ] \
    || fail "backend rr/$b sessions_total is $(stat_of backend "rr/$b" sessions_total "$FERRY_WORK/stats.json"), want 10"
done
[ "$(stat_of global "" proxy.sessions_total "$FERRY_WORK/stats.json")" = 30 ] \
  || fail "proxy.sessions_total is $(stat_of global "" proxy.sessions_total "$FERRY_WORK/stats.json"), want 30"
[ "$(jv "$FERRY_WORK/stats.json" 'd["config_version"]')" = 1 ] || fail "stats: config_version"
ctl stats
expect_in "$CTL_OUT" "config version 1" "stats"
grep -Eq '^rr +198\.18\.0\.1:80 +rr +0 +30 ' <<<"$CTL_OUT" || fail "stats: no 'rr ... 0 30' listener row: $CTL_OUT"
grep -Eq '^rr/b2 +198\.18\.1\.11:80 +enabled +1 +0 +10 ' <<<"$CTL_OUT" || fail "stats: no rr/b2 row: $CTL_OUT"
ctl stats --per-worker --all
expect_in "$CTL_OUT" "W0/LCORE1" "stats --per-worker"
ctl stats --watch --count 2 --interval 200ms -o json
[ "$(wc -l <<<"$CTL_OUT")" = 2 ] || fail "stats --watch --count 2: $(wc -l <<<"$CTL_OUT") lines"
"$PY" -c 'import json, sys
for line in sys.stdin:
    assert "global" in json.loads(line)' <<<"$CTL_OUT" || fail "stats --watch lines are not JSON objects"

# ---- d. backend verbs ---------------------------------------------------------------------
version=1
# The last verb's output moved the version on by one.
expect_step() {
  expect_in "$CTL_OUT" "config version $version -> $((version + 1))" "$1"
  version=$((version + 1))
}
log "d. backend disable rr b2"
ctl backend disable rr b2
expect_step "backend disable"
[ "$(ctl_backend_state rr b2)" = BACKEND_STATE_DISABLED ] || fail "rr/b2 is $(ctl_backend_state rr b2) after disable"
proxy_curl_ids 30
log "  $PROXY_IDS"
[ "$(proxy_count b2)" = 0 ] || fail "disabled b2 got requests: $PROXY_IDS"
[ "$PROXY_IDS" = "b1=15 b3=15" ] || fail "after disable b2: $PROXY_IDS"

log "d. backend enable rr b2"
ctl backend enable rr b2
expect_step "backend enable"
proxy_curl_ids 30
log "  $PROXY_IDS"
[ "$PROXY_IDS" = "b1=10 b2=10 b3=10" ] || fail "after enable b2: $PROXY_IDS"

log "d. backend drain rr b3"
ctl backend drain rr b3
expect_step "backend drain"
# No session is on b3: drained at once.
ctl_wait_state rr b3 BACKEND_STATE_DRAINED 5
proxy_curl_ids 30
log "  $PROXY_IDS"
[ "$PROXY_IDS" = "b1=15 b2=15" ] || fail "after drain b3: $PROXY_IDS"
ctl stats
grep -Eq '^rr/b3 .* drained ' <<<"$CTL_OUT" || fail "stats table: rr/b3 not drained: $CTL_OUT"
ctl backend enable rr b3
expect_step "backend enable b3"
[ "$(ctl_backend_state rr b3)" = BACKEND_STATE_ENABLED ] || fail "rr/b3 is $(ctl_backend_state rr b3) after enable"

log "d. backend weight wrr b2 3"
PROXY_URL=http://$FERRY_ADDR:81 proxy_curl_ids 40
log "  1:1: $PROXY_IDS"
[ "$PROXY_IDS" = "b1=20 b2=20" ] || fail "wrr 1:1: $PROXY_IDS"
ctl backend weight wrr b2 3
expect_step "backend weight"
PROXY_URL=http://$FERRY_ADDR:81 proxy_curl_ids 40
log "  1:3: $PROXY_IDS"
[ "$(proxy_count b1)" -ge 9 ] && [ "$(proxy_count b1)" -le 11 ] || fail "wrr 1:3: $PROXY_IDS, want b1=10 b2=30 (±1)"
ctl_json "$FERRY_WORK/stats.json" stats
[ "$(jv "$FERRY_WORK/stats.json" "next(b['weight'] for b in d['backends'] if b['pool'] == 'wrr' and b['name'] == 'b2')")" = 3 ] \
  || fail "stats: wrr/b2's weight is not 3"

log "d. backend add rr $B4_ADDR:80 --name b4"
ctl backend add rr "$B4_ADDR:80" --name b4
expect_step "backend add"
expect_in "$CTL_OUT" "backend rr/b4 added" "backend add"
proxy_curl_ids 40
log "  $PROXY_IDS"
[ "$PROXY_IDS" = "b1=10 b2=10 b3=10 b4=10" ] || fail "after add b4: $PROXY_IDS"
ctl_expect 1 backend add rr "$B4_ADDR:80" --name b1
expect_in "$CTL_ERR" "ALREADY_EXISTS" "backend add of a name the pool has"
ctl_expect 1 backend disable nosuchpool b1
expect_in "$CTL_ERR" "NOT_FOUND" "backend disable in a pool that is not there"
ctl_expect 1 backend drain rr nosuchbackend
expect_in "$CTL_ERR" "NOT_FOUND" "backend drain of a backend that is not there"
ctl_run backend weight rr b1 1001
[ "$CTL_RC" = 1 ] || [ "$CTL_RC" = 2 ] || fail "backend weight 1001: exit $CTL_RC"
ctl_expect 1 backend enable rr b1 --expected-version 1
expect_in "$CTL_ERR" "ABORTED" "backend enable with a stale version"
[ "$(ctl_version)" = "$version" ] || fail "refused backend verbs moved the version to $(ctl_version)"

log "d. backend remove rr b4"
ctl backend remove rr b4
expect_step "backend remove"
proxy_curl_ids 30
log "  $PROXY_IDS"
[ "$PROXY_IDS" = "b1=10 b2=10 b3=10" ] || fail "after remove b4: $PROXY_IDS"
state=$(ctl_backend_state rr b4)
[ "$state" = absent ] || [ "$state" = BACKEND_STATE_REMOVED ] || fail "removed rr/b4 is $state in stats"

# ---- e. config apply ----------------------------------------------------------------------
log "e. config apply: b3 out of rr, b4 into it"
ctl config get
printf '%s\n' "$CTL_OUT" >"$FERRY_WORK/before.textproto"
ctl_json "$FERRY_WORK/before.json" config get
cfg_mutate "$FERRY_WORK/before.textproto" "$FERRY_WORK/next.textproto" "
del p.pools[0].backends[2]
b = p.pools[0].backends.add()
b.name = 'b4'; b.address = '$B4_ADDR'; b.port = 80; b.weight = 1"
ctl config diff -f "$FERRY_WORK/next.textproto"
expect_in "$CTL_OUT" "--- running (version $version)" "config diff"
expect_in "$CTL_OUT" '-      name: "b3"' "config diff"
expect_in "$CTL_OUT" '+      name: "b4"' "config diff"
ctl_json "$FERRY_WORK/diff.json" config diff -f "$FERRY_WORK/next.textproto"
[ "$(jv "$FERRY_WORK/diff.json" 'd["differences"]')" = True ] || fail "config diff -o json: $(cat "$FERRY_WORK/diff.json")"
# A stale --expected-version: ABORTED, nothing applied.
ctl_expect 1 config apply -f "$FERRY_WORK/next.textproto" --expected-version $((version - 1))
expect_in "$CTL_ERR" "ABORTED" "apply with a stale version"
# (docs/ferryctl.md words it "the running config is version N, not M"; ferryd says "expected
# config version M but version N is running": only the two numbers are checked.)
grep -Eq "version ${version}[^0-9].*version $((version - 1))[^0-9]|version $((version - 1))[^0-9].*version ${version}[^0-9]" <<<"$CTL_ERR" \
  || fail "apply with a stale version: the refusal does not name versions $((version - 1)) and $version: $CTL_ERR"
ctl_json "$FERRY_WORK/after.json" config get
cmp -s "$FERRY_WORK/before.json" "$FERRY_WORK/after.json" || fail "a refused apply changed the running config"
ctl config apply -f "$FERRY_WORK/next.textproto" --expected-version "$version"
expect_step "config apply"
expect_in "$CTL_OUT" "backend rr/b3 removed" "config apply's changes"
expect_in "$CTL_OUT" "backend rr/b4 added" "config apply's changes"
ctl config diff -f "$FERRY_WORK/next.textproto"
expect_in "$CTL_OUT" "no differences" "diff after apply"
proxy_curl_ids 30
log "  $PROXY_IDS"
[ "$PROXY_IDS" = "b1=10 b2=10 b4=10" ] || fail "after apply: $PROXY_IDS"
ctl_json "$FERRY_WORK/apply.json" config apply -f "$FERRY_WORK/next.textproto"
[ "$(jv "$FERRY_WORK/apply.json" '(d["previous_version"], d["version"], d["changes"])')" \
  = "('$version', '$((version + 1))', [])" ] || fail "apply of the same config: $(cat "$FERRY_WORK/apply.json")"
version=$((version + 1))

# ---- f. sessions ---------------------------------------------------------------------------
log "f. sessions: 6 idle connections held through the listener hold"
proxy_spawn holder-a "$PROXY_CLIENT_NS" "$PY" "$PROXY_HOLD" connect "$FERRY_ADDR:82" --conns 4 \
  --sample 4 --bind 198.18.0.2 --timeout 120
proxy_wait_line holder-a '^ESTABLISHED' 20
proxy_spawn holder-b "$PROXY_CLIENT_NS" "$PY" "$PROXY_HOLD" connect "$FERRY_ADDR:82" --conns 2 \
  --sample 2 --bind 198.18.0.3 --timeout 120
proxy_wait_line holder-b '^ESTABLISHED' 20
count_sessions() { ctl_json "$FERRY_WORK/sessions.json" sessions "$@"; jv "$FERRY_WORK/sessions.json" 'len(d["sessions"])'; }
sessions__spliced() { [ "$(count_sessions --listener hold)" = "$1" ] && \
  [ "$(jv "$FERRY_WORK/sessions.json" 'sorted(set(s["state"] for s in d["sessions"]))')" = "['SESSION_STATE_SPLICED']" ]; }
wait_for 10 sessions__spliced 6 || fail "sessions --listener hold: $(count_sessions --listener hold) sessions, want 6 spliced"
[ "$(count_sessions --limit 0)" = 6 ] || fail "sessions: $(count_sessions --limit 0), want 6"
[ "$(count_sessions --backend h1)" = 3 ] || fail "sessions --backend h1: $(count_sessions --backend h1), want 3"
[ "$(count_sessions --backend h2)" = 3 ] || fail "sessions --backend h2: $(count_sessions --backend h2), want 3"
[ "$(count_sessions --client 198.18.0.3)" = 2 ] || fail "sessions --client 198.18.0.3: $(count_sessions --client 198.18.0.3), want 2"
[ "$(jv "$FERRY_WORK/sessions.json" 'sorted(set(s["client"].split(":")[0] for s in d["sessions"]))')" = "['198.18.0.3']" ] \
  || fail "sessions --client 198.18.0.3 listed other clients"
one=$(jv "$FERRY_WORK/sessions.json" 'd["sessions"][0]["client"]')
[ "$(count_sessions --client "$one")" = 1 ] || fail "sessions --client $one: not 1"
[ "$(count_sessions --client 198.18.0.2 --backend h1)" = 2 ] || fail "sessions --client 198.18.0.2 --backend h1: not 2"
[ "$(count_sessions --pool rr)" = 0 ] || fail "sessions --pool rr: not 0"
[ "$(count_sessions --page-size 4 --limit 0)" = 6 ] || fail "sessions --page-size 4: not 6"
[ "$(count_sessions --page-size 1 --limit 0)" = 6 ] || fail "sessions --page-size 1: not 6"
[ "$(jv "$FERRY_WORK/sessions.json" 'len(set(s["client"] for s in d["sessions"]))')" = 6 ] \
  || fail "sessions --page-size 1 listed a session twice"
[ "$(count_sessions --limit 4)" = 4 ] || fail "sessions --limit 4: not 4"
ctl sessions --listener hold
[ "$(grep -c ' hold ' <<<"$CTL_OUT")" = 6 ] || fail "sessions table: not 6 rows: $CTL_OUT"
expect_in "$CTL_OUT" "hold/h1 (198.18.1.10:$HOLD_PORT)" "sessions table"
ctl sessions --limit 2
expect_in "$CTL_OUT" "there are more" "sessions --limit 2"
ctl_expect 2 sessions --page-size 0
ctl_expect 2 sessions --page-size 1001

log "f. drain hold h2 with 3 sessions on it"
ctl backend drain hold h2
expect_step "backend drain h2"
[ "$(ctl_backend_state hold h2)" = BACKEND_STATE_DRAINING ] || fail "hold/h2 is $(ctl_backend_state hold h2), want DRAINING"
ctl stats
grep -Eq '^hold/h2 .* draining ' <<<"$CTL_OUT" || fail "stats table: hold/h2 not draining: $CTL_OUT"
proxy_spawn holder-c "$PROXY_CLIENT_NS" "$PY" "$PROXY_HOLD" connect "$FERRY_ADDR:82" --conns 2 \
  --sample 2 --bind 198.18.0.2 --timeout 120
proxy_wait_line holder-c '^ESTABLISHED' 20
wait_for 10 sessions__spliced 8 || fail "sessions --listener hold: $(count_sessions --listener hold), want 8"
[ "$(count_sessions --backend h1)" = 5 ] || fail "a draining h2 took new sessions: h1 has $(count_sessions --backend h1), want 5"
for h in holder-a holder-b holder-c; do kill -USR1 "${PROXY_PID[$h]}"; done
for h in holder-a holder-b holder-c; do
  proxy_wait "$h" 30
  [ "$PROXY_RC" = 0 ] && [ "$(proxy_field ok)" = 1 ] || fail "$h: exit $PROXY_RC: $PROXY_RESULT"
done
ctl_wait_state hold h2 BACKEND_STATE_DRAINED 15
ctl backend enable hold h2
expect_step "backend enable h2"

# ---- g. /metrics ---------------------------------------------------------------------------
log "g. /metrics on 127.0.0.1:$CONTROL_METRICS_PORT"
no_sessions() { [ "$(count_sessions --limit 0)" = 0 ]; }
wait_for 15 no_sessions || fail "sessions left: $(count_sessions --limit 0)"
proxy_expect_baseline
# Idle, ferryd's loop counters still move between the scrape and the stats call; nothing else
# should (the baseline above: no session, no traffic). A stray packet (an ARP refresh) between
# the two could still move a net.* counter: up to 3 tries, each a fresh scrape and stats.
metrics_ok=
for try in 1 2 3; do
  curl -sS --max-time 5 -o "$FERRY_WORK/metrics.txt" "http://127.0.0.1:$CONTROL_METRICS_PORT/metrics" \
    || fail "GET /metrics failed"
  ctl_json "$FERRY_WORK/metrics-stats.json" stats
  if "$PY" "$CONTROL_METRICS_CHECK" --ignore 'loop.*' --ignore 'ferry_loop_*' \
      "$FERRY_WORK/metrics.txt" "$FERRY_WORK/metrics-stats.json" >"$FERRY_WORK/metrics-check.log" 2>&1; then
    metrics_ok=1
    break
  fi
  log "  try $try: $(head -n 5 "$FERRY_WORK/metrics-check.log" | tr '\n' ' ')"
done
[ -n "$metrics_ok" ] || fail "control_metrics_check.py, 3 tries: $(head -n 20 "$FERRY_WORK/metrics-check.log")"
log "  $(tail -n 1 "$FERRY_WORK/metrics-check.log")"
grep -q '^ferry_config_version ' "$FERRY_WORK/metrics.txt" || fail "/metrics: no ferry_config_version"
grep -q '^ferry_listener_sessions_total{listener="rr"} 220$' "$FERRY_WORK/metrics.txt" \
  || fail "/metrics: ferry_listener_sessions_total for rr is not 220 (the requests made to :80 so far): $(grep '^ferry_listener_sessions_total' "$FERRY_WORK/metrics.txt")"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CONTROL_METRICS_PORT/nosuchpage") || true
[ "$code" = 404 ] || fail "GET /nosuchpage: $code, want 404"

# ---- h. bad input ----------------------------------------------------------------------------
log "h. malformed request bytes"
printf '\xff\xff\xff\xff\x0f' >"$FERRY_WORK/garbage.bin"
for method in ApplyConfig ValidateConfig GetStatus ListSessions AddBackend; do
  grpc_raw "/ferry.v1.Ferry/$method" "$FERRY_WORK/garbage.bin"
  log "  $method: $GRPC_STATUS"
  case $GRPC_STATUS in
    "STATUS INVALID_ARGUMENT "* | "STATUS INTERNAL "*) ;;
    *) fail "$method with malformed bytes: $GRPC_STATUS" ;;
  esac
  ctl_alive "malformed $method"
done
timeout -k 2 30 "$PY" "$CONTROL_GRPC" garbage-frame "unix:$FERRY_SOCKET" /ferry.v1.Ferry/ApplyConfig \
  >"$FERRY_WORK/truncated.log" 2>&1 || fail "control_grpc.py garbage-frame: $(cat "$FERRY_WORK/truncated.log")"
log "  truncated message: $(cat "$FERRY_WORK/truncated.log")"
grep -Eq '^STATUS (INVALID_ARGUMENT|INTERNAL) ' "$FERRY_WORK/truncated.log" || fail "truncated message: $(cat "$FERRY_WORK/truncated.log")"
grpc_raw /ferry.v1.Ferry/NoSuchMethod -
[[ $GRPC_STATUS == "STATUS UNIMPLEMENTED"* ]] || fail "unknown method: $GRPC_STATUS"
grpc_raw /ferry.v1.Ferry/ApplyConfig -
[[ $GRPC_STATUS == "STATUS INVALID_ARGUMENT config is required"* ]] || fail "ApplyConfig without config: $GRPC_STATUS"
ctl_alive "requests without a body"

log "h. unknown fields in ApplyConfig's config"
ctl config get
printf '%s\n' "$CTL_OUT" >"$FERRY_WORK/current.textproto"
ctl_json "$FERRY_WORK/before.json" config get
encode_with_unknown "$FERRY_WORK/current.textproto" 0 "$FERRY_WORK/unknown-top.bin" Config 99 'c.future_field = 7'
grpc_raw /ferry.v1.Ferry/ApplyConfig "$FERRY_WORK/unknown-top.bin"
log "  Config: $GRPC_STATUS"
[[ $GRPC_STATUS == "STATUS INVALID_ARGUMENT "* ]] || fail "unknown field in Config: $GRPC_STATUS"
expect_in "$GRPC_STATUS" "field number 99" "unknown field in Config"
expect_in "$GRPC_STATUS" "ferry.v1.Config" "unknown field in Config"
encode_with_unknown "$FERRY_WORK/current.textproto" 0 "$FERRY_WORK/unknown-pool.bin" BackendPool 42 'p.pools[1].future_field = 1'
grpc_raw /ferry.v1.Ferry/ApplyConfig "$FERRY_WORK/unknown-pool.bin"
log "  BackendPool: $GRPC_STATUS"
# The path is the config's field path; ferryd currently prefixes it with the request's field
# ("config.proxy.pools[1]"): either is accepted.
[[ $GRPC_STATUS == "STATUS INVALID_ARGUMENT "?(config.)"proxy.pools[1]: field number 42 is not a field of ferry.v1.BackendPool"* ]] \
  || fail "unknown field in a pool: $GRPC_STATUS"
grpc_raw /ferry.v1.Ferry/ValidateConfig "$FERRY_WORK/unknown-pool.bin"
log "  ValidateConfig: $GRPC_STATUS"
# The bytes are an ApplyConfigRequest's: its expected_version (field 2) is unknown to
# ValidateConfigRequest, and either that or the pool's field 42 must be named.
case $GRPC_STATUS in
  "STATUS INVALID_ARGUMENT "*"field number 42"*) ;;
  "STATUS INVALID_ARGUMENT field number 2 is not a field of ferry.v1.ValidateConfigRequest"*) ;;
  "STATUS OK "*)   # an answer: valid false, the fault in it
    answer=$(grpc_response_text ferry.v1.ValidateConfigResponse) || fail "ValidateConfigResponse does not decode"
    log "  ValidateConfig's answer: $(tr '\n' ' ' <<<"$answer")"
    expect_not_in "$answer" "valid: true" "ValidateConfig of an unknown field"
    expect_in "$answer" "field number 42 is not a field of ferry.v1.BackendPool" "ValidateConfig of an unknown field" ;;
  *) fail "ValidateConfig with an unknown field: $GRPC_STATUS" ;;
esac
ctl_json "$FERRY_WORK/after.json" config get
cmp -s "$FERRY_WORK/before.json" "$FERRY_WORK/after.json" || fail "a config with unknown fields changed the running config"
ctl_alive "unknown fields"

log "h. oversized config (> 4 MiB)"
head -c $((5 << 20)) /dev/zero | tr '\0' 'x' >"$FERRY_WORK/huge.bin"
grpc_raw /ferry.v1.Ferry/ApplyConfig "$FERRY_WORK/huge.bin"
log "  raw 5 MiB: ${GRPC_STATUS:0:160}"
[[ $GRPC_STATUS == "STATUS RESOURCE_EXHAUSTED"* ]] || fail "5 MiB request: $GRPC_STATUS"
cfg_mutate "$FERRY_WORK/current.textproto" "$FERRY_WORK/huge.textproto" "
pp = p.pools[0].proxy_protocol
pp.version = 'v2'
t = pp.tlvs.add(); t.type = 0xE0; t.value = b'x' * (5 << 20)"
ctl_expect 1 config apply -f "$FERRY_WORK/huge.textproto"
expect_in "$CTL_ERR" "RESOURCE_EXHAUSTED" "ferryctl config apply of a 5 MiB config"
ctl_json "$FERRY_WORK/after.json" config get
cmp -s "$FERRY_WORK/before.json" "$FERRY_WORK/after.json" || fail "an oversized config changed the running config"
ctl_alive "an oversized config"

log "h. 8 appliers racing on version $version"
for i in $(seq 1 8); do
  cfg_mutate "$FERRY_WORK/current.textproto" "$FERRY_WORK/race.$i.textproto" "p.listeners[0].max_sessions = 100 + $i"
done
declare -A race_pid=()
for i in $(seq 1 8); do
  timeout -k 2 30 "$FERRYCTL" --socket "$FERRY_SOCKET" config apply -f "$FERRY_WORK/race.$i.textproto" \
    --expected-version "$version" >"$FERRY_WORK/race.$i.out" 2>&1 &
  race_pid[$i]=$!
done
winners=() aborted=0
for i in $(seq 1 8); do
  rc=0; wait "${race_pid[$i]}" || rc=$?
  case $rc in
    0) winners+=("$i") ;;
    1) grep -q ABORTED "$FERRY_WORK/race.$i.out" || fail "applier $i: exit 1 without ABORTED: $(cat "$FERRY_WORK/race.$i.out")"
       aborted=$((aborted + 1)) ;;
    *) fail "applier $i: exit $rc: $(cat "$FERRY_WORK/race.$i.out")" ;;
  esac
done
[ "${#winners[@]}" = 1 ] && [ "$aborted" = 7 ] || fail "race: winners ${winners[*]:-none}, $aborted aborted; want 1 and 7"
log "  applier ${winners[0]} won, 7 ABORTED"
expect_in "$(cat "$FERRY_WORK/race.${winners[0]}.out")" "config version $version -> $((version + 1))" "the winner"
version=$((version + 1))
[ "$(ctl_version)" = "$version" ] || fail "after the race: version $(ctl_version), want $version"
ctl config diff -f "$FERRY_WORK/race.${winners[0]}.textproto"
expect_in "$CTL_OUT" "no differences" "running config against the winner's"
ctl_alive "the race"

log "h. clients that go away mid-stream"
line=$(timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_SOCKET" stats --watch --interval 100ms -o json | head -n 1) \
  || fail "stats --watch | head -n 1 did not end (or failed)"
"$PY" -c 'import json, sys; json.loads(sys.argv[1])' "$line" || fail "stats --watch | head: not JSON"
timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_SOCKET" stats --watch --interval 100ms -o json \
  >"$FERRY_WORK/watch.out" 2>&1 &
watcher=$!
watch__lines() { [ "$(wc -l <"$FERRY_WORK/watch.out")" -ge 3 ]; }
wait_for 10 watch__lines || fail "stats --watch printed $(wc -l <"$FERRY_WORK/watch.out") lines in 10 s"
kill -KILL "$watcher"; wait "$watcher" 2>/dev/null || true
out=$(timeout -k 2 20 "$PY" "$CONTROL_GRPC" watch-cancel "unix:$FERRY_SOCKET" 2>&1) || fail "watch-cancel: $out"
log "  $(tr '\n' ' ' <<<"$out")"
expect_in "$out" "RECEIVED 1" "watch-cancel"
expect_in "$out" "STATUS CANCELLED" "watch-cancel"
ctl_alive "clients gone mid-stream"
ctl stats --watch --count 2 --interval 100ms -o json
[ "$(wc -l <<<"$CTL_OUT")" = 2 ] || fail "stats --watch after the disconnects: $(wc -l <<<"$CTL_OUT") lines"

log "h. a second ferryd on the same socket"
SECOND_IF=fy${FERRY_ID}xa
SECOND_PEER_IF=fy${FERRY_ID}xb
second_teardown() { ip link del "$SECOND_IF" 2>/dev/null || true; rm -rf "/var/run/dpdk/ferry-t${FERRY_ID}x"; }
TCP_CLEANUP_HOOKS+=(second_teardown)
ip link add "$SECOND_IF" type veth peer name "$SECOND_PEER_IF"
ip link set "$SECOND_PEER_IF" netns "$PROXY_CLIENT_NS"   # no address: nothing talks on it
sysctl -qw "net.ipv6.conf.$SECOND_IF.disable_ipv6=1"
ip link set "$SECOND_IF" up
cat >"$FERRY_WORK/second.conf" <<CONF
interfaces { name: "lan0" driver: "af_packet" device: "iface=$SECOND_IF" ipv4 { address: "198.18.2.1" prefix_length: 24 } }
workers { count: 1 main_lcore: 0 lcores: $TCP_WORKER_LCORE mbufs_per_worker: 4095 }
eal { hugepages: false memory_mb: 256 file_prefix: "ferry-t${FERRY_ID}x" extra_args: "--no-shconf" }
control { socket_path: "$FERRY_SOCKET" }
CONF
rc=0
timeout -k 5 60 "$FERRYD" --config="$FERRY_WORK/second.conf" --drivers_dir="$FERRY_DRIVERS_DIR" \
  >"$FERRY_WORK/second.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "second ferryd on the same socket: exit $rc: $(tail -n 5 "$FERRY_WORK/second.log")"
expect_in "$(cat "$FERRY_WORK/second.log")" "another ferryd is serving it" "the second ferryd's log"
log "  second ferryd exit $rc: $(grep -F 'another ferryd' "$FERRY_WORK/second.log")"
[ -S "$FERRY_SOCKET" ] || fail "the second ferryd removed the first one's socket"
ctl_alive "a second ferryd"
expect_in "$CTL_OUT" "pid $FERRYD_PID," "status after a second ferryd"

# ---- the end --------------------------------------------------------------------------------
proxy_curl_ids 30
log "  $PROXY_IDS"
ferry_stop
[ ! -e "$FERRY_SOCKET" ] || fail "ferryd left its socket behind"
log "PASS control_cli"
