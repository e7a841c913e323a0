import Foundation
import Glibc
@testable import PacketCapture
import XCTest

/// `CaptureError` and `CaptureFileError` carry the same cause for
/// `.systemCallFailed`: a `SystemCallError` naming the failed call and its
/// errno, and their messages are built from it the same way. The filter length
/// limit has one default, `CaptureOptions.defaultFilterLengthLimit`.
///
/// Bad inputs tried here, and the error:
///
/// | input | result |
/// |---|---|
/// | `CaptureFile(path:)` of a missing file | `.systemCallFailed`, cause open/ENOENT |
/// | `CaptureFile(path:)` of a directory | `.systemCallFailed`, cause read/EISDIR |
/// | `CaptureFileWriter(path:)` in a missing directory | `.systemCallFailed`, cause open/ENOENT, "check that the directory exists" |
/// | `CaptureFileWriter` on /dev/full | `.systemCallFailed` at `close()`, cause write/ENOSPC, "the disk is full" |
/// | `FilterCompiler.compile` / `LiveCapture.open` with a filter one byte over the default limit | `.filterTooLong` naming 8192, before any helper runs |
final class SystemCallCauseTests: XCTestCase {
    func testFileErrorsNameTheFailedCallAndItsErrno() throws {
        let cases: [(make: () throws(CaptureFileError) -> Void, cause: SystemCallError, says: String)] = [
            ({ () throws(CaptureFileError) in _ = try CaptureFile(path: "/nonexistent-scB/file.pcap") },
             SystemCallError(systemCall: "open", errno: ENOENT), "No such file or directory"),
            ({ () throws(CaptureFileError) in _ = try CaptureFile(path: NSTemporaryDirectory()) },
             SystemCallError(systemCall: "read", errno: EISDIR), "this is a directory"),
            ({ () throws(CaptureFileError) in _ = try CaptureFileWriter(path: "/nonexistent-scB/out.pcap", format: .pcap) },
             SystemCallError(systemCall: "open", errno: ENOENT), "check that the directory exists"),
            ({ () throws(CaptureFileError) in
                let writer = try CaptureFileWriter(path: "/dev/full", format: .pcap)
                try writer.write(Packet(timestamp: nil, wireLength: 60, bytes: ArraySlice(payload(60)), linkType: .ethernet))
                try writer.close()
            }, SystemCallError(systemCall: "write", errno: ENOSPC), "the disk is full"),
        ]
        for c in cases {
            do {
                try c.make()
                XCTFail("\(c.cause) did not happen")
            } catch {
                XCTAssertEqual(error.code, .systemCallFailed, error.message)
                XCTAssertEqual(error.systemCall, c.cause, error.message)
                XCTAssertEqual(error.errno, c.cause.errno)
                XCTAssertTrue(error.message.contains(c.says), error.message)
                if c.says != "this is a directory" {
                    XCTAssertTrue(error.message.hasPrefix(c.cause.description), error.message)
                }
            }
        }
    }

    func testLiveAndFileErrorsBuildTheSameMessageFromTheSameCause() {
        let cause = SystemCallError(systemCall: "pipe2", errno: EMFILE)
        XCTAssertEqual(cause.description, "pipe2 failed: Too many open files (errno \(EMFILE))")
        let live = systemCallError("pipe2", Errno(rawValue: EMFILE), "close some descriptors")
        let file = CaptureFileError.systemCall("pipe2", errno: EMFILE, path: nil, hint: "close some descriptors")
        XCTAssertEqual(live.code, .systemCallFailed)
        XCTAssertEqual(live.systemCall, cause)
        XCTAssertEqual(file.systemCall, cause)
        XCTAssertEqual(live.message, file.message)
        XCTAssertEqual(live.message, "pipe2 failed: Too many open files (errno \(EMFILE)); close some descriptors")
        XCTAssertNil(CaptureError(.invalidArgument, "not a system call").systemCall)
    }

    func testOneDefaultFilterLengthLimitForCapturesAndFiles() async throws {
        XCTAssertEqual(CaptureOptions().filterLengthLimit, CaptureOptions.defaultFilterLengthLimit)
        let limit = CaptureOptions.defaultFilterLengthLimit
        let over = String(repeating: " ", count: limit - 3) + "tcp " // limit + 1 bytes
        XCTAssertEqual(over.utf8.count, limit + 1)
        do {
            _ = try await FilterCompiler.compile(over, linkTypes: [.ethernet], helperPath: "/nonexistent-scB/helper")
            XCTFail("a filter over the default limit compiled")
        } catch {
            XCTAssertEqual(error.code, .filterTooLong, error.message)
            XCTAssertTrue(error.message.contains("over the limit of \(limit)"), error.message)
        }
        do {
            var options = CaptureOptions(filter: over)
            options.helperPath = "/nonexistent-scB/helper"
            _ = try await LiveCapture.open(interface: "lo", options: options)
            XCTFail("a capture with a filter over the default limit opened")
        } catch {
            XCTAssertEqual(error.code, .filterTooLong, error.message)
            XCTAssertTrue(error.message.contains("over the limit of \(limit)"), error.message)
        }
        // At the limit, the length passes: what fails next is the missing helper.
        do {
            _ = try await FilterCompiler.compile(String(over.dropFirst()), linkTypes: [.ethernet],
                                                 helperPath: "/nonexistent-scB/helper")
            XCTFail("compiled without a helper")
        } catch {
            XCTAssertEqual(error.code, .helperNotFound, error.message)
        }
    }
}
