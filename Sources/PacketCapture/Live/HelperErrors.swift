import SwiftcapWire

/// Turns what the helper reports into `CaptureError`s that say what to do.
struct ErrorContext: Sendable {
    var helperPath: String
    var interface: String?
    /// The filter expression a request carried, if any.
    var filter: String?
    /// `user@host` when the helper runs on another machine (through ssh).
    var remoteHost: String? = nil
}

extension CaptureError {
    /// An `error` frame from the helper, in context.
    static func fromHelper(_ e: WireError, _ context: ErrorContext) -> CaptureError {
        let path = context.remoteHost.map { "\(context.helperPath) on \($0)" } ?? context.helperPath
        let iface = (context.interface.map { "interface \($0)" } ?? "the interface") + (context.remoteHost.map { " of \($0)" } ?? "")
        let pcap = e.message
        func make(_ code: Code, _ message: String) -> CaptureError {
            CaptureError(code, message, helperPath: path)
        }
        switch e.code {
        case .noSuchDevice:
            return make(.interfaceNotFound, "\(iface) does not exist (\(pcap)); list interfaces with `swiftcap devices` or NetworkDevice.all()")
        case .permissionDenied:
            // A remote helper's file cannot be inspected from here.
            let fix = context.remoteHost.map { "on \($0) run: sudo swiftcap install-helper (or sudo setcap cap_net_raw=ep \(context.helperPath))" }
                ?? HelperLocator.capabilityAdvice(for: path)
            return make(.permissionDenied, "the helper at \(path) lacks CAP_NET_RAW (\(pcap)): \(fix)")
        case .promiscuousPermissionDenied:
            return make(.promiscuousPermissionDenied, "the helper at \(path) may not put \(iface) in promiscuous mode (\(pcap)); capture without promiscuous mode (promiscuous: false, -p)")
        case .filterInvalid:
            let expr = context.filter.map { "filter \"\(shortened($0))\" is invalid" } ?? "invalid filter"
            return make(.filterInvalid, "\(expr): \(pcap); see pcap-filter(7) for the syntax")
        case .injectFailed:
            return make(.injectFailed, "injecting on \(iface) failed: \(pcap); the packet must start with the interface's link-layer header and fit its MTU")
        case .activateFailed:
            return make(.activateFailed, "opening \(iface) failed: \(pcap); check the interface name and the capture options")
        case .protocolViolation:
            return make(.protocolViolation, "the helper at \(path) says the client broke the protocol: \(pcap); the helper and the client must come from the same swiftcap version")
        case .unsupported:
            let advice = pcap.contains("monitor mode") ? "; monitor mode needs a wireless interface that supports it, so drop monitorMode for other interfaces" : ""
            return make(.unsupported, "\(iface) does not support what was asked: \(pcap)\(advice)")
        case .captureFailed:
            return make(.captureFailed, "capturing on \(iface) failed: \(pcap); the interface may have gone away or down, open the capture again")
        case .internal:
            return make(.helperInternalError, "the helper at \(path) reported an internal error: \(pcap); report this as a swiftcap bug")
        case .badRequest:
            return make(.invalidArgument, "the helper at \(path) rejected the request: \(pcap)" + (pcap.contains(";") ? "" : "; check the capture options"))
        case .interfaceNotUp:
            return make(.interfaceNotUp, "\(iface) is down (\(pcap)); bring it up with: ip link set \(context.interface ?? "IFACE") up")
        case .timestampPrecisionNotSupported:
            return make(.timestampPrecisionNotSupported, "\(iface) cannot deliver the requested timestamp precision (\(pcap)); use timestampPrecision: .microseconds")
        case .filterTooComplex:
            let expr = context.filter.map { "filter \"\(shortened($0))\"" } ?? "the filter"
            return make(.filterTooComplex, "\(expr) is too costly to compile: \(pcap) (with optimize: false, or CaptureOptions.optimizeFilter = false)")
        }
    }

    /// The capture was closed by the application.
    static func closed() -> CaptureError {
        CaptureError(.captureClosed, "the capture was closed; open a new LiveCapture to capture again")
    }

