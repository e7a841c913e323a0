import SwiftcapWire
import XCTest

/// The hello frame across protocol versions: a client must be able to name the
/// helper's version even when the rest of the hello has another layout.
final class HelloVersionTests: XCTestCase {
    private func frame(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count + 1)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), FrameType.hello.rawValue] + payload
    }

    private func string(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [0, 0, 0, UInt8(b.count)] + b
    }

    func testCurrentHelloCarriesTheSoftwareVersion() throws {
        let encoded = WireMessage.hello(Hello(libpcapVersion: "libpcap version 1.10.3")).encoded()
        XCTAssertEqual(Array(encoded[5 ..< 7]), [0, UInt8(Wire.protocolVersion)])
        XCTAssertEqual(Array(encoded.suffix(Wire.softwareVersion.utf8.count)), Array(Wire.softwareVersion.utf8))
        guard case .hello(let hello)? = try WireMessage.decodeFrame(encoded)?.0 else { return XCTFail("not a hello") }
        XCTAssertEqual(hello.softwareVersion, Wire.softwareVersion)
        XCTAssertEqual(hello.protocolVersion, Wire.protocolVersion)
    }

    func testVersionOneHelloWithoutSoftwareVersionDecodesForTheMismatchReport() throws {
        let v1 = frame([0, 1] + string("libpcap version 1.9.1"))
        guard case .hello(let hello)? = try WireMessage.decodeFrame(v1)?.0 else { return XCTFail("not a hello") }
        XCTAssertEqual(hello.protocolVersion, 1)
        XCTAssertEqual(hello.libpcapVersion, "libpcap version 1.9.1")
        XCTAssertEqual(hello.softwareVersion, "")
    }

    func testFutureHelloOfAnotherLayoutStillYieldsItsVersion() throws {
        let future = frame([0, 9, 0xFF, 0x00, 0x13])
        guard case .hello(let hello)? = try WireMessage.decodeFrame(future)?.0 else { return XCTFail("not a hello") }
        XCTAssertEqual(hello.protocolVersion, 9)
    }

    func testCurrentHelloWithoutSoftwareVersionIsAViolation() {
        let short = frame([0, UInt8(Wire.protocolVersion)] + string("libpcap"))
        XCTAssertThrowsError(try WireMessage.decodeFrame(short)) { error in
            XCTAssertEqual((error as? ProtocolViolation)?.kind, .truncated)
        }
    }
}
