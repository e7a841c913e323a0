import ArgumentParser
import PacketCapture

extension CaptureCommand {
    /// -L and -J, worded as tcpdump words them, and like tcpdump on stderr.
    func listChoices() async throws {
        let (given, transport) = interfaces.first.map(remote.source) ?? (nil, remote.transport(host: remote.remote))
        let details: InterfaceDetails
        do throws(CaptureError) {
            var name = given
            if name == nil { name = try await NetworkDevice.defaultDevice(helperPath: helper, transport: transport).name }
            details = try await InterfaceDetails.of(name!, helperPath: helper, transport: transport)
        } catch {
            Output.standardError("swiftcap: \(CLIMessages.describe(error))\n")
            throw ExitCode(1)
        }
        var text = ""
        if listLinkTypes {
            text += "Data link types for \(details.interface) (use option -y to set):\n"
            for c in details.linkTypes { text += "  \(c.name) (\(c.description.isEmpty ? "not supported" : c.description))\n" }
        }
        if listTimestampTypes {
            if details.timestampTypes.isEmpty {
                Output.standardError("Time stamp type cannot be set for \(details.interface)\n")
            } else {
                text += "Time stamp types for \(details.interface) (use option -j to set):\n"
                for c in details.timestampTypes { text += "  \(c.name) (\(c.description))\n" }
            }
        }
        Output.standardError(text)
    }
}
