#!/usr/bin/env bash
# HTTP through ferry's proxy: curl and wrk in the client namespace, three nginx backends (b1
# 198.18.1.10, b2 .11, b3 .12) and one more behind a gateway (far, 198.19.0.10, reached through
# ferry's route via 198.18.1.254). One ferryd has a listener per balancing policy, each with a
# pool of the three backends; one restart (ferryd has no reload) takes b2 out of Maglev's pool.
#   a. round_robin (:80): 300 requests, each on a connection of its own, all answered 200 with
#      a backend's name: 100 each (±1), in a repeating cycle of the three; ferry's per-backend
#      session counts equal nginx's request counts, and its byte counts agree on both sides;
#      /bytes/<n> sha256-exact; wrk with keep-alive and with a connection per request, not one
#      error; the far backend through the route (:85).
#   b. weighted_round_robin (:81), weights 1:2:3: 600 requests split 100/200/300 within ±2%.
#   c. maglev (:82): 24 client addresses, 4 requests each: each address always lands on one
#      backend;
#   d. power_of_two (:83) and least_connections (:84) under wrk (30 connections, one session
#      per request): no error, every backend serves at least 10% of the requests;
#   c2. ferryd restarted without b2 in Maglev's pool: the addresses that were on b1 or b3 stay
#      there (Maglev's minimal disruption: at most one may move), those of b2 move to b1 or b3.
# Healthy backends never fail a connection attempt: no connect_refused or connect_timeouts in
# any phase. After each phase every session is gone and the mbuf pool is back to its baseline.
source "$(dirname "$0")/proxy_lib.sh"

CONF=$FERRY_WORK/ferryd.conf
BACKENDS="b1 b2 b3"

proxy_topology --far
for i in 0 1 2; do proxy_nginx_start "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}"; done
proxy_nginx_start far "$PROXY_FAR_ADDR" "$PROXY_FAR_NS"
proxy_client_addresses 24

# Pool $1 with policy $2 over the backends named in $3 with weights $4 ("1 1 1" if empty).
web_pool() {
  local pool=$1 policy=$2 names=$3 weights i backends=()
  read -r -a weights <<<"${4:-1 1 1}"
  for i in 0 1 2; do
    [[ " $names " == *" ${PROXY_BACKEND_NAMES[$i]} "* ]] || continue
    backends+=("$(proxy_backend "${PROXY_BACKEND_NAMES[$i]}" "${PROXY_BACKEND_ADDRS[$i]}" 80 "${weights[$i]}")")
  done
  proxy_pool "$pool" "$policy" "" "${backends[@]}"
}
# The config, with the backends named in $1 (default all three) in Maglev's pool.
web_config() {
  proxy_write_config "$CONF" "$(proxy_listener rr 80 rr)
$(web_pool rr round_robin "$BACKENDS")
$(proxy_listener wrr 81 wrr)
$(web_pool wrr weighted_round_robin "$BACKENDS" "1 2 3")
$(proxy_listener maglev 82 maglev)
$(web_pool maglev maglev "${1:-$BACKENDS}")
$(proxy_listener p2c 83 p2c)
$(web_pool p2c power_of_two "$BACKENDS")
$(proxy_listener lc 84 lc)
$(web_pool lc least_connections "$BACKENDS")
$(proxy_listener far 85 far)
$(proxy_pool far round_robin "" "$(proxy_backend far "$PROXY_FAR_ADDR" 80)")"
}

# Fails if any backend of pool $1 failed a connection attempt between snapshots $2 and $3.
expect_no_connect_failures() {
  local b n
  for b in $BACKENDS; do
    for n in connect_refused connect_timeouts; do
      [ "$(proxy_delta "$2" "$3" "backend.$n" "$1" "$b")" = 0 ] \
        || fail "pool $1: healthy backend $b: $n grew by $(proxy_delta "$2" "$3" "backend.$n" "$1" "$b")"
    done
  done
}

# Requests each backend's nginx has logged, as NAME=COUNT words.
nginx_counts() {
  local b out=()
  for b in $BACKENDS; do out+=("$b=$(proxy_nginx_requests "$b")"); done
  echo "${out[*]}"
}
# Requests backend $1 logged between nginx_counts $2 and $3.
nginx_delta() { echo $(($(tcp_pick "$1" "$3") - $(tcp_pick "$1" "$2"))); }

