import Foundation
import Glibc
import SwiftcapWire

/// A stand-in for swiftcap-helper, written in Python, that speaks
/// docs/PROTOCOL.md and misbehaves on request: malformed frames, crashes, exits,
/// floods. For deterministic tests of the client's side of the protocol.
///
/// Modes: normal, flood, crash, exit, fatal, garbage-length, unknown-type,
/// bad-packet, unsolicited, second-hello, ignore-close, exit-before-hello,
/// no-hello, garbage-before-hello, no-capability, open-fails-silently,
/// silent-after-hello (reads requests, answers none), silent-after-ready
/// (answers open, then nothing), flood-no-answer (after ready, writes packets
/// as fast as the pipe takes them for `seconds`, answering nothing),
/// grandchild-stdout (sends `count` packets, leaves a `sleep 29.5` holding its
/// stdout and exits 0), packets-then-garbage (`count` packets and a malformed
/// frame in one write), close-stdout-stay (after ready, closes stdout and
/// sleeps 30 s without exiting).
/// Options: count=N (packets to send), size=N (bytes per packet), version=N, seconds=N.
public enum FakeHelper {
    /// Writes the fake helper and a wrapper that runs it in `mode`; returns the
    /// wrapper's path, to be used as `helperPath`.
    public static func make(_ mode: String, _ options: [String: Int] = [:]) throws -> String {
        let dir = try makeTemporaryDirectory("swiftcap-fake")
        let script = dir + "/fake_helper.py"
        try source.write(toFile: script, atomically: true, encoding: .utf8)
        let args = ([mode] + options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        let wrapper = dir + "/swiftcap-helper"
        try "#!/bin/sh\nexec /usr/bin/python3 \(script) \(args) \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        return wrapper
    }

    static let source = #"""
#!/usr/bin/env python3
# A stand-in for swiftcap-helper that speaks docs/PROTOCOL.md and can misbehave
# on purpose. Usage: fake_helper.py MODE [key=value...] [--keep-net-admin]
import os, sys, struct, select, signal, time

HELLO, OPEN, INJECT, SETFILTER, STATSREQ, CLOSE, LISTDEV, COMPILE = 0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16
READY, PACKET, INJECTED, FILTERSET, STATS, DEVICES, PROGRAM, END, ERROR = 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x2F, 0x7F

args = [a for a in sys.argv[1:] if a != "--keep-net-admin"]
mode = args[0] if args else "normal"
opts = dict(a.split("=", 1) for a in args[1:] if "=" in a)
count = int(opts.get("count", "0"))
size = int(opts.get("size", "60"))
CURRENT = \#(Wire.protocolVersion)
version = int(opts.get("version", str(CURRENT)))
sent = 0
received_filter = ""

def frame(t, payload=b""):
    return struct.pack(">IB", 1 + len(payload), t) + payload

def string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b

def hello(libpcap):
    # Version 1 had no software version; later ones end with it.
    payload = struct.pack(">H", version) + string(libpcap)
    if version >= 2:
        payload += string("\#(Wire.softwareVersion)" if version == CURRENT else "9.%d.0" % version)
    return frame(HELLO, payload)

def send(b):
    view = memoryview(b)
    while view:
        try:
            n = os.write(1, view)
        except BrokenPipeError:
            sys.exit(0)
        view = view[n:]

def packet(seq, length=None):
    length = size if length is None else length
    data = struct.pack(">I", seq) + bytes((seq + i) & 0xFF for i in range(max(0, length - 4)))
    data = data[:length]
    now = time.time_ns()
    return frame(PACKET, struct.pack(">qIII", now // 10**9, now % 10**9, len(data), len(data)) + data)

def error(code, fatal, msg):
    return frame(ERROR, struct.pack(">HB", code, 1 if fatal else 0) + string(msg))

inbuf = b""
def read_frame(timeout=None):
    global inbuf
    while True:
        if len(inbuf) >= 5:
            (n,) = struct.unpack(">I", inbuf[:4])
            if len(inbuf) >= 4 + n:
                t = inbuf[4]
                payload = inbuf[5:4 + n]
                inbuf = inbuf[4 + n:]
                return t, payload
        r, _, _ = select.select([0], [], [], timeout)
        if not r:
            return None
        chunk = os.read(0, 65536)
        if not chunk:
            sys.exit(0)  # stdin EOF: the client is gone
        inbuf += chunk

if mode == "exit-before-hello":
    sys.stderr.write("fake-helper: giving up before hello\n")
    sys.exit(3)
if mode == "no-hello":
    time.sleep(30)
    sys.exit(0)
if mode == "garbage-before-hello":
    send(struct.pack(">I", 0xFFFFFFFF) + b"\x01")
    time.sleep(5)
    sys.exit(0)
if mode == "no-capability":
    send(hello("fake libpcap"))
    t, p = read_frame()
    send(error(2, True, "socket: Operation not permitted"))
    sys.exit(1)

send(hello("fake libpcap 0.0"))
if mode == "silent-after-hello":
    while True:
        read_frame()

def stats_frame():
    return frame(STATS, struct.pack(">QQQQ", sent, 0, 0, sent))

def handle(t, p):
    global received_filter
    if t == INJECT:
        send(frame(INJECTED, struct.pack(">I", len(p))))
    elif t == SETFILTER:
        (slen,) = struct.unpack(">I", p[5:9])
        expr = p[9:9 + slen].decode()
        if expr == "bad filter":
            send(error(4, False, "syntax error in filter expression"))
        else:
            received_filter = expr
            send(frame(FILTERSET))
    elif t == STATSREQ:
        send(stats_frame())
    elif t == CLOSE:
        send(frame(END))
        sys.exit(0)
    else:
        send(error(7, True, "unexpected request 0x%02x" % t))
        sys.exit(1)

while True:
    got = read_frame()
    if got is None:
        continue
    t, p = got
    if t == LISTDEV:
        dev = string("lo") + string("") + struct.pack(">I", 0x7) + struct.pack(">I", 1)
        dev += struct.pack(">H", 2) + bytes([4, 127, 0, 0, 1]) + bytes([4, 255, 0, 0, 0]) + bytes([0]) + bytes([0])
        dev2 = string("eth0") + string("fake ethernet") + struct.pack(">I", 0x6) + struct.pack(">I", 0)
        send(frame(DEVICES, struct.pack(">I", 2) + dev2 + dev))
        send(frame(END))
        sys.exit(0)
    if t == COMPILE:
        while True:
            (link,) = struct.unpack(">I", p[:4])
            (slen,) = struct.unpack(">I", p[14:18])
            expr = p[18:18 + slen].decode()
            if expr == "bad filter":
                send(error(4, False, "syntax error"))
            else:
                # ret #262144
                send(frame(PROGRAM, struct.pack(">II", link, 1) + struct.pack(">HBBI", 0x06, 0, 0, 262144)))
            t, p = read_frame()
            if t == CLOSE:
                send(frame(END))
                sys.exit(0)
    if t != OPEN:
        send(error(7, True, "expected open"))
        sys.exit(1)
    break

(dlen,) = struct.unpack(">I", p[:4])
device = p[4:4 + dlen].decode()
(snaplen,) = struct.unpack(">I", p[4 + dlen:8 + dlen])
if device == "nosuchdev":
    send(error(1, True, "nosuchdev: No such device exists"))
    sys.exit(1)
if mode == "open-fails-silently":
    sys.exit(5)
send(frame(READY, struct.pack(">IIB", 1, snaplen, 1) + string("")))

if mode == "silent-after-ready":
    while True:
        read_frame()
elif mode == "flood-no-answer":
    # One chunk of packet frames, written again and again without reading stdin.
    chunk = b"".join(packet(i) for i in range(max(1, (1 << 20) // (size + 25))))
    end = time.time() + int(opts.get("seconds", "10"))
    while time.time() < end:
        send(chunk)
    sys.exit(0)
elif mode == "grandchild-stdout":
    send(b"".join(packet(i) for i in range(count)))
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "29.5"])
    os._exit(0)
elif mode == "close-stdout-stay":
    os.close(1)
    time.sleep(30)
    sys.exit(0)
elif mode == "packets-then-garbage":
    send(b"".join(packet(i) for i in range(count)) + struct.pack(">IB", 1, 0x55))
elif mode == "garbage-length":
    send(packet(0) + struct.pack(">I", 0xFFFFFFFF) + b"\x21")
elif mode == "unknown-type":
    send(packet(0) + struct.pack(">IB", 1, 0x55))
elif mode == "bad-packet":
    send(frame(PACKET, struct.pack(">qIII", 1, 0, 10, 5) + bytes(10)))
elif mode == "unsolicited":
    send(packet(0) + frame(FILTERSET))
elif mode == "second-hello":
    send(hello("again"))
elif mode == "crash":
    send(b"".join(packet(i) for i in range(count)))
    time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGSEGV)
elif mode == "exit":
    send(b"".join(packet(i) for i in range(count)))
    sys.stderr.write("fake-helper: exiting with status 3\n")
    sys.exit(3)
elif mode == "fatal":
    send(b"".join(packet(i) for i in range(count)))
    send(error(9, True, "the interface went down"))
    sys.exit(1)
elif mode == "ignore-close":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        got = read_frame()
        if got and got[0] == CLOSE:
            time.sleep(60)
elif mode == "flood":
    # count packets as fast as the pipe takes them, answering requests in between.
    seq = 0
    while seq < count:
        n = min(1000, count - seq)
        batch = b"".join(packet(seq + i) for i in range(n))
        seq += n
        sent = seq
        send(batch)
        got = read_frame(0)
        if got:
            handle(*got)

# normal: count packets, then serve requests.
if mode == "normal" and count:
    send(b"".join(packet(i) for i in range(count)))
    sent = count
while True:
    got = read_frame()
    if got:
        handle(*got)
"""#
}
