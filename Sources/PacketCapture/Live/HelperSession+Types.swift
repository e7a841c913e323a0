import CPacketCaptureShims
import Glibc
import SwiftcapWire
import Synchronization

/// What a helper session is for; decides which frames are legal.
enum SessionMode: Sendable {
    case capture, devices, compile
}

/// A request the client may send, and the replies it accepts (docs/PROTOCOL.md, "Sessions").
enum RequestKind: Sendable {
    case open, inject, injectBatch, setFilter, statistics, close, listDevices, describeDevice, compileFilter

    func accepts(_ reply: WireMessage) -> Bool {
        switch (self, reply) {
        case (.open, .ready), (.open, .error): true
        case (.inject, .injected), (.inject, .error): true
        case (.injectBatch, .injectedBatch): true
        case (.setFilter, .filterSet), (.setFilter, .error): true
        case (.statistics, .statistics): true
        case (.close, .end): true
        case (.listDevices, .devices): true
        case (.describeDevice, .deviceDetails): true
        case (.compileFilter, .program), (.compileFilter, .error): true
        default: false
        }
    }
}

/// How long the helper may take to answer, in nanoseconds: `reply` for hello
/// and every request but `open`, which may take `open` (activation, the filter's
/// name lookups). Past a deadline the I/O thread kills the helper.
struct SessionDeadlines: Sendable {
    var reply: Int64
    var open: Int64

    static let `default` = SessionDeadlines(reply: 5_000_000_000, open: 30_000_000_000)

    func timeout(for kind: RequestKind) -> Int64 { kind == .open ? open : reply }
}

extension RequestKind {
    /// The option a user raises when this request times out.
    var timeoutOption: String {
        switch self {
        case .open: "CaptureOptions.openTimeout"
        case .listDevices: "the timeout parameter of NetworkDevice.all"
        case .describeDevice: "the timeout parameter of InterfaceDetails.of"
        case .compileFilter: "the timeout parameter of FilterCompiler.compile"
        default: "CaptureOptions.requestTimeout"
        }
    }
}

struct PendingRequest {
    var kind: RequestKind
    var bytes: [UInt8]
    var filter: String?
    /// nil for the close that `close()` sends on its own.
    var continuation: UnsafeContinuation<Result<WireMessage, CaptureError>, Never>?
}

/// What a consumer waiting for a batch gets.
enum BatchResult {
    case batch(SendablePackets, start: Int)
    /// The stream is over without error (closed, or cancelled).
    case end
    case failed(CaptureError)
}

/// What a consumer waiting for one packet gets.
enum SingleResult {
    case packet(Packet)
    /// Deadline passed or task cancelled.
    case none
    case failed(CaptureError)
}

enum Waiter {
    case batch(id: UInt64, UnsafeContinuation<BatchResult, Never>)
    case single(id: UInt64, deadline: Int64, UnsafeContinuation<SingleResult, Never>)

    var id: UInt64 {
        switch self {
        case .batch(let id, _), .single(let id, _, _): id
        }
    }

    var deadline: Int64 {
        if case .single(_, let d, _) = self { return d }
        return .max
    }

    /// Resumes the waiter with "nothing more" (deadline, cancellation, or clean end).
    func resumeEmpty() {
        switch self {
        case .batch(_, let c): c.resume(returning: .end)
        case .single(_, _, let c): c.resume(returning: .none)
        }
    }
}

/// Continuations to resume once the lock is released.
enum Resumption {
    case batch(UnsafeContinuation<BatchResult, Never>, BatchResult)
    case single(UnsafeContinuation<SingleResult, Never>, SingleResult)
    case reply(UnsafeContinuation<Result<WireMessage, CaptureError>, Never>, Result<WireMessage, CaptureError>)
    case finished(UnsafeContinuation<Void, Never>)

    func resume() {
        switch self {
        case .batch(let c, let r): c.resume(returning: r)
        case .single(let c, let r): c.resume(returning: r)
        case .reply(let c, let r): c.resume(returning: r)
        case .finished(let c): c.resume()
        }
    }
}

/// State shared between the session's I/O thread and its consumers; only
/// touched under `HelperSession.state`'s lock.
struct SessionState {
    /// The helper in use: as requested until the I/O thread has located it.
    var helperPath: String
    var pid: Int32 = 0
    var libpcapVersion = ""
    /// Requests not yet written, in order.
    var pending: [PendingRequest] = []
    /// The one request written and not yet answered.
    var outstanding: PendingRequest?
    var queue = PacketQueue()
    /// The I/O thread stopped reading stdout because the queue is full; a consumer
    /// that frees space must wake it.
    var readerPaused = false
    var waiters: [Waiter] = []
    /// `close()` or deinit: packets are discarded from now on.
    var closeRequested = false
    /// The owner is gone: close the helper's stdin and reap it.
    var abandoned = false
    /// When the I/O thread gives up on a graceful close and SIGKILLs the helper.
    var closeDeadline: Int64?
    /// The helper is reaped and the I/O thread is leaving.
    var finished = false
    /// Why the session ended abnormally (set once; nil for a clean end).
    var failure: CaptureError?
    var finishWaiters: [UnsafeContinuation<Void, Never>] = []
}
