#!/usr/bin/python3
"""Raw gRPC calls to ferryd's control service for the bad-input cases of
tests/integration/control_cli_test.sh: the request is sent as given bytes (no client-side
schema), so that a test can send malformed bytes, unknown fields or an oversized message.
Needs Debian's python3-grpcio. Every call has a deadline.

usage:
  control_grpc.py unary TARGET METHOD REQUEST_FILE [--out FILE] [--timeout S]
      Calls METHOD ("/ferry.v1.Ferry/ApplyConfig") with REQUEST_FILE's bytes as the request
      ("-": none, an empty message); the response's bytes go to --out. Prints one line:
        STATUS <CODE> <details>
      and exits 0 whatever the status was (the test judges it); 2 on a local error.
  control_grpc.py watch-cancel TARGET [--timeout S]
      Opens WatchStats (interval 100 ms, no count), reads one message and cancels the call:
      a client that goes away mid-stream. Prints "RECEIVED 1" then "STATUS CANCELLED".
  control_grpc.py garbage-frame TARGET METHOD [--timeout S]
      A gRPC frame whose length prefix says 64 bytes but carries 3, then the stream's end:
      a truncated message. Prints STATUS as for unary.

TARGET is what grpc dials: "unix:/run/ferry/x.sock" or "127.0.0.1:PORT".
"""
import argparse
import sys

import grpc


def channel(target):
    # No client-side limit on what is sent: the server must be the one that refuses.
    return grpc.insecure_channel(target, options=[("grpc.max_send_message_length", -1),
                                                  ("grpc.max_receive_message_length", -1)])


def report(code, details):
    details = (details or "").replace("\n", " ")
    print(f"STATUS {code.name} {details}", flush=True)


def unary(args):
    data = b"" if args.request == "-" else open(args.request, "rb").read()
    with channel(args.target) as ch:
        call = ch.unary_unary(args.method)  # no serializers: bytes in, bytes out
        try:
            response = call(data, timeout=args.timeout)
            if args.out:
                with open(args.out, "wb") as f:
                    f.write(response)
            report(grpc.StatusCode.OK, f"response {len(response)} bytes")
        except grpc.RpcError as e:
            report(e.code(), e.details())


def watch_cancel(args):
    # WatchStatsRequest { interval_ms: 100 }: field 1, varint 100.
    request = bytes([0x08, 100])
    with channel(args.target) as ch:
        call = ch.unary_stream("/ferry.v1.Ferry/WatchStats")
        stream = call(request, timeout=args.timeout)
        try:
            next(stream)
            print("RECEIVED 1", flush=True)
            stream.cancel()
            next(stream)
            report(grpc.StatusCode.OK, "stream went on after cancel")
        except grpc.RpcError as e:
            report(e.code(), e.details())
        except StopIteration:
            report(grpc.StatusCode.OK, "stream ended")


def garbage_frame(args):
    # The request serializer returns the frame's payload; gRPC adds the 5-byte prefix itself.
    # To lie about the length, the payload is a gRPC frame of its own inside a bytes value
    # that does not parse as the request message: a field-1 length-delimited value claiming
    # 64 bytes, followed by only 3.
    data = bytes([0x0a, 64, 1, 2, 3])
    with channel(args.target) as ch:
        call = ch.unary_unary(args.method)
        try:
            response = call(data, timeout=args.timeout)
            report(grpc.StatusCode.OK, f"response {len(response)} bytes")
        except grpc.RpcError as e:
            report(e.code(), e.details())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["unary", "watch-cancel", "garbage-frame"])
    p.add_argument("target")
    p.add_argument("method", nargs="?")
    p.add_argument("request", nargs="?")
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--out")
    args = p.parse_args()
    try:
        if args.mode == "unary":
            if not args.method or not args.request:
                p.error("unary needs METHOD and REQUEST_FILE")
            unary(args)
        elif args.mode == "watch-cancel":
            watch_cancel(args)
        else:
            if not args.method:
                p.error("garbage-frame needs METHOD")
            garbage_frame(args)
    except OSError as e:
        print(f"control_grpc.py: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
