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

    static func += (line: inout TextLine, text: String) {
        var text = text
        text.withUTF8 { line.bytes.append(contentsOf: $0) }
    }

    static func += (line: inout TextLine, text: StaticString) {
        text.withUTF8Buffer { line.bytes.append(contentsOf: $0) }
    }

    mutating func append(byte: UInt8) { bytes.append(byte) }

    /// Decimal digits of `value`.
    mutating func append(_ value: UInt64) {
        if value < 10 { bytes.append(0x30 + UInt8(value)); return }
        var digits: (UInt64, UInt64) = (0, 0)  // 16 bytes of scratch, most significant last
        var n = value, count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while n > 0 && count < 16 {
                scratch[count] = 0x30 + UInt8(n % 10)
                n /= 10
                count += 1
            }
            if n > 0 { return }
            for i in stride(from: count - 1, through: 0, by: -1) { bytes.append(scratch[i]) }
        }
        if n > 0 { self += String(value) }  // 17+ digits: rare enough for a String
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

    func hasSuffix(_ text: String) -> Bool {
        let suffix = Array(text.utf8)
        return bytes.count >= suffix.count && bytes[(bytes.count - suffix.count)...].elementsEqual(suffix)
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
