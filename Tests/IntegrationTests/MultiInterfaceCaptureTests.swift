import Foundation
import Glibc
import PacketCapture
import Synchronization
import TestSupport
import XCTest

/// Several interfaces at once: `MultiInterfaceCapture` and `capture -i A -i B` (issue 9).
final class MultiInterfaceCaptureTests: XCTestCase {
    private static func sequence(_ p: Packet) -> Int {
        p.bytes.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    /// Two fake helpers flooding at once: every packet comes out once, tagged
    /// with its capture, each capture's packets in their order, and the merged
    /// stream in timestamp order.
    func testMergeIsInTimestampOrderAndLosesNothing() async throws {
        let total = 20_000
        // Opened at the same time, so that the two floods overlap in time. The
        // scripts are written first: a script still open for writing in one
        // task while another spawns cannot be executed (ETXTBSY).
        let helpers = [try FakeHelper.make("flood", ["count": total]), try FakeHelper.make("flood", ["count": total])]
        async let first = LiveCapture.open(interface: "fake0", options: CaptureOptions(helperPath: helpers[0]))
        async let second = LiveCapture.open(interface: "fake1", options: CaptureOptions(helperPath: helpers[1]))
        let captures = try await [first, second]
        // The fake helpers stamp packets with the real clock as they build them:
        // on a loaded machine one may be descheduled for longer than the default
        // 150 ms lookahead, and the merge may then hand out the other's later
        // packets first, by design. A 3 s lookahead and no pendingLimit cut-off
        // make the order depend on nothing but the merger (the last packets of
        // the flood that ends later wait out the lookahead).
        let merged = try MultiInterfaceCapture(captures: captures, lookahead: .seconds(3), pendingLimit: 2 * total + 1)
        var next = [0, 0]
        var last = Int64.min
        var outOfOrder = 0
        var switches = 0
        var lastInterface = -1
        for try await packet in merged.packets {
            XCTAssertEqual(Self.sequence(packet), next[packet.interfaceIndex], "interface \(packet.interfaceIndex)")
            next[packet.interfaceIndex] += 1
            if packet.interfaceIndex != lastInterface { switches += 1 }
            lastInterface = packet.interfaceIndex
            let ts = try XCTUnwrap(packet.timestamp).totalNanoseconds
            if ts < last { outOfOrder += 1 }
            last = max(last, ts)
            if next == [total, total] { break }
        }
        XCTAssertEqual(next, [total, total])
        XCTAssertEqual(outOfOrder, 0, "packets out of timestamp order")
        print("merged \(2 * total) packets; interface switches: \(switches)")
        XCTAssertGreaterThan(switches, 10, "the two floods did not overlap in time, so the order proves little")
        let stats = try await merged.statistics()
        XCTAssertEqual(stats.map(\.sentByHelper), [UInt64(total), UInt64(total)])
        await merged.close()
        for try await _ in merged.packets { XCTFail("iteration continues after close()") }
    }

    /// Memory stays bounded: with one interface flooding and the other quiet,
    /// packets beyond `pendingLimit` are handed out without waiting for the
    /// (here very long) lookahead, and none is lost or reordered.
    func testPendingLimitBoundsWhatIsHeldBack() async throws {
        let total = 5_000
        let flood = try await LiveCapture.open(interface: "fake0", options: CaptureOptions(helperPath: try FakeHelper.make("flood", ["count": total])))
        let quiet = try await LiveCapture.open(interface: "fake1", options: CaptureOptions(helperPath: try FakeHelper.make("normal")))
        let merged = try MultiInterfaceCapture(captures: [flood, quiet], lookahead: .seconds(60), pendingLimit: 100)
        let start = Date()
        var next = 0
        for try await packet in merged.packets {
            XCTAssertEqual(Self.sequence(packet), next)
            next += 1
            if next == total - 100 { break }   // the last 100 may wait for the lookahead: that is the bound
        }
        XCTAssertEqual(next, total - 100)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "packets waited for the lookahead instead of the pending limit")
        await merged.close()
    }

