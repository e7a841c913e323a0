import CPacketCaptureShims
import Glibc
import SwiftcapWire

/// One packet frame found in a chunk: its header fields and where its bytes are.
struct FrameRecord {
    var seconds: Int64
    var nanoseconds: UInt32
    var wireLength: UInt32
    var start: Int
    var end: Int
}

/// The dedicated I/O thread of one helper session.
///
/// It spawns the helper (so that the helper's PR_SET_PDEATHSIG is tied to a
/// thread that lives exactly as long as the helper), then polls the helper's
/// stdout, stderr, stdin (while requests wait to be written) and the session's
/// eventfd. It decodes frames, queues packets (bounded: a full queue stops the
/// reads, so the pipe fills, the helper stops reading packets and the kernel
/// drops them, except while a reply is awaited), answers requests, expires
/// deadlines, and at stdout EOF reaps the helper and ends the session.
/// Every blocking call of a session happens here, never on Swift's
/// cooperative pool.
final class SessionIO {
    let session: HelperSession
    let arguments: [String]

    private var process: HelperProcess?
    private var stdinOpen = false
    private var stdoutOpen = false
    private var stderrOpen = false

    /// Request bytes not yet written to the helper's stdin.
    private var output: [UInt8] = []
    private var outputOffset = 0

    /// Read buffer: `filled` bytes, of which the first form no complete frame
    /// after `processFrames` (a partial frame is carried to the next read).
    /// Each read gets an array sized to what the pipe holds (FIONREAD), which
    /// then becomes the storage of the batch it carries, without a copy.
    private var buffer: [UInt8]
    private var filled = 0
    /// Packet frames of the chunk being processed (reused; grown to the
    /// worst case of a chunk of minimal frames before each scan).
    private var records: UnsafeMutablePointer<FrameRecord>
    private var recordCapacity: Int

    /// The last bytes the helper wrote to stderr, for error messages.
    private var stderrTail: [UInt8] = []

    // Protocol state, as this thread has seen it on the wire.
    private var helloSeen = false
    private var captureActive = false
    private var sawEnd = false
    private var expectEnd = false
    private var fatalSeen = false
    private var violated = false
    private var killed = false
    /// The capture's stdout saw POLLHUP: the helper is gone, read what it left regardless of the queue bound.
    private var draining = false
    private var linkType = LinkType(rawValue: 0)
    private var failure: CaptureError?
    private let helloDeadline: Int64
    /// Set when the helper must exit on its own (after `end` or a fatal error):
    /// past it, SIGKILL. Keeps every wait for the session bounded.
    private var exitDeadline: Int64 = .max

    /// Most bytes taken by one read.
    static let chunkSize = 256 * 1024
    /// Read size when FIONREAD does not tell (EOF, or it failed).
    static let probeSize = 4096
    static let stderrTailLimit = 4096
    static let helloTimeout: Int64 = 10_000_000_000

    init(session: HelperSession, arguments: [String]) {
        self.session = session
        self.arguments = arguments
        self.buffer = []
        self.recordCapacity = 1024
        self.records = .allocate(capacity: 1024)
        self.helloDeadline = saturatingAdd(monotonicNanoseconds(), Self.helloTimeout)
    }

    deinit {
        records.deallocate()
    }

    // MARK: Thread body

    func run() {
        swiftcap_set_thread_name("swiftcap-io")
        do {
            // stat/access/readlink and posix_spawn happen here, off the cooperative pool.
            let path = try HelperLocator.locate(explicit: session.requestedHelperPath)
            helperPath = path
            session.state.withLock { $0.helperPath = path }
            let p = try HelperProcess.spawn(path: path, arguments: arguments)
            process = p
            stdinOpen = true; stdoutOpen = true; stderrOpen = true
            session.state.withLock { $0.pid = p.pid }
        } catch {
            finish(with: error, termination: nil)
            return
        }
        loop()
        _ = session.executor.drain()
        reapAndFinish()
    }

    private var helperPath = HelperLocator.executableName

