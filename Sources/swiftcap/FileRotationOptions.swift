import ArgumentParser

/// `capture`'s ring buffer and autostop options: tcpdump's -C/-G/-W and
/// dumpcap's -b/-a (dumpcap's names and file naming for -b).
struct FileRotationOptions: ParsableArguments {
    @Option(name: .customShort("C"), help: ArgumentHelp("tcpdump: start a new -w file once it holds more than SIZE million bytes (file, file1, file2...).", valueName: "size"))
    var fileSizeMillions: Int?

    @Option(name: .customShort("G"), help: ArgumentHelp("tcpdump: start a new -w file every SECONDS, packets or not (strftime % codes in the name are expanded).", valueName: "seconds"))
    var rotateSeconds: Int?

    @Option(name: .customShort("W"), help: ArgumentHelp("tcpdump: with -C, keep COUNT files and reuse their names; with -G alone, stop after COUNT files.", valueName: "count"))
    var fileCount: Int?

    @Option(name: .customShort("b"), help: ArgumentHelp("dumpcap ring buffer: filesize:KB, duration:SECONDS, packets:N, files:N (keep the newest N); repeat to combine. Files are PREFIX_NNNNN_YYYYmmddHHMMSS.EXT.", valueName: "key:value"))
    var ringBuffer: [String] = []

    @Option(name: .customShort("a"), help: ArgumentHelp("dumpcap autostop: duration:SECONDS, packets:N, filesize:KB, files:N; repeat to combine.", valueName: "key:value"))
    var autostop: [String] = []

    /// The plan these options describe; nil when they ask for no rotation and no autostop.
    func plan() throws -> RotationPlan {
        var plan = RotationPlan()
        if fileSizeMillions != nil || rotateSeconds != nil || fileCount != nil {
            if !ringBuffer.isEmpty { throw ValidationError("-b (dumpcap) and -C/-G/-W (tcpdump) name files differently; use one style") }
            if let size = fileSizeMillions {
                guard size >= 1 else { throw ValidationError("-C SIZE is in millions of bytes and must be at least 1") }
                plan.rotation.bytes = size * 1_000_000
            }
            if let seconds = rotateSeconds {
                guard seconds >= 1 else { throw ValidationError("-G SECONDS must be at least 1") }
                plan.rotation.seconds = Double(seconds)
            }
            if let count = fileCount {
                guard count >= 1 else { throw ValidationError("-W COUNT must be at least 1") }
                guard fileSizeMillions != nil || rotateSeconds != nil else { throw ValidationError("-W needs -C or -G") }
                if fileSizeMillions != nil { plan.reuseNames = count } else { plan.stopAfterFiles = count }
            }
            plan.naming = .tcpdump(digits: fileCount.map { Self.digits($0 - 1) } ?? 0, expandTime: rotateSeconds != nil)
        }
        for entry in ringBuffer {
            let (key, value) = try Self.split(entry, flag: "-b", keys: ["filesize", "duration", "packets", "files"])
            switch key {
            case "filesize": plan.rotation.bytes = value * 1000
            case "duration": plan.rotation.seconds = Double(value)
            case "packets": plan.rotation.packets = value
            default: plan.keepFiles = value
            }
            plan.naming = .dumpcap
        }
        if plan.keepFiles != nil && plan.rotation.isNever {
            throw ValidationError("-b files:N keeps the newest N files, and files change only with -b filesize:, duration: or packets:; add one")
        }
        for entry in autostop {
            let (key, value) = try Self.split(entry, flag: "-a", keys: ["duration", "packets", "filesize", "files"])
            switch key {
            case "duration": plan.stopAfterSeconds = Double(value)
            case "packets": plan.stopAfterPackets = value
            case "filesize": plan.stopAtFileBytes = value * 1000
            default: plan.stopAfterFiles = value
            }
        }
        if plan.stopAfterFiles != nil && plan.rotation.isNever {
            throw ValidationError("-a files:N stops after N files, and files change only with -b or -C/-G; add one")
        }
        return plan
    }

    private static func split(_ entry: String, flag: String, keys: [String]) throws -> (String, Int) {
        let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, keys.contains(parts[0]) else {
            throw ValidationError("\(flag) \(entry): expected KEY:VALUE with KEY one of \(keys.joined(separator: ", "))")
        }
        guard let value = Int(parts[1]), value >= 1 else {
            throw ValidationError("\(flag) \(entry): the value must be a whole number of at least 1")
        }
        return (parts[0], value)
    }

    /// Decimal digits of `n` (0 for 0), as tcpdump pads -W file numbers.
    static func digits(_ n: Int) -> Int {
        var n = n, count = 0
        while n > 0 { count += 1; n /= 10 }
        return count
    }
}

/// When -w files change and when the capture stops, from `FileRotationOptions`.
struct RotationPlan {
    struct Rotation {
        var bytes: Int?
        var seconds: Double?
        var packets: Int?
        var isNever: Bool { bytes == nil && seconds == nil && packets == nil }
    }

    enum Naming {
        /// The -w name as given (no rotation).
        case single
        /// tcpdump: NAME, NAME1, NAME2... (-C), zero-padded to `digits` with -W;
        /// strftime codes expanded with -G.
        case tcpdump(digits: Int, expandTime: Bool)
        /// dumpcap: PREFIX_NNNNN_YYYYmmddHHMMSS.EXT
        case dumpcap
    }

    var rotation = Rotation()
    var naming = Naming.single
    /// dumpcap -b files:N: delete the oldest file beyond N.
    var keepFiles: Int?
    /// tcpdump -C with -W N: file numbers wrap at N (the oldest file is overwritten).
    var reuseNames: Int?
    var stopAfterFiles: Int?
    var stopAfterSeconds: Double?
    var stopAfterPackets: Int?
    var stopAtFileBytes: Int?

    /// Whether -w needs the rotating writer.
    var needsRingWriter: Bool {
        !rotation.isNever || stopAtFileBytes != nil
    }
}
