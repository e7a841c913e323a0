import ArgumentParser
import Glibc
import PacketCapture

/// `swiftcap devices`: the capture devices, like `tcpdump -D` with addresses.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List capture devices (pcap_findalldevs, through swiftcap-helper)."
    )

    @Option(help: "Path of swiftcap-helper.")
    var helper: String?

    func run() async throws {
        let devices: [NetworkDevice]
        do {
            devices = try await NetworkDevice.all(helperPath: helper)
        } catch {
            Output.standardError("swiftcap: \(error.message)\n")
            throw ExitCode(1)
        }
        var text = ""
        for (i, d) in devices.enumerated() {
            var flags: [String] = []
            if d.flags.contains(.up) { flags.append("Up") }
            if d.flags.contains(.running) { flags.append("Running") }
            if d.flags.contains(.loopback) { flags.append("Loopback") }
            if d.flags.contains(.wireless) { flags.append("Wireless") }
            text += "\(i + 1).\(d.name)"
            if let description = d.description { text += " (\(description))" }
            if !flags.isEmpty { text += " [\(flags.joined(separator: ", "))]" }
            text += "\n"
            for a in d.addresses { text += "    \(a)\n" }
        }
        Output.standardOutput(text)
    }
}
