import CSwiftcapHelper
import Glibc

/// `swiftcap-helper --self-test-seccomp` — FOR TESTS ONLY.
///
/// Installs exactly the allowlist the capture runs under, then calls dup(2) (a new
/// descriptor is what the lock-down exists to prevent). Expected outcome: the
/// kernel kills the process with SIGSYS. Returning is a failure (exit status 1).
enum SeccompSelfTest {
    static func run() -> Never {
        do throws(HelperError) {
            try System.setResourceLimit(RLIMIT_CORE, "RLIMIT_CORE", to: 0)
            try System.setNoNewPrivileges()
            try System.installSeccompAllowlist()
        } catch {
            diagnose("self-test: could not install the allowlist: \(error.message)")
            terminate(1)
        }
        diagnose("self-test: allowlist installed; dup(2) must now kill this process with SIGSYS")
        let fd = dup(STDERR_FILENO)
        diagnose("self-test FAILED: dup(2) returned \(fd); the allowlist does not enforce")
        terminate(1)
    }
}

/// `swiftcap-helper --self-test-environment` — FOR TESTS ONLY.
///
/// Runs step 1's hygiene exactly as the privilege sequence does, then writes
/// `environment entries: N` to stdout: N must be 0 whatever the caller set.
enum EnvironmentSelfTest {
    static func run() -> Never {
        do throws(HelperError) {
            try PrivilegeSequence.hygiene()
        } catch {
            diagnose("self-test: hygiene failed: \(error.message)")
            terminate(1)
        }
        let count = sch_environment_count()
        var line = "environment entries: \(count)\n"
        line.withUTF8 { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
        terminate(0)
    }
}
