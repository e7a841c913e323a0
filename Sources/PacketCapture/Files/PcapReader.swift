// Classic pcap: a 24-byte file header, then records of a 16-byte header
// (seconds, fraction, captured length, original length) and the captured bytes.

extension PcapFileHeader {
    /// Parses the 24 bytes at `p`, whose first 4 bytes are a known pcap magic.
    static func parse(_ p: UnsafeRawPointer) throws(CaptureFileError) -> PcapFileHeader {
        let magic = p.loadU32(0, false)
        let precision: PcapTimestampPrecision
        let swapped: Bool
        switch magic {
        case 0xA1B2_C3D4: (precision, swapped) = (.microseconds, false)
        case 0xD4C3_B2A1: (precision, swapped) = (.microseconds, true)
        case 0xA1B2_3C4D: (precision, swapped) = (.nanoseconds, false)
        case 0x4D3C_B2A1: (precision, swapped) = (.nanoseconds, true)
        default: preconditionFailure("not a pcap magic")
        }
        let header = PcapFileHeader(
            timestampPrecision: precision, isByteSwapped: swapped,
            versionMajor: p.loadU16(4, swapped), versionMinor: p.loadU16(6, swapped),
            thisZone: Int32(bitPattern: p.loadU32(8, swapped)), sigFigs: p.loadU32(12, swapped),
            snapshotLength: p.loadU32(16, swapped), linkTypeField: p.loadU32(20, swapped))
        // libpcap reads 2.0 to 2.4 only (Wireshark any 2.x): a version nobody
        // wrote may lay records out differently, so it is refused, as for pcapng.
        guard header.versionMajor == 2, header.versionMinor <= 4 else {
            throw CaptureFileError(
                code: .unsupportedVersion, offset: 4,
                message: "pcap version \(header.versionMajor).\(header.versionMinor) is not supported "
                    + "(versions 2.0 to 2.4 exist, and libpcap reads no other); the header is probably damaged. "
                    + "If the records are sound, `editcap -F pcap FILE OUT` rewrites it as version 2.4")
        }
        // libpcap and Wireshark both refuse these bits: they would change what the link type means.
        guard header.linkTypeField & PcapFileHeader.reservedBitsRefused == 0 else {
            throw CaptureFileError(
                code: .invalidHeader, offset: 20,
                message: "the link-type field 0x\(String(header.linkTypeField, radix: 16)) sets reserved bits "
                    + "16-25 (0x\(String(header.linkTypeField & PcapFileHeader.reservedBitsRefused, radix: 16))), "
                    + "which no known writer uses; the header is damaged. If the records are sound, clearing "
                    + "those bits (header bytes 20-23) makes the file readable")
        }
        return header
    }

    /// Bits of the link-type field that must be 0 (libpcap's LT_RESERVED1).
    static let reservedBitsRefused: UInt32 = 0x03FF_0000

    /// Longest captured length a record may claim: the snapshot length, but at
    /// least libpcap's 262144 (writers have long put too small snaplens in
    /// headers) and at most 256 MiB.
    var recordLengthLimit: UInt32 {
        min(max(snapshotLength, standardMaxSnapshotLength), UInt32(maxRecordLength))
    }
}

struct PcapWalker {
    var window: ByteWindow
    var offset: Int
    var recordIndex = 0
    /// Sum of the bytes touched ahead (see `ByteWindow.touch`).
    var touched: UInt8 = 0
    var touchMark = 0
    let swapped: Bool
    let precision: PcapTimestampPrecision
    let linkType: LinkType
    let lengthLimit: UInt32
    let snapshotLength: UInt32
    unowned(unsafe) let file: CaptureFile

    init(window: ByteWindow, header: PcapFileHeader, file: CaptureFile) {
        self.window = window
        offset = PcapFileHeader.byteCount
        swapped = header.isByteSwapped
        precision = header.timestampPrecision
        linkType = header.linkType
        lengthLimit = header.recordLengthLimit
        snapshotLength = header.snapshotLength
        self.file = file
    }

    @inline(__always)
    mutating func next() throws(CaptureFileError) -> PacketView? {
        let recordOffset = offset
        touched &+= window.touch(recordOffset, ahead: touchDistance, mark: &touchMark)
        guard let h = try window.bytes(at: recordOffset, count: 16) else {
            let left = window.available(from: recordOffset)
            if left == 0 { return nil }
            throw CaptureFileError(
                code: .truncated, offset: recordOffset,
                message: "the file ends \(left) bytes into the 16-byte header of record #\(recordIndex + 1); "
                    + "the capture was cut short (its writer stopped, or the copy is incomplete). "
                    + "The \(recordIndex) packets before this offset are intact")
        }
        let caplen = h.loadU32(8, swapped)
        guard caplen <= lengthLimit else { throw tooLong(caplen, at: recordOffset) }
        let total = 16 &+ Int(caplen)
        guard let r = try window.bytes(at: recordOffset, count: total) else {
            let left = window.available(from: recordOffset) - 16
            throw CaptureFileError(
                code: .truncated, offset: recordOffset,
                message: "record #\(recordIndex + 1) claims \(caplen) captured bytes but the file ends after "
                    + "\(left) of them; the capture was cut short. "
                    + "The \(recordIndex) packets before this offset are intact")
        }
        offset = recordOffset &+ total
        recordIndex &+= 1
        let wireLength = Int(r.loadU32(12, swapped))
        if wireLength < Int(caplen) { file.noteWireLengthBelowCaptureLength(at: recordOffset) }
        return PacketView(
            bytes: UnsafeRawBufferPointer(start: r + 16, count: Int(caplen)),
            wireLength: wireLength, linkType: linkType, interfaceIndex: 0,
            sectionIndex: 0, fileOffset: recordOffset,
            time: .pcap(seconds: r.loadU32(0, swapped), fraction: r.loadU32(4, swapped), precision: precision),
            block: UnsafeRawBufferPointer(start: nil, count: 0), options: UnsafeRawBufferPointer(start: nil, count: 0),
            swapped: swapped, blockType: 0, file: file)
    }

    /// Classic pcap holds packets only.
    @inline(__always)
    mutating func nextRecord(blocks: Bool) throws(CaptureFileError) -> CaptureFileRecord? {
        try next().map(CaptureFileRecord.packet)
    }

    @inline(__always)
    mutating func skipPacket() throws(CaptureFileError) -> Bool {
        try next() != nil
    }

    @inline(never)
    func tooLong(_ caplen: UInt32, at recordOffset: Int) -> CaptureFileError {
        CaptureFileError(
            code: .recordTooLong, offset: recordOffset,
            message: "record #\(recordIndex + 1) claims a captured length of \(caplen) bytes, more than the "
                + "file's snapshot length (\(snapshotLength)) and the \(standardMaxSnapshotLength)-byte maximum "
                + "allow; the file is damaged from this offset on. "
                + "The \(recordIndex) packets before it are intact")
    }
}
