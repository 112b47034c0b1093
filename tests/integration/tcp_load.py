#!/usr/bin/python3
"""Linux-side TCP clients for ferryd's diagnostic services (echo, discard, chargen), used by the
interop and fault tests. Every run is bounded: an overall deadline and a stall limit (no byte
moved on any connection for that long). Prints progress and one final line

  RESULT mode=echo ok=1 conns=200 bytes=... seconds=... mb_per_s=...

and exits 0 only if every check passed (sizes, sha256, pattern, clean close).

usage:
  tcp_load.py echo HOST PORT --bytes N [--conns C] [--seed S] [--timeout T] [--stall T]
      Each of C connections sends N bytes of seeded pseudo-random data, then shuts down its
      sending side (SHUT_WR), while reading the echo until EOF; the sha256 of what came back must
      equal the sha256 of what was sent, and the byte counts must match.
  tcp_load.py discard HOST PORT --bytes N
      Sends N bytes, shuts down the sending side, and expects the server to close with no data
      and no reset.
  tcp_load.py chargen HOST PORT --bytes N
      Reads N bytes and checks them byte for byte against the RFC 864 pattern (95 printable
      characters, 72 to a line, each line starting one character later, CR LF), then shuts down
      its side and reads on (still checking) to see whether the server closes too.
"""
import argparse
import errno
import hashlib
import random
import selectors
import socket
import sys
import time

MB = 1 << 20


def log(msg):
    print(msg, flush=True)


class Failure(Exception):
    pass


# --------------------------------------------------------------------------------------------
# echo


class EchoConnection:
    """One echo connection driven by the selector loop; sends and receives concurrently."""

    def __init__(self, index, seed, nbytes, chunk):
        self.index = index
        self.rng = random.Random(seed * 1_000_003 + index)
        self.to_generate = nbytes
        self.nbytes = nbytes
        self.chunk = chunk
        self.pending = memoryview(b"")
        self.sent = 0
        self.received = 0
        self.sent_hash = hashlib.sha256()
        self.received_hash = hashlib.sha256()
        self.connected = False
        self.shut_wr = False
        self.eof = False
        self.error = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)

    def state(self):
        return (f"conn {self.index}: connected={int(self.connected)} sent={self.sent} "
                f"received={self.received} shut_wr={int(self.shut_wr)} eof={int(self.eof)} "
                f"error={self.error}")

    def events(self):
        ev = 0
        if not self.connected or not self.shut_wr:
            ev |= selectors.EVENT_WRITE
        if self.connected and not self.eof:
            ev |= selectors.EVENT_READ
        return ev

    def on_writable(self):
        """Returns bytes moved."""
        if not self.connected:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise Failure(f"conn {self.index}: connect: {errno.errorcode.get(err, err)}")
            self.connected = True
            return 0
        moved = 0
        for _ in range(16):  # bounded per wake-up, so that reading gets its turn
            if not self.pending:
                if self.to_generate == 0:
                    self.sock.shutdown(socket.SHUT_WR)
                    self.shut_wr = True
                    break
                n = min(self.chunk, self.to_generate)
                data = self.rng.randbytes(n)
                self.sent_hash.update(data)
                self.to_generate -= n
                self.pending = memoryview(data)
            try:
                n = self.sock.send(self.pending)
            except BlockingIOError:
                break
            self.pending = self.pending[n:]
            self.sent += n
            moved += n
        return moved

    def on_readable(self, buf):
        moved = 0
        view = memoryview(buf)
        for _ in range(16):
            try:
                n = self.sock.recv_into(buf)
            except BlockingIOError:
                break
            if n == 0:
                self.eof = True
                break
            self.received_hash.update(view[:n])
            self.received += n
            moved += n
            if self.received > self.nbytes:
                raise Failure(f"conn {self.index}: echo returned {self.received} bytes, more "
                              f"than the {self.nbytes} sent")
        return moved

    def done(self):
        return self.shut_wr and self.eof


