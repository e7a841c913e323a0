import ArgumentParser

/// dumpcap's `-f FILTER` after an `-i`: that interface's capture filter. An
/// `-f` before the first `-i` is the filter of every interface without its
/// own, as are the filter words and `-F FILE` (tcpdump's way).
///
/// ArgumentParser keeps the values of `-i` and of `-f` in two arrays and
/// forgets how they interleave, so the order comes from the raw arguments;
/// what they say is checked against what ArgumentParser parsed.
struct InterfaceFilters: Equatable {
    /// The filter of interfaces without their own `-f` (nil: none).
    var common: String?
    /// Per `-i`, in order: its own `-f`, or nil.
    var own: [String?]

    /// The filter of interface number `index`.
    func filter(for index: Int) -> String? { own.indices.contains(index) ? own[index] ?? common : common }

    /// Pairs each `-f` of `arguments` (the words after `capture`) with the
    /// `-i` before it.
    /// - Parameters:
    ///   - interfaces, filters: the `-i` and `-f` values ArgumentParser parsed.
    ///   - words: the filter from the filter words or `-F` ("" when none).
    static func pair(arguments: [String], interfaces: [String], filters: [String], words: String) throws(ValidationError) -> InterfaceFilters {
        var result = InterfaceFilters(common: words.isEmpty ? nil : words, own: Array(repeating: nil, count: interfaces.count))
        guard !filters.isEmpty else { return result }
        var seenInterfaces: [String] = [], seenFilters: [String] = []
        var index = 0
        while index + 1 < arguments.count, arguments[index] != "--" {
            let (word, value) = (arguments[index], arguments[index + 1])
            if word == "-i" {
                seenInterfaces.append(value)
            } else if word == "-f" {
                seenFilters.append(value)
                if let last = seenInterfaces.indices.last, last < result.own.count {
                    if result.own[last] != nil {
                        throw ValidationError("-i \(seenInterfaces[last]) has two -f filters; give each interface one (join them with and/or)")
                    }
                    result.own[last] = value
                } else {
                    if result.common != nil {
                        throw ValidationError("-f \(value) before any -i is the filter of every interface, and so are the filter words or -F; give one of them")
                    }
                    result.common = value
                }
            } else {
                index += 1
                continue
            }
            index += 2
        }
        guard seenInterfaces == interfaces, seenFilters == filters else {
            // Defensive: the raw words and ArgumentParser disagree (another entry point than the command line).
            throw ValidationError("-f FILTER applies to the -i before it: write each as separate words (-i IFACE -f 'FILTER')")
        }
        return result
    }

    /// The words after the `capture` subcommand in this process's command line.
    static var commandLineArguments: [String] {
        let all = Array(CommandLine.arguments.dropFirst())
        return all.firstIndex(of: "capture").map { Array(all[($0 + 1)...]) } ?? all
    }
}
