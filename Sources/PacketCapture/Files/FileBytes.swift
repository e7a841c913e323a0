#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// How readers see a file's bytes: a whole mapped (or in-memory) region, or a
// bounded window over a stream that slides forward as records are consumed.

extension UnsafeRawPointer {
    @inline(__always)
    func loadU16(_ offset: Int, _ swapped: Bool) -> UInt16 {
        let v = loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return swapped ? v.byteSwapped : v
    }

    @inline(__always)
    func loadU32(_ offset: Int, _ swapped: Bool) -> UInt32 {
        let v = loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return swapped ? v.byteSwapped : v
    }

    @inline(__always)
    func loadU64(_ offset: Int, _ swapped: Bool) -> UInt64 {
        let v = loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        return swapped ? v.byteSwapped : v
    }
}

/// Bytes that stay put for the life of the object: an mmap'ed file or a copy
/// of caller-provided bytes.
final class StableBytes {
    enum Ownership { case mapped, allocated, none }
    let base: UnsafeRawPointer?
    let count: Int
    let ownership: Ownership

    init(base: UnsafeRawPointer?, count: Int, ownership: Ownership) {
        self.base = base
        self.count = count
        self.ownership = ownership
    }

    /// Maps `fd` (a regular file of `size` bytes) privately and read-only.
    static func map(fd: Int32, size: Int, path: String) throws(CaptureFileError) -> StableBytes {
        if size == 0 { return StableBytes(base: nil, count: 0, ownership: .none) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .systemCall("mmap", errno: errno, path: path,
                              hint: "read it as a stream instead: swiftcap read - < FILE")
        }
        _ = madvise(p, size, MADV_SEQUENTIAL)
        return StableBytes(base: UnsafeRawPointer(p), count: size, ownership: .mapped)
    }

    static func copying<C: Collection<UInt8>>(_ bytes: C) -> StableBytes {
        let count = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        let buffer = UnsafeMutableRawBufferPointer(start: p, count: count)
        buffer.copyBytes(from: bytes)
        return StableBytes(base: UnsafeRawPointer(p), count: count, ownership: .allocated)
    }

    deinit {
        guard let base else { return }
        switch ownership {
        case .mapped: munmap(UnsafeMutableRawPointer(mutating: base), count)
        case .allocated: UnsafeMutableRawPointer(mutating: base).deallocate()
        case .none: break
        }
    }
}

/// A forward-only buffer over a pipe or other non-seekable descriptor.
///
/// It holds at least the record being parsed; it grows only as bytes actually
/// arrive (never to a length a header merely claims) and never past `maxCapacity`.
final class StreamBuffer {
    let fd: Int32
    let ownsDescriptor: Bool
    let path: String
    private(set) var storage: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// File offset of `storage[0]`.
    private(set) var bufferOffset = 0
    /// Valid bytes at `storage`.
    private(set) var filled = 0
    private(set) var atEOF = false
    /// Counts the times buffered bytes moved or were dropped: a view made before
    /// such a change points at stale or freed memory (checked in debug builds).
    private(set) var generation = 0

    static let initialCapacity = 1 << 18
    /// Largest record or block a reader asks for, plus slack.
    static let maxCapacity = maxBlockLength + (1 << 16)

    init(fd: Int32, ownsDescriptor: Bool, path: String, prefix: UnsafeRawBufferPointer = .init(start: nil, count: 0)) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        self.path = path
        capacity = max(Self.initialCapacity, prefix.count)
        storage = .allocate(byteCount: capacity, alignment: 16)
        if let base = prefix.baseAddress, prefix.count > 0 {
            storage.copyMemory(from: base, byteCount: prefix.count)
            filled = prefix.count
        }
    }

    deinit {
        storage.deallocate()
        if ownsDescriptor { closeDescriptor(fd) }
    }

    /// Discards bytes before `offset` and reads until `count` bytes from
    /// `offset` are buffered or the stream ends.
    /// Returns the window: pointer to the byte at file offset `start`, and `end`.
    func makeAvailable(offset: Int, count: Int) throws(CaptureFileError)
        -> (base: UnsafeRawPointer, start: Int, end: Int) {
        if offset < bufferOffset {
            // Behind the window: cannot happen with forward-only readers.
            return (UnsafeRawPointer(storage), bufferOffset, bufferOffset)
        }
        let drop = offset - bufferOffset
        if drop >= filled {
            var skip = drop - filled
            if filled > 0 { generation &+= 1 }
            bufferOffset += filled
            filled = 0
            while skip > 0 && !atEOF {
                let n = try readSome(into: storage, max: min(skip, capacity))
                bufferOffset += n
                skip -= n
            }
            if skip > 0 { return (UnsafeRawPointer(storage), bufferOffset, bufferOffset) }
        } else if drop > 0 {
            generation &+= 1
            memmove(storage, storage + drop, filled - drop)
            filled -= drop
            bufferOffset = offset
        }
        while filled < count && !atEOF {
            if filled == capacity {
                let wanted = min(max(capacity * 2, 1 << 16), max(count, capacity + 1), Self.maxCapacity)
                guard wanted > capacity else { break }
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 16)
                bigger.copyMemory(from: storage, byteCount: filled)
                storage.deallocate()
                generation &+= 1
                storage = bigger
                capacity = wanted
            }
            filled += try readSome(into: storage + filled, max: capacity - filled)
        }
        return (UnsafeRawPointer(storage), bufferOffset, bufferOffset + filled)
    }

    private func readSome(into p: UnsafeMutableRawPointer, max: Int) throws(CaptureFileError) -> Int {
        while true {
            let n = read(fd, p, max)
            if n > 0 { return n }
            if n == 0 { atEOF = true; return 0 }
            let e = errno
            if e == EINTR { continue }
            throw .systemCall("read", errno: e, offset: bufferOffset + filled, path: path)
        }
    }
}

