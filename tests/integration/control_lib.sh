# shellcheck shell=bash disable=SC2034  # (variables set here are read by the tests)
# Helpers for the control plane's tests (control_*_test.sh): ferryctl against the real ferryd
# through its real socket, on proxy_lib.sh's topology. Sources proxy_lib.sh (and so lib.sh,
# tcp_lib.sh): the same rules hold.
#
#   ctl_expect RC ARGS...   ferryctl --socket $FERRY_SOCKET ARGS (at most 20 s); fails unless
#                           it exits RC; its output is in CTL_OUT and CTL_ERR
#   ctl ARGS...             ctl_expect 0
#   jv FILE EXPR            a Python expression over the JSON in FILE (as d), printed
#   cfg_mutate IN OUT PY    OUT is config IN (text format) after the Python statements PY ran
#                           on it (as c, a ferry.v1.Config; p is c.proxy)
source "$(dirname "${BASH_SOURCE[0]}")/proxy_lib.sh"

[ -n "${FERRYCTL:-}" ] && [ -x "$FERRYCTL" ] || { echo "FERRYCTL must name the ferryctl binary"; exit 77; }
CONTROL_DIR=$PROXY_DIR
CONTROL_GRPC=$CONTROL_DIR/control_grpc.py
CONTROL_METRICS_CHECK=$CONTROL_DIR/control_metrics_check.py
CONTROL_PROTO_DIR=$(cd "$CONTROL_DIR/../../lib/control/proto" && pwd)

# Ports for control.grpc_port and control.metrics_port on 127.0.0.1: two per test id, in
# 20000..29999, so that tests running side by side do not collide.
CONTROL_GRPC_PORT=$((20000 + (FERRY_ID % 5000) * 2))
CONTROL_METRICS_PORT=$((CONTROL_GRPC_PORT + 1))

CTL_OUT=
CTL_ERR=
CTL_RC=
ctl_run() {
  CTL_RC=0
  timeout -k 2 20 "$FERRYCTL" --socket "$FERRY_SOCKET" "$@" >"$FERRY_WORK/ctl.out" \
    2>"$FERRY_WORK/ctl.err" || CTL_RC=$?
  CTL_OUT=$(cat "$FERRY_WORK/ctl.out")
  CTL_ERR=$(cat "$FERRY_WORK/ctl.err")
}
ctl_expect() {
  local want=$1
  shift
  ctl_run "$@"
  [ "$CTL_RC" = "$want" ] \
    || fail "ferryctl $*: exit $CTL_RC, want $want; stdout: $(head -c 600 <<<"$CTL_OUT"); stderr: $(head -c 600 <<<"$CTL_ERR")"
}
ctl() { ctl_expect 0 "$@"; }

# Fails unless text $1 contains the fixed string $2 ($3 says what the text is).
expect_in() {
  grep -qF -- "$2" <<<"$1" || fail "${3:-output}: no '$2' in: $(head -c 800 <<<"$1")"
}
expect_not_in() {
  ! grep -qF -- "$2" <<<"$1" || fail "${3:-output}: '$2' should not be in: $(head -c 800 <<<"$1")"
}

# A Python expression over the JSON document in file $1 (bound to d).
jv() {
  "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# ferryctl -o json ARGS into file $1.
ctl_json() {
  local file=$1
  shift
  ctl -o json "$@"
  printf '%s\n' "$CTL_OUT" >"$file"
}

# The running config's version.
ctl_version() {
  ctl_json "$FERRY_WORK/version.json" config get
  jv "$FERRY_WORK/version.json" 'd["version"]'
}

# ferryd still runs and answers: its process is there and `ferryctl status` works.
ctl_alive() {
  kill -0 "$FERRYD_PID" 2>/dev/null || fail "ferryd (pid $FERRYD_PID) is gone${1:+ after $1}"
  ctl_run status
  [ "$CTL_RC" = 0 ] || fail "ferryctl status after ${1:-that}: exit $CTL_RC: $CTL_ERR"
}

# State (BACKEND_STATE_...) of backend $2 of pool $1 in a fresh `stats -o json`, or "absent".
ctl_backend_state() {
  ctl_json "$FERRY_WORK/state.json" stats
  jv "$FERRY_WORK/state.json" \
    "next((b['state'] for b in d['backends'] if b['pool'] == '$1' and b['name'] == '$2'), 'absent')"
}
ctl__state_is() { [ "$(ctl_backend_state "$1" "$2")" = "$3" ]; }
# Waits (at most $4 s) until backend $1/$2 is in state $3.
ctl_wait_state() {
  local limit=$4 deadline=$((SECONDS + $4))
  until ctl__state_is "$1" "$2" "$3"; do
    [ $SECONDS -lt $deadline ] || fail "backend $1/$2 is $(ctl_backend_state "$1" "$2"), not $3, after $limit s"
    sleep 0.2
  done
}

# Metric $3 of listener $1 (kind "listener") or of backend POOL/NAME ($1 "backend", $2
# "POOL/NAME") or global ($1 "global") in the stats JSON file $4.
stat_of() {
  local kind=$1 who=$2 name=$3 file=$4
  case $kind in
    global) jv "$file" "next((m['value'] for m in d['global']['metrics'] if m['name'] == '$name'), 'absent')" ;;
    listener) jv "$file" "next((m['value'] for l in d['listeners'] if l['name'] == '$who' for m in l['stats']['metrics'] if m['name'] == '$name'), 'absent')" ;;
    backend) jv "$file" "next((m['value'] for b in d['backends'] if b['pool'] + '/' + b['name'] == '$who' for m in b['stats']['metrics'] if m['name'] == '$name'), 'absent')" ;;
  esac
}

