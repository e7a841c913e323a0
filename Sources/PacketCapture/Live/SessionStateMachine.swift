import SwiftcapWire

/// The protocol life of one helper session, with no I/O of its own.
///
/// The I/O thread (`SessionIO`, the driver) reads, writes, polls and reaps; it
/// tells this machine what arrived and when, and performs the actions the
/// transitions return. The rules of docs/PROTOCOL.md ("Sessions") live here and
/// only here:
///
///     awaitingHello ──hello──▶ idle ──ready──▶ capturing ──end / fatal error──▶ exiting
///           │                   ├──devices──▶ awaitingEnd ──end──────────────▶ exiting
///           │                   └──end / fatal error─────────────────────────▶ exiting
///           └── violation, missed deadline (any state) ──▶ killed
///
/// `exiting` and `killed` end when the driver reaps the helper (`helperEnded`),
/// which yields the session's final error, if any.
struct SessionStateMachine {
    enum State: Equatable {
        /// Spawned: only `hello` (or a fatal error) may arrive, before `deadline`.
        case awaitingHello(deadline: Int64)
        /// Hello seen, no capture open: before `ready`, or a devices or compile session.
        case idle
        /// `ready` seen: packet frames are legal.
        case capturing
        /// `devices` seen: `end` must follow.
        case awaitingEnd
        /// `end` or a fatal error seen: the helper must exit before `deadline`.
        case exiting(deadline: Int64, after: ExitCause)
        /// The client ended the session and killed the helper; `during` is the
        /// phase it was killed in, for messages.
        case killed(KillReason, during: String)
    }

    enum ExitCause: Equatable { case end, fatalError }

    /// Why the client killed the helper.
    enum KillReason: Equatable {
        /// A violation or a missed reply deadline: `failure` says which.
        case sessionFailed
        /// It did not exit in time after `end` or a fatal error.
        case missedExit(after: ExitCause)
        /// It closed its stdout but did not exit.
        case stdoutClosedWithoutExit
        /// The application closed the session and the helper did not exit in time.
        case closeGracePeriodOver
        /// A system call of the driver failed.
        case driverFailure

        /// For the final error, when the helper's end needs explaining.
        var explanation: String? {
            switch self {
            case .missedExit(.end): "did not exit within 2 s of its end frame"
            case .missedExit(.fatalError): "did not exit within 2 s of its fatal error"
            case .stdoutClosedWithoutExit: "closed its output but did not exit within 2 s"
            case .sessionFailed, .closeGracePeriodOver, .driverFailure: nil
            }
        }
    }

    /// What the driver does with a control frame.
    enum FrameAction: Equatable {
        /// Hello accepted: requests may be written now.
        case helloAccepted
        /// Resume the outstanding request with this frame as its reply.
        case reply
        /// A fatal error: resume the outstanding request (if any) with the frame;
        /// `failure` now holds the session's error.
        case fatalError
        /// Nothing to do (an expected `end`, or a frame after the kill).
        case none
        /// End the session: fail the outstanding request with `failure`, SIGKILL.
        case kill
    }

    /// What the driver does when a deadline passes.
    enum DeadlineAction: Equatable {
        /// SIGKILL the helper; if `failure` is set, the outstanding request fails with it.
        case kill
    }

    private(set) var state: State
    /// Why the session ended abnormally, as the application will see it.
    private(set) var failure: CaptureError?
    /// The request written and not yet answered, and its deadline.
    private(set) var awaiting: (kind: RequestKind, deadline: Int64)?
    /// The helper's path (known once located) and what the session is about.
    var context: ErrorContext
    let deadlines: SessionDeadlines
    /// How long the helper has to exit after `end` or a fatal error.
    static let exitGracePeriod: Int64 = HelperSession.closeGracePeriod

    init(context: ErrorContext, deadlines: SessionDeadlines, now: Int64) {
        self.context = context
        self.deadlines = deadlines
        self.state = .awaitingHello(deadline: saturatingAdd(now, deadlines.reply))
    }

    /// Whether packet frames may arrive now.
    var acceptsPackets: Bool { state == .capturing }
    /// Whether the client has killed the helper (what it still sends is discarded).
    var isKilled: Bool { if case .killed = state { true } else { false } }
    /// Whether requests may be written: from the spawn on, until the client kills the
    /// helper. The session's first request is pipelined behind the spawn instead of
    /// waiting a round trip for hello: the helper reads it only after writing hello,
    /// and any reply before hello is still a violation (`frameReceived`).
    var mayWriteRequests: Bool { !isKilled }

    /// The earliest deadline the driver must wake up for, or `.max`.
    var nextDeadline: Int64 {
        var next = awaiting?.deadline ?? .max
        switch state {
        case .awaitingHello(let d), .exiting(let d, _): next = min(next, d)
        default: break
        }
        return next
    }

    // MARK: Events

    /// A request was written (taken for writing) at `now`. `close` is bounded by
    /// the close grace period of the session instead.
    mutating func requestSent(_ kind: RequestKind, now: Int64) {
        awaiting = kind == .close ? nil : (kind, saturatingAdd(now, deadlines.timeout(for: kind)))
    }

