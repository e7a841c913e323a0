import Glibc
import SwiftcapWire

/// A failure as the client will see it: a wire error code and a message that
/// says what went wrong and, where there is one, what to do about it.
struct HelperError: Error {
    var code: WireErrorCode
    var message: String

    init(_ code: WireErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A failed system call, with errno's meaning: "what: strerror(errno)".
    static func system(_ code: WireErrorCode, _ what: String, errno value: CInt = errno) -> HelperError {
        HelperError(code, "\(what): \(errnoDescription(value))")
    }
}

/// `strerror(value)` plus the symbolic number, e.g. "Message too long (errno 90)".
func errnoDescription(_ value: CInt) -> String {
    "\(String(cString: strerror(value))) (errno \(value))"
}

/// The NUL-terminated text in a PCAP_ERRBUF_SIZE buffer.
func errorBufferString(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// Writes one line to stderr, prefixed `swiftcap-helper: `.
///
/// Uses write(2) directly: stdio would allocate and fstat behind our back, and
/// stdout is the protocol channel, so nothing may ever go through `print`.
func diagnose(_ line: String) {
    var text = "swiftcap-helper: " + line + "\n"
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let n = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            return // stderr is best effort: a closed or full stderr must not stop the helper
        }
    }
}

/// Sends `error` as a fatal error frame, then exits with status 1.
/// The flush is bounded so a client that stopped reading cannot keep us alive.
func fatal(_ error: HelperError, output: FrameWriter) -> Never {
    diagnose("fatal: \(error.message)")
    output.append(.error(WireError(code: error.code, fatal: true, message: error.message)))
    output.flush(timeoutMilliseconds: 1000)
    terminate(1)
}

/// Ends the process with `status` at once, via _exit(2): atexit handlers are
/// skipped because libpcap's would undo monitor mode or close descriptors,
/// which the capabilities and seccomp allowlist of the lock-down no longer allow.
func terminate(_ status: CInt) -> Never {
    _exit(status)
}

/// The client is gone (EOF on stdin, or stdout's reader closed): nothing to report to anyone.
func exitClientGone(_ why: String) -> Never {
    diagnose("client gone (\(why)); exiting")
    terminate(0)
}
