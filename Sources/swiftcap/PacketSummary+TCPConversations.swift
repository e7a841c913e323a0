import PacketDecoding

/// tcpdump's table of TCP conversations for relative sequence numbers: the
/// first packet with ACK set (or any SYN) of a connection records the base.
struct TCPConversations {
    struct Key: Hashable {
        var addresses: [UInt8]
        var ports: UInt32
    }

    struct Base {
        var seq: UInt32
        var ack: UInt32
        var reversed: Bool
    }

    private var table: [Key: Base] = [:]

    /// Rewrites `seq`/`ack` relative to the conversation's base as tcpdump does; returns the base.
    mutating func relate(_ packet: borrowing DecodedPacket, ip: NetworkLayer, sport: UInt16, dport: UInt16,
                         seq: inout UInt32, ack: inout UInt32, syn: Bool) -> Base {
        let addressLength = ip.kind == .ipv4 ? 4 : 16
        let sourceOffset = ip.offset + (ip.kind == .ipv4 ? 12 : 8)
        var source: [UInt8] = [], destination: [UInt8] = []
        for i in 0..<addressLength {
            source.append(packet.bytes.u8(sourceOffset + i))
            destination.append(packet.bytes.u8(sourceOffset + addressLength + i))
        }
        var reversed = sport > dport
        if sport == dport { reversed = source.lexicographicallyPrecedes(destination) == false && source != destination }
        let key = reversed
            ? Key(addresses: destination + source, ports: UInt32(dport) << 16 | UInt32(sport))
            : Key(addresses: source + destination, ports: UInt32(sport) << 16 | UInt32(dport))
        if let known = table[key], !syn {
            if reversed { seq &-= known.ack; ack &-= known.seq } else { seq &-= known.seq; ack &-= known.ack }
            return Base(seq: known.seq, ack: known.ack, reversed: reversed)
        }
        let base = reversed ? Base(seq: ack &- 1, ack: seq, reversed: reversed) : Base(seq: seq, ack: ack &- 1, reversed: reversed)
        table[key] = base
        return base
    }
}
