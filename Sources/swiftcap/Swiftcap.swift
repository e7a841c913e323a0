import ArgumentParser
import PacketCapture

@main
struct Swiftcap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftcap",
        abstract: "Capture, inject and read packets without holding privileges.",
        usage: "swiftcap <subcommand> | swiftcap -r FILE [read options] [FILTER ...] | swiftcap -D",
        version: HelperInstallation.version,
        subcommands: [CaptureCommand.self, ReadCommand.self, DevicesCommand.self, InjectCommand.self,
                      InstallHelperCommand.self, UninstallHelperCommand.self, DoctorCommand.self]
    )

    static func main() async {
        let names = configuration.subcommands.compactMap { $0.configuration.commandName }
        if await TopLevelForms.run(Array(CommandLine.arguments.dropFirst()), subcommands: names) { return }
        await main(nil)
    }
}
