import PacketCapture
import PacketDecoding

/// Formats packets as one JSON object per line, shared by `capture` and `read`.
/// Hand-written rather than Foundation's encoder: one line per packet is the hot path.
enum PacketJSON {
    /// {"ts":"S.NNNNNNNNN"|null,"caplen":N,"len":N,"linktype":N,"linktype_name":"EN10MB","interface":N,"ifname":"eth0","layers":{...}}
    /// ("linktype_name" when libpcap names the link type, "ifname" when the interface's name is known;
    /// the "layers" keys: DecodedJSON, and the README's table).
    static func line(for packet: Packet, interfaceName: String? = nil) -> String {
        let ts = packet.timestamp.map { "\"\($0)\"" } ?? "null"
        var line = "{\"ts\":\(ts),\"caplen\":\(packet.captureLength),\"len\":\(packet.wireLength),"
        line += "\"linktype\":\(packet.linkType.rawValue),"
        if let name = packet.linkType.name { line += "\"linktype_name\":\"\(name)\"," }
        line += "\"interface\":\(packet.interfaceIndex)"
        if let interfaceName { line += ",\"ifname\":" + jsonString(interfaceName) }
        if !packet.comments.isEmpty {
            line += ",\"comments\":[" + packet.comments.map(jsonString).joined(separator: ",") + "]"
        }
        let decoded = DecodedPacket(bytes: packet.bytes.span.bytes, linkType: packet.linkType.rawValue)
        line += ",\"layers\":" + DecodedJSON.object(decoded)
        line += "}"
        return line
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
