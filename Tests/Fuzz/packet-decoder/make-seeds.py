#!/usr/bin/env python3
"""Writes the seed corpus of the packet-decoder fuzz target (Tests/Fuzz/corpus/packet-decoder/).

    python3 Tests/Fuzz/packet-decoder/make-seeds.py

Seeds are real packets: the first packets of the committed classic-pcap samples and of
../shared/corpus/libpcap-tests/filter/*.pcap, each prefixed with the byte that makes
FuzzPacketDecoder.swift pick the file's link type. Deterministic: rerunning leaves the tree unchanged.
"""
import glob
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(HERE, "..", "corpus", "packet-decoder")
# Index = the input's first byte; must match `linkTypes` in FuzzPacketDecoder.swift.
LINK_TYPES = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 147]


def packets(path, limit=8):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    out, at = [], 24
    while at + 16 <= len(data) and len(out) < limit:
        caplen = struct.unpack(e + "I", data[at + 8:at + 12])[0]
        if at + 16 + caplen > len(data):
            break
        out.append(data[at + 16:at + 16 + caplen])
        at += 16 + caplen
    return linktype, out


def main():
    os.makedirs(OUT, exist_ok=True)
    files = sorted(glob.glob(os.path.join(ROOT, "Tests/PacketCaptureTests/Samples/*.pcap")))
    files += sorted(glob.glob(os.path.join(ROOT, "..", "shared", "corpus", "libpcap-tests", "filter", "*.pcap")))
    written = 0
    for path in files:
        linktype, pkts = packets(path)
        if linktype not in LINK_TYPES:
            continue
        for p in pkts:
            seed = bytes([LINK_TYPES.index(linktype)]) + p
            name = hashlib.sha1(seed).hexdigest()[:16]
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(seed)
            written += 1
    print(f"{written} seeds in {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
