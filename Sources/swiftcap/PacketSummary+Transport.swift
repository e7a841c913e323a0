import PacketDecoding

// TCP and UDP lines: flags, relative sequence numbers, options, the HTTP first line.
extension PacketSummary {
    mutating func appendTCP(_ packet: borrowing DecodedPacket, _ t: TransportLayer, ip: NetworkLayer,
                            addresses: (Address, Address)?, length ipPayloadLength: Int, to out: inout TextLine) {
        let tcp = packet.tcp!
        let sport = tcp.sourcePort, dport = tcp.destinationPort
        if let addresses {
            out.append(addresses.0, port: sport)
            out += " > "
            out.append(addresses.1, port: dport)
            out += ": "
        } else {
            out += "\(sport) > \(dport): "
        }
        let headerLength = tcp.dataOffset
        if quiet {
            out += "tcp "
            out.append(ipPayloadLength - headerLength)
            if headerLength > ipPayloadLength { out += " [bad hdr length \(headerLength) - too long, > \(ipPayloadLength)]" }
            return
        }
        let flags = tcp.flags
        out += "Flags ["
        let start = out.count
        if flags.contains(.fin) { out += "F" }
        if flags.contains(.syn) { out += "S" }
        if flags.contains(.rst) { out += "R" }
        if flags.contains(.psh) { out += "P" }
        if flags.contains(.ack) { out += "." }
        if flags.contains(.urg) { out += "U" }
        if flags.contains(.ece) { out += "E" }
        if flags.contains(.cwr) { out += "W" }
        if out.count == start { out += "none" }
        out += "]"
        var seq = tcp.sequenceNumber, ack = tcp.acknowledgmentNumber
        var base = TCPConversations.Base(seq: 0, ack: 0, reversed: false)
        if !absoluteSequenceNumbers && flags.contains(.ack) {
            base = tcpConversations.relate(packet, ip: ip, sport: sport, dport: dport, seq: &seq, ack: &ack, syn: flags.contains(.syn))
        }
        if headerLength > ipPayloadLength {
            out += " [bad hdr length \(headerLength) - too long, > \(ipPayloadLength)]"
            return
        }
        let length = ipPayloadLength - headerLength
        if verbose, packet.layers.innerNetwork == nil, let expected = packet.expectedTransportChecksum {
            let stored = tcp.checksum
            out += ", cksum 0x\(hex(stored, width: 4)) (\(stored == expected ? "correct" : "incorrect -> 0x\(hex(expected, width: 4))"))"
        }
        if length > 0 || flags.contains(.syn) || flags.contains(.fin) || flags.contains(.rst) {
            out += ", seq \(seq)"
            if length > 0 { out += ":\(seq &+ UInt32(truncatingIfNeeded: length))" }
        }
        if flags.contains(.ack) { out += ", ack \(ack)" }
        out += ", win \(tcp.window)"
        if flags.contains(.urg) { out += ", urg \(tcp.urgentPointer)" }
        if tcp.dataOffset > 20 {
            guard appendTCPOptions(tcp.bytes, declared: tcp.dataOffset, base: base, to: &out) else { return }
        }
        out += ", length \(length)"
        if length > 0 && !flags.contains(.rst) && (Self.httpPorts.contains(sport) || Self.httpPorts.contains(dport)) {
            appendHTTP(tcp.bytes.extracting(min(tcp.dataOffset, tcp.bytes.byteCount)..<tcp.bytes.byteCount), to: &out)
        }
    }

    static let httpPorts: Set<UInt16> = [80, 8080, 3128]
    static let httpMethods: Set<String> = ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "PATCH",
                                           "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "ORDERPATCH", "ACL"]

    /// tcpdump's `: HTTP`, then `: REQUEST-OR-STATUS-LINE` when the payload starts with one.
    func appendHTTP(_ payload: RawSpan, to out: inout TextLine) {
        out += ": HTTP"
        var line: [UInt8] = []
        var i = 0
        var ended = false
        while i < payload.byteCount && i < 300 {
            let c = payload.u8(i)
            if c == 0x0D && i + 1 < payload.byteCount && payload.u8(i + 1) == 0x0A { ended = true; break }
            if c == 0x0A { ended = true; break }
            line.append(c)
            i += 1
        }
        let text = String(decoding: line, as: UTF8.self)
        let token = text.prefix { $0 != " " }
        let isResponse = token.hasPrefix("HTTP/") && text.split(separator: " ").dropFirst().first.map { $0.count == 3 && $0.allSatisfy(\.isNumber) } == true
        guard Self.httpMethods.contains(token.uppercased()) || isResponse else { return }
        guard ended else { out += ": \(text.filter { $0.isASCII && !$0.isWhitespace || $0 == " " }) [|http]"; return }
        out += ": \(text)"
    }

