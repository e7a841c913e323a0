import Foundation
import Glibc

public enum BuiltProducts {
    /// The directory of the running test executable: `.build/<triple>/debug/`
    /// (swift test runs `<dir>/swiftcapPackageTests.xctest`, whose /proc/self/exe is in it).
    public static var directory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    /// `swiftcap-helper` next to the test executable.
    public static func helper() throws -> String { try product("swiftcap-helper") }
    /// The `swiftcap` CLI next to the test executable.
    public static func cli() throws -> String { try product("swiftcap") }

    static func product(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("\(name) is not built at \(path); build the whole package first (swift build --build-tests, or run the tests with swift test, which builds it)")
        }
        return path
    }
}
