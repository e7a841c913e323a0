// Every walk over a file goes through `Walker.run`: the one switch on the
// format, taken once per walk (not per record), so each loop below is
// specialised for each walker and stays a tight loop.

/// What the pcap and pcapng walkers both offer.
protocol RecordWalker {
    /// The next packet, or nil at the end of the file.
    mutating func next() throws(CaptureFileError) -> PacketView?
    /// The next packet or, with `blocks`, the next pcapng block that is not one.
    mutating func nextRecord(blocks: Bool) throws(CaptureFileError) -> CaptureFileRecord?
    /// Moves past the next packet with every check but no view; false at the end.
    mutating func skipPacket() throws(CaptureFileError) -> Bool
    /// Sum of the bytes touched ahead (see `ByteWindow.touch`).
    var touched: UInt8 { get }
}

extension PcapWalker: RecordWalker {}
extension PcapngWalker: RecordWalker {}

/// A loop over a walker, written once for both formats.
protocol WalkLoop {
    associatedtype Result
    associatedtype Failure: Error
    mutating func run<W: RecordWalker>(_ walker: inout W) throws(Failure) -> Result
}

extension CaptureFile.Walker {
    /// Runs `loop` on the walker of the file's format.
    @inline(__always)
    mutating func run<L: WalkLoop>(_ loop: inout L) throws(L.Failure) -> L.Result {
        switch self {
        case .pcap(var w):
            defer { self = .pcap(w) }
            return try loop.run(&w)
        case .pcapng(var w):
            defer { self = .pcapng(w) }
            return try loop.run(&w)
        }
    }

    var touched: UInt8 {
        switch self {
        case .pcap(let w): w.touched
        case .pcapng(let w): w.touched
        }
    }
}

/// Records in file order until the body returns false.
struct RecordLoop: WalkLoop {
    let blocks: Bool
    unowned(unsafe) let file: CaptureFile
    let body: (CaptureFileRecord) throws -> Bool

    /// - Returns: whether the file ended (rather than the body stopping the walk).
    mutating func run<W: RecordWalker>(_ walker: inout W) throws -> Bool {
        var w = walker   // a local copy stays in registers; the inout would be stored every record
        defer { walker = w }
        while true {
            let record: CaptureFileRecord?
            do { record = try w.nextRecord(blocks: blocks) } catch { throw file.failed(error) }
            guard let record else { return true }
            guard try body(record) else { return false }
        }
    }
}

/// One record (for iterators).
struct StepLoop: WalkLoop {
    let blocks: Bool
    unowned(unsafe) let file: CaptureFile

    mutating func run<W: RecordWalker>(_ walker: inout W) throws(CaptureFileError) -> CaptureFileRecord? {
        do { return try walker.nextRecord(blocks: blocks) } catch { throw file.failed(error) }
    }
}

extension CaptureFile {
    enum Walker {
        case pcap(PcapWalker)
        case pcapng(PcapngWalker)
    }

    /// Calls `body` with every packet, in file order. `body` must not keep the
    /// view (or its `bytes`) after it returns: copy with `makePacket()`.
    ///
    /// - Throws: `CaptureFileError` after delivering every complete packet of a
    ///   damaged file; whatever `body` throws.
    public func forEachPacket(_ body: (PacketView) throws -> Void) throws {
        var walker = try makeWalker()
        _ = try walkRecords(&walker, blocks: false) { record in
            if case .packet(let view) = record { try body(view) }
            return true
        }
    }

    /// Calls `body` with every record of the file in file order: each packet,
    /// and for pcapng each other block too (section and interface headers, name
    /// resolution, statistics, decryption secrets, custom and unknown blocks),
    /// which `CaptureFileWriter.write(block:)` copies. Returning false from
    /// `body` ends the walk; on a stream the next walk continues after that record.
    ///
    /// - Throws: `CaptureFileError` after delivering every complete record of a
    ///   damaged file; whatever `body` throws.
    public func forEachRecord(_ body: (CaptureFileRecord) throws -> Bool) throws {
        var walker = try makeWalker()
        _ = try walkRecords(&walker, blocks: true, body)
    }