    /// tcpdump's option list: `, options [mss 1460,sackOK,...]`; on a truncated
    /// header ` [|tcp]>` as tcpdump prints it, and false (nothing more to print).
    func appendTCPOptions(_ bytes: RawSpan, declared: Int, base: TCPConversations.Base, to out: inout TextLine) -> Bool {
        out += ", options ["
        var offset = 20
        var first = true
        let captured = bytes.byteCount
        // tcpdump: " [|tcp]" when the kind or length byte is missing, " [|tcp]>" inside an option's data.
        func truncated(inData: Bool = false) -> Bool { out += inData ? " [|tcp]>" : " [|tcp]"; return false }
        while offset < declared {
            if !first { out += "," }
            first = false
            guard offset < captured else { return truncated() }
            let kind = bytes.u8(offset)
            var length = 1
            if kind > 1 {
                guard offset + 1 < captured else { return truncated() }
                length = Int(bytes.u8(offset + 1))
                guard length >= 2, offset + length <= declared else { out += "[bad opt]]"; return true }
            }
            out += Self.tcpOptionName(kind)
            guard offset + length <= captured else { return truncated(inData: true) }
            let value = offset + 2
            var expected = length
            switch kind {
            case 2: expected = 4; if length >= 4 { out += " \(bytes.u16(value))" }
            case 3: expected = 3; if length >= 3 { out += " \(bytes.u8(value))" }
            case 4: expected = 2
            case 5:
                if (length - 2) % 8 != 0 {
                    out += " invalid sack"
                } else {
                    out += " \((length - 2) / 8) "
                    var b = value
                    while b < offset + length {
                        let edge = base.reversed ? base.seq : base.ack
                        out += "{\(bytes.u32(b) &- edge):\(bytes.u32(b + 4) &- edge)}"
                        b += 8
                    }
                }
            case 8: expected = 10; if length >= 10 { out += " val \(bytes.u32(value)) ecr \(bytes.u32(value + 4))" }
            case 0, 1: break
            default:
                if length > 2 {
                    out += " 0x"
                    for i in value..<(offset + length) { out += hex(UInt16(bytes.u8(i)), width: 2) }
                }
            }
            if expected != length { out += "[len \(length)]" }
            offset += length
            if kind == 0 { break }
        }
        out += "]"
        return true
    }

    static func tcpOptionName(_ kind: UInt8) -> String {
        switch kind {
        case 6: return "echo"
        case 7: return "echoreply"
        case 11: return "cc"
        case 12: return "ccnew"
        case 13: return "ccecho"
        case 19: return "md5"
        case 20: return "scps"
        case 28: return "uto"
        case 29: return "tcp-ao"
        case 30: return "mptcp"
        case 34: return "tfo"
        case 253, 254: return "exp"
        case 0: return "eol"
        case 1: return "nop"
        case 2: return "mss"
        case 3: return "wscale"
        case 4: return "sackOK"
        case 5: return "sack"
        case 8: return "TS"
        default: return "unknown-\(kind)"
        }
    }

    func appendUDP(_ packet: borrowing DecodedPacket, addresses: (Address, Address)?, to out: inout TextLine) {
        let udp = packet.udp!
        if let addresses {
            out.append(addresses.0, port: udp.sourcePort)
            out += " > "
            out.append(addresses.1, port: udp.destinationPort)
            out += ": "
        } else {
            out += "\(udp.sourcePort) > \(udp.destinationPort): "
        }
        let length = Int(udp.length)
        if length < 8 { out += "truncated-udplength \(length)"; return }
        // tcpdump -v checks UDP-over-IPv6 checksums (mandatory there); IPv4 ones only with -vv.
        if verbose, let ip = packet.layers.transportNetwork, ip.kind == .ipv6, ip.fragmentOffset == 0, !ip.moreFragments,
           let expected = packet.expectedTransportChecksum {
            out += udp.checksum == expected ? "[udp sum ok] "
                : "[bad udp cksum 0x\(hex(udp.checksum, width: 4)) -> 0x\(hex(expected, width: 4))!] "
        }
        out += "UDP, length "
        out.append(length - 8)
    }
}
