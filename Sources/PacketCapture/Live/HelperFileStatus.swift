import CPacketCaptureShims
import Glibc

/// What the file system says about a helper executable, without running it:
/// who may execute it, which file capabilities it carries, and whether the
/// kernel will honour them. `swiftcap doctor` and the locator's error messages
/// are built from it.
public struct HelperFileStatus: Sendable, Equatable {
    public var path: String
    /// stat(2) succeeded (following symlinks).
    public var exists: Bool
    /// Why stat(2) failed ("No such file or directory", "Permission denied"), when it did.
    public var statError: String?
    public var isRegularFile: Bool
    /// The permission bits (`st_mode & 0o7777`), e.g. 0o750.
    public var mode: UInt32
    public var ownerID: UInt32
    public var groupID: UInt32
    /// The owner's and group's names, or their numbers when they have none.
    public var ownerName: String
    public var groupName: String
    /// access(X_OK) for the calling process.
    public var executableByCurrentUser: Bool
    /// The file's group is the caller's effective or a supplementary group.
    public var currentUserIsInGroup: Bool
    /// The `security.capability` extended attribute, decoded; nil when the file has none.
    public var capabilities: FileCapabilities?
    /// The file system holding the file is mounted `nosuid`: the kernel ignores file capabilities there.
    public var onNosuidMount: Bool

    /// Reads the status of `path` (stat, access, getxattr, statvfs).
    public static func inspect(_ path: String) -> HelperFileStatus {
        var status = HelperFileStatus(path: path, exists: false, statError: nil, isRegularFile: false, mode: 0,
                                      ownerID: 0, groupID: 0, ownerName: "", groupName: "",
                                      executableByCurrentUser: false, currentUserIsInGroup: false,
                                      capabilities: nil, onNosuidMount: false)
        var st = stat()
        guard stat(path, &st) == 0 else {
            status.statError = String(cString: strerror(errno))
            return status
        }
        status.exists = true
        status.isRegularFile = (st.st_mode & S_IFMT) == S_IFREG
        status.mode = UInt32(st.st_mode) & 0o7777
        status.ownerID = st.st_uid
        status.groupID = st.st_gid
        status.ownerName = UserDatabase.userName(st.st_uid) ?? String(st.st_uid)
        status.groupName = UserDatabase.groupName(st.st_gid) ?? String(st.st_gid)
        status.executableByCurrentUser = access(path, X_OK) == 0
        status.currentUserIsInGroup = UserDatabase.currentGroupIDs().contains(st.st_gid)
        status.capabilities = FileCapabilities.read(path)
        var fs = statvfs()
        if statvfs(path, &fs) == 0 {
            status.onNosuidMount = fs.f_flag & UInt(ST_NOSUID) != 0
        }
        return status
    }

    /// "mode 0750, owner root, group pcap".
    public var permissionsDescription: String {
        "mode 0\(String(mode, radix: 8)), owner \(ownerName), group \(groupName)"
    }

    /// The capability a capture needs is in the permitted set and effective:
    /// what `setcap cap_net_raw=ep` writes.
    public var hasCaptureCapability: Bool {
        capabilities.map { $0.effective && $0.permitted.contains(FileCapabilities.netRaw) } ?? false
    }

    /// Why the caller may not execute the file, in words that say what to do;
    /// nil when it may.
    public var executionProblem: String? {
        guard exists else { return "does not exist (\(statError ?? "stat failed"))" }
        guard isRegularFile else { return "is not a regular file" }
        if executableByCurrentUser { return nil }
        let user = UserDatabase.userName(geteuid()) ?? "USER"
        let groupMayRun = mode & 0o010 != 0
        let othersMayRun = mode & 0o001 != 0
        if groupMayRun && !othersMayRun && !currentUserIsInGroup && ownerID != geteuid() {
            return "is not executable by you (\(permissionsDescription)): you are not in group \(groupName); ask an administrator to run `usermod -aG \(groupName) \(user)`, then log in again"
        }
        return "is not executable by you (\(permissionsDescription)); ask an administrator to reinstall it (sudo swiftcap install-helper) or to allow you to run it"
    }
}

/// The `security.capability` extended attribute of a file (struct vfs_cap_data,
/// little-endian, revision 2 or 3), as setcap(8) writes it and getcap(8) prints it.
public struct FileCapabilities: Sendable, Equatable, CustomStringConvertible {
    /// Capability numbers (linux/capability.h).
    public var permitted: Set<Int>
    public var inheritable: Set<Int>
    /// VFS_CAP_FLAGS_EFFECTIVE: the permitted set becomes effective at exec.
    public var effective: Bool

    public static let netAdmin = 12
    public static let netRaw = 13

    public init(permitted: Set<Int>, inheritable: Set<Int> = [], effective: Bool) {
        self.permitted = permitted
        self.inheritable = inheritable
        self.effective = effective
    }

    /// getxattr(2) of "security.capability"; nil when absent or unreadable.
    public static func read(_ path: String) -> FileCapabilities? {
        var raw = [UInt8](repeating: 0, count: 24)
        let n = swiftcap_file_capability_xattr(path, &raw, UInt(raw.count))
        guard n >= 20 else { return nil }
        return decode(Array(raw[0 ..< Int(n)]))
    }

    /// Decodes struct vfs_cap_data (revision 2, 20 bytes) or vfs_ns_cap_data (revision 3, 24 bytes).
    static func decode(_ raw: [UInt8]) -> FileCapabilities? {
        func u32(_ at: Int) -> UInt32 {
            UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24
        }
        let magic = u32(0)
        let revision = magic & 0xFF00_0000
        guard revision == 0x0200_0000 || revision == 0x0300_0000 else { return nil }
        func bits(_ low: UInt32, _ high: UInt32) -> Set<Int> {
            let word = UInt64(high) << 32 | UInt64(low)
            return Set((0 ..< 64).filter { word & (1 << UInt64($0)) != 0 })
        }
        return FileCapabilities(permitted: bits(u32(4), u32(12)), inheritable: bits(u32(8), u32(16)),
                                effective: magic & 1 != 0)
    }

    /// As getcap(8) prints it: "cap_net_admin,cap_net_raw=ep".
    public var description: String {
        let all = permitted.union(inheritable).sorted()
        let names = all.map(Self.name).joined(separator: ",")
        var flags = ""
        if effective { flags += "e" }
        if !inheritable.isEmpty { flags += "i" }
        if !permitted.isEmpty { flags += "p" }
        return "\(names)=\(flags)"
    }

    static func name(_ capability: Int) -> String {
        switch capability {
        case 12: "cap_net_admin"
        case 13: "cap_net_raw"
        case 21: "cap_sys_admin"
        default: "cap_\(capability)"
        }
    }
}

/// getpwuid_r / getgrgid_r / getgroups, for messages that name users and groups.
enum UserDatabase {
    static func userName(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: entry.pw_name)
    }

    static func groupName(_ gid: gid_t) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return String(cString: entry.gr_name)
    }

    /// The effective group and the supplementary groups of this process.
    static func currentGroupIDs() -> Set<gid_t> {
        var ids: Set<gid_t> = [getegid()]
        let count = getgroups(0, nil)
        if count > 0 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let n = getgroups(count, &groups)
            if n > 0 { ids.formUnion(groups[0 ..< Int(n)]) }
        }
        return ids
    }
}
