// Shared helpers for swiftcap's tests: where the built binaries are, root and
// user management, network namespaces, processes, /proc, loopback traffic and
// a scripted fake helper. Tests that need something they cannot have fail with
// a message saying why; nothing here skips.
import Foundation
import Glibc

/// A precondition of a test that does not hold, or a helper step that failed.
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` every millisecond until it holds or `timeout` seconds pass.
/// - Returns: the seconds it took, or nil on timeout.
public func waitUntil(timeout: Double, _ condition: () -> Bool) -> Double? {
    let start = Date()
    while true {
        if condition() { return Date().timeIntervalSince(start) }
        if Date().timeIntervalSince(start) > timeout { return nil }
        usleep(1_000)
    }
}
