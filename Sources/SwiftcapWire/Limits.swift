/// Limits both processes enforce on what a caller may ask of the helper. The
/// client checks them first, to name the API option at fault; the helper
/// checks them again, because it trusts nothing that arrives on stdin.
package enum Limits {
    /// The largest kernel buffer an `open` may ask for (pcap_set_buffer_size):
    /// 1 GiB. Each helper pins its buffer in memory, and past a few hundred MiB
    /// a bigger one only delays drops under sustained overload.
    package static let maxBufferSize = 1 << 30

    /// CPU time one pcap_compile may take in the helper. Realistic filters take
    /// under 10 ms; a 1.5 KB chain of 100 `or`ed ports 32 ms, a 3 KB one 0.2 s.
    package static let filterCompileCPUMilliseconds: UInt32 = 2000

    /// Memory one pcap_compile may allocate in the helper, on top of what the
    /// helper itself uses (RLIMIT_DATA). A 6 KB chain of 400 ports needs 13 MB.
    package static let filterCompileMemory = 256 << 20
}

/// Which device names the helper hands to libpcap: network interfaces only.
///
/// libpcap's pcap_create also accepts names that select other capture sources:
/// D-Bus (`dbus://ADDRESS`, whose `unixexec:` transport starts a program),
/// Bluetooth, USB, netfilter queues and logs, capture cards. (RDMA devices
/// are matched by their verbs name, which if_nametoindex does not know.) A setcap'd helper must not
/// reach those on behalf of whoever can run it, so a name must look like a
/// Linux interface name, must not be one of those sources' prefixes, and (in
/// the helper) must name an existing interface, or be `any`.
package enum InterfaceName {
    /// Linux's IFNAMSIZ minus the NUL.
    package static let maxLength = 15
    /// Name prefixes libpcap routes to capture sources that are not network interfaces.
    package static let otherCaptureSources: [(prefix: String, kind: String)] = [
        ("dbus", "D-Bus"), ("bluetooth", "Bluetooth"), ("usbmon", "USB"), ("nflog", "netfilter log"),
        ("nfqueue", "netfilter queue"), ("dag", "Endace DAG"), ("septel", "Septel"), ("snf", "Myricom SNF"),
    ]
    package static let allowedKinds = "the name of an existing network interface, or \"any\""

    /// Why a name cannot be a capture device.
    package enum Problem: Equatable, Sendable {
        /// The name selects a libpcap capture source that is not a network interface.
        case otherCaptureSource(String)
        /// No network interface can have this name.
        case invalid(String)

        package var message: String {
            switch self {
            case .otherCaptureSource(let m), .invalid(let m): m
            }
        }
    }

    /// Why `name` cannot be a capture device, or nil when it may be one (subject
    /// to the interface existing). Mirrors the kernel's dev_valid_name.
    package static func problem(with name: String) -> Problem? {
        if name == "any" { return nil }
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return .invalid("an empty device name is not \(allowedKinds)") }
        let lowered = name.lowercased()
        if let source = otherCaptureSources.first(where: { lowered.hasPrefix($0.prefix) }) {
            return .otherCaptureSource("\"\(printable(name))\" selects libpcap's \(source.kind) capture source, which swiftcap does not open; "
                + "give \(allowedKinds)")
        }
        if bytes.count > maxLength {
            return .invalid("\"\(printable(name))\" is \(bytes.count) bytes long; interface names have at most \(maxLength)")
        }
        if name == "." || name == ".." || bytes.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7F }) {
            return .invalid("\"\(printable(name))\" is not a valid interface name (no /, :, spaces or control characters); give \(allowedKinds)")
        }
        return nil
    }

    /// `name` with control characters escaped, for messages.
    package static func printable(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || scalar.value == 0x7F { out += "\\u{\(String(scalar.value, radix: 16))}" } else { out.unicodeScalars.append(scalar) }
        }
        return name.unicodeScalars.count > 64 ? out + "…" : out
    }
}
