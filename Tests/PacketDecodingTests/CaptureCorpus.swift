import Foundation
import Glibc
import PacketCapture
import PacketDecoding
import TestSupport
import XCTest

/// The capture files the decoder is compared on: the committed samples,
/// `../shared/corpus/` (libpcap's and pcapng-test-generator's test files) and
/// one capture made here by tcpdump on the loopback device (TCP, UDP, ICMP and
/// ICMPv6 traffic, whole and cut to 80 bytes by editcap).
enum CaptureCorpus {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var samples: [String] {
        let dir = packageRoot.appendingPathComponent("Tests/PacketCaptureTests/Samples").path
        return files(in: dir, recursive: false)
    }

    /// `../shared/corpus/`: every pcap/pcapng file in it (some are deliberately broken).
    static func sharedCorpus() throws -> [String] {
        let dir = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus").path
        guard FileManager.default.fileExists(atPath: dir) else {
            throw TestSupportError("the shared corpus is missing at \(dir) (../shared/corpus from the package root)")
        }
        return files(in: dir, recursive: true)
    }

    static func files(in dir: String, recursive: Bool) -> [String] {
        let names = recursive
            ? (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [])
            : ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
        return names.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted().map { "\(dir)/\($0)" }
    }

    nonisolated(unsafe) private static var generatedFiles: [String]?

    /// A loopback capture made by tcpdump while this process talks TCP, UDP and ICMP
    /// over 127.8.0.1 and ::1 (bounded: a few dozen packets, a few seconds), and
    /// the same file cut to 80 bytes a packet by editcap.
    static func generated() throws -> [String] {
        if let generatedFiles { return generatedFiles }
        try requireRoot("it captures on the loopback device with tcpdump")
        var failures: [String] = []
        // A capture can come back short on a busy machine: try again, then fail saying why.
        for _ in 0..<3 {
            let dir = try makeTemporaryDirectory("sc8-decoding")
            let file = "\(dir)/loopback.pcap"
            let stderr = try captureLoopbackTraffic(into: file)
            let packets = decodeAll(file).count
            guard packets >= 20 else {
                failures.append("\(packets) packets; tcpdump said: \(stderr)")
                continue
            }
            let cut = "\(dir)/loopback-snap80.pcap"
            try runChecked(["/usr/bin/editcap", "-F", "pcap", "-s", "80", file, cut])
            generatedFiles = [file, cut]
            return [file, cut]
        }
        throw TestSupportError("tcpdump -i lo captured too little of this test's traffic: \(failures.joined(separator: " / "))")
    }

    /// Runs tcpdump on lo while making the traffic; returns tcpdump's standard error.
    private static func captureLoopbackTraffic(into file: String) throws -> String {
        let tcpPort = LoopbackTraffic.freePort(), closedPort = LoopbackTraffic.freePort()
        let filter = "host 127.8.0.1 or (ip6 and (port \(tcpPort) or port \(closedPort) or icmp6))"
        // -Z root: tcpdump would otherwise write the file as its own user.
        let tcpdump = try ChildProcess(["/usr/bin/tcpdump", "-i", "lo", "-U", "-n", "-Z", "root", "-w", file, "-c", "200", filter])
        guard tcpdump.waitForStderr(timeout: 10, { $0.contains("listening on") }) else {
            tcpdump.send(SIGKILL)
            throw TestSupportError("tcpdump did not start listening: \(tcpdump.stderr)")
        }
        defer {
            tcpdump.send(SIGINT)
            _ = tcpdump.wait(timeout: 10)
        }
        try LoopbackTCP.exchange(address: "127.8.0.1", port: tcpPort, family: AF_INET)
        try LoopbackTCP.exchange(address: "::1", port: tcpPort, family: AF_INET6)
        try LoopbackTCP.sendUDP(address: "127.8.0.1", port: closedPort, family: AF_INET)
        try LoopbackTCP.sendUDP(address: "::1", port: closedPort, family: AF_INET6)
        _ = try runProcess(["/usr/bin/ping", "-c", "2", "-i", "0.2", "-W", "1", "127.8.0.1"], timeout: 10)
        _ = try runProcess(["/usr/bin/ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", "::1"], timeout: 10)
        usleep(300_000)
        tcpdump.send(SIGINT)
        let result = tcpdump.wait(timeout: 10)
        guard FileManager.default.fileExists(atPath: file) else {
            throw TestSupportError("tcpdump wrote no file: \(result.stderr)")
        }
        return result.stderr
    }

    /// Each packet of `path` decoded: its layers and wire length, in file order.
    static func decodeAll(_ path: String) -> [(layers: PacketLayers, wireLength: Int)] {
        var result: [(PacketLayers, Int)] = []
        guard let file = try? CaptureFile(path: path) else { return [] }
        try? file.forEachPacket { view in
            result.append((PacketLayers.decode(RawSpan(_unsafeBytes: view.bytes), linkType: view.linkType.rawValue), view.wireLength))
        }
        return result
    }
}

/// Bounded TCP and UDP exchanges on loopback addresses, made with plain sockets.
enum LoopbackTCP {
    /// Listens on `address:port`, connects to it, sends a request and an answer,
    /// closes both ends: a SYN, data both ways and FINs.
    static func exchange(address: String, port: UInt16, family: Int32) throws {
        let server = try socketBound(address: address, port: port, family: family, type: SOCK_STREAM)
        defer { close(server) }
        guard listen(server, 1) == 0 else { throw TestSupportError("listen: \(String(cString: strerror(errno)))") }
        let client = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        try withAddress(address, port: port, family: family) { sa, len in
            guard connect(client, sa, len) == 0 else { throw TestSupportError("connect: \(String(cString: strerror(errno)))") }
        }
        let accepted = accept(server, nil, nil)
        guard accepted >= 0 else { throw TestSupportError("accept: \(String(cString: strerror(errno)))") }
        let request = Array("GET / HTTP/1.0\r\n\r\n".utf8), answer = [UInt8](repeating: 0x41, count: 3000)
        _ = request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = buffer.withUnsafeMutableBytes { recv(accepted, $0.baseAddress, $0.count, 0) }
        _ = answer.withUnsafeBytes { send(accepted, $0.baseAddress, $0.count, 0) }
        var received = 0
        while received < answer.count {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += n
        }
        close(accepted)
        usleep(50_000)
    }

    /// Two datagrams to a port nobody listens on: the kernel answers with ICMP port unreachable.
    static func sendUDP(address: String, port: UInt16, family: Int32) throws {
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        let payload = [UInt8](repeating: 0x42, count: 20)
        for _ in 0..<2 {
            try withAddress(address, port: port, family: family) { sa, len in
                _ = payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) }
            }
            usleep(50_000)
        }
    }

    static func socketBound(address: String, port: UInt16, family: Int32, type: __socket_type) throws -> Int32 {
        let fd = socket(family, Int32(type.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        try withAddress(address, port: port, family: family) { sa, len in
            guard bind(fd, sa, len) == 0 else { throw TestSupportError("bind \(address):\(port): \(String(cString: strerror(errno)))") }
        }
        return fd
    }

    static func withAddress(_ address: String, port: UInt16, family: Int32,
                            _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Void) throws {
        if family == AF_INET {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            inet_pton(AF_INET, address, &sin.sin_addr)
            try withUnsafePointer(to: &sin) { p in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            inet_pton(AF_INET6, address, &sin6.sin6_addr)
            try withUnsafePointer(to: &sin6) { p in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}
