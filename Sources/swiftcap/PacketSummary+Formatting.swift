import PacketDecoding

// Hex digits and IP addresses (RFC 5952 for IPv6) as the printers write them.

func hex(_ value: UInt16, width: Int) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
}

/// An IP address to print: IPv4 digit by digit, IPv6 per RFC 5952.
enum Address {
    case v4(IPv4Address)
    case v6(IPv6Address)
}

extension TextLine {
    mutating func append(_ address: Address) {
        switch address {
        case let .v4(a): append(a)
        case let .v6(a): self += a.description
        }
    }

    /// `ADDRESS.PORT`, as tcpdump -n prints an endpoint.
    mutating func append(_ address: Address, port: UInt16) {
        append(address)
        append(byte: 0x2E)
        append(UInt64(port))
    }
}
