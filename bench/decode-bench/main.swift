// swiftcap-decode-bench FILE: reads every packet of a capture file (the same
// mapped walk as `swiftcap read`) and decodes each to its transport header with
// PacketDecoding, touching a field of each layer. Prints
// {"count":N,"transport":T,"checksum":C} so the work cannot be optimised away.
// Used by bench/decode against `swiftcap read --count` (reading alone).
import Glibc
import PacketCapture
import PacketDecoding

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    fputs("usage: swiftcap-decode-bench FILE\n", stderr)
    exit(2)
}
do {
    let file = try CaptureFile(path: arguments[1])
    var count = 0, transport = 0
    var checksum: UInt64 = 0
    try file.forEachPacket { view in
        count += 1
        let layers = PacketLayers.decode(RawSpan(_unsafeBytes: view.bytes), linkType: view.linkType.rawValue)
        if let t = layers.transport {
            transport += 1
            checksum &+= UInt64(t.offset &* 31 &+ t.headerLength) &+ UInt64(view.bytes[t.offset + 1])
        }
        checksum &+= UInt64(layers.network?.upperProtocol ?? 0)
    }
    print("{\"count\":\(count),\"transport\":\(transport),\"checksum\":\(checksum)}")
    exit(0)  // as swiftcap read: let the kernel drop the mapping
} catch {
    fputs("swiftcap-decode-bench: \(error)\n", stderr)
    exit(1)
}
