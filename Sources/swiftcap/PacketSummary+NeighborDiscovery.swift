import PacketDecoding

// What tcpdump -v adds to ICMPv6 neighbour discovery (print-icmp6.c): router
// advertisement fields, neighbour advertisement flags and the options, one per line.
extension PacketSummary {
    /// `-v` lines of a router solicitation/advertisement, neighbour solicitation/advertisement
    /// or redirect; false when the message runs out of captured bytes (tcpdump's ` [|icmp6]`).
    func appendNeighborDiscoveryDetails(_ message: RawSpan, type: UInt8, length: Int, to out: inout TextLine) -> Bool {
        let optionsStart: Int
        switch type {
        case 133: optionsStart = 8
        case 134:
            guard message.byteCount >= 16 else { return false }
            let flags = message.u8(5)
            out += "\n\thop limit \(message.u8(4)), Flags ["
            appendFlagNames(flags, [(0x80, "managed"), (0x40, "other stateful"), (0x20, "home agent")], to: &out)
            out += "], pref \(Self.routerPreference(flags)), router lifetime \(message.u16(6))s, "
            out += "reachable time \(message.u32(8))ms, retrans timer \(message.u32(12))ms"
            optionsStart = 16
        case 135: optionsStart = 24
        case 136:
            out += ", Flags ["
            appendFlagNames(message.u8(4), [(0x80, "router"), (0x40, "solicited"), (0x20, "override")], to: &out)
            out += "]"
            optionsStart = 24
        case 137: optionsStart = 40
        default: return true
        }
        return appendNeighborDiscoveryOptions(message, from: optionsStart, remaining: length - optionsStart, to: &out)
    }

    /// tcpdump's icmp6_opt_print: `\n\t  NAME option (TYPE), length BYTES (UNITS): VALUE` per
    /// option while captured bytes and the message length last.
    private func appendNeighborDiscoveryOptions(_ message: RawSpan, from start: Int, remaining: Int,
                                                to out: inout TextLine) -> Bool {
        var offset = start, remaining = remaining
        while offset < message.byteCount {
            guard offset + 2 <= message.byteCount else { return false }
            if remaining <= 0 { return true }
            let type = message.u8(offset), units = Int(message.u8(offset + 1))
            let length = units * 8
            guard units > 0, offset + length <= message.byteCount else { return false }
            out += "\n\t  \(Self.optionNames[type] ?? "unknown") option (\(type)), length \(length) (\(units)): "
            switch type {
            case 1, 2:
                for i in 2..<length {
                    if i > 2 { out += ":" }
                    out += hex(UInt16(message.u8(offset + i)), width: 2)
                }
            case 3:
                guard offset + 32 <= message.byteCount else { return false }
                out += "\(message.ipv6Address(offset + 16))/\(message.u8(offset + 2))\(units != 4 ? "badlen" : ""), Flags ["
                appendFlagNames(message.u8(offset + 3), [(0x80, "onlink"), (0x40, "auto"), (0x20, "router")], to: &out)
                out += "], valid time \(Self.lifetime(message.u32(offset + 4))), pref. time \(Self.lifetime(message.u32(offset + 8)))"
            case 4:
                // tcpdump dumps from the first option, not this one.
                appendHexWords(message, from: start, count: length, indent: "\n\t    ", to: &out)
            case 5:
                out += " \(message.u32(offset + 4))\(units != 1 ? "bad option length" : "")"
            case 7:
                out += " \(message.u32(offset + 4))ms"
            case 8:
                out += " preference \(message.u16(offset + 4)), lifetime \(message.u16(offset + 6))"
            case 25:
                out += " lifetime \(message.u32(offset + 4))s,"
                for i in 0..<((units - 1) / 2) { out += " addr: \(message.ipv6Address(offset + 8 + 16 * i))" }
            default:
                // Unknown options (and DNSSL, route information, which swiftcap does not decode):
                // tcpdump -v dumps the option's data and stops.
                appendHexWords(message, from: offset + 2, count: length - 2, indent: "\n\t  ", to: &out)
                return true
            }
            offset += length
            remaining -= length
        }
        return true
    }

    /// bittok2str: the names of the set bits, in table order, comma-separated; `none` if none.
    private func appendFlagNames(_ value: UInt8, _ names: [(UInt8, StaticString)], to out: inout TextLine) {
        var first = true
        for (bit, name) in names where value & bit != 0 {
            if !first { out += ", " }
            out += name
            first = false
        }
        if first { out += "none" }
    }

    /// tcpdump's hex_print: `INDENT0x0000: ` then ` xxxx` per two bytes, eight per line.
    func appendHexWords(_ bytes: RawSpan, from start: Int, count: Int, indent: StaticString, to out: inout TextLine) {
        let end = min(start + count, bytes.byteCount)
        var i = start, words = 0
        while i + 1 < end {
            if words % 8 == 0 { out += indent; out += "0x\(hex(UInt16(truncatingIfNeeded: words * 2), width: 4)): " }
            out += " \(hex(UInt16(bytes.u8(i)), width: 2))\(hex(UInt16(bytes.u8(i + 1)), width: 2))"
            i += 2
            words += 1
        }
        if i < end {
            if words % 8 == 0 { out += indent; out += "0x\(hex(UInt16(truncatingIfNeeded: words * 2), width: 4)): " }
            out += " \(hex(UInt16(bytes.u8(i)), width: 2))"
        }
    }

    static let optionNames: [UInt8: String] = [
        1: "source link-address", 2: "destination link-address", 3: "prefix info", 4: "redirected header", 5: "mtu",
        25: "rdnss", 31: "dnssl", 7: "advertisement interval", 8: "homeagent information", 24: "route info",
    ]

    static func lifetime(_ seconds: UInt32) -> String { seconds == .max ? "infinity" : "\(seconds)s" }

    /// RFC 4191's router preference, bits 3-4 of the flags.
    static func routerPreference(_ flags: UInt8) -> String { ["medium", "high", "rsv", "low"][Int(flags >> 3 & 3)] }
}

extension RawSpan {
    /// Sixteen bytes at `offset` as an IPv6 address (for the printers; lengths checked by the caller).
    func ipv6Address(_ offset: Int) -> IPv6Address {
        IPv6Address(high: UInt64(u32(offset)) << 32 | UInt64(u32(offset + 4)),
                    low: UInt64(u32(offset + 8)) << 32 | UInt64(u32(offset + 12)))
    }
}
