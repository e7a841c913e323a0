import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// `swiftcap-helper [--keep-net-admin] [--ssh-connection "CLIENT PORT SERVER PORT"]` (main.swift)
struct Options {
    /// Keep CAP_NET_ADMIN (if held) until an `open` asking for monitor mode.
    var keepNetAdmin = false
    /// The SSH session this helper runs in, whose packets every filter leaves out.
    var excludedConnection: SSHConnection?
}

/// The helper from exec to exit. Every change of privilege happens in this file,
/// in the order it is written:
///
///   1. parent-death signal, orphan check, empty environment, process hygiene
///   2. shrink to CAP_NET_RAW (as root: bounding set, groups, uid/gid nobody)
///   3. `hello`, then exactly one request
///   4. `open`: check the device is a network interface, activate the capture
///      while CAP_NET_RAW is held, then drop every capability and only then
///      compile the open filter, within a CPU and memory budget
///   5. lock down: no capability, no new fd, no process, no file, seccomp
///   6. `ready`, and the capture loop (or `devices` / `deviceDetails` / `program` replies)
///
/// While a capability is held the helper reads nothing a caller chose except
/// the `open` request itself, and hands libpcap nothing but the name of an
/// existing interface and the open options.
enum PrivilegeSequence {
    static func run(_ options: Options) -> Never {
        let output = FrameWriter()
        do throws(HelperError) {
            try runSteps(options, output)
        } catch {
            fatal(error, output: output)
        }
    }

    private static func runSteps(_ options: Options, _ output: FrameWriter) throws(HelperError) -> Never {
        // MARK: 1. Parent death and hygiene

        // Exec of a binary with file capabilities clears any inherited
        // parent-death signal, so arm it ourselves before anything else; then make
        // sure the parent did not die before it was armed.
        let parent = getppid()
        try System.setParentDeathSignal(SIGKILL)
        exitIfOrphaned(originalParent: parent)

        try hygiene()

        // MARK: 2. Nothing but CAP_NET_RAW

        var keep: [Capability] = options.keepNetAdmin ? [.netRaw, .netAdmin] : [.netRaw]
        // Without CAP_NET_RAW we still answer hello, listDevices and compileFilter;
        // `open` then fails with permissionDenied.
        keep = keep.filter(System.isPermitted)

        if getuid() == 0 || geteuid() == 0 {
            // Root: shed everything root implies, not just the capability sets.
            try System.dropBoundingSet(except: keep) // needs CAP_SETPCAP, still held here
            try System.clearSupplementaryGroups()
            try System.setKeepCapabilities(true) // permitted set survives leaving uid 0
            let nobody = System.lookUpUser("nobody") ?? (uid: 65534, gid: 65534)
            try System.setAllGroupIDs(nobody.gid)
            try System.setAllUserIDs(nobody.uid)
            try System.setKeepCapabilities(false)
            // Changing the euid cleared the parent-death signal: arm it again.
            try System.setParentDeathSignal(SIGKILL)
            exitIfOrphaned(originalParent: parent)
        }
        try System.setCapabilities(exactly: keep) // permitted = effective = keep, inheritable = {}
        try System.clearAmbientCapabilities()
        try System.setNoNewPrivileges()

        // MARK: 3. hello, then one request

        output.append(.hello(Hello(libpcapVersion: String(cString: pcap_lib_version()))))
        output.flush(timeoutMilliseconds: -1)

        let requests = RequestReader()
        guard let request = try requests.waitForRequest() else { exitClientGone("EOF on stdin") }

        switch request {
        case .open(let open):
            // MARK: 4. Open the capture
            if keep.contains(.netAdmin) && !open.monitorMode {
                try System.setCapabilities(exactly: [.netRaw]) // CAP_NET_ADMIN is for monitor mode only
            }
            let capture = try LiveCapture(open, allowMonitorMode: options.keepNetAdmin, excluding: options.excludedConnection)
            // Activation was what needed a capability. The filter is the caller's
            // text: parse it, and resolve its names (NSS, DNS), with none held,
            // within the compile budget.
            try System.setCapabilities(exactly: [])
            try limitMemoryForCompiles()
            if !open.filter.expression.isEmpty || capture.exclusion != nil { try capture.setFilter(open.filter, namesResolve: true) }

            // MARK: 5. Lock down
            try lockDown(keepingDescriptor: capture.fd)

            // MARK: 6. Capture
            output.append(.ready(Ready(linkType: capture.linkType, snapshotLength: UInt32(capture.snapshotLength),
                                       timestampPrecision: capture.precision, warning: capture.warning)))
            _ = output.writeSome()
            CaptureLoop(capture: capture, requests: requests, output: output).run()

        case .listDevices:
            // pcap_findalldevs needs no capability, but it does open sockets and
            // /sys files, so it runs before the lock-down.
            try System.setCapabilities(exactly: [])
            let devices = try findAllDevices()
            try lockDown(keepingDescriptor: nil)
            output.append(.devices(devices))
            output.append(.end)
            output.flush(timeoutMilliseconds: -1)
            terminate(0)

        case .describeDevice(let name):
            // Listing link types needs an activated handle: CAP_NET_RAW, on an
            // interface checked as for open; the handle is closed before the lock-down.
            try System.setCapabilities(exactly: keep.filter { $0 != .netAdmin }) // CAP_NET_ADMIN is for monitor mode only
            let details = try describeDevice(name)
            try System.setCapabilities(exactly: [])
            try lockDown(keepingDescriptor: nil)
            output.append(.deviceDetails(details))
            output.append(.end)
            output.flush(timeoutMilliseconds: -1)
            terminate(0)

        case .compileFilter(let first):
            try System.setCapabilities(exactly: [])
            try limitMemoryForCompiles()
            try lockDown(keepingDescriptor: nil)
            serveCompileRequests(first: first, requests: requests, output: output)

        default:
            throw HelperError(.protocolViolation,
                              "unexpected \(request.frameType) frame as first request (allowed: open, listDevices, describeDevice, compileFilter)")
        }
    }

