#!/usr/bin/env bash
# Live config changes refused (issue 5, "Bad input"): each kind of invalid config in the table
# below, made from the running config by one mutation, is refused by `ferryctl config apply
# -f` with exit 1, the gRPC code and the field path first in ferryd's message
# (lib/control/proxy_config.cc, config_validate.cc, config_store.cc's restart-only check); the
# running config stays byte for byte what it was (`config get -o json`), version included.
# `config validate -f` of each agrees (invalid: exit 1 with "field: PATH"; restart-only: valid
# but "needs a restart"). Then one valid live apply works, and the proxy follows it (curl).
source "$(dirname "$0")/control_lib.sh"

CONF=$FERRY_WORK/ferryd.conf

proxy_topology
proxy_nginx_start b1 198.18.1.10
proxy_nginx_start b2 198.18.1.11
proxy_write_config "$CONF" "$(proxy_listener web 80 web)
$(proxy_pool web round_robin "" "$(proxy_backend b1 198.18.1.10 80)" "$(proxy_backend b2 198.18.1.11 80)")
$(proxy_listener hash 81 hash)
$(proxy_pool hash maglev "" "$(proxy_backend b1 198.18.1.10 80)" "$(proxy_backend b2 198.18.1.11 80)")"
proxy_start "$CONF"

ctl config get
printf '%s\n' "$CTL_OUT" >"$FERRY_WORK/running.textproto"
ctl_json "$FERRY_WORK/running.json" config get
[ "$(jv "$FERRY_WORK/running.json" 'd["version"]')" = 1 ] || fail "config get: version is not 1"

# description | mutation (Python on c = the Config, p = c.proxy) | gRPC code | field path
IA=INVALID_ARGUMENT
FP=FAILED_PRECONDITION
CASES=(
  "listener address unparsable|p.listeners[0].address = '198.18.0.300'|$IA|proxy.listeners[0].address"
  "listener address not ours|p.listeners[0].address = '198.18.0.77'|$IA|proxy.listeners[0].address"
  "listener address 0.0.0.0|p.listeners[0].address = '0.0.0.0'|$IA|proxy.listeners[0].address"
  "duplicate listener name|p.listeners[1].name = 'web'|$IA|proxy.listeners[1].name"
  "invalid listener name|p.listeners[0].name = 'no spaces allowed'|$IA|proxy.listeners[0].name"
  "duplicate listener address:port|p.listeners[1].port = 80|$IA|proxy.listeners[1]"
  "listener port 0|p.listeners[0].port = 0|$IA|proxy.listeners[0].port"
  "listener port 65536|p.listeners[1].port = 65536|$IA|proxy.listeners[1].port"
  "unknown pool|p.listeners[0].pool = 'nosuchpool'|$IA|proxy.listeners[0].pool"
  "listener without pool|p.listeners[1].pool = ''|$IA|proxy.listeners[1].pool"
  "max_in_flight_bytes below range|p.listeners[0].max_in_flight_bytes = 1000|$IA|proxy.listeners[0].max_in_flight_bytes"
  "max_in_flight_bytes above range|p.listeners[1].max_in_flight_bytes = (1 << 30) + 1|$IA|proxy.listeners[1].max_in_flight_bytes"
  "duplicate pool name|p.pools[1].name = 'web'; p.listeners[1].pool = 'web'|$IA|proxy.pools[1].name"
  "bad policy name|p.pools[0].policy = 'random'|$IA|proxy.pools[0].policy"
  "maglev table size not prime|p.pools[1].maglev_table_size = 65536|$IA|proxy.pools[1].maglev_table_size"
  "maglev table size on round_robin|p.pools[0].maglev_table_size = 65537|$IA|proxy.pools[0].maglev_table_size"
  "backend weight above 1000|p.pools[0].backends[1].weight = 1001|$IA|proxy.pools[0].backends[1].weight"
  "duplicate backend name|p.pools[0].backends[1].name = 'b1'|$IA|proxy.pools[0].backends[1].name"
  "duplicate backend address:port|p.pools[1].backends[1].address = '198.18.1.10'|$IA|proxy.pools[1].backends[1]"
  "backend address unreachable|p.pools[0].backends[0].address = '198.18.9.9'|$IA|proxy.pools[0].backends[0].address"
  "backend address is ferry's own|p.pools[0].backends[0].address = '198.18.1.1'|$IA|proxy.pools[0].backends[0].address"
  "backend port 0|p.pools[0].backends[0].port = 0|$IA|proxy.pools[0].backends[0].port"
  "bad PROXY protocol version|p.pools[0].proxy_protocol.version = 'v3'|$IA|proxy.pools[0].proxy_protocol.version"
  "TLVs with PROXY v1|p.pools[0].proxy_protocol.version = 'v1'; p.pools[0].proxy_protocol.tlvs.add(type=0xE0, value=b'x')|$IA|proxy.pools[0].proxy_protocol.tlvs"
  "TLV type out of range|p.pools[1].proxy_protocol.version = 'v2'; p.pools[1].proxy_protocol.tlvs.add(type=256, value=b'x')|$IA|proxy.pools[1].proxy_protocol.tlvs[0].type"
  "TLV type CRC32C|p.pools[0].proxy_protocol.version = 'v2'; p.pools[0].proxy_protocol.tlvs.add(type=3, value=b'1234')|$IA|proxy.pools[0].proxy_protocol.tlvs[0].type"
  "connect_attempts out of range|p.pools[0].connect_attempts = 1000|$IA|proxy.pools[0].connect_attempts"
  "connect_timeout_ms out of range|p.pools[1].connect_timeout_ms = 600001|$IA|proxy.pools[1].connect_timeout_ms"
  "retry backoff base above max|p.pools[0].retry_backoff_base_ms = 500; p.pools[0].retry_backoff_max_ms = 100|$IA|proxy.pools[0].retry_backoff_base_ms"
  "duplicate source address|p.source_addresses.append(p.source_addresses[0])|$IA|proxy.source_addresses[1]"
  "source address not ours|p.source_addresses[0] = '198.18.1.77'|$IA|proxy.source_addresses[0]"
  "restart-only: workers|c.workers.mbufs_per_worker = c.workers.mbufs_per_worker - 1|$FP|workers"
  "restart-only: interfaces|c.interfaces[1].mtu = 1400|$FP|interfaces"
  "restart-only: tcp|c.tcp.time_wait_ms = 2000|$FP|tcp"
  "restart-only: control|c.control.socket_mode = 0o600|$FP|control"
  "restart-only: proxy.max_sessions|p.max_sessions = 1000|$FP|proxy.max_sessions"
)

