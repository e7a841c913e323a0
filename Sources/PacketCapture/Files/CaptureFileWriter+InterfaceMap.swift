/// The interface map: which interface of the output file each packet is
/// written on, for packets the caller builds (`write(_:)`, numbered as the
/// caller declared them) and for packets read from a file (`write(view:)`,
/// numbered by their file and section, whose interfaces are declared here as
/// they are needed). Both paths end in the same check of the packet's link type
/// against its interface's.
extension CaptureFileWriter {
    /// An interface declared in the output (of the current section, for pcapng).
    struct Interface {
        let linkType: LinkType
        let snapshotLength: UInt32
        let resolution: TimestampResolution
        let timestampOffset: Int64
    }

    /// Which interfaces of a source file's section became which of ours.
    struct SourceBinding {
        let file: ObjectIdentifier
        let section: Int
        /// Source interface id → our interface index (-1: not added yet).
        var map: [Int]
    }

    /// The output interface of a caller-built packet: `packet.interfaceIndex` as
    /// declared with `addInterface`. When nothing was declared, a packet on
    /// interface 0 declares it with its link type.
    func interfaceIndex(for packet: Packet) throws(CaptureFileError) -> Int {
        if interfaces.isEmpty && packet.interfaceIndex == 0 {
            try addInterface(linkType: packet.linkType)
        }
        guard packet.interfaceIndex >= 0 && packet.interfaceIndex < interfaces.count else {
            throw invalid("packet names interface \(packet.interfaceIndex) but only \(interfaces.count) "
                + "interface(s) were added; call addInterface first")
        }
        try checkLinkType(packet.linkType, on: packet.interfaceIndex, of: "packet")
        return packet.interfaceIndex
    }

    /// The output interface of a packet read from a file: its source interface,
    /// declared (with the file's section, pcapng→pcapng) on first use.
    func interfaceIndex(for view: PacketView) throws(CaptureFileError) -> Int {
        let index = try mappedInterface(view.file, section: view.sectionIndex, interface: view.interfaceIndex)
        try checkLinkType(view.linkType, on: index, of: "packet at byte \(view.fileOffset) of \(view.file.path)")
        return index
    }

    /// `what` names the packet in the error; it is only built for the error.
    private func checkLinkType(_ linkType: LinkType, on index: Int, of what: @autoclosure () -> String)
        throws(CaptureFileError) {
        let declared = interfaces[index].linkType
        guard declared != linkType else { return }
        throw CaptureFileError(
            code: .linkTypeMismatch, offset: out.position,
            message: "\(what()) has link type \(linkType.rawValue) but its interface \(index) was declared with "
                + "\(declared.rawValue); add an interface for that link type"
                + (format == .pcap ? " (in a pcapng file)" : ""), path: path)
    }

    /// Makes `file`'s `section` the current source; pcapng→pcapng starts a
    /// section of ours for each section of the source.
    func bind(_ file: CaptureFile, section: Int) throws(CaptureFileError) {
        let id = ObjectIdentifier(file)
        if let binding, binding.file == id, binding.section == section { return }
        switch (format, file.format) {
        case (.pcapng, .pcapng):
            let sections = file.sections
            let source = section < sections.count ? sections[section] : nil
            if sectionWritten || binding != nil {
                try beginSection(options: source?.options ?? options.sectionOptions)
            } else if let source {
                pendingSectionOptions = source.options
            }
            binding = SourceBinding(file: id, section: section, map: [])
            try addSourceInterfaces(file, section: section, through: -1)
        case (_, .pcap):
            let header = file.pcapHeader!
            let resolution: TimestampResolution = header.timestampPrecision == .nanoseconds
                ? .nanoseconds : .microseconds
            let linkTypeField = format == .pcap ? header.linkTypeField : header.linkType.rawValue
            var idbOptions = [PcapngOption(code: PcapngOption.ifTimestampResolution, value: [resolution.rawValue])]
            if format == .pcapng, let fcs = header.fcsLength {
                idbOptions.append(PcapngOption(code: PcapngOption.ifFCSLength,
                                               value: [UInt8(truncatingIfNeeded: fcs * 8)]))
            }
            let index = try addInterface(linkTypeField: linkTypeField, snapshotLength: header.snapshotLength,
                                         resolution: resolution, timestampOffset: 0, options: idbOptions)
            binding = SourceBinding(file: id, section: 0, map: [index])
        case (.pcap, .pcapng):
            binding = SourceBinding(file: id, section: section, map: [])
        }
    }

    /// pcapng→pcapng: adds the source section's interfaces not added yet, all
    /// those known (and at least through `last`).
    func addSourceInterfaces(_ file: CaptureFile, section: Int, through last: Int) throws(CaptureFileError) {
        let sections = file.sections
        let known = section < sections.count ? sections[section].interfaces : []
        guard var b = binding else { return }
        while b.map.count < known.count {
            let source = known[b.map.count]
            let index = try addInterface(linkTypeField: source.linkType.rawValue,
                                         snapshotLength: source.snapshotLength, resolution: source.timestampResolution,
                                         timestampOffset: source.timestampOffset, options: source.options)
            b.map.append(index)
            binding = b
        }
        guard last < b.map.count else {
            throw invalid("the packet names interface \(last) of section \(section), which its file has not defined")
        }
    }

    /// Our interface for `interface` of `file`'s `section`, added if needed.
    func mappedInterface(_ file: CaptureFile, section: Int, interface: Int) throws(CaptureFileError) -> Int {
        try bind(file, section: section)
        if interface < binding!.map.count, binding!.map[interface] >= 0 { return binding!.map[interface] }
        switch (format, file.format) {
        case (.pcapng, .pcapng):
            try addSourceInterfaces(file, section: section, through: interface)
            return binding!.map[interface]
        case (.pcap, .pcapng):
            let known = file.sections[section].interfaces
            guard interface < known.count else {
                throw invalid("the packet names interface \(interface) of section \(section), "
                    + "which its file has not defined")
            }
            let source = known[interface]
            let index = try addInterface(linkTypeField: source.linkType.rawValue,
                                         snapshotLength: source.snapshotLength, resolution: source.timestampResolution,
                                         timestampOffset: source.timestampOffset, options: [])
            var b = binding!
            while b.map.count <= interface { b.map.append(-1) }
            b.map[interface] = index
            binding = b
            return index
        default:
            throw invalid("a pcap file has one interface, 0; the packet names \(interface)")
        }
    }
}
