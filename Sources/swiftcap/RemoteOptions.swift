import ArgumentParser
import PacketCapture

/// Where helpers run: `-i HOST:IFACE` or `--remote USER@HOST` reach a helper on
/// another machine through ssh (HelperTransport.ssh); plain names are local.
struct RemoteOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Run the helper on USER@HOST through ssh, for every -i without a host of its own.", valueName: "user@host"))
    var remote: String?

    @Option(name: .customLong("ssh-port"), help: ArgumentHelp("ssh port of the remote hosts.", valueName: "port"))
    var sshPort: Int?

    @Option(name: .customLong("ssh-identity"), help: ArgumentHelp("Private key for ssh (ssh -i).", valueName: "file"))
    var sshIdentity: String?

    @Option(name: .customLong("ssh-option"), help: ArgumentHelp("An ssh -o option, e.g. StrictHostKeyChecking=yes (repeatable).", valueName: "option"))
    var sshOptions: [String] = []

    @Option(name: .customLong("ssh-config"), help: ArgumentHelp("ssh configuration file (ssh -F).", valueName: "file"))
    var sshConfig: String?

    @Option(name: .customLong("remote-helper"), help: ArgumentHelp("Path of swiftcap-helper on the remote hosts.", valueName: "path"))
    var remoteHelper: String = "/usr/local/libexec/swiftcap/swiftcap-helper"

    @Flag(name: .customLong("include-ssh-traffic"), help: "Also capture the ssh session's own packets (left out by default).")
    var includeSSHTraffic = false

    /// The transport for `[USER@]HOST` (nil: local).
    func transport(host: String?) -> HelperTransport {
        guard let host else { return .local }
        var user: String?
        var name = host
        if let at = host.lastIndex(of: "@") {
            user = String(host[..<at])
            name = String(host[host.index(after: at)...])
        }
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var extra: [String] = []
        if let sshConfig { extra += ["-F", sshConfig] }
        for option in sshOptions { extra += ["-o", option] }
        return .ssh(SSHDestination(host: name, user: user, port: sshPort, identityFile: sshIdentity, extraArguments: extra,
                                   helperPath: remoteHelper, excludesOwnConnection: !includeSSHTraffic))
    }

    /// Splits an `-i` value: `[USER@]HOST:IFACE` (IPv6 hosts in brackets) names a
    /// remote interface, a plain name a local one (or one on `--remote`'s host).
    /// Interface names cannot contain ':', so the last ':' separates.
    func source(_ value: String) -> (interface: String, transport: HelperTransport) {
        if let colon = value.lastIndex(of: ":"), !value.hasSuffix("]") {
            let host = String(value[..<colon])
            let interface = String(value[value.index(after: colon)...])
            // Only what can be a host and an interface: "dbus://…:…" and other
            // libpcap source strings stay local names (and are refused as such).
            let hostLike = !host.isEmpty && !host.contains(where: { $0 == "/" || $0.isWhitespace })
            let interfaceLike = !interface.isEmpty && interface.utf8.count <= 15 && !interface.contains(where: { $0 == "/" || $0 == "=" || $0.isWhitespace })
            if hostLike && interfaceLike { return (interface, transport(host: host)) }
        }
        return (value, transport(host: remote))
    }

    func validate() throws {
        if let sshPort, !(1 ... 65535).contains(sshPort) { throw ValidationError("--ssh-port \(sshPort) is outside 1...65535") }
        if let remote, remote.isEmpty || remote.hasPrefix("-") { throw ValidationError("--remote wants USER@HOST or HOST") }
    }
}
