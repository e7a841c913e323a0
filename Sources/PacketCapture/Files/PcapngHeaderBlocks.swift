// The blocks that describe a pcapng file rather than carry packets: the Section
// Header Block (byte order, version) and the Interface Description Block.

extension PcapngWalker {
    /// Validates the Section Header Block at offset 0 without recording anything.
    mutating func checkFirstSectionHeader() throws(CaptureFileError) {
        let length = try sectionHeaderByteOrder(at: 0)
        try checkLength(length, of: BlockType.sectionHeader, at: 0)
        let p = try wholeBlock(length, of: BlockType.sectionHeader, at: 0)
        try sectionHeader(p, length: length, at: 0)   // checks the version; records section 0 for `sections`
    }

    /// Reads the byte-order magic of the Section Header Block at `blockOffset`
    /// (which sets `swapped` for the section) and returns the block's length.
    mutating func sectionHeaderByteOrder(at blockOffset: Int) throws(CaptureFileError) -> Int {
        guard let b = try window.bytes(at: blockOffset, count: 12) else {
            guard blockOffset == 0 else { throw truncatedBlock(BlockType.sectionHeader, length: 28, at: blockOffset) }
            throw CaptureFileError(code: .truncated, offset: 0,
                                   message: "the file ends \(window.available(from: 0)) bytes into the pcapng "
                                       + "Section Header Block; it was cut short before any packet")
        }
        switch b.loadU32(8, false) {
        case BlockType.byteOrderMagic: swapped = false
        case BlockType.byteOrderMagic.byteSwapped: swapped = true
        case let bom where blockOffset == 0:
            throw CaptureFileError(
                code: .unknownFormat, offset: 8,
                message: "the file starts like a pcapng Section Header Block (0a 0d 0d 0a) but its byte-order "
                    + "magic is 0x\(String(bom, radix: 16)), not 0x1a2b3c4d; it is damaged or not a capture file")
        case let bom:
            throw CaptureFileError(
                code: .malformedBlock, offset: blockOffset + 8,
                message: "a Section Header Block must carry the byte-order magic 0x1a2b3c4d, found 0x"
                    + String(bom, radix: 16) + "; the file is damaged from this offset on. \(intactNote)")
        }
        return Int(b.loadU32(4, swapped))
    }

    mutating func sectionHeader(_ p: UnsafeRawPointer, length: Int, at blockOffset: Int) throws(CaptureFileError) {
        let major = p.loadU16(12, swapped)
        let minor = p.loadU16(14, swapped)
        // 1.0 is the version in use and 1.2 an alias some writers put; any other
        // (1.1 included) is refused with a typed error, as libpcap and Wireshark
        // refuse it, rather than read on a guess about its layout.
        guard major == 1, minor == 0 || minor == 2 else {
            throw CaptureFileError(
                code: .unsupportedVersion, offset: blockOffset + 12,
                message: "pcapng version \(major).\(minor) is not supported (only 1.0, and 1.2 as an alias of "
                    + "it, are read here, as by libpcap and Wireshark); the section header is damaged or the "
                    + "file comes from an incompatible writer" + (blockOffset == 0 ? "" : ". \(intactNote)"))
        }
        sectionIndex += 1
        interfaces.removeAll(keepingCapacity: true)
        let log = file.log
        if log.sections.count == sectionIndex {
            let options = UnsafeRawBufferPointer(start: p + 24, count: length - 28)
            log.sections.append(PcapngSection(
                offset: blockOffset, isByteSwapped: swapped, versionMajor: major, versionMinor: minor,
                sectionLength: Int64(bitPattern: p.loadU64(16, swapped)),
                options: parseOptions(options, swapped: swapped, blockType: BlockType.sectionHeader),
                interfaces: []))
        }
    }

    mutating func interfaceDescription(_ p: UnsafeRawPointer, length: Int, at blockOffset: Int)
        throws(CaptureFileError) {
        let linkType = LinkType(rawValue: UInt32(p.loadU16(8, swapped)))
        let snaplen = p.loadU32(12, swapped)
        let options = UnsafeRawBufferPointer(start: p + 16, count: length - 20)
        var resolution = TimestampResolution.microseconds
        var tsOffset: Int64 = 0
        for (code, value) in RawOptions(bytes: options, swapped: swapped) {
            switch code {
            case PcapngOption.ifTimestampResolution where value.count >= 1:
                resolution = TimestampResolution(rawValue: value[0])
            case PcapngOption.ifTimestampOffset where value.count == 8:
                tsOffset = Int64(bitPattern: value.baseAddress!.loadU64(0, swapped))
            default:
                break
            }
        }
        let limit = snaplen == 0 ? maxBlockLength : min(max(Int(snaplen), Int(standardMaxSnapshotLength)), maxBlockLength)
        let log = file.log
        if sectionIndex < log.sections.count, log.sections[sectionIndex].interfaces.count == interfaces.count {
            let all = parseOptions(options, swapped: swapped, blockType: BlockType.interfaceDescription)
            log.sections[sectionIndex].interfaces.append(PcapngInterface(
                linkType: linkType, snapshotLength: snaplen, timestampResolution: resolution,
                timestampOffset: tsOffset,
                name: all.first { $0.code == PcapngOption.ifName }?.stringValue,
                interfaceDescription: all.first { $0.code == PcapngOption.ifDescription }?.stringValue,
                options: all, offset: blockOffset))
        }
        interfaces.append(InterfaceState(linkType: linkType, snapshotLength: snaplen, captureLimit: limit,
                                         resolution: resolution, timestampOffset: tsOffset))
    }
}
