import Glibc
import SwiftcapWire

// swiftcap-helper [--keep-net-admin] [--ssh-connection "CLIENT PORT SERVER PORT"]
//   Privileged half of swiftcap, spawned by the client with stdin/stdout as pipes
//   (docs/PROTOCOL.md), or by sshd as a remote command (the client's ssh
//   transport passes $SSH_CONNECTION, whose TCP connection every filter then
//   leaves out). See PrivilegeSequence.swift for what it does, in order.
// swiftcap-helper --version
//   Prints Wire.softwareVersion, the same string as `swiftcap --version`.
// swiftcap-helper --self-test-seccomp
//   Test hook only: must die by SIGSYS (SelfTests.swift).
// swiftcap-helper --self-test-environment
//   Test hook only: prints how many environment entries survive step 1.

let usage = "usage: swiftcap-helper [--keep-net-admin] [--ssh-connection \"CLIENT PORT SERVER PORT\"] | --version; the swiftcap library starts it with pipes, it is not run by hand (to check an installation: swiftcap doctor)"

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
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--keep-net-admin":
        options.keepNetAdmin = true
    case "--ssh-connection":
        do throws(HelperError) {
            options.excludedConnection = try SSHConnection.parse(arguments.popFirst() ?? "")
        } catch {
            fatal(error, output: FrameWriter())
        }
    case "--self-test-seccomp":
        SeccompSelfTest.run()
    case "--self-test-environment":
        EnvironmentSelfTest.run()
    default:
        // Still answer in protocol terms: the client reads stdout, not stderr.
        fatal(HelperError(.badRequest, "unknown argument \"\(argument)\"; \(usage)"),
              output: FrameWriter())
    }
}
PrivilegeSequence.run(options)
