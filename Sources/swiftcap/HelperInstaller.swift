import Glibc
import PacketCapture

/// A reason `install-helper` or `uninstall-helper` stops before changing
/// anything (or, for a failed step, what was left and what to do).
struct InstallRefusal: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// What `swiftcap install-helper` does, step by step; every check comes before
/// the first change, and a destination that already is what was asked for is
/// left untouched (the command is idempotent).
struct HelperInstaller {
    var source: String
    var prefix: String
    var group: String?
    var createGroup: Bool
    var monitorMode: Bool

    var destinationDirectory: String { destination.dirname }
    var destination: String { HelperInstallation.installedPath(prefix: prefix) }
    var mode: mode_t { group == nil ? 0o755 : 0o750 }
    var capabilityText: String { monitorMode ? "cap_net_admin,cap_net_raw=ep" : "cap_net_raw=ep" }
    var expectedCapabilities: FileCapabilities {
        FileCapabilities(permitted: monitorMode ? [FileCapabilities.netRaw, FileCapabilities.netAdmin] : [FileCapabilities.netRaw],
                         effective: true)
    }

    /// What was done, for the report.
    enum Outcome { case installed, unchanged }

    /// Checks, then installs. Blocking: file system calls and subprocesses.
    func install() throws(InstallRefusal) -> Outcome {
        try Self.requireRoot("install-helper")
        guard prefix.hasPrefix("/") else {
            throw InstallRefusal("--prefix \(prefix) is not an absolute path; give one such as /usr/local")
        }
        try checkSource()
        guard let setcap = Subprocess.find("setcap") else {
            throw InstallRefusal("setcap is not installed (it is not in PATH); install the Debian package libcap2-bin (apt-get install libcap2-bin) and run install-helper again")
        }
        try checkNotNosuid()
        let gid = try resolveGroup()

        if isAlreadyInstalled(gid: gid) { return .unchanged }

        try makeDirectories()
        let temporary = destinationDirectory + "/.swiftcap-helper.new"
        unlink(temporary)
        do throws(InstallRefusal) {
            try copy(source, to: temporary, gid: gid)
            // chown clears file capabilities, so setcap comes after it (in copy).
            let r = try Self.run([setcap, capabilityText, temporary])
            guard r.status == 0 else {
                throw InstallRefusal("setcap \(capabilityText) \(temporary) failed (status \(r.status)): \(r.stderr.trimmed); the file system under \(prefix) may not support file capabilities, choose another --prefix")
            }
            guard rename(temporary, destination) == 0 else {
                throw InstallRefusal("rename(\(temporary), \(destination)) failed: \(Self.errorText())")
            }
        } catch {
            unlink(temporary)
            throw error
        }
        return .installed
    }

    // MARK: Checks (nothing changed yet)

    static func requireRoot(_ command: String) throws(InstallRefusal) {
        guard geteuid() == 0 else {
            throw InstallRefusal("\(command) must run as root: it sets the owner, the mode and file capabilities of the helper; run it with sudo (sudo swiftcap \(command) ...)")
        }
    }

    /// The file to install must be a swiftcap helper of this very version.
    private func checkSource() throws(InstallRefusal) {
        let status = HelperFileStatus.inspect(source)
        guard status.exists, status.isRegularFile else {
            throw InstallRefusal("the helper to install, \(source), \(status.exists ? "is not a regular file" : "does not exist"); build it (swift build -c release) and pass --from .build/release/swiftcap-helper")
        }
        let r = try Self.run([source, "--version"], timeoutSeconds: 10)
        let printed = r.stdout.trimmed
        guard r.status == 0, printed == HelperInstallation.version else {
            let what = r.status == 0 ? "its --version printed \"\(printed.prefix(80))\"" : "its --version exited with status \(r.status)"
            throw InstallRefusal("\(source) is not a swiftcap-helper of version \(HelperInstallation.version) (\(what)); build the helper from the same checkout as this swiftcap (swift build -c release) and pass --from .build/release/swiftcap-helper")
        }
    }

