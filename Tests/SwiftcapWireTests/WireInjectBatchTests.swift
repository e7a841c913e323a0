import SwiftcapWire
import XCTest

/// `WireInjectBatch`: the payload built packet by packet is the documented
/// layout, survives validation, and hands back the same packets in place.
final class WireInjectBatchTests: XCTestCase {
    func testPayloadIsTheDocumentedLayoutAndPacketsComeBackInOrder() throws {
        let packets: [[UInt8]] = [[0xAA], [1, 2, 3], Array(repeating: 0x5C, count: 300)]
        let batch = WireInjectBatch(packets: packets)
        var expected: [UInt8] = [0, 0, 0, 3]
        for p in packets { expected += [0, 0, UInt8(p.count >> 8), UInt8(p.count & 0xFF)] + p }
        XCTAssertEqual(batch.payload, expected)
        XCTAssertEqual(batch.count, 3)
        XCTAssertEqual(batch.packets, packets)
        let validated = try expected.withUnsafeBytes { try WireInjectBatch(validating: $0) }
        XCTAssertEqual(validated, batch)
        let lengths = validated.withUnsafePackets { $0.map(\.count) }
        XCTAssertEqual(lengths, [1, 3, 300])
    }

    func testFitsStopsAtTheFrameBound() {
        var batch = WireInjectBatch()
        let big = [UInt8](repeating: 1, count: 100_000)
        var appended = 0
        while batch.fits(big.count) {
            big.withUnsafeBytes { batch.append($0) }
            appended += 1
        }
        XCTAssertEqual(appended, 2, "262208-byte payload bound: two 100000-byte packets, not three")
        XCTAssertLessThanOrEqual(batch.payload.count, Wire.maxPayloadLength)
        XCTAssertEqual(WireMessage.injectBatch(batch).encoded().count, Wire.frameHeaderLength + batch.payload.count)
    }

    /// Bad payloads (the table), each refused with its reason.
    func testValidationRefusesMalformedPayloads() {
        let cases: [(String, [UInt8], String)] = [
            ("no packets", [0, 0, 0, 0], "packet count 0"),
            ("count beyond the payload", [0, 0, 0, 2, 0, 0, 0, 1, 7], "packet count 2"),
            ("empty packet", [0, 0, 0, 1, 0, 0, 0, 0, 9], "packet length 0"),
            ("length beyond the payload", [0, 0, 0, 1, 0, 0, 0, 5, 1, 2], "packet length 5"),
            ("trailing bytes", [0, 0, 0, 1, 0, 0, 0, 1, 7, 8, 9, 10, 11], "trailing"),
            ("truncated count", [0, 0], "packet count"),
        ]
        for (name, bytes, reason) in cases {
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(ProtocolViolation) in try WireInjectBatch(validating: raw) }
            }
            switch result {
            case .success: XCTFail("\(name): accepted")
            case .failure(let error): XCTAssertTrue(error.description.contains(reason), "\(name): \(error.description)")
            }
        }
    }
}
