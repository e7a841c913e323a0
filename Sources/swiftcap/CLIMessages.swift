import PacketCapture

/// The library's errors name its API (`helperPath`, `promiscuous: false`...);
/// the reader of a CLI message typed flags. This puts the advice in the CLI's
/// words, once, so no message tells a CLI user about a Swift property.
enum CLIMessages {
    /// API phrase → CLI phrase. Longest first where one contains another.
    static let translations: [(api: String, cli: String)] = [
        ("set SWIFTCAP_HELPER or the helperPath option to a swiftcap-helper executable", "give --helper PATH (or set SWIFTCAP_HELPER)"),
        ("set SWIFTCAP_HELPER or the helperPath option to its path", "give --helper PATH (or set SWIFTCAP_HELPER)"),
        ("point helperPath at a swiftcap-helper executable", "give --helper the path of a swiftcap-helper executable"),
        ("given by the helperPath option", "given by --helper"),
        ("the helperPath option", "--helper"),
        ("(promiscuous: false, -p)", "(-p)"),
        ("use timestampPrecision: .microseconds", "use --micro"),
        ("drop monitorMode for other interfaces", "drop -I for other interfaces"),
        ("drop monitorMode", "drop -I"),
        ("or raise filterLengthLimit", "(\(CaptureOptions.defaultFilterLengthLimit) bytes at most)"),
        ("or compile it without optimization (with optimize: false, or CaptureOptions.optimizeFilter = false)", "or compile it without optimization (-O)"),
        ("list interfaces with `swiftcap devices` or NetworkDevice.all()", "list interfaces with swiftcap devices (-D)"),
        ("; list interfaces with NetworkDevice.all()", "; list interfaces with swiftcap devices (-D)"),
        ("try again, or raise CaptureOptions.requestTimeout", "try again"),
        ("try again, or raise CaptureOptions.openTimeout", "try again"),
        ("try again, or raise the timeout parameter of NetworkDevice.all", "try again"),
        ("try again, or raise the timeout parameter of FilterCompiler.compile", "try again"),
        ("or set SSHDestination.helperPath", "or give --remote-helper PATH"),
        ("or set SSHDestination.sshPath", "(ssh must be on PATH at /usr/bin/ssh)"),
        ("open a new LiveCapture to capture again", "run the capture again"),
        ("list its link types with InterfaceDetails.of(interface)", "list its link types with -L"),
        ("list its time stamp types with InterfaceDetails.of(interface)", "list its time stamp types with -J"),
        ("capture without promiscuous mode", "capture without promiscuous mode"),
    ]

    /// The names no CLI message may contain (checked by the tests).
    static let apiNames = ["helperPath", "promiscuous:", "timestampPrecision", "monitorMode", "filterLengthLimit", "optimize:",
                           "NetworkDevice", "CaptureOptions", "InterfaceDetails", "FilterCompiler", "SSHDestination", "LiveCapture", "snapshotLength", "bufferSize"]

    /// `error`'s message in the CLI's words.
    static func describe(_ error: CaptureError) -> String {
        var text = error.message
        for (api, cli) in translations where text.contains(api) {
            text = text.replacing(api, with: cli)
        }
        return text
    }
}