    private func loop() {
        guard let process else { return }
        var fds = [pollfd](repeating: pollfd(fd: -1, events: 0, revents: 0), count: 4)
        while true {
            // Consumers that prefer the capture's executor run here, between polls.
            let jobsLeft = session.executor.drain()
            let now = monotonicNanoseconds()
            var expired: [Waiter] = []
            var newRequest: [UInt8]? = nil
            var readStdout = false
            var deadline: Int64 = .max
            var abandon = false
            var closeExpired = false

            session.state.withLock { s in
                if !s.waiters.isEmpty {
                    var i = 0
                    while i < s.waiters.count {
                        let d = s.waiters[i].deadline
                        if d <= now { expired.append(s.waiters.remove(at: i)) } else { deadline = min(deadline, d); i += 1 }
                    }
                }
                if let cd = s.closeDeadline {
                    if cd <= now { closeExpired = true } else { deadline = min(deadline, cd) }
                }
                abandon = s.abandoned
                if s.outstanding == nil, s.helloReceived, !s.pending.isEmpty {
                    let r = s.pending.removeFirst()
                    newRequest = r.bytes
                    s.outstanding = r
                }
                let full = s.queue.bytes >= session.queueLimit
                readStdout = !full || s.outstanding != nil || s.closeRequested || !captureActive || draining
                s.readerPaused = !readStdout
            }
            for w in expired { w.resumeEmpty() }

            if !helloSeen {
                if now >= helloDeadline, !violated {
                    violate(ProtocolViolation(.unexpected, "the helper sent no hello within \(Self.helloTimeout / 1_000_000_000) s"))
                } else {
                    deadline = min(deadline, helloDeadline)
                }
            }
            if exitDeadline != .max {
                if now >= exitDeadline { closeExpired = true } else { deadline = min(deadline, exitDeadline) }
            }
            if closeExpired, !killed {
                kill(process.pid, SIGKILL)
                killed = true
            }
            if abandon, stdinOpen {
                closeStdin()
            }
            if let newRequest {
                if stdinOpen { output += newRequest }
                // else: the helper is gone; the request fails when the session finishes.
            }

            fds[0] = pollfd(fd: stdoutOpen ? process.stdout.rawValue : -1, events: readStdout ? Int16(POLLIN) : 0, revents: 0)
            fds[1] = pollfd(fd: stderrOpen ? process.stderr.rawValue : -1, events: Int16(POLLIN), revents: 0)
            fds[2] = pollfd(fd: stdinOpen && outputOffset < output.count ? process.stdin.rawValue : -1, events: Int16(POLLOUT), revents: 0)
            fds[3] = pollfd(fd: session.wakeup.fd.rawValue, events: Int16(POLLIN), revents: 0)
            let timeout: Int64 = jobsLeft ? 0 : deadline == .max ? -1 : max(0, deadline - now)
            let rc = fds.withUnsafeMutableBytes { swiftcap_poll($0.baseAddress, 4, timeout) }
            if rc < 0 {
                let e = Errno.current
                if e == .interrupted { continue }
                record(systemCallError("ppoll", e))
                kill(process.pid, SIGKILL)
                killed = true
                return
            }
            if rc == 0 { continue }

            if fds[3].revents != 0 { session.wakeup.drain() }
            if fds[1].revents != 0 { readStderr() }
            if fds[2].revents != 0 { writeStdin() }
            let outEvents = Int32(fds[0].revents)
            if outEvents != 0 {
                if !readStdout {
                    // POLLHUP while paused: the helper is gone. What it left in
                    // the pipe is bounded by the pipe size: read it all.
                    draining = true
                } else if !readStdoutOnce() {
                    return
                }
            }
        }
    }

    // MARK: stdout

