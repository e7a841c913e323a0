/// Appends big-endian fields to a byte array.
package struct ByteWriter {
    package var bytes: [UInt8]

    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    package mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v))
    }
    package mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 24)); bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8)); bytes.append(UInt8(truncatingIfNeeded: v))
    }
    package mutating func u64(_ v: UInt64) { u32(UInt32(truncatingIfNeeded: v >> 32)); u32(UInt32(truncatingIfNeeded: v)) }
    package mutating func raw<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }

    /// A UTF-8 string with a 32-bit length prefix.
    package mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count)); raw(utf8)
    }

    /// A byte string with an 8-bit length prefix (addresses).
    package mutating func shortBytes(_ b: [UInt8]) {
        precondition(b.count <= 255)
        u8(UInt8(b.count)); raw(b)
    }
}

/// Reads big-endian fields from a payload, checking every bound.
/// Lengths are validated against what remains before anything is copied.
package struct ByteReader {
    package let buffer: UnsafeRawBufferPointer
    package private(set) var offset: Int
    package let end: Int

    package init(_ buffer: UnsafeRawBufferPointer, range: Range<Int>) {
        self.buffer = buffer
        self.offset = range.lowerBound
        self.end = range.upperBound
    }

    package var remaining: Int { end - offset }

    @inline(__always) private mutating func take(_ n: Int, _ what: StaticString) throws(ProtocolViolation) -> Int {
        guard n >= 0, remaining >= n else {
            throw ProtocolViolation(.truncated, "payload ends inside \(what) (needs \(n) bytes, \(remaining) left)")
        }
        let at = offset
        offset += n
        return at
    }

    package mutating func u8(_ what: StaticString = "u8") throws(ProtocolViolation) -> UInt8 {
        buffer[try take(1, what)]
    }
    package mutating func bool(_ what: StaticString) throws(ProtocolViolation) -> Bool {
        let v = try u8(what)
        guard v <= 1 else { throw ProtocolViolation(.badField, "\(what) must be 0 or 1, got \(v)") }
        return v == 1
    }
    package mutating func u16(_ what: StaticString = "u16") throws(ProtocolViolation) -> UInt16 {
        let at = try take(2, what)
        return UInt16(buffer[at]) << 8 | UInt16(buffer[at + 1])
    }
    package mutating func u32(_ what: StaticString = "u32") throws(ProtocolViolation) -> UInt32 {
        let at = try take(4, what)
        return UInt32(buffer[at]) << 24 | UInt32(buffer[at + 1]) << 16 | UInt32(buffer[at + 2]) << 8 | UInt32(buffer[at + 3])
    }
    package mutating func u64(_ what: StaticString = "u64") throws(ProtocolViolation) -> UInt64 {
        let hi = try u32(what)
        let lo = try u32(what)
        return UInt64(hi) << 32 | UInt64(lo)
    }
    package mutating func bytes(_ n: Int, _ what: StaticString) throws(ProtocolViolation) -> [UInt8] {
        let at = try take(n, what)
        return Array(UnsafeRawBufferPointer(rebasing: buffer[at ..< at + n]))
    }
    /// Steps over `n` bytes; returns where they start.
    @discardableResult
    package mutating func skip(_ n: Int, _ what: StaticString) throws(ProtocolViolation) -> Int {
        try take(n, what)
    }
    package mutating func rest() -> [UInt8] {
        let r = Array(UnsafeRawBufferPointer(rebasing: buffer[offset ..< end]))
        offset = end
        return r
    }
    package mutating func string(_ what: StaticString) throws(ProtocolViolation) -> String {
        let n = Int(try u32(what))
        guard n <= remaining else {
            throw ProtocolViolation(.truncated, "\(what) claims \(n) bytes, \(remaining) left")
        }
        let at = try take(n, what)
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: buffer[at ..< at + n]), as: UTF8.self) else {
            throw ProtocolViolation(.badField, "\(what) is not valid UTF-8")
        }
        return s
    }
    package mutating func shortBytes(_ what: StaticString) throws(ProtocolViolation) -> [UInt8] {
        let n = Int(try u8(what))
        return try bytes(n, what)
    }
    /// Every payload must be consumed exactly; trailing bytes mean the peer and we disagree.
    package func finish(_ what: FrameType) throws(ProtocolViolation) {
        guard remaining == 0 else {
            throw ProtocolViolation(.badField, "\(remaining) unexpected trailing bytes in \(what) frame")
        }
    }
}
