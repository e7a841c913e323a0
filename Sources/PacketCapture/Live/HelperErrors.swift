import SwiftcapWire

/// Turns what the helper reports into `CaptureError`s that say what to do.
struct ErrorContext: Sendable {
    var helperPath: String
    var interface: String?
    /// The filter expression a request carried, if any.
    var filter: String?
}

extension CaptureError {
    /// An `error` frame from the helper, in context.
    static func fromHelper(_ e: WireError, _ context: ErrorContext) -> CaptureError {
        let path = context.helperPath
        let iface = context.interface.map { "interface \($0)" } ?? "the interface"
        let pcap = e.message
        func make(_ code: Code, _ message: String) -> CaptureError {
            CaptureError(code, message, helperPath: path)
        }
        switch e.code {
        case .noSuchDevice:
            return make(.interfaceNotFound, "\(iface) does not exist (\(pcap)); list interfaces with `swiftcap devices` or NetworkDevice.all()")
        case .permissionDenied:
            return make(.permissionDenied, "the helper at \(path) lacks CAP_NET_RAW (\(pcap)): \(HelperLocator.capabilityAdvice(for: path))")
        case .promiscuousPermissionDenied:
            return make(.promiscuousPermissionDenied, "the helper at \(path) may not put \(iface) in promiscuous mode (\(pcap)); capture without promiscuous mode (promiscuous: false, -p)")
        case .filterInvalid:
            let expr = context.filter.map { "filter \"\($0)\" is invalid" } ?? "invalid filter"
            return make(.filterInvalid, "\(expr): \(pcap); see pcap-filter(7) for the syntax")
        case .injectFailed:
            return make(.injectFailed, "injecting on \(iface) failed: \(pcap); the packet must start with the interface's link-layer header and fit its MTU")
        case .activateFailed:
            return make(.activateFailed, "opening \(iface) failed: \(pcap); check the interface name and the capture options")
        case .protocolViolation:
            return make(.protocolViolation, "the helper at \(path) says the client broke the protocol: \(pcap); the helper and the client must come from the same swiftcap version")
        case .unsupported:
            return make(.unsupported, "\(iface) does not support what was asked: \(pcap); monitor mode needs a wireless interface that supports it, so drop monitorMode for other interfaces")
        case .captureFailed:
            return make(.captureFailed, "capturing on \(iface) failed: \(pcap); the interface may have gone away or down, open the capture again")
        case .internal:
            return make(.helperInternalError, "the helper at \(path) reported an internal error: \(pcap); report this as a swiftcap bug")
        case .badRequest:
            return make(.invalidArgument, "the helper at \(path) rejected the request: \(pcap); check the capture options")
        case .interfaceNotUp:
            return make(.interfaceNotUp, "\(iface) is down (\(pcap)); bring it up with: ip link set \(context.interface ?? "IFACE") up")
        case .timestampPrecisionNotSupported:
            return make(.timestampPrecisionNotSupported, "\(iface) cannot deliver the requested timestamp precision (\(pcap)); use timestampPrecision: .microseconds")
        }
    }

    /// The capture was closed by the application.
    static func closed() -> CaptureError {
        CaptureError(.captureClosed, "the capture was closed; open a new LiveCapture to capture again")
    }

    /// The helper ended without saying why on the protocol.
    static func terminated(pid: Int32, path: String, termination: Termination?, stderr: String, during: String) -> CaptureError {
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

    static func violation(_ v: ProtocolViolation, path: String) -> CaptureError {
        if v.kind == .versionMismatch {
            return CaptureError(.helperVersionMismatch, v.reason, helperPath: path)
        }
        return CaptureError(.protocolViolation,
                     "the helper at \(path) broke the protocol (\(v.reason)); the session was ended. The helper and the client must come from the same swiftcap version",
                     helperPath: path)
    }
}
