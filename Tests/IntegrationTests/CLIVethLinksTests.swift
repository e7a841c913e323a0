import Foundation
import Glibc
import TestSupport
import XCTest

/// Two network namespaces made for one test, `sc9c…` (where swiftcap runs)
/// and `sc9p…` (the peer), joined by `links` veth pairs:
///
///     [sc9c] sc9cTAGxK 10.209.(S+K).1/30  <---->  10.209.(S+K).2/30 sc9pTAGxK [sc9p]
///
/// Unlike `NetworkNamespacePair` (one link), it gives a test several
/// interfaces to capture on at once. `cleanup()` (also run by deinit) deletes
/// both namespaces, which destroys the veth pairs.
final class VethLinks: @unchecked Sendable {
    let captureNamespace: String
    let peerNamespace: String
    /// Per link: (interface in the capture namespace, its address, interface in the peer namespace, its address).
    let links: [(local: String, localAddress: String, peer: String, peerAddress: String)]
    private var cleanedUp = false

    nonisolated(unsafe) private static var counter = 0

    /// `prefix` (3 or 4 characters, so interface names stay within 15 bytes)
    /// starts every name: tests of one area can use their own.
    init(links count: Int, prefix: String = "sc9") throws {
        try requireRoot("it creates network namespaces and veth pairs")
        Self.counter += 1
        let tag = "\(getpid() % 100_000)x\(Self.counter)"
        captureNamespace = "\(prefix)c\(tag)"
        peerNamespace = "\(prefix)p\(tag)"
        let subnetBase = (Int(getpid()) + Self.counter * 5) % 200 + 1
        links = (0 ..< count).map { k in
            ("\(prefix)c\(tag)\(k)", "10.209.\(subnetBase + k).1", "\(prefix)p\(tag)\(k)", "10.209.\(subnetBase + k).2")
        }
        do {
            try runChecked(["/usr/sbin/ip", "netns", "add", captureNamespace])
            try runChecked(["/usr/sbin/ip", "netns", "add", peerNamespace])
            for ns in [captureNamespace, peerNamespace] {
                try runChecked(["/usr/sbin/ip", "-n", ns, "link", "set", "lo", "up"])
            }
            for link in links {
                try runChecked(["/usr/sbin/ip", "-n", captureNamespace, "link", "add", link.local, "type", "veth",
                                "peer", "name", link.peer, "netns", peerNamespace])
                try runChecked(["/usr/sbin/ip", "-n", captureNamespace, "addr", "add", "\(link.localAddress)/30", "dev", link.local])
                try runChecked(["/usr/sbin/ip", "-n", peerNamespace, "addr", "add", "\(link.peerAddress)/30", "dev", link.peer])
                try runChecked(["/usr/sbin/ip", "-n", captureNamespace, "link", "set", link.local, "up"])
                try runChecked(["/usr/sbin/ip", "-n", peerNamespace, "link", "set", link.peer, "up"])
            }
        } catch {
            cleanup()
            throw error
        }
    }

    deinit { cleanup() }

    /// Deletes both namespaces. Idempotent.
    func cleanup() {
        guard !cleanedUp else { return }
        cleanedUp = true
        _ = try? runProcess(["/usr/sbin/ip", "netns", "del", captureNamespace])
        _ = try? runProcess(["/usr/sbin/ip", "netns", "del", peerNamespace])
    }

    /// `count` pings from the capture namespace to the peer of link `k`, `interval` s apart (bounded by ping's -w).
    func ping(link k: Int, count: Int, interval: Double = 0.02) throws {
        try runChecked(NetworkNamespacePair.exec(captureNamespace, ["/usr/bin/ping", "-n", "-q", "-c", "\(count)", "-i", "\(interval)",
                                                                    "-w", "10", links[k].peerAddress]), timeout: 15)
    }

}

/// The topology itself: the links exist where they should and carry traffic.
final class CLIVethLinksTests: XCTestCase {
    func testLinksAreUpAndCleanedUp() throws {
        let veths = try VethLinks(links: 2)
        for k in 0 ..< 2 { try veths.ping(link: k, count: 1) }
        let names = [veths.captureNamespace, veths.peerNamespace]
        veths.cleanup()
        let list = try runChecked(["/usr/sbin/ip", "netns", "list"]).stdout
        for name in names { XCTAssertFalse(list.contains(name), "\(name) was not deleted") }
    }
}
