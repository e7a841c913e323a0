import ArgumentParser
import Glibc
import PacketCapture

/// `swiftcap uninstall-helper`: removes what install-helper put in place.
struct UninstallHelperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall-helper",
        abstract: "Remove the helper that install-helper installed (run as root).",
        discussion: "Removes PREFIX/libexec/swiftcap/swiftcap-helper, and the directory when it is left empty. A group made by --create-group stays (groupdel NAME removes it)."
    )

    @Option(help: ArgumentHelp("The prefix given to install-helper.", valueName: "prefix"))
    var prefix = "/usr/local"

    func run() async throws {
        let path = HelperInstallation.installedPath(prefix: prefix)
        let removed = await offThePool { () -> Result<Bool, InstallRefusal> in
            do throws(InstallRefusal) {
                try HelperInstaller.requireRoot("uninstall-helper")
                if unlink(path) != 0 {
                    guard errno == ENOENT else { throw InstallRefusal("cannot remove \(path): \(HelperInstaller.errorText())") }
                    return .success(false)
                }
                rmdir(path.dirname) // only when empty
                return .success(true)
            } catch {
                return .failure(error)
            }
        }
        switch removed {
        case .failure(let refusal):
            Output.standardError("swiftcap: uninstall-helper: \(refusal.message)\n")
            throw ExitCode(1)
        case .success(true):
            Output.standardOutput("removed \(path)\n")
        case .success(false):
            Output.standardOutput("nothing to remove: \(path) does not exist\n")
        }
    }
}