    /// The helper ended without saying why on the protocol. `killedBecause` is
    /// set when the client itself killed it, and says why.
    static func terminated(pid: Int32, path: String, termination: Termination?, stderr: String, during: String,
                           killedBecause: String? = nil) -> CaptureError {
        if let killedBecause {
            var message = "swiftcap-helper (pid \(pid)) \(killedBecause) \(during), so swiftcap killed it (SIGKILL)"
            if !stderr.isEmpty { message += "; its stderr ended with: \(stderr)" }
            message += "; open the capture again, and check that \(path) is the swiftcap-helper built with this swiftcap version"
            return CaptureError(.helperTerminated, message, helperPath: path, termination: termination)
        }
        let how = termination.map(\.description) ?? "ended (its exit status could not be collected)"
        var message = "swiftcap-helper (pid \(pid)) \(how) \(during)"
        if !stderr.isEmpty { message += "; its stderr ended with: \(stderr)" }
        switch termination {
        case .signaled:
            message += "; the capture is gone, open a new one (if the helper crashes repeatedly, report a swiftcap bug)"
        case .exited, nil:
            message += "; check that \(path) is the swiftcap-helper built with this swiftcap version, and open the capture again"
        }
        return CaptureError(.helperTerminated, message, helperPath: path, termination: termination)
    }

    /// The ssh transport ended before or instead of the helper: `termination`
    /// is ssh's (255: it could not connect or authenticate; 126/127: the remote
    /// shell could not run the helper).
    static func remoteFailure(host: String, remotePath: String, termination: Termination?, stderr: String, during: String) -> CaptureError? {
        let said = stderr.isEmpty ? "" : ": \(stderr)"
        switch termination {
        case .exited(255) where during == "before it said hello":
            return CaptureError(.remoteConnectionFailed,
                                "ssh to \(host) failed \(during)\(said); check that `ssh \(host)` works without a prompt (BatchMode: keys, known host)",
                                helperPath: remotePath, termination: termination)
        case .exited(255):
            return CaptureError(.remoteConnectionFailed,
                                "the ssh connection to \(host) ended \(during) (ssh exit status 255: the connection broke, or the remote helper was killed)\(said); open the capture again",
                                helperPath: remotePath, termination: termination)
        case .signaled(let signal):
            return CaptureError(.remoteConnectionFailed,
                                "ssh to \(host) was killed by signal \(Termination.name(ofSignal: signal)) \(during)\(said); the remote helper exits with it; open the capture again",
                                helperPath: remotePath, termination: termination)
        case .exited(127):
            return CaptureError(.helperNotFound,
                                "there is no helper at \(remotePath) on \(host)\(said); install it there with: sudo swiftcap install-helper, or set SSHDestination.helperPath",
                                helperPath: remotePath, termination: termination)
        case .exited(126):
            return CaptureError(.helperNotFound,
                                "the helper at \(remotePath) on \(host) cannot be executed by the remote user\(said); add that user to the helper's group (usermod -aG GROUP USER on \(host))",
                                helperPath: remotePath, termination: termination)
        default:
            return nil
        }
    }

    /// The helper did not answer `request` within `seconds`; the client killed it.
    static func timedOut(_ request: String, after nanoseconds: Int64, option: String, path: String) -> CaptureError {
        CaptureError(.timedOut,
                     "the helper at \(path) did not answer the \(request) request within \(formatSeconds(nanoseconds)); swiftcap killed it (SIGKILL). "
                         + "The helper may be stopped (SIGSTOP) or overloaded; try again, or raise \(option)",
                     helperPath: path, termination: .signaled(signal: 9))
    }

    static func violation(_ v: ProtocolViolation, path: String) -> CaptureError {
        if v.kind == .versionMismatch {
            return CaptureError(.helperVersionMismatch, v.reason, helperPath: path)
        }
        return CaptureError(.protocolViolation,
                     "the helper at \(path) broke the protocol (\(v.reason)); the session was ended. The helper and the client must come from the same swiftcap version",
                     helperPath: path)
    }
}


/// A filter expression for a message: its first 80 characters.
func shortened(_ expression: String) -> String {
    expression.count > 80 ? expression.prefix(80) + "…" : expression
}

/// "5 s", "0.25 s".
func formatSeconds(_ nanoseconds: Int64) -> String {
    let whole = nanoseconds / 1_000_000_000
    let rest = nanoseconds % 1_000_000_000
    if rest == 0 { return "\(whole) s" }
    var fraction = String(rest)
    fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(whole).\(fraction) s"
}