    /// One capture failing: the packets held are handed out, then its error is thrown.
    func testAFailingCaptureEndsTheStreamWithItsError() async throws {
        let failing = try await LiveCapture.open(interface: "fake0", options: CaptureOptions(helperPath: try FakeHelper.make("fatal", ["count": 5])))
        let quiet = try await LiveCapture.open(interface: "fake1", options: CaptureOptions(helperPath: try FakeHelper.make("normal")))
        let merged = try MultiInterfaceCapture(captures: [failing, quiet], lookahead: .seconds(5))
        var received = 0
        do {
            for try await packet in merged.packets {
                XCTAssertEqual(packet.interfaceIndex, 0)
                received += 1
            }
            XCTFail("the stream ended without the capture's error")
        } catch {
            XCTAssertTrue(error.message.contains("the interface went down"), error.message)
        }
        XCTAssertEqual(received, 5, "the packets before the failure are handed out, without waiting for the lookahead")
        await merged.close()
    }

    /// Bad arguments are refused before anything runs, in the API's words.
    func testBadArguments() async throws {
        await _ = expectCaptureError(.invalidArgument, advice: ["at least one capture"]) { try MultiInterfaceCapture(captures: []) }
        await _ = expectCaptureError(.invalidArgument, advice: ["at least one interface"]) { try await MultiInterfaceCapture.open(interfaces: []) }
        let capture = try await LiveCapture.open(interface: "fake0", options: CaptureOptions(helperPath: try FakeHelper.make("normal")))
        await _ = expectCaptureError(.invalidArgument, advice: ["negative", "defaultLookahead(for:)"]) {
            try MultiInterfaceCapture(captures: [capture], lookahead: .milliseconds(-1))
        }
        await _ = expectCaptureError(.invalidArgument, advice: ["pendingLimit 0"]) { try MultiInterfaceCapture(captures: [capture], pendingLimit: 0) }
        await capture.close()
        // One interface that cannot be opened: the ones already open are closed again.
        let threads = ioThreadCount()
        await _ = expectCaptureError(.interfaceNotFound, advice: ["nosuchdev"]) {
            try await MultiInterfaceCapture.open(interfaces: ["fake0", "nosuchdev"], options: CaptureOptions(helperPath: try FakeHelper.make("normal")))
        }
        XCTAssertNotNil(waitUntil(timeout: 5) { ioThreadCount() <= threads }, "the first capture's I/O thread is still there")
    }

