import Glibc
import PacketCapture

/// One line of `swiftcap doctor`.
struct DoctorCheck {
    /// Stable key for --json ("helper", "version", ...).
    var name: String
    var ok: Bool
    /// Whether capture needs this check to pass (the exit status counts only these).
    var needed: Bool
    /// What was found.
    var detail: String
    /// What to do, when not ok.
    var fix: String?
}

/// Runs the checks in the order a user would fix them. The file-system and
/// kernel checks block (stat, getxattr, running the helper) and run through
/// `offThePool`; the helper sessions use the library's async API.
struct Doctor {
    var helperPath: String?
    var interface: String

    func run() async -> [DoctorCheck] {
        let isRoot = geteuid() == 0
        let located: Result<String, CaptureError> = await offThePool { [helperPath] in
            do throws(CaptureError) { return .success(try HelperInstallation.locate(helperPath: helperPath)) } catch { return .failure(error) }
        }
        let kernel = await offThePool { Self.kernelCheck() }
        let path: String
        switch located {
        case .failure(let error):
            // Found but not executable: the file is there, the permissions are what is wrong.
            if error.code == .helperNotExecutable, let p = error.helperPath {
                let status = await offThePool { HelperFileStatus.inspect(p) }
                return [DoctorCheck(name: "helper", ok: true, needed: true, detail: "found at \(p)"),
                        Self.permissionCheck(status), kernel]
            }
            return [DoctorCheck(name: "helper", ok: false, needed: true, detail: CLIMessages.describe(error)), kernel]
        case .success(let p):
            path = p
        }

        let status = await offThePool { HelperFileStatus.inspect(path) }
        let version = await offThePool { Self.versionCheck(path) }
        var checks = [
            DoctorCheck(name: "helper", ok: true, needed: true, detail: "found at \(path)"),
            version,
            Self.permissionCheck(status),
            Self.capabilityCheck(status, path: path, isRoot: isRoot),
            Self.mountCheck(status, path: path, isRoot: isRoot),
            kernel,
        ]
        checks.append(await devicesCheck(path))
        checks += await captureChecks(path)
        return checks
    }

    // MARK: The helper file

    static func versionCheck(_ path: String) -> DoctorCheck {
        let expected = HelperInstallation.version
        let fix = "reinstall the helper from swiftcap \(expected): \(HelperInstallation.installCommand(for: path))"
        switch Subprocess.run([path, "--version"], timeoutSeconds: 10) {
        case .failure(let f):
            return DoctorCheck(name: "version", ok: false, needed: true, detail: f.description, fix: fix)
        case .success(let r):
            let printed = r.stdout.trimmed
            if r.status == 0, printed == expected {
                return DoctorCheck(name: "version", ok: true, needed: true, detail: "helper version \(printed), same as swiftcap")
            }
            let what = r.status == 0 ? "helper version \(printed.prefix(40)), swiftcap \(expected)" : "the helper's --version exited with status \(r.status) (a helper older than 0.2.0 has no --version), swiftcap is \(expected)"
            return DoctorCheck(name: "version", ok: false, needed: true, detail: what, fix: fix)
        }
    }

    static func permissionCheck(_ s: HelperFileStatus) -> DoctorCheck {
        if let problem = s.executionProblem {
            return DoctorCheck(name: "permissions", ok: false, needed: true, detail: "the helper \(problem)", fix: nil)
        }
        let who = s.mode & 0o001 != 0 ? "every user may run it" : "you may run it (group \(s.groupName))"
        return DoctorCheck(name: "permissions", ok: true, needed: true, detail: "\(s.permissionsDescription): \(who)")
    }

    static func capabilityCheck(_ s: HelperFileStatus, path: String, isRoot: Bool) -> DoctorCheck {
        if s.hasCaptureCapability {
            return DoctorCheck(name: "capability", ok: true, needed: !isRoot, detail: "file capability \(s.capabilities!)")
        }
        let has = s.capabilities.map { "only \($0)" } ?? "no file capability"
        return DoctorCheck(name: "capability", ok: false, needed: !isRoot,
                           detail: "the helper has \(has)\(isRoot ? " (root captures without it, other users cannot)" : "")",
                           fix: "sudo setcap cap_net_raw=ep \(path), or \(HelperInstallation.installCommand(for: path))")
    }

