#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A user-space buffer in front of a descriptor that only ever holds whole
/// records: a record is encoded straight into it, and the buffer is written out
/// before a record that would not fit, so the file on disk always ends at a
/// record boundary (a reader sees every packet up to the last flush, even if
/// this process dies).
final class OutputBuffer {
    let fd: Int32
    let ownsDescriptor: Bool
    let path: String
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var count = 0
    /// Bytes already handed to the kernel.
    private(set) var flushedBytes = 0
    private(set) var isClosed = false

    init(fd: Int32, ownsDescriptor: Bool, path: String, capacity: Int) {
        self.fd = fd
        self.ownsDescriptor = ownsDescriptor
        self.path = path
        self.capacity = max(capacity, 64)
        storage = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
        if ownsDescriptor && !isClosed { closeDescriptor(fd) }
    }

    /// File offset the next record will have.
    var position: Int { flushedBytes + count }

    /// Room for one record of `size` bytes, to be filled and then `commit`ted.
    @inline(__always)
    func reserve(_ size: Int) throws(CaptureFileError) -> UnsafeMutableRawPointer {
        if count + size > capacity {
            try flush()
            if size > capacity { grow(to: size) }
        }
        return storage + count
    }

    @inline(__always)
    func commit(_ size: Int) {
        count += size
    }

    private func grow(to size: Int) {
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        bigger.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = bigger
        capacity = size
    }

    /// Writes the buffered records to the descriptor.
    func flush() throws(CaptureFileError) {
        var done = 0
        while done < count {
            let n = write(fd, storage + done, count - done)
            if n >= 0 {
                done += n
                continue
            }
            let e = errno
            if e == EINTR { continue }
            // Keep what was not written, so a retry does not lose or split records.
            memmove(storage, storage + done, count - done)
            count -= done
            flushedBytes += done
            throw .systemCall("write", errno: e, offset: flushedBytes, path: path,
                              hint: e == ENOSPC ? "the disk is full" : e == EPIPE ? "the reader went away" : "")
        }
        flushedBytes += count
        count = 0
    }

    func close() throws(CaptureFileError) {
        guard !isClosed else { return }
        defer {
            isClosed = true
            if ownsDescriptor { closeDescriptor(fd) }
        }
        try flush()
    }
}

extension UnsafeMutableRawPointer {
    @inline(__always)
    func put16(_ value: UInt16, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    func put32(_ value: UInt32, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    func put64(_ value: UInt64, at offset: Int) {
        storeBytes(of: value, toByteOffset: offset, as: UInt64.self)
    }

    /// Copies `bytes` to `offset` and zero-pads to a multiple of 4; returns the padded length.
    @inline(__always)
    func putPadded(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        let padded = (bytes.count + 3) & ~3
        if let base = bytes.baseAddress, bytes.count > 0 {
            (self + offset).copyMemory(from: base, byteCount: bytes.count)
        }
        if padded > bytes.count {
            (self + offset + bytes.count).initializeMemory(as: UInt8.self, repeating: 0, count: padded - bytes.count)
        }
        return padded
    }
}
