import Foundation
import TestSupport
import XCTest

/// The views' lifetime rule is the compiler's: code that keeps a DecodedPacket
/// or a header view beyond the bytes it was made from does not compile. Checked
/// by compiling small programs against PacketDecoding's sources with swiftc.
final class LifetimeRuleTests: XCTestCase {
    func typecheck(_ program: String) throws -> ProcessResult {
        let root = CaptureCorpus.packageRoot.path
        let dir = try makeTemporaryDirectory("sc8-lifetime")
        let file = "\(dir)/program.swift"
        try program.write(toFile: file, atomically: true, encoding: .utf8)
        let sources = try FileManager.default.contentsOfDirectory(atPath: "\(root)/Sources/PacketDecoding")
            .filter { $0.hasSuffix(".swift") }.map { "\(root)/Sources/PacketDecoding/\($0)" }
        let swiftc = ProcessInfo.processInfo.environment["SWIFTC"] ?? "/opt/swift/usr/bin/swiftc"
        // -emit-sil: lifetime dependence is checked by SIL passes, after type checking.
        return try runProcess([swiftc, "-emit-sil", "-wmo", "-o", "/dev/null", "-parse-as-library", "-module-name", "PacketDecoding",
                               "-enable-experimental-feature", "Lifetimes"] + sources + [file], timeout: 120)
    }

    func testViewsCannotOutliveTheirBytes() throws {
        let valid = try typecheck("""
            func firstPort(_ frame: [UInt8]) -> UInt16? {
                let packet = DecodedPacket(bytes: frame.span.bytes, linkType: 1)
                return packet.udp?.sourcePort
            }
            """)
        XCTAssertEqual(valid.status, 0, "the control program should compile: \(valid.stderr)")

        let escapes: [(String, String)] = [
            ("a decoded packet returned past its array", """
            func keep() -> DecodedPacket {
                let frame: [UInt8] = [1, 2, 3]
                return DecodedPacket(bytes: frame.span.bytes, linkType: 1)
            }
            """),
            ("a header view stored in a global", """
            nonisolated(unsafe) var kept: [Any] = []
            func keep(_ frame: [UInt8]) {
                let packet = DecodedPacket(bytes: frame.span.bytes, linkType: 1)
                if let ip = packet.ipv4 { kept.append(ip) }
            }
            """),
            ("a view escaping withDecoded's closure", """
            func keep(_ raw: UnsafeRawBufferPointer) {
                var saved: IPv4Header?
                DecodedPacket.withDecoded(unsafeBytes: raw, linkType: 1) { p in saved = p.ipv4 }
                _ = saved
            }
            """),
        ]
        for (name, program) in escapes {
            let r = try typecheck(program)
            XCTAssertNotEqual(r.status, 0, "\(name) compiled, so the lifetime rule is not enforced")
            XCTAssertTrue(r.stderr.contains("error:") && (r.stderr.contains("escapes") || r.stderr.contains("lifetime") || r.stderr.contains("depend")),
                          "\(name): \(r.stderr)")
        }
    }
}
