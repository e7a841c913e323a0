extension CaptureFile {
    /// Whether the file (its first section, for pcapng) was written by a host of
    /// the other byte order: filters for it compile with that in mind
    /// (`FilterCompiler.compile(byteSwapped:)`), as libpcap does for LINKTYPE_NULL.
    public var isByteSwapped: Bool {
        pcapHeader?.isByteSwapped ?? sections.first?.isByteSwapped ?? false
    }
}
