import Glibc
import PacketCapture
import PacketDecoding

/// Turns packets into tcpdump-style text: timestamp, summary, optional dumps.
/// One per command run: it keeps the state tcpdump keeps (TCP conversations,
/// the previous and first timestamps for -ttt / -ttttt).
struct PacketPrinter {
    let options: OutputOptions
    private var summary: PacketSummary
    private var previous: Timestamp?
    private var first: Timestamp?

    init(options: OutputOptions) {
        self.options = options
        summary = PacketSummary(quiet: options.quiet, verbose: options.verbose, linkHeader: options.linkHeader,
                                absoluteSequenceNumbers: options.absoluteSequenceNumbers)
    }

    /// The text of a file packet (lines joined by newlines, no final newline).
    mutating func text(_ view: PacketView) -> String {
        DecodedPacket.withDecoded(unsafeBytes: view.bytes, linkType: view.linkType.rawValue) { packet in
            text(packet, timestamp: view.timestamp, wireLength: view.wireLength)
        }
    }

    /// The text of a captured packet.
    mutating func text(_ packet: Packet) -> String {
        let decoded = DecodedPacket(bytes: packet.bytes.span.bytes, linkType: packet.linkType.rawValue)
        return text(decoded, timestamp: packet.timestamp, wireLength: packet.wireLength)
    }

    mutating func text(_ packet: borrowing DecodedPacket, timestamp: Timestamp?, wireLength: Int) -> String {
        var out = timestampText(timestamp)
        out += summary.text(packet, wireLength: wireLength)
        let withLink = options.hex == 2 || options.hexAndASCII == 2 || summary.lastStoppedShort
        let start = withLink ? 0 : min(packet.layers.link?.headerLength ?? 0, packet.bytes.byteCount)
        let dumped = packet.bytes.extracting(start..<packet.bytes.byteCount)
        if options.hexAndASCII > 0 {
            HexDump.append(dumped, ascii: true, to: &out)
        } else if options.hex > 0 {
            HexDump.append(dumped, ascii: false, to: &out)
        } else if options.ascii {
            HexDump.appendASCII(dumped, to: &out)
        }
        return out
    }

    private mutating func timestampText(_ timestamp: Timestamp?) -> String {
        defer { if let timestamp { previous = timestamp; if first == nil { first = timestamp } } }
        // No timestamp (pcapng Simple Packet Block): tcpdump prints the epoch.
        let timestamp = timestamp ?? Timestamp(seconds: 0, nanoseconds: 0)
        switch options.timestampFormat {
        case .none:
            return ""
        case .epoch:
            return "\(timestamp.seconds).\(Self.digits(Int(timestamp.nanoseconds / 1000), 6)) "
        case .clock, .dateAndClock:
            var seconds = time_t(timestamp.seconds)
            var parts = tm()
            localtime_r(&seconds, &parts)
            var text = ""
            if options.timestampFormat == .dateAndClock {
                text = "\(parts.tm_year + 1900)-\(Self.digits(Int(parts.tm_mon + 1), 2))-\(Self.digits(Int(parts.tm_mday), 2)) "
            }
            text += "\(Self.digits(Int(parts.tm_hour), 2)):\(Self.digits(Int(parts.tm_min), 2)):\(Self.digits(Int(parts.tm_sec), 2))"
            return text + ".\(Self.digits(Int(timestamp.nanoseconds / 1000), 6)) "
        case .sincePrevious, .sinceFirst:
            let reference = (options.timestampFormat == .sincePrevious ? previous : first) ?? timestamp
            let micros = max(0, (timestamp.totalNanoseconds - reference.totalNanoseconds) / 1000)
            let seconds = Int(micros / 1_000_000)
            return " \(Self.digits(seconds / 3600, 2)):\(Self.digits(seconds / 60 % 60, 2)):\(Self.digits(seconds % 60, 2)).\(Self.digits(Int(micros % 1_000_000), 6)) "
        }
    }

    static func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// tcpdump's -x / -X / -A dumps.
enum HexDump {
    /// `\n\t0x0010:  4500 0054 ...  E..T` lines of 16 bytes.
    static func append(_ bytes: RawSpan, ascii: Bool, to out: inout String) {
        var offset = 0
        while offset < bytes.byteCount {
            let end = min(offset + 16, bytes.byteCount)
            out += "\n\t0x\(hex(UInt16(truncatingIfNeeded: offset), width: 4)):  "
            var column = 0
            for i in offset..<end {
                out += hex(UInt16(bytes.u8(i)), width: 2)
                column += 2
                if (i - offset) % 2 == 1 && i + 1 < end { out += " "; column += 1 }
            }
            if ascii {
                out += String(repeating: " ", count: 41 - column)
                for i in offset..<end {
                    let c = bytes.u8(i)
                    out.unicodeScalars.append(c > 0x20 && c < 0x7F ? Unicode.Scalar(c) : ".")
                }
            }
            offset = end
        }
    }

    /// `-A`: printable bytes, tabs, spaces and newlines as they are, others as dots.
    static func appendASCII(_ bytes: RawSpan, to out: inout String) {
        out += "\n"
        var i = 0
        while i < bytes.byteCount {
            let c = bytes.u8(i)
            if c == 0x0D && i + 1 < bytes.byteCount && bytes.u8(i + 1) == 0x0A { i += 1; continue }
            out.unicodeScalars.append((c > 0x20 && c < 0x7F) || c == 0x09 || c == 0x20 || c == 0x0A ? Unicode.Scalar(c) : ".")
            i += 1
        }
    }
}

/// Bounds-checked big-endian reads for the printers (the decoder checked the lengths).
extension RawSpan {
    func u8(_ offset: Int) -> UInt8 { unsafeLoad(fromByteOffset: offset, as: UInt8.self) }
    func u16(_ offset: Int) -> UInt16 { UInt16(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    func u32(_ offset: Int) -> UInt32 { UInt32(bigEndian: unsafeLoadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
}