    /// The issue's test: two veth pairs captured with two -i. The pcapng has
    /// two IDBs, tshark reads each packet on the right interface, packets are
    /// in timestamp order, and the counts equal what was sent on each link;
    /// statistics are printed per interface.
    func testTwoInterfacesIntoOnePcapng() throws {
        let veths = try VethLinks(links: 2)
        defer { veths.cleanup() }
        let dir = try makeTemporaryDirectory("sc9-multi")
        let path = dir + "/two.pcapng"
        let names = veths.links.map(\.local)
        let cli = try startSwiftcapCapture(["-i", names[0], "-i", names[1], "-w", path, "icmp"],
                                           namespace: veths.captureNamespace, interfaces: 2)
        // Both links at once, so that their packets interleave in time.
        let pingErrors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { link in
            do { try veths.ping(link: link, count: link == 0 ? 6 : 8, interval: 0.01) } catch {
                pingErrors.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(pingErrors.withLock { $0 }, [])
        usleep(400_000)
        cli.send(SIGINT)
        let r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)

        let fields = try toolLines(["/usr/bin/tshark", "-r", path, "-T", "fields", "-E", "separator=,",
                                    "-e", "frame.interface_id", "-e", "frame.interface_name", "-e", "frame.time_epoch", "-e", "ip.dst"])
        let rows = fields.map { $0.split(separator: ",").map(String.init) }
        let perInterface = Dictionary(grouping: rows, by: { $0[1] }).mapValues(\.count)
        XCTAssertEqual(perInterface[names[0]], 12, "link 0: 6 echo requests and 6 replies; \(fields)")
        XCTAssertEqual(perInterface[names[1]], 16, "link 1: 8 echo requests and 8 replies; \(fields)")
        for row in rows {
            let link = row[0] == "0" ? 0 : 1
            XCTAssertEqual(row[1], names[link], "interface id \(row[0]) names the wrong interface")
            XCTAssertTrue([veths.links[link].localAddress, veths.links[link].peerAddress].contains(row[3]), "\(row) is not on \(names[link])")
        }
        let times = rows.compactMap { Decimal(string: $0[2]) }
        XCTAssertEqual(times, times.sorted(), "packets are not in timestamp order")
        let capinfos = try runChecked(["/usr/bin/capinfos", "-I", path]).stdout
        XCTAssertEqual(capinfos.components(separatedBy: "Interface #").count - 1, 2, capinfos)

        // Statistics per interface, from each helper.
        XCTAssertTrue(r.stderr.contains("28 packets captured\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("12 packets captured on \(names[0])\n"), r.stderr)
        XCTAssertTrue(r.stderr.contains("16 packets captured on \(names[1])\n"), r.stderr)
        for name in names {
            XCTAssertTrue(r.stderr.contains("packets received by filter on \(name)\n"), r.stderr)
            XCTAssertTrue(r.stderr.contains("0 packets dropped by kernel on \(name)\n"), r.stderr)
        }
    }

    /// --json names each packet's interface by index and name; classic pcap
    /// takes several interfaces of one link type.
    func testJSONAndPcapWithTwoInterfaces() throws {
        let veths = try VethLinks(links: 2)
        defer { veths.cleanup() }
        let names = veths.links.map(\.local)
        let cli = try startSwiftcapCapture(["-i", names[0], "-i", names[1], "--json", "-c", "4", "icmp"],
                                           namespace: veths.captureNamespace, interfaces: 2)
        try veths.ping(link: 0, count: 1)
        try veths.ping(link: 1, count: 1)
        let r = cli.wait(timeout: 10)
        XCTAssertEqual(r.status, 0, r.stderr)
        let objects = r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(objects.map { $0["interface"] as? Int }, [0, 0, 1, 1])
        XCTAssertEqual(objects.map { $0["ifname"] as? String }, [names[0], names[0], names[1], names[1]])
        XCTAssertEqual(Set(objects.compactMap { $0["linktype_name"] as? String }), ["EN10MB"])

        let path = try makeTemporaryDirectory("sc9-multi-pcap") + "/two.pcap"
        let pcap = try startSwiftcapCapture(["-i", names[0], "-i", names[1], "-w", path, "--format", "pcap", "-c", "4", "icmp"],
                                            namespace: veths.captureNamespace, interfaces: 2)
        try veths.ping(link: 0, count: 1)
        try veths.ping(link: 1, count: 1)
        XCTAssertEqual(pcap.wait(timeout: 10).status, 0)
        XCTAssertEqual(try toolLines(["/usr/bin/tcpdump", "-n", "-r", path]).count, 4)
    }

    /// Several link types into classic pcap: one clear error that says to use pcapng.
    func testPcapWithSeveralLinkTypesIsRefused() throws {
        try requireRoot()
        let path = try makeTemporaryDirectory("sc9-multi-linktypes") + "/mixed.pcap"
        let r = try runProcess([try BuiltProducts.cli(), "capture", "--helper", try BuiltProducts.helper(),
                                "-i", "lo", "-i", "any", "-w", path, "--format", "pcap", "-c", "1"], timeout: 15)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("a pcap file holds one; write pcapng (drop --format pcap)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("lo: EN10MB (Ethernet)"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing is written")
    }
}
