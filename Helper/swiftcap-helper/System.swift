import CSwiftcapHelper
import Glibc

// Thin typed wrappers over the system calls of the privilege sequence. Each one
// names the C function it wraps and turns -1/errno into a HelperError whose
// message names the call, so a failure report points straight at the step.

/// A Linux capability number (CAP_*), as libcap and prctl take it.
struct Capability: Equatable, CustomStringConvertible {
    var rawValue: CInt

    static let netRaw = Capability(rawValue: CAP_NET_RAW)
    static let netAdmin = Capability(rawValue: CAP_NET_ADMIN)

    var description: String {
        switch self {
        case .netRaw: "CAP_NET_RAW"
        case .netAdmin: "CAP_NET_ADMIN"
        default: "capability \(rawValue)"
        }
    }
}

enum System {
    /// Wraps `prctl(PR_SET_PDEATHSIG, signal)`.
    static func setParentDeathSignal(_ signal: CInt) throws(HelperError) {
        guard sch_set_parent_death_signal(signal) == 0 else { throw .system(.internal, "prctl(PR_SET_PDEATHSIG)") }
    }

    /// Wraps `prctl(PR_SET_KEEPCAPS, on)`.
    static func setKeepCapabilities(_ on: Bool) throws(HelperError) {
        guard sch_set_keep_capabilities(on ? 1 : 0) == 0 else { throw .system(.internal, "prctl(PR_SET_KEEPCAPS)") }
    }

