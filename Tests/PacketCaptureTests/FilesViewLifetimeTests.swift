import Foundation
import Glibc
import PacketCapture
import TestSupport
import XCTest

#if DEBUG
/// A `PacketView` kept past its bytes' lifetime is caught in debug builds
/// (issue 11, "Views whose lifetime the compiler checks": Swift 6.3 cannot yet
/// make a view of a class-owned mapping non-escapable here, so the invariant is
/// stated at each unsafe site and checked in debug builds).
///
/// A caught misuse stops the process, so each misuse runs in a child: this test
/// binary itself, running only `testMisuse` with `SWIFTCAP_SCC_MISUSE` set.
final class FilesViewLifetimeTests: XCTestCase {
    private static let misuseVariable = "SWIFTCAP_SCC_MISUSE"

    /// Three 200 000-byte packets: reading the second from a stream moves the
    /// buffer (it starts at 256 KiB), so the first packet's bytes are gone.
    private static let bigPackets: [UInt8] = {
        var bytes = Pcap.file(records: [])
        for i in 0 ..< 3 {
            var b = ByteBuilder()
            b.u32(UInt32(i)); b.u32(0); b.u32(200_000); b.u32(200_000)
            bytes += b.bytes + payload(200_000, seed: i)
        }
        return bytes
    }()

    /// The misuse named by `SWIFTCAP_SCC_MISUSE`, or (unset) the same steps used correctly.
    func testMisuse() throws {
        let misuse = ProcessInfo.processInfo.environment[Self.misuseVariable]
        switch misuse {
        case nil:
            var kept: [UInt8] = []
            let file = try CaptureFile(bytes: Self.bigPackets)
            var views = file.makePacketIterator()
            let first = try XCTUnwrap(views.next())
            _ = try views.next()
            kept = Array(first.bytes.prefix(4))   // a mapped file's views live as long as the file
            XCTAssertEqual(kept, Array(payload(4, seed: 0)))
        case "released":
            var kept: PacketView?
            do {
                let file = try CaptureFile(bytes: Self.bigPackets)
                try file.forEachPacket { if kept == nil { kept = $0 } }
            }
            print("reading a view of a released file")
            _ = kept!.bytes.count
            XCTFail("the view outlived its file unnoticed")
        case "stream":
            try withPipe(Self.bigPackets) { fd in
                let file = try CaptureFile(fileDescriptor: fd, path: "pipe")
                var views = file.makePacketIterator()
                let first = try XCTUnwrap(views.next())
                _ = try views.next()
                print("reading a stream view after the iterator moved on")
                _ = first.bytes.count
                XCTFail("the stream view outlived its bytes unnoticed")
            }
        default:
            XCTFail("unknown \(Self.misuseVariable)=\(misuse!)")
        }
    }

    func testMisusesAreCaughtInDebugBuilds() throws {
        let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let cases = [
            ("released", "PacketView used after its CaptureFile was released"),
            ("stream", "PacketView from a stream used after the walk read on"),
        ]
        for (misuse, message) in cases {
            let r = try runProcess([me, "PacketCaptureTests.FilesViewLifetimeTests/testMisuse"],
                                   environment: [Self.misuseVariable: misuse], timeout: 60)
            XCTAssertNotEqual(r.status, 0, "\(misuse): the child finished: \(r.stdout)")
            XCTAssertTrue(r.stderr.contains(message) || r.stdout.contains(message),
                          "\(misuse): no '\(message)' in: \(r.stderr.suffix(2000))")
        }
        // The same steps, used correctly, pass.
        let fine = try runProcess([me, "PacketCaptureTests.FilesViewLifetimeTests/testMisuse"], timeout: 60)
        XCTAssertEqual(fine.status, 0, fine.stdout + fine.stderr)
    }

    private func withPipe(_ bytes: [UInt8], _ body: (Int32) throws -> Void) throws {
        guard let readEnd = pipeFilled(with: bytes) else {
            throw TestSupportError("pipe: \(String(cString: strerror(errno)))")
        }
        defer { close(readEnd) }
        try body(readEnd)
    }
}
#endif
