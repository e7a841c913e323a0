#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets in Tests/Fuzz/corpus/.

    python3 Tests/Fuzz/make-seeds.py          # all corpora this script owns
    python3 Tests/Fuzz/make-seeds.py --pcap   # also pcap/pcapng seeds (needs editcap)

wire-decoder: one valid frame of every type (layouts as in docs/PROTOCOL.md and
Sources/SwiftcapWire/WireMessage+Encoding.swift), plus a stream of several frames.
bpf-interpreter: programs tcpdump compiles (`tcpdump -y LINKTYPE -ddd EXPR`, needs
tcpdump) paired with packets, in the input layout of bpf-interpreter/FuzzBPFInterpreter.swift.
Output is deterministic, so rerunning it leaves the tree unchanged.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# MARK: wire-decoder

def frame(ftype, payload=b""):
    return struct.pack(">IB", 1 + len(payload), ftype) + payload


def string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def short(b):
    return struct.pack(">B", len(b)) + b


def filter_spec(expr, optimize=True, netmask=0xFFFFFFFF):
    return struct.pack(">?I", optimize, netmask) + string(expr)


def wire_seeds():
    packet = bytes.fromhex("ffffffffffff020000000001080045000014000100004000000a7f0000017f000001")
    frames = {
        "hello": frame(0x01, struct.pack(">H", 2) + string("libpcap version 1.10.3 (with TPACKET_V3)") + string("0.2.0")),
        "open": frame(0x10, string("lo") + struct.pack(">I?BII?BB", 262144, True, 1, 100, 0, False, 0, 1)
                      + filter_spec("tcp port 80")),
        "inject": frame(0x11, packet),
        "set-filter": frame(0x12, filter_spec("udp", optimize=False, netmask=0xFFFFFF00)),
        "statistics-request": frame(0x13),
        "close": frame(0x14),
        "list-devices": frame(0x15),
        "compile-filter": frame(0x16, struct.pack(">II", 1, 65535) + filter_spec("ip6 and tcp")),
        "ready": frame(0x20, struct.pack(">IIB", 1, 262144, 1) + string("")),
        "packet": frame(0x21, struct.pack(">qIII", 1700000000, 123456789, len(packet), 1514) + packet),
        "injected": frame(0x22, struct.pack(">I", 54)),
        "filter-set": frame(0x23),
        "statistics": frame(0x24, struct.pack(">QQQQ", 1000, 3, 0, 997)),
        "devices": frame(0x25, struct.pack(">I", 2)
                         + string("lo") + string("loopback") + struct.pack(">II", 0x37, 2)
                         + struct.pack(">H", 2) + short(bytes([127, 0, 0, 1])) + short(bytes([255, 0, 0, 0]))
                         + short(b"") + short(b"")
                         + struct.pack(">H", 10) + short(bytes(15) + b"\x01") + short(b"\xff" * 16) + short(b"") + short(b"")
                         + string("eth0") + string("") + struct.pack(">II", 0x26, 0)),
        "program": frame(0x26, struct.pack(">II", 1, 4) + b"".join(struct.pack(">HBBI", *i) for i in
                                                                   [(0x28, 0, 0, 12), (0x15, 0, 1, 0x800), (0x06, 0, 0, 262144), (0x06, 0, 0, 0)])),
        "end": frame(0x2F),
        "error": frame(0x7F, struct.pack(">H?", 4, False) + string("syntax error in filter expression")),
    }
    for name, data in frames.items():
        write("wire-decoder", name + ".bin", data)
    # A session as the client sees it: several frames back to back, the last one cut short.
    session = frames["hello"] + frames["ready"] + frames["packet"] * 3 + frames["statistics"] + frames["end"]
    write("wire-decoder", "session.bin", session)
    write("wire-decoder", "session-cut.bin", session + frames["packet"][:17])


# MARK: bpf-interpreter

EXPRESSIONS = {
    "EN10MB": ["tcp port 80 or udp port 53", "ip6 protochain 6", "vlan and tcp", "icmp[icmptype] == icmp-echo",
               "ip[6:2] & 0x1fff != 0", "tcp[tcpflags] & tcp-syn != 0", "arp", "len > 100",
               "ip[2:2] / (ip[8] - 63) > 1", "(ip[2:2] << (ip[8] - 30)) != 0", "ip and -ip[8] = 0xffffffc0"],
    "RAW": ["host 10.0.0.1", "ip6 net fd00::/8"],
    "LINUX_SLL": ["inbound and udp"],
}


def tcpdump_program(linktype, expr, optimize):
    out = subprocess.run(["tcpdump", "-y", linktype, "-ddd"] + ([] if optimize else ["-O"]) + [expr],
                         check=True, capture_output=True, text=True).stdout.split("\n")
    count = int(out[0])
    return [tuple(int(x) for x in line.split()) for line in out[1:1 + count]]


