import SwiftcapWire

/// What one interface offers: the link types it can capture with
/// (pcap_list_datalinks, tcpdump -L) and its time stamp types
/// (pcap_list_tstamp_types, tcpdump -J). Choose one with
/// `CaptureOptions.linkTypeName` / `timestampTypeName`.
public struct InterfaceDetails: Hashable, Sendable {
    /// A link type (its LINKTYPE_ value, as `LinkType.rawValue`) or a time
    /// stamp type (its PCAP_TSTAMP_ value), with libpcap's name and description
    /// ("EN10MB", "Ethernet").
    public struct Choice: Hashable, Sendable {
        public var value: Int
        public var name: String
        public var description: String
    }

    public var interface: String
    public var linkTypes: [Choice]
    public var timestampTypes: [Choice]

    /// Asks the helper about `interface`. Listing link types activates the
    /// interface, so the helper needs CAP_NET_RAW, as for a capture.
    /// - Parameters:
    ///   - timeout: how long the helper may take to say hello and to answer.
    ///   - transport: `.ssh(...)` asks about another machine's interface.
    public static func of(_ interface: String, helperPath: String? = nil, timeout: Duration = .seconds(5),
                          transport: HelperTransport = .local) async throws(CaptureError) -> InterfaceDetails {
        try CaptureOptions.checkInterfaceName(interface)
        let nanoseconds = timeout.saturatingNanoseconds
        guard nanoseconds > 0 else { throw CaptureError(.invalidArgument, "timeout \(timeout) must be positive") }
        let session = try HelperSession.start(helperPath: helperPath, arguments: [], mode: .devices, interface: interface,
                                              deadlines: SessionDeadlines(reply: nanoseconds, open: nanoseconds), transport: transport)
        let reply = await session.request(.describeDevice(interface), .describeDevice)
        await session.waitFinished()
        switch reply {
        case .success(.deviceDetails(let d)):
            func choices(_ list: [WireChoice], value: (Int32) -> Int) -> [Choice] {
                list.map { Choice(value: value($0.value), name: $0.name, description: $0.description) }
            }
            // The helper lists DLT_ values; the library speaks LINKTYPE_.
            return InterfaceDetails(interface: interface,
                                    linkTypes: choices(d.linkTypes) { Int(LinkType(linuxDLT: UInt32(bitPattern: $0)).rawValue) },
                                    timestampTypes: choices(d.timestampTypes) { Int($0) })
        case .success(.error(let e)):
            throw CaptureError.fromHelper(e, session.context)
        case .success(let other):
            throw CaptureError(.protocolViolation, "the helper answered describeDevice with \(other.frameType); the helper and the client must come from the same swiftcap version", helperPath: session.helperPath)
        case .failure(let error):
            throw error
        }
    }
}
