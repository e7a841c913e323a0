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

/// Reading the helper's stdout: frames decoded in place, packets queued as
/// zero-copy batches, control frames handed to the state machine.
extension SessionIO {
    // MARK: stdout

    /// One read(2) of the helper's stdout and the frames it completes.
    /// - Returns: false at EOF (or a read error, which ends the session the same way).
    func readStdoutOnce() -> Bool {
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
            if machine.isKilled { filled = 0 } else { processFrames() }
            return true
        case .failure(let e):
            if e == .wouldBlock { return true }
            machine.record(systemCallError("read from the helper's stdout", e))
            return false
        }
    }

    /// The helper exited but its stdout may still be open elsewhere (a
    /// grandchild): read what the pipe holds now, then end without waiting for EOF.
    func drainAfterExit() {
        guard let process, stdoutOpen else { return }
        var taken = 0
        while taken < Self.drainAfterExitLimit {
            let ready = Int(swiftcap_readable_bytes(process.stdout.rawValue))
            if ready <= 0 { return }
            if !readStdoutOnce() { return }
            taken += min(ready, Self.chunkSize)
        }
    }

    /// Decodes every complete frame in `buffer[0..<filled]`, queues the packets
    /// (their bytes slices of one chunk array) and handles the other frames in order.
    ///
    /// Well-formed packet frames take an inline fast path (the same checks as
    /// `FrameScanner.nextFrame` + `PacketHeader.decode`); anything else (partial
    /// frames, control frames, malformed frames) goes through the generic decoder,
    /// which reports violations exactly as before.
    func processFrames() {
        let filled = self.filled
        let needed = filled / PacketFrame.headerSize + 1
        if recordCapacity < needed {
            records.deallocate()
            recordCapacity = max(needed, recordCapacity * 2)
            records = .allocate(capacity: recordCapacity)
        }
        let records = self.records
        var count = 0
        var offset = 0
        // Reading goes on with a full queue while a reply is awaited. An honest
        // helper's reply follows at most its output buffer and the pipe
        // (PROTOCOL.md), which `replyAllowance` covers; past it, packets are
        // discarded and counted, so the bound holds whatever the helper does.
        // Once the helper is gone, what it left in the pipe (at most the pipe,
        // or drainAfterExitLimit) is still delivered.
        let helperGone = draining || helperExited
        let (closing, overLimit) = session.state.withLock {
            ($0.closeRequested, !helperGone && $0.queue.bytes >= session.queueLimit + Self.replyAllowance)
        }
        let discardPackets = closing || overLimit
        var discarded: UInt64 = 0
        var accepting = machine.acceptsPackets
        let violation: ProtocolViolation? = buffer.withUnsafeBytes { raw in
            do throws(ProtocolViolation) {
                let base = raw.baseAddress!
                let window = UnsafeRawBufferPointer(start: base, count: filled)
                while true {
                    let available = filled - offset
                    if accepting, let (header, size) = PacketFrame.parse(base + offset, available: available) {
                        if !discardPackets {
                            records[count] = FrameRecord(seconds: header.seconds, nanoseconds: header.nanoseconds,
                                                         wireLength: header.wireLength,
                                                         start: offset + PacketFrame.headerSize, end: offset + size)
                            count += 1
                        } else {
                            discarded += 1
                        }
                        offset += size
                        continue
                    }
                    guard let frame = try FrameScanner.nextFrame(in: window, from: offset) else { break }
                    if frame.type == .packet {
                        if let problem = machine.packetFrameProblem() { throw problem }
                        let header = try PacketHeader.decode(payload: frame.payload, in: window)
                        if !discardPackets {
                            records[count] = FrameRecord(seconds: header.seconds, nanoseconds: header.nanoseconds,
                                                         wireLength: header.wireLength,
                                                         start: frame.payload.lowerBound + Wire.packetHeaderLength,
                                                         end: frame.payload.upperBound)
                            count += 1
                        } else {
                            discarded += 1
                        }
                    } else {
                        let message = try WireMessage.decode(frame.type, payload: frame.payload, in: window)
                        handle(message)
                        if machine.isKilled { return nil } // the rest of the chunk is discarded
                        accepting = machine.acceptsPackets
                    }
                    offset = frame.end
                }
                return nil
            } catch {
                return error
            }
        }
        if overLimit, !closing, discarded > 0 { session.droppedByClient.add(discarded, ordering: .relaxed) }
        if machine.isKilled {
            self.filled = 0
            return
        }
        if let violation {
            // The packets before the damage were well formed: deliver them first.
            if count > 0 {
                let storage = buffer
                buffer = []
                enqueuePackets(storage: storage, count: count)
            }
            if machine.violation(violation) == .kill { failOutstandingAndKill() }
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
    func enqueuePackets(storage: [UInt8], count: Int) {
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

    /// Hands one non-packet frame to the state machine and does what it says.
    func handle(_ message: WireMessage) {
        let now = monotonicNanoseconds()
        let outstanding = session.state.withLock { s in s.outstanding.map { (kind: $0.kind, filter: $0.filter) } }
        switch machine.frameReceived(message, outstanding: outstanding, now: now) {
        case .helloAccepted:
            if case .hello(let hello) = message {
                session.state.withLock { $0.libpcapVersion = hello.libpcapVersion }
            }
            // the loop sends waiting requests before it polls again
        case .reply:
            if case .ready(let ready) = message { linkType = LinkType(linuxDLT: ready.linkType) }
            let resumption: Resumption? = session.state.withLock { s in
                let out = s.outstanding
                s.outstanding = nil
                return out?.continuation.map { .reply($0, .success(message)) }
            }
            resumption?.resume() // the loop sends the next request before it polls again
        case .fatalError:
            let error = machine.failure
            let resumption: Resumption? = session.state.withLock { s in
                if s.failure == nil { s.failure = error }
                let out = s.outstanding
                s.outstanding = nil
                return out?.continuation.map { .reply($0, .success(message)) }
            }
            resumption?.resume()
        case .none:
            break
        case .kill:
            failOutstandingAndKill()
        }
    }
}