    /// A control frame arrived; `outstanding` is the request awaiting a reply
    /// (with its filter, for error messages).
    mutating func frameReceived(_ message: WireMessage, outstanding: (kind: RequestKind, filter: String?)?, now: Int64) -> FrameAction {
        if isKilled { return .none }
        if case .hello(let hello) = message {
            guard case .awaitingHello = state else { return violation(.unexpected, "a second hello frame") }
            guard hello.protocolVersion == Wire.protocolVersion else {
                return violation(.versionMismatch, HelperLocator.versionMismatchMessage(path: context.helperPath, hello: hello))
            }
            state = .idle
            return .helloAccepted
        }
        if case .error(let e) = message, e.fatal {
            if case .exiting(_, .fatalError) = state { return violation(.unexpected, "a second fatal error frame") }
            var errorContext = context
            errorContext.filter = outstanding?.filter
            if failure == nil { failure = CaptureError.fromHelper(e, errorContext) }
            state = .exiting(deadline: saturatingAdd(now, Self.exitGracePeriod), after: .fatalError)
            awaiting = nil
            return .fatalError
        }
        switch state {
        case .awaitingHello:
            return violation(.unexpected, "\(message.frameType) frame before hello")
        case .exiting(_, .fatalError):
            return violation(.unexpected, "\(message.frameType) frame after a fatal error")
        case .exiting(_, .end):
            return violation(.unexpected, "\(message.frameType) frame after end")
        case .awaitingEnd:
            if case .end = message {
                state = .exiting(deadline: saturatingAdd(now, Self.exitGracePeriod), after: .end)
                return .none
            }
        default:
            break
        }
        guard let outstanding else { return violation(.unexpected, "unsolicited \(message.frameType) frame") }
        guard outstanding.kind.accepts(message) else {
            return violation(.unexpected, "\(message.frameType) frame in reply to a \(outstanding.kind) request")
        }
        if case .error = message, outstanding.kind == .open {
            return violation(.badField, "a non-fatal error in reply to open")
        }
        awaiting = nil
        switch message {
        case .ready: state = .capturing
        case .end: state = .exiting(deadline: saturatingAdd(now, Self.exitGracePeriod), after: .end)
        case .devices, .deviceDetails: state = .awaitingEnd
        default: break
        }
        return .reply
    }

    /// A packet frame arrived: nil if legal now, else the violation to report
    /// (through `violation(_:)`).
    func packetFrameProblem() -> ProtocolViolation? {
        acceptsPackets ? nil : ProtocolViolation(.unexpected, "packet frame outside an open capture")
    }

    /// The frame layer or a decoder found a violation: the session ends.
    mutating func violation(_ v: ProtocolViolation) -> FrameAction {
        end(with: CaptureError.violation(v, path: context.helperPath))
    }

    private mutating func violation(_ code: ProtocolViolation.Kind, _ reason: String) -> FrameAction {
        violation(ProtocolViolation(code, reason))
    }

    /// Deadlines at `now`: hello, the awaited reply, the exit after `end` or a
    /// fatal error. The driver calls this before each poll.
    mutating func deadlinesPassed(now: Int64) -> DeadlineAction? {
        if isKilled { return nil }
        if case .awaitingHello(let deadline) = state, now >= deadline {
            let option = context.interface != nil ? "CaptureOptions.requestTimeout" : "the timeout parameter"
            _ = end(with: .timedOut("hello (its first frame)", after: deadlines.reply, option: option, path: context.helperPath))
            return .kill
        }
        if let (kind, deadline) = awaiting, now >= deadline {
            _ = end(with: .timedOut("\(kind)", after: deadlines.timeout(for: kind), option: kind.timeoutOption, path: context.helperPath))
            return .kill
        }
        if case .exiting(let deadline, let cause) = state, now >= deadline {
            state = .killed(.missedExit(after: cause), during: during)
            return .kill
        }
        return nil
    }

    /// The driver killed the helper for its own reasons (close grace period
    /// over, stdout closed without an exit, a failed system call).
    mutating func killedByDriver(_ reason: KillReason) {
        if isKilled { return }
        state = .killed(reason, during: during)
    }

    /// A client-side failure (a system call of the driver).
    mutating func record(_ error: CaptureError) {
        if failure == nil { failure = error }
    }

    /// The helper has been reaped: the session's final error, or nil for a
    /// clean end (`end` seen, or the application closed the session).
    func helperEnded(pid: Int32, termination: CaptureError.Termination?, stderr: String, closeRequested: Bool) -> CaptureError? {
        if let failure {
            if failure.code == .protocolViolation, !stderr.isEmpty {
                return CaptureError(failure.code, failure.message + "; the helper's stderr ended with: \(stderr)",
                                    helperPath: failure.helperPath, termination: termination)
            }
            return failure
        }
        if closeRequested { return nil }
        if let host = context.remoteHost,
           let remote = CaptureError.remoteFailure(host: host, remotePath: context.helperPath, termination: termination,
                                                   stderr: stderr, during: during) {
            return remote
        }
        let phase: String
        let killedBecause: String?
        switch state {
        case .exiting(_, .end): return nil
        case .killed(.missedExit(after: .end), _):
            return nil // it said end: the session is complete
        case .killed(let reason, let during):
            phase = during
            killedBecause = termination == .signaled(signal: 9) ? reason.explanation : nil
        default:
            phase = during
            killedBecause = nil
        }
        return .terminated(pid: pid, path: context.helperPath, termination: termination, stderr: stderr, during: phase,
                           killedBecause: killedBecause)
    }

    // MARK: Helpers

    private mutating func end(with error: CaptureError) -> FrameAction {
        if failure == nil { failure = error }
        state = .killed(.sessionFailed, during: during)
        awaiting = nil
        return .kill
    }

    /// The phase for messages: "before it said hello", "while capturing on lo"...
    private var during: String {
        switch state {
        case .awaitingHello: "before it said hello"
        case .capturing: "while capturing" + (context.interface.map { " on \($0)" } ?? "")
        case .killed(_, let during): during
        default: "before answering"
        }
    }
}
