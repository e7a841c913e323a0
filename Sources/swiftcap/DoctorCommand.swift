import ArgumentParser
import PacketCapture

/// `swiftcap doctor`: every check capture depends on, one line each.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that this user can capture: the helper, its version, permissions, capability, mount, kernel, devices, and a test open.",
        discussion: "Prints one line per check, ✓ or ✗ with the fix. Exits with status 0 only when everything capture needs works."
    )

    @Option(help: ArgumentHelp("Path of swiftcap-helper (default: the search order of the library).", valueName: "path"))
    var helper: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The interface to open for the end-to-end check.", valueName: "iface"))
    var interface = "lo"

    @Flag(help: "Print the checks as one JSON object.")
    var json = false

    func run() async throws {
        let checks = await Doctor(helperPath: helper, interface: interface).run()
        let ok = checks.allSatisfy { $0.ok || !$0.needed }
        if json {
            let items = checks.map { c in
                var item = "{\"name\":\(PacketJSON.jsonString(c.name)),\"ok\":\(c.ok),\"needed\":\(c.needed),\"detail\":\(PacketJSON.jsonString(c.detail))"
                if let fix = c.fix { item += ",\"fix\":\(PacketJSON.jsonString(fix))" }
                return item + "}"
            }
            Output.standardOutput("{\"ok\":\(ok),\"version\":\(PacketJSON.jsonString(HelperInstallation.version)),\"checks\":[\(items.joined(separator: ","))]}\n")
        } else {
            var text = ""
            for c in checks {
                text += "\(c.ok ? "✓" : "✗") \(c.name): \(c.detail)"
                if let fix = c.fix, !c.ok { text += "; fix: \(fix)" }
                text += "\n"
            }
            text += ok ? "capture works for this user\n" : "capture does not work for this user yet: fix the ✗ lines above\n"
            Output.standardOutput(text)
        }
        if !ok { throw ExitCode(1) }
    }
}