    /// Wraps `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    static func setNoNewPrivileges() throws(HelperError) {
        guard sch_set_no_new_privileges() == 0 else { throw .system(.internal, "prctl(PR_SET_NO_NEW_PRIVS)") }
    }

    /// Wraps `prctl(PR_CAPBSET_DROP)` for every capability the kernel knows
    /// (found with `PR_CAPBSET_READ`) except `keep`. Needs CAP_SETPCAP.
    static func dropBoundingSet(except keep: [Capability]) throws(HelperError) {
        var cap: CInt = 0
        while sch_bounding_set_read(cap) >= 0 {
            if !keep.contains(Capability(rawValue: cap)) {
                guard sch_bounding_set_drop(cap) == 0 else {
                    throw .system(.internal, "prctl(PR_CAPBSET_DROP, \(cap))")
                }
            }
            cap += 1
        }
    }

    /// Wraps `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`.
    static func clearAmbientCapabilities() throws(HelperError) {
        guard sch_ambient_clear_all() == 0 else { throw .system(.internal, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)") }
    }

    /// Wraps `cap_get_proc` + `cap_get_flag(CAP_PERMITTED)`.
    static func isPermitted(_ cap: Capability) -> Bool {
        sch_capability_permitted(cap.rawValue) == 1
    }

    /// Wraps `cap_init` + `cap_set_flag` + `cap_set_proc`: permitted and effective
    /// become exactly `caps`, inheritable becomes empty. `[]` drops everything.
    static func setCapabilities(exactly caps: [Capability]) throws(HelperError) {
        let raw = caps.map(\.rawValue)
        guard sch_capabilities_set_only(raw, CInt(raw.count)) == 0 else {
            throw .system(.internal, "cap_set_proc(\(caps.isEmpty ? "none" : caps.map(\.description).joined(separator: ",")))")
        }
    }

    /// Wraps `setgroups(0, NULL)`.
    static func clearSupplementaryGroups() throws(HelperError) {
        guard sch_clear_supplementary_groups() == 0 else { throw .system(.internal, "setgroups(0)") }
    }

    /// Wraps `setresgid(gid, gid, gid)`.
    static func setAllGroupIDs(_ gid: gid_t) throws(HelperError) {
        guard sch_set_all_gids(gid) == 0 else { throw .system(.internal, "setresgid(\(gid))") }
    }

    /// Wraps `setresuid(uid, uid, uid)`.
    static func setAllUserIDs(_ uid: uid_t) throws(HelperError) {
        guard sch_set_all_uids(uid) == 0 else { throw .system(.internal, "setresuid(\(uid))") }
    }

    /// Wraps `getpwnam(name)`: the user's uid and primary gid, or nil.
    static func lookUpUser(_ name: String) -> (uid: uid_t, gid: gid_t)? {
        guard let entry = getpwnam(name) else { return nil }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// Wraps `setrlimit(resource, {value, value})`: soft and hard limit both.
    static func setResourceLimit(_ resource: __rlimit_resource, _ name: String, to value: rlim_t) throws(HelperError) {
        var limit = rlimit(rlim_cur: value, rlim_max: value)
        guard setrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0 else {
            throw .system(.internal, "setrlimit(\(name), \(value))")
        }
    }

    /// Wraps `close_range(first, last, 0)`: closes every descriptor in first...last.
    static func closeRange(_ first: CInt, through last: UInt32 = .max) throws(HelperError) {
        guard first >= 0, UInt32(first) <= last else { return }
        guard sch_close_range(UInt32(first), last) == 0 else {
            throw .system(.internal, "close_range(\(first), \(last))")
        }
    }

    /// Wraps `fcntl(fd, F_SETFL, flags | O_NONBLOCK)`.
    static func setNonBlocking(_ fd: CInt) throws(HelperError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw .system(.internal, "fcntl(\(fd), F_SETFL, O_NONBLOCK)")
        }
    }

    /// Wraps `fcntl(fd, F_SETPIPE_SZ, size)`.
    static func setPipeSize(_ fd: CInt, _ size: CInt) throws(HelperError) {
        guard sch_set_pipe_size(fd, size) >= 0 else { throw .system(.internal, "fcntl(\(fd), F_SETPIPE_SZ, \(size))") }
    }

    /// Wraps `sigaction(signal, SIG_DFL or SIG_IGN)`.
    static func setSignalDisposition(_ signal: CInt, ignore: Bool) throws(HelperError) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = ignore ? SIG_IGN : SIG_DFL
        sigemptyset(&action.sa_mask)
        guard sigaction(signal, &action, nil) == 0 else { throw .system(.internal, "sigaction(\(signal))") }
    }

    /// Wraps `fcntl(fd, F_GETFD)`: whether `fd` is open.
    static func isOpen(_ fd: CInt) -> Bool {
        fcntl(fd, F_GETFD) >= 0
    }

    /// Wraps `open("/dev/null", O_RDWR)`; returns the new descriptor.
    static func openDevNull() throws(HelperError) -> CInt {
        let fd = open("/dev/null", O_RDWR)
        guard fd >= 0 else { throw .system(.internal, "open(/dev/null)") }
        return fd
    }

    /// Wraps `clearenv()`.
    static func clearEnvironment() throws(HelperError) {
        guard sch_clear_environment() == 0 else { throw .system(.internal, "clearenv()") }
    }

    /// Wraps `fstat(fd)`: whether `fd` is a pipe or FIFO.
    static func isPipe(_ fd: CInt) -> Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO
    }

    /// Wraps `sch_install_compile_budget_handler` (sigaction(SIGPROF)).
    static func installCompileBudgetHandler() throws(HelperError) {
        guard sch_install_compile_budget_handler() == 0 else { throw .system(.internal, "sigaction(SIGPROF)") }
    }

    /// The `VmData` line of /proc/self/status, in bytes: the private writable
    /// memory that RLIMIT_DATA limits. Wraps open/read/close.
    static func dataSegmentBytes() throws(HelperError) -> Int {
        let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(.internal, "open(/proc/self/status)") }
        defer { close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while text.count < 65536 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            text += chunk[0 ..< n]
        }
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmData:") {
            let digits = line.dropFirst("VmData:".count).filter(\.isNumber)
            if let kib = Int(digits) { return kib * 1024 }
        }
        throw HelperError(.internal, "no VmData line in /proc/self/status")
    }

    /// Wraps `sch_install_seccomp_allowlist` (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)).
    static func installSeccompAllowlist() throws(HelperError) {
        guard sch_install_seccomp_allowlist() == 0 else { throw .system(.internal, "prctl(PR_SET_SECCOMP)") }
    }
}
