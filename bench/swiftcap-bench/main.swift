// swiftcap-bench: the swiftcap contender of bench/live-capture.
//
// Uses only the public PacketCapture API. Prints JSON lines on stdout: one
// {"event":"ready",...} once the capture is open (the harness starts traffic
// then), and one {"event":"result",...} at the end.
//
//   swiftcap-bench throughput    -i IF [-c N] [--idle MS] [-B KiB] [-t MS] [--helper PATH]
//                                [--api stream|batch|next] [--executor pool|io]
//   swiftcap-bench latency       -i IF [-c N] [--idle MS] [-B KiB] [--helper PATH]
//   swiftcap-bench stall         -i IF --seconds K [--idle MS] [-B KiB] [--helper PATH]
//   swiftcap-bench open-to-ready -i IF [-n REPS] [--gap MS] [-B KiB] [--helper PATH]
//
// throughput: counts packets (touching the last byte of each) until N, or
//   --idle ms without a packet after the first one, or 60 s without any.
// latency: immediate mode, nanosecond timestamps; per packet CLOCK_REALTIME at
//   receipt minus the packet timestamp; p50/p99/max.
// stall: opens, then does not consume for K seconds; reports the client's
//   VmHWM/VmRSS, then drains and reports statistics.
// open-to-ready: REPS times LiveCapture.open + close (then --gap ms); median open time.

import PacketCapture
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// MARK: - Arguments

struct Arguments {
    var mode = ""
    var interface = ""
    var count = 0
    var idleMilliseconds = 1500
    var maxWaitMilliseconds = 60_000
    var bufferKiB = 0
    var timeoutMilliseconds = 100
    var helper: String?
    var seconds = 5
    var reps = 20
    var api = "stream"
    var gapMilliseconds = 0
    var executor = "pool"

    static func parse(_ argv: [String]) -> Arguments {
        var a = Arguments()
        var i = 1
        func value() -> String {
            guard i + 1 < argv.count else { fail("missing value for \(argv[i])") }
            i += 1
            return argv[i]
        }
        func int() -> Int {
            let s = value()
            guard let v = Int(s) else { fail("not a number: \(s)") }
            return v
        }
        while i < argv.count {
            let arg = argv[i]
            switch arg {
            case "-i": a.interface = value()
            case "-c": a.count = int()
            case "--idle": a.idleMilliseconds = int()
            case "--max-wait": a.maxWaitMilliseconds = int()
            case "-B": a.bufferKiB = int()
            case "-t": a.timeoutMilliseconds = int()
            case "--helper": a.helper = value()
            case "--seconds": a.seconds = int()
            case "-n": a.reps = int()
            case "--api": a.api = value()
            case "--gap": a.gapMilliseconds = int()
            case "--executor": a.executor = value()
            default:
                if a.mode.isEmpty && !arg.hasPrefix("-") { a.mode = arg } else { fail("unknown argument \(arg)") }
            }
            i += 1
        }
        if a.mode.isEmpty || a.interface.isEmpty {
            fail("usage: swiftcap-bench throughput|latency|stall|open-to-ready -i IF [options]")
        }
        return a
    }
}

func fail(_ message: String) -> Never {
    FileHandleStderr.write("swiftcap-bench: \(message)\n")
    exit(2)
}

enum FileHandleStderr {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { buf in _ = Glibc.write(2, buf.baseAddress, buf.count) }
    }
}

/// Prints one line to stdout and flushes it (the harness waits for lines).
func emit(_ line: String) {
    print(line)
    fflush(nil)
}

// MARK: - Clocks and /proc

func nanoseconds(_ clock: clockid_t) -> Int64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// VmHWM and VmRSS of this process in kB.
func memoryKB() -> (hwm: Int, rss: Int) {
    guard let f = fopen("/proc/self/status", "r") else { return (0, 0) }
    defer { fclose(f) }
    var hwm = 0, rss = 0
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func number() -> Int { Int(s.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0 }
        if s.hasPrefix("VmHWM:") { hwm = number() }
        if s.hasPrefix("VmRSS:") { rss = number() }
    }
    return (hwm, rss)
}

/// User + system CPU seconds of this process (all its threads, not the helper).
func selfCPUSeconds() -> Double {
    var ru = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru)
    return Double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + Double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6
}

func fmt(_ x: Double) -> String {
    let scaled = (x * 100).rounded() / 100
    return String(scaled)
}