def bpf_input(program, packet, wire_length=None, mode=0):
    assert len(program) <= 255
    head = struct.pack("<BBI", mode, len(program), len(packet) if wire_length is None else wire_length)
    return head + b"".join(struct.pack("<HBBI", *i) for i in program) + packet


def eth(ethertype, payload, dst=b"\x02\x00\x00\x00\x00\x02"):
    return dst + b"\x02\x00\x00\x00\x00\x01" + struct.pack(">H", ethertype) + payload


def ipv4(proto, payload, ttl=64, frag=0x4000):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag, ttl, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload


def tcp(sport, dport, flags):
    return struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 0x50, flags, 65535, 0, 0)


def bpf_seeds():
    if shutil.which("tcpdump") is None:
        sys.exit("make-seeds.py: tcpdump is needed for the bpf-interpreter seeds")
    packets = [
        eth(0x0800, ipv4(6, tcp(40000, 80, 0x02))),
        eth(0x0800, ipv4(17, struct.pack(">HHHH", 3333, 53, 8, 0))),
        eth(0x86DD, struct.pack(">IHBB", 0x60000000, 20, 0, 64) + bytes(32) + bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp(1, 443, 0x10)),
        eth(0x8100, struct.pack(">HH", 100, 0x0800) + ipv4(6, tcp(5, 80, 0x12), ttl=128)),
        eth(0x0800, ipv4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1]), frag=0x2000)),
        eth(0x0806, bytes(28), dst=b"\xff" * 6),
        eth(0x0800, ipv4(6, tcp(1, 2, 0x02)))[:30],
    ]
    n = 0
    for linktype, exprs in EXPRESSIONS.items():
        for expr in exprs:
            for optimize in (True, False):
                program = tcpdump_program(linktype, expr, optimize)
                if len(program) > 255:
                    continue
                for p in packets[:3] if linktype == "EN10MB" else [packets[0][14:]]:
                    write("bpf-interpreter", "tcpdump-%03d.bin" % n, bpf_input(program, p))
                    n += 1
    # Hand-written: every ALU op with X, scratch memory, a backward loop, an out-of-bounds load.
    loop = [(0x60, 0, 0, 0), (0x04, 0, 0, 1), (0x02, 0, 0, 0), (0x15, 1, 0, 10), (0x05, 0, 0, 0xFFFFFFFB), (0x16, 0, 0, 0)]
    write("bpf-interpreter", "loop.bin", bpf_input(loop, b""))
    alu = [(0x01, 0, 0, 3), (0x00, 0, 0, 1000)] + [(op, 0, 0, 0) for op in
                                                 (0x0C, 0x1C, 0x2C, 0x3C, 0x9C, 0x5C, 0x4C, 0xAC, 0x6C, 0x7C, 0x84, 0x07, 0x87)] + [(0x16, 0, 0, 0)]
    write("bpf-interpreter", "alu.bin", bpf_input(alu, b""))
    oob = [(0x01, 0, 0, 0xFFFFFFFF), (0x50, 0, 0, 1), (0x06, 0, 0, 1)]
    write("bpf-interpreter", "oob.bin", bpf_input(oob, packets[0]))
    write("bpf-interpreter", "structured.bin", bytes([1, 12, 0, 1, 0, 0]) + bytes(range(96)) + packets[1])


# MARK: pcap / pcapng (only when the files engineer's seeds are missing)

def pcap_seeds():
    def pcap(linktype, records, magic=0xA1B2C3D4):
        out = struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)
        for i, (data, wire) in enumerate(records):
            out += struct.pack("<IIII", 1700000000 + i, i * 1000, len(data), wire) + data
        return out

    records = [(eth(0x0800, ipv4(6, tcp(40000, 80, 0x02))), 54),
               (eth(0x0800, ipv4(17, struct.pack(">HHHH", 3333, 53, 8, 0))), 42),
               (eth(0x0800, ipv4(6, tcp(1, 2, 0x10)))[:30], 1514)]
    write("pcap", "ethernet-usec.pcap", pcap(1, records))
    write("pcap", "ethernet-nsec.pcap", pcap(1, records, magic=0xA1B23C4D))
    write("pcap", "raw.pcap", pcap(101, [(r[0][14:], r[1] - 14) for r in records]))
    if shutil.which("editcap") is None:
        sys.exit("make-seeds.py: editcap (wireshark-common) is needed for the pcapng seeds")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.pcap")
        with open(src, "wb") as f:
            f.write(pcap(1, records))
        for name, args in [("ethernet.pcapng", []), ("ethernet-comment.pcapng", ["-a", "1:a comment"])]:
            dst = os.path.join(tmp, name)
            subprocess.run(["editcap", "-F", "pcapng"] + args + [src, dst], check=True, capture_output=True)
            with open(dst, "rb") as f:
                write("pcapng", name, f.read())


if __name__ == "__main__":
    wire_seeds()
    bpf_seeds()
    if "--pcap" in sys.argv:
        pcap_seeds()
