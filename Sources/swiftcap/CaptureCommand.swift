import ArgumentParser
import Dispatch
import Glibc
import PacketCapture
import Synchronization

/// `swiftcap capture`: tcpdump-style live capture through the helper.
struct CaptureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture packets live, through swiftcap-helper.",
        discussion: """
        Stops after COUNT packets, after SECONDS, or on SIGINT/SIGTERM, then prints \
        tcpdump's three counters to stderr (per interface with several -i). The filter \
        is the remaining words, joined by spaces (pcap-filter(7)), or the contents of -F FILE; \
        -f FILTER after an -i gives that interface its own (dumpcap's -i a -f icmp -i b -f udp). \
        With several -i, one helper captures on each interface and packets are merged in \
        timestamp order; -w then writes pcapng with one interface block per interface. \
        Output to a pipe or file is flushed at least every 50 ms, after every batch in \
        immediate mode, and -w output after every batch with -U.
        """
    )

    enum Direction: String, ExpressibleByArgument, CaseIterable {
        case `in`, out, `inout`
    }

    enum Precision: String, ExpressibleByArgument, CaseIterable {
        case micro, nano
    }

    @Option(name: .customShort("i"), help: ArgumentHelp("Interface to capture on; repeat for several (default: the first device pcap_findalldevs lists). [USER@]HOST:IFACE captures on another machine through ssh.", valueName: "iface"))
    var interfaces: [String] = []

    @Option(name: .customShort("f"), help: ArgumentHelp("Capture filter of the -i before it (dumpcap); before any -i, of every interface without its own.", valueName: "filter"))
    var interfaceFilters: [String] = []

    @Option(name: .customShort("r"), help: ArgumentHelp("Read packets from FILE (- for standard input) instead: the same as swiftcap read FILE.", valueName: "file"))
    var readFile: String?

    @Flag(name: .customShort("D"), help: "List the capture devices and exit (swiftcap devices).")
    var listDevices = false

    @Flag(name: .customShort("L"), help: "List the interface's link types and exit (choose one with -y).")
    var listLinkTypes = false

    @Option(name: .customShort("y"), help: ArgumentHelp("Capture with this link type, by libpcap's name (e.g. LINUX_SLL2; see -L).", valueName: "type"))
    var linkTypeName: String?

    @Flag(name: [.customShort("J"), .customLong("list-time-stamp-types")], help: "List the interface's time stamp types and exit (choose one with -j).")
    var listTimestampTypes = false

    @Option(name: [.customShort("j"), .customLong("time-stamp-type")], help: ArgumentHelp("Time stamp type, by libpcap's name (e.g. host, adapter; see -J).", valueName: "type"))
    var timestampTypeName: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("Exit after receiving COUNT packets.", valueName: "count"))
    var count: Int?

    @Option(name: .customShort("s"), help: ArgumentHelp("Snapshot length: bytes kept of each packet, 0 for the maximum (262144).", valueName: "snaplen"))
    var snaplen: Int = 262_144

    @Flag(name: .customShort("O"), help: "Do not run the filter optimizer (as tcpdump -O): for filters too costly to optimize.")
    var noOptimize = false

    @Flag(name: .customShort("p"), help: "Do not put the interface into promiscuous mode.")
    var noPromiscuous = false

    @Flag(name: [.customLong("immediate"), .customLong("immediate-mode")], help: "Immediate mode: deliver each packet as soon as it arrives.")
    var immediate = false

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Buffer timeout in milliseconds (default 100).", valueName: "ms"))
    var timeoutMilliseconds: Int?

    @Option(name: .customShort("B"), help: ArgumentHelp("Kernel buffer size in KiB.", valueName: "kib"))
    var bufferKiB: Int?

    @Option(name: [.customShort("Q"), .customLong("direction")], help: "Direction of packets to capture: in, out or inout.")
    var direction: Direction = .`inout`

    @Option(name: .customLong("time-stamp-precision"), help: ArgumentHelp("Timestamp precision: micro or nano (default nano).", valueName: "precision"))
    var precision: Precision?

    @Flag(name: .customLong("nano"), help: "The same as --time-stamp-precision nano.")
    var nano = false

    @Flag(name: .customLong("micro"), help: "The same as --time-stamp-precision micro.")
    var micro = false

    @Flag(name: .customShort("I"), help: "Monitor mode (802.11 interfaces only).")
    var monitorMode = false

    @Flag(help: "Print one JSON object per packet.")
    var json = false

    @Flag(name: .customLong("count"), help: "Print only the number of packets captured, at the end.")
    var countOnly = false

    @Option(name: .customShort("w"), help: ArgumentHelp("Write packets to FILE (- for standard output) instead of printing them.", valueName: "file"))
    var writeFile: String?

    @Option(help: "Format of the -w file: pcap or pcapng (default pcapng).")
    var format: ReadCommand.OutputFormat?

    @Flag(name: .customShort("U"), help: "Packet-buffered -w output: written out after every batch of packets received.")
    var packetBuffered = false

    @Flag(name: .customShort("l"), help: "Line-buffered output: each printed line is written at once.")
    var lineBuffered = false

    @Option(name: .customShort("F"), help: ArgumentHelp("Read the filter expression from FILE (# starts a comment).", valueName: "file"))
    var filterFile: String?

    @Option(help: ArgumentHelp("Stop after SECONDS seconds.", valueName: "seconds"))
    var duration: Double?

    @OptionGroup(title: "Packet text (as tcpdump's)")
    var display: OutputOptions

    @OptionGroup(title: "Ring buffers and autostop")
    var rotation: FileRotationOptions

    @OptionGroup(title: "Remote capture (through ssh)")
    var remote: RemoteOptions

    @Option(help: ArgumentHelp("Path of swiftcap-helper (default: $SWIFTCAP_HELPER, next to swiftcap, ../libexec/swiftcap, then /usr/local and /usr libexec/swiftcap).", valueName: "path"))
    var helper: String?

    @Argument(parsing: .remaining, help: "Filter expression (pcap-filter(7)).")
    var filter: [String] = []

    func validate() throws {
        if immediate && timeoutMilliseconds != nil {
            throw ValidationError("--immediate and --timeout exclude each other")
        }
        if let count, count < 1 { throw ValidationError("-c COUNT must be at least 1") }
        if let timeoutMilliseconds, timeoutMilliseconds < 1 || timeoutMilliseconds > Int(UInt32.max) {
            throw ValidationError("--timeout must be 1 to \(UInt32.max) ms; use --immediate-mode for no buffering")
        }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if snaplen < 0 || snaplen > Self.maximumSnapshotLength {
            throw ValidationError("invalid snaplen \(snaplen) (must be >= 0 and <= \(Self.maximumSnapshotLength); 0 means \(Self.maximumSnapshotLength))")
        }
        if let bufferKiB, bufferKiB < 1 || bufferKiB > CaptureOptions.maximumBufferSize / 1024 {
            throw ValidationError("-B \(bufferKiB) is outside 1...\(CaptureOptions.maximumBufferSize / 1024) KiB (1 GiB)")
        }
        if nano && micro { throw ValidationError("--nano and --micro exclude each other") }
        if let precision, (nano && precision != .nano) || (micro && precision != .micro) {
            throw ValidationError("--time-stamp-precision \(precision.rawValue) contradicts --\(nano ? "nano" : "micro")")
        }
        if json && countOnly { throw ValidationError("--json and --count exclude each other") }
        if format != nil && writeFile == nil { throw ValidationError("--format applies to -w; add -w FILE") }
        if writeFile == "-" && (json || countOnly) {
            throw ValidationError("-w - writes the capture to standard output; drop --json/--count")
        }
        if filterFile != nil && !filter.isEmpty {
            throw ValidationError("-F FILE gives the filter; drop the filter words (\(filter.joined(separator: " "))) or -F")
        }
        if readFile != nil {
            if !interfaces.isEmpty { throw ValidationError("-r reads a file and -i captures live; give one of them") }
            if duration != nil { throw ValidationError("--duration applies to live captures, not to -r FILE") }
        }
        let plan = try rotation.plan()
        if plan.needsRingWriter || plan.stopAfterFiles != nil {
            guard let writeFile, writeFile != "-" else {
                throw ValidationError("-C, -G, -W, -b and -a filesize:/files: switch between -w files; add -w FILE (not -w -)")
            }
        }
        if !interfaceFilters.isEmpty && (readFile != nil || listDevices || listLinkTypes || listTimestampTypes) {
            throw ValidationError("-f sets a live capture's filter; with -r, -D, -L or -J give the filter words instead")
        }
        if Set(interfaces).count != interfaces.count {
            throw ValidationError("-i \(interfaces.first { i in interfaces.filter { $0 == i }.count > 1 }!) is given twice; name each interface once")
        }
    }

    static let maximumSnapshotLength = 262_144

    /// tcpdump prints to a terminal (or with -l) in immediate mode, so that
    /// packets show up as they arrive; so does swiftcap unless --timeout is given.
    var effectivelyImmediate: Bool {
        if immediate { return true }
        if timeoutMilliseconds != nil || writeFile != nil || countOnly { return false }
        return lineBuffered || isatty(STDOUT_FILENO) != 0
    }

    func options(filter expression: String) -> CaptureOptions {
        var o = CaptureOptions()
        o.snapshotLength = snaplen == 0 ? Self.maximumSnapshotLength : snaplen
        o.promiscuous = !noPromiscuous
        if effectivelyImmediate { o.timeout = .immediate } else if let t = timeoutMilliseconds { o.timeout = .milliseconds(t) }
        o.bufferSize = bufferKiB.map { $0 * 1024 }
        o.monitorMode = monitorMode
        switch direction {
        case .in: o.direction = .in
        case .out: o.direction = .out
        case .`inout`: o.direction = .inOut
        }
        o.timestampPrecision = (micro || precision == .micro) ? .microseconds : .nanoseconds
        o.filter = expression.isEmpty ? nil : expression
        o.optimizeFilter = !noOptimize
        o.linkTypeName = linkTypeName
        o.timestampTypeName = timestampTypeName
        o.helperPath = helper
        return o
    }

    func run() async throws {
        if listDevices {
            let devices = try DevicesCommand.parse(helper.map { ["--helper", $0] } ?? [])
            return try await devices.run()
        }
        if listLinkTypes || listTimestampTypes { return try await listChoices() }
        if let readFile {
            var read = try ReadCommand.parse(readArguments(file: readFile))
            return try await read.run()
        }
        let expression: String
        if let filterFile {
            do { expression = try FilterFile.read(filterFile) } catch {
                Output.standardError("swiftcap: \(error)\n")
                throw ExitCode(1)
            }
        } else {
            expression = filter.joined(separator: " ")
        }
        let filters = try InterfaceFilters.pair(arguments: InterfaceFilters.commandLineArguments, interfaces: interfaces,
                                                filters: interfaceFilters, words: expression)
        try await LiveSession(command: self, options: options(filter: filters.common ?? ""), filters: filters,
                              plan: try rotation.plan()).run()
    }

    /// `capture -r FILE ...` as `read FILE ...`: the options both commands have.
    func readArguments(file: String) -> [String] {
        var arguments = [file]
        if json { arguments.append("--json") }
        if countOnly { arguments.append("--count") }
        if lineBuffered { arguments.append("-l") }
        if let count { arguments += ["-c", String(count)] }
        if let writeFile { arguments += ["-w", writeFile] }
        if let format { arguments += ["--format", format.rawValue] }
        if let helper { arguments += ["--helper", helper] }
        if let filterFile { arguments += ["-F", filterFile] }
        if noOptimize { arguments.append("-O") }
        return arguments + (filter.isEmpty ? [] : ["--"] + filter)
    }

}

