#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reading or writing a pcap or pcapng file.
///
/// `code` says what kind of problem it is, `offset` where in the file (the byte
/// offset of the record or block at fault, or of the first byte that could not be
/// read), and `message` what was found there and what to do about it.
///
/// Readers deliver every complete packet before the one at fault, then throw.
public struct CaptureFileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem. Compare with the static members (`.truncated`, ...).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case unknownFormat
            case unsupportedVersion
            case invalidHeader
            case truncated
            case recordTooLong
            case invalidBlockLength
            case blockLengthMismatch
            case malformedBlock
            case undefinedInterface
            case packetBeforeInterface
            case linkTypeMismatch
            case invalidArgument
            case systemCallFailed
        }

        let base: Base

        /// The first bytes are not a pcap or pcapng magic number.
        public static let unknownFormat = Code(base: .unknownFormat)
        /// The file declares a format version this reader does not know.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        /// A file header field holds a value the format forbids (reserved bits
        /// of a pcap link-type field set, say).
        public static let invalidHeader = Code(base: .invalidHeader)
        /// The file ends inside a header, record or block.
        public static let truncated = Code(base: .truncated)
        /// A record or block claims a length above what its snapshot length or
        /// the format's sanity limits allow.
        public static let recordTooLong = Code(base: .recordTooLong)
        /// A pcapng block total length is not a multiple of 4, or is below the
        /// minimum for its block type.
        public static let invalidBlockLength = Code(base: .invalidBlockLength)
        /// A pcapng block's trailing total length differs from its leading one.
        public static let blockLengthMismatch = Code(base: .blockLengthMismatch)
        /// A block's fields contradict each other or its length.
        public static let malformedBlock = Code(base: .malformedBlock)
        /// A packet refers to an interface id that no Interface Description Block
        /// of its section defined.
        public static let undefinedInterface = Code(base: .undefinedInterface)
        /// A packet block appears before any Interface Description Block of its section.
        public static let packetBeforeInterface = Code(base: .packetBeforeInterface)
        /// A classic pcap file can hold one link-layer type only.
        public static let linkTypeMismatch = Code(base: .linkTypeMismatch)
        /// The writer was used in a way it does not allow (unknown interface,
        /// written after close, ...).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// `open`, `read`, `write`, `mmap`, ... failed; `systemCall` says which, and its errno.
        public static let systemCallFailed = Code(base: .systemCallFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of problem this is.
    public var code: Code
    /// The byte offset in the file the problem is at; `nil` when the problem is
    /// not about a position (the file could not be opened, say).
    public var offset: Int?
    /// What was found and what to do about it.
    public var message: String
    /// The failed call and its errno, for `.systemCallFailed`.
    public var systemCall: SystemCallError?
    /// The file the error is about, when known ("-" for standard input/output).
    public var path: String?

    /// `systemCall?.errno`.
    public var errno: Int32? { systemCall?.errno }

    public init(code: Code, offset: Int?, message: String, systemCall: SystemCallError? = nil, path: String? = nil) {
        self.code = code
        self.offset = offset
        self.message = message
        self.systemCall = systemCall
        self.path = path
    }

    public var description: String {
        var s = ""
        if let path { s += "\(path): " }
        if let offset { s += "at byte \(offset): " }
        s += message
        s += " [\(code)]"
        return s
    }

    func with(path: String?) -> CaptureFileError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }
}

extension CaptureFileError {
    /// `.systemCallFailed` for `call`'s `errno`, its message followed by `hint`.
    static func systemCall(_ call: String, errno: Int32, offset: Int? = nil, path: String?,
                           hint: String = "") -> CaptureFileError {
        let cause = SystemCallError(systemCall: call, errno: errno)
        return CaptureFileError(code: .systemCallFailed, offset: offset, message: cause.message(advice: hint),
                                systemCall: cause, path: path)
    }
}