# ---- configs as messages -----------------------------------------------------------------
# config.proto compiled for Python once per test (Debian's python3-protobuf, which comes with
# python3-grpcio), so that mutations are written against the fields, not the text's layout.
CONTROL_PB=
control__pb() {
  [ -z "$CONTROL_PB" ] || return 0
  CONTROL_PB=$FERRY_WORK/pb
  mkdir -p "$CONTROL_PB"
  protoc -I "$CONTROL_PROTO_DIR" --python_out="$CONTROL_PB" ferry/v1/config.proto \
    || fail "protoc --python_out of config.proto failed"
}
cfg_mutate() {
  control__pb
  "$PY" - "$CONTROL_PB" "$1" "$2" "$3" <<'PYTHON' || fail "cfg_mutate '$3' failed"
import sys
sys.path.insert(0, sys.argv[1])
from google.protobuf import text_format
from ferry.v1 import config_pb2
c = config_pb2.Config()
text_format.Parse(open(sys.argv[2]).read(), c)
p = c.proxy
exec(sys.argv[4], {'c': c, 'p': p, 'config_pb2': config_pb2})
with open(sys.argv[3], 'w') as f:
    f.write(text_format.MessageToString(c))
PYTHON
}

# Serialized ApplyConfigRequest { config: <text file $1> expected_version: $2 } into file $3,
# encoded against a copy of the protos in which message $4 (e.g. BackendPool) has one more
# field, `future_field` = $5 (uint32), which ferryd does not know; $6 is Python statements
# run on the config (as in cfg_mutate) that may set it.
encode_with_unknown() {
  local text=$1 version=$2 out=$3 message=$4 number=$5 mutation=$6 dir=$FERRY_WORK/proto-future
  rm -rf "$dir"
  cp -r "$CONTROL_PROTO_DIR" "$dir"
  "$PY" - "$dir/ferry/v1/config.proto" "$message" "$number" <<'PYTHON' || fail "patching config.proto failed"
import re, sys
path, message, number = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
new, n = re.subn(r'(\nmessage %s \{\n)' % re.escape(message),
                 r'\1  uint32 future_field = %s;\n' % number, text, count=1)
assert n == 1, 'no message ' + message
open(path, 'w').write(new)
PYTHON
  mkdir -p "$dir/py"
  protoc -I "$dir" --python_out="$dir/py" ferry/v1/config.proto || fail "protoc (future) failed"
  "$PY" - "$dir/py" "$text" "$version" "$out" "$mutation" <<'PYTHON' || fail "encoding failed"
import sys
sys.path.insert(0, sys.argv[1])
from google.protobuf import text_format
from ferry.v1 import config_pb2
c = config_pb2.Config()
text_format.Parse(open(sys.argv[2]).read(), c)
p = c.proxy
exec(sys.argv[5], {'c': c, 'p': p})
config = c.SerializeToString()
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)
# ApplyConfigRequest: config = 1 (length-delimited), expected_version = 2 (varint).
request = b'\x0a' + varint(len(config)) + config + b'\x10' + varint(int(sys.argv[3]))
open(sys.argv[4], 'wb').write(request)
PYTHON
}

# A raw gRPC call (control_grpc.py unary) to method $1 with the request bytes in file $2 ("-"
# for an empty one), on the Unix socket; its "STATUS CODE details" line goes to GRPC_STATUS,
# the response's bytes to $FERRY_WORK/grpc.response.
GRPC_STATUS=
grpc_raw() {
  rm -f "$FERRY_WORK/grpc.response"
  GRPC_STATUS=$(timeout -k 2 30 "$PY" "$CONTROL_GRPC" unary "unix:$FERRY_SOCKET" "$1" "$2" \
    --out "$FERRY_WORK/grpc.response") || fail "control_grpc.py $1 failed: $GRPC_STATUS"
}
# The last grpc_raw's response as message $1 (e.g. ferry.v1.ValidateConfigResponse), in text
# format.
grpc_response_text() {
  protoc -I "$CONTROL_PROTO_DIR" --decode="$1" ferry/v1/service.proto <"$FERRY_WORK/grpc.response"
}
