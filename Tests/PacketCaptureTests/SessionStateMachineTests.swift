@testable import PacketCapture
import SwiftcapWire
import XCTest

/// The session state machine without processes: every frame in every state
/// with every outstanding request, every deadline, every kind of helper end.
final class SessionStateMachineTests: XCTestCase {
    typealias Machine = SessionStateMachine
    static let deadlines = SessionDeadlines(reply: 5_000, open: 30_000)
    static let grace = Machine.exitGracePeriod

    // MARK: Reaching each state

    enum Named: String, CaseIterable {
        case awaitingHello, idle, capturing, awaitingEnd, exitingAfterEnd, exitingAfterFatal, killed
    }

    private func machine(interface: String? = "lo") -> Machine {
        Machine(context: ErrorContext(helperPath: "/h", interface: interface), deadlines: Self.deadlines, now: 0)
    }

    private func machine(in named: Named) -> Machine {
        var m = machine()
        func feed(_ message: WireMessage, _ kind: RequestKind?) {
            let action = m.frameReceived(message, outstanding: kind.map { ($0, nil) }, now: 0)
            precondition(action != .kill, "setup for \(named) failed at \(message.frameType)")
        }
        if named == .awaitingHello { return m }
        feed(.hello(Hello(libpcapVersion: "x")), nil)
        switch named {
        case .awaitingHello, .idle: break
        case .capturing:
            m.requestSent(.open, now: 0); feed(.ready(Ready(linkType: 1, snapshotLength: 100, timestampPrecision: .nanoseconds, warning: "")), .open)
        case .awaitingEnd:
            m.requestSent(.listDevices, now: 0); feed(.devices([]), .listDevices)
        case .exitingAfterEnd:
            m.requestSent(.close, now: 0); feed(.end, .close)
        case .exitingAfterFatal:
            feed(.error(WireError(code: .captureFailed, fatal: true, message: "down")), nil)
        case .killed:
            _ = m.violation(ProtocolViolation(.badField, "test"))
        }
        return m
    }

    private static let frames: [(String, WireMessage)] = [
        ("hello", .hello(Hello(libpcapVersion: "x"))),
        ("ready", .ready(Ready(linkType: 1, snapshotLength: 100, timestampPrecision: .nanoseconds, warning: ""))),
        ("injected", .injected(3)),
        ("injectedBatch", .injectedBatch(WireInjectResult(sent: 1, bytes: 60, failed: 0, firstError: ""))),
        ("filterSet", .filterSet),
        ("statistics", .statistics(WireStatistics(received: 1, droppedByKernel: 0, droppedByInterface: 0, sentByHelper: 1))),
        ("devices", .devices([])),
        ("deviceDetails", .deviceDetails(WireDeviceDetails(linkTypes: [], timestampTypes: []))),
        ("program", .program(WireProgram(linkType: 1, instructions: [WireInstruction(code: 6, jt: 0, jf: 0, k: 1)]))),
        ("end", .end),
        ("error", .error(WireError(code: .filterInvalid, fatal: false, message: "bad"))),
        ("fatal", .error(WireError(code: .captureFailed, fatal: true, message: "down"))),
    ]
    private static let kinds: [RequestKind?] = [nil, .open, .inject, .injectBatch, .setFilter, .statistics, .close, .listDevices, .describeDevice, .compileFilter]

    /// The legal transitions, written out: (state, frame, outstanding) → (action, next state).
    /// Everything not listed ends the session with a protocol violation.
    private func expected(_ state: Named, _ frame: String, _ kind: RequestKind?) -> (Machine.FrameAction, Named)? {
        if state == .killed { return (.none, .killed) }
        if frame == "fatal" { return state == .exitingAfterFatal ? nil : (.fatalError, .exitingAfterFatal) }
        switch state {
        case .awaitingHello:
            return frame == "hello" ? (.helloAccepted, .idle) : nil
        case .exitingAfterEnd, .exitingAfterFatal, .killed:
            return nil
        case .awaitingEnd where frame == "end":
            return (.none, .exitingAfterEnd)
        case .idle, .capturing, .awaitingEnd:
            let accepted: [RequestKind: [String]] = [
                .open: ["ready"], .inject: ["injected", "error"], .injectBatch: ["injectedBatch"], .setFilter: ["filterSet", "error"],
                .statistics: ["statistics"], .close: ["end"], .listDevices: ["devices"], .describeDevice: ["deviceDetails"],
                .compileFilter: ["program", "error"],
            ]
            guard let kind, accepted[kind]?.contains(frame) == true else { return nil }
            switch frame {
            case "ready": return (.reply, .capturing)
            case "end": return (.reply, .exitingAfterEnd)
            case "devices", "deviceDetails": return (.reply, .awaitingEnd)
            default: return (.reply, state)
            }
        }
    }

    private func named(_ m: Machine) -> Named {
        switch m.state {
        case .awaitingHello: .awaitingHello
        case .idle: .idle
        case .capturing: .capturing
        case .awaitingEnd: .awaitingEnd
        case .exiting(_, .end): .exitingAfterEnd
        case .exiting(_, .fatalError): .exitingAfterFatal
        case .killed: .killed
        }
    }

