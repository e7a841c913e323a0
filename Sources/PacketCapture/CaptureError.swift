/// An error from a live capture, the helper process, or a helper session
/// (device listing, filter compilation).
///
/// Every error has a `code` to switch on and a `message` that says what went
/// wrong and what to do about it. Errors that involve the helper carry its
/// path, and `termination` says how it ended when it ended unexpectedly.
public struct CaptureError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added; match the ones you handle.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case interfaceNotFound, interfaceNotUp, permissionDenied, promiscuousPermissionDenied
            case helperNotFound, helperSpawnFailed, helperTerminated, protocolViolation
            case filterInvalid, filterTooLong, injectFailed, packetTooLarge, captureClosed
            case activateFailed, unsupported, timestampPrecisionNotSupported, captureFailed
            case invalidArgument, systemCallFailed, helperInternalError
            case filterTooComplex, timedOut, remoteConnectionFailed
            case helperNotExecutable, helperVersionMismatch
        }
        let base: Base
        init(_ base: Base) { self.base = base }

        /// The named interface does not exist (or no interface exists at all).
        public static let interfaceNotFound = Code(.interfaceNotFound)
        /// The interface exists but is administratively down.
        public static let interfaceNotUp = Code(.interfaceNotUp)
        /// The helper may not open a capture: it lacks CAP_NET_RAW.
        public static let permissionDenied = Code(.permissionDenied)
        /// The helper may capture but not in promiscuous mode.
        public static let promiscuousPermissionDenied = Code(.promiscuousPermissionDenied)
        /// No executable helper at any of the places looked at.
        public static let helperNotFound = Code(.helperNotFound)
        /// A helper exists where it was looked for, but the caller may not execute it
        /// (the message names its mode, owner and group, and the group to join).
        public static let helperNotExecutable = Code(.helperNotExecutable)
        /// The helper speaks another protocol version (the message names both
        /// swiftcap versions and how to reinstall the helper).
        public static let helperVersionMismatch = Code(.helperVersionMismatch)
        /// posix_spawn of the helper failed for a reason other than its absence.
        public static let helperSpawnFailed = Code(.helperSpawnFailed)
        /// The helper exited or was killed while the session was open.
        public static let helperTerminated = Code(.helperTerminated)
        /// The helper sent something the protocol does not allow (or said we did).
        public static let protocolViolation = Code(.protocolViolation)
        /// libpcap rejected a filter expression.
        public static let filterInvalid = Code(.filterInvalid)
        /// A filter expression is longer than `CaptureOptions.filterLengthLimit`.
        public static let filterTooLong = Code(.filterTooLong)
        /// pcap_inject failed.
        public static let injectFailed = Code(.injectFailed)
        /// A packet to inject is empty or longer than the protocol allows.
        public static let packetTooLarge = Code(.packetTooLarge)
        /// The capture was closed (by `close()`) before or during the call.
        public static let captureClosed = Code(.captureClosed)
        /// pcap_activate failed for a reason without a code of its own.
        public static let activateFailed = Code(.activateFailed)
        /// The interface cannot do what was asked (monitor mode on a wired interface...).
        public static let unsupported = Code(.unsupported)
        /// The interface cannot deliver the requested timestamp precision.
        public static let timestampPrecisionNotSupported = Code(.timestampPrecisionNotSupported)
        /// The capture failed after it was opened (pcap_dispatch error, interface gone).
        public static let captureFailed = Code(.captureFailed)
        /// An option or argument is outside its domain.
        public static let invalidArgument = Code(.invalidArgument)
        /// A system call in the client failed (pipe, eventfd, pthread_create...):
        /// `systemCall` says which, and its errno.
        public static let systemCallFailed = Code(.systemCallFailed)
        /// The helper reported an internal error.
        public static let helperInternalError = Code(.helperInternalError)
        /// Compiling a filter exceeded the helper's CPU-time or memory budget.
        public static let filterTooComplex = Code(.filterTooComplex)
        /// The helper did not answer a request within its deadline
        /// (`CaptureOptions.requestTimeout`, `openTimeout`); it was stopped.
        public static let timedOut = Code(.timedOut)
        /// `ssh` could not connect to, or authenticate with, the remote host, or
        /// the connection broke (`HelperTransport.ssh`).
        public static let remoteConnectionFailed = Code(.remoteConnectionFailed)

        public var description: String { base.rawValue }
    }

    /// How the helper process ended.
    public enum Termination: Hashable, Sendable, CustomStringConvertible {
        /// exit(status)
        case exited(status: Int32)
        /// killed by `signal`
        case signaled(signal: Int32)

        /// "SIGSEGV" for a signal termination, nil otherwise.
        public var signalName: String? {
            if case .signaled(let s) = self { return Self.name(ofSignal: s) }
            return nil
        }

        /// "exited with status 3" / "was killed by signal SIGSEGV".
        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signaled(let s): "was killed by signal \(Self.name(ofSignal: s))"
            }
        }

        /// The Linux name of signal `s` ("SIGKILL"), or "signal N" for an unknown number.
        public static func name(ofSignal s: Int32) -> String {
            let names = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
                         "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
                         "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
                         "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
                         "SIGPWR", "SIGSYS"]
            if s >= 1, Int(s) <= names.count { return names[Int(s) - 1] }
            if s >= 34, s <= 64 { return "SIGRTMIN+\(s - 34)" }
            return "signal \(s)"
        }
    }

    public var code: Code
    /// What happened and what to do about it.
    public var message: String
    /// The helper involved, when there was one.
    public var helperPath: String?
    /// How the helper ended, for `.helperTerminated`.
    public var termination: Termination?
    /// The failed call in the client and its errno, for `.systemCallFailed`.
    public var systemCall: SystemCallError?

    public init(_ code: Code, _ message: String, helperPath: String? = nil, termination: Termination? = nil,
                systemCall: SystemCallError? = nil) {
        self.code = code
        self.message = message
        self.helperPath = helperPath
        self.termination = termination
        self.systemCall = systemCall
    }

    /// `.systemCallFailed` for `cause`, its message followed by `advice`.
    init(systemCall cause: SystemCallError, advice: String = "") {
        self.init(.systemCallFailed, cause.message(advice: advice), systemCall: cause)
    }

    public var description: String { "\(code): \(message)" }
}
