import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// What one interface offers, for tcpdump's -L and -J: its time stamp types
/// (pcap_list_tstamp_types, before activation) and link types
/// (pcap_list_datalinks, which needs an activated handle, so CAP_NET_RAW).
/// The name is checked as for `open`; the handle is closed before returning.
func describeDevice(_ name: String) throws(HelperError) -> WireDeviceDetails {
    try LiveCapture.checkDevice(name)
    var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    guard let handle = pcap_create(name, &errbuf) else {
        throw HelperError(.activateFailed, "pcap_create(\"\(name)\"): \(errorBufferString(errbuf))")
    }
    defer { pcap_close(handle) }

    var timestampTypes: [WireChoice] = []
    var tstamps: UnsafeMutablePointer<CInt>?
    let tstampCount = pcap_list_tstamp_types(handle, &tstamps)
    if tstampCount > 0, let tstamps {
        defer { pcap_free_tstamp_types(tstamps) }
        for i in 0 ..< Int(tstampCount) {
            timestampTypes.append(choice(tstamps[i], pcap_tstamp_type_val_to_name(tstamps[i]), pcap_tstamp_type_val_to_description(tstamps[i])))
        }
    }

    let status = pcap_activate(handle)
    if status < 0 {
        let detail = String(cString: pcap_geterr(handle))
        throw LiveCapture.activationError(status, device: name, detail: detail, request: OpenRequest(device: name))
    }
    var linkTypes: [WireChoice] = []
    var dlts: UnsafeMutablePointer<CInt>?
    let dltCount = pcap_list_datalinks(handle, &dlts)
    guard dltCount >= 0, let dlts else {
        throw HelperError(.captureFailed, "pcap_list_datalinks(\(name)): \(String(cString: pcap_geterr(handle)))")
    }
    defer { pcap_free_datalinks(dlts) }
    for i in 0 ..< Int(dltCount) {
        linkTypes.append(choice(dlts[i], pcap_datalink_val_to_name(dlts[i]), pcap_datalink_val_to_description(dlts[i])))
    }
    return WireDeviceDetails(linkTypes: linkTypes, timestampTypes: timestampTypes)
}

/// A value with libpcap's name and description ("DLT 147" when it has none).
private func choice(_ value: CInt, _ name: UnsafePointer<CChar>?, _ description: UnsafePointer<CChar>?) -> WireChoice {
    WireChoice(value: value, name: name.map { String(cString: $0) } ?? "DLT \(value)",
               description: description.map { String(cString: $0) } ?? "")
}
