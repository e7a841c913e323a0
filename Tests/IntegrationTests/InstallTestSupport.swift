import Foundation
import Glibc
import TestSupport
import XCTest

/// A group and two users for the install tests: `member` is in the group,
/// `outsider` is not. Names start with sc7 and carry the test process id; the
/// accounts are deleted by `remove()`.
struct InstallAccounts {
    let group: String
    let member: String
    let outsider: String

    init() throws {
        try requireRoot("it creates a group and users")
        let id = getpid() % 100_000
        group = "sc7g\(id)"
        member = "sc7in\(id)"
        outsider = "sc7out\(id)"
        remove()
        try runChecked(["/usr/sbin/groupadd", "--system", group])
        try runChecked(["/usr/sbin/useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "-G", group, member])
        try runChecked(["/usr/sbin/useradd", "-r", "-M", "-s", "/usr/sbin/nologin", outsider])
    }

    func remove() {
        for user in [member, outsider] where getpwnam(user) != nil { _ = try? runProcess(["/usr/sbin/userdel", user]) }
        if getgrnam(group) != nil { _ = try? runProcess(["/usr/sbin/groupdel", group]) }
    }
}

/// A tmpfs mounted for one test (mount -t tmpfs), unmounted by `unmount()`.
struct TemporaryMount {
    let path: String

    init(options: String) throws {
        path = try makeTemporaryDirectory("sc7-mount")
        try runChecked(["/usr/bin/mount", "-t", "tmpfs", "-o", "\(options),size=64m,mode=0755", "sc7-tmpfs", path])
    }

    func remount(options: String) throws {
        try runChecked(["/usr/bin/mount", "-o", "remount,\(options)", path])
    }

    func unmount() {
        _ = try? runProcess(["/usr/bin/umount", path])
        rmdir(path)
    }
}

/// What stat(2) says about a file, for the checks that compare with ls/getcap.
struct FileFacts: Equatable {
    var mode: UInt32, uid: uid_t, gid: gid_t, inode: UInt, modified: Int

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        mode = UInt32(st.st_mode) & 0o7777
        uid = st.st_uid
        gid = st.st_gid
        inode = st.st_ino
        modified = st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec
    }
}

enum Install {
    /// `swiftcap install-helper ARGS`, as root unless `user` is given.
    static func run(_ arguments: [String], as user: String? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
        try runProcess([try BuiltProducts.cli()] + arguments, as: user, environment: environment, timeout: 60)
    }

    /// PREFIX/libexec/swiftcap/swiftcap-helper
    static func helperPath(_ prefix: String) -> String { prefix + "/libexec/swiftcap/swiftcap-helper" }

    /// getcap(8)'s verdict on `path`: "cap_net_raw=ep", or "" when it has none.
    static func getcap(_ path: String) throws -> String {
        let r = try runChecked(["/usr/sbin/getcap", path])
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: path, with: "").trimmingCharacters(in: .whitespaces)
    }

    /// The swiftcap CLI copied to PREFIX/bin, so that it finds PREFIX's helper
    /// by the search order and nothing installed on the machine.
    static func cliUnder(_ prefix: String) throws -> String {
        let bin = prefix + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        chmod(bin, 0o755)
        let cli = bin + "/swiftcap"
        if !FileManager.default.fileExists(atPath: cli) {
            try FileManager.default.copyItem(atPath: try BuiltProducts.cli(), toPath: cli)
            chmod(cli, 0o755)
        }
        return cli
    }

    /// Environment that keeps installed helpers (/usr/local, /usr) out of the search.
    static func isolated(_ prefix: String) -> [String: String] {
        ["SWIFTCAP_HELPER": "", "SWIFTCAP_HELPER_PREFIXES": prefix + "/no-such-prefix"]
    }

    /// `swiftcap capture` on lo for at most a second, as `user`, with the CLI under `prefix`.
    static func captureOnLoopback(prefix: String, as user: String) throws -> ProcessResult {
        try runProcess([try cliUnder(prefix), "capture", "-i", "lo", "-c", "1", "--duration", "1", "--count"],
                       as: user, environment: isolated(prefix), timeout: 20)
    }
}
