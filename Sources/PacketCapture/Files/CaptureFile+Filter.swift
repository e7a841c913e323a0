// Filtered walks: the walk stays synchronous and allocation-free; it pauses
// only at a packet whose link type the filter has no program for (a pcapng
// stream can declare interfaces at any point), awaits the helper, and resumes
// with that packet. Its view stays valid meanwhile: nothing is read during the pause.

extension CaptureFile {
    /// Calls `body` with every packet that `filter` accepts, in file order.
    ///
    /// The filter is compiled for the file's link types first (as tcpdump -r
    /// compiles, in the file's byte order), and for any link type a pcapng
    /// stream declares later, when it appears. A stream is read on a thread of
    /// the file's own (see `packets`); `body` runs there too.
    ///
    /// - Throws: `CaptureError` when the filter does not compile (before any
    ///   packet, unless the link type appears mid-stream); `CaptureFileError`
    ///   after every complete packet of a damaged file; whatever `body` throws.
    public func forEachPacket(matching filter: PacketFilter, _ body: (PacketView) throws -> Void) async throws {
        try await forEachRecord(matching: filter, blocks: false) { record in
            if case .packet(let view) = record { try body(view) }
            return true
        }
    }

    /// `forEachRecord(_:)` with only the packets `filter` accepts (every other
    /// pcapng block is still handed out): what a filtered copy of a pcapng file
    /// needs. Returning false from `body` ends the walk.
    public func forEachRecord(matching filter: PacketFilter, _ body: (CaptureFileRecord) throws -> Bool)
        async throws {
        try await forEachRecord(matching: filter, blocks: true, body)
    }

    private func forEachRecord(matching filter: PacketFilter, blocks: Bool,
                               _ body: (CaptureFileRecord) throws -> Bool) async throws {
        try await withTaskExecutorPreference(try streamReadExecutor()) {
            if filter.matchesEverything {
                var walker = try makeWalker()
                _ = try walkRecords(&walker, blocks: blocks, body)
                return
            }
            try await filter.prepare(for: self)
            var walker = try makeWalker()
            var pending: PacketView?
            while true {
                switch try walkRecords(&walker, blocks: blocks, matching: filter, resumingWith: pending, body) {
                case .ended, .stopped:
                    return
                case .unprepared(let view):
                    try await filter.prepare(for: [view.linkType] + linkTypes(), byteSwapped: view.swapped)
                    pending = view
                }
            }
        }
    }

    /// Adds the number of packets `filter` accepts to `count`: the filtered walk
    /// with no view handed out and no closure called per packet (what
    /// `swiftcap read --count FILTER` runs). After a throw, `count` holds the
    /// matches before the damage.
    public func countPackets(matching filter: PacketFilter, into count: inout Int) async throws {
        if filter.matchesEverything {
            // A blank filter: the plain count, with no helper and no program.
            return try await withTaskExecutorPreference(try streamReadExecutor()) { try countPackets(into: &count) }
        }
        try await withTaskExecutorPreference(try streamReadExecutor()) {
            try await filter.prepare(for: self)
            var walker = try makeWalker()
            var loop = PacketCountLoop(file: self, filter: filter)
            defer { count += loop.count }
            while true {
                try walk(&walker, &loop)
                guard let view = loop.unprepared else { return }
                try await filter.prepare(for: [view.linkType] + linkTypes(), byteSwapped: view.swapped)
            }
        }
    }

    enum FilteredWalkEnd {
        case ended
        case stopped
        /// A packet the filter has no program for yet; pass it back as `pending`.
        case unprepared(PacketView)
    }

    /// Walks on from `pending` (a packet that paused the last call), handing
    /// `body` the blocks and the packets `filter` accepts.
    func walkRecords(_ walker: inout Walker, blocks: Bool, matching filter: PacketFilter,
                     resumingWith pending: PacketView?, _ body: (CaptureFileRecord) throws -> Bool) throws
        -> FilteredWalkEnd {
        if let pending {
            guard let match = filter.matches(pending) else { return .unprepared(pending) }
            if match, try !body(.packet(pending)) { return .stopped }
        }
        var unprepared: PacketView?
        let ended = try walkRecords(&walker, blocks: blocks) { record in
            if case .packet(let view) = record {
                guard let match = filter.matches(view) else {
                    unprepared = view
                    return false
                }
                if !match { return true }
            }
            return try body(record)
        }
        if let unprepared { return .unprepared(unprepared) }
        return ended ? .ended : .stopped
    }
}

/// Counts the packets a filter accepts without handing out views, stopping at one
/// it has no program for (`unprepared`), with which the next run starts. (Every
/// packet, for a blank filter: `EveryPacketCountLoop`.)
struct PacketCountLoop: WalkLoop {
    unowned(unsafe) let file: CaptureFile
    let filter: PacketFilter
    var count = 0
    var unprepared: PacketView?

    mutating func run<W: RecordWalker>(_ walker: inout W) throws(CaptureFileError) {
        var w = walker   // locals stay in registers; the inouts would be stored every record
        var n = 0
        defer {
            walker = w
            count &+= n
        }
        do {
            // The program stays at hand while the link type (and byte order) does.
            var linkType: LinkType?
            var swapped = false
            var program: BPFProgram?
            var next = unprepared
            unprepared = nil
            if next == nil { next = try w.next() }
            while let view = next {
                if view.linkType != linkType || view.swapped != swapped {
                    guard let entry = filter.program(for: view.linkType, byteSwapped: view.swapped) else {
                        unprepared = view
                        return
                    }
                    (linkType, swapped, program) = (view.linkType, view.swapped, entry)
                }
                if let program, program.run(view.unsafeBytes, wireLength: view.wireLength) != 0 { n &+= 1 }
                next = try w.next()
            }
        } catch {
            throw file.failed(error)
        }
    }
}
