#!/usr/bin/python3
"""Many idle TCP connections (tests/integration/proxy_idle_test.sh): a server that accepts and
holds them, echoing whatever arrives, and a client that opens them, holds them until told
(SIGUSR1), checks a sample of them end to end, and closes them all. One process handles up to
about 19,000 sockets (TESTING.md: at most 20,000 open files per process); both raise their own
soft limit to what they need. Every wait is bounded (--timeout overall).

usage:
  proxy_hold.py serve ADDR:PORT [--timeout T]
      Prints "LISTENING ADDR:PORT pid=P", then "HELD N" whenever the number of open
      connections settles (no accept or close for 0.2 s) at a new value. Exits 0 on SIGTERM or
      at the deadline.
  proxy_hold.py connect ADDR:PORT --conns N [--in-flight K] [--sample S] [--timeout T]
      Opens N connections, at most K handshakes at once; prints "ESTABLISHED N" once every one
      is up (exits 1 at the first failure), then waits for SIGUSR1; then sends a distinct line
      on S connections spread over all of them and expects it echoed, then closes every
      connection and prints
        RESULT ok=1 conns=N established_s=T echoed=S
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
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            sys.exit(f"need {want} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def serve(args):
    raise_nofile(19_500)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address(args.address))
    listener.listen(4096)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    log(f"LISTENING {args.address} pid={os.getpid()}")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + args.timeout
    held = 0
    reported = 0
    last_change = time.monotonic()
    while not stop and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            if key.data is None:
                while True:  # drain the accept queue
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        break
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE):
                            log(f"FAILED accept: {e}")
                            return False
                        raise
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
                        conn.send(data)  # a short line into an empty buffer: fits
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
    pending = 0
    opened = 0
    established = 0
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
            if established % 1000 == 0:
                log(f"progress: {established} established")
    established_s = time.monotonic() - start
    log(f"ESTABLISHED {established} in {established_s:.1f} s")

    if signal.sigtimedwait([signal.SIGUSR1], max(deadline - time.monotonic(), 1)) is None:
        log("FAILED: no SIGUSR1 before the deadline")
        return False

    # A distinct line on connections spread over the whole set, each echoed back through the
    # proxy: held connections still carry data.
    step = max(len(socks) // max(args.sample, 1), 1)
    sample = socks[::step][:args.sample]
    for i, s in enumerate(sample):
        s.setblocking(True)
        s.settimeout(10)
        line = f"ping {i}\n".encode()
        try:
            s.sendall(line)
            got = b""
            while len(got) < len(line):
                chunk = s.recv(len(line) - len(got))
                if not chunk:
                    break
                got += chunk
        except OSError as e:
            log(f"FAILED: echo on sample {i}: {e}")
            return False
        if got != line:
            log(f"FAILED: echo on sample {i}: sent {line!r}, got {got!r}")
            return False
    for s in socks:
        s.close()
    log(f"RESULT ok=1 conns={len(socks)} established_s={established_s:.1f} echoed={len(sample)}")
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["serve", "connect"])
    p.add_argument("address")
    p.add_argument("--conns", type=int, default=10_000)
    p.add_argument("--in-flight", type=int, default=256)
    p.add_argument("--sample", type=int, default=100)
    p.add_argument("--bind")
    p.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    ok = serve(args) if args.mode == "serve" else connect(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
