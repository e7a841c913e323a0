import Glibc

/// The SSH session a remote helper runs in, from `$SSH_CONNECTION` ("CLIENT
/// PORT SERVER PORT", expanded by the remote shell and passed as an argument):
/// its packets are left out of every filter, as Wireshark's sshdump does, so a
/// capture does not capture its own transport.
///
/// The text comes from whoever runs the helper, so it is checked strictly:
/// two addresses that inet_pton accepts and two port numbers, nothing else,
/// before any of it reaches a filter expression.
struct SSHConnection {
    var client: String
    var clientPort: UInt16
    var server: String
    var serverPort: UInt16

    /// nil for an empty value (no SSH session: nothing to leave out).
    static func parse(_ text: String) throws(HelperError) -> SSHConnection? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if fields.isEmpty { return nil }
        func invalid() -> HelperError {
            HelperError(.badRequest, "--ssh-connection takes \"CLIENT PORT SERVER PORT\" as sshd sets SSH_CONNECTION; got \"\(text.prefix(120))\"")
        }
        guard fields.count == 4, isAddress(fields[0]), isAddress(fields[2]),
              let clientPort = UInt16(fields[1]), clientPort > 0, let serverPort = UInt16(fields[3]), serverPort > 0 else {
            throw invalid()
        }
        return SSHConnection(client: fields[0], clientPort: clientPort, server: fields[2], serverPort: serverPort)
    }

    /// inet_pton accepts it as an IPv4 or IPv6 address.
    private static func isAddress(_ text: String) -> Bool {
        guard text.utf8.count <= 64 else { return false }
        var storage = in6_addr()
        return inet_pton(AF_INET, text, &storage) == 1 || inet_pton(AF_INET6, text, &storage) == 1
    }

    /// `not (tcp and host C and host S and port CP and port SP)`.
    var exclusionFilter: String {
        "not (tcp and host \(client) and host \(server) and port \(clientPort) and port \(serverPort))"
    }
}