def run_echo(args):
    conns = [EchoConnection(i, args.seed, args.bytes, args.chunk) for i in range(args.conns)]
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    deadline = start + args.timeout
    for c in conns:
        rc = c.sock.connect_ex((args.host, args.port))
        if rc not in (0, errno.EINPROGRESS):
            raise Failure(f"conn {c.index}: connect: {errno.errorcode.get(rc, rc)}")
        sel.register(c.sock, c.events(), c)
    buf = bytearray(256 * 1024)
    active = len(conns)
    last_progress = start
    next_report = start + 5
    total = 0
    try:
        while active:
            now = time.monotonic()
            if now > deadline:
                raise Failure(f"deadline of {args.timeout} s passed with {active} connections "
                              "unfinished")
            if now - last_progress > args.stall:
                raise Failure(f"stall: no byte moved on any connection for {args.stall} s")
            if now >= next_report:
                log(f"  {total / MB:.1f} MB moved (both ways) in {now - start:.1f} s, "
                    f"{active} connections open")
                next_report = now + 5
            for key, mask in sel.select(timeout=0.5):
                c = key.data
                moved = 0
                try:
                    if mask & selectors.EVENT_WRITE:
                        moved += c.on_writable()
                    if mask & selectors.EVENT_READ and c.connected:
                        moved += c.on_readable(buf)
                except OSError as e:
                    raise Failure(f"conn {c.index}: {e!r}")
                if moved:
                    total += moved
                    last_progress = time.monotonic()
                if c.done():
                    sel.unregister(c.sock)
                    c.sock.close()
                    active -= 1
                else:
                    ev = c.events()
                    if ev != key.events:
                        sel.modify(c.sock, ev, c)
    except Failure:
        unfinished = [c for c in conns if not c.done()]
        for c in unfinished[:10]:
            log("  " + c.state())
        if len(unfinished) > 10:
            log(f"  ... and {len(unfinished) - 10} more unfinished")
        raise
    finally:
        for c in conns:
            if c.sock.fileno() >= 0:
                c.sock.close()
    seconds = time.monotonic() - start
    bad = 0
    for c in conns:
        if c.received != c.nbytes or c.sent != c.nbytes:
            log(f"  conn {c.index}: sent {c.sent}, echoed {c.received}, want {c.nbytes}")
            bad += 1
        elif c.sent_hash.digest() != c.received_hash.digest():
            log(f"  conn {c.index}: sha256 sent {c.sent_hash.hexdigest()} != echoed "
                f"{c.received_hash.hexdigest()}")
            bad += 1
    if len(conns) == 1:
        log(f"  sha256 sent {conns[0].sent_hash.hexdigest()}")
        log(f"  sha256 echo {conns[0].received_hash.hexdigest()}")
    if bad:
        raise Failure(f"{bad} of {len(conns)} connections did not echo byte-exact")
    each_way = args.bytes * args.conns
    return seconds, each_way


# --------------------------------------------------------------------------------------------
# discard


def run_discard(args):
    start = time.monotonic()
    block = random.Random(args.seed).randbytes(MB)
    with socket.create_connection((args.host, args.port), timeout=args.stall) as s:
        left = args.bytes
        view = memoryview(block)
        while left:
            if time.monotonic() - start > args.timeout:
                raise Failure(f"deadline of {args.timeout} s passed with {left} bytes unsent")
            n = min(left, len(block))
            s.sendall(view[:n])
            left -= n
        s.shutdown(socket.SHUT_WR)
        sent_at = time.monotonic()
        # The server must close its side once it has our FIN (RFC 863 sends nothing back).
        try:
            data = s.recv(65536)
        except socket.timeout:
            raise Failure(f"no FIN from the discard server {args.stall} s after ours")
        except ConnectionResetError:
            raise Failure("discard server reset the connection instead of closing it")
        if data:
            raise Failure(f"discard server sent {len(data)} bytes")
        log(f"  server closed {1000 * (time.monotonic() - sent_at):.1f} ms after our FIN")
    return time.monotonic() - start, args.bytes


# --------------------------------------------------------------------------------------------
# chargen

CHARGEN_CHARS = bytes(range(32, 127))  # the 95 printable ASCII characters
CHARGEN_LINE = 72


