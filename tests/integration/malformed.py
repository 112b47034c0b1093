#!/usr/bin/python3
"""Sends a burst of malformed and truncated frames at ferryd and prints, as JSON, how many of
each ferryd must count, keyed by counter name. Run inside the peer namespace.

usage: malformed.py IFACE FERRY_MAC FERRY_IP PEER_IP COUNT
"""
import json
import sys

from scapy.all import ARP, ICMP, IP, UDP, Dot1Q, Ether, Raw, conf, raw, sendp  # noqa: E402

conf.verb = 0


def ipv4(peer, ferry, **kw):
    """A valid ICMP echo request as bytes, to be broken by the caller."""
    return bytearray(raw(IP(src=peer, dst=ferry, **kw) / ICMP(id=7, seq=1) / Raw(b"ferry")))


def fix_ip_checksum(b):
    b[10:12] = b"\0\0"
    ihl = (b[0] & 0x0F) * 4
    s = sum((b[i] << 8) + b[i + 1] for i in range(0, ihl, 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    c = ~s & 0xFFFF
    b[10:12] = bytes([c >> 8, c & 0xFF])
    return b


def main():
    iface, ferry_mac, ferry_ip, peer_ip, count = sys.argv[1:6]
    count = int(count)
    eth = Ether(dst=ferry_mac, type=0x0800)
    cases = {}  # counter name -> list of frames (bytes)

    # Two kinds cannot cross a veth to the af_packet PMD, and are left to the unit tests
    # (HostTest.WrongOrMissingTagIsDropped, Ipv4HeaderDrops): a truncated 802.1Q tag (the
    # kernel drops a frame whose tag it cannot pull), and a lone IPv4 fragment (the PMD's
    # fanout socket asks the kernel to defragment, PACKET_FANOUT_FLAG_DEFRAG, which holds it).
    cases["net.drop_vlan_unknown"] = [
        raw(Ether(dst=ferry_mac) / Dot1Q(vlan=7) / IP(src=peer_ip, dst=ferry_ip) / ICMP())]
    arp = raw(ARP(op=1, hwsrc="02:00:00:00:00:99", psrc=peer_ip, pdst=ferry_ip))
    cases["net.drop_arp_truncated"] = [raw(Ether(dst=ferry_mac, type=0x0806)) + arp[:20]]
    bad_hlen = bytearray(arp)
    bad_hlen[4] = 8
    cases["net.drop_arp_unsupported_format"] = [raw(Ether(dst=ferry_mac, type=0x0806)) + bytes(bad_hlen)]

    b = ipv4(peer_ip, ferry_ip)
    cases["net.drop_ipv4_truncated"] = [raw(eth) + bytes(b[:12])]
    v = ipv4(peer_ip, ferry_ip); v[0] = 0x65
    cases["net.drop_ipv4_bad_version"] = [raw(eth) + bytes(fix_ip_checksum(v))]
    h = ipv4(peer_ip, ferry_ip); h[0] = 0x44
    cases["net.drop_ipv4_bad_header_length"] = [raw(eth) + bytes(h)]
    t = ipv4(peer_ip, ferry_ip); t[2:4] = (1400).to_bytes(2, "big")
    cases["net.drop_ipv4_bad_total_length"] = [raw(eth) + bytes(fix_ip_checksum(t))]
    c = ipv4(peer_ip, ferry_ip); c[10] ^= 0xFF
    cases["net.drop_ipv4_bad_checksum"] = [raw(eth) + bytes(c)]
    cases["net.drop_ipv4_ttl_zero"] = [raw(eth) + bytes(ipv4(peer_ip, ferry_ip, ttl=0))]
    cases["net.drop_ipv4_bad_source"] = [raw(eth) + bytes(ipv4("224.0.0.9", ferry_ip))]
    cases["net.drop_ipv4_unhandled_protocol"] = [
        raw(eth / IP(src=peer_ip, dst=ferry_ip) / UDP(sport=9, dport=9) / Raw(b"x"))]
    icmp_trunc = bytearray(raw(IP(src=peer_ip, dst=ferry_ip, proto=1) / Raw(b"\x08\x00\x00")))
    cases["net.drop_icmp_truncated"] = [raw(eth) + bytes(icmp_trunc)]
    bad_icmp = ipv4(peer_ip, ferry_ip); bad_icmp[-1] ^= 0x01
    cases["net.drop_icmp_bad_checksum"] = [raw(eth) + bytes(bad_icmp)]
    cases["net.drop_icmp_unhandled_type"] = [
        raw(eth / IP(src=peer_ip, dst=ferry_ip) / ICMP(type=13))]

    # TCP segments the stack must refuse before any connection sees them.
    from scapy.all import TCP  # noqa: E402
    syn = bytearray(raw(IP(src=peer_ip, dst=ferry_ip) / TCP(sport=40000, dport=80, flags="S")))
    bad_sum = bytearray(syn); bad_sum[-1] ^= 0x01
    cases["tcp.drop_bad_checksum"] = [raw(eth) + bytes(bad_sum)]
    cases["tcp.drop_bad_flags"] = [
        raw(eth / IP(src=peer_ip, dst=ferry_ip) / TCP(sport=40000, dport=80, flags="SF"))]
    cases["tcp.drop_bad_data_offset"] = [
        raw(eth / IP(src=peer_ip, dst=ferry_ip) / TCP(sport=40000, dport=80, flags="S", dataofs=4))]
    cases["tcp.drop_bad_options"] = [
        raw(eth / IP(src=peer_ip, dst=ferry_ip) /
            TCP(sport=40000, dport=80, flags="S", options=[(8, b"")]))]  # timestamps, length 2

    frames = []
    for frame_list in cases.values():
        frames.extend(frame_list * count)
    # Interleave so that the burst mixes kinds, the way a hostile peer would.
    order = sorted(range(len(frames)), key=lambda i: (i % count, i))
    sendp([Raw(frames[i]) for i in order], iface=iface)
    print(json.dumps({name: count * len(fl) for name, fl in cases.items()}))


if __name__ == "__main__":
    main()
