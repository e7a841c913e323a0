// libFuzzer target: arbitrary bytes through the client's frame loop.
// Built by Tests/Fuzz/run.sh together with Sources/SwiftcapWire/*.swift.
//
// Properties checked beyond "no crash, no out-of-bounds access":
// - a frame the scanner returns lies inside the buffer and past its start;
// - a message that decodes re-encodes to a frame that decodes to an equal message.

/// A failed property: unlike precondition, prints its message in -O builds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    var offset = 0
    while true {
        let frame: FrameLocation?
        do {
            frame = try FrameScanner.nextFrame(in: buffer, from: offset)
        } catch {
            break  // a protocol violation ends the session
        }
        guard let frame else { break }  // needs more bytes
        check(frame.payload.lowerBound == offset + Wire.frameHeaderLength, "payload does not follow the header")
        check(frame.end <= size && frame.end > offset, "frame \(frame) outside 0..<\(size) or not advancing")
        if let message = try? WireMessage.decode(frame.type, payload: frame.payload, in: buffer) {
            check(message.frameType == frame.type, "decoded \(message.frameType) from a \(frame.type) frame")
            let encoded = message.encoded()
            guard let (again, used) = try? WireMessage.decodeFrame(encoded) else {
                fatalError("re-encoded \(frame.type) frame does not decode: \(message)")
            }
            check(used == encoded.count, "re-encoded frame length \(encoded.count), decoder used \(used)")
            check(again == message, "round trip changed \(message) into \(again)")
        }
        offset = frame.end
    }
    return 0
}
