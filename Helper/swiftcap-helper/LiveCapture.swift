import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// An activated live capture: a `pcap_t` from pcap_create + pcap_activate.
final class LiveCapture {
    let handle: OpaquePointer
    let device: String
    let linkType: UInt32
    let snapshotLength: Int
    let precision: WireTimestampPrecision
    /// pcap_activate's warning, empty when there was none.
    let warning: String
    /// pcap_get_selectable_fd: the packet socket.
    let fd: CInt
    /// `not (the SSH session's TCP connection)`, ANDed to every filter; nil locally.
    let exclusion: String?

    /// Opens and activates `request.device` as the request says and switches to
    /// non-blocking mode (pcap_create ... pcap_activate, pcap_setnonblock).
    /// The request's filter is not installed here: activation is what needs
    /// CAP_NET_RAW, and the filter is compiled only once no capability is held
    /// (`setFilter`, called by PrivilegeSequence after dropping them).
    ///
    /// `excluding`: the SSH session the helper serves, left out of every filter.
    init(_ request: OpenRequest, allowMonitorMode: Bool, excluding connection: SSHConnection? = nil) throws(HelperError) {
        exclusion = connection?.exclusionFilter
        let name = request.device
        try LiveCapture.checkDevice(name)
        if request.monitorMode && !allowMonitorMode {
            throw HelperError(.badRequest, "monitor mode needs CAP_NET_ADMIN: the client must start the helper with --keep-net-admin")
        }
        guard request.timeoutMilliseconds <= UInt32(Int32.max) else {
            throw HelperError(.badRequest, "timeout \(request.timeoutMilliseconds) ms exceeds \(Int32.max)")
        }
        guard Int(request.bufferSize) <= Limits.maxBufferSize else {
            throw HelperError(.badRequest, "buffer size \(request.bufferSize) bytes exceeds the limit of \(Limits.maxBufferSize) (1 GiB)")
        }

        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(name, &errbuf) else {
            throw HelperError(.activateFailed, "pcap_create(\"\(name)\"): \(errorBufferString(errbuf))")
        }
        self.handle = handle
        self.device = name

        // Options before activation; each returns PCAP_ERROR_ACTIVATED at worst, which cannot happen here.
        pcap_set_snaplen(handle, CInt(request.snapshotLength))
        pcap_set_promisc(handle, request.promiscuous ? 1 : 0)
        switch request.timeoutMode {
        case .immediate: pcap_set_immediate_mode(handle, 1)
        case .milliseconds: pcap_set_timeout(handle, CInt(request.timeoutMilliseconds))
        case .never: pcap_set_timeout(handle, 0)
        }
        if request.bufferSize != 0 { pcap_set_buffer_size(handle, CInt(request.bufferSize)) }
        if request.monitorMode { pcap_set_rfmon(handle, 1) }
        // tcpdump -j: an unknown name is an error, an unsupported type a warning.
        var timestampTypeWarning = ""
        if !request.timestampTypeName.isEmpty {
            let type = pcap_tstamp_type_name_to_val(request.timestampTypeName)
            guard type >= 0 else {
                throw HelperError(.badRequest, "unknown time stamp type \"\(request.timestampTypeName)\"; list its time stamp types with InterfaceDetails.of(interface)")
            }
            let set = pcap_set_tstamp_type(handle, type)
            if set == PCAP_WARNING_TSTAMP_TYPE_NOTSUP {
                timestampTypeWarning = "time stamp type \(request.timestampTypeName) is not supported by \(name); using its default"
            } else if set != 0 {
                throw HelperError(.unsupported, "time stamp type \(request.timestampTypeName) cannot be set on \(name): \(String(cString: pcap_statustostr(set)))")
            }
        }
        let wanted = request.timestampPrecision == .nanoseconds ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO
        if pcap_set_tstamp_precision(handle, CInt(wanted)) != 0 {
            throw HelperError(.timestampPrecisionNotSupported,
                              "\(name) does not support \(request.timestampPrecision) time stamps; open it with the other precision")
        }

        let status = pcap_activate(handle)
        let detail = String(cString: pcap_geterr(handle))
        if status < 0 { throw LiveCapture.activationError(status, device: name, detail: detail, request: request) }
        warning = [status > 0 ? detail : "", timestampTypeWarning].filter { !$0.isEmpty }.joined(separator: "; ")

        // tcpdump -y: a link type by name, among those the interface offers.
        if !request.linkTypeName.isEmpty {
            let dlt = pcap_datalink_name_to_val(request.linkTypeName)
            guard dlt >= 0 else {
                throw HelperError(.badRequest, "invalid data link type \"\(request.linkTypeName)\"; list its link types with InterfaceDetails.of(interface)")
            }
            if pcap_set_datalink(handle, dlt) != 0 {
                throw HelperError(.unsupported, "\(name) does not offer link type \(request.linkTypeName); list its link types with InterfaceDetails.of(interface)")
            }
        }

        let direction = switch request.direction {
        case .inOut: PCAP_D_INOUT
        case .in: PCAP_D_IN
        case .out: PCAP_D_OUT
        }
        if pcap_setdirection(handle, direction) != 0 {
            throw HelperError(.unsupported, "\(name) cannot restrict capture direction: \(String(cString: pcap_geterr(handle)))")
        }

        linkType = UInt32(bitPattern: pcap_datalink(handle))
        snapshotLength = Int(pcap_snapshot(handle))
        precision = pcap_get_tstamp_precision(handle) == CInt(PCAP_TSTAMP_PRECISION_NANO) ? .nanoseconds : .microseconds

        if pcap_setnonblock(handle, 1, &errbuf) != 0 {
            throw HelperError(.captureFailed, "pcap_setnonblock(\(name)): \(errorBufferString(errbuf))")
        }
        let selectable = pcap_get_selectable_fd(handle)
        guard selectable >= 0 else { throw HelperError(.captureFailed, "\(name) has no selectable file descriptor") }
        fd = selectable
    }

