import Foundation
import Glibc

public enum UnprivilegedUser {
    /// Creates the system user `name` (useradd -r -M) unless it exists.
    @discardableResult
    public static func ensure(_ name: String = "swiftcap-test") throws -> (uid: uid_t, gid: gid_t) {
        if let pw = getpwnam(name) { return (pw.pointee.pw_uid, pw.pointee.pw_gid) }
        try requireRoot("it creates the user \(name)")
        try runChecked(["/usr/sbin/useradd", "-r", "-M", "-s", "/usr/sbin/nologin", name])
        guard let pw = getpwnam(name) else { throw TestSupportError("useradd \(name) succeeded but getpwnam does not find it") }
        return (pw.pointee.pw_uid, pw.pointee.pw_gid)
    }
}

/// The directory under which this test process keeps its temporary files:
/// `/tmp/swiftcap-test.PID` (mode 0755, so that an unprivileged test user can
/// reach files in it), removed when the process exits.
public enum TemporaryFiles {
    nonisolated(unsafe) private static var made = false
    private static let lock = NSLock()

    public static var root: String {
        let path = "/tmp/swiftcap-test.\(getpid())"
        lock.lock()
        defer { lock.unlock() }
        if !made {
            mkdir(path, 0o755)
            chmod(path, 0o755)
            atexit {
                try? FileManager.default.removeItem(atPath: "/tmp/swiftcap-test.\(getpid())")
            }
            made = true
        }
        return path
    }
}

/// A fresh 0755 directory under `TemporaryFiles.root`.
public func makeTemporaryDirectory(_ prefix: String = "swiftcap-test") throws -> String {
    var template = Array("\(TemporaryFiles.root)/\(prefix).XXXXXX".utf8CString)
    guard let p = mkdtemp(&template) else { throw TestSupportError("mkdtemp failed: \(String(cString: strerror(errno)))") }
    let dir = String(cString: p)
    chmod(dir, 0o755)
    return dir
}

/// Copies `path` into a fresh 0755 temp directory as a 0755 file. With
/// `capabilities` (e.g. "cap_net_raw=ep") the copy gets them with setcap.
public func makeCopy(of path: String, capabilities: String? = nil) throws -> String {
    let dir = try makeTemporaryDirectory("swiftcap-helper")
    let dest = dir + "/" + (path as NSString).lastPathComponent
    try FileManager.default.copyItem(atPath: path, toPath: dest)
    chmod(dest, 0o755)
    if let capabilities {
        try runChecked(["/usr/sbin/setcap", capabilities, dest])
    }
    return dest
}

/// A copy of the helper with `setcap cap_net_raw=ep`.
public func makeSetcapCopy(of path: String) throws -> String {
    try makeCopy(of: path, capabilities: "cap_net_raw=ep")
}

/// Writes an executable script (mode 0755) into a fresh temp directory.
public func makeScript(_ name: String, _ text: String) throws -> String {
    let dir = try makeTemporaryDirectory("swiftcap-script")
    let path = dir + "/" + name
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    chmod(path, 0o755)
    return path
}

/// Removes a file made by `makeCopy`/`makeScript` and its directory.
public func removeTemporary(_ path: String) {
    let dir = (path as NSString).deletingLastPathComponent
    guard dir.hasPrefix(TemporaryFiles.root + "/") else { return }
    try? FileManager.default.removeItem(atPath: dir)
}
