import Foundation
import Glibc

/// An OpenSSH server for one test, on 127.0.0.1 only, at a free port: its own
/// host key, one authorized client key, one remote user (with a shell, so
/// that sshd can run a command for it). `stop()` (also run by deinit) ends it.
public final class TestSSHServer: @unchecked Sendable {
    public static let sshd = "/usr/sbin/sshd"
    public static let keygen = "/usr/bin/ssh-keygen"

    public let port: Int
    public let user: String
    public let directory: String
    /// The client's private key (mode 0600, owned by root).
    public let clientKey: String
    /// A known_hosts file holding this server's host key.
    public let knownHosts: String
    private var server: ChildProcess?

    /// `ssh` arguments that make the client trust exactly this server and use
    /// no configuration of the machine's.
    public var clientArguments: [String] {
        ["-F", "/dev/null", "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes",
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    }

    public init(user: String = "swiftcap-remote") throws {
        try requireRoot("it starts sshd and creates the user \(user)")
        for tool in [Self.sshd, Self.keygen, "/usr/bin/ssh"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw TestSupportError("\(tool) is missing: .ci/setup installs openssh-server and openssh-client")
        }
        self.user = user
        try Self.ensureUserWithShell(user)
        directory = try makeTemporaryDirectory("swiftcap-sshd")
        clientKey = directory + "/client_ed25519"
        knownHosts = directory + "/known_hosts"
        let hostKey = directory + "/host_ed25519"
        try runChecked([Self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", hostKey])
        try runChecked([Self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", clientKey])
        let authorized = directory + "/authorized_keys"
        try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: authorized)
        chmod(authorized, 0o644)
        port = Int(LoopbackTraffic.freePort(tcp: true))
        let hostPublic = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostPublic)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let config = directory + "/sshd_config"
        try """
            ListenAddress 127.0.0.1
            Port \(port)
            HostKey \(hostKey)
            PidFile \(directory)/sshd.pid
            AuthorizedKeysFile \(authorized)
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin no
            AllowUsers \(user)
            AllowTcpForwarding no
            AllowAgentForwarding no
            X11Forwarding no
            PermitTTY no
            LogLevel ERROR

            """.write(toFile: config, atomically: true, encoding: .utf8)
        mkdir("/run/sshd", 0o755) // sshd's privilege-separation directory
        server = try ChildProcess([Self.sshd, "-D", "-e", "-f", config])
        guard waitUntil(timeout: 10, { Self.accepts(port: UInt16(port)) }) != nil else {
            let stderr = server?.stderr ?? ""
            stop()
            throw TestSupportError("sshd on 127.0.0.1:\(port) did not start: \(stderr)")
        }
    }

    deinit { stop() }

    /// Stops sshd (its sessions end with it) and removes its files.
    public func stop() {
        guard let server else { return }
        self.server = nil
        server.send(SIGTERM)
        server.wait(timeout: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A key that the server does not accept, for refusal tests.
    public func makeUnauthorizedKey() throws -> String {
        let path = directory + "/stranger_ed25519"
        if !FileManager.default.fileExists(atPath: path) {
            try runChecked([Self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", path])
        }
        return path
    }

    /// A known_hosts file that names another key for this server.
    public func makeWrongKnownHosts() throws -> String {
        let other = directory + "/other_host_ed25519"
        if !FileManager.default.fileExists(atPath: other) {
            try runChecked([Self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", other])
        }
        let key = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let path = directory + "/wrong_known_hosts"
        try "[127.0.0.1]:\(port) \(key)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A system user with /bin/sh (sshd runs commands through the user's shell)
    /// and a password field of "*": no password, but not a locked account,
    /// which sshd without PAM refuses.
    static func ensureUserWithShell(_ name: String) throws {
        if getpwnam(name) == nil {
            try runChecked(["/usr/sbin/useradd", "-r", "-M", "-d", "/nonexistent", "-s", "/bin/sh", name])
        }
        try runChecked(["/usr/sbin/usermod", "-s", "/bin/sh", "-p", "*", name])
    }

    static func accepts(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr)
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
