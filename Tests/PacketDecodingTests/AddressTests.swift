import Glibc
import PacketDecoding
import XCTest

final class AddressTests: XCTestCase {
    /// IPv6 text equals glibc's inet_ntop (what tcpdump prints) on RFC 5952's cases.
    func testIPv6TextMatchesInetNtop() throws {
        let cases = ["2001:db8::1", "::", "::1", "::2", "1::", "2001:db8:0:0:1:0:0:1", "2001:0:0:1:0:0:0:1",
                     "fe80::1:2:3:4", "::ffff:192.0.2.1", "::192.0.2.1", "::ffff:0:1", "2001:db8:1:2:3:4:5:6",
                     "0:0:1::", "1:0:0:2:0:0:0:3", "ff02::1:ff00:1", "64:ff9b::192.0.2.33", "::0.0.0.1"]
        for text in cases {
            var raw = in6_addr()
            XCTAssertEqual(inet_pton(AF_INET6, text, &raw), 1, text)
            var buffer = [CChar](repeating: 0, count: 64)
            XCTAssertNotNil(inet_ntop(AF_INET6, &raw, &buffer, 64))
            let expected = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let parsed = try XCTUnwrap(IPv6Address(text), text)
            XCTAssertEqual(parsed.description, expected, text)
            let bytes = withUnsafeBytes(of: raw) { Array($0) }
            XCTAssertEqual(parsed.bytes, bytes, text)
        }
    }

    func testIPv4AndMACText() throws {
        XCTAssertEqual(IPv4Address("192.0.2.1")?.rawValue, 0xC000_0201)
        XCTAssertEqual(IPv4Address(10, 0, 0, 255).description, "10.0.0.255")
        XCTAssertEqual(MACAddress("02:00:00:00:00:01")?.description, "02:00:00:00:00:01")
        XCTAssertEqual(MACAddress(0xAA, 0xBB, 0xCC, 0x0D, 0xE, 0xFF).description, "aa:bb:cc:0d:0e:ff")
        XCTAssertEqual(MACAddress.broadcast.bytes, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    /// Text that is not an address gives nil, not a wrong address.
    func testBadAddressTextIsRejected() {
        for text in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", " 1.2.3.4", "1.2.3.-4", "+1.2.3.4"] {
            XCTAssertNil(IPv4Address(text), text)
        }
        for text in ["", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8::", "1:", "::1.2.3"] {
            XCTAssertNil(IPv6Address(text), text)
        }
        for text in ["", "02:00:00:00:00", "02:00:00:00:00:00:00", "002:00:00:00:00:00", "zz:00:00:00:00:00"] {
            XCTAssertNil(MACAddress(text), text)
        }
    }
}
