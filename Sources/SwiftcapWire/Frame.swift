/// The frame layer of the swiftcap wire protocol (see docs/PROTOCOL.md).
///
/// Every frame, in both directions, is:
///
///     +----------------+--------+----------------------+
///     | length: UInt32 | type   | payload              |
///     | big-endian     | UInt8  | (length - 1) bytes   |
///     +----------------+--------+----------------------+
///
/// `length` counts the type byte and the payload, so it is at least 1.
package enum Wire {
    /// The protocol version this build speaks. Bumped on any incompatible change.
    /// Version 2: `hello` carries the helper's software version.
    package static let protocolVersion: UInt16 = 2

    /// The largest snapshot length libpcap accepts (MAXIMUM_SNAPLEN).
    package static let maxSnapshotLength = 262_144

    /// Size of the fixed fields that precede packet bytes in a `packet` frame.
    package static let packetHeaderLength = 20

    /// The largest payload any frame may carry: the largest packet plus its header,
    /// with room to spare for control frames. A longer frame is a protocol violation.
    package static let maxPayloadLength = maxSnapshotLength + 64

    /// `length` field bound: type byte plus the largest payload.
    package static let maxFrameLength = 1 + maxPayloadLength

    /// Bytes before the payload: the length field and the type byte.
    package static let frameHeaderLength = 5
}

/// The type byte of a frame. Requests travel client → helper, replies helper → client.
package enum FrameType: UInt8, Sendable, CaseIterable {
    // helper → client, first frame of every session
    case hello = 0x01

    // client → helper
    case open = 0x10
    case inject = 0x11
    case setFilter = 0x12
    case statisticsRequest = 0x13
    case close = 0x14
    case listDevices = 0x15
    case compileFilter = 0x16
    case describeDevice = 0x17
    case injectBatch = 0x18

    // helper → client
    case ready = 0x20
    case packet = 0x21
    case injected = 0x22
    case filterSet = 0x23
    case statistics = 0x24
    case devices = 0x25
    case program = 0x26
    case deviceDetails = 0x27
    case injectedBatch = 0x28
    case end = 0x2F
    case error = 0x7F
}

/// Where a complete frame sits inside a buffer.
package struct FrameLocation: Sendable, Equatable {
    package var type: FrameType
    /// Byte range of the payload within the buffer that was scanned.
    package var payload: Range<Int>
    /// Index just past the frame: where the next frame starts.
    package var end: Int { payload.upperBound }
}

/// Finds frame boundaries in a byte buffer, validating the header before anything
/// is allocated: an oversized length or unknown type fails as soon as those
/// bytes arrive, so a hostile peer can neither make us allocate its claimed size
/// nor keep us waiting for bytes that would only be rejected.
package enum FrameScanner {
    /// Looks for one frame starting at `start`.
    /// - Returns: the frame, or `nil` when more bytes are needed.
    /// - Throws: `ProtocolViolation` for a length outside 1...maxFrameLength or an unknown type.

    package static func nextFrame(in buffer: UnsafeRawBufferPointer, from start: Int) throws(ProtocolViolation) -> FrameLocation? {
        let available = buffer.count - start
        if available < 4 { return nil }
        let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16
            | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard length >= 1 else {
            throw ProtocolViolation(.badLength, "frame length 0 (must count at least the type byte)")
        }
        guard length <= Wire.maxFrameLength else {
            throw ProtocolViolation(.oversized, "frame length \(length) exceeds the bound of \(Wire.maxFrameLength) bytes")
        }
        if available < 5 { return nil }
        let typeByte = buffer[start + 4]
        guard let type = FrameType(rawValue: typeByte) else {
            throw ProtocolViolation(.unknownType, "unknown frame type 0x\(String(typeByte, radix: 16))")
        }
        if available < 4 + length { return nil }
        let payloadStart = start + Wire.frameHeaderLength
        return FrameLocation(type: type, payload: payloadStart ..< start + 4 + length)
    }
}
