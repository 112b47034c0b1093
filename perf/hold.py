#!/usr/bin/python3
"""Idle proxied connections for perf/run.sh (the idle workload): servers that accept and hold
connections, echoing whatever arrives, and clients that open them, hold them until told
(SIGUSR1), check a sample end to end, and close them all. One process holds at most about
19,000 sockets (20,000 open files per process, hard limit): run.sh spreads larger counts over
several processes (servers share the port with SO_REUSEPORT; clients bind distinct addresses).
Every wait is bounded (--timeout).

  hold.py serve ADDR:PORT [--timeout T]
      Prints "LISTENING", then "HELD N" whenever its count of open connections changes and
      has been stable for 0.2 s. Exits 0 on SIGTERM or at the deadline.
  hold.py connect ADDR:PORT --conns N [--bind ADDR] [--in-flight K] [--sample S] [--timeout T]
      Opens N connections, at most K handshakes at once; prints "ESTABLISHED N SECONDS" once
      every one is up (exit 1 at the first failure), then waits for SIGUSR1; then sends a
      distinct line on S connections spread over the set, expects each echoed, prints
      "ECHOED S" ("SLOW ..." for an echo that took over 1 s), waits for a second SIGUSR1,
      closes every connection and prints "RESULT ok=1 conns=N established_s=T echoed=S".
"""
import argparse
import errno
import os
import resource
import selectors
import signal
import socket
import sys
import time


def log(msg):
    print(msg, flush=True)


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def serve(args):
    raise_nofile(19_800)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(address(args.address))
    listener.listen(4096)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    log(f"LISTENING {args.address} pid={os.getpid()}")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + args.timeout
    held = reported = 0
    last_change = time.monotonic()
    while not stop and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            if key.data is None:
                while True:
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        break
                    except OSError as e:
                        log(f"FAILED accept: {e}")
                        return False
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, "conn")
                    held += 1
                    last_change = time.monotonic()
            else:
                conn = key.fileobj
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if data:
                    try:
                        conn.send(data)
                    except OSError:
                        pass
                else:
                    sel.unregister(conn)
                    conn.close()
                    held -= 1
                    last_change = time.monotonic()
        if held != reported and time.monotonic() - last_change >= 0.2:
            log(f"HELD {held}")
            reported = held
    return True


def connect(args):
    raise_nofile(args.conns + 100)
    target = address(args.address)
    sel = selectors.DefaultSelector()
    socks = []
    pending = opened = established = 0
    start = time.monotonic()
    deadline = start + args.timeout
    while established < args.conns:
        if time.monotonic() > deadline:
            log(f"FAILED: {established} of {args.conns} established at the deadline")
            return False
        while opened < args.conns and pending < args.in_flight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            if args.bind:
                s.bind((args.bind, 0))
            rc = s.connect_ex(target)
            if rc not in (0, errno.EINPROGRESS):
                log(f"FAILED: connect #{opened}: {errno.errorcode.get(rc, rc)}")
                return False
            sel.register(s, selectors.EVENT_WRITE, opened)
            socks.append(s)
            opened += 1
            pending += 1
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                log(f"FAILED: connection #{key.data}: {errno.errorcode.get(err, err)}")
                return False
            sel.unregister(s)
            pending -= 1
            established += 1
    established_s = time.monotonic() - start
    log(f"ESTABLISHED {established} {established_s:.2f}")

    if signal.sigtimedwait([signal.SIGUSR1], max(deadline - time.monotonic(), 1)) is None:
        log("FAILED: no SIGUSR1 before the deadline")
        return False
    step = max(len(socks) // max(args.sample, 1), 1)
    sample = socks[::step][:args.sample]
    for i, s in enumerate(sample):
        s.setblocking(True)
        s.settimeout(args.echo_timeout)
        line = f"ping {i} {os.getpid()}\n".encode()
        t0 = time.monotonic()
        try:
            s.sendall(line)
            got = b""
            while len(got) < len(line):
                chunk = s.recv(len(line) - len(got))
                if not chunk:
                    break
                got += chunk
        except OSError as e:
            log(f"FAILED: echo on sample {i} ({s.getsockname()[0]}:{s.getsockname()[1]}): {e}")
            return False
        if time.monotonic() - t0 > 1:
            log(f"SLOW: echo on sample {i} ({s.getsockname()[0]}:{s.getsockname()[1]}) took "
                f"{time.monotonic() - t0:.1f} s")
        if got != line:
            log(f"FAILED: echo on sample {i}: sent {line!r}, got {got!r}")
            return False
    log(f"ECHOED {len(sample)}")
    # Closing waits for a second SIGUSR1, so that every client's echoes run while all the
    # connections are idle, not during another client's burst of closes.
    if signal.sigtimedwait([signal.SIGUSR1], max(deadline - time.monotonic(), 1)) is None:
        log("FAILED: no second SIGUSR1 before the deadline")
        return False
    for s in socks:
        s.close()
    log(f"RESULT ok=1 conns={len(socks)} established_s={established_s:.2f} echoed={len(sample)}")
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["serve", "connect"])
    p.add_argument("address")
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--in-flight", type=int, default=256)
    p.add_argument("--sample", type=int, default=50)
    p.add_argument("--bind")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--echo-timeout", type=float, default=30)
    args = p.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    ok = serve(args) if args.mode == "serve" else connect(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