    static func mountCheck(_ s: HelperFileStatus, path: String, isRoot: Bool) -> DoctorCheck {
        if !s.onNosuidMount {
            return DoctorCheck(name: "mount", ok: true, needed: !isRoot, detail: "its file system honours file capabilities (not nosuid)")
        }
        return DoctorCheck(name: "mount", ok: false, needed: !isRoot,
                           detail: "its file system is mounted nosuid: the kernel ignores file capabilities there",
                           fix: "install it elsewhere (sudo swiftcap install-helper --prefix PREFIX on a file system without nosuid; findmnt -T \(path) shows the options)")
    }

    // MARK: The kernel

    /// no_new_privs appears in /proc/self/status since Linux 4.10, seccomp
    /// filters need CONFIG_SECCOMP_FILTER (actions_avail lists their actions).
    static func kernelCheck() -> DoctorCheck {
        let status = HelperInstaller.contents(of: "/proc/self/status").map { String(decoding: $0, as: UTF8.self) } ?? ""
        let actions = HelperInstaller.contents(of: "/proc/sys/kernel/seccomp/actions_avail").map { String(decoding: $0, as: UTF8.self) } ?? ""
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var missing: [String] = []
        if !status.contains("NoNewPrivs:") { missing.append("no_new_privs") }
        if !status.contains("Seccomp:") || !actions.contains("kill_process") { missing.append("seccomp filters (kill_process)") }
        if missing.isEmpty {
            return DoctorCheck(name: "kernel", ok: true, needed: true, detail: "Linux \(release) supports no_new_privs and seccomp filters")
        }
        return DoctorCheck(name: "kernel", ok: false, needed: true, detail: "Linux \(release) lacks \(missing.joined(separator: " and "))",
                           fix: "use a kernel built with CONFIG_SECCOMP_FILTER (Linux 4.14 or later); the helper will not run without them")
    }

    // MARK: Through the helper

    func devicesCheck(_ path: String) async -> DoctorCheck {
        do {
            let devices = try await NetworkDevice.all(helperPath: path)
            let names = devices.map(\.name)
            let shown = names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", ..." : "")
            return DoctorCheck(name: "devices", ok: !devices.isEmpty, needed: true,
                               detail: "the helper sees \(devices.count) capture devices: \(shown)",
                               fix: devices.isEmpty ? "the helper sees no interface; check that it is not confined to an empty network namespace" : nil)
        } catch {
            return DoctorCheck(name: "devices", ok: false, needed: true, detail: "listing devices failed: \(CLIMessages.describe(error))")
        }
    }

    /// Opens the interface, then reads /proc/<helper pid>/status: after `ready`
    /// the helper must hold no capability, with no_new_privs and a seccomp filter.
    func captureChecks(_ path: String) async -> [DoctorCheck] {
        var options = CaptureOptions()
        options.helperPath = path
        options.timeout = .immediate
        let capture: LiveCapture
        do {
            capture = try await LiveCapture.open(interface: interface, options: options)
        } catch {
            // The libpcap line comes from an open capture, so there is none here.
            return [DoctorCheck(name: "capture", ok: false, needed: true, detail: "opening \(interface) failed: \(CLIMessages.describe(error))")]
        }
        let pid = capture.helperProcessID
        let fields = await offThePool { Self.statusFields(pid, ["CapEff", "NoNewPrivs", "Seccomp"]) }
        let libpcap = DoctorCheck(name: "libpcap", ok: true, needed: false, detail: capture.libpcapVersion)
        await capture.close()
        let capEff = fields["CapEff"] ?? "?", noNewPrivs = fields["NoNewPrivs"] ?? "?", seccomp = fields["Seccomp"] ?? "?"
        let state = "CapEff \(capEff), NoNewPrivs \(noNewPrivs), Seccomp \(seccomp)"
        let lockedDown = capEff.allSatisfy { $0 == "0" } && !capEff.isEmpty && noNewPrivs == "1" && seccomp == "2"
        return [libpcap, DoctorCheck(name: "capture", ok: lockedDown, needed: true,
                                     detail: "opened \(interface); the helper after open: \(state)",
                                     fix: lockedDown ? nil : "the helper did not lock itself down (expected CapEff 0, NoNewPrivs 1, Seccomp 2); report this as a swiftcap bug")]
    }

    /// Selected "Key:\tvalue" lines of /proc/PID/status.
    static func statusFields(_ pid: Int32, _ keys: Set<String>) -> [String: String] {
        guard let bytes = HelperInstaller.contents(of: "/proc/\(pid)/status") else { return [:] }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon])
            if keys.contains(key) { fields[key] = String(line[line.index(after: colon)...]).trimmed }
        }
        return fields
    }
}
