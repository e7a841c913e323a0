import SwiftcapWire

/// Packets for one `LiveCapture.inject(batch:)`, copied into the request's
/// bytes as they are appended: no array per packet, one copy on the way.
///
///     var batch = InjectBatch()
///     for packet in packets {
///         if try !batch.append(packet) {          // full: send it, start the next
///             _ = try await capture.inject(batch: batch)
///             batch.removeAll()
///             _ = try batch.append(packet)
///         }
///     }
public struct InjectBatch: Sendable {
    var wire = WireInjectBatch()
    /// At most this many packets; `append` reports the batch full beyond it.
    public let maximumCount: Int

    /// - Parameter maximumCount: packets per batch (at least 1); the byte bound
    ///   (`LiveCapture.maximumBatchBytes`) applies as well.
    public init(maximumCount: Int = 4096) {
        self.maximumCount = max(1, maximumCount)
    }

    /// Packets appended.
    public var count: Int { wire.count }
    public var isEmpty: Bool { wire.count == 0 }
    /// Bytes the batch occupies in its request, lengths included.
    public var byteCount: Int { wire.payload.count }

    /// Appends `packet` (link-layer header included) when it fits.
    /// - Returns: false, appending nothing, when the batch is full.
    /// - Throws: `.packetTooLarge` for an empty packet or one over 262144 bytes.
    public mutating func append(_ packet: UnsafeRawBufferPointer) throws(CaptureError) -> Bool {
        guard packet.count >= 1, packet.count <= Wire.maxSnapshotLength else {
            throw CaptureError(.packetTooLarge, "a packet to inject must be 1...\(Wire.maxSnapshotLength) bytes, this one is \(packet.count); split the data over several packets that fit the interface MTU")
        }
        guard wire.count < maximumCount, wire.fits(packet.count) else { return false }
        wire.append(packet)
        return true
    }

    /// `append` of any collection of bytes.
    public mutating func append<C: Collection<UInt8>>(_ packet: C) throws(CaptureError) -> Bool {
        let contiguous = packet.withContiguousStorageIfAvailable { buffer in
            Result { () throws(CaptureError) -> Bool in try append(UnsafeRawBufferPointer(buffer)) }
        }
        return try (contiguous ?? Array(packet).withUnsafeBytes { raw in
            Result { () throws(CaptureError) -> Bool in try append(raw) }
        }).get()
    }

    /// Empties the batch, keeping its storage.
    public mutating func removeAll() {
        wire = WireInjectBatch(capacity: wire.payload.capacity)
    }
}
