import ArgumentParser

@main
struct Swiftcap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftcap",
        abstract: "Capture, inject and read packets without holding privileges.",
        subcommands: [CaptureCommand.self, ReadCommand.self, DevicesCommand.self]
    )
}
