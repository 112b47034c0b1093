#!/usr/bin/python3
"""Byte streams through ferry's proxy, checked at both ends (tests/integration/proxy_*_test.sh).

A server (the backend, in the backend namespace) and a client (in the client namespace) each
send a seeded pseudo-random stream and read the other's: the client's stream is "up", the
server's "down", and both ends know the seed and both lengths, so each can check what it
received (count and sha256) on its own; the shell also compares one end's sent_sha256 with the
other's received_sha256. Every run is bounded: an overall deadline (--timeout) and a stall limit
(no progress on a blocking send or receive for --stall-limit seconds).

Order of the two directions on a connection (--order):
  both        send and receive at once; shut down the sending side (SHUT_WR) when done sending,
              then read until EOF.
  send-first  send everything, SHUT_WR, then read until EOF.
  recv-first  read until EOF, then send everything and SHUT_WR: the peer has half-closed and
              this side still sends (or, with --send 0, only reads).

--stall makes the reading side wait for SIGUSR1 (printing "STALLED pid=P") before its first
read: the backpressure tests hold a reader still while the other end pushes.
--progress N prints "PROGRESS received=X" each time another N bytes have arrived.

usage:
  proxy_stream.py serve ADDR:PORT --send N --expect M [--conns K] [options]
      Listens (printing "LISTENING ADDR:PORT pid=P"), serves K connections one after the other
      and exits 0 only if every one was fully correct.
  proxy_stream.py connect ADDR:PORT --send N --expect M [--bind ADDR] [options]
      One connection (printing "CONNECTED local=ADDR:PORT"); exits 0 only if it was correct.

Each connection ends with one line
  RESULT role=client ok=1 sent=N sent_sha256=H received=M received_sha256=H end=eof
         send_error=- seconds=S mb_per_s=R local=ADDR:PORT
where end is how reading stopped (eof, reset, stalled, or an errno name) and send_error how
sending stopped early (- if it did not).
"""
import argparse
import errno
import hashlib
import os
import random
import signal
import socket
import sys
import threading
import time

CHUNK = 65536
BLOCK = 1 << 20
MB = 1 << 20
STALL_SIGNAL = signal.SIGUSR1


def log(msg):
    print(msg, flush=True)


class Stream:
    """The seeded stream of one direction: 64 KiB chunks cut from a 1 MiB random block at
    offsets that change from chunk to chunk, so a lost, repeated or misplaced chunk changes
    the sha256."""

    def __init__(self, seed, direction, size):
        rng = random.Random(f"ferry-proxy-stream-{seed}-{direction}")
        self.block = memoryview(rng.randbytes(BLOCK + CHUNK))
        self.size = size

    def chunks(self):
        done = 0
        k = 0
        while done < self.size:
            n = min(CHUNK, self.size - done)
            off = (k * 7919 * 61) % BLOCK
            yield self.block[off:off + n]
            done += n
            k += 1

    def sha256(self):
        h = hashlib.sha256()
        for c in self.chunks():
            h.update(c)
        return h.hexdigest()


def error_name(e):
    if isinstance(e, socket.timeout):
        return "stalled"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, BrokenPipeError):
        return "EPIPE"
    if getattr(e, "errno", None):
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