    func testEveryFrameInEveryStateWithEveryOutstandingRequest() {
        var checked = 0
        for state in Named.allCases {
            for (name, frame) in Self.frames {
                for kind in Self.kinds {
                    var m = machine(in: state)
                    let action = m.frameReceived(frame, outstanding: kind.map { ($0, nil) }, now: 10)
                    let label = "\(state) + \(name) with \(kind.map { "\($0)" } ?? "nothing") outstanding"
                    if let (wantAction, wantState) = expected(state, name, kind) {
                        XCTAssertEqual(action, wantAction, label)
                        XCTAssertEqual(named(m), wantState, label)
                        if wantAction == .fatalError { XCTAssertEqual(m.failure?.code, .captureFailed, label) }
                    } else {
                        XCTAssertEqual(action, .kill, label)
                        XCTAssertTrue(m.isKilled, label)
                        XCTAssertEqual(m.failure?.code, state == .exitingAfterFatal ? .captureFailed : .protocolViolation, label)
                    }
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, Named.allCases.count * Self.frames.count * Self.kinds.count)
    }

    func testAVersionMismatchIsAViolationThatNamesBothVersions() {
        var m = machine()
        XCTAssertEqual(m.frameReceived(.hello(Hello(protocolVersion: 99, libpcapVersion: "x")), outstanding: nil, now: 0), .kill)
        XCTAssertEqual(m.failure?.code, .helperVersionMismatch)
        XCTAssertTrue(m.failure?.message.contains("protocol version 99; this client is swiftcap \(Wire.softwareVersion), protocol version \(Wire.protocolVersion)") == true,
                      m.failure?.message ?? "")
    }

    /// The first request is pipelined behind the spawn: writable before hello, its reply
    /// still legal only after hello, its deadline running from when it was written.
    func testTheFirstRequestIsWrittenBeforeHelloAndAnsweredAfterIt() {
        for state in Named.allCases {
            XCTAssertEqual(machine(in: state).mayWriteRequests, state != .killed, "\(state)")
        }
        var early = machine()
        early.requestSent(.open, now: 10)
        let ready = WireMessage.ready(Ready(linkType: 1, snapshotLength: 100, timestampPrecision: .nanoseconds, warning: ""))
        XCTAssertEqual(early.frameReceived(ready, outstanding: (.open, nil), now: 20), .kill, "a reply before hello")
        var m = machine()
        m.requestSent(.open, now: 10)
        XCTAssertEqual(m.nextDeadline, 5_000, "hello's deadline comes first")
        XCTAssertEqual(m.frameReceived(.hello(Hello(libpcapVersion: "x")), outstanding: (.open, nil), now: 20), .helloAccepted)
        XCTAssertEqual(m.nextDeadline, 30_010, "then open's, from when it was written")
        XCTAssertEqual(m.frameReceived(ready, outstanding: (.open, nil), now: 30), .reply)
        XCTAssertTrue(m.acceptsPackets)
        var mismatch = machine()
        mismatch.requestSent(.open, now: 10)
        XCTAssertEqual(mismatch.frameReceived(.hello(Hello(protocolVersion: 99, libpcapVersion: "x")), outstanding: (.open, nil), now: 20), .kill)
        XCTAssertEqual(mismatch.failure?.code, .helperVersionMismatch, "the version is still checked before any reply")
    }

    func testPacketsAreLegalOnlyWhileCapturing() {
        for state in Named.allCases {
            let m = machine(in: state)
            XCTAssertEqual(m.packetFrameProblem() == nil, state == .capturing, "\(state)")
            XCTAssertEqual(m.acceptsPackets, state == .capturing, "\(state)")
        }
    }

    // MARK: Deadlines

    func testHelloDeadline() {
        var m = machine()
        XCTAssertEqual(m.nextDeadline, 5_000)
        XCTAssertNil(m.deadlinesPassed(now: 4_999))
        XCTAssertEqual(m.deadlinesPassed(now: 5_000), .kill)
        XCTAssertEqual(m.failure?.code, .timedOut)
        XCTAssertTrue(m.failure?.message.contains("hello") == true)
        XCTAssertTrue(m.failure?.message.contains("CaptureOptions.requestTimeout") == true)
        XCTAssertNil(m.deadlinesPassed(now: 10_000), "a killed session has no deadline left")
        XCTAssertEqual(m.nextDeadline, .max)
        var devices = machine(interface: nil)
        _ = devices.deadlinesPassed(now: 5_000)
        XCTAssertTrue(devices.failure?.message.contains("the timeout parameter") == true)
    }

    func testEveryRequestHasItsDeadlineButClose() {
        let cases: [(RequestKind, Int64, String)] = [
            (.open, 30_000, "CaptureOptions.openTimeout"), (.inject, 5_000, "CaptureOptions.requestTimeout"),
            (.setFilter, 5_000, "CaptureOptions.requestTimeout"), (.statistics, 5_000, "CaptureOptions.requestTimeout"),
            (.listDevices, 5_000, "NetworkDevice.all"), (.compileFilter, 5_000, "FilterCompiler.compile"),
        ]
        for (kind, timeout, option) in cases {
            var m = machine(in: .idle)
            m.requestSent(kind, now: 100)
            XCTAssertEqual(m.nextDeadline, 100 + timeout, "\(kind)")
            XCTAssertNil(m.deadlinesPassed(now: 99 + timeout), "\(kind)")
            XCTAssertEqual(m.deadlinesPassed(now: 100 + timeout), .kill, "\(kind)")
            XCTAssertEqual(m.failure?.code, .timedOut, "\(kind)")
            XCTAssertTrue(m.failure?.message.contains("\(kind) request") == true, m.failure?.message ?? "")
            XCTAssertTrue(m.failure?.message.contains(option) == true, m.failure?.message ?? "")
        }
        var m = machine(in: .capturing)
        m.requestSent(.close, now: 0)
        XCTAssertEqual(m.nextDeadline, .max, "close is bounded by the close grace period, not a reply deadline")
        // A reply clears the deadline.
        var answered = machine(in: .capturing)
        answered.requestSent(.statistics, now: 0)
        _ = answered.frameReceived(Self.frames[4].1, outstanding: (.statistics, nil), now: 1)
        XCTAssertEqual(answered.nextDeadline, .max)
        XCTAssertNil(answered.deadlinesPassed(now: 1_000_000))
    }

    func testTheHelperMustExitAfterEndOrAFatalError() {
        for state in [Named.exitingAfterEnd, .exitingAfterFatal] {
            var m = machine(in: state)
            XCTAssertEqual(m.nextDeadline, Self.grace)
            XCTAssertNil(m.deadlinesPassed(now: Self.grace - 1))
            XCTAssertEqual(m.deadlinesPassed(now: Self.grace), .kill)
            XCTAssertTrue(m.isKilled)
        }
    }

    // MARK: How the session ends

    func testEveryKindOfHelperEnd() {
        let crash = CaptureError.Termination.signaled(signal: 11)
        let killed = CaptureError.Termination.signaled(signal: 9)
        // Clean ends: after end, or closed by the application.
        XCTAssertNil(machine(in: .exitingAfterEnd).helperEnded(pid: 1, termination: .exited(status: 0), stderr: "", closeRequested: false))
        XCTAssertNil(machine(in: .capturing).helperEnded(pid: 1, termination: killed, stderr: "", closeRequested: true))
        var late = machine(in: .exitingAfterEnd)
        _ = late.deadlinesPassed(now: Self.grace)
        XCTAssertNil(late.helperEnded(pid: 1, termination: killed, stderr: "", closeRequested: false), "it said end; exiting late is no failure")

        // Unexpected ends, by phase.
        let phases: [(Named, String)] = [(.awaitingHello, "before it said hello"), (.idle, "before answering"),
                                         (.capturing, "while capturing on lo"), (.awaitingEnd, "before answering")]
        for (state, during) in phases {
            let e = machine(in: state).helperEnded(pid: 7, termination: crash, stderr: "boom", closeRequested: false)
            XCTAssertEqual(e?.code, .helperTerminated, "\(state)")
            XCTAssertEqual(e?.termination, crash)
            XCTAssertTrue(e?.message.contains("swiftcap-helper (pid 7) was killed by signal SIGSEGV \(during)") == true, e?.message ?? "")
            XCTAssertTrue(e?.message.contains("its stderr ended with: boom") == true, e?.message ?? "")
        }
        // The fatal error wins over the exit status.
        let fatal = machine(in: .exitingAfterFatal).helperEnded(pid: 1, termination: .exited(status: 1), stderr: "", closeRequested: false)
        XCTAssertEqual(fatal?.code, .captureFailed)
        // A violation carries the helper's stderr.
        let violated = machine(in: .killed).helperEnded(pid: 1, termination: killed, stderr: "said this", closeRequested: false)
        XCTAssertEqual(violated?.code, .protocolViolation)
        XCTAssertTrue(violated?.message.contains("said this") == true)
        // Killed by the client for not exiting: said as such, not as a crash.
        var stayed = machine(in: .capturing)
        stayed.killedByDriver(.stdoutClosedWithoutExit)
        let e = stayed.helperEnded(pid: 3, termination: killed, stderr: "", closeRequested: false)
        XCTAssertEqual(e?.code, .helperTerminated)
        XCTAssertTrue(e?.message.contains("closed its output but did not exit within 2 s while capturing on lo, so swiftcap killed it") == true, e?.message ?? "")
        XCTAssertFalse(e?.message.contains("report a swiftcap bug") == true)
        // A recorded client-side failure is the session's error.
        var failed = machine(in: .capturing)
        failed.record(CaptureError(.systemCallFailed, "ppoll"))
        XCTAssertEqual(failed.helperEnded(pid: 1, termination: nil, stderr: "", closeRequested: false)?.code, .systemCallFailed)
    }
}
