/// A pcap-filter(7) expression, compiled by the helper (libpcap never runs in
/// this process) once for each link type it meets, and run here by the BPF
/// interpreter.
///
/// The same filter serves any number of files and packets; each compiled
/// program is kept, so only a link type (or byte order) not met before costs
/// a helper round trip:
///
/// ```swift
/// let filter = PacketFilter("tcp port 443")
/// try await file.forEachPacket(matching: filter) { view in ... }   // compiles as tcpdump -r does
/// if try await filter.matches(livePacket) { ... }
/// ```
///
/// Not `Sendable`: its cache of programs is used by one task at a time.
public final class PacketFilter {
    public let expression: String
    /// Whether libpcap's optimizer runs (tcpdump -O turns it off).
    public let optimize: Bool
    public let netmask: UInt32?
    public let snapshotLength: Int
    /// The helper that compiles (nil: the usual search, see `HelperLocator`).
    public let helperPath: String?
    /// How long the helper may take per request.
    public let timeout: Duration

    /// A program's key: filters for files compile in the file's byte order
    /// (`FilterCompiler.compile(byteSwapped:)`).
    private struct Key: Hashable {
        let linkType: LinkType
        let byteSwapped: Bool
    }

    /// Compiled programs; nil for a link type the helper returned no program for
    /// (which then matches nothing).
    private var programs: [Key: BPFProgram?] = [:]
    /// The program of the last packet's key, so a run of packets of one link
    /// type (the usual file) looks nothing up.
    private var lastKey: Key?
    private var lastProgram: BPFProgram?

    /// - Parameter expression: pcap-filter(7) syntax; an empty (or blank)
    ///   expression matches every packet and never starts the helper.
    public init(_ expression: String, optimize: Bool = true, netmask: UInt32? = nil, snapshotLength: Int = 262_144,
                helperPath: String? = nil, timeout: Duration = .seconds(5)) {
        self.expression = expression
        self.optimize = optimize
        self.netmask = netmask
        self.snapshotLength = snapshotLength
        self.helperPath = helperPath
        self.timeout = timeout
        matchesEverything = expression.allSatisfy(\.isWhitespace)
    }

    /// Whether every packet matches (the expression is blank): nothing to compile.
    public let matchesEverything: Bool

    /// Compiles for those of `linkTypes` not compiled yet, in one helper session.
    /// - Throws: as `FilterCompiler.compile` (`.filterInvalid` with libpcap's
    ///   message, `.helperNotFound`, `.timedOut`, ...).
    public func prepare(for linkTypes: [LinkType], byteSwapped: Bool = false) async throws(CaptureError) {
        guard !matchesEverything else { return }
        let missing = linkTypes.filter { programs[Key(linkType: $0, byteSwapped: byteSwapped)] == nil }
        guard !missing.isEmpty else { return }
        let compiled = try await FilterCompiler.compile(
            expression, linkTypes: missing, snapshotLength: snapshotLength, optimize: optimize, netmask: netmask,
            byteSwapped: byteSwapped, helperPath: helperPath, timeout: timeout)
        for linkType in missing {
            programs[Key(linkType: linkType, byteSwapped: byteSwapped)] = .some(compiled[linkType])
        }
        lastKey = nil
    }

    /// Compiles for every link type `file` is known to hold (all of a mapped
    /// file's; those read so far of a pcapng stream), in its byte order. The
    /// filtered walks do this themselves; calling it first reports a bad
    /// expression before anything else happens.
    public func prepare(for file: CaptureFile) async throws(CaptureError) {
        guard !matchesEverything else { return }   // linkTypes() of a pcapng file walks its block headers
        try await prepare(for: file.linkTypes(), byteSwapped: file.isByteSwapped)
    }

    /// Whether a packet of the view's link type (and byte order) has a program.
    public func isPrepared(for view: PacketView) -> Bool {
        matchesEverything || programs[Key(linkType: view.linkType, byteSwapped: view.swapped)] != nil
    }

    /// Whether the filter accepts the packet; nil when it is not compiled for
    /// the view's link type yet (`prepare(for:byteSwapped:)` with
    /// `view.linkType`). The filtered walks of `CaptureFile` compile as needed.
    public func matches(_ view: PacketView) -> Bool? {
        verdict(view.bytes, wireLength: view.wireLength,
                key: Key(linkType: view.linkType, byteSwapped: view.swapped))
    }

    /// Whether the filter accepts `packet` (a live one, or a copy from a file
    /// in host byte order), compiling for its link type first if needed.
    public func matches(_ packet: Packet) async throws(CaptureError) -> Bool {
        let key = Key(linkType: packet.linkType, byteSwapped: false)
        if programs[key] == nil && !matchesEverything { try await prepare(for: [packet.linkType]) }
        return packet.bytes.withUnsafeBytes { verdict($0, wireLength: packet.wireLength, key: key) } ?? false
    }

    /// The program for packets of `linkType` in that byte order: nil when not
    /// compiled yet, `.some(nil)` when it matches nothing (for loops that keep
    /// the program at hand while the link type stays the same).
    func program(for linkType: LinkType, byteSwapped: Bool) -> BPFProgram?? {
        programs[Key(linkType: linkType, byteSwapped: byteSwapped)]
    }

    @inline(__always)
    private func verdict(_ bytes: UnsafeRawBufferPointer, wireLength: Int, key: Key) -> Bool? {
        if key != lastKey {
            if matchesEverything { return true }
            guard let entry = programs[key] else { return nil }
            lastKey = key
            lastProgram = entry
        }
        guard let program = lastProgram else { return false }
        return program.run(bytes, wireLength: wireLength) != 0
    }
}
