import Glibc
import PacketCapture
import PacketDecoding

/// Turns packets into tcpdump-style text: timestamp, summary, optional dumps.
/// One per command run: it keeps the state tcpdump keeps (TCP conversations,
/// the previous and first timestamps for -ttt / -ttttt).
struct PacketPrinter {
    private var summary: PacketSummary
    private var previous: Timestamp?
    private var first: Timestamp?
    private var line = TextLine()
    /// The clock text ("HH:MM:SS.", with the date for -tttt) of `clockSecond`: one localtime_r per second.
    private var clockSecond: Int64 = .min
    private var clockText: [UInt8] = []

    // The flags, read once: ArgumentParser's property wrappers cost a lookup per read.
    private let hexWithLink: Bool
    private let hexAndASCII: Bool
    private let hexOnly: Bool
    private let ascii: Bool
    private let timestampFormat: OutputOptions.TimestampFormat

    init(options: OutputOptions) {
        hexWithLink = options.hex == 2 || options.hexAndASCII == 2
        hexAndASCII = options.hexAndASCII > 0
        hexOnly = options.hex > 0
        ascii = options.ascii
        timestampFormat = options.timestampFormat
        summary = PacketSummary(quiet: options.quiet, verbose: options.verbose, linkHeader: options.linkHeader,
                                absoluteSequenceNumbers: options.absoluteSequenceNumbers)
    }

    /// The text of a file packet as UTF-8 (lines joined by newlines, no final newline).
    /// The array shares the printer's buffer: use it before printing the next packet.
    mutating func line(_ view: PacketView) -> [UInt8] {
        // The view's bytes live for this call: the decoded view cannot leave it.
        let packet = DecodedPacket(bytes: RawSpan(_unsafeBytes: view.bytes), linkType: view.linkType.rawValue)
        write(packet, timestamp: view.timestamp, wireLength: view.wireLength)
        return line.bytes
    }

    /// The text of a captured packet, as `line(_: PacketView)`.
    mutating func line(_ packet: Packet) -> [UInt8] {
        let decoded = DecodedPacket(bytes: packet.bytes.span.bytes, linkType: packet.linkType.rawValue)
        write(decoded, timestamp: packet.timestamp, wireLength: packet.wireLength)
        return line.bytes
    }

    private mutating func write(_ packet: borrowing DecodedPacket, timestamp: Timestamp?, wireLength: Int) {
        line.removeAll()
        writeTimestamp(timestamp)
        summary.write(packet, wireLength: wireLength, to: &line)
        guard hexAndASCII || hexOnly || ascii else { return }
        let withLink = hexWithLink || summary.lastStoppedShort
        let start = withLink ? 0 : min(packet.layers.link?.headerLength ?? 0, packet.bytes.byteCount)
        let dumped = packet.bytes.extracting(start..<packet.bytes.byteCount)
        if hexAndASCII {
            HexDump.append(dumped, ascii: true, to: &line)
        } else if hexOnly {
            HexDump.append(dumped, ascii: false, to: &line)
        } else {
            HexDump.appendASCII(dumped, to: &line)
        }
    }

    private mutating func writeTimestamp(_ timestamp: Timestamp?) {
        // No timestamp (pcapng Simple Packet Block): tcpdump prints the epoch.
        let timestamp = timestamp ?? Timestamp(seconds: 0, nanoseconds: 0)
        defer { previous = timestamp; if first == nil { first = timestamp } }
        let micros = Int(timestamp.nanoseconds / 1000)
        switch timestampFormat {
        case .none:
            return
        case .epoch:
            line.append(timestamp.seconds)
            line += "."
            line.append(micros, width: 6)
            line += " "
        case .clock, .dateAndClock:
            if timestamp.seconds != clockSecond {
                clockSecond = timestamp.seconds
                var seconds = time_t(timestamp.seconds)
                var parts = tm()
                localtime_r(&seconds, &parts)
                var text = TextLine()
                if timestampFormat == .dateAndClock {
                    text.append(Int(parts.tm_year) + 1900, width: 4)
                    text += "-"
                    text.append(Int(parts.tm_mon) + 1, width: 2)
                    text += "-"
                    text.append(Int(parts.tm_mday), width: 2)
                    text += " "
                }
                text.append(Int(parts.tm_hour), width: 2)
                text += ":"
                text.append(Int(parts.tm_min), width: 2)
                text += ":"
                text.append(Int(parts.tm_sec), width: 2)
                text += "."
                clockText = text.bytes
            }
            for byte in clockText { line.append(byte: byte) }
            line.append(micros, width: 6)
            line += " "
        case .sincePrevious, .sinceFirst:
            let reference = (timestampFormat == .sincePrevious ? previous : first) ?? timestamp
            let delta = max(0, (timestamp.totalNanoseconds - reference.totalNanoseconds) / 1000)
            let seconds = Int(delta / 1_000_000)
            line += " "
            line.append(seconds / 3600, width: 2)
            line += ":"
            line.append(seconds / 60 % 60, width: 2)
            line += ":"
            line.append(seconds % 60, width: 2)
            line += "."
            line.append(Int(delta % 1_000_000), width: 6)
            line += " "
        }
    }
}

/// tcpdump's -x / -X / -A dumps.
enum HexDump {
    /// `\n\t0x0010:  4500 0054 ...  E..T` lines of 16 bytes.
    static func append(_ bytes: RawSpan, ascii: Bool, to out: inout TextLine) {
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
                    out.append(byte: c > 0x20 && c < 0x7F ? c : 0x2E)
                }
            }
            offset = end
        }
    }

    /// `-A`: printable bytes, tabs, spaces and newlines as they are, others as dots.
    ///
    /// A carriage return prints as a dot only where tcpdump's `ascii_print` prints one:
    /// when at least two bytes follow it and the next is not a newline.
    static func appendASCII(_ bytes: RawSpan, to out: inout TextLine) {
        out += "\n"
        var i = 0
        while i < bytes.byteCount {
            let c = bytes.u8(i)
            if c == 0x0D {
                if bytes.byteCount - i - 1 > 1 && bytes.u8(i + 1) != 0x0A { out.append(byte: 0x2E) }
                i += 1
                continue
            }
            out.append(byte: (c > 0x20 && c < 0x7F) || c == 0x09 || c == 0x20 || c == 0x0A ? c : 0x2E)
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
