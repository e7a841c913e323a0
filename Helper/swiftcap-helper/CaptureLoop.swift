import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// The helper's life after `ready`: one thread, one poll(2) over stdin (requests),
/// stdout (queued frames) and the packet socket.
///
/// Back-pressure: the socket is polled only while the output queue is below its
/// high-water mark, so a slow client makes the kernel drop (pcap_stats shows it)
/// instead of the helper buffering without bound; requests are still served.
final class CaptureLoop {
    private let capture: LiveCapture
    private let requests: RequestReader
    private let output: FrameWriter
    /// The largest packet frame the handle can produce.
    private let maxPacketFrame: Int
    /// Microsecond captures are scaled to the wire's nanoseconds.
    private let nanosecondsPerTick: Int
    /// Packet frames queued for the client (statistics.sentByHelper).
    private var packetsSent: UInt64 = 0
    /// pcap_stats counts are 32-bit and wrap; these accumulate them into 64 bits.
    private var received = WrappingCounter(), droppedByKernel = WrappingCounter(), droppedByInterface = WrappingCounter()

    init(capture: LiveCapture, requests: RequestReader, output: FrameWriter) {
        self.capture = capture
        self.requests = requests
        self.output = output
        self.maxPacketFrame = PacketFrame.size(captureLength: max(capture.snapshotLength, 1))
        self.nanosecondsPerTick = capture.precision == .microseconds ? 1000 : 1
    }

    func run() -> Never {
        // A request that arrived together with `open` is already buffered.
        serveRequests()
        var fds = [pollfd](repeating: pollfd(), count: 3)
        while true {
            // stdin stays in the set even when we take no request, so POLLHUP (client gone) is seen.
            let takesRequests = output.hasRoomForReply && requests.hasSpace
            fds[0] = pollfd(fd: STDIN_FILENO, events: takesRequests ? Int16(POLLIN) : 0, revents: 0)
            // stdout stays in the set so POLLERR (reader gone) is seen.
            fds[1] = pollfd(fd: STDOUT_FILENO, events: output.pending > 0 ? Int16(POLLOUT) : 0, revents: 0)
            // A negative fd is ignored by poll: with the queue full, even POLLERR must wait.
            fds[2] = pollfd(fd: acceptsPackets ? capture.fd : -1, events: Int16(POLLIN), revents: 0)

            // After ENETDOWN libpcap asks to be dispatched periodically (it cannot be
            // woken again when the interface is then removed); 100 ms bounds that
            // detection without spinning at its 1 ms.
            let timeout: CInt = pcap_get_required_select_timeout(capture.handle) == nil ? -1 : 100
            let ready = poll(&fds, 3, timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                fatal(.system(.internal, "poll"), output: output)
            }

            if fds[1].revents & Int16(POLLERR) != 0 { exitClientGone("stdout closed") }
            if fds[1].revents & Int16(POLLOUT) != 0 { _ = output.writeSome() }

            if fds[0].revents & Int16(POLLIN) != 0 {
                do {
                    if try requests.read() == .endOfFile { exitClientGone("EOF on stdin") }
                } catch {
                    fatal(error, output: output)
                }
            } else if fds[0].revents & Int16(POLLHUP | POLLERR) != 0 {
                exitClientGone("stdin closed")
            }
            serveRequests()

            if fds[2].revents != 0 || (ready == 0 && acceptsPackets) {
                readPackets()
                // One write per dispatch round: many frames under load, a lone packet at once.
                if output.pending > 0 { _ = output.writeSome() }
            }
        }
    }

    private var acceptsPackets: Bool { output.pending < FrameWriter.highWater }

    // MARK: Requests

    /// Answers every complete request while a reply still fits.
    private func serveRequests() {
        while output.hasRoomForReply {
            let message: WireMessage
            do {
                guard let next = try requests.next() else { return }
                message = next
            } catch {
                fatal(error, output: output)
            }
            switch message {
            case .inject(let packet):
                do throws(HelperError) {
                    output.append(.injected(try capture.inject(packet)))
                } catch {
                    reply(error)
                }
            case .injectBatch(let batch):
                output.append(.injectedBatch(capture.inject(batch: batch)))
            case .setFilter(let spec):
                do throws(HelperError) {
                    try capture.setFilter(spec, namesResolve: false)
                    output.append(.filterSet)
                } catch {
                    reply(error)
                }
            case .statisticsRequest:
                do throws(HelperError) {
                    let stats = try capture.statistics()
                    output.append(.statistics(WireStatistics(
                        received: received.update(stats.ps_recv),
                        droppedByKernel: droppedByKernel.update(stats.ps_drop),
                        droppedByInterface: droppedByInterface.update(stats.ps_ifdrop),
                        sentByHelper: packetsSent)))
                } catch {
                    fatal(error, output: output)
                }
            case .close:
                output.append(.end)
                output.flush(timeoutMilliseconds: -1)
                terminate(0)
            default:
                fatal(HelperError(.protocolViolation,
                                  "unexpected \(message.frameType) frame after ready (allowed: inject, injectBatch, setFilter, statisticsRequest, close)"),
                      output: output)
            }
            _ = output.writeSome()
        }
    }

