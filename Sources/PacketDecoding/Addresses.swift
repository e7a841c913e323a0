/// A 48-bit IEEE 802 MAC address, printed as `02:00:00:00:00:01`.
public struct MACAddress: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The six bytes, most significant first, in the low 48 bits.
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        self.init(rawValue: [b0, b1, b2, b3, b4, b5].reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// Parses `02:00:00:00:00:01` (or with `-`); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(omittingEmptySubsequences: false) { $0 == ":" || $0 == "-" }
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard (1...2).contains(part.count), let byte = UInt8(part, radix: 16) else { return nil }
            value = value << 8 | UInt64(byte)
        }
        self.init(rawValue: value)
    }

    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    public static let zero = MACAddress(rawValue: 0)

    /// The six bytes in network order.
    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * $0)) } }

    public var description: String {
        var text = ""
        text.reserveCapacity(17)
        for i in 0..<6 {
            if i > 0 { text.append(":") }
            appendHexByte(UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * i)), to: &text)
        }
        return text
    }
}

/// An IPv4 address, printed dotted (`192.0.2.1`).
public struct IPv4Address: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The address in host order (`192.0.2.1` is 0xC000_0201).
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad text (`192.0.2.1`); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0 >= "0" && $0 <= "9" }), let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        rawValue = value
    }

    /// The four bytes in network order.
    public var bytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (24 - 8 * $0)) } }

    public var description: String {
        "\(rawValue >> 24).\(rawValue >> 16 & 0xFF).\(rawValue >> 8 & 0xFF).\(rawValue & 0xFF)"
    }
}

/// An IPv6 address, printed per RFC 5952 (`2001:db8::1`, `::ffff:192.0.2.1`).
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The first 8 bytes, most significant first.
    public var high: UInt64
    /// The last 8 bytes.
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From the eight 16-bit groups.
    public init(groups: [UInt16]) {
        precondition(groups.count == 8, "an IPv6 address has eight 16-bit groups")
        high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// Parses RFC 4291 text (`fe80::1`, `::ffff:192.0.2.1`); nil for anything else.
    public init?(_ text: some StringProtocol) {
        var groups: [UInt16] = []
        var gap: Int?
        var rest = Substring(text)
        if rest.hasPrefix("::") { gap = 0; rest = rest.dropFirst(2) }
        while !rest.isEmpty {
            let piece = rest.prefix { $0 != ":" }
            rest = rest.dropFirst(piece.count)
            if piece.contains(".") {
                guard rest.isEmpty, let v4 = IPv4Address(piece) else { return nil }
                groups.append(UInt16(v4.rawValue >> 16))
                groups.append(UInt16(v4.rawValue & 0xFFFF))
                break
            }
            guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
            groups.append(group)
            if rest.hasPrefix("::") {
                guard gap == nil else { return nil }
                gap = groups.count
                rest = rest.dropFirst(2)
            } else if rest.hasPrefix(":") {
                rest = rest.dropFirst()
                if rest.isEmpty { return nil }
            }
        }
        if let gap {
            guard groups.count < 8 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        self.init(groups: groups)
    }

    public static let unspecified = IPv6Address(high: 0, low: 0)

    /// Group `i` (0...7).
    public func group(_ i: Int) -> UInt16 {
        UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> (48 - 16 * (i % 4)))
    }

    /// The sixteen bytes in network order.
    public var bytes: [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: ($0 < 8 ? high : low) >> (56 - 8 * ($0 % 8))) }
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { (a.high, a.low) < (b.high, b.low) }

    /// RFC 5952: lower-case hex without leading zeros, the longest run (first on a
    /// tie) of two or more zero groups as `::`, and IPv4-mapped / -compatible
    /// addresses with a dotted tail, as glibc's inet_ntop (and so tcpdump) prints them.
    public var description: String {
        var bestStart = -1, bestLength = 0, runStart = -1
        for i in 0...8 {
            if i < 8 && group(i) == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        if bestLength < 2 { bestStart = -1 }
        var text = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                text += "::"
                i += bestLength
                continue
            }
            if i == 6 && bestStart == 0 && (bestLength == 6 || (bestLength == 5 && group(5) == 0xFFFF)) {
                if !text.hasSuffix(":") { text += ":" }
                text += IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)).description
                return text
            }
            if !text.isEmpty && !text.hasSuffix(":") { text += ":" }
            text += String(group(i), radix: 16)
            i += 1
        }
        return text
    }
}

private let hexDigits: [Character] = Array("0123456789abcdef")

func appendHexByte(_ byte: UInt8, to text: inout String) {
    text.append(hexDigits[Int(byte >> 4)])
    text.append(hexDigits[Int(byte & 0xF)])
}