    /// Step 1's process hygiene: nothing inherited from whoever started us is
    /// trusted (environment, descriptors, signal dispositions, limits).
    static func hygiene() throws(HelperError) {
        // Whoever runs this setcap'd binary chooses its environment, and libpcap
        // and the libraries under it read variables (DBUS_SESSION_BUS_ADDRESS
        // names a bus whose unixexec: transport starts a program; NSS and the
        // resolver read others). The helper needs none: empty it first.
        try System.clearEnvironment()

        // A missing 0/1/2 would let a later open land on it and mix into the protocol.
        for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where !System.isOpen(fd) {
            _ = try System.openDevNull()
        }
        // Crash signals take their default action: a runtime crash handler would try
        // to start a backtracer, which seccomp turns into a misleading SIGSYS.
        for signal in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT] {
            try System.setSignalDisposition(signal, ignore: false)
        }
        // A gone reader is EPIPE (handled: exit 0), not a silent death; RLIMIT_FSIZE 0
        // below must not kill us when stderr is redirected to a file.
        try System.setSignalDisposition(SIGPIPE, ignore: true)
        try System.setSignalDisposition(SIGXFSZ, ignore: true)
        // No core dump full of packets.
        try System.setResourceLimit(RLIMIT_CORE, "RLIMIT_CORE", to: 0)
        // The capture loop must never block on a slow client, nor on a client
        // that does not read our stderr: a diagnostic that does not fit the
        // pipe is dropped (diagnose() is best effort). Only for a pipe: a
        // terminal's or file's open file description is shared with others.
        try System.setNonBlocking(STDOUT_FILENO)
        if System.isPipe(STDERR_FILENO) { try System.setNonBlocking(STDERR_FILENO) }
        // The compile budget's SIGPROF handler: installing it needs rt_sigaction,
        // which the lock-down forbids; it does nothing until a compile arms it.
        try System.installCompileBudgetHandler()
        // Best effort: PROTOCOL.md counts on a 1 MiB pipe; not a pipe (tests) is fine.
        _ = try? System.setPipeSize(STDOUT_FILENO, 1 << 20)
    }

    /// Step 5: from here on the helper can only move bytes between the descriptors
    /// it holds (0, 1, 2 and the packet socket, if any).
    private static func lockDown(keepingDescriptor kept: CInt?) throws(HelperError) {
        try System.setCapabilities(exactly: []) // permitted, effective, inheritable: all empty

        if let kept, kept > STDERR_FILENO {
            try System.closeRange(STDERR_FILENO + 1, through: UInt32(kept - 1))
            try System.closeRange(kept + 1)
        } else {
            try System.closeRange(STDERR_FILENO + 1)
        }
        // 0, 1 and 2 are open, so with a limit of 3 no new descriptor can be
        // allocated; existing ones (the packet socket) keep working, and poll's
        // nfds (at most 3) stays within the limit it is checked against.
        try System.setResourceLimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", to: 3)
        try System.setResourceLimit(__RLIMIT_NPROC, "RLIMIT_NPROC", to: 0) // glibc spells it __RLIMIT_NPROC for Swift
        try System.setResourceLimit(RLIMIT_FSIZE, "RLIMIT_FSIZE", to: 0)

        try System.installSeccompAllowlist() // allowed without privilege: no_new_privs is set
    }

    /// Bounds the memory of every later pcap_compile (RLIMIT_DATA, soft and hard):
    /// what the helper uses now plus the compile budget. The packet ring is a
    /// shared mapping and does not count. Reads /proc, so before the lock-down.
    private static func limitMemoryForCompiles() throws(HelperError) {
        let inUse = try System.dataSegmentBytes()
        try System.setResourceLimit(RLIMIT_DATA, "RLIMIT_DATA", to: rlim_t(inUse + Limits.filterCompileMemory))
    }

    /// Exits when the parent that started us is gone.
    ///
    /// A parent that dies is replaced by init (or a subreaper), so a changed
    /// getppid() means orphaned. A parent of pid 1 from the start is ambiguous: it is
    /// also a client running as init of a container, so it only counts when stdin
    /// has hung up too.
    private static func exitIfOrphaned(originalParent: pid_t) {
        let now = getppid()
        if now != originalParent { exitClientGone("parent \(originalParent) exited") }
        if now == 1 {
            var fd = pollfd(fd: STDIN_FILENO, events: 0, revents: 0)
            if poll(&fd, 1, 0) == 1 && fd.revents & Int16(POLLHUP) != 0 { exitClientGone("orphaned, stdin closed") }
        }
    }
}
