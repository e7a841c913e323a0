import ArgumentParser

/// tcpdump's output flags, shared by `capture` and `read`.
struct OutputOptions: ParsableArguments {
    @Flag(name: .customShort("n"), help: "Don't convert addresses or ports to names (swiftcap never does; accepted as tcpdump accepts it).")
    var noNameResolution = false

    @Flag(name: .customShort("q"), help: "Quick output: less protocol information (tcpdump -q).")
    var quiet = false

    @Flag(name: .customShort("e"), help: "Print the link-level header on each line.")
    var linkHeader = false

    @Flag(name: .customShort("t"), help: "-t: no timestamp; -tt: seconds since the epoch; -ttt: delta from the previous packet; -tttt: date and time; -ttttt: delta from the first packet.")
    var timestampFlags: Int

    @Flag(name: .customShort("x"), help: "-x: hex of each packet without its link header; -xx: with it.")
    var hex: Int

    @Flag(name: .customShort("X"), help: "-X: hex and ASCII of each packet without its link header; -XX: with it.")
    var hexAndASCII: Int

    @Flag(name: .customShort("A"), help: "Print each packet (without its link header) in ASCII.")
    var ascii = false

    @Flag(name: .customShort("v"), help: "Verbose: IP TTL, id, length, options and checksums.")
    var verbose = false

    @Flag(name: .customShort("S"), help: "Print absolute TCP sequence numbers (relative by default).")
    var absoluteSequenceNumbers = false

    func validate() throws {
        if timestampFlags > 5 { throw ValidationError("-t can be given at most five times (-ttttt)") }
        if hex > 2 || hexAndASCII > 2 { throw ValidationError("-x and -X can be given at most twice (-xx, -XX)") }
    }

    enum TimestampFormat { case clock, none, epoch, sincePrevious, dateAndClock, sinceFirst }

    var timestampFormat: TimestampFormat {
        [.clock, .none, .epoch, .sincePrevious, .dateAndClock, .sinceFirst][timestampFlags]
    }
}