func percentile(_ sorted: [Int64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let idx = min(sorted.count - 1, Int(Double(sorted.count) * p))
    return Double(sorted[idx]) / 1000
}

// MARK: - Capture plumbing (the only place that names the PacketCapture API)

func makeOptions(_ a: Arguments, immediate: Bool) -> CaptureOptions {
    var o = CaptureOptions()
    o.snapshotLength = 262_144
    o.promiscuous = false
    o.timestampPrecision = .nanoseconds
    if a.bufferKiB > 0 { o.bufferSize = a.bufferKiB * 1024 }
    o.timeout = immediate ? .immediate : .milliseconds(a.timeoutMilliseconds)
    if let h = a.helper { o.helperPath = h }
    return o
}

func statisticsJSON(_ capture: LiveCapture) async -> String {
    do {
        let s = try await capture.statistics()
        return "\"ps_recv\":\(s.received),\"ps_drop\":\(s.droppedByKernel),\"ps_ifdrop\":\(s.droppedByInterface),\"client_delivered\":\(s.delivered),\"sent_by_helper\":\(s.sentByHelper)"
    } catch {
        FileHandleStderr.write("statistics failed: \(error)\n")
        return "\"stats_error\":true"
    }
}

// MARK: - Modes

/// What the consumer does with every packet: sum its last byte, and in latency
/// mode record receipt time minus timestamp. Used only by the consuming task.
final class Accumulator: @unchecked Sendable {
    var sum: UInt32 = 0
    var latencies: [Int64] = []
    let latency: Bool

    init(latency: Bool, expected: Int) {
        self.latency = latency
        if latency { latencies.reserveCapacity(expected) }
    }

    @inline(__always)
    func touch(_ packet: Packet) {
        if latency, let ts = packet.timestamp {
            latencies.append(nanoseconds(CLOCK_REALTIME) - ts.totalNanoseconds)
        }
        if let b = packet.bytes.last { sum &+= UInt32(b) }
    }
}

/// Progress shared between the consuming task and the idle watchdog.
final class Progress: Sendable {
    let count = Atomic<Int>(0)
    /// Batches taken (`--api batch` only).
    let batches = Atomic<Int>(0)
}
/// Batches the consumer took (`--api batch`), for the result line.
let batchesTaken = Atomic<Int>(0)

/// Consumes packets until `limit` (0 = none), `--idle` ms without a packet after the
/// first one, or `--max-wait` ms without any. `perPacket` sees every packet.
///
/// `--api stream` (default) iterates `capture.packets` per packet; `--api batch`
/// iterates `capture.batches` (one step per batch, then a plain loop over its
/// packets); a watchdog task cancels the iteration when idle. `--executor io` runs
/// the consuming task on the capture's I/O thread (`capture.executor`), default
/// `pool` (the cooperative pool). `--api next` calls
/// `capture.next(timeout:)` per packet. Returns (count, bytes, stop reason, first and
/// last packet time on CLOCK_MONOTONIC).
func consume(_ capture: LiveCapture, _ a: Arguments, limit: Int,
             _ acc: Accumulator) async throws -> (Int, Int, String, Int64, Int64) {
    if a.api == "next" {
        var count = 0, bytes = 0
        var first: Int64 = 0, last: Int64 = 0
        let idle = Duration.milliseconds(a.idleMilliseconds)
        let maxWait = Duration.milliseconds(a.maxWaitMilliseconds)
        while true {
            let packet = try await capture.next(timeout: count == 0 ? maxWait : idle)
            guard let packet else { return (count, bytes, count == 0 ? "max-wait" : "idle", first, last) }
            acc.touch(packet)
            count += 1
            bytes += packet.bytes.count
            last = nanoseconds(CLOCK_MONOTONIC)
            if first == 0 { first = last }
            if limit > 0 && count >= limit { return (count, bytes, "count", first, last) }
        }
    }
    let progress = Progress()
    let batched = a.api == "batch"
    let body: @Sendable () async throws -> (Int, Int, Int64, Int64) = {
        var count = 0, bytes = 0
        var first: Int64 = 0
        if batched {
            batches: for try await batch in capture.batches {
                if first == 0 { first = nanoseconds(CLOCK_MONOTONIC) }
                progress.batches.add(1, ordering: .relaxed)
                for packet in batch {
                    acc.touch(packet)
                    count += 1
                    bytes += packet.bytes.count
                    if limit > 0 && count >= limit { break batches }
                }
                progress.count.store(count, ordering: .relaxed)
            }
            return (count, bytes, first, nanoseconds(CLOCK_MONOTONIC))
        }
        for try await packet in capture.packets {
            if first == 0 { first = nanoseconds(CLOCK_MONOTONIC) }
            acc.touch(packet)
            count += 1
            bytes += packet.bytes.count
            progress.count.store(count, ordering: .relaxed)
            if limit > 0 && count >= limit { break }
        }
        return (count, bytes, first, nanoseconds(CLOCK_MONOTONIC))
    }
    // --executor io: the consumer runs on the capture's I/O thread.
    let consumer = a.executor == "io" ? Task(executorPreference: capture.executor, operation: body) : Task(operation: body)
    // Watchdog: cancel the iteration after --idle ms without progress.
    let watchdog = Task {
        var seen = 0
        var lastChange = nanoseconds(CLOCK_MONOTONIC)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
            let now = nanoseconds(CLOCK_MONOTONIC)
            let c = progress.count.load(ordering: .relaxed)
            if c != seen { seen = c; lastChange = now; continue }
            let limitMs = c == 0 ? a.maxWaitMilliseconds : a.idleMilliseconds
            if now - lastChange >= Int64(limitMs) * 1_000_000 {
                consumer.cancel()
                return c == 0 ? "max-wait" : "idle"
            }
        }
        return "count"
    }
    let (count, bytes, first, end) = try await consumer.value
    batchesTaken.store(progress.batches.load(ordering: .relaxed), ordering: .relaxed)
    watchdog.cancel()
    let why = await watchdog.value
    // An idle stop's last packet came about --idle ms before the cancellation.
    let last = why == "idle" ? end - Int64(a.idleMilliseconds) * 1_000_000 : end
    return (count, bytes, limit > 0 && count >= limit ? "count" : why, first, last)
}

