import ArgumentParser
import Dispatch
import Glibc
import PacketCapture
import Synchronization

/// One run of `swiftcap capture`: opens the capture(s), writes or prints the
/// packets until a stop condition, then prints the statistics.
struct LiveSession {
    let command: CaptureCommand
    let options: CaptureOptions
    /// Per -i, its filter (its own -f, or the common one).
    let filters: InterfaceFilters
    let plan: RotationPlan

    /// What `capture` opened: one interface, or several merged by timestamp.
    enum Source {
        case single(LiveCapture)
        case merged(MultiInterfaceCapture)

        var captures: [LiveCapture] {
            switch self {
            case .single(let c): [c]
            case .merged(let m): m.captures
            }
        }

        func close() async {
            switch self {
            case .single(let c): await c.close()
            case .merged(let m): await m.close()
            }
        }
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

        let source: Source
        do {
            if command.interfaces.count > 1 {
                source = .merged(try await openMerged())
            } else {
                var single = options
                let (interface, transport) = command.interfaces.first.map(command.remote.source) ?? (nil, command.remote.transport(host: command.remote.remote))
                single.transport = transport
                single.filter = filters.filter(for: 0)
                source = .single(try await LiveCapture.open(interface: interface, options: single))
            }
        } catch {
            Output.standardError("swiftcap: \(CLIMessages.describe(error))\n")
            throw ExitCode(1)
        }
        let captures = source.captures
        for capture in captures {
            Output.standardError("swiftcap: listening on \(capture.qualifiedName), link-type \(capture.linkType.tcpdumpName), snapshot length \(capture.snapshotLength) bytes\n")
            if let warning = capture.warning { Output.standardError("swiftcap: warning: \(capture.qualifiedName): \(warning)\n") }
        }

        // -w: the file gets every packet; like tcpdump, nothing is printed per packet
        // unless --json asks for it.
        let sink: (any PacketSink)?
        do throws(CaptureFileError) {
            sink = try makeSink(for: captures)
        } catch {
            Output.standardError("swiftcap: \(error)\n")
            await source.close()
            throw ExitCode(1)
        }
        let lineByLine = isatty(STDOUT_FILENO) != 0 || command.lineBuffered || (command.packetBuffered && command.writeFile == nil)
        let output = OutputFlusher(sink: sink, text: Output(flushEveryLine: lineByLine),
                                   policy: FlushPolicy(packetBuffered: command.packetBuffered,
                                                       afterEveryBatch: options.timeout == .immediate))
        let printer = Printer(mode: command.countOnly ? .none : (command.json ? .json : (command.writeFile != nil ? .none : .text)),
                              names: captures.map(\.qualifiedName), several: captures.count > 1,
                              text: TextPrinter(PacketPrinter(options: command.display)))
        let limit = min(command.count ?? Int.max, plan.stopAfterPackets ?? Int.max)
        let perInterface = Mutex([Int](repeating: 0, count: captures.count))
        let consumer = Task { () -> (Int, CaptureError?) in
            var n = 0
            var stop = false
            var failure: CaptureError?
            /// Writes and prints a batch; false when the capture must stop.
            func deliver<C: Collection<Packet>>(_ batch: C) -> Bool {
                var taken = batch.prefix(limit - n)
                do throws(CaptureFileError) {
                    let written = try output.write(taken)
                    taken = taken.prefix(written.taken)
                    stop = written.stop   // an autostop condition of the -w files
                } catch {
                    Output.standardError("swiftcap: \(error)\n")
                    failure = CaptureError(.captureClosed, "stopped: the capture file could not be written")
                    return false
                }
                n += taken.count
                perInterface.withLock { counts in for p in taken { counts[p.interfaceIndex] += 1 } }
                for p in taken { printer.print(p, to: output.text) }
                output.endOfBatch()
                return !stop && n < limit
            }
            do throws(CaptureError) {
                switch source {
                case .single(let capture):
                    for try await batch in capture.batches where !deliver(batch) { break }
                case .merged(let merged):
                    for try await batch in merged.batches where !deliver(batch) { break }
                }
            } catch {
                return (n, error)
            }
            return (n, failure)
        }

        running.withLock { $0 = consumer }
        if let duration = [command.duration, plan.stopAfterSeconds].compactMap({ $0 }).min() {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + duration)
            timer.setEventHandler { consumer.cancel() }
            timer.resume()
            sources.append(timer)
        }
        sources.append(output.startTimer(on: queue) { consumer.cancel() })

        let (captured, failure) = await consumer.value
        for s in sources { s.cancel() }
        do throws(CaptureFileError) { try output.close() } catch {
            Output.standardError("swiftcap: \(error)\n")
            await source.close()
            throw ExitCode(1)
        }
        if command.countOnly { Output.standardOutput("\(captured)\n") }