/// The bytes a reader may look at: `[start, end)` of the file at `base`.
/// For a mapped file that is the whole file; for a stream it slides.
struct ByteWindow {
    var base: UnsafeRawPointer?
    var start: Int
    var end: Int
    let stream: StreamBuffer?

    init(stable: StableBytes) {
        base = stable.base
        start = 0
        end = stable.count
        stream = nil
    }

    init(stream: StreamBuffer) {
        base = nil
        start = 0
        end = 0
        self.stream = stream
    }

    /// A pointer to `count` bytes at file offset `offset`, or nil when the file
    /// ends first (then `available(from:)` tells how many there are).
    /// For a stream, earlier pointers are invalid after this call.
    @inline(__always)
    mutating func bytes(at offset: Int, count: Int) throws(CaptureFileError) -> UnsafeRawPointer? {
        if offset >= start, end &- offset >= count, let base {
            return base + (offset &- start)
        }
        return try slowBytes(at: offset, count: count)
    }

    /// `count` bytes at `offset` if the window already holds them (never reads).
    @inline(__always)
    func bytesIfPresent(at offset: Int, count: Int) -> UnsafeRawPointer? {
        guard offset >= start, end &- offset >= count, let base else { return nil }
        return base + (offset &- start)
    }

    @inline(never)
    mutating func slowBytes(at offset: Int, count: Int) throws(CaptureFileError) -> UnsafeRawPointer? {
        guard let stream else { return nil }
        let w = try stream.makeAvailable(offset: offset, count: count)
        base = w.base
        start = w.start
        end = w.end
        if offset >= start, end - offset >= count { return w.base + (offset - start) }
        return nil
    }

    /// Reads the byte `distance` bytes past `offset`, if it is in the window.
    ///
    /// Walking a mapped file is bound by memory latency: each record header is a
    /// cache miss, and the hardware prefetcher stops at page boundaries. Touching
    /// a couple of pages ahead (a load whose result goes nowhere but a checksum
    /// the caller keeps, so it is not optimized away) brings them in early and
    /// roughly halves the time of a header-only walk.
    @inline(__always)
    func touch(_ offset: Int, ahead distance: Int, mark: inout Int) -> UInt8 {
        let target = offset &+ distance
        guard target >= mark, let base else { return 0 }
        // Every line up to the target, not only the one there: the headers sit at
        // record boundaries we cannot know yet, and independent loads overlap.
        var line = max(mark, target &- distance / 2, start) | 63
        let last = min(target, end &- 1)
        var sum: UInt8 = 0
        while line <= last {
            sum &+= base.load(fromByteOffset: line &- start, as: UInt8.self)
            line &+= 64
        }
        mark = (target | 63) &+ 1
        return sum
    }

    /// Bytes known to exist from `offset` (final after `bytes` returned nil).
    func available(from offset: Int) -> Int { max(0, end - offset) }
}

/// pcapng blocks (and so stream buffers) are never larger than this.
let maxBlockLength = 256 << 20
/// Classic pcap records are never longer than this, whatever the snaplen says.
let maxRecordLength = 256 << 20
/// How far ahead of the record being parsed walkers touch the file.
let touchDistance = 8192
/// libpcap's and Wireshark's usual largest snapshot length.
let standardMaxSnapshotLength: UInt32 = 262_144

/// `close(2)`, named so it cannot be mistaken for a method.
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