class Transfer:
    """Both directions of one connection; the receiving half always runs on the main thread
    (signals, including the deadline's SIGALRM and --stall's SIGUSR1, are taken there)."""

    def __init__(self, sock, role, args):
        self.sock = sock
        self.role = role
        self.args = args
        mine, theirs = ("up", "down") if role == "client" else ("down", "up")
        self.out = Stream(args.seed, mine, args.send)
        self.theirs = (args.seed, theirs, args.expect)
        self.sent = 0
        self.received = 0
        self.sent_hash = hashlib.sha256()
        self.received_hash = hashlib.sha256()
        self.end = None
        self.send_error = None
        self.start = time.monotonic()
        self.local = "%s:%d" % sock.getsockname()

    def send_all(self):
        try:
            for c in self.out.chunks():
                self.sock.sendall(c)
                self.sent += len(c)
                self.sent_hash.update(c)
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.send_error = error_name(e)

    def receive_all(self):
        if self.args.stall:
            log(f"STALLED pid={os.getpid()}")
            if signal.sigtimedwait([STALL_SIGNAL], self.args.timeout) is None:
                self.end = "never-resumed"
                return
            log("RESUMED")
        buf = bytearray(256 * 1024)
        view = memoryview(buf)
        next_progress = self.args.progress or 0
        while True:
            try:
                n = self.sock.recv_into(buf)
            except OSError as e:
                self.end = error_name(e)
                return
            if n == 0:
                self.end = "eof"
                return
            self.received += n
            self.received_hash.update(view[:n])
            if next_progress and self.received >= next_progress:
                log(f"PROGRESS received={self.received}")
                while next_progress <= self.received:
                    next_progress += self.args.progress

    def run(self):
        order = self.args.order
        if order == "both":
            sender = threading.Thread(target=self.send_all, daemon=True)
            sender.start()
            self.receive_all()
            # Sending is bounded by the stall limit on each sendall.
            sender.join()
        elif order == "send-first":
            self.send_all()
            self.receive_all()
        else:
            self.receive_all()
            if self.end == "eof":
                self.send_all()
            else:
                self.send_error = "not-started"
        return self.report()

    def report(self):
        seconds = max(time.monotonic() - self.start, 1e-6)
        received_sha = self.received_hash.hexdigest()
        ok = (self.end == "eof" and self.send_error is None and self.sent == self.args.send
              and self.received == self.args.expect
              and received_sha == Stream(*self.theirs).sha256())
        log(f"RESULT role={self.role} ok={int(ok)} sent={self.sent} "
            f"sent_sha256={self.sent_hash.hexdigest()} received={self.received} "
            f"received_sha256={received_sha} end={self.end} send_error={self.send_error or '-'} "
            f"seconds={seconds:.3f} mb_per_s={(self.sent + self.received) / MB / seconds:.1f} "
            f"local={self.local}")
        return ok


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def prepare(sock, args):
    if args.rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
    if args.sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.sndbuf)


def serve(args):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    prepare(listener, args)  # accepted sockets inherit the buffer sizes
    listener.bind(address(args.address))
    listener.listen(64)
    log(f"LISTENING {args.address} pid={os.getpid()}")
    all_ok = True
    for _ in range(args.conns):
        sock, peer = listener.accept()
        sock.settimeout(args.stall_limit)
        log(f"ACCEPTED from={peer[0]}:{peer[1]}")
        all_ok &= Transfer(sock, "server", args).run()
        sock.close()
    return all_ok


def connect(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    prepare(sock, args)
    if args.bind:
        sock.bind((args.bind, 0))
    sock.settimeout(10)
    try:
        sock.connect(address(args.address))
    except OSError as e:
        log(f"RESULT role=client ok=0 sent=0 received=0 end=connect-{error_name(e)} "
            f"send_error=- seconds=0 mb_per_s=0 local=-")
        return False
    sock.settimeout(args.stall_limit)
    log("CONNECTED local=%s:%d" % sock.getsockname())
    ok = Transfer(sock, "client", args).run()
    sock.close()
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["serve", "connect"])
    p.add_argument("address", help="ADDR:PORT to listen on or connect to")
    p.add_argument("--send", type=int, default=0, help="bytes this side sends")
    p.add_argument("--expect", type=int, default=0, help="bytes this side must receive")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--order", choices=["both", "send-first", "recv-first"], default="both")
    p.add_argument("--conns", type=int, default=1, help="serve: connections to serve")
    p.add_argument("--bind", help="connect: local address")
    p.add_argument("--stall", action="store_true", help="wait for SIGUSR1 before reading")
    p.add_argument("--progress", type=int, default=0)
    p.add_argument("--rcvbuf", type=int, default=0)
    p.add_argument("--sndbuf", type=int, default=0)
    p.add_argument("--timeout", type=float, default=120, help="overall deadline, s")
    p.add_argument("--stall-limit", type=float, default=30,
                   help="longest wait on one send or receive, s")
    args = p.parse_args()

    # Before any thread starts, so that every thread inherits the mask and SIGUSR1 stays
    # pending until the reader takes it.
    signal.pthread_sigmask(signal.SIG_BLOCK, [STALL_SIGNAL])

    def deadline(signum, frame):
        role = "client" if args.mode == "connect" else "server"
        log(f"RESULT role={role} ok=0 end=deadline seconds={args.timeout}")
        os._exit(3)

    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(int(args.timeout) + 1)
    ok = serve(args) if args.mode == "serve" else connect(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
