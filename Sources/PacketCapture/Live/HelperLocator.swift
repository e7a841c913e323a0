import Glibc

/// Finds the `swiftcap-helper` executable.
///
/// In order: the explicit path (the `helperPath` option), the `SWIFTCAP_HELPER`
/// environment variable, `swiftcap-helper` in the directory of the running
/// executable (readlink of /proc/self/exe), and `/usr/local/libexec/swiftcap/swiftcap-helper`.
/// An explicit path or `SWIFTCAP_HELPER` that is not an executable regular file
/// is an error of its own rather than a reason to look further: the caller
/// asked for that helper.
enum HelperLocator {
    static let environmentVariable = "SWIFTCAP_HELPER"
    static let executableName = "swiftcap-helper"
    static let installedPath = "/usr/local/libexec/swiftcap/swiftcap-helper"

    static func locate(explicit: String?) throws(CaptureError) -> String {
        if let explicit {
            if let problem = problem(with: explicit) {
                throw CaptureError(.helperNotFound,
                                   "the helper path \(explicit) given by the helperPath option \(problem); point helperPath at a swiftcap-helper executable",
                                   helperPath: explicit)
            }
            return explicit
        }
        if let fromEnvironment = getenv(environmentVariable).map({ String(cString: $0) }), !fromEnvironment.isEmpty {
            if let problem = problem(with: fromEnvironment) {
                throw CaptureError(.helperNotFound,
                                   "\(environmentVariable)=\(fromEnvironment) \(problem); set \(environmentVariable) to a swiftcap-helper executable or unset it",
                                   helperPath: fromEnvironment)
            }
            return fromEnvironment
        }
        var tried: [String] = []
        if let dir = executableDirectory() {
            let candidate = dir + "/" + executableName
            if problem(with: candidate) == nil { return candidate }
            tried.append(candidate)
        }
        if problem(with: installedPath) == nil { return installedPath }
        tried.append(installedPath)
        throw CaptureError(.helperNotFound,
                           "no swiftcap-helper executable found (tried \(tried.joined(separator: ", "))); set \(environmentVariable) or the helperPath option to its path, or install it at \(installedPath)")
    }

    /// Why `path` cannot be used as the helper, or nil if it can: it must be a
    /// regular file (after symlinks) that we may execute (stat(2), access(2)).
    static func problem(with path: String) -> String? {
        var st = stat()
        if stat(path, &st) != 0 {
            return "cannot be used (\(Errno.current))"
        }
        if (st.st_mode & S_IFMT) != S_IFREG { return "is not a regular file" }
        if access(path, X_OK) != 0 { return "is not executable (\(Errno.current))" }
        return nil
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
