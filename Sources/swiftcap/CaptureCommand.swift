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
        tcpdump's three counters to stderr. The filter is the remaining words, joined \
        by spaces (pcap-filter(7)).
        """
    )

    enum Direction: String, ExpressibleByArgument, CaseIterable {
        case `in`, out, `inout`
    }

    enum Precision: String, ExpressibleByArgument, CaseIterable {
        case micro, nano
    }

    @Option(name: .customShort("i"), help: ArgumentHelp("Interface to capture on (default: the first device pcap_findalldevs lists).", valueName: "iface"))
    var interface: String?

    @Option(name: .customShort("c"), help: ArgumentHelp("Exit after receiving COUNT packets.", valueName: "count"))
    var count: Int?

    @Option(name: .customShort("s"), help: ArgumentHelp("Snapshot length: bytes kept of each packet (1-262144).", valueName: "snaplen"))
    var snaplen: Int = 262_144

    @Flag(name: .customShort("p"), help: "Do not put the interface into promiscuous mode.")
    var noPromiscuous = false

    @Flag(help: "Immediate mode: deliver each packet as soon as it arrives.")
    var immediate = false

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Buffer timeout in milliseconds (default 100).", valueName: "ms"))
    var timeoutMilliseconds: Int?

    @Option(name: .customShort("B"), help: ArgumentHelp("Kernel buffer size in KiB.", valueName: "kib"))
    var bufferKiB: Int?

    @Option(help: "Direction of packets to capture: in, out or inout.")
    var direction: Direction = .`inout`

    @Option(name: .customLong("time-stamp-precision"), help: ArgumentHelp("Timestamp precision: micro or nano.", valueName: "precision"))
    var precision: Precision = .nano

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

    @Option(help: ArgumentHelp("Stop after SECONDS seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("Path of swiftcap-helper (default: $SWIFTCAP_HELPER, next to swiftcap, /usr/local/libexec/swiftcap).", valueName: "path"))
    var helper: String?

    @OptionGroup(title: "Packet text (as tcpdump's)")
    var display: OutputOptions

    @Argument(parsing: .remaining, help: "Filter expression (pcap-filter(7)).")
    var filter: [String] = []

    func validate() throws {
        if immediate && timeoutMilliseconds != nil {
            throw ValidationError("--immediate and --timeout exclude each other")
        }
        if let count, count < 1 { throw ValidationError("-c COUNT must be at least 1") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if let bufferKiB, bufferKiB < 1 || bufferKiB > Int(UInt32.max) / 1024 {
            throw ValidationError("-B must be between 1 and \(Int(UInt32.max) / 1024) KiB")
        }
        if json && countOnly { throw ValidationError("--json and --count exclude each other") }
        if format != nil && writeFile == nil { throw ValidationError("--format applies to -w; add -w FILE") }
        if writeFile == "-" && (json || countOnly) {
            throw ValidationError("-w - writes the capture to standard output; drop --json/--count")
        }
    }

    var options: CaptureOptions {
        var o = CaptureOptions()
        o.snapshotLength = snaplen
        o.promiscuous = !noPromiscuous
        if immediate { o.timeout = .immediate } else if let t = timeoutMilliseconds { o.timeout = .milliseconds(t) }
        o.bufferSize = bufferKiB.map { $0 * 1024 }
        o.monitorMode = monitorMode
        switch direction {
        case .in: o.direction = .in
        case .out: o.direction = .out
        case .`inout`: o.direction = .inOut
        }
        o.timestampPrecision = precision == .micro ? .microseconds : .nanoseconds
        let expression = filter.joined(separator: " ")
        o.filter = expression.isEmpty ? nil : expression
        o.helperPath = helper
        return o
    }

    func run() async throws {
        // Signals become events on dispatch sources, not process deaths. Until
        // the capture runs, a signal just ends the process (the helper follows:
        // its stdin closes and its parent-death signal fires).
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "swiftcap.capture.control")
        let running = Mutex<Task<(Int, CaptureError?), Never>?>(nil)
        var sources: [any DispatchSourceProtocol] = []
        for sig in [SIGINT, SIGTERM] {
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                guard let task = running.withLock({ $0 }) else { Glibc.exit(128 + sig) }
                task.cancel()
            }
            source.resume()
            sources.append(source)
        }

        let capture: LiveCapture
        do {
            capture = try await LiveCapture.open(interface: interface, options: options)
        } catch {
            let hint = error.code == .helperNotFound ? " (on the command line: --helper PATH)" : ""
            Output.standardError("swiftcap: \(error.message)\(hint)\n")
            throw ExitCode(1)
        }
        Output.standardError("swiftcap: listening on \(capture.interface), link-type \(capture.linkType.rawValue), snapshot length \(capture.snapshotLength) bytes\n")
        if let warning = capture.warning { Output.standardError("swiftcap: warning: \(warning)\n") }

        // -w: the file gets every packet; like tcpdump, nothing is printed per packet
        // unless --json asks for it.
        var writer: CaptureFileWriter?
        if let writeFile {
            do throws(CaptureFileError) {
                let w = try CaptureFileWriter(path: writeFile, format: format?.captureFileFormat ?? .pcapng,
                                              options: .init(pcapTimestampPrecision: capture.timestampPrecision == .nanoseconds ? .nanoseconds : .microseconds))
                try w.addInterface(linkType: capture.linkType, snapshotLength: capture.snapshotLength, name: capture.interface,
                                   timestampResolution: capture.timestampPrecision == .nanoseconds ? .nanoseconds : .microseconds)
                writer = w
            } catch {
                Output.standardError("swiftcap: \(error)\n")
                await capture.close()
                throw ExitCode(1)
            }
        }
        let out = Output(flushEveryLine: isatty(STDOUT_FILENO) != 0)
        let limit = count
        let mode: Int = countOnly ? 0 : (json ? 1 : (writeFile != nil ? 0 : 2))
        // Only the consumer task touches the writer until it has finished.
        let fileOutput = UncheckedSendable(writer)
        let display = display
        let consumer = Task { () -> (Int, CaptureError?) in
            let writer = fileOutput.value
            var printer = PacketPrinter(options: display)
            var n = 0
            do throws(CaptureError) {
                for try await packet in capture.packets {
                    n += 1
                    if let writer {
                        do throws(CaptureFileError) {
                            try writer.write(packet)
                        } catch {
                            Output.standardError("swiftcap: \(error)\n")
                            return (n, CaptureError(.captureClosed, "stopped: the capture file could not be written"))
                        }
                    }
                    if mode == 1 {
                        out.line(PacketJSON.line(for: packet))
                    } else if mode == 2 {
                        out.line(printer.line(packet))
                    }
                    if let limit, n >= limit { break }
                }
            } catch {
                return (n, error)
            }
            return (n, nil)
        }

        running.withLock { $0 = consumer }
        if let duration {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + duration)
            timer.setEventHandler { consumer.cancel() }
            timer.resume()
            sources.append(timer)
        }
        // Output is block-buffered; lines still reach a pipe within 200 ms.
        let flusher = DispatchSource.makeTimerSource(queue: queue)
        flusher.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        flusher.setEventHandler { out.flush() }
        flusher.resume()
        sources.append(flusher)

        let (captured, failure) = await consumer.value
        for s in sources { s.cancel() }
        out.flush()
        if let writer {
            do throws(CaptureFileError) { try writer.close() } catch {
                Output.standardError("swiftcap: \(error)\n")
                throw ExitCode(1)
            }
        }

        if let failure {
            Output.standardError("swiftcap: \(failure.message)\n")
            if countOnly { Output.standardOutput("\(captured)\n") }
            Output.standardError("\(captured) packets captured\n")
            await capture.close()
            throw ExitCode(1)
        }
        let stats: CaptureStatistics?
        do {
            stats = try await capture.statistics()
        } catch {
            Output.standardError("swiftcap: cannot read statistics: \(error.message)\n")
            stats = nil
        }
        await capture.close()
        if countOnly { Output.standardOutput("\(captured)\n") }
        Output.standardError("\(captured) packets captured\n")
        if let stats {
            Output.standardError("\(stats.received) packets received by filter\n")
            Output.standardError("\(stats.droppedByKernel) packets dropped by kernel\n")
        }
        if stats == nil { throw ExitCode(1) }
    }

}

/// Buffered standard output: lines collect in memory and go out with one
/// write(2) per 64 KiB (or per line on a terminal, or when `flush` is called).
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
        buffer.withLock { b in Self.write(STDOUT_FILENO, &b) }
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
