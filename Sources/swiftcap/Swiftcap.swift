import ArgumentParser

@main
struct Swiftcap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftcap",
        abstract: "Capture, inject and read packets without holding privileges.",
        usage: "swiftcap <subcommand> | swiftcap -r FILE [read options] [FILTER ...] | swiftcap -D",
        subcommands: [CaptureCommand.self, ReadCommand.self, DevicesCommand.self, InjectCommand.self]
    )

    static func main() async {
        let names = configuration.subcommands.compactMap { $0.configuration.commandName }
        if await TopLevelForms.run(Array(CommandLine.arguments.dropFirst()), subcommands: names) { return }
        await main(nil)
    }
}
