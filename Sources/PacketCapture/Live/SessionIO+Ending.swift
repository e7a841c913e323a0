import CPacketCaptureShims
import Glibc
import SwiftcapWire

/// Writing requests, keeping the helper's stderr, and the end of a session.
extension SessionIO {
    // MARK: stdin, stderr

    func writeStdin() {
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

    func closeStdin() {
        guard let process, stdinOpen else { return }
        process.stdin.close()
        stdinOpen = false
        output = []
        outputOffset = 0
    }

    func readStderr() {
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

    var stderrText: String {
        var text = String(decoding: stderrTail, as: UTF8.self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }

    // MARK: The end

    /// After stdout EOF (or the helper's exit): reap the helper (SIGKILL if it
    /// lingers 2 s), collect what it said on stderr, and end the session with
    /// the state machine's verdict.
    func reapAndFinish() {
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
            if !killSent, monotonicNanoseconds() - start > HelperSession.closeGracePeriod {
                machine.killedByDriver(.stdoutClosedWithoutExit)
                killHelper()
                if swiftcap_waitpid(process.pid, &status, 0) == process.pid { termination = Self.termination(status) }
                break
            }
            usleep(pause)
            pause = min(pause * 2, 2_000)
        }
        // Whatever the helper wrote to stderr before it went is in the pipe now.
        if stderrOpen { readStderr() }
        if stderrOpen { process.stderr.close(); stderrOpen = false }

        let closing = session.state.withLock { $0.closeRequested }
        let final = machine.helperEnded(pid: process.pid, termination: termination, stderr: stderrText, closeRequested: closing)
        finish(with: final, termination: termination)
    }

    static func termination(_ status: Int32) -> CaptureError.Termination? {
        if swiftcap_wifexited(status) != 0 { return .exited(status: swiftcap_wexitstatus(status)) }
        if swiftcap_wifsignaled(status) != 0 { return .signaled(signal: swiftcap_wtermsig(status)) }
        return nil
    }

    /// Marks the session finished and resumes everyone still waiting.
    func finish(with error: CaptureError?, termination: CaptureError.Termination?) {
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
