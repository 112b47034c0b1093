#!/usr/bin/env python3
"""Writes the binary seed inputs under tests/fuzz/corpus/ (the config_text seeds are plain text
and kept by hand). Run it after changing a harness's input layout; the output is deterministic.

Standard library only. Addresses are from 198.18.0.0/15 (RFC 2544), as in the unit tests:
ferry 198.18.0.1 (02:fe:00:00:00:01), peer 198.18.0.2, gateway 198.18.0.254, far 198.19.7.7.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

OUR_MAC = bytes([0x02, 0xFE, 0, 0, 0, 0x01])
PEER_MAC = bytes([0x02, 0, 0, 0, 0, 0x02])
GATEWAY_MAC = bytes([0x02, 0, 0, 0, 0, 0xFE])
BROADCAST = b"\xff" * 6
OUR_IP = bytes([198, 18, 0, 1])
PEER_IP = bytes([198, 18, 0, 2])
FAR_IP = bytes([198, 19, 7, 7])


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ethernet(dst, src, ethertype, payload, vlan=0):
    if vlan:
        return dst + src + struct.pack("!HHH", 0x8100, vlan, ethertype) + payload
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def ipv4(src, dst, protocol, payload, ttl=64):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, ttl, protocol,
                         0, src, dst)
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def echo_request(ident, seq, data):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def pseudo(src, dst, protocol, length):
    return src + dst + struct.pack("!BBH", 0, protocol, length)


def udp(src, dst, sport, dport, data):
    d = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return d[:6] + struct.pack("!H", checksum(pseudo(src, dst, 17, len(d)) + d)) + d[8:]


# Linux's SYN layout (options.h): MSS, SACK-permitted + timestamps, NOP + window scale.
SYN_OPTIONS = (bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10]) + struct.pack("!II", 0x01020304, 0) +
               bytes([1, 3, 3, 7]))
# A non-SYN segment: NOP NOP timestamps, NOP NOP SACK with two blocks.
ACK_OPTIONS = (bytes([1, 1, 8, 10]) + struct.pack("!II", 0x01020305, 0x0A0B0C0D) +
               bytes([1, 1, 5, 18]) + struct.pack("!IIII", 1000, 2000, 3000, 4000))


def tcp(src, dst, sport, dport, seq, ack, flags, options=b"", data=b""):
    offset = (20 + len(options)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, 65535, 0, 0)
    seg += options + data
    return seg[:16] + struct.pack("!H", checksum(pseudo(src, dst, 6, len(seg)) + seg)) + seg[18:]


def pad(frame):
    return frame + b"\0" * max(0, 60 - len(frame))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    arp_request = pad(ethernet(BROADCAST, PEER_MAC, 0x0806,
                               arp(1, PEER_MAC, PEER_IP, b"\0" * 6, OUR_IP)))
    arp_reply = pad(ethernet(OUR_MAC, PEER_MAC, 0x0806, arp(2, PEER_MAC, PEER_IP, OUR_MAC, OUR_IP)))
    ping = ethernet(OUR_MAC, PEER_MAC, 0x0800,
                    ipv4(PEER_IP, OUR_IP, 1, echo_request(0x4242, 1, b"ferry")))
    ping_far = ethernet(OUR_MAC, GATEWAY_MAC, 0x0800,
                        ipv4(FAR_IP, OUR_IP, 1, echo_request(0x4242, 2, b"ferry")))
    ping_vlan = ethernet(OUR_MAC, PEER_MAC, 0x0800,
                         ipv4(PEER_IP, OUR_IP, 1, echo_request(0x4242, 3, b"ferry")), vlan=100)
    udp_frame = ethernet(OUR_MAC, PEER_MAC, 0x0800,
                         ipv4(PEER_IP, OUR_IP, 17, udp(PEER_IP, OUR_IP, 5353, 53, b"ferry")))
    syn = ethernet(OUR_MAC, PEER_MAC, 0x0800,
                   ipv4(PEER_IP, OUR_IP, 6, tcp(PEER_IP, OUR_IP, 40000, 80, 1, 0, 0x02,
                                                SYN_OPTIONS)))
    ack = ethernet(OUR_MAC, PEER_MAC, 0x0800,
                   ipv4(PEER_IP, OUR_IP, 6, tcp(PEER_IP, OUR_IP, 40000, 80, 2, 1001, 0x18,
                                                ACK_OPTIONS, b"GET /")))

    write("net_views", "arp_request", arp_request)
    write("net_views", "icmp_echo", ping)
    write("net_views", "icmp_echo_vlan", ping_vlan)
    write("net_views", "udp", udp_frame)
    write("net_views", "tcp_syn_options", syn)
    write("net_views", "tcp_ack_sack", ack)

    # host_input: control byte (bit 0 VLAN host, bits 1-2 checksum verdict, bit 3 fix
    # checksums, bit 4 chained), clock byte, frame.
    write("host_input", "arp_request", bytes([0x00, 0]) + arp_request)
    write("host_input", "arp_reply", bytes([0x00, 10]) + arp_reply)
    write("host_input", "ping_on_link", bytes([0x00, 1]) + ping)
    write("host_input", "ping_via_gateway", bytes([0x00, 1]) + ping_far)
    write("host_input", "ping_vlan", bytes([0x01, 1]) + ping_vlan)
    write("host_input", "ping_checksum_good", bytes([0x02 | 0x08, 1]) + ping)
    write("host_input", "tcp_syn", bytes([0x00, 0]) + syn)
    write("host_input", "chained", bytes([0x10, 0]) + ping)
    # Regression: an echo request whose identifier, sequence and data are all zero (scapy's
    # IP()/ICMP()). The reply's checksum, adjusted by RFC 1624 eqn. 3, came out 0x0000 where
    # only 0xffff verifies (checksum.h, ChecksumAdjust).
    write("host_input", "icmp_echo_all_zero",
          bytes([0x00, 0]) + ethernet(OUR_MAC, GATEWAY_MAC, 0x0800,
                                      ipv4(FAR_IP, OUR_IP, 1, echo_request(0, 0, b""))))

    # tcp_options: byte 0 bit 0 SYN, bit 1 struct mode.
    write("tcp_options", "syn_linux", bytes([0x01]) + SYN_OPTIONS)
    write("tcp_options", "ack_ts_sack", bytes([0x00]) + ACK_OPTIONS)
    write("tcp_options", "syn_unknown_eol", bytes([0x01, 0xFE, 4, 0, 0, 2, 4, 0x23, 0x28, 0]))
    write("tcp_options", "struct_all",
          bytes([0x02, 0xFF]) + struct.pack("!HBII", 1460, 7, 1, 2) + bytes(range(32)))


if __name__ == "__main__":
    main()