    /// Adds the number of packets to `count`, walking the file with the same
    /// checks as `forEachPacket` but handing out no views (the fastest walk:
    /// the loop stays inside this module and compiles to a few instructions per
    /// record). After a throw, `count` holds the complete packets before the damage.
    public func countPackets(into count: inout Int) throws(CaptureFileError) {
        var walker = try makeWalker()
        var loop = EveryPacketCountLoop(file: self)
        defer { count += loop.count }
        try walk(&walker, &loop)
    }

    /// Pulls packets one at a time, synchronously (the file is mapped or read
    /// in this thread; nothing is copied):
    ///
    /// ```swift
    /// var views = file.makePacketIterator()
    /// while let view = try views.next() { ... }
    /// ```
    ///
    /// A view from a mapped file stays valid while the file lives; a view from a
    /// stream only until the iterator's next call. Each iterator of a mapped file
    /// starts at the beginning; on a stream it continues where the last walk stopped.
    public func makePacketIterator() -> PacketIterator { PacketIterator(file: self) }

    /// A synchronous iterator over a file's packets (or records); see `makePacketIterator()`.
    public struct PacketIterator {
        public let file: CaptureFile
        private var walker: Walker?

        init(file: CaptureFile) { self.file = file }

        /// The next packet, or nil at the end of the file.
        /// - Throws: `CaptureFileError` at damage, after every complete packet before it.
        public mutating func next() throws(CaptureFileError) -> PacketView? {
            guard case .packet(let view)? = try step(blocks: false) else { return nil }
            return view
        }

        /// The next packet or pcapng block that is not a packet, or nil at the end.
        public mutating func nextRecord() throws(CaptureFileError) -> CaptureFileRecord? {
            try step(blocks: true)
        }

        private mutating func step(blocks: Bool) throws(CaptureFileError) -> CaptureFileRecord? {
            var w: Walker
            if let walker { w = walker } else { w = try file.makeWalker() }
            var loop = StepLoop(blocks: blocks, file: file)
            defer { walker = w }
            return try file.walk(&w, &loop)
        }
    }

    // MARK: The walk

    /// The one record loop: hands records to `body` until it returns false or the
    /// file ends (then returns true). Errors of the file carry its name.
    func walkRecords(_ walker: inout Walker, blocks: Bool, _ body: (CaptureFileRecord) throws -> Bool) throws
        -> Bool {
        try withoutActuallyEscaping(body) { body in
            var loop = RecordLoop(blocks: blocks, file: self, body: body)
            return try walk(&walker, &loop)
        }
    }

    /// Runs `loop`, then keeps a stream's position for the next walk.
    @inline(__always)
    func walk<L: WalkLoop>(_ walker: inout Walker, _ loop: inout L) throws(L.Failure) -> L.Result {
        defer {
            touched &+= walker.touched
            if isStream { streamWalker = walker }
        }
        return try walker.run(&loop)
    }

    func makeWalker() throws(CaptureFileError) -> Walker {
        if let streamFailure { throw streamFailure }
        if let streamWalker { return streamWalker }
        let window = stable.map(ByteWindow.init(stable:)) ?? ByteWindow(stream: stream!)
        if let pcapHeader { return .pcap(PcapWalker(window: window, header: pcapHeader, file: self)) }
        return .pcapng(PcapngWalker(window: window, file: self))
    }

    func failed(_ error: CaptureFileError) -> CaptureFileError {
        let e = error.with(path: displayName)
        if isStream { streamFailure = e }
        return e
    }
}

/// Counts every packet without handing out views (`countPackets(into:)`, and
/// `countPackets(matching:into:)` with a blank filter; the filtered count is
/// `PacketCountLoop`, beside the filter it needs).
struct EveryPacketCountLoop: WalkLoop {
    unowned(unsafe) let file: CaptureFile
    var count = 0

    mutating func run<W: RecordWalker>(_ walker: inout W) throws(CaptureFileError) {
        var w = walker   // locals stay in registers; the inouts would be stored every record
        var n = 0
        defer {
            walker = w
            count &+= n
        }
        do {
            while try w.skipPacket() { n &+= 1 }
        } catch {
            throw file.failed(error)
        }
    }
}