    /// A non-fatal error reply; the session goes on.
    private func reply(_ error: HelperError) {
        diagnose(error.message)
        output.append(.error(WireError(code: error.code, fatal: false, message: error.message)))
    }

    // MARK: Packets

    /// Dispatches (cnt = -1) until the ring is drained or the queue reaches its
    /// high-water mark: the callback then calls pcap_breakloop, so libpcap stops
    /// after the packet in hand and keeps its place in the ring for the next call.
    /// Room for high water plus one maximal frame is made first, so every packet
    /// that arrives while the queue is below high water fits.
    private func readPackets() {
        guard acceptsPackets else { return }
        guard output.makeRoom(FrameWriter.highWater - output.pending + maxPacketFrame) else { return }
        let context = Unmanaged.passUnretained(self).toOpaque().assumingMemoryBound(to: UInt8.self)
        let delivered = pcap_dispatch(capture.handle, -1, { user, header, bytes in
            // The loop outlives the dispatch: no retain/release per packet.
            Unmanaged<CaptureLoop>.fromOpaque(UnsafeRawPointer(user!))._withUnsafeGuaranteedRef { $0.append(header!, bytes!) }
        }, context)
        if delivered == PCAP_ERROR_BREAK && breakRequested {
            // High water reached (libpcap has cleared its flag).
            breakRequested = false
            return
        }
        if delivered < 0 {
            let detail = delivered == PCAP_ERROR_BREAK ? "loop broken" : String(cString: pcap_geterr(capture.handle))
            fatal(HelperError(.captureFailed, "capture on \(capture.device) failed: \(detail)"), output: output)
        }
    }

    /// Set by `append` when it breaks the dispatch loop at high water; cleared
    /// when pcap_dispatch reports the break (should libpcap see the flag only in
    /// the next call, that call's PCAP_ERROR_BREAK is still ours, not an error).
    private var breakRequested = false

    /// pcap_dispatch callback body: one packet frame written in place.
    @inline(__always)
    private func append(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) {
        let captured = Int(header.pointee.caplen)
        let size = PacketFrame.size(captureLength: captured)
        // readPackets reserved high water + one maximal frame and we break at high
        // water, so this only guards against a libpcap that delivers more than the
        // snapshot length.
        guard size <= output.tailRoom else {
            diagnose("dropping a \(captured)-byte packet larger than the snapshot length")
            return
        }
        // Normalise so nanoseconds < 1e9 whatever the kernel handed over.
        let ticks = Int64(header.pointee.ts.tv_usec) * Int64(nanosecondsPerTick)
        let seconds = Int64(header.pointee.ts.tv_sec) + ticks / 1_000_000_000
        var nanoseconds = ticks % 1_000_000_000
        var wholeSeconds = seconds
        if nanoseconds < 0 { nanoseconds += 1_000_000_000; wholeSeconds -= 1 }
        let frame = output.storage + output.end
        PacketFrame.writeHeader(PacketHeader(seconds: wholeSeconds, nanoseconds: UInt32(nanoseconds), captureLength: UInt32(captured),
                                             wireLength: max(header.pointee.len, UInt32(captured))), to: frame)
        (frame + PacketFrame.headerSize).copyMemory(from: bytes, byteCount: captured)
        output.end += size
        packetsSent += 1
        if output.pending >= FrameWriter.highWater, !breakRequested {
            breakRequested = true
            pcap_breakloop(capture.handle)
        }
    }
}

/// Extends a wrapping 32-bit counter (pcap_stat fields) to 64 bits, assuming it
/// is read at least once per 2³² events.
struct WrappingCounter {
    private var last: UInt32 = 0
    private var total: UInt64 = 0

    mutating func update(_ current: UInt32) -> UInt64 {
        total += UInt64(current &- last)
        last = current
        return total
    }
}
