import ArgumentParser
import PacketCapture

@main
struct Swiftcap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftcap",
        abstract: "Capture, inject and read packets without holding privileges.",
        version: HelperInstallation.version,
        subcommands: [CaptureCommand.self, ReadCommand.self, DevicesCommand.self,
                      InstallHelperCommand.self, UninstallHelperCommand.self, DoctorCommand.self]
    )
}
