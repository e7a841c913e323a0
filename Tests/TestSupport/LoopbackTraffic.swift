import Foundation
import Glibc

/// Bounded UDP traffic to 127.0.0.1 (or another loopback address).
public enum LoopbackTraffic {
    /// Sends `count` datagrams of `payload` to `address:port`, pausing
    /// `interval` seconds between them. Bounded: at most `count` packets and
    /// `maxSeconds` seconds.
    @discardableResult
    public static func sendUDP(port: UInt16, payload: [UInt8], count: Int, interval: Double = 0,
                               address: String = "127.0.0.1", maxSeconds: Double = 30) throws -> Int {
        guard address.hasPrefix("127.") else { throw TestSupportError("LoopbackTraffic only sends to 127.0.0.0/8, not \(address)") }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &sin.sin_addr)
        let start = Date()
        var sent = 0
        for _ in 0 ..< count {
            if Date().timeIntervalSince(start) > maxSeconds { break }
            let n = payload.withUnsafeBytes { buf in
                withUnsafePointer(to: &sin) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, buf.baseAddress, buf.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            if n == payload.count { sent += 1 }
            if interval > 0 { usleep(UInt32(interval * 1_000_000)) }
        }
        return sent
    }

    /// A payload starting with `marker` (ASCII) padded to `size` bytes.
    public static func payload(_ marker: String, size: Int = 64) -> [UInt8] {
        var p = Array(marker.utf8)
        if p.count < size { p += [UInt8](repeating: 0x2E, count: size - p.count) }
        return p
    }

    /// A free UDP (or, with `tcp`, TCP) port number on 127.0.0.1 (bound and released).
    public static func freePort(tcp: Bool = false) -> UInt16 {
        let fd = socket(AF_INET, Int32((tcp ? SOCK_STREAM : SOCK_DGRAM).rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: sin.sin_port)
    }
}

/// Whether `haystack` contains the bytes of `needle`.
public func contains<C: Collection<UInt8>>(_ haystack: C, _ needle: [UInt8]) -> Bool {
    let h = Array(haystack)
    guard needle.count <= h.count, !needle.isEmpty else { return needle.isEmpty }
    for i in 0 ... (h.count - needle.count) where h[i] == needle[0] {
        if Array(h[i ..< i + needle.count]) == needle { return true }
    }
    return false
}
