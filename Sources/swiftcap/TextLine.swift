import PacketDecoding

/// One line of output as UTF-8 bytes, reused from packet to packet: the printers
/// append numbers and addresses digit by digit instead of making Strings (the
/// tcpdump-style output is measured against tcpdump in bench/decode).
struct TextLine {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    var count: Int { bytes.count }

    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }
    mutating func removeLast() { bytes.removeLast() }
    /// Drops what was appended since the line had `count` bytes.
    mutating func removeSuffix(from count: Int) { bytes.removeSubrange(count...) }

    static func += (line: inout TextLine, text: String) {
        var text = text
        text.withUTF8 { line.bytes.append(contentsOf: $0) }
    }

    static func += (line: inout TextLine, text: StaticString) {
        text.withUTF8Buffer { line.bytes.append(contentsOf: $0) }
    }

    mutating func append(byte: UInt8) { bytes.append(byte) }

    /// Decimal digits of `value`, most significant first.
    mutating func append(_ value: UInt64) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor &*= 10 }
        var rest = value
        repeat {
            bytes.append(0x30 &+ UInt8(truncatingIfNeeded: rest / divisor))
            rest %= divisor
            divisor /= 10
        } while divisor > 0
    }

    mutating func append(_ value: some BinaryInteger) {
        if value < 0 { bytes.append(0x2D); append(UInt64(-Int64(value))) } else { append(UInt64(value)) }
    }

    /// `value` (not negative) with leading zeros to `width` digits.
    mutating func append(_ value: Int, width: Int) {
        var digits = 1, v = value
        while v >= 10 { v /= 10; digits += 1 }
        for _ in digits..<max(width, digits) { bytes.append(0x30) }
        append(UInt64(value))
    }

    mutating func append(_ address: IPv4Address) {
        let v = address.rawValue
        append(UInt64(v >> 24)); bytes.append(0x2E)
        append(UInt64(v >> 16 & 0xFF)); bytes.append(0x2E)
        append(UInt64(v >> 8 & 0xFF)); bytes.append(0x2E)
        append(UInt64(v & 0xFF))
    }

    func hasSuffix(_ text: StaticString) -> Bool {
        text.withUTF8Buffer { suffix in
            bytes.count >= suffix.count && bytes[(bytes.count - suffix.count)...].elementsEqual(suffix)
        }
    }

    func contains(_ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard !needle.isEmpty, bytes.count >= needle.count else { return needle.isEmpty }
        for start in 0...(bytes.count - needle.count) where bytes[start] == needle[0] {
            if bytes[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
