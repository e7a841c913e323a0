import Glibc
import SwiftcapWire

// swiftcap-helper [--keep-net-admin]
//   Privileged half of swiftcap, spawned by the client with stdin/stdout as pipes
//   (docs/PROTOCOL.md). See PrivilegeSequence.swift for what it does, in order.
// swiftcap-helper --version
//   Prints Wire.softwareVersion, the same string as `swiftcap --version`.
// swiftcap-helper --self-test-seccomp
//   Test hook only: must die by SIGSYS (SeccompSelfTest.swift).

let usage = "usage: swiftcap-helper [--keep-net-admin] | --version; the swiftcap library starts it with pipes, it is not run by hand (to check an installation: swiftcap doctor)"

if CommandLine.arguments.dropFirst().elementsEqual(["--version"]) {
    var line = Wire.softwareVersion + "\n"
    line.withUTF8 { _ = write(STDOUT_FILENO, $0.baseAddress!, $0.count) }
    exit(0)
}
// By hand on a terminal: binary frames would only garble the screen.
if isatty(STDOUT_FILENO) == 1 {
    diagnose(usage)
    exit(2)
}

var options = Options()
for argument in CommandLine.arguments.dropFirst() {
    switch argument {
    case "--keep-net-admin":
        options.keepNetAdmin = true
    case "--self-test-seccomp":
        SeccompSelfTest.run()
    default:
        // Still answer in protocol terms: the client reads stdout, not stderr.
        fatal(HelperError(.badRequest, "unknown argument \"\(argument)\"; \(usage)"),
              output: FrameWriter())
    }
}
PrivilegeSequence.run(options)
