import Foundation
import Glibc

/// Two network namespaces made for one test, joined by a veth pair:
///
///     [nsA] vethA 10.200.N.1/30  <---->  10.200.N.2/30 vethB [nsB]
///
/// Addresses exist only inside those namespaces; nothing is added to the host's
/// namespace. `cleanup()` (also run by deinit) deletes both namespaces, which
/// destroys the veth pair.
public final class NetworkNamespacePair: @unchecked Sendable {
    public let namespaceA: String
    public let namespaceB: String
    public let interfaceA: String
    public let interfaceB: String
    public let addressA: String
    public let addressB: String
    private var cleanedUp = false

    nonisolated(unsafe) private static var counter = 0

    /// `prefix` starts both namespace names (tests of one area can use their own).
    public init(prefix: String = "swiftcap") throws {
        try requireRoot("it creates network namespaces and a veth pair")
        Self.counter += 1
        let tag = "\(getpid() % 100_000)x\(Self.counter)"
        namespaceA = "\(prefix)A\(tag)"
        namespaceB = "\(prefix)B\(tag)"
        interfaceA = "scA\(tag)"  // at most 15 bytes
        interfaceB = "scB\(tag)"
        let subnet = (Int(getpid()) + Self.counter * 7) % 250 + 1
        addressA = "10.200.\(subnet).1"
        addressB = "10.200.\(subnet).2"
        do {
            try runChecked(["/usr/sbin/ip", "netns", "add", namespaceA])
            try runChecked(["/usr/sbin/ip", "netns", "add", namespaceB])
            try runChecked(["/usr/sbin/ip", "-n", namespaceA, "link", "add", interfaceA, "type", "veth", "peer", "name", interfaceB, "netns", namespaceB])
            try runChecked(["/usr/sbin/ip", "-n", namespaceA, "addr", "add", "\(addressA)/30", "dev", interfaceA])
            try runChecked(["/usr/sbin/ip", "-n", namespaceB, "addr", "add", "\(addressB)/30", "dev", interfaceB])
            for (ns, iface) in [(namespaceA, interfaceA), (namespaceB, interfaceB)] {
                try runChecked(["/usr/sbin/ip", "-n", ns, "link", "set", iface, "up"])
                try runChecked(["/usr/sbin/ip", "-n", ns, "link", "set", "lo", "up"])
            }
        } catch {
            cleanup()
            throw error
        }
    }

    deinit { cleanup() }

    /// Deletes both namespaces (and so the veth pair). Idempotent.
    public func cleanup() {
        guard !cleanedUp else { return }
        cleanedUp = true
        _ = try? runProcess(["/usr/sbin/ip", "netns", "del", namespaceA])
        _ = try? runProcess(["/usr/sbin/ip", "netns", "del", namespaceB])
    }

    /// `argv` run inside `namespace` with `ip netns exec`.
    public static func exec(_ namespace: String, _ argv: [String]) -> [String] {
        ["/usr/sbin/ip", "netns", "exec", namespace] + argv
    }

    /// The MAC address of `interface` in `namespace`.
    public func macAddress(namespace: String, interface: String) throws -> [UInt8] {
        let r = try runChecked(Self.exec(namespace, ["/bin/cat", "/sys/class/net/\(interface)/address"]))
        let bytes = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").compactMap { UInt8($0, radix: 16) }
        guard bytes.count == 6 else { throw TestSupportError("cannot read the MAC of \(interface) in \(namespace): \(r.stdout)") }
        return bytes
    }

    /// The promiscuity counter of `interface` in `namespace` (`ip -d link show`).
    public func promiscuity(namespace: String, interface: String) throws -> Int {
        let r = try runChecked(["/usr/sbin/ip", "-n", namespace, "-d", "link", "show", interface])
        guard let range = r.stdout.range(of: "promiscuity ") else { throw TestSupportError("no promiscuity in: \(r.stdout)") }
        let digits = r.stdout[range.upperBound...].prefix { $0.isNumber }
        return Int(digits) ?? -1
    }

    /// A wrapper script that runs `helper` inside `namespace` (same pid: both
    /// the script and `ip netns exec` exec). Use it as `helperPath` to capture
    /// in that namespace with the library in-process.
    public func helperWrapper(namespace: String, helper: String) throws -> String {
        try makeScript("swiftcap-helper", "#!/bin/sh\nexec /usr/sbin/ip netns exec \(namespace) \(helper) \"$@\"\n")
    }
}
