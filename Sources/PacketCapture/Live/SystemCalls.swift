import CPacketCaptureShims
import Glibc

/// Thin typed wrappers around the system calls the client uses, in the style of
/// swift-system: each names the C function it calls, retries EINTR where that is
/// the only sensible thing to do, and reports failure as an `Errno`.

/// A C `errno` value.
struct Errno: Error, Hashable, CustomStringConvertible {
    var rawValue: Int32

    /// The calling thread's current `errno`.
    static var current: Errno { Errno(rawValue: errno) }

    static let interrupted = Errno(rawValue: EINTR)
    static let wouldBlock = Errno(rawValue: EAGAIN)
    static let brokenPipe = Errno(rawValue: EPIPE)
    static let noSuchProcess = Errno(rawValue: ESRCH)

    /// strerror(3), e.g. "No such file or directory".
    var description: String { String(cString: strerror(rawValue)) }
}

/// Builds the typed error for a failed call in the client itself.
func systemCallError(_ function: String, _ errno: Errno, _ advice: String = "") -> CaptureError {
    CaptureError(systemCall: SystemCallError(systemCall: function, errno: errno.rawValue), advice: advice)
}

/// A raw file descriptor owned by exactly one party, which closes it once.
struct FileDescriptor: Hashable {
    var rawValue: Int32

    /// read(2), retried on EINTR. Returns the byte count (0 at EOF).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        while true {
            let n = Glibc.read(rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            let e = Errno.current
            if e != .interrupted { return .failure(e) }
        }
    }

    /// write(2), retried on EINTR. Returns the byte count written.
    func write(_ buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        while true {
            let n = Glibc.write(rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            let e = Errno.current
            if e != .interrupted { return .failure(e) }
        }
    }

    /// close(2). EINTR is not retried: on Linux the descriptor is gone either way.
    func close() {
        _ = Glibc.close(rawValue)
    }

    /// fcntl(F_SETFL, O_NONBLOCK) via `swiftcap_set_nonblocking`.
    func setNonBlocking() -> Result<Void, Errno> {
        swiftcap_set_nonblocking(rawValue) == 0 ? .success(()) : .failure(.current)
    }
}

/// pipe2(2) with O_CLOEXEC, via `swiftcap_pipe_cloexec`.
func makePipe() -> Result<(read: FileDescriptor, write: FileDescriptor), Errno> {
    var fds: (Int32, Int32) = (-1, -1)
    let rc = withUnsafeMutableBytes(of: &fds) { raw in
        swiftcap_pipe_cloexec(raw.baseAddress!.assumingMemoryBound(to: Int32.self))
    }
    if rc != 0 { return .failure(.current) }
    return .success((FileDescriptor(rawValue: fds.0), FileDescriptor(rawValue: fds.1)))
}

/// An eventfd(2) counter used to wake a thread blocked in poll.
struct EventFD {
    let fd: FileDescriptor

    /// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) via `swiftcap_eventfd`.
    static func make() -> Result<EventFD, Errno> {
        let fd = swiftcap_eventfd()
        return fd < 0 ? .failure(.current) : .success(EventFD(fd: FileDescriptor(rawValue: fd)))
    }

    /// write(2) of 1: wakes the poller. Never blocks (saturation is EAGAIN, and the
    /// poller is then already awake).
    func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { fd.write($0) }
    }

    /// read(2) of the counter: resets it to zero.
    func drain() {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { fd.read(into: $0) }
    }
}

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds, via `swiftcap_monotonic_ns`.
@inline(__always) func monotonicNanoseconds() -> Int64 { swiftcap_monotonic_ns() }

extension Duration {
    /// Whole nanoseconds, saturating at Int64's range.
    var saturatingNanoseconds: Int64 {
        let (s, a) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (total, o2) = ns.addingReportingOverflow(a / 1_000_000_000)
        if o2 { return s < 0 ? .min : .max }
        return total
    }
}

/// Adds without overflowing (deadlines far in the future saturate).
@inline(__always) func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (r, o) = a.addingReportingOverflow(b)
    return o ? (b > 0 ? .max : .min) : r
}
