import ArgumentParser
import PacketCapture

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `swiftcap read FILE|- [--json] [--count] [-c N] [-w OUT [--format pcap|pcapng]] [--helper PATH] [FILTER ...]`
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read packets from a pcap or pcapng file.",
        discussion: """
            Prints one line per packet (one JSON object with --json), or only how many \
            packets matched (--count), and can write what it reads to another file (-w). \
            A FILTER in pcap-filter syntax is compiled by the helper and run here. \
            On a truncated or damaged file, every complete packet is printed, then the \
            error, and the exit status is 1.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case pcap, pcapng
        var captureFileFormat: CaptureFileFormat { self == .pcap ? .pcap : .pcapng }
    }

    @Argument(help: "The pcap or pcapng file to read, or - for standard input.")
    var file: String

    @Argument(help: "A filter expression in pcap-filter syntax (e.g. tcp port 80).")
    var filter: [String] = []

    @Flag(name: .customShort("O"), help: "Do not run the filter optimizer (as tcpdump -O).")
    var noOptimize = false

    @Flag(help: "Print one JSON object per packet.")
    var json = false

    @Flag(help: "Print only the number of (matching) packets.")
    var count = false

    @Option(name: .customShort("c"), help: ArgumentHelp("Stop after N (matching) packets.", valueName: "N"))
    var maxPackets: Int?

    @Option(name: .customShort("w"), help: ArgumentHelp("Write the (matching) packets to OUT (- for standard output).",
                                                        valueName: "OUT"))
    var output: String?

    @Option(help: "Format of the -w file (default: the input's).")
    var format: OutputFormat?

    @Option(help: ArgumentHelp("The swiftcap-helper executable that compiles FILTER.", valueName: "PATH"))
    var helper: String?

    @Option(name: .customShort("F"), help: ArgumentHelp("Read the filter expression from FILE (# starts a comment).", valueName: "FILE"))
    var filterFile: String?

    @Flag(name: .customShort("l"), help: "Line-buffered output: each printed line is written at once.")
    var lineBuffered = false

    @OptionGroup(title: "Packet text (as tcpdump's)")
    var display: OutputOptions

    func validate() throws {
        if let maxPackets, maxPackets < 0 { throw ValidationError("-c needs a count of 0 or more") }
        if format != nil && output == nil { throw ValidationError("--format applies to -w; add -w OUT") }
        if json && count { throw ValidationError("--json and --count exclude each other") }
        if filterFile != nil && !filter.isEmpty {
            throw ValidationError("-F FILE gives the filter; drop the filter words (\(filter.joined(separator: " "))) or -F")
        }
        if output == "-" && (json || count) {
            throw ValidationError("-w - writes the capture to standard output; drop --json/--count")
        }
    }

    mutating func run() async throws {
        let out = StandardOutput(flushEveryLine: lineBuffered)
        let input: CaptureFile
        do {
            input = try CaptureFile(path: file)
        } catch {
            Self.report(error)
            throw ExitCode(1)
        }

        let expression: String
        if let filterFile {
            do { expression = try FilterFile.read(filterFile) } catch {
                Self.report(error)
                throw ExitCode(1)
            }
        } else {
            expression = filter.joined(separator: " ")
        }
        // Compiled before -w creates anything, so a bad filter leaves no file behind.
        let filter = PacketFilter(expression, optimize: !noOptimize, helperPath: helper)
        do {
            try await filter.prepare(for: input)
        } catch {
            Self.report(error)
            throw ExitCode(1)
        }

        var writer: CaptureFileWriter?
        if let output {
            let outputFormat = format?.captureFileFormat ?? input.format
            let linkTypes = input.linkTypes()
            if outputFormat == .pcap && linkTypes.count > 1 {
                Self.report("\(file) has several link-layer types (\(linkTypes.map(\.description).joined(separator: ", "))), "
                    + "and a pcap file holds one: write pcapng (--format pcapng), or filter on one link type")
                throw ExitCode(1)
            }
            do {
                writer = try CaptureFileWriter(path: output, format: outputFormat)
                try writer!.addInterfaces(of: input)
            } catch {
                Self.report(error)
                throw ExitCode(1)
            }
        }

        let limit = maxPackets ?? Int.max
        var matched = 0
        var failure: (any Error)?

        if writer == nil && count && limit == Int.max {
            // The benchmarked paths: the walk over the mapped file, every record
            // checked, no view handed out, nothing allocated per packet.
            do {
                if filter.matchesEverything {
                    try input.countPackets(into: &matched)
                } else {
                    try await input.countPackets(matching: filter, into: &matched)
                }
            } catch {
                failure = error
            }
        } else {
            let mode: PrintMode = count ? .none : json ? .json : writer != nil ? .none : .text
            var printer = PacketPrinter(options: display)
            do {
                // pcapng→pcapng: the blocks that are not packets are copied too
                // (interfaces, name resolution, statistics, ...), so nothing
                // Wireshark shows is lost.
                try await input.forEachRecord(matching: filter) { record in
                    switch record {
                    case .block(let block):
                        try writer?.write(block: block)
                    case .packet(let view):
                        if matched >= limit { return false }
                        matched += 1
                        switch mode {
                        case .none: break
                        case .json: out.line(PacketJSON.line(for: view.makePacket()))
                        case .text: out.line(printer.line(view))
                        }
                        try writer?.write(view: view)
                    }
                    return true
                }
            } catch {
                failure = error
            }
        }

        if count { out.line(String(matched)) }
        out.flush()
        do {
            try writer?.close()
        } catch {
            if failure == nil { failure = error }
        }
        if let failure {
            Self.report(failure)
        }
        // Exit here rather than return: unmapping a large file explicitly (the
        // CaptureFile's deinit) costs more than letting the kernel reclaim the
        // whole address space at exit. Output is flushed and the writer closed.
        Glibc.exit(failure == nil ? 0 : 1)
    }

    enum PrintMode { case none, json, text }

    static func report(_ error: any Error) {
        if let error = error as? CaptureError { return report(CLIMessages.describe(error)) }
        report("\(error)")
    }

    static func report(_ message: String) {
        let line = "swiftcap read: \(message)\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(2, raw.baseAddress! + done, raw.count - done)
                if n <= 0 { if n < 0 && errno == EINTR { continue }; return }
                done += n
            }
        }
    }
}

/// Standard output through a 64 KiB buffer (one `write` per many lines, or per line with -l).
final class StandardOutput {
    private var buffer: [UInt8] = []
    private let flushEveryLine: Bool

    init(flushEveryLine: Bool = false) {
        self.flushEveryLine = flushEveryLine
        buffer.reserveCapacity(1 << 16)
    }

    func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(0x0A)
        if flushEveryLine || buffer.count >= 1 << 16 { flush() }
    }

    func line(_ utf8: [UInt8]) {
        buffer.append(contentsOf: utf8)
        buffer.append(0x0A)
        if flushEveryLine || buffer.count >= 1 << 16 { flush() }
    }

    func flush() {
        buffer.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(1, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
