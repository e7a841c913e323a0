/// How the client reaches its helper.
///
/// The helper speaks only over stdin and stdout, so the same protocol runs
/// unchanged through an SSH channel: with `.ssh`, the client spawns the
/// system's OpenSSH client with the remote helper as its command, and every
/// call (open options, filters, inject, statistics, devices, errors, deadlines)
/// works as it does locally. Nothing runs as root on the remote host: the
/// remote helper is the same setcap'd binary (`swiftcap install-helper`), and
/// the remote user only needs to be allowed to run it.
public enum HelperTransport: Hashable, Sendable {
    /// A helper on this machine (`CaptureOptions.helperPath`, or the search order).
    case local
    /// A helper on another machine, through `ssh`.
    case ssh(SSHDestination)
}

/// Where and how to run a remote helper with OpenSSH's `ssh`.
public struct SSHDestination: Hashable, Sendable {
    /// Host name or address, as `ssh` takes it.
    public var host: String
    /// Remote user (`ssh -l`); nil: ssh's default (its config, or the local user name).
    public var user: String?
    /// Port (`ssh -p`); nil: ssh's default.
    public var port: Int?
    /// Private key (`ssh -i`); nil: ssh's defaults and agent.
    public var identityFile: String?
    /// Extra `ssh` arguments, inserted before the host (for example
    /// `["-o", "UserKnownHostsFile=/path", "-F", "/dev/null"]`).
    public var extraArguments: [String]
    /// The helper's path on the remote host.
    public var helperPath: String
    /// The local `ssh` executable.
    public var sshPath: String
    /// Leave the SSH session's own packets out of the capture (as sshdump
    /// does): the remote helper adds `not (that TCP connection)` to every filter.
    /// Turn it off only to see them; on the interface the session uses, the
    /// capture then also captures its own transport.
    public var excludesOwnConnection: Bool

    public init(host: String, user: String? = nil, port: Int? = nil, identityFile: String? = nil,
                extraArguments: [String] = [], helperPath: String = "/usr/local/libexec/swiftcap/swiftcap-helper",
                sshPath: String = "/usr/bin/ssh", excludesOwnConnection: Bool = true) {
        self.host = host
        self.user = user
        self.port = port
        self.identityFile = identityFile
        self.extraArguments = extraArguments
        self.helperPath = helperPath
        self.sshPath = sshPath
        self.excludesOwnConnection = excludesOwnConnection
    }

    /// `user@host` or `host`, for messages.
    public var displayName: String { user.map { "\($0)@\(host)" } ?? host }

    /// Checks what would otherwise reach ssh's own option parsing.
    func validate() throws(CaptureError) {
        guard !host.isEmpty, !host.hasPrefix("-"), !host.contains(where: { $0.isWhitespace || $0 == "\0" }) else {
            throw CaptureError(.invalidArgument, "SSH host \"\(host)\" is not a host name or address; pass one without spaces that does not start with -")
        }
        if let user, user.isEmpty || user.hasPrefix("-") || user.contains(where: { $0.isWhitespace || $0 == "@" || $0 == "\0" }) {
            throw CaptureError(.invalidArgument, "SSH user \"\(user)\" is not a user name; pass one without spaces or @")
        }
        if let port, !(1 ... 65535).contains(port) {
            throw CaptureError(.invalidArgument, "SSH port \(port) is outside 1...65535")
        }
        guard helperPath.hasPrefix("/"), !helperPath.contains("\0"), !helperPath.contains("\n") else {
            throw CaptureError(.invalidArgument, "the remote helperPath \"\(helperPath)\" must be an absolute path; swiftcap install-helper puts it at /usr/local/libexec/swiftcap/swiftcap-helper")
        }
    }

    /// The ssh command line: no terminal, no prompts (BatchMode), no
    /// forwarding of any kind, keep-alives so that a dead network is noticed,
    /// then the remote helper as the command.
    func commandLine(helperArguments: [String]) -> [String] {
        var argv = [sshPath, "-T", "-x", "-a",
                    "-o", "BatchMode=yes", "-o", "ClearAllForwardings=yes", "-o", "ForwardAgent=no",
                    "-o", "ForwardX11=no", "-o", "PermitLocalCommand=no", "-o", "RequestTTY=no",
                    "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "ConnectTimeout=10"]
        if let user { argv += ["-l", user] }
        if let port { argv += ["-p", String(port)] }
        if let identityFile { argv += ["-i", identityFile, "-o", "IdentitiesOnly=yes"] }
        argv += extraArguments
        var remote = "exec " + ([helperPath] + helperArguments).map(Self.shellQuoted).joined(separator: " ")
        // The remote shell expands SSH_CONNECTION ("client port server port");
        // the helper checks it strictly before using it.
        if excludesOwnConnection { remote += " --ssh-connection \"$SSH_CONNECTION\"" }
        argv += ["--", host, remote]
        return argv
    }

    /// `'text'`, with embedded quotes escaped, for a POSIX shell.
    static func shellQuoted(_ text: String) -> String {
        var quoted = "'"
        for c in text { quoted += c == "'" ? "'\\''" : String(c) }
        return quoted + "'"
    }
}
