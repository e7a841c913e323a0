import CPacketCaptureShims
import Glibc

/// A spawned helper and the client's ends of its three pipes.
///
/// The child gets exactly descriptors 0, 1 and 2 (the pipes are created
/// O_CLOEXEC and everything from 3 up is closed by the spawn), default signal
/// dispositions and an empty signal mask. Our ends are O_NONBLOCK; the stdout
/// pipe is enlarged to 1 MiB (F_SETPIPE_SZ; failure is ignored, the protocol
/// works with any pipe size).
struct HelperProcess {
    let pid: pid_t
    /// Write end of the helper's stdin.
    let stdin: FileDescriptor
    /// Read end of the helper's stdout.
    let stdout: FileDescriptor
    /// Read end of the helper's stderr.
    let stderr: FileDescriptor

    static let stdoutPipeSize: Int32 = 1 << 20

    /// Spawns `path` with `arguments` (argv[1...]). Must be called on the thread
    /// that will outlive the helper: the helper's PR_SET_PDEATHSIG fires when the
    /// spawning *thread* exits.
    ///
    /// With `diesWithThread` the child is forked with PR_SET_PDEATHSIG(SIGKILL)
    /// already armed, for programs that do not arm it themselves (ssh).
    static func spawn(path: String, arguments: [String], diesWithThread: Bool = false) throws(CaptureError) -> HelperProcess {
        var opened: [FileDescriptor] = []
        func fail(_ function: String, _ e: Errno) -> CaptureError {
            for fd in opened { fd.close() }
            return systemCallError(function, e, "the process may be out of file descriptors")
        }
        let inPipe: (read: FileDescriptor, write: FileDescriptor)
        switch makePipe() {
        case .success(let p): inPipe = p; opened += [p.read, p.write]
        case .failure(let e): throw fail("pipe2", e)
        }
        let outPipe: (read: FileDescriptor, write: FileDescriptor)
        switch makePipe() {
        case .success(let p): outPipe = p; opened += [p.read, p.write]
        case .failure(let e): throw fail("pipe2", e)
        }
        let errPipe: (read: FileDescriptor, write: FileDescriptor)
        switch makePipe() {
        case .success(let p): errPipe = p; opened += [p.read, p.write]
        case .failure(let e): throw fail("pipe2", e)
        }
        _ = swiftcap_set_pipe_size(outPipe.read.rawValue, stdoutPipeSize)
        for fd in [inPipe.write, outPipe.read, errPipe.read] {
            if case .failure(let e) = fd.setNonBlocking() { throw fail("fcntl(O_NONBLOCK)", e) }
        }

        var pid: pid_t = 0
        let argv = [path] + arguments
        let rc = withCStringArray(argv) { cArgv in
            diesWithThread
                ? swiftcap_spawn_dying_with_thread(&pid, path, cArgv, environ, inPipe.read.rawValue, outPipe.write.rawValue, errPipe.write.rawValue)
                : swiftcap_spawn(&pid, path, cArgv, environ, inPipe.read.rawValue, outPipe.write.rawValue, errPipe.write.rawValue)
        }
        // The child's ends belong to the child now (or to nobody, on failure).
        inPipe.read.close(); outPipe.write.close(); errPipe.write.close()
        if rc != 0 {
            inPipe.write.close(); outPipe.read.close(); errPipe.read.close()
            let e = Errno(rawValue: rc)
            switch rc {
            case ENOENT, ENOTDIR:
                throw CaptureError(.helperNotFound, "cannot start the helper at \(path): \(e); set SWIFTCAP_HELPER or the helperPath option to a swiftcap-helper executable", helperPath: path)
            case EACCES, EPERM, ENOEXEC:
                throw CaptureError(.helperSpawnFailed, "cannot execute the helper at \(path): \(e); check that it is a swiftcap-helper binary for this machine and that its mode allows execution (chmod 0755)", helperPath: path)
            default:
                throw CaptureError(.helperSpawnFailed, "posix_spawn of the helper at \(path) failed: \(e) (errno \(rc)); check system limits (ulimit -u, ulimit -n)", helperPath: path)
            }
        }
        return HelperProcess(pid: pid, stdin: inPipe.write, stdout: outPipe.read, stderr: errPipe.read)
    }
}

/// Calls `body` with a NULL-terminated `char *[]` of copies of `strings`.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