    /// File capabilities on a nosuid mount are ignored by the kernel at exec.
    private func checkNotNosuid() throws(InstallRefusal) {
        var existing = destinationDirectory
        var fs = statvfs()
        while statvfs(existing, &fs) != 0 {
            guard errno == ENOENT || errno == ENOTDIR, existing != "/" else {
                throw InstallRefusal("cannot examine \(existing): \(Self.errorText())")
            }
            existing = existing.dirname
        }
        if fs.f_flag & UInt(ST_NOSUID) != 0 {
            throw InstallRefusal("\(prefix) is on a file system mounted nosuid (\(existing) is), where the kernel ignores file capabilities, so the helper could not capture; choose a --prefix on another file system (findmnt -T \(prefix) shows the mount options)")
        }
    }

    /// The group's id: root's group without --group; created with --create-group.
    private func resolveGroup() throws(InstallRefusal) -> gid_t {
        guard let group else { return 0 }
        if let gid = Self.groupID(group) { return gid }
        guard createGroup else {
            throw InstallRefusal("group \(group) does not exist; add --create-group to create it (groupadd --system \(group))")
        }
        guard let groupadd = Subprocess.find("groupadd") ?? (access("/usr/sbin/groupadd", X_OK) == 0 ? "/usr/sbin/groupadd" : nil) else {
            throw InstallRefusal("groupadd is not installed; install the Debian package passwd, or create group \(group) yourself")
        }
        let r = try Self.run([groupadd, "--system", group])
        guard r.status == 0, let gid = Self.groupID(group) else {
            throw InstallRefusal("groupadd --system \(group) failed (status \(r.status)): \(r.stderr.trimmed)")
        }
        return gid
    }

    /// Same bytes, root-owned, same group and mode, same capabilities.
    private func isAlreadyInstalled(gid: gid_t) -> Bool {
        let status = HelperFileStatus.inspect(destination)
        guard status.exists, status.isRegularFile, status.ownerID == 0, status.groupID == gid,
              status.mode == UInt32(mode), status.capabilities == expectedCapabilities else { return false }
        guard let a = Self.contents(of: source), let b = Self.contents(of: destination) else { return false }
        return a == b
    }

    // MARK: Changes

    private func makeDirectories() throws(InstallRefusal) {
        var missing: [String] = []
        var dir = destinationDirectory
        var st = stat()
        while stat(dir, &st) != 0 && dir != "/" {
            missing.append(dir)
            dir = dir.dirname
        }
        for d in missing.reversed() {
            guard mkdir(d, 0o755) == 0 || errno == EEXIST else {
                throw InstallRefusal("mkdir \(d) failed: \(Self.errorText())")
            }
            chmod(d, 0o755) // whatever the umask
        }
    }

    /// Copies `from` to a new file `to`, owned root:gid with the install mode.
    private func copy(_ from: String, to: String, gid: gid_t) throws(InstallRefusal) {
        guard let bytes = Self.contents(of: from) else {
            throw InstallRefusal("cannot read \(from): \(Self.errorText())")
        }
        let fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o700)
        guard fd >= 0 else { throw InstallRefusal("cannot create \(to): \(Self.errorText())") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else {
                throw InstallRefusal("writing \(to) failed: \(Self.errorText())")
            }
        }
        guard fchown(fd, 0, gid) == 0, fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            throw InstallRefusal("setting owner and mode of \(to) failed: \(Self.errorText())")
        }
    }

    // MARK: Small tools

    static func run(_ argv: [String], timeoutSeconds: Int = 20) throws(InstallRefusal) -> SubprocessResult {
        switch Subprocess.run(argv, timeoutSeconds: timeoutSeconds) {
        case .success(let r):
            if r.timedOut { throw InstallRefusal("\(argv.joined(separator: " ")) did not finish within \(timeoutSeconds) s") }
            return r
        case .failure(let f): throw InstallRefusal(f.description)
        }
    }

    static func groupID(_ name: String) -> gid_t? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    /// The whole file, or nil when it cannot be read.
    static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 { bytes += chunk[0 ..< n] } else if n < 0 && errno == EINTR { continue } else if n == 0 { return bytes } else { return nil }
        }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }

    /// dirname of /proc/self/exe: where `swift build` put swiftcap and its helper.
    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        return String(decoding: buffer[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self).dirname
    }
}

extension String {
    /// The path without its last component ("/a/b" → "/a", "/a" → "/").
    var dirname: String {
        guard let slash = lastIndex(of: "/") else { return "." }
        return slash == startIndex ? "/" : String(self[..<slash])
    }

    var trimmed: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