# Fails unless backend $1 served $2 of the last requests, give or take $3.
expect_share() {
  local got
  got=$(proxy_count "$1")
  [ "$got" -ge $(($2 - $3)) ] && [ "$got" -le $(($2 + $3)) ] \
    || fail "$1 served $got requests, want $2 ± $3 ($PROXY_IDS)"
}

# ---- a. round robin -------------------------------------------------------------------------
web_config
proxy_start "$CONF"
proxy_capture_start proxy_http

log "a. round_robin: 300 requests, a connection each"
proxy_snapshot a0
before=$(nginx_counts)
proxy_curl_ids 300
log "  $PROXY_IDS"
for b in $BACKENDS; do expect_share "$b" 100 1; done
# Round robin proper: the sequence repeats with period 3, three distinct backends in each cycle.
awk '{ id[NR] = $1 } END {
       if (id[1] == id[2] || id[2] == id[3] || id[1] == id[3]) exit 1
       for (i = 4; i <= NR; i++) if (id[i] != id[i - 3]) exit 1 }' "$PROXY_CURL_LOG" \
  || fail "not a repeating cycle of the three backends: $(awk '{ printf "%s ", $1 }' "$PROXY_CURL_LOG" | head -c 200)"
proxy_snapshot a1
after=$(nginx_counts)
for b in $BACKENDS; do
  sessions=$(proxy_delta a0 a1 backend.sessions_total rr "$b")
  [ "$sessions" = "$(proxy_count "$b")" ] && [ "$sessions" = "$(nginx_delta "$b" "$before" "$after")" ] \
    || fail "$b: ferry counted $sessions sessions, curl saw $(proxy_count "$b") answers, nginx logged $(nginx_delta "$b" "$before" "$after")"
done
[ "$(proxy_delta a0 a1 listener.sessions_total rr)" = 300 ] \
  || fail "listener rr counted $(proxy_delta a0 a1 listener.sessions_total rr) sessions, want 300"
expect_no_connect_failures rr a0 a1
# Without PROXY protocol ferry adds and removes nothing: what came in on one side went out on
# the other.
up_in=$(proxy_delta a0 a1 listener.bytes_from_client rr)
down_out=$(proxy_delta a0 a1 listener.bytes_to_client rr)
up_out=0 down_in=0
for b in $BACKENDS; do
  up_out=$((up_out + $(proxy_delta a0 a1 backend.bytes_to_backend rr "$b")))
  down_in=$((down_in + $(proxy_delta a0 a1 backend.bytes_from_backend rr "$b")))
done
[ "$up_in" -gt 0 ] && [ "$up_in" = "$up_out" ] && [ "$down_in" -gt 0 ] && [ "$down_in" = "$down_out" ] \
  || fail "bytes: from clients $up_in, to backends $up_out; from backends $down_in, to clients $down_out"
log "  counters agree with curl and nginx; $up_in bytes up, $down_in down"

log "a2. /bytes through ferry, sha256-exact"
for size in "${PROXY_WWW_SIZES[@]}" 16777216 16777216; do proxy_curl_bytes "$size"; done
log "a3. wrk: keep-alive, then a connection per request"
proxy_snapshot a2
proxy_wrk 3 20
log "  keep-alive: $PROXY_WRK_RPS requests/s"
proxy_wrk 3 20 -H 'Connection: close'
log "  a connection per request: $PROXY_WRK_RPS requests/s"
proxy_snapshot a3
expect_no_connect_failures rr a2 a3
log "a4. the far backend, through ferry's route via $PROXY_GATEWAY"
PROXY_URL=http://$FERRY_ADDR:85 proxy_curl_ids 10
[ "$PROXY_IDS" = "far=10" ] || fail "listener far: $PROXY_IDS"
proxy_expect_baseline

# ---- b. weighted round robin ----------------------------------------------------------------
log "b. weighted_round_robin 1:2:3: 600 requests"
proxy_snapshot b0
PROXY_URL=http://$FERRY_ADDR:81 proxy_curl_ids 600
proxy_snapshot b1
log "  $PROXY_IDS"
expect_no_connect_failures wrr b0 b1
expect_share b1 100 12
expect_share b2 200 12
expect_share b3 300 12
proxy_expect_baseline

