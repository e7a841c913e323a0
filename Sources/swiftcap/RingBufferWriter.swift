import Glibc
import PacketCapture

/// `-w` with rotation (tcpdump -C/-G/-W, dumpcap -b) and file autostop
/// (dumpcap -a filesize:/files:): a sequence of capture files, each complete on
/// its own (its own header, and in pcapng its own section and interfaces).
/// A file changes only between two packets, so no packet is split, lost or
/// written twice.
final class RingBufferWriter: PacketSink {
    /// An interface every file declares.
    struct Interface {
        var linkType: LinkType
        var snapshotLength: Int
        var name: String
        var resolution: TimestampResolution
        /// The capture filter, recorded in pcapng as dumpcap does (if_filter).
        var filter: String? = nil

        /// if_filter's code; its value is a type byte (0: a libpcap filter string) and the string.
        static let filterOption: UInt16 = 11

        /// Adds this interface to `writer` (its name, resolution and filter in pcapng).
        func declare(in writer: CaptureFileWriter) throws(CaptureFileError) {
            let options = filter.map { [PcapngOption(code: Self.filterOption, value: [0] + Array($0.utf8))] } ?? []
            try writer.addInterface(linkType: linkType, snapshotLength: snapshotLength, name: name, timestampResolution: resolution,
                                    options: options)
        }
    }

    let path: String
    let format: CaptureFileFormat
    let options: CaptureFileWriter.Options
    let interfaces: [Interface]
    let plan: RotationPlan
    /// Set once an autostop condition (-a files:, -a filesize:, -W with -G) is met:
    /// the packet that would start the next file is not written.
    private(set) var stopRequested = false
    /// Paths of the files written, oldest first (without those deleted by -b files:N).
    private(set) var files: [String] = []

    private var writer: CaptureFileWriter
    private var fileIndex = 0
    private var fileBytes = 0
    private var filePackets = 0
    private var fileOpened: Double
    private var rotateBeforeNext = false

    init(path: String, format: CaptureFileFormat, options: CaptureFileWriter.Options, interfaces: [Interface], plan: RotationPlan)
        throws(CaptureFileError) {
        self.path = path
        self.format = format
        self.options = options
        self.interfaces = interfaces
        self.plan = plan
        fileOpened = Self.now()
        let first = Self.name(for: 0, path: path, format: format, naming: plan.naming, reuse: plan.reuseNames)
        (writer, fileBytes) = try Self.open(first, format: format, options: options, interfaces: interfaces)
        files.append(first)
    }

    func take(_ packet: Packet) throws(CaptureFileError) -> Bool {
        guard !stopRequested else { return false }
        if rotateBeforeNext || timeIsUp() {
            try rotate()
            if stopRequested { return false }
        }
        try writer.write(packet)
        filePackets += 1
        fileBytes += format == .pcap ? 16 + packet.captureLength : 32 + ((packet.captureLength + 3) & ~3)
        if let limit = plan.rotation.bytes, fileBytes >= limit { rotateBeforeNext = true }
        if let limit = plan.rotation.packets, filePackets >= limit { rotateBeforeNext = true }
        if let limit = plan.stopAtFileBytes, fileBytes >= limit { stopRequested = true }
        return true
    }

    func flush() throws(CaptureFileError) {
        try writer.flush()
    }

    /// -G / -b duration: the next file starts when its time is up, even when
    /// no packet arrives (the previous file then holds none).
    func tick() throws(CaptureFileError) {
        guard !stopRequested, timeIsUp() else { return }
        try rotate()
    }

    func close() throws(CaptureFileError) {
        try writer.close()
    }

    private func timeIsUp() -> Bool {
        guard let seconds = plan.rotation.seconds else { return false }
        return Self.now() - fileOpened >= seconds
    }

    /// Closes the current file and opens the next, unless that would exceed -a files:N.
    private func rotate() throws(CaptureFileError) {
        rotateBeforeNext = false
        if let stop = plan.stopAfterFiles, fileIndex + 1 >= stop {
            stopRequested = true
            return
        }
        try writer.close()
        fileIndex += 1
        let next = Self.name(for: fileIndex, path: path, format: format, naming: plan.naming, reuse: plan.reuseNames)
        (writer, fileBytes) = try Self.open(next, format: format, options: options, interfaces: interfaces)
        filePackets = 0
        fileOpened = Self.now()
        files.removeAll { $0 == next }   // -W reuses names: the old file was just replaced
        files.append(next)
        if let keep = plan.keepFiles {
            while files.count > keep { unlink(files.removeFirst()) }
        }
    }

    /// A new file with every interface declared and the header flushed; returns it and its size.
    private static func open(_ path: String, format: CaptureFileFormat, options: CaptureFileWriter.Options,
                             interfaces: [Interface]) throws(CaptureFileError) -> (CaptureFileWriter, Int) {
        let writer = try CaptureFileWriter(path: path, format: format, options: options)
        for i in interfaces { try i.declare(in: writer) }
        try writer.flush()
        var st = stat()
        return (writer, stat(path, &st) == 0 ? Int(st.st_size) : 0)
    }

    /// The name of file number `index` (0-based).
    static func name(for index: Int, path: String, format: CaptureFileFormat, naming: RotationPlan.Naming, reuse: Int?) -> String {
        switch naming {
        case .single:
            return path
        case .tcpdump(let digits, let expandTime):
            // tcpdump's MakeFilename: the -G name through strftime, then the -C
            // number (none for the first file without -W), zero-padded for -W.
            let base = expandTime ? strftime(path, now: time(nil)) : path
            let number = reuse.map { index % $0 } ?? index
            if digits == 0 && number == 0 && reuse == nil { return base }
            return base + padded(number, digits)
        case .dumpcap:
            // dumpcap: PREFIX_NNNNN_YYYYmmddHHMMSS.EXT, numbered from 1.
            let fileName = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
            let dot = path[fileName...].lastIndex(of: ".")
            let prefix = dot.map { String(path[..<$0]) } ?? path
            let ext = dot.map { String(path[$0...]) } ?? (format == .pcap ? ".pcap" : ".pcapng")
            return "\(prefix)_\(padded(index + 1, 5))_\(strftime("%Y%m%d%H%M%S", now: time(nil)))\(ext)"
        }
    }

    private static func padded(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// strftime(3) of `format` in local time.
    private static func strftime(_ format: String, now: time_t) -> String {
        var t = now
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = Glibc.strftime(&buffer, buffer.count, format, &parts)
        return n == 0 && !format.isEmpty ? format : String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