        if let failure {
            Output.standardError("swiftcap: \(CLIMessages.describe(failure))\n")
            Output.standardError("\(captured) packets captured\n")
            await source.close()
            throw ExitCode(1)
        }
        var statistics: [CaptureStatistics] = []
        var statisticsFailed = false
        for capture in captures {
            do {
                statistics.append(try await capture.statistics())
            } catch {
                Output.standardError("swiftcap: cannot read statistics of \(capture.qualifiedName): \(CLIMessages.describe(error))\n")
                statisticsFailed = true
            }
        }
        await source.close()
        Output.standardError("\(captured) packets captured\n")
        if captures.count == 1, let stats = statistics.first {
            Output.standardError("\(stats.received) packets received by filter\n")
            Output.standardError("\(stats.droppedByKernel) packets dropped by kernel\n")
        } else if !statisticsFailed {
            let counts = perInterface.withLock { $0 }
            for (i, stats) in statistics.enumerated() {
                let name = captures[i].qualifiedName
                Output.standardError("\(counts[i]) packets captured on \(name)\n")
                Output.standardError("\(stats.received) packets received by filter on \(name)\n")
                Output.standardError("\(stats.droppedByKernel) packets dropped by kernel on \(name)\n")
            }
        }
        if statisticsFailed { throw ExitCode(1) }
    }

    /// One capture per -i, each through its own transport (local, or ssh to its
    /// host), merged by timestamp. When one cannot be opened, the others are closed.
    func openMerged() async throws(CaptureError) -> MultiInterfaceCapture {
        var opened: [LiveCapture] = []
        do throws(CaptureError) {
            for (index, value) in command.interfaces.enumerated() {
                let (interface, transport) = command.remote.source(value)
                var perInterface = options
                perInterface.transport = transport
                perInterface.filter = filters.filter(for: index)
                opened.append(try await LiveCapture.open(interface: interface, options: perInterface))
            }
            return try MultiInterfaceCapture(captures: opened, lookahead: MultiInterfaceCapture.defaultLookahead(for: options.timeout))
        } catch {
            for capture in opened { await capture.close() }
            throw error
        }
    }

    /// The -w writer with one interface per capture, or nil without -w.
    func makeSink(for captures: [LiveCapture]) throws(CaptureFileError) -> (any PacketSink)? {
        guard let path = command.writeFile else { return nil }
        let format = command.format?.captureFileFormat ?? .pcapng
        let linkTypes = Set(captures.map(\.linkType.rawValue))
        if format == .pcap && linkTypes.count > 1 {
            throw CaptureFileError(code: .linkTypeMismatch, offset: 0, message: "the interfaces have different link types ("
                + captures.map { "\($0.qualifiedName): \($0.linkType.tcpdumpName)" }.joined(separator: ", ")
                + ") and a pcap file holds one; write pcapng (drop --format pcap)", path: path)
        }
        let nanoseconds = captures[0].timestampPrecision == .nanoseconds
        let fileOptions = CaptureFileWriter.Options(pcapTimestampPrecision: nanoseconds ? .nanoseconds : .microseconds)
        let interfaces = captures.enumerated().map { index, c in
            RingBufferWriter.Interface(linkType: c.linkType, snapshotLength: c.snapshotLength, name: c.qualifiedName,
                                       resolution: c.timestampPrecision == .nanoseconds ? .nanoseconds : .microseconds,
                                       filter: filters.filter(for: index).flatMap { $0.isEmpty ? nil : $0 })
        }
        if plan.needsRingWriter || plan.stopAfterFiles != nil {
            return try RingBufferWriter(path: path, format: format, options: fileOptions, interfaces: interfaces, plan: plan)
        }
        let writer = try CaptureFileWriter(path: path, format: format, options: fileOptions)
        for i in interfaces { try i.declare(in: writer) }
        // The headers reach the reader at once, before the first packet.
        try writer.flush()
        return writer
    }
}

/// Per-packet text or JSON lines of `capture`.
struct Printer: Sendable {
    enum Mode { case none, json, text }
    let mode: Mode
    let names: [String]
    /// Several interfaces: text lines name the interface.
    let several: Bool
    /// tcpdump-style lines (they keep per-connection state).
    let text: TextPrinter

    func print(_ packet: Packet, to out: Output) {
        switch mode {
        case .none: return
        case .json: out.line(PacketJSON.line(for: packet, interfaceName: names[packet.interfaceIndex]))
        case .text:
            let line = text.printer.line(packet)
            if several {
                out.line(String(decoding: line, as: UTF8.self) + " interface \(packet.interfaceIndex) \(names[packet.interfaceIndex])")
            } else {
                out.line(line)
            }
        }
    }
}

/// The tcpdump-style printer of a capture; only the consumer task prints, one packet at a time.
final class TextPrinter: @unchecked Sendable {
    var printer: PacketPrinter
    init(_ printer: PacketPrinter) { self.printer = printer }
}
