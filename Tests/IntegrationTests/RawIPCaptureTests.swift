import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

/// A live capture on an interface whose libpcap link type is DLT_RAW (12 on
/// Linux): a tun device in a network namespace made for the test. The library
/// reports it as LINKTYPE_RAW (101), so the packets and the file written from
/// them say 101, as tcpdump's own file does. Traffic: pings from the
/// namespace's own address into the tun device, which nothing reads; nothing
/// leaves the namespace.
final class RawIPCaptureTests: XCTestCase {
    /// Creates tun device `name` inside `namespace`, attached to the returned
    /// descriptor so it has a carrier (a tun without a reader drops every packet
    /// before capture sees it). setns(2) changes only the calling thread's
    /// namespace, so a thread of its own does it.
    private func openTun(_ name: String, in namespace: String) throws -> Int32 {
        final class Outcome: @unchecked Sendable { var fd: Int32 = -1; var failure = "" }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            let ns = open("/run/netns/\(namespace)", O_RDONLY | O_CLOEXEC)
            guard ns >= 0 else { outcome.failure = "open /run/netns/\(namespace): errno \(errno)"; return }
            defer { close(ns) }
            // setns is a _GNU_SOURCE declaration Glibc does not import: look it up.
            typealias SetNS = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
                outcome.failure = "libc has no setns"
                return
            }
            let CLONE_NEWNET: Int32 = 0x4000_0000
            guard unsafeBitCast(symbol, to: SetNS.self)(ns, CLONE_NEWNET) == 0 else { outcome.failure = "setns: errno \(errno)"; return }
            let fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { outcome.failure = "open /dev/net/tun: errno \(errno)"; return }
            // struct ifreq: the name (IFNAMSIZ 16 bytes), then short flags IFF_TUN | IFF_NO_PI.
            var ifreq = [UInt8](repeating: 0, count: 40)
            ifreq.replaceSubrange(0 ..< name.utf8.count, with: name.utf8)
            withUnsafeBytes(of: Int16(0x0001 | 0x1000).littleEndian) { ifreq.replaceSubrange(16 ..< 18, with: $0) }
            let TUNSETIFF: UInt = 0x4004_54CA
            guard ifreq.withUnsafeMutableBytes({ ioctl(fd, TUNSETIFF, $0.baseAddress!) }) == 0 else {
                outcome.failure = "ioctl TUNSETIFF: errno \(errno)"
                close(fd)
                return
            }
            outcome.fd = fd
        }
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        guard outcome.fd >= 0 else { throw TestSupportError("cannot create a tun device (needs /dev/net/tun): \(outcome.failure)") }
        return outcome.fd
    }

    private let device = "scBtun0"

    /// A namespace of the test's own with tun device `device` (10.253.0.1/24, up)
    /// and the descriptor that reads what the device sends. The caller closes
    /// the descriptor and deletes the namespace.
    private func makeNamespaceWithTun() throws -> (namespace: String, tun: Int32) {
        try requireRoot()
        let namespace = "scBraw\(getpid() % 100_000)"
        try runChecked(["/usr/sbin/ip", "netns", "add", namespace])
        do {
            let tun = try openTun(device, in: namespace)
            do {
                try runChecked(["/usr/sbin/ip", "-n", namespace, "addr", "add", "10.253.0.1/24", "dev", device])
                try runChecked(["/usr/sbin/ip", "-n", namespace, "link", "set", device, "up"])
            } catch {
                close(tun)
                throw error
            }
            return (namespace, tun)
        } catch {
            _ = try? runProcess(["/usr/sbin/ip", "netns", "del", namespace])
            throw error
        }
    }

    func testATunCaptureIsRawIPInPacketsAndInTheFile() throws {
        let (namespace, tun) = try makeNamespaceWithTun()
        defer { close(tun); _ = try? runProcess(["/usr/sbin/ip", "netns", "del", namespace]) }
        let dir = try makeTemporaryDirectory("scB-raw")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cli = try BuiltProducts.cli(), helper = try BuiltProducts.helper()

        for format in ["pcap", "pcapng"] {
            let ours = "\(dir)/ours.\(format)", theirs = "\(dir)/theirs.pcap"
            let capture = try ChildProcess(NetworkNamespacePair.exec(namespace, [
                cli, "capture", "--helper", helper, "-i", device, "-c", "3", "--duration", "20",
                "-w", ours, "--format", format, "icmp"]))
            let json = try ChildProcess(NetworkNamespacePair.exec(namespace, [
                cli, "capture", "--helper", helper, "-i", device, "-c", "3", "--duration", "20", "--json", "icmp"]))
            let tcpdump = try ChildProcess(NetworkNamespacePair.exec(namespace, [
                "/usr/bin/tcpdump", "-i", device, "-c", "3", "-w", theirs, "icmp"]))
            for (name, process) in [("swiftcap -w", capture), ("swiftcap --json", json), ("tcpdump", tcpdump)] {
                XCTAssertTrue(process.waitForStderr(timeout: 15) { $0.contains("listening on") }, "\(name): \(process.stderr)")
            }
            // ping gets no reply (nothing reads the tun) and says so; its requests are what is captured.
            _ = try runProcess(NetworkNamespacePair.exec(namespace, [
                "/usr/bin/ping", "-c", "6", "-i", "0.2", "-W", "1", "10.253.0.2"]), timeout: 20)
            let results = [("swiftcap -w", capture.wait(timeout: 25)), ("swiftcap --json", json.wait(timeout: 25)),
                           ("tcpdump", tcpdump.wait(timeout: 25))]
            for (name, r) in results { XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)") }
            XCTAssertTrue(results[0].1.stderr.contains("listening on \(device), link-type RAW (Raw IP),"), results[0].1.stderr)

            // Every live packet says LINKTYPE_RAW.
            let lines = results[1].1.stdout.split(separator: "\n")
            XCTAssertEqual(lines.count, 3, results[1].1.stdout)
            for line in lines {
                XCTAssertTrue(line.contains("\"linktype\":101,\"linktype_name\":\"RAW\""), String(line))
            }

            // The file: tcpdump reads it as raw IP, with our three echo requests.
            let read = try runProcess(["/usr/bin/tcpdump", "-n", "-r", ours], timeout: 20)
            XCTAssertEqual(read.status, 0, read.stderr)
            XCTAssertTrue(read.stderr.contains("link-type RAW (Raw IP)"), "\(format): \(read.stderr)")
            let packets = read.stdout.split(separator: "\n")
            XCTAssertEqual(packets.count, 3, read.stdout)
            XCTAssertTrue(packets.allSatisfy { $0.contains("IP 10.253.0.1 > 10.253.0.2: ICMP echo request") }, read.stdout)
            // The same link-type field as tcpdump's own file, and the library reads it back as .raw.
            let file = try CaptureFile(path: ours)
            XCTAssertEqual(file.linkTypes(), [.raw], format)
            let tcpdumpHeader = try XCTUnwrap(FileManager.default.contents(atPath: theirs))
            XCTAssertEqual(tcpdumpHeader[20 ..< 24], Data([101, 0, 0, 0]), "tcpdump writes LINKTYPE_RAW")
            if format == "pcap" {
                let ourHeader = try XCTUnwrap(FileManager.default.contents(atPath: ours))
                XCTAssertEqual(ourHeader[20 ..< 24], tcpdumpHeader[20 ..< 24])
            }
        }
    }

    /// A LINKTYPE_RAW file is sent on the tun device: the interface's link type
    /// (DLT_RAW live) and the file's (LINKTYPE_RAW) are the same `LinkType`, so
    /// `inject` accepts it, and the tun descriptor reads the packets back.
    func testARawIPFileIsInjectedOnATun() throws {
        let (namespace, tun) = try makeNamespaceWithTun()
        defer { close(tun); _ = try? runProcess(["/usr/sbin/ip", "netns", "del", namespace]) }
        XCTAssertEqual(fcntl(tun, F_SETFL, fcntl(tun, F_GETFL) | O_NONBLOCK), 0)
        // Two IPv4/UDP packets 10.253.0.1 → 10.253.0.2 carrying a marker (checksums are not checked on this path).
        func ipv4UDP(_ marker: String) -> [UInt8] {
            let payload = Array(marker.utf8)
            let total = 20 + 8 + payload.count
            var p: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0, 1, 0x40, 0, 64, 17, 0, 0,
                              10, 253, 0, 1, 10, 253, 0, 2]
            p += [0x9C, 0x40, 0x15, 0xB3, UInt8((8 + payload.count) >> 8), UInt8((8 + payload.count) & 0xFF), 0, 0]
            return p + payload
        }
        let sent = [ipv4UDP("scB-raw-one"), ipv4UDP("scB-raw-two")]
        let dir = try makeTemporaryDirectory("scB-rawinject")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/raw.pcap"
        let writer = try CaptureFileWriter(path: file, format: .pcap)
        for bytes in sent {
            try writer.write(Packet(timestamp: Timestamp(seconds: 1_700_000_000, nanoseconds: 0), wireLength: bytes.count,
                                    bytes: ArraySlice(bytes), linkType: .raw))
        }
        try writer.close()

        let r = try runProcess(NetworkNamespacePair.exec(namespace, [
            try BuiltProducts.cli(), "inject", "--helper", try BuiltProducts.helper(), "-i", device, "--topspeed", file]), timeout: 30)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("link-type"), "no link-type refusal: \(r.stderr)")

        // The kernel may queue packets of its own (IPv6) to the device too: look for ours among them, bounded.
        var received: [[UInt8]] = []
        let deadline = Date().addingTimeInterval(5)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !sent.allSatisfy({ received.contains($0) }) && Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { read(tun, $0.baseAddress, $0.count) }
            if n > 0 { received.append(Array(buffer[0 ..< n])) } else { usleep(10_000) }
        }
        for bytes in sent {
            XCTAssertTrue(received.contains(bytes), "not read back from the tun: \(received.map(\.count))")
        }
    }
}
