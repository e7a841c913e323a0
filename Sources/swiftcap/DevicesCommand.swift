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

    @OptionGroup(title: "Remote devices (through ssh)")
    var remote: RemoteOptions

    @Flag(name: .customLong("link-types"), help: "Also show each device's link type, as tcpdump names it (opens a capture on every device that is up).")
    var linkTypes = false

    func run() async throws {
        let devices: [NetworkDevice]
        do {
            devices = try await NetworkDevice.all(helperPath: helper, transport: remote.transport(host: remote.remote))
        } catch {
            Output.standardError("swiftcap: \(CLIMessages.describe(error))\n")
            throw ExitCode(1)
        }
        let names = linkTypes ? await Self.linkTypeNames(of: devices, helper: helper, transport: remote.transport(host: remote.remote)) : [:]
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
            if let name = names[d.name] { text += " link-type \(name)" }
            text += "\n"
            for a in d.addresses { text += "    \(a)\n" }
        }
        Output.standardOutput(text)
    }

    /// The link type each device that is up opens with ("EN10MB (Ethernet)"), or
    /// why it could not be opened. Devices that are down are not touched: opening
    /// some (nfqueue, dbus) would do more than look.
    static func linkTypeNames(of devices: [NetworkDevice], helper: String?, transport: HelperTransport = .local) async -> [String: String] {
        var options = CaptureOptions()
        options.helperPath = helper
        options.transport = transport
        options.snapshotLength = 64
        options.filter = "less 1"   // nothing: the capture is opened only to ask
        let openOptions = options
        return await withTaskGroup(of: (String, String).self) { group in
            for device in devices where device.flags.contains(.up) {
                group.addTask {
                    do throws(CaptureError) {
                        let capture = try await LiveCapture.open(interface: device.name, options: openOptions)
                        await capture.close()
                        return (device.name, capture.linkType.tcpdumpName)
                    } catch {
                        return (device.name, "unknown (\(error.code))")
                    }
                }
            }
            var names: [String: String] = [:]
            for await (device, name) in group { names[device] = name }
            return names
        }
    }
}