    /// One read(2) of the helper's stdout and the frames it completes.
    /// - Returns: false at EOF (or a read error, which ends the session the same way).
    private func readStdoutOnce() -> Bool {
        guard let process else { return false }
        let ready = Int(swiftcap_readable_bytes(process.stdout.rawValue))
        let want = ready > 0 ? min(ready, Self.chunkSize) : Self.probeSize
        if buffer.count - filled < want {
            // A fresh array: the previous one became a batch's storage, or holds
            // only a partial frame (at most one maximal frame: FrameScanner
            // rejects a longer length as soon as its 4 bytes arrive).
            let partial = filled
            var size = partial + want
            if partial >= 4 {
                let length = buffer.withUnsafeBytes { Int(UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self))) }
                size = max(size, min(4 + length, 4 + Wire.maxFrameLength))
            }
            let old = buffer
            buffer = [UInt8](unsafeUninitializedCapacity: size) { dst, n in
                if partial > 0 {
                    old.withUnsafeBytes { src in _ = memcpy(dst.baseAddress!, src.baseAddress!, partial) }
                }
                n = size
            }
        }
        let start = filled
        let result = buffer.withUnsafeMutableBytes { raw in
            process.stdout.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...]))
        }
        switch result {
        case .success(0):
            return false // reapAndFinish closes it
        case .success(let n):
            filled += n
            if violated { filled = 0 } else { processFrames() }
            return true
        case .failure(let e):
            if e == .wouldBlock { return true }
            record(systemCallError("read from the helper's stdout", e))
            return false
        }
    }

    /// Smallest packet frame: length, type and the fixed packet header.
    static let minimumPacketFrame = 4 + 1 + Wire.packetHeaderLength

    /// Decodes every complete frame in `buffer[0..<filled]`, queues the packets
    /// (their bytes slices of one chunk array) and handles the other frames in order.
    ///
    /// Well-formed packet frames take an inline fast path (the same checks as
    /// `FrameScanner.nextFrame` + `PacketHeader.decode`); anything else (partial
    /// frames, control frames, malformed frames) goes through the generic decoder,
    /// which reports violations exactly as before.
    private func processFrames() {
        let filled = self.filled
        let needed = filled / Self.minimumPacketFrame + 1
        if recordCapacity < needed {
            records.deallocate()
            recordCapacity = max(needed, recordCapacity * 2)
            records = .allocate(capacity: recordCapacity)
        }
        let records = self.records
        var count = 0
        var offset = 0
        let discardPackets = session.state.withLock { $0.closeRequested }
        var accepting = captureActive && !sawEnd && !fatalSeen
        let violation: ProtocolViolation? = buffer.withUnsafeBytes { raw in
            do throws(ProtocolViolation) {
                let base = raw.baseAddress!
                let window = UnsafeRawBufferPointer(start: base, count: filled)
                while true {
                    let available = filled - offset
                    if accepting, available >= Self.minimumPacketFrame {
                        let p = base + offset
                        let length = Int(UInt32(bigEndian: p.loadUnaligned(as: UInt32.self)))
                        if p.load(fromByteOffset: 4, as: UInt8.self) == FrameType.packet.rawValue,
                           length >= 1 + Wire.packetHeaderLength, length <= Wire.maxFrameLength, available >= 4 + length {
                            let seconds = Int64(bitPattern: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 5, as: UInt64.self)))
                            let nanoseconds = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 13, as: UInt32.self))
                            let captured = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 17, as: UInt32.self))
                            let wire = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 21, as: UInt32.self))
                            if nanoseconds < 1_000_000_000, Int(captured) == length - 1 - Wire.packetHeaderLength, captured <= wire {
                                if !discardPackets {
                                    records[count] = FrameRecord(seconds: seconds, nanoseconds: nanoseconds, wireLength: wire,
                                                                 start: offset + Self.minimumPacketFrame, end: offset + 4 + length)
                                    count += 1
                                }
                                offset += 4 + length
                                continue
                            }
                        }
                    }
                    guard let frame = try FrameScanner.nextFrame(in: window, from: offset) else { break }
                    if frame.type == .packet {
                        guard captureActive, !sawEnd, !fatalSeen else {
                            throw ProtocolViolation(.unexpected, "packet frame outside an open capture")
                        }
                        let header = try PacketHeader.decode(payload: frame.payload, in: window)
                        if !discardPackets {
                            records[count] = FrameRecord(seconds: header.seconds, nanoseconds: header.nanoseconds,
                                                         wireLength: header.wireLength,
                                                         start: frame.payload.lowerBound + Wire.packetHeaderLength,
                                                         end: frame.payload.upperBound)
                            count += 1
                        }
                    } else {
                        let message = try WireMessage.decode(frame.type, payload: frame.payload, in: window)
                        try handle(message)
                        accepting = captureActive && !sawEnd && !fatalSeen
                    }
                    offset = frame.end
                }
                return nil
            } catch {
                return error
            }
        }
        if let violation {
            violate(violation)
            self.filled = 0
            return
        }
        let tail = filled - offset
        if count > 0 {
            // The read's array becomes the batch's storage (zero-copy); the
            // partial frame at its end, if any, moves to a new one.
            let storage = buffer
            buffer = tail > 0 ? [UInt8](storage[offset ..< filled]) : []
            self.filled = tail
            enqueuePackets(storage: storage, count: count)
            return
        }
        if tail > 0, offset > 0 {
            buffer.withUnsafeMutableBytes { raw in
                let base = raw.baseAddress!
                memmove(base, base + offset, tail)
            }
        }
        self.filled = tail
    }

    /// Turns the first `count` records into one batch whose packets slice
    /// `storage`, and hands it to waiting consumers or the queue.
    private func enqueuePackets(storage: [UInt8], count: Int) {
        let link = linkType
        let records = self.records
        let packets = PacketStorage.make(count: count) { i in
            let r = records[i]
            return Packet(timestamp: Timestamp(seconds: r.seconds, nanoseconds: r.nanoseconds),
                          wireLength: Int(r.wireLength), bytes: storage[r.start ..< r.end], linkType: link)
        }
        let cost = storage.count + count * MemoryLayout<Packet>.stride
        var batch = QueuedBatch(packets: SendablePackets(storage: packets), start: 0, cost: cost)
        var resumptions: [Resumption] = []
        session.state.withLock { s in
            if s.closeRequested { return }
            while batch.remaining > 0, !s.waiters.isEmpty {
                switch s.waiters.removeFirst() {
                case .batch(_, let c):
                    session.delivered.add(UInt64(batch.remaining), ordering: .relaxed)
                    resumptions.append(.batch(c, .batch(batch.packets, start: batch.start)))
                    batch.start = batch.packets.storage.count
                case .single(_, _, let c):
                    resumptions.append(.single(c, .packet(batch.packets.storage.packet(at: batch.start))))
                    batch.start += 1
                    session.delivered.add(1, ordering: .relaxed)
                }
            }
            s.queue.append(batch)
        }
        for r in resumptions { r.resume() }
    }

    // MARK: Control frames

    /// Applies one non-packet frame from the helper.
    private func handle(_ message: WireMessage) throws(ProtocolViolation) {
        if case .hello(let hello) = message {
            guard !helloSeen else { throw ProtocolViolation(.unexpected, "a second hello frame") }
            guard hello.protocolVersion == Wire.protocolVersion else {
                throw ProtocolViolation(.versionMismatch, HelperLocator.versionMismatchMessage(path: helperPath, hello: hello))
            }
            helloSeen = true
            session.state.withLock { s in
                s.helloReceived = true
                s.libpcapVersion = hello.libpcapVersion
            }
            return // the loop sends waiting requests before it polls again
        }
        if case .error(let e) = message, e.fatal {
            guard !fatalSeen else { throw ProtocolViolation(.unexpected, "a second fatal error frame") }
            fatalSeen = true
            captureActive = false
            exitDeadline = saturatingAdd(monotonicNanoseconds(), HelperSession.closeGracePeriod)
            let resumption: Resumption? = session.state.withLock { s in
                let out = s.outstanding
                s.outstanding = nil
                let error = CaptureError.fromHelper(e, ErrorContext(helperPath: helperPath,
                                                                    interface: session.interface,
                                                                    filter: out?.filter))
                if failure == nil { failure = error }
                if s.failure == nil { s.failure = error }
                return out?.continuation.map { .reply($0, .success(message)) }
            }
            resumption?.resume()
            return
        }
        guard helloSeen else { throw ProtocolViolation(.unexpected, "\(message.frameType) frame before hello") }
        guard !fatalSeen else { throw ProtocolViolation(.unexpected, "\(message.frameType) frame after a fatal error") }
        if case .end = message, expectEnd {
            expectEnd = false
            sawEnd = true
            exitDeadline = saturatingAdd(monotonicNanoseconds(), HelperSession.closeGracePeriod)
            return
        }
        let outcome: Result<Resumption?, ProtocolViolation> = session.state.withLock { s in
            guard let out = s.outstanding else {
                return .failure(ProtocolViolation(.unexpected, "unsolicited \(message.frameType) frame"))
            }
            guard out.kind.accepts(message) else {
                return .failure(ProtocolViolation(.unexpected, "\(message.frameType) frame in reply to a \(out.kind) request"))
            }
            if case .error = message, out.kind == .open {
                return .failure(ProtocolViolation(.badField, "a non-fatal error in reply to open"))
            }
            s.outstanding = nil
            return .success(out.continuation.map { .reply($0, .success(message)) })
        }
        switch outcome {
        case .failure(let v): throw v
        case .success(let r):
            switch message {
            case .ready(let ready):
                captureActive = true
                linkType = LinkType(rawValue: ready.linkType)
            case .end:
                sawEnd = true
                captureActive = false
                exitDeadline = saturatingAdd(monotonicNanoseconds(), HelperSession.closeGracePeriod)
            case .devices:
                expectEnd = true
            default: break
            }
            r?.resume() // the loop sends the next request before it polls again
        }
    }

    /// Ends the session for a protocol violation: SIGKILL, discard the rest.
    private func violate(_ v: ProtocolViolation) {
        guard !violated else { return }
        violated = true
        let error = CaptureError.violation(v, path: helperPath)
        failure = error
        let resumption: Resumption? = session.state.withLock { s in
            s.failure = error
            let out = s.outstanding
            s.outstanding = nil
            return out?.continuation.map { .reply($0, .failure(error)) }
        }
        resumption?.resume()
        if let process, !killed {
            kill(process.pid, SIGKILL)
            killed = true
        }
    }

    private func record(_ error: CaptureError) {
        if failure == nil { failure = error }
        session.state.withLock { s in if s.failure == nil { s.failure = error } }
    }

    // MARK: stdin, stderr

    private func writeStdin() {
        guard let process, stdinOpen else { return }
        let result = output.withUnsafeBytes { raw in
            process.stdin.write(UnsafeRawBufferPointer(rebasing: raw[outputOffset...]))
        }
        switch result {
        case .success(let n):
            outputOffset += n
            if outputOffset == output.count {
                output.removeAll(keepingCapacity: output.count <= 64 * 1024)
                outputOffset = 0
            }
        case .failure(let e):
            if e == .wouldBlock { return }
            // EPIPE: the helper closed its stdin, so it is exiting; EOF on its
            // stdout follows. Our SIGPIPE is blocked on this thread: consume it.
            if e == .brokenPipe { swiftcap_consume_sigpipe() }
            closeStdin()
        }
    }

    private func closeStdin() {
        guard let process, stdinOpen else { return }
        process.stdin.close()
        stdinOpen = false
        output = []
        outputOffset = 0
    }

    private func readStderr() {
        guard let process, stderrOpen else { return }
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0 ..< 16 {
            let result = chunk.withUnsafeMutableBytes { process.stderr.read(into: $0) }
            switch result {
            case .success(0):
                process.stderr.close()
                stderrOpen = false
                return
            case .success(let n):
                stderrTail.append(contentsOf: chunk[0 ..< n])
                if stderrTail.count > Self.stderrTailLimit {
                    stderrTail.removeFirst(stderrTail.count - Self.stderrTailLimit)
                }
            case .failure(let e):
                if e != .wouldBlock {
                    process.stderr.close()
                    stderrOpen = false
                }
                return
            }
        }
    }

    private var stderrText: String {
        var text = String(decoding: stderrTail, as: UTF8.self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }

    // MARK: The end

    /// After stdout EOF: reap the helper (SIGKILL if it lingers 2 s), collect
    /// what it said on stderr, and end the session.
    private func reapAndFinish() {
        guard let process else { return }
        closeStdin()
        if stdoutOpen { process.stdout.close(); stdoutOpen = false }
        var termination: CaptureError.Termination? = nil
        var status: Int32 = 0
        let start = monotonicNanoseconds()
        var pause: UInt32 = 100
        while true {
            let r = swiftcap_waitpid(process.pid, &status, 1)
            if r == process.pid {
                termination = Self.termination(status)
                break
            }
            if r < 0 { break } // ECHILD: someone else reaped it (SIGCHLD ignored?)
            if !killed, monotonicNanoseconds() - start > HelperSession.closeGracePeriod {
                kill(process.pid, SIGKILL)
                killed = true
                if swiftcap_waitpid(process.pid, &status, 0) == process.pid { termination = Self.termination(status) }
                break
            }
            usleep(pause)
            pause = min(pause * 2, 2_000)
        }
        // Whatever the helper wrote to stderr before it went is in the pipe now.
        if stderrOpen { readStderr() }
        if stderrOpen { process.stderr.close(); stderrOpen = false }

        var final = failure
        if final == nil {
            let closing = session.state.withLock { $0.closeRequested }
            if !(sawEnd || closing) {
                let during: String
                if !helloSeen {
                    during = "before it said hello"
                } else if captureActive {
                    during = "while capturing" + (session.interface.map { " on \($0)" } ?? "")
                } else {
                    during = "before answering"
                }
                final = .terminated(pid: process.pid, path: helperPath, termination: termination,
                                    stderr: stderrText, during: during)
            }
        } else if let f = final, f.code != .helperTerminated, !stderrText.isEmpty, f.code == .protocolViolation {
            final = CaptureError(f.code, f.message + "; the helper's stderr ended with: \(stderrText)",
                                 helperPath: f.helperPath, termination: termination)
        }
        finish(with: final, termination: termination)
    }

    static func termination(_ status: Int32) -> CaptureError.Termination? {
        if swiftcap_wifexited(status) != 0 { return .exited(status: swiftcap_wexitstatus(status)) }
        if swiftcap_wifsignaled(status) != 0 { return .signaled(signal: swiftcap_wtermsig(status)) }
        return nil
    }

    /// Marks the session finished and resumes everyone still waiting.
    private func finish(with error: CaptureError?, termination: CaptureError.Termination?) {
        var resumptions: [Resumption] = []
        session.state.withLock { s in
            if s.failure == nil { s.failure = error }
            // A fatal error frame wins, but a termination is worth knowing too.
            if var f = s.failure, f.termination == nil, let termination {
                f.termination = termination
                s.failure = f
            }
            s.finished = true
            let failure = s.failure
            let closed = s.closeRequested
            for w in s.waiters {
                switch w {
                case .batch(_, let c): resumptions.append(.batch(c, failure.map { .failed($0) } ?? .end))
                case .single(_, _, let c): resumptions.append(.single(c, .failed(failure ?? .closed())))
                }
            }
            s.waiters.removeAll()
            let requestError = closed ? CaptureError.closed() : (failure ?? .closed())
            if let c = s.outstanding?.continuation { resumptions.append(.reply(c, .failure(requestError))) }
            s.outstanding = nil
            for r in s.pending { if let c = r.continuation { resumptions.append(.reply(c, .failure(requestError))) } }
            s.pending.removeAll()
            for c in s.finishWaiters { resumptions.append(.finished(c)) }
            s.finishWaiters.removeAll()
        }
        for r in resumptions { r.resume() }
    }
}
