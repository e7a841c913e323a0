import ArgumentParser
import Glibc
import PacketCapture

/// `swiftcap install-helper`: puts swiftcap-helper in place with its group,
/// mode and file capability, then runs it once to check that it works.
struct InstallHelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install-helper",
        abstract: "Install swiftcap-helper with the capability to capture (run as root).",
        discussion: """
        Installs the helper at PREFIX/libexec/swiftcap/swiftcap-helper, owned by root, \
        mode 0750 and group NAME with --group (only members of NAME can capture) or \
        mode 0755 without (every user can), with the file capability cap_net_raw=ep \
        (plus cap_net_admin with --monitor-mode). Then runs the installed helper once. \
        Running it again with the same options changes nothing.
        """
    )

    @Option(help: ArgumentHelp("Installation prefix; the helper goes to PREFIX/libexec/swiftcap.", valueName: "prefix"))
    var prefix = "/usr/local"

    @Option(help: ArgumentHelp("Only members of this group may run the helper (mode 0750).", valueName: "name"))
    var group: String?

    @Flag(help: "Create the --group as a system group if it does not exist.")
    var createGroup = false

    @Flag(help: "Also grant cap_net_admin, which monitor mode on wireless interfaces needs.")
    var monitorMode = false

    @Option(help: ArgumentHelp("The helper to install (default: swiftcap-helper next to this swiftcap).", valueName: "path"))
    var from: String?

    func validate() throws {
        if createGroup && group == nil { throw ValidationError("--create-group needs --group NAME") }
    }

    func run() async throws {
        let installer = HelperInstaller(source: from ?? HelperInstaller.executableDirectory() + "/swiftcap-helper",
                                        prefix: prefix, group: group, createGroup: createGroup, monitorMode: monitorMode)
        let outcome = await offThePool { () -> Result<HelperInstaller.Outcome, InstallRefusal> in
            do throws(InstallRefusal) { return .success(try installer.install()) } catch { return .failure(error) }
        }
        let path = installer.destination
        switch outcome {
        case .failure(let refusal):
            Output.standardError("swiftcap: install-helper: \(refusal.message)\n")
            throw ExitCode(1)
        case .success(.unchanged):
            Output.standardOutput("unchanged: \(path) is already installed as asked\n")
        case .success(.installed):
            Output.standardOutput("installed \(path)\n")
        }
        let status = await offThePool { HelperFileStatus.inspect(path) }
        let caps = status.capabilities.map(String.init(describing:)) ?? "no capability"
        Output.standardOutput("  swiftcap \(HelperInstallation.version), \(status.permissionsDescription), \(caps)\n")

        // Run it once: it must answer the protocol (hello, then a device list).
        do {
            let devices = try await NetworkDevice.all(helperPath: path)
            Output.standardOutput("  verified: it answers and sees \(devices.count) capture devices\n")
        } catch {
            Output.standardError("swiftcap: install-helper: \(path) was installed but does not work: \(error.message)\n")
            throw ExitCode(1)
        }

        if let group {
            Output.standardOutput("members of group \(group) can capture; to add a user: usermod -aG \(group) USER, then log in again\n")
        } else {
            Output.standardOutput("every user of this machine can capture with it; to restrict it: install-helper --group NAME --create-group\n")
        }
        if !HelperInstallation.searchPaths.contains(path) {
            Output.standardOutput("programs find a helper under this prefix when they run from \(prefix)/bin; others need SWIFTCAP_HELPER=\(path)\n")
        }
        Output.standardOutput("check everything with: swiftcap doctor\n")
    }
}
