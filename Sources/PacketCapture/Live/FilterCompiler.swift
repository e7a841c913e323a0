import SwiftcapWire

/// Compiles pcap-filter(7) expressions without a capture, for filtering packets
/// read from files. libpcap runs in the helper (with no capability at all);
/// the client validates and interprets the resulting BPF program.
public enum FilterCompiler {
    /// Compiles `expression` once per link type, in one helper session, as
    /// libpcap compiles it for a capture file of that link type (tcpdump -r):
    /// on LINKTYPE_NULL every platform's address family values are tested, in
    /// the file's byte order (`byteSwapped`: the file was written by a host of
    /// the other byte order, `PcapFileHeader.isByteSwapped`).
    /// - Throws: `.filterInvalid` with pcap's message for the first link type the
    ///   expression does not compile for, `.filterTooLong` over `lengthLimit` bytes,
    ///   `.filterTooComplex` past the helper's compile budget, `.timedOut` when
    ///   the helper does not answer within `timeout` per request.
    public static func compile(_ expression: String, linkTypes: [LinkType], snapshotLength: Int = 262_144,
                               optimize: Bool = true, netmask: UInt32? = nil, byteSwapped: Bool = false, lengthLimit: Int = CaptureOptions.defaultFilterLengthLimit,
                               helperPath: String? = nil, timeout: Duration = .seconds(5)) async throws(CaptureError) -> [LinkType: BPFProgram] {
        guard (1 ... Wire.maxSnapshotLength).contains(snapshotLength) else {
            throw CaptureError(.invalidArgument, "snapshotLength \(snapshotLength) is outside 1...\(Wire.maxSnapshotLength); pass a value in that range")
        }
        let spec = try CaptureOptions.filterSpec(expression, optimize: optimize, netmask: netmask, limit: lengthLimit)
        let unique = linkTypes.reduce(into: [LinkType]()) { if !$0.contains($1) { $0.append($1) } }
        if unique.isEmpty { return [:] }
        let nanoseconds = timeout.saturatingNanoseconds
        guard nanoseconds > 0 else { throw CaptureError(.invalidArgument, "timeout \(timeout) must be positive") }
        let session = try HelperSession.start(helperPath: helperPath, arguments: [], mode: .compile, interface: nil,
                                              deadlines: SessionDeadlines(reply: nanoseconds, open: nanoseconds))
        var programs: [LinkType: BPFProgram] = [:]
        var failure: CaptureError? = nil
        for link in unique {
            let request = CompileRequest(linkType: link.rawValue, snapshotLength: UInt32(snapshotLength), byteSwapped: byteSwapped, filter: spec)
            switch await session.request(.compileFilter(request), .compileFilter, filter: expression) {
            case .success(.program(let program)):
                guard program.linkType == link.rawValue else {
                    failure = CaptureError(.protocolViolation, "the helper compiled for link type \(program.linkType) when asked for \(link.rawValue); the helper and the client must come from the same swiftcap version", helperPath: session.helperPath)
                    break
                }
                do {
                    programs[link] = try BPFProgram(instructions: program.instructions.map {
                        BPFInstruction(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k)
                    })
                } catch {
                    failure = CaptureError(.protocolViolation, "the helper's program for link type \(link.rawValue) fails validation (\(error)); report this as a swiftcap bug", helperPath: session.helperPath)
                }
            case .success(.error(let e)):
                failure = CaptureError.fromHelper(e, ErrorContext(helperPath: session.helperPath, interface: nil, filter: expression))
                var message = failure!.message
                message = "for link type \(link.rawValue): " + message
                failure!.message = message
            case .success(let other):
                failure = CaptureError(.protocolViolation, "the helper answered compileFilter with \(other.frameType); the helper and the client must come from the same swiftcap version", helperPath: session.helperPath)
            case .failure(let error):
                failure = error
            }
            if failure != nil { break }
        }
        if case .failure(let error) = await session.request(.close, .close), failure == nil {
            failure = error
        }
        await session.waitFinished()
        if let failure { throw failure }
        return programs
    }
}