/// `-F FILE`: the filter expression in a file, as tcpdump reads it: `#` to the
/// end of a line is a comment, lines are joined by spaces.
enum FilterFile {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String) throws(ReadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ReadError(description: "cannot read the filter file \(path) (-F): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ReadError(description: "cannot read the filter file \(path) (-F): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            bytes += chunk[0 ..< n]
            if bytes.count > 1 << 20 { throw ReadError(description: "the filter file \(path) (-F) is over 1 MiB; a filter expression is far shorter") }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        var words: [String] = []
        for line in text.split(separator: "\n") {
            let code: Substring = line.firstIndex(of: "#").map { line[..<$0] } ?? line
            for word in code.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) { words.append(String(word)) }
        }
        return words.joined(separator: " ")
    }
}

/// Buffered standard output: lines collect in memory and go out with one
/// write(2) per 64 KiB (or per line on a terminal and with -l, or when `flush` is called).
final class Output: Sendable {
    private let buffer = Mutex<[UInt8]>([])
    private let flushEveryLine: Bool
    static let threshold = 64 * 1024

    init(flushEveryLine: Bool) {
        self.flushEveryLine = flushEveryLine
        buffer.withLock { $0.reserveCapacity(Self.threshold + 4096) }
    }

    func line(_ text: String) {
        buffer.withLock { b in
            b.append(contentsOf: text.utf8)
            b.append(0x0A)
            if flushEveryLine || b.count >= Self.threshold { Self.write(STDOUT_FILENO, &b) }
        }
    }

    func line(_ utf8: [UInt8]) {
        buffer.withLock { b in
            b.append(contentsOf: utf8)
            b.append(0x0A)
            if flushEveryLine || b.count >= Self.threshold { Self.write(STDOUT_FILENO, &b) }
        }
    }

    func flush() {
        buffer.withLock { b in if !b.isEmpty { Self.write(STDOUT_FILENO, &b) } }
    }

    /// write(2) all of `bytes` (retrying EINTR and short writes), then empty it.
    static func write(_ fd: Int32, _ bytes: inout [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        write(STDERR_FILENO, &bytes)
    }

    static func standardOutput(_ text: String) {
        var bytes = Array(text.utf8)
        write(STDOUT_FILENO, &bytes)
    }
}

/// Hands a value to exactly one task that alone uses it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
