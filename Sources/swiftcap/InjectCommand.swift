import ArgumentParser
import Glibc
import PacketCapture

/// `swiftcap inject`: sends the packets of a capture file (tcpreplay's basic
/// job) or one frame given in hex, through the helper (pcap_inject).
struct InjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inject",
        abstract: "Send the packets of a pcap/pcapng file, or one frame in hex, on an interface.",
        discussion: """
        Timing: the file's own (default), scaled by --speed-multiplier, a fixed --rate, or \
        --topspeed. A file whose link type the interface does not have is refused before \
        anything is sent (for a pcapng stream on standard input, at the first such packet). \
        Prints packets sent, bytes, failures with the first error, and the rate achieved.
        """
    )

    @Option(name: .customShort("i"), help: ArgumentHelp("Interface to send on.", valueName: "iface"))
    var interface: String

    @Argument(help: ArgumentHelp("The pcap or pcapng file to send, or - for standard input.", valueName: "file"))
    var file: String?

    @Option(help: ArgumentHelp("Send this one frame instead of a file: hex digits, spaces and colons allowed.", valueName: "bytes"))
    var hex: String?

    @Option(help: ArgumentHelp("Send PPS packets per second.", valueName: "pps"))
    var rate: Double?

    @Option(name: .customLong("speed-multiplier"), help: ArgumentHelp("Replay the file's timing X times faster.", valueName: "x"))
    var speedMultiplier: Double?

    @Flag(help: "Send as fast as possible.")
    var topspeed = false

    @Option(help: ArgumentHelp("Send the file N times.", valueName: "n"))
    var loop: Int = 1

    @Option(name: .customShort("c"), help: ArgumentHelp("Stop after sending COUNT packets.", valueName: "count"))
    var count: Int?

    @Option(help: ArgumentHelp("Path of swiftcap-helper.", valueName: "path"))
    var helper: String?

    func validate() throws {
        if (file == nil) == (hex == nil) { throw ValidationError("give a FILE (or - for standard input) or --hex BYTES, one of them") }
        if [rate != nil, speedMultiplier != nil, topspeed].filter({ $0 }).count > 1 {
            throw ValidationError("--rate, --speed-multiplier and --topspeed exclude each other")
        }
        if let rate, !(rate > 0 && rate <= 10_000_000) { throw ValidationError("--rate must be above 0 and at most 10000000 packets per second") }
        if let speedMultiplier, !(speedMultiplier > 0) { throw ValidationError("--speed-multiplier must be above 0") }
        if loop < 1 { throw ValidationError("--loop must be at least 1") }
        if let count, count < 1 { throw ValidationError("-c must be at least 1") }
        if loop > 1 && file == "-" { throw ValidationError("--loop reads the file again; standard input cannot be read twice") }
        if hex != nil && (rate != nil || speedMultiplier != nil || topspeed || loop != 1 || count != nil) {
            throw ValidationError("--hex sends one frame; --rate, --speed-multiplier, --topspeed, --loop and -c apply to files")
        }
        if let hex, Self.parseHex(hex) == nil {
            throw ValidationError("--hex \(hex): expected pairs of hex digits (spaces and colons may separate them)")
        }
    }

    func run() async throws {
        var options = CaptureOptions()
        options.helperPath = helper
        options.snapshotLength = 64
        options.filter = "less 1"   // nothing: this capture only sends
        let capture: LiveCapture
        do {
            capture = try await LiveCapture.open(interface: interface, options: options)
        } catch {
            Output.standardError("swiftcap inject: \(CLIMessages.describe(error))\n")
            throw ExitCode(1)
        }
        var report = InjectReport()
        if let hex, let bytes = Self.parseHex(hex) {
            await report.send(bytes, on: capture)
        } else if let file {
            do {
                try await sendFile(file, on: capture, report: &report)
                await report.settle()
            } catch let refusal as Refusal {
                await report.settle()
                Output.standardError("swiftcap inject: \(refusal.message)\n")
                report.print()
                await capture.close()
                throw ExitCode(1)
            }
        }
        await capture.close()
        report.print()
        if report.failures > 0 { throw ExitCode(1) }
    }

    struct Refusal: Error { var message: String }

    /// Packets per --topspeed request: 4096 minimum-size (60-byte) frames fill one
    /// maximal request; the helper sends them with four sendmmsg calls.
    static let batchPackets = 4096

    /// Sends the packets of `path` `loop` times with the chosen timing.
    private func sendFile(_ path: String, on capture: LiveCapture, report: inout InjectReport) async throws {
        var pacer = Pacer(rate: rate, speedMultiplier: topspeed ? nil : (speedMultiplier ?? (rate == nil ? 1 : nil)))
        let limit = count ?? Int.max
        for _ in 0 ..< loop {
            let input: CaptureFile
            do { input = try CaptureFile(path: path) } catch { throw Refusal(message: "\(error)") }
            if input.linkTypesAreComplete, let other = input.linkTypes().first(where: { $0 != capture.linkType }) {
                throw mismatch(path, other, capture)
            }
            if topspeed {
                try await sendBatches(of: input, path: path, limit: limit - report.attempted, on: capture, report: &report)
                if report.attempted >= limit { return }
                continue
            }
            pacer.startPass()
            do {
                for try await packet in input.packets {
                    if report.attempted >= limit { break }
                    guard packet.linkType == capture.linkType else { throw mismatch(path, packet.linkType, capture) }
                    await pacer.wait(for: packet.timestamp)
                    await report.send(packet.bytes, on: capture)
                }
            } catch let error as CaptureFileError {
                throw Refusal(message: "\(error)")
            }
            if report.attempted >= limit { return }
        }
    }

    /// --topspeed: packets go in batches, one request (and one reply) per batch
    /// instead of per packet, read from the file while the batch before is sent.
    private func sendBatches(of input: CaptureFile, path: String, limit: Int, on capture: LiveCapture,
                             report: inout InjectReport) async throws {
        let reader = InjectBatchReader(file: input, linkType: capture.linkType, limit: limit, batchPackets: Self.batchPackets)
        defer { reader.cancel() }
        while let item = await reader.next() {
            switch item {
            case .batch(var batch, let rejected, let rejection):
                if let rejection { for _ in 0 ..< rejected { report.count(failure: rejection) } } // empty or oversized records
                await report.send(batch: &batch, on: capture)
            case .linkTypeMismatch(let other):
                throw mismatch(path, other, capture)
            case .damaged(let error):
                throw Refusal(message: "\(error)")
            }
        }
    }

    private func mismatch(_ path: String, _ linkType: LinkType, _ capture: LiveCapture) -> Refusal {
        Refusal(message: "\(path == "-" ? "standard input" : path) has packets of link-type \(linkType.tcpdumpName) and \(capture.interface) is link-type "
            + "\(capture.linkType.tcpdumpName); nothing was sent. Send it on an interface of that link type, or convert the file first")
    }

    /// Bytes from "01 02 0a", "01:02:0a" or "01020a"; nil when not whole pairs of hex digits.
    static func parseHex(_ text: String) -> [UInt8]? {
        let digits = text.filter { $0 != " " && $0 != ":" && $0 != "\n" && $0 != "\t" }
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index ..< next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

/// When to send the next packet: at a fixed rate, at the file's timing scaled,
/// or at once. Deadlines are absolute (start + offset), so waiting errors do not add up.
struct Pacer {
    let rate: Double?
    let speedMultiplier: Double?
    private let clock = ContinuousClock()
    private var start: ContinuousClock.Instant?
    private var firstTimestamp: Int64?
    private var index = 0

    init(rate: Double?, speedMultiplier: Double?) {
        self.rate = rate
        self.speedMultiplier = speedMultiplier
    }

    /// A new pass over the file (--loop): the file's timing starts again.
    mutating func startPass() {
        firstTimestamp = nil
        if speedMultiplier != nil { start = nil }
    }

    mutating func wait(for timestamp: Timestamp?) async {
        let now = clock.now
        if start == nil { start = now }
        defer { index += 1 }
        let offset: Duration
        if let rate {
            offset = .nanoseconds(Int64(Double(index) * 1e9 / rate))
        } else if let speedMultiplier, let ts = timestamp?.totalNanoseconds {
            if firstTimestamp == nil { firstTimestamp = ts }
            offset = .nanoseconds(Int64(Double(max(0, ts - firstTimestamp!)) / speedMultiplier))
        } else {
            return
        }
        let deadline = start! + offset
        if deadline > now { try? await clock.sleep(until: deadline, tolerance: .microseconds(50)) }
    }
}

/// What `inject` did: printed at the end as tcpreplay prints its summary.
struct InjectReport {
    var sent = 0
    var bytes = 0
    var failures = 0
    var firstError: String?
    private let clock = ContinuousClock()
    private var first: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant?

    mutating func send<C: Collection<UInt8>>(_ packet: C, on capture: LiveCapture) async {
        let now = clock.now
        if first == nil { first = now }
        do {
            bytes += try await capture.inject(packet)
            sent += 1
        } catch {
            count(failure: error)
        }
        last = now
    }

    /// A packet that could not be sent.
    mutating func count(failure error: CaptureError) {
        failures += 1
        if firstError == nil { firstError = CLIMessages.describe(error) }
    }

    /// The batch on its way to the helper: while the helper sends it, the next
    /// one is read from the file and built (one request outstanding, as the
    /// protocol wants, but the two processes work at the same time).
    private var inFlight: Task<(LiveCapture.InjectResult?, CaptureError?), Never>?
    private var inFlightCount = 0

    /// Packets sent, failed, or on their way.
    var attempted: Int { sent + failures + inFlightCount }

    /// Hands what `batch` holds (if anything) to the helper, once the batch
    /// before it is done, and empties it.
    mutating func send(batch: inout InjectBatch, on capture: LiveCapture) async {
        guard !batch.isEmpty else { return }
        await settle()
        if first == nil { first = clock.now }
        let full = batch
        inFlightCount = full.count
        inFlight = Task {
            do throws(CaptureError) { return (try await capture.inject(batch: full), nil) } catch { return (nil, error) }
        }
        batch.removeAll()
    }

    /// Waits for the batch in flight, if any, and counts what it did.
    mutating func settle() async {
        guard let task = inFlight else { return }
        inFlight = nil
        let (result, error) = await task.value
        if let result {
            sent += result.sent
            bytes += result.bytes
            failures += result.failed
            if firstError == nil, let error = result.firstError { firstError = CLIMessages.describe(error) }
        } else {
            failures += inFlightCount
            if firstError == nil, let error { firstError = CLIMessages.describe(error) }
        }
        inFlightCount = 0
        last = clock.now
    }

    func print() {
        var text = "\(sent) packets sent, \(bytes) bytes, \(failures) failed"
        if let firstError { text += " (first: \(firstError))" }
        text += "\n"
        if let first, let last, sent + failures > 1 {
            let seconds = Double((last - first).components.attoseconds) / 1e18 + Double((last - first).components.seconds)
            let rate = Double(sent + failures - 1) / max(seconds, 1e-9)
            text += "rate \(Int(rate.rounded())) packets/s over \(Int((seconds * 1000).rounded())) ms\n"
        }
        Output.standardError(text)
    }
}
