import CPacketCaptureShims
import Glibc
import SwiftcapWire

/// Finds the `swiftcap-helper` executable and says precisely what is wrong when
/// the one it finds cannot be used.
///
/// Search order (the README's "Install the helper" documents the same list):
///  1. the `helperPath` option;
///  2. `$SWIFTCAP_HELPER`;
///  3. `swiftcap-helper` in the directory of the running executable (readlink of /proc/self/exe);
///  4. `../libexec/swiftcap/swiftcap-helper` relative to that directory, so a
///     `PREFIX/bin/swiftcap` finds the helper `install-helper --prefix PREFIX` put in place;
///  5. `PREFIX/libexec/swiftcap/swiftcap-helper` for each installation prefix:
///     /usr/local, then /usr. `$SWIFTCAP_HELPER_PREFIXES` (colon-separated)
///     replaces this list, which is how tests keep an installed helper out of their way.
///
/// An explicit path or `SWIFTCAP_HELPER` that cannot be used is an error of its
/// own rather than a reason to look further: the caller asked for that helper.
/// In steps 3 to 5 the first path that exists is the helper; if the caller may
/// not execute it, the error says why (mode, owner, group, the group to join)
/// instead of pretending nothing was found.
enum HelperLocator {
    static let environmentVariable = "SWIFTCAP_HELPER"
    static let prefixesVariable = "SWIFTCAP_HELPER_PREFIXES"
    static let executableName = "swiftcap-helper"
    static let defaultPrefixes = ["/usr/local", "/usr"]
    /// Where `swiftcap install-helper --prefix PREFIX` puts the helper, relative to PREFIX.
    static let installedRelativePath = "libexec/swiftcap/swiftcap-helper"

    static func locate(explicit: String?) throws(CaptureError) -> String {
        if let explicit {
            try check(explicit) { "the helper path \(explicit) given by the helperPath option \($0); point helperPath at a swiftcap-helper executable" }
            return explicit
        }
        if let fromEnvironment = environment(environmentVariable), !fromEnvironment.isEmpty {
            try check(fromEnvironment) { "\(environmentVariable)=\(fromEnvironment) \($0); set \(environmentVariable) to a swiftcap-helper executable or unset it" }
            return fromEnvironment
        }
        let candidates = searchPaths()
        for candidate in candidates {
            var st = stat()
            guard stat(candidate, &st) == 0 else { continue }
            try check(candidate) { "the helper at \(candidate) \($0)" }
            return candidate
        }
        throw CaptureError(.helperNotFound,
                           "no swiftcap-helper executable found (tried \(candidates.joined(separator: ", "))); install it with `sudo swiftcap install-helper` (from a swiftcap checkout: swift build -c release && sudo .build/release/swiftcap install-helper), or set \(environmentVariable) or the helperPath option to its path")
    }

    /// Steps 3 to 5 of the search order, without duplicates.
    static func searchPaths() -> [String] {
        var paths: [String] = []
        if let dir = executableDirectory() {
            paths.append(dir + "/" + executableName)
            paths.append(normalized(dir + "/../" + installedRelativePath))
        }
        for prefix in prefixes() {
            paths.append(installedPath(prefix: prefix))
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }

    /// `$SWIFTCAP_HELPER_PREFIXES` split at colons, or /usr/local and /usr.
    static func prefixes() -> [String] {
        guard let list = environment(prefixesVariable) else { return defaultPrefixes }
        return list.split(separator: ":").map(String.init)
    }

    static func installedPath(prefix: String) -> String {
        (prefix.hasSuffix("/") ? prefix : prefix + "/") + installedRelativePath
    }

    /// The prefix `path` was installed under by `install-helper`, if it has that shape.
    static func installPrefix(of path: String) -> String? {
        let suffix = "/" + installedRelativePath
        guard path.hasSuffix(suffix) else { return nil }
        let prefix = String(path.dropLast(suffix.count))
        return prefix.isEmpty ? "/" : prefix
    }

    /// The command that (re)installs a helper at `path`, or at /usr/local when
    /// `path` is not an installed location.
    static func installCommand(for path: String) -> String {
        switch installPrefix(of: path) {
        case "/usr/local"?, nil: "sudo swiftcap install-helper"
        case let prefix?: "sudo swiftcap install-helper --prefix \(prefix)"
        }
    }

    /// Throws unless `path` is a regular file (after symlinks) that we may execute:
    /// `.helperNotExecutable` when it is a file we may not run, `.helperNotFound` otherwise.
    private static func check(_ path: String, _ message: (String) -> String) throws(CaptureError) {
        let status = HelperFileStatus.inspect(path)
        guard let problem = status.executionProblem else { return }
        let code: CaptureError.Code = status.exists && status.isRegularFile ? .helperNotExecutable : .helperNotFound
        throw CaptureError(code, message(problem), helperPath: path)
    }

    /// What to say when the helper reports that it lacks CAP_NET_RAW: the file
    /// has no capability, or has it on a nosuid mount, or this process runs with
    /// no_new_privs (all three make the kernel start it without the capability).
    static func capabilityAdvice(for path: String) -> String {
        let status = HelperFileStatus.inspect(path)
        let install = installCommand(for: path)
        guard let capabilities = status.capabilities, status.hasCaptureCapability else {
            let has = status.capabilities.map { "only \($0)" } ?? "no file capability"
            return "it has \(has); run: sudo setcap cap_net_raw=ep \(path) (or reinstall it: \(install))"
        }
        if status.onNosuidMount {
            return "it has \(capabilities), but its file system is mounted nosuid, so the kernel ignores file capabilities; install it on a file system mounted without nosuid (sudo swiftcap install-helper --prefix PREFIX; `findmnt -T PREFIX` shows the mount options)"
        }
        if swiftcap_no_new_privs() == 1 {
            return "it has \(capabilities), but this process runs with no_new_privs (systemd NoNewPrivileges=, a container runtime...), so the kernel ignores file capabilities; run without no_new_privs, or as root"
        }
        return "it has \(capabilities) but started without CAP_NET_RAW (a user namespace or a security module may strip file capabilities); check with `swiftcap doctor`"
    }

    /// What to say when the helper speaks another protocol version.
    static func versionMismatchMessage(path: String, hello: Hello) -> String {
        let helperRelease = hello.softwareVersion.isEmpty
            ? (hello.protocolVersion < Wire.protocolVersion ? "an older swiftcap (before \(Wire.softwareVersion))" : "a newer swiftcap")
            : "swiftcap \(hello.softwareVersion)"
        return "the helper at \(path) is \(helperRelease), protocol version \(hello.protocolVersion); this client is swiftcap \(Wire.softwareVersion), protocol version \(Wire.protocolVersion). The helper and the client must come from the same swiftcap version: reinstall the helper from a swiftcap \(Wire.softwareVersion) checkout (swift build -c release && \(installCommand(for: path).replacingSwiftcap(with: ".build/release/swiftcap")))"
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Resolves "." and ".." textually (the helper path is shown to people).
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// dirname of readlink("/proc/self/exe").
    static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

private extension String {
    /// "sudo swiftcap install-helper" → "sudo .build/release/swiftcap install-helper".
    func replacingSwiftcap(with executable: String) -> String {
        split(separator: " ").map { $0 == "swiftcap" ? executable : String($0) }.joined(separator: " ")
    }
}
