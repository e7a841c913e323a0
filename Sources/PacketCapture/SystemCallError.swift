#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The cause of a `.systemCallFailed` error, live (`CaptureError.systemCall`)
/// or on files (`CaptureFileError.systemCall`): which C function failed and its
/// `errno`, as swift-nio's `FileSystemError.SystemCallError` carries them.
public struct SystemCallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C function that failed: "open", "write", "pipe2", "mmap"...
    public var systemCall: String
    /// The `errno` it left.
    public var errno: Int32

    public init(systemCall: String, errno: Int32) {
        self.systemCall = systemCall
        self.errno = errno
    }

    /// strerror(3) of `errno`: "No such file or directory".
    public var errnoDescription: String { String(cString: strerror(errno)) }

    /// "open failed: No such file or directory (errno 2)".
    public var description: String { "\(systemCall) failed: \(errnoDescription) (errno \(errno))" }

    /// The message of an error with this cause: the description, then what to do.
    func message(advice: String) -> String {
        advice.isEmpty ? description : "\(description); \(advice)"
    }
}
