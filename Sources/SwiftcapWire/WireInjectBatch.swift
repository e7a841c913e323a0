/// The payload of an `injectBatch` frame, held as its wire bytes: `u32 count`,
/// then per packet `u32 length` (≥ 1) and the bytes.
///
/// Top-speed injection moves hundreds of thousands of packets a second, so a
/// batch is never an array of arrays: the client appends each packet's bytes
/// straight into the payload (one copy), the helper validates the payload once
/// and sends the packets from where they lie (`withUnsafePackets`), with no
/// allocation per packet on either side.
package struct WireInjectBatch: Equatable, Sendable {
    /// The payload as it goes on the wire.
    package private(set) var payload: [UInt8]
    /// Packets in the batch.
    package private(set) var count: Int

    /// An empty batch (not valid on the wire until a packet is appended).
    package init(capacity: Int = 64 * 1024) {
        payload = []
        payload.reserveCapacity(capacity)
        payload.append(contentsOf: [0, 0, 0, 0])
        count = 0
    }

    /// A batch of `packets`, each at least 1 byte.
    package init(packets: [[UInt8]]) {
        self.init(capacity: packets.reduce(4) { $0 + 4 + $1.count })
        for packet in packets { packet.withUnsafeBytes { append($0) } }
    }

    /// Whether a packet of `length` bytes still fits within the frame bound.
    package func fits(_ length: Int) -> Bool {
        payload.count + 4 + length <= Wire.maxPayloadLength
    }

    /// Appends one packet (its length, then its bytes). The caller checks `fits`
    /// and that the packet is not empty; the encoder refuses an oversized payload.
    package mutating func append(_ packet: UnsafeRawBufferPointer) {
        precondition(!packet.isEmpty, "an injected packet has at least 1 byte")
        let length = UInt32(packet.count)
        payload.append(UInt8(truncatingIfNeeded: length >> 24)); payload.append(UInt8(truncatingIfNeeded: length >> 16))
        payload.append(UInt8(truncatingIfNeeded: length >> 8)); payload.append(UInt8(truncatingIfNeeded: length))
        payload.append(contentsOf: packet)
        count += 1
        let n = UInt32(count)
        payload[0] = UInt8(truncatingIfNeeded: n >> 24); payload[1] = UInt8(truncatingIfNeeded: n >> 16)
        payload[2] = UInt8(truncatingIfNeeded: n >> 8); payload[3] = UInt8(truncatingIfNeeded: n)
    }

    /// Checks the layout of an `injectBatch` payload (count ≥ 1, each length ≥ 1,
    /// the packets filling the payload exactly) and copies it.
    package init(validating bytes: UnsafeRawBufferPointer) throws(ProtocolViolation) {
        var r = ByteReader(bytes, range: 0 ..< bytes.count)
        let count = Int(try r.u32("packet count"))
        // Each packet needs its 4-byte length and at least one byte.
        guard count >= 1, count <= r.remaining / 5 else { throw ProtocolViolation(.badField, "packet count \(count) does not fit the payload") }
        for _ in 0 ..< count {
            let length = Int(try r.u32("packet length"))
            guard length >= 1, length <= r.remaining else { throw ProtocolViolation(.badField, "packet length \(length) does not fit the payload") }
            _ = try r.skip(length, "packet")
        }
        try r.finish(.injectBatch)
        payload = Array(bytes)
        self.count = count
    }

    /// Calls `body` with the bytes of every packet, in order, pointing into the
    /// payload (one array of `count` pointers, no copy of any packet). The
    /// pointers are valid only during the call.
    package func withUnsafePackets<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        try payload.withUnsafeBytes { raw in
            var packets: [UnsafeRawBufferPointer] = []
            packets.reserveCapacity(count)
            var offset = 4
            // The layout was checked when the payload was built or validated.
            while offset + 4 <= raw.count {
                let length = Int(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                offset += 4
                packets.append(UnsafeRawBufferPointer(rebasing: raw[offset ..< offset + length]))
                offset += length
            }
            return try body(packets)
        }
    }

    /// The packets as arrays (tests and diagnostics; the send path uses `withUnsafePackets`).
    package var packets: [[UInt8]] {
        withUnsafePackets { $0.map { Array($0) } }
    }
}