    /// Refuses every device name that is not an existing network interface or
    /// `any`, before libpcap sees it: pcap_create would also open D-Bus (whose
    /// `unixexec:` addresses start programs), USB, Bluetooth and netfilter
    /// sources for whoever can run this setcap'd binary.
    static func checkDevice(_ name: String) throws(HelperError) {
        guard !name.utf8.contains(0) else { throw HelperError(.badRequest, "device name contains a NUL byte") }
        switch InterfaceName.problem(with: name) {
        case .otherCaptureSource(let message)?: throw HelperError(.unsupported, message)
        case .invalid(let message)?: throw HelperError(.noSuchDevice, message)
        case nil: break
        }
        if name != "any" && sch_interface_index(name) == 0 {
            throw HelperError(.noSuchDevice, "no network interface named \"\(InterfaceName.printable(name))\" (if_nametoindex: \(errnoDescription(errno))); list devices to see what exists")
        }
    }

    /// Maps a negative pcap_activate status to the wire code the client acts on.
    static func activationError(_ status: CInt, device: String, detail: String, request: OpenRequest) -> HelperError {
        let quoted = "\"\(device)\""
        switch status {
        case PCAP_ERROR_NO_SUCH_DEVICE:
            return HelperError(.noSuchDevice, "no capture device named \(quoted) (\(detail)); list devices to see what exists")
        case PCAP_ERROR_PERM_DENIED:
            return HelperError(.permissionDenied,
                               "no permission to capture on \(quoted) (\(detail)); the helper needs CAP_NET_RAW: "
                                   + "sudo setcap cap_net_raw=ep \(CommandLine.arguments.first ?? "swiftcap-helper")")
        case PCAP_ERROR_PROMISC_PERM_DENIED:
            return HelperError(.promiscuousPermissionDenied,
                               "no permission to put \(quoted) into promiscuous mode (\(detail)); open it without promiscuous mode")
        case PCAP_ERROR_RFMON_NOTSUP:
            return HelperError(.unsupported, "\(quoted) does not support monitor mode (\(detail))")
        case PCAP_ERROR_IFACE_NOT_UP:
            return HelperError(.interfaceNotUp, "\(quoted) is not up (\(detail)); bring it up with: ip link set \(device) up")
        case PCAP_ERROR_TSTAMP_PRECISION_NOTSUP:
            return HelperError(.timestampPrecisionNotSupported,
                               "\(quoted) does not support \(request.timestampPrecision) time stamps (\(detail))")
        default:
            return HelperError(.activateFailed, "activating \(quoted) failed: \(String(cString: pcap_statustostr(status))): \(detail)")
        }
    }