func runThroughput(_ a: Arguments, latency: Bool) async throws {
    let t0 = nanoseconds(CLOCK_MONOTONIC)
    let capture = try await LiveCapture.open(interface: a.interface, options: makeOptions(a, immediate: latency))
    let openUs = Double(nanoseconds(CLOCK_MONOTONIC) - t0) / 1000
    emit("{\"event\":\"ready\",\"open_to_ready_us\":\(fmt(openUs))}")
    let acc = Accumulator(latency: latency, expected: a.count > 0 ? a.count : 1_000_000)
    let (count, bytes, why, first, last) = try await consume(capture, a, limit: a.count, acc)
    let sum = acc.sum
    var latencies = acc.latencies
    let stats = await statisticsJSON(capture)
    let selfCPU = selfCPUSeconds()
    await capture.close()
    var line = "{\"event\":\"result\",\"self_cpu_s\":\(selfCPU),\"stop\":\"\(why)\",\"count\":\(count),\"bytes\":\(bytes),\"sum\":\(sum),\(stats),\"open_to_ready_us\":\(fmt(openUs)),\"active_s\":\(Double(last - first) / 1e9),\"batches\":\(batchesTaken.load(ordering: .relaxed))"
    if latency && !latencies.isEmpty {
        latencies.sort()
        line += ",\"latency_n\":\(latencies.count),\"latency_p50_us\":\(fmt(percentile(latencies, 0.5))),\"latency_p99_us\":\(fmt(percentile(latencies, 0.99))),\"latency_max_us\":\(fmt(Double(latencies.last!) / 1000))"
    }
    emit(line + "}")
}

func runStall(_ a: Arguments) async throws {
    let capture = try await LiveCapture.open(interface: a.interface, options: makeOptions(a, immediate: false))
    let baseline = memoryKB()
    emit("{\"event\":\"ready\",\"baseline_vmhwm_kb\":\(baseline.hwm)}")
    // Do not consume while the traffic arrives.
    var request = timespec(tv_sec: a.seconds, tv_nsec: 0)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    let stalled = memoryKB()
    let (count, _, _, _, _) = try await consume(capture, a, limit: 0, Accumulator(latency: false, expected: 0))
    let stats = await statisticsJSON(capture)
    let after = memoryKB()
    await capture.close()
    emit("{\"event\":\"result\",\"vmhwm_kb\":\(stalled.hwm),\"vmrss_kb\":\(stalled.rss),\"baseline_vmhwm_kb\":\(baseline.hwm),\"vmhwm_after_drain_kb\":\(after.hwm),\"drained\":\(count),\(stats)}")
}

func runOpenToReady(_ a: Arguments) async throws {
    var times: [Int64] = []
    for i in 0 ..< max(1, a.reps) {
        // Let the previous capture's kernel teardown (packet socket release waits for
        // RCU grace periods in the exiting helper) finish before timing the next open.
        if i > 0 && a.gapMilliseconds > 0 { usleep(UInt32(a.gapMilliseconds) * 1000) }
        let t0 = nanoseconds(CLOCK_MONOTONIC)
        let capture = try await LiveCapture.open(interface: a.interface, options: makeOptions(a, immediate: false))
        times.append(nanoseconds(CLOCK_MONOTONIC) - t0)
        await capture.close()
    }
    let sorted = times.sorted()
    emit("{\"event\":\"result\",\"mode\":\"open-to-ready\",\"reps\":\(times.count),\"median_us\":\(fmt(Double(sorted[sorted.count / 2]) / 1000)),\"min_us\":\(fmt(Double(sorted.first!) / 1000)),\"max_us\":\(fmt(Double(sorted.last!) / 1000)),\"first_us\":\(fmt(Double(times[0]) / 1000))}")
}

// MARK: - Main

signal(SIGPIPE, SIG_IGN)
let arguments = Arguments.parse(CommandLine.arguments)
do {
    switch arguments.mode {
    case "throughput": try await runThroughput(arguments, latency: false)
    case "latency": try await runThroughput(arguments, latency: true)
    case "stall": try await runStall(arguments)
    case "open-to-ready": try await runOpenToReady(arguments)
    default: fail("unknown mode \(arguments.mode)")
    }
} catch {
    fail("\(error)")
}
