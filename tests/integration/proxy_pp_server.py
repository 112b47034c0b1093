#!/usr/bin/python3
"""A strict PROXY protocol reader (tests/integration/proxy_protocol_test.sh), to check what
ferry sends its backends more closely than nginx does: nginx 1.22 accepts v1 and v2 but does not
look at TLVs or check a CRC32C.

The PROXY protocol, versions 1 and 2 (haproxy's doc/proxy-protocol.txt):
  v1 (§2.1): one line "PROXY TCP4 SRC DST SPORT DPORT\\r\\n", at most 107 bytes.
  v2 (§2.2): the 12-byte signature, version/command 0x21 (v2, PROXY), family/protocol 0x11
      (TCP over IPv4), a 16-bit length, then source, destination, source port, destination
      port (12 bytes), then TLVs: type (1 byte), length (2), value. A PP2_TYPE_CRC32C TLV
      (0x03, 4 bytes) holds the CRC32C of the whole header computed with that field zeroed
      (§2.2.5).

usage:
  proxy_pp_server.py serve ADDR:PORT [--timeout T]
      Prints "LISTENING ADDR:PORT pid=P"; for every connection reads the header, prints one
      line "HEADER {json}" (version, src, sport, dst, dport, tlvs as hex type -> text,
      crc32c "ok" | "bad" | "absent", error), writes the same JSON line back to the client
      and closes. Runs until SIGTERM or the deadline.
  proxy_pp_server.py connect ADDR:PORT [--bind ADDR]
      Connects, sends one line, prints "LOCAL ADDR:PORT" and the server's JSON line.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import time

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
PP2_TYPE_CRC32C = 0x03


def log(msg):
    print(msg, flush=True)


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli, RFC 3720 §B.4), reflected, init and final xor 0xFFFFFFFF."""
    c = 0xFFFFFFFF
    for b in data:
        c = CRC32C_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ValueError(f"connection ended after {len(data)} of {n} header bytes")
        data += chunk
    return data


def read_header(sock):
    first = recv_exact(sock, 12)
    if first == SIGNATURE:
        return read_v2(sock, first)
    if not first.startswith(b"PROXY "):
        raise ValueError(f"neither a v1 nor a v2 header: {first!r}")
    line = first
    while not line.endswith(b"\r\n"):
        if len(line) >= 107:
            raise ValueError("v1 line longer than 107 bytes")
        line += recv_exact(sock, 1)
    parts = line[:-2].decode("ascii").split(" ")
    if len(parts) != 6 or parts[1] != "TCP4":
        raise ValueError(f"v1 line malformed: {line!r}")
    for a in parts[2:4]:
        socket.inet_aton(a)
    return {"version": 1, "src": parts[2], "dst": parts[3], "sport": int(parts[4]),
            "dport": int(parts[5]), "tlvs": {}, "crc32c": "absent"}


def read_v2(sock, signature):
    fixed = recv_exact(sock, 4)
    ver_cmd, fam, length = struct.unpack("!BBH", fixed)
    if ver_cmd != 0x21:
        raise ValueError(f"v2 version/command 0x{ver_cmd:02x}, want 0x21")
    if fam != 0x11:
        raise ValueError(f"v2 family/protocol 0x{fam:02x}, want 0x11 (TCP over IPv4)")
    if length < 12:
        raise ValueError(f"v2 length {length} < 12")
    body = recv_exact(sock, length)
    src, dst, sport, dport = struct.unpack("!4s4sHH", body[:12])
    out = {"version": 2, "src": socket.inet_ntoa(src), "dst": socket.inet_ntoa(dst),
           "sport": sport, "dport": dport, "tlvs": {}, "crc32c": "absent"}
    pos = 12
    crc_at = None
    while pos < length:
        if pos + 3 > length:
            raise ValueError(f"v2 TLV header cut at {pos}")
        t, n = struct.unpack("!BH", body[pos:pos + 3])
        if pos + 3 + n > length:
            raise ValueError(f"v2 TLV 0x{t:02x} of {n} bytes overruns the header")
        value = body[pos + 3:pos + 3 + n]
        if t == PP2_TYPE_CRC32C:
            if n != 4:
                raise ValueError(f"CRC32C TLV of {n} bytes")
            crc_at = pos + 3
        out["tlvs"][f"0x{t:02x}"] = value.decode("latin-1")
        pos += 3 + n
    if crc_at is not None:
        whole = bytearray(signature + fixed + body)
        offset = len(signature) + len(fixed) + crc_at
        (want,) = struct.unpack("!I", whole[offset:offset + 4])
        whole[offset:offset + 4] = b"\0\0\0\0"
        out["crc32c"] = "ok" if crc32c(bytes(whole)) == want else "bad"
        del out["tlvs"][f"0x{PP2_TYPE_CRC32C:02x}"]
    return out


def serve(args):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address(args.address))
    listener.listen(64)
    listener.settimeout(0.5)
    log(f"LISTENING {args.address} pid={os.getpid()}")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.monotonic() + args.timeout
    while not stop and time.monotonic() < deadline:
        try:
            conn, peer = listener.accept()
        except (socket.timeout, InterruptedError):
            continue
        conn.settimeout(5)
        try:
            header = read_header(conn)
        except (ValueError, OSError) as e:
            header = {"error": str(e)}
        header["peer"] = f"{peer[0]}:{peer[1]}"
        line = json.dumps(header, sort_keys=True)
        log(f"HEADER {line}")
        try:
            conn.sendall(line.encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(2)
            while conn.recv(4096):  # until the client closes: no RST for unread bytes
                pass
        except OSError:
            pass
        conn.close()
    return True


def connect(args):
    s = socket.create_connection(address(args.address), timeout=10,
                                 source_address=(args.bind, 0) if args.bind else None)
    log("LOCAL %s:%d" % s.getsockname())
    s.sendall(b"hello\n")
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    log(f"REPLY {reply.decode(errors='replace').strip()}")
    return bool(reply)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["serve", "connect"])
    p.add_argument("address")
    p.add_argument("--bind")
    p.add_argument("--timeout", type=float, default=300)
    args = p.parse_args()
    ok = serve(args) if args.mode == "serve" else connect(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
