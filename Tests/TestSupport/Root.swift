import Foundation
import Glibc

/// Fails (never skips) when not running as root.
public func requireRoot(_ why: String = "it creates network namespaces, users and setcap'd files") throws {
    guard geteuid() == 0 else {
        throw TestSupportError("this test must run as root because \(why); run the tests as root (sudo swift test) — the test fails instead of skipping so that nothing goes unnoticed")
    }
}
