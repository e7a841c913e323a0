import ArgumentParser

/// What `swiftcap` does with tcpdump's top-level forms: `swiftcap [OPTIONS] -r FILE ...`
/// is `swiftcap read FILE [OPTIONS] ...`, `swiftcap -D` is `swiftcap devices`, and a
/// misspelled subcommand gets a suggestion instead of a complaint about its options.
/// (A root command with arguments of its own would hide the subcommands from
/// ArgumentParser, hence this look at the raw arguments first.)
enum TopLevelForms {
    /// Handles `arguments` (without the program name) when they are a top-level
    /// form; returns false to leave them to ArgumentParser.
    static func run(_ arguments: [String], subcommands: [String]) async -> Bool {
        guard let first = arguments.first else { return false }
        if !first.hasPrefix("-") {
            if subcommands.contains(first) || first == "help" { return false }
            Swiftcap.exit(withError: ValidationError(unknownSubcommandMessage(first, subcommands: subcommands)))
        }
        if let r = arguments.firstIndex(of: "-r"), r + 1 < arguments.count {
            var rest = arguments
            let file = rest.remove(at: r + 1)
            rest.remove(at: r)
            await ReadCommand.main([file] + rest)
            return true
        }
        if arguments.contains("-D") {
            await DevicesCommand.main(arguments.filter { $0 != "-D" })
            return true
        }
        if !first.hasPrefix("--") && first != "-h" {
            // tcpdump's capture options without a subcommand (`swiftcap -i eth0`).
            Swiftcap.exit(withError: ValidationError(
                "Unknown option '\(first)'; options go after a subcommand: swiftcap capture \(arguments.joined(separator: " "))"))
        }
        return false
    }

    /// "Unknown subcommand 'captur'. Did you mean 'capture'?"
    static func unknownSubcommandMessage(_ word: String, subcommands: [String]) -> String {
        let lowered = word.lowercased()
        let closest = subcommands.map { ($0, editDistance(lowered, $0)) }.min { $0.1 < $1.1 }
        if let (name, distance) = closest, distance <= max(2, name.count / 3) || name.hasPrefix(lowered) {
            return "Unknown subcommand '\(word)'. Did you mean '\(name)'?"
        }
        return "Unknown subcommand '\(word)'; the subcommands are \(subcommands.joined(separator: ", "))"
    }

    /// Levenshtein distance between `a` and `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0 ... b.count)
        for i in 1 ... a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1 ... b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
