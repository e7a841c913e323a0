import Glibc
import SwiftcapWire

// swiftcap-helper [--keep-net-admin]
//   Privileged half of swiftcap, spawned by the client with stdin/stdout as pipes
//   (docs/PROTOCOL.md). See PrivilegeSequence.swift for what it does, in order.
// swiftcap-helper --self-test-seccomp
//   Test hook only: must die by SIGSYS (SelfTests.swift).
// swiftcap-helper --self-test-environment
//   Test hook only: prints how many environment entries survive step 1.

var options = Options()
for argument in CommandLine.arguments.dropFirst() {
    switch argument {
    case "--keep-net-admin":
        options.keepNetAdmin = true
    case "--self-test-seccomp":
        SeccompSelfTest.run()
    case "--self-test-environment":
        EnvironmentSelfTest.run()
    default:
        // Still answer in protocol terms: the client reads stdout, not stderr.
        fatal(HelperError(.badRequest, "unknown argument \"\(argument)\"; usage: swiftcap-helper [--keep-net-admin]"),
              output: FrameWriter())
    }
}
PrivilegeSequence.run(options)
