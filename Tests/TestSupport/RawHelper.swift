import Foundation
import Glibc
import SwiftcapWire

/// Drives a helper with raw protocol frames, bypassing the client library and
/// its checks: for tests of what the helper itself refuses.
public enum RawHelper {
    public struct Outcome: Sendable {
        /// Every frame the helper wrote, decoded, in order.
        package var frames: [WireMessage]
        public var process: ProcessResult

        /// The first `error` frame, if any.
        package var error: WireError? {
            for case .error(let e) in frames { return e }
            return nil
        }
    }

    /// Runs `helper` (as `user`, with `environment`) with `requests` written to
    /// its stdin, then EOF; returns the frames it wrote before exiting.
    package static func run(_ helper: String, _ requests: [WireMessage], arguments: [String] = [], as user: String? = nil,
                           environment: [String: String] = [:], readStderr: Bool = true, timeout: Double = 30) throws -> Outcome {
        var bytes: [UInt8] = []
        for r in requests { r.encode(into: &bytes) }
        let dir = try makeTemporaryDirectory("swiftcap-raw")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/requests"
        try Data(bytes).write(to: URL(fileURLWithPath: input))
        chmod(input, 0o644)
        let child = try ChildProcess([helper] + arguments, as: user, environment: environment,
                                     stdinPath: input, readStderr: readStderr)
        let result = child.wait(timeout: timeout)
        return Outcome(frames: try decodeAll(Array(result.stdoutData)), process: result)
    }

    /// Decodes a stream of frames; a partial frame at the end is an error.
    package static func decodeAll(_ bytes: [UInt8]) throws -> [WireMessage] {
        var frames: [WireMessage] = []
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let (message, used) = try WireMessage.decodeFrame(Array(rest)) else {
                throw TestSupportError("the helper's output ends in a partial frame (\(rest.count) bytes)")
            }
            frames.append(message)
            rest = rest.dropFirst(used)
        }
        return frames
    }
}