# ---- c. maglev ------------------------------------------------------------------------------
# Each client address's backend, as ADDRESS=BACKEND words in the variable named $1; then fails
# if a connection attempt to a backend of the pool (named in $2) failed, since a retry moves a
# client elsewhere, and fails if an address saw two backends.
maglev_homes() {
  local a found=() split=()
  proxy_snapshot m0
  for a in "${PROXY_CLIENT_ADDRS[@]}"; do
    PROXY_URL=http://$FERRY_ADDR:82 proxy_curl_ids 4 --interface "$a"
    [[ $PROXY_IDS != *" "* ]] || split+=("$a: $PROXY_IDS")
    found+=("$a=${PROXY_IDS%%=*}")
  done
  proxy_snapshot m1
  BACKENDS=$2 expect_no_connect_failures maglev m0 m1
  [ ${#split[@]} = 0 ] || fail "maglev: clients went to more than one backend: ${split[*]}"
  printf -v "$1" '%s' "${found[*]}"
}
log "c. maglev: ${#PROXY_CLIENT_ADDRS[@]} client addresses x 4 requests"
homes=
maglev_homes homes "$BACKENDS"
spread=$(tr ' ' '\n' <<<"$homes" | cut -d= -f2 | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }')
log "  each address sticks to one backend; spread: $spread"
[ "$(wc -w <<<"$spread")" -ge 2 ] || fail "maglev put all ${#PROXY_CLIENT_ADDRS[@]} addresses on one backend: $spread"
proxy_expect_baseline

# ---- d. power of two, least connections -----------------------------------------------------
for lp in p2c:83:power_of_two lc:84:least_connections; do
  IFS=: read -r pool port policy <<<"$lp"
  log "d. $policy: wrk, 30 connections, one session per request"
  before=$(nginx_counts)
  proxy_snapshot d0
  PROXY_URL=http://$FERRY_ADDR:$port proxy_wrk 3 30 -H 'Connection: close'
  proxy_snapshot d1
  after=$(nginx_counts)
  expect_no_connect_failures "$pool" d0 d1
  total=0
  for b in $BACKENDS; do total=$((total + $(nginx_delta "$b" "$before" "$after"))); done
  log "  $PROXY_WRK_RPS requests/s; nginx: $(for b in $BACKENDS; do printf '%s=%s ' "$b" "$(nginx_delta "$b" "$before" "$after")"; done)"
  for b in $BACKENDS; do
    [ $(($(nginx_delta "$b" "$before" "$after") * 10)) -ge "$total" ] \
      || fail "$policy: $b served $(nginx_delta "$b" "$before" "$after") of $total requests (< 10%)"
  done
  proxy_expect_baseline
done

# ---- c2. maglev, one backend fewer ---------------------------------------------------------
log "c2. maglev without b2 (a new ferryd): only b2's clients move"
web_config "b1 b3"
proxy_restart "$CONF"
new_homes=
maglev_homes new_homes "b1 b3"
stayed=0 moved_away=0 rehomed=0
for a in "${PROXY_CLIENT_ADDRS[@]}"; do
  old=$(tcp_pick "$a" "$homes")
  new=$(tcp_pick "$a" "$new_homes")
  [ "$new" != b2 ] || fail "maglev: $a still went to the removed b2"
  if [ "$old" = b2 ]; then
    rehomed=$((rehomed + 1))
  elif [ "$old" = "$new" ]; then
    stayed=$((stayed + 1))
  else
    moved_away=$((moved_away + 1))
    log "  $a moved from $old to $new"
  fi
done
log "  $stayed stayed, $moved_away of b1's and b3's clients moved, $rehomed of b2's moved"
# Maglev's table keeps all but ~0.01% of the remaining backends' entries when one of three
# goes (65537 entries); a hash modulo the backend count would move about half of them.
[ "$moved_away" -le 1 ] || fail "maglev: $moved_away clients of the remaining backends moved"
proxy_expect_baseline

ferry_stop
proxy_log_final_counters
log "PASS"