    /// Compiles `spec` for this handle, within the compile budget, and installs
    /// it (pcap_compile + pcap_setfilter). On failure the previous filter stays
    /// in place. Called only when the helper holds no capability.
    func setFilter(_ spec: FilterSpec, namesResolve: Bool) throws(HelperError) {
        var spec = spec
        if let exclusion {
            spec.expression = spec.expression.isEmpty ? exclusion : "(\(spec.expression)) and \(exclusion)"
        }
        var program = try compileFilter(spec, on: handle, namesResolve: namesResolve)
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw HelperError(.filterInvalid, "pcap_setfilter: \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// Sends one packet (pcap_inject); returns the bytes written.
    func inject(_ packet: [UInt8]) throws(HelperError) -> UInt32 {
        let written = packet.withUnsafeBytes { pcap_inject(handle, $0.baseAddress, $0.count) }
        guard written >= 0 else {
            throw HelperError(.injectFailed, "inject of \(packet.count) bytes on \(device) failed: \(String(cString: pcap_geterr(handle)))")
        }
        return UInt32(written)
    }

    /// Sends every packet of `batch` in order; every one is tried, failures are
    /// counted and the first one's message kept.
    ///
    /// Up to 1024 packets go out with one sendmmsg(2) on pcap's socket (what
    /// pcap_inject does with one send(2) per packet): same socket, same bytes,
    /// no destination, a syscall per 1024 packets instead of per packet. Cooked
    /// captures (`any`, LINUX_SLL, LINUX_SLL2) go through pcap_inject one by one,
    /// so that libpcap refuses them with its own message.
    func inject(batch: WireInjectBatch) -> WireInjectResult {
        var result = WireInjectResult(sent: 0, bytes: 0, failed: 0, firstError: "")
        batch.withUnsafePackets { packets in
            if linkType == UInt32(DLT_LINUX_SLL) || linkType == UInt32(DLT_LINUX_SLL2) {
                for packet in packets { injectOne(packet, into: &result) }
            } else {
                sendAll(packets, into: &result)
            }
        }
        return result
    }

    /// pcap_inject of one packet, counted into `result`.
    private func injectOne(_ packet: UnsafeRawBufferPointer, into result: inout WireInjectResult) {
        let written = pcap_inject(handle, packet.baseAddress, packet.count)
        if written >= 0 {
            result.sent += 1
            result.bytes += UInt64(written)
        } else {
            recordFailure(of: packet, pcapMessage: String(cString: pcap_geterr(handle)), into: &result)
        }
    }

    /// sendmmsg in chunks. A packet the kernel refuses ends a call: the call
    /// after it starts with that packet, fails with its errno (counted, the
    /// packet skipped), and the rest go on.
    private func sendAll(_ packets: [UnsafeRawBufferPointer], into result: inout WireInjectResult) {
        let socket = pcap_fileno(handle)
        let chunk = Int(SCH_SEND_PACKETS_MAX)
        var vectors = [iovec](repeating: iovec(), count: min(packets.count, chunk))
        var lengths = [CUnsignedInt](repeating: 0, count: vectors.count)
        var next = 0
        while next < packets.count {
            let count = min(packets.count - next, chunk)
            for i in 0 ..< count {
                vectors[i] = iovec(iov_base: UnsafeMutableRawPointer(mutating: packets[next + i].baseAddress), iov_len: packets[next + i].count)
            }
            let sent = Int(sch_send_packets(socket, vectors, CUnsignedInt(count), &lengths))
            if sent > 0 {
                result.sent += UInt32(sent)
                for i in 0 ..< sent { result.bytes += UInt64(lengths[i]) }
                next += sent
            } else {
                // pcap_inject's message for a failed send(2).
                recordFailure(of: packets[next], pcapMessage: "send: \(String(cString: strerror(errno)))", into: &result)
                next += 1
            }
        }
    }

    private func recordFailure(of packet: UnsafeRawBufferPointer, pcapMessage: String, into result: inout WireInjectResult) {
        result.failed += 1
        if result.firstError.isEmpty {
            result.firstError = "inject of \(packet.count) bytes on \(device) failed: \(pcapMessage)"
        }
    }

    /// pcap_stats: packets received, dropped by the kernel, dropped by the interface.
    func statistics() throws(HelperError) -> pcap_stat {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else {
            throw HelperError(.captureFailed, "pcap_stats(\(device)): \(String(cString: pcap_geterr(handle)))")
        }
        return stats
    }
}
