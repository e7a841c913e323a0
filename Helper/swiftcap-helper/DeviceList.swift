import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// pcap_findalldevs as wire devices. Addresses are raw bytes: 4 for IPv4, 16 for
/// IPv6, the link-layer address for AF_PACKET; other families carry none.
func findAllDevices() throws(HelperError) -> [WireDevice] {
    var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    var first: UnsafeMutablePointer<pcap_if_t>?
    guard pcap_findalldevs(&first, &errbuf) == 0 else {
        throw HelperError(.internal, "pcap_findalldevs: \(errorBufferString(errbuf))")
    }
    defer { pcap_freealldevs(first) }

    var devices: [WireDevice] = []
    // Stop before the devices frame would exceed the frame bound (thousands of
    // interfaces); the encoder would otherwise refuse the frame.
    var budget = Wire.maxPayloadLength - 4
    var device = first
    while let d = device {
        device = d.pointee.next
        var addresses: [WireAddress] = []
        var address = d.pointee.addresses
        while let a = address {
            address = a.pointee.next
            guard a.pointee.addr != nil else { continue }
            addresses.append(WireAddress(family: UInt16(sch_sockaddr_family(a.pointee.addr)),
                                         address: rawBytes(a.pointee.addr),
                                         netmask: rawBytes(a.pointee.netmask),
                                         broadcast: rawBytes(a.pointee.broadaddr),
                                         destination: rawBytes(a.pointee.dstaddr)))
        }
        let entry = WireDevice(name: String(cString: d.pointee.name),
                               description: d.pointee.description.map { String(cString: $0) } ?? "",
                               flags: d.pointee.flags, addresses: addresses)
        let size = 4 + entry.name.utf8.count + 4 + entry.description.utf8.count + 4 + 4
            + entry.addresses.reduce(0) { $0 + 6 + $1.address.count + $1.netmask.count + $1.broadcast.count + $1.destination.count }
        guard size <= budget else {
            diagnose("device list truncated at \(devices.count) devices to fit one frame")
            break
        }
        budget -= size
        devices.append(entry)
    }
    return devices
}

/// The address bytes of a sockaddr (see sch_sockaddr_bytes), empty for NULL.
private func rawBytes(_ address: UnsafeMutablePointer<sockaddr>?) -> [UInt8] {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
        let count = Int(sch_sockaddr_bytes(address, buffer.baseAddress!))
        return Array(buffer.prefix(count))
    }
}