def chargen_cycle():
    """The whole RFC 864 stream repeats after 95 lines of 74 bytes."""
    lines = []
    for i in range(len(CHARGEN_CHARS)):
        lines.append(bytes(CHARGEN_CHARS[(i + j) % 95] for j in range(CHARGEN_LINE)) + b"\r\n")
    return b"".join(lines)


def run_chargen(args):
    cycle = chargen_cycle()
    period = len(cycle)
    start = time.monotonic()
    with socket.create_connection((args.host, args.port), timeout=args.stall) as s:
        buf = bytearray(256 * 1024)
        view = memoryview(buf)
        rep = cycle * (len(buf) // period + 4)
        head = bytearray()
        phase = None
        got = 0
        while got < args.bytes:
            if time.monotonic() - start > args.timeout:
                raise Failure(f"deadline of {args.timeout} s passed after {got} bytes")
            try:
                n = s.recv_into(buf)
            except socket.timeout:
                raise Failure(f"stall: nothing from chargen for {args.stall} s after {got} bytes")
            if n == 0:
                raise Failure(f"chargen closed after {got} bytes")
            data = view[:n]
            if phase is None:
                # Where in the cycle the server starts: found from the first two lines.
                head += data
                if len(head) < 2 * (CHARGEN_LINE + 2):
                    continue
                found = (cycle + cycle).find(bytes(head[:2 * (CHARGEN_LINE + 2)]))
                if found < 0 or found >= period:
                    raise Failure(f"chargen stream does not follow RFC 864: starts "
                                  f"{bytes(head[:80])!r}")
                phase = found
                log(f"  chargen starts at offset {phase} of the {period}-byte cycle "
                    f"(first byte {chr(cycle[phase])!r})")
                data = memoryview(bytes(head))
                n = len(data)
            off = (phase + got) % period
            if data != rep[off:off + n]:
                for k in range(n):
                    if data[k] != rep[off + k]:
                        raise Failure(f"chargen byte {got + k}: got {data[k]!r}, RFC 864 says "
                                      f"{rep[off + k]!r}")
            got += n
        seconds = time.monotonic() - start
        # Our FIN: a server that honours it closes too; either way the bytes must stay right.
        s.shutdown(socket.SHUT_WR)
        s.settimeout(2)
        closed = False
        extra = 0
        drain_end = time.monotonic() + 3
        try:
            while time.monotonic() < drain_end and extra < 256 * MB:
                n = s.recv_into(buf)
                if n == 0:
                    closed = True
                    break
                off = (phase + got + extra) % period
                if view[:n] != rep[off:off + n]:
                    raise Failure("chargen stream broke the pattern after our FIN")
                extra += n
        except socket.timeout:
            pass
        except ConnectionResetError:
            log("  chargen reset the connection after our FIN")
        log(f"  after our FIN: {extra} more bytes, server "
            f"{'closed' if closed else 'still sending (we close; a RST is expected)'}")
    return seconds, got


# --------------------------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["echo", "discard", "chargen"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--bytes", type=int, required=True, help="bytes per connection")
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--chunk", type=int, default=64 * 1024)
    p.add_argument("--timeout", type=float, default=60, help="overall deadline, s")
    p.add_argument("--stall", type=float, default=15, help="longest time with no progress, s")
    args = p.parse_args()
    run = {"echo": run_echo, "discard": run_discard, "chargen": run_chargen}[args.mode]
    try:
        seconds, nbytes = run(args)
    except Failure as e:
        log(f"FAILED: {args.mode}: {e}")
        print(f"RESULT mode={args.mode} ok=0", flush=True)
        return 1
    except OSError as e:
        log(f"FAILED: {args.mode}: {e!r}")
        print(f"RESULT mode={args.mode} ok=0", flush=True)
        return 1
    rate = nbytes / MB / seconds if seconds > 0 else 0.0
    print(f"RESULT mode={args.mode} ok=1 conns={args.conns} bytes={nbytes} "
          f"seconds={seconds:.2f} mb_per_s={rate:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
