import Glibc
import SwiftcapWire

/// Requests from the client on stdin.
///
/// One fixed buffer that holds at most one maximal frame: `FrameScanner` rejects
/// a longer length as soon as its 4 bytes arrive, so a complete frame always fits
/// and a hostile client cannot make us allocate more.
final class RequestReader {
    static let capacity = 4 + Wire.maxFrameLength

    private let storage = UnsafeMutableRawPointer.allocate(byteCount: RequestReader.capacity, alignment: 8)
    private var filled = 0
    private var consumed = 0

    enum ReadResult { case data, endOfFile, wouldBlock }

    /// Whether the buffer can take more bytes. It is full only while it holds a
    /// complete maximal frame that has not been served yet.
    var hasSpace: Bool { filled - consumed < RequestReader.capacity }

    /// Reads what stdin has (one `read(2)`), after poll reported it readable.
    func read() throws(HelperError) -> ReadResult {
        compact()
        // read(2) of 0 bytes returns 0, which would look like EOF.
        guard filled < RequestReader.capacity else { return .wouldBlock }
        while true {
            let n = Glibc.read(STDIN_FILENO, storage + filled, RequestReader.capacity - filled)
            if n > 0 { filled += n; return .data }
            if n == 0 { return .endOfFile }
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            default: throw .system(.internal, "read(stdin)")
            }
        }
    }

    /// The next complete request, or nil until more bytes arrive.
    /// A malformed frame is a protocolViolation with the scanner's reason.
    func next() throws(HelperError) -> WireMessage? {
        let bytes = UnsafeRawBufferPointer(start: storage, count: filled)
        do throws(ProtocolViolation) {
            guard let frame = try FrameScanner.nextFrame(in: bytes, from: consumed) else { return nil }
            let message = try WireMessage.decode(frame.type, payload: frame.payload, in: bytes)
            consumed = frame.end
            return message
        } catch {
            throw HelperError(.protocolViolation, error.description)
        }
    }

    /// Blocks until one complete request arrives; nil on EOF.
    func waitForRequest() throws(HelperError) -> WireMessage? {
        while true {
            if let message = try next() { return message }
            var fd = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fd, 1, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .system(.internal, "poll(stdin)")
            }
            if try read() == .endOfFile { return nil }
        }
    }

    /// Moves unconsumed bytes to the front so the tail can take a whole frame.
    private func compact() {
        guard consumed > 0 else { return }
        let rest = filled - consumed
        if rest > 0 { memmove(storage, storage + consumed, rest) }
        filled = rest
        consumed = 0
    }
}

/// Frames to the client on stdout (non-blocking), from one preallocated buffer.
///
/// Packet frames are written into it in place by the capture callback; replies
/// are appended after whatever packets are already queued, so they keep order.
final class FrameWriter {
    /// How much queued output stops packet reading: the kernel then drops, and the
    /// statistics say so, rather than the helper growing without bound.
    static let highWater = 256 * 1024
    /// Room always left for replies once packet reading stops.
    static let replyReserve = 8 * 1024
    /// Longest error message we send; pcap's own messages are at most 256 bytes.
    static let maxMessageLength = 1024
    /// High water, plus one packet frame of the largest snapshot length that may
    /// start just below it, plus the reply reserve. A `devices` frame, the largest
    /// control frame, is at most one maximal frame too.
    static let capacity = highWater + 4 + Wire.maxFrameLength + replyReserve

    let storage = UnsafeMutableRawPointer.allocate(byteCount: FrameWriter.capacity, alignment: 8)
    /// Queued bytes are storage[start ..< end].
    private(set) var start = 0
    var end = 0

    var pending: Int { end - start }
    var tailRoom: Int { FrameWriter.capacity - end }

    /// Makes at least `bytes` free at the end, moving queued bytes to the front if needed.
    /// - Returns: false when the queue itself leaves less than that.
    func makeRoom(_ bytes: Int) -> Bool {
        if tailRoom >= bytes { return true }
        guard FrameWriter.capacity - pending >= bytes else { return false }
        if pending > 0 { memmove(storage, storage + start, pending) }
        end = pending
        start = 0
        return true
    }

    /// Whether a reply (at most a reply reserve's worth) can be queued now.
    var hasRoomForReply: Bool { FrameWriter.capacity - pending >= FrameWriter.replyReserve }

    /// Appends one control frame. Error messages are cut to `maxMessageLength`.
    func append(_ message: WireMessage) {
        var message = message
        if case .error(var error) = message, error.message.utf8.count > FrameWriter.maxMessageLength {
            error.message = String(decoding: error.message.utf8.prefix(FrameWriter.maxMessageLength), as: UTF8.self) + "…"
            message = .error(error)
        }
        var bytes: [UInt8] = []
        message.encode(into: &bytes)
        if !makeRoom(bytes.count) {
            // Callers check hasRoomForReply first; should the queue still be full,
            // give the client a bounded chance to read rather than lose the order.
            flush(timeoutMilliseconds: 1000)
            guard makeRoom(bytes.count) else {
                diagnose("output queue full; dropping a \(message.frameType) frame")
                return
            }
        }
        bytes.withUnsafeBytes { (storage + end).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        end += bytes.count
    }

    enum WriteResult { case drained, wouldBlock }

    /// One non-blocking `write(2)` of what is queued (retried on EINTR).
    /// A reader that went away (EPIPE) means the client is gone: exit 0.
    func writeSome() -> WriteResult {
        while pending > 0 {
            let n = write(STDOUT_FILENO, storage + start, pending)
            if n > 0 {
                start += n
                if start == end { start = 0; end = 0 }
                continue
            }
            if n == 0 { return .wouldBlock } // not for pipes; never spin on it
            switch errno {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EPIPE: exitClientGone("stdout closed")
            default:
                // Nothing can be reported on a broken stdout.
                diagnose("write(stdout): \(errnoDescription(errno)); exiting")
                terminate(1)
            }
        }
        return .drained
    }

    /// Writes everything queued, waiting for stdout with poll. `timeoutMilliseconds`
    /// bounds each wait (-1: no bound); on timeout the rest is abandoned.
    func flush(timeoutMilliseconds: CInt) {
        while writeSome() == .wouldBlock {
            var fd = pollfd(fd: STDOUT_FILENO, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&fd, 1, timeoutMilliseconds)
            if ready == 0 { diagnose("stdout not writable for \(timeoutMilliseconds) ms; dropping \(pending) bytes"); return }
            if ready < 0 && errno != EINTR { return }
            if fd.revents & Int16(POLLERR) != 0 { exitClientGone("stdout closed") }
        }
    }
}
