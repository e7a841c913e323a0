// swiftcap-decode-bench FILE [--walk-only]: reads every packet of a capture file (the same
// mapped walk as `swiftcap read`) and decodes each to its transport header with
// PacketDecoding, touching a field of each layer. Prints
// {"count":N,"transport":T,"checksum":C} so the work cannot be optimised away.
// Used by bench/decode against `swiftcap read --count` (reading alone). --walk-only
// hands out the same per-packet views without decoding, to split the cost.
import Glibc
import PacketCapture
import PacketDecoding

func standardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
let walkOnly = arguments.count == 3 && arguments[2] == "--walk-only"
guard arguments.count == 2 || walkOnly else {
    standardError("usage: swiftcap-decode-bench FILE [--walk-only]\n")
    exit(2)
}
do {
    let file = try CaptureFile(path: arguments[1])
    var count = 0, transport = 0
    var checksum: UInt64 = 0
    var layers = PacketLayers(linkType: 0)
    try file.forEachPacket { view in
        count += 1
        if walkOnly {
            checksum &+= UInt64(view.bytes.count)
            return
        }
        PacketLayers.decode(RawSpan(_unsafeBytes: view.bytes), linkType: view.linkType.rawValue, into: &layers)
        if let t = layers.transport {
            transport += 1
            checksum &+= UInt64(t.offset &* 31 &+ t.headerLength) &+ UInt64(view.bytes[t.offset + 1])
        }
        checksum &+= UInt64(layers.network?.upperProtocol ?? 0)
    }
    print("{\"count\":\(count),\"transport\":\(transport),\"checksum\":\(checksum)}")
    exit(0)  // as swiftcap read: let the kernel drop the mapping
} catch {
    standardError("swiftcap-decode-bench: \(error)\n")
    exit(1)
}