log "${#CASES[@]} invalid configs"
n=0
for case in "${CASES[@]}"; do
  IFS='|' read -r what mutation code path <<<"$case"
  n=$((n + 1))
  file=$FERRY_WORK/case.$n.textproto
  cfg_mutate "$FERRY_WORK/running.textproto" "$file" "$mutation"
  ctl_expect 1 config apply -f "$file"
  expect_in "$CTL_ERR" "ferryctl: config apply: $code: $path: " "case $n ($what): apply"
  refusal=$(head -n 1 <<<"$CTL_ERR")
  ctl_json "$FERRY_WORK/after.json" config get
  cmp -s "$FERRY_WORK/running.json" "$FERRY_WORK/after.json" \
    || fail "case $n ($what): the refused apply changed the running config: $(diff "$FERRY_WORK/running.json" "$FERRY_WORK/after.json" | head -n 10)"
  # The same file through ValidateConfig.
  if [ "$code" = "$IA" ]; then
    ctl_expect 1 config validate -f "$file"
    expect_in "$CTL_OUT$CTL_ERR" "is invalid" "case $n ($what): validate"
    expect_in "$CTL_OUT$CTL_ERR" "field: $path" "case $n ($what): validate"
  else
    ctl config validate -f "$file"
    expect_in "$CTL_OUT" "needs a restart of ferryd ($path changes)" "case $n ($what): validate"
  fi
  log "  $n. $what: ${refusal#ferryctl: config apply: }"
done
# The JSON form of an invalid ValidateConfig answer (exit 1 still).
ctl_expect 1 -o json config validate -f "$FERRY_WORK/case.7.textproto"
printf '%s\n' "$CTL_OUT" >"$FERRY_WORK/validate.json"
[ "$(jv "$FERRY_WORK/validate.json" '(d["valid"], d["field"])')" = "(False, 'proxy.listeners[0].port')" ] \
  || fail "validate -o json of port 0: $CTL_OUT"
ctl_alive "${#CASES[@]} refused configs"
[ "$(jv "$FERRY_WORK/after.json" 'd["version"]')" = 1 ] || fail "version moved"

# A request-level refusal: --expected-version of a future version.
ctl_expect 1 config apply -f "$FERRY_WORK/running.textproto" --expected-version 2
expect_in "$CTL_ERR" "ABORTED" "apply with --expected-version 2"

log "one valid live apply: b2 out of web, web on port 8080 as well"
proxy_curl_ids 10
[ "$PROXY_IDS" = "b1=5 b2=5" ] || fail "before: $PROXY_IDS"
cfg_mutate "$FERRY_WORK/running.textproto" "$FERRY_WORK/valid.textproto" "
del p.pools[0].backends[1]
l = p.listeners.add(); l.CopyFrom(p.listeners[0]); l.name = 'web2'; l.port = 8080"
ctl config validate -f "$FERRY_WORK/valid.textproto"
expect_in "$CTL_OUT" "is valid and applies live" "validate of the valid config"
ctl config apply -f "$FERRY_WORK/valid.textproto" --expected-version 1
expect_in "$CTL_OUT" "config version 1 -> 2" "the valid apply"
expect_in "$CTL_OUT" "backend web/b2 removed" "the valid apply"
expect_in "$CTL_OUT" "listener web2 added" "the valid apply"
ctl config diff -f "$FERRY_WORK/valid.textproto"
expect_in "$CTL_OUT" "no differences" "diff after the valid apply"
proxy_curl_ids 10
[ "$PROXY_IDS" = "b1=10" ] || fail "after the apply, :80: $PROXY_IDS"
PROXY_URL=http://$FERRY_ADDR:8080 proxy_curl_ids 10
[ "$PROXY_IDS" = "b1=10" ] || fail "after the apply, :8080: $PROXY_IDS"
ctl status
expect_in "$CTL_OUT" "config version 2," "status after the apply"

ferry_stop
log "PASS control_config"
