import PacketCapture
import XCTest

final class BPFInterpreterTests: XCTestCase {
    typealias Code = BPFProgramError.Code

    let retA = I(BPF.ret | BPF.a)
    let accept = I(BPF.ret | BPF.k, 0xFFFF)

    // MARK: Validation

    func testValidationRejectsBadPrograms() {
        let cases: [(String, [BPFInstruction], Code, Int?)] = [
            ("empty", [], .empty, nil),
            ("too long", Array(repeating: accept, count: 4097), .tooLong, nil),
            ("jeq jt past the end", [I(BPF.jmp | BPF.jeq | BPF.k, 1, jt: 1, jf: 0), accept], .jumpOutOfRange, 0),
            ("jset jf past the end", [I(BPF.jmp | BPF.jset | BPF.x, 1, jt: 0, jf: 2), accept, accept], .jumpOutOfRange, 0),
            ("jgt jt 255", [I(BPF.jmp | BPF.jgt | BPF.k, 1, jt: 255), accept], .jumpOutOfRange, 0),
            ("ja past the end", [I(BPF.jmp | BPF.ja, 1), accept], .jumpOutOfRange, 0),
            ("ja huge", [I(BPF.jmp | BPF.ja, 0x7FFF_FFFF), accept], .jumpOutOfRange, 0),
            ("ja backward before the start", [accept, I(BPF.jmp | BPF.ja, UInt32(bitPattern: -3)), accept], .jumpOutOfRange, 1),
            ("ja backward to itself", [I(BPF.ld | BPF.imm, 1), I(BPF.jmp | BPF.ja, UInt32(bitPattern: -1)), accept], .infiniteLoop, 1),
            ("RET|X", [I(0x0E)], .unknownOpcode, 0),
            ("LD|H|IMM", [I(BPF.ld | BPF.h | BPF.imm, 1), accept], .unknownOpcode, 0),
            ("LD|MSH", [I(BPF.ld | BPF.b | BPF.msh, 1), accept], .unknownOpcode, 0),
            ("LDX|W|ABS", [I(BPF.ldx | BPF.w | BPF.abs, 1), accept], .unknownOpcode, 0),
            ("NEG|X", [I(BPF.alu | BPF.neg | BPF.x), accept], .unknownOpcode, 0),
            ("ALU op 0xb0", [I(BPF.alu | 0xB0), accept], .unknownOpcode, 0),
            ("JA|X", [I(BPF.jmp | BPF.ja | BPF.x), accept], .unknownOpcode, 0),
            ("JMP op 0x50", [I(BPF.jmp | 0x50), accept], .unknownOpcode, 0),
            ("MISC 0x27", [I(0x27), accept], .unknownOpcode, 0),
            ("high opcode bits", [accept, I(0x0106)], .unknownOpcode, 1),
            ("ld M[16]", [I(BPF.ld | BPF.mem, 16), retA], .scratchOutOfRange, 0),
            ("ldx M[16]", [I(BPF.ldx | BPF.mem, 16), retA], .scratchOutOfRange, 0),
            ("st M[16]", [I(BPF.st, 16), retA], .scratchOutOfRange, 0),
            ("stx M[0xffffffff]", [I(BPF.stx, 0xFFFF_FFFF), retA], .scratchOutOfRange, 0),
            ("div #0", [I(BPF.alu | BPF.div | BPF.k, 0), retA], .divisionByZero, 0),
            ("mod #0", [I(BPF.alu | BPF.mod | BPF.k, 0), retA], .divisionByZero, 0),
            ("lsh #32", [I(BPF.alu | BPF.lsh | BPF.k, 32), retA], .shiftOutOfRange, 0),
            ("rsh #0xffffffff", [I(BPF.alu | BPF.rsh | BPF.k, 0xFFFF_FFFF), retA], .shiftOutOfRange, 0),
            ("no return", [I(BPF.ld | BPF.imm, 1)], .noFinalReturn, 0),
            ("return not last", [accept, I(BPF.ld | BPF.imm, 1)], .noFinalReturn, 1),
            // A jump as the last instruction can only land past the end.
            ("jump last", [I(BPF.ld | BPF.imm, 1), I(BPF.jmp | BPF.jeq | BPF.k, 1)], .jumpOutOfRange, 1),
        ]
        for (name, instructions, code, index) in cases {
            XCTAssertThrowsError(try BPFProgram(instructions: instructions), name) { error in
                guard let error = error as? BPFProgramError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(error.code, code, "\(name): \(error)")
                XCTAssertEqual(error.instructionIndex, index, "\(name): \(error)")
                XCTAssertFalse(error.message.isEmpty, name)
            }
        }
    }

    func testValidationAcceptsLimits() throws {
        XCTAssertNoThrow(try BPFProgram(instructions: Array(repeating: accept, count: 4096)))
        XCTAssertNoThrow(try BPFProgram(instructions: [I(BPF.st, 15), I(BPF.ldx | BPF.mem, 15), I(BPF.alu | BPF.lsh | BPF.k, 31), retA]))
        XCTAssertNoThrow(try BPFProgram(instructions: [I(BPF.jmp | BPF.jeq | BPF.k, 1, jt: 1, jf: 0), accept, accept]))
        XCTAssertNoThrow(try BPFProgram(instructions: [I(BPF.jmp | BPF.ja, 0), accept]))
        // Backward ja, as libpcap emits for protochain.
        XCTAssertNoThrow(try BPFProgram(instructions: [accept, I(BPF.jmp | BPF.ja, UInt32(bitPattern: -2)), accept]))
        do {
            _ = try BPFProgram(instructions: [])
            XCTFail("an empty program was accepted")
        } catch {
            XCTAssertEqual(error.description, "invalid BPF program (empty): the program has no instructions")
        }
    }

    func testProgramEqualityIsByInstructions() throws {
        let a = try BPFProgram(instructions: [accept])
        let b = try BPFProgram(instructions: [accept])
        let c = try BPFProgram(instructions: [retA])
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.hashValue, b.hashValue)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(a.instructions, [accept])
    }

    // MARK: Loads

    let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]

    /// Runs `load; ret a` on `packet`.
    func load(_ insns: [BPFInstruction], _ packet: [UInt8], wireLength: Int? = nil) -> UInt32? {
        bpfProgram(insns + [retA])?.run(packet, wireLength: wireLength)
    }

    func testAbsoluteLoads() {
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.abs, 0)], bytes), 0x0102_0304)
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.abs, 4)], bytes), 0x0506_0708)
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.abs, 5)], bytes), 0)
        XCTAssertEqual(load([I(BPF.ld | BPF.h | BPF.abs, 1)], bytes), 0x0203)
        XCTAssertEqual(load([I(BPF.ld | BPF.h | BPF.abs, 6)], bytes), 0x0708)
        XCTAssertEqual(load([I(BPF.ld | BPF.h | BPF.abs, 7)], bytes), 0)
        XCTAssertEqual(load([I(BPF.ld | BPF.b | BPF.abs, 7)], bytes), 0x08)
        XCTAssertEqual(load([I(BPF.ld | BPF.b | BPF.abs, 8)], bytes), 0)
        // Offsets near 2^32 must not wrap around into the packet.
        for k: UInt32 in [0xFFFF_FFFF, 0xFFFF_FFFE, 0xFFFF_FFFD, 0x8000_0000] {
            XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.abs, k)], bytes), 0)
            XCTAssertEqual(load([I(BPF.ld | BPF.h | BPF.abs, k)], bytes), 0)
            XCTAssertEqual(load([I(BPF.ld | BPF.b | BPF.abs, k)], bytes), 0)
        }
        // Linux ancillary offsets (SKF_AD_OFF + n) reject: offline programs never use them.
        XCTAssertEqual(load([I(BPF.ld | BPF.b | BPF.abs, 0xFFFF_F000 + 44)], bytes), 0)
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.abs, 0xFFFF_F000)], bytes), 0)
    }

    func testLoadFailureRejectsEvenIfProgramWouldAccept() {
        // ld [100]; ret #1: the out-of-bounds load rejects before the return.
        XCTAssertEqual(bpfProgram([I(BPF.ld | BPF.b | BPF.abs, 100), I(BPF.ret | BPF.k, 1)])?.run(bytes), 0)
    }

    func testIndirectLoads() {
        let ldx2 = I(BPF.ldx | BPF.imm, 2)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.w | BPF.ind, 1)], bytes), 0x0405_0607)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.w | BPF.ind, 2)], bytes), 0x0506_0708)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.w | BPF.ind, 3)], bytes), 0)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.h | BPF.ind, 4)], bytes), 0x0708)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.h | BPF.ind, 5)], bytes), 0)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.b | BPF.ind, 5)], bytes), 0x08)
        XCTAssertEqual(load([ldx2, I(BPF.ld | BPF.b | BPF.ind, 6)], bytes), 0)
        // X + k overflowing 32 bits must not wrap to a small offset.
        let ldxMax = I(BPF.ldx | BPF.imm, 0xFFFF_FFFF)
        XCTAssertEqual(load([ldxMax, I(BPF.ld | BPF.b | BPF.ind, 1)], bytes), 0)
        XCTAssertEqual(load([ldxMax, I(BPF.ld | BPF.h | BPF.ind, 2)], bytes), 0)
        XCTAssertEqual(load([ldxMax, I(BPF.ld | BPF.w | BPF.ind, 5)], bytes), 0)
        XCTAssertEqual(load([I(BPF.ldx | BPF.imm, 1), I(BPF.ld | BPF.w | BPF.ind, 0xFFFF_FFFF)], bytes), 0)
    }

    func testMSHLoad() {
        // X = 4 * (p[k] & 0xf); IPv4 header length idiom.
        XCTAssertEqual(load([I(BPF.ldx | BPF.b | BPF.msh, 0), I(BPF.misc | BPF.txa)], [0x45]), 20)
        XCTAssertEqual(load([I(BPF.ldx | BPF.b | BPF.msh, 1), I(BPF.misc | BPF.txa)], [0x45, 0xFF]), 60)
        XCTAssertEqual(load([I(BPF.ldx | BPF.b | BPF.msh, 1), I(BPF.misc | BPF.txa)], [0x45]), 0)
        XCTAssertEqual(load([I(BPF.ldx | BPF.b | BPF.msh, 0xFFFF_FFFF), I(BPF.misc | BPF.txa)], bytes), 0)
    }

    func testImmediateAndLengthLoads() {
        XCTAssertEqual(load([I(BPF.ld | BPF.imm, 0xDEAD_BEEF)], []), 0xDEAD_BEEF)
        XCTAssertEqual(load([I(BPF.ldx | BPF.imm, 77), I(BPF.misc | BPF.txa)], []), 77)
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.len)], bytes), 8)
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.len)], bytes, wireLength: 9000), 9000)
        XCTAssertEqual(load([I(BPF.ldx | BPF.w | BPF.len), I(BPF.misc | BPF.txa)], bytes, wireLength: 1514), 1514)
        // Out-of-domain wire lengths clamp.
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.len), I(BPF.alu | BPF.add | BPF.k, 1)], bytes, wireLength: -5), 1)
        XCTAssertEqual(load([I(BPF.ld | BPF.w | BPF.len)], bytes, wireLength: Int.max), UInt32.max)
    }

    func testEmptyPacket() throws {
        let p = try XCTUnwrap(bpfProgram([I(BPF.ld | BPF.b | BPF.abs, 0), I(BPF.ret | BPF.k, 1)]))
        XCTAssertEqual(p.run(UnsafeRawBufferPointer(start: nil, count: 0), wireLength: 0), 0)
        XCTAssertEqual(p.run([], wireLength: 100), 0)
        let len = try XCTUnwrap(bpfProgram([I(BPF.ld | BPF.w | BPF.len), retA]))
        XCTAssertEqual(len.run(UnsafeRawBufferPointer(start: nil, count: 0), wireLength: 60), 60)
    }

    func testScratchMemory() {
        // Scratch memory starts zeroed.
        XCTAssertEqual(load([I(BPF.ld | BPF.mem, 3), I(BPF.alu | BPF.add | BPF.k, 7)], []), 7)
        XCTAssertEqual(load([I(BPF.ld | BPF.imm, 42), I(BPF.st, 15), I(BPF.ld | BPF.imm, 0), I(BPF.ld | BPF.mem, 15)], []), 42)
        XCTAssertEqual(load([I(BPF.ldx | BPF.imm, 9), I(BPF.stx, 0), I(BPF.ldx | BPF.imm, 0),
                             I(BPF.ldx | BPF.mem, 0), I(BPF.misc | BPF.txa)], []), 9)
        // Each run starts afresh: a value stored by one packet is not seen by the next.
        guard let p = bpfProgram([I(BPF.ld | BPF.mem, 1), I(BPF.alu | BPF.add | BPF.k, 1), I(BPF.st, 1), retA]) else { return }
        XCTAssertEqual(p.run([]), 1)
        XCTAssertEqual(p.run([]), 1)
    }

    // MARK: ALU

    /// A op= operand with A = a (and X = x for the X form).
    func alu(_ op: UInt16, _ a: UInt32, _ operand: UInt32) -> (k: UInt32?, x: UInt32?) {
        let k = op == BPF.div || op == BPF.mod ? (operand == 0 ? nil : operand) : (op == BPF.lsh || op == BPF.rsh) && operand >= 32 ? nil : operand
        let viaK = k.flatMap { load([I(BPF.ld | BPF.imm, a), I(BPF.alu | op | BPF.k, $0)], []) }
        let viaX = load([I(BPF.ldx | BPF.imm, operand), I(BPF.ld | BPF.imm, a), I(BPF.alu | op | BPF.x)], [])
        return (viaK, viaX)
    }

    func testALU() {
        let cases: [(String, UInt16, UInt32, UInt32, UInt32)] = [
            ("add", BPF.add, 5, 7, 12),
            ("add wraps", BPF.add, 0xFFFF_FFFF, 2, 1),
            ("sub", BPF.sub, 7, 5, 2),
            ("sub wraps", BPF.sub, 5, 7, 0xFFFF_FFFE),
            ("mul", BPF.mul, 6, 7, 42),
            ("mul wraps", BPF.mul, 0x1_0001, 0x1_0001, 0x0002_0001),
            ("div", BPF.div, 100, 7, 14),
            ("div unsigned", BPF.div, 0xFFFF_FFFE, 2, 0x7FFF_FFFF),
            ("mod", BPF.mod, 100, 7, 2),
            ("and", BPF.and, 0xF0F0, 0xFF00, 0xF000),
            ("or", BPF.or, 0xF0F0, 0x0F00, 0xFFF0),
            ("xor", BPF.xor, 0xF0F0, 0xFF00, 0x0FF0),
            ("lsh", BPF.lsh, 3, 4, 48),
            ("lsh 31", BPF.lsh, 3, 31, 0x8000_0000),
            ("rsh", BPF.rsh, 0x8000_0000, 31, 1),
            ("rsh logical", BPF.rsh, 0xFFFF_FFFF, 4, 0x0FFF_FFFF),
            ("lsh 0", BPF.lsh, 7, 0, 7),
        ]
        for (name, op, a, operand, expected) in cases {
            let (k, x) = alu(op, a, operand)
            XCTAssertEqual(k, expected, "\(name) K")
            XCTAssertEqual(x, expected, "\(name) X")
        }
    }

    func testShiftByXOf32OrMoreGivesZero() {
        for count: UInt32 in [32, 33, 64, 0xFFFF_FFFF] {
            XCTAssertEqual(alu(BPF.lsh, 0xFFFF_FFFF, count).x, 0, "lsh \(count)")
            XCTAssertEqual(alu(BPF.rsh, 0xFFFF_FFFF, count).x, 0, "rsh \(count)")
        }
    }

    func testDivisionByXZeroRejects() {
        // A would be nonzero if the division were skipped; the packet is rejected instead.
        for op in [BPF.div, BPF.mod] {
            let p = bpfProgram([I(BPF.ldx | BPF.imm, 0), I(BPF.ld | BPF.imm, 10), I(BPF.alu | op | BPF.x), I(BPF.ret | BPF.k, 1)])
            XCTAssertEqual(p?.run([]), 0)
        }
    }

    func testNegate() {
        XCTAssertEqual(load([I(BPF.ld | BPF.imm, 1), I(BPF.alu | BPF.neg)], []), 0xFFFF_FFFF)
        XCTAssertEqual(load([I(BPF.ld | BPF.imm, 0x8000_0000), I(BPF.alu | BPF.neg)], []), 0x8000_0000)
        XCTAssertEqual(load([I(BPF.ld | BPF.imm, 0), I(BPF.alu | BPF.neg), I(BPF.alu | BPF.add | BPF.k, 3)], []), 3)
    }

    func testRegisterTransfers() {
        XCTAssertEqual(load([I(BPF.ld | BPF.imm, 5), I(BPF.misc | BPF.tax), I(BPF.ld | BPF.imm, 0), I(BPF.misc | BPF.txa)], []), 5)
        XCTAssertEqual(load([I(BPF.ldx | BPF.imm, 6), I(BPF.misc | BPF.txa)], []), 6)
    }

    // MARK: Jumps and returns

    /// `ld #a; [ldx #x;] jmp; ret #1; ret #2` → 1 when the condition holds, 2 otherwise.
    func branch(_ op: UInt16, a: UInt32, _ operand: UInt32, x: Bool) -> UInt32? {
        let setup = x ? [I(BPF.ldx | BPF.imm, operand)] : []
        let jump = I(BPF.jmp | op | (x ? BPF.x : BPF.k), x ? 0 : operand, jt: 0, jf: 1)
        return bpfProgram([I(BPF.ld | BPF.imm, a)] + setup + [jump, I(BPF.ret | BPF.k, 1), I(BPF.ret | BPF.k, 2)])?.run([])
    }

    func testConditionalJumps() {
        let cases: [(String, UInt16, UInt32, UInt32, Bool)] = [
            ("jeq true", BPF.jeq, 5, 5, true), ("jeq false", BPF.jeq, 5, 6, false),
            ("jgt true", BPF.jgt, 6, 5, true), ("jgt equal", BPF.jgt, 5, 5, false), ("jgt unsigned", BPF.jgt, 0xFFFF_FFFF, 1, true),
            ("jge true", BPF.jge, 5, 5, true), ("jge false", BPF.jge, 4, 5, false),
            ("jset true", BPF.jset, 0b1010, 0b0010, true), ("jset false", BPF.jset, 0b1010, 0b0101, false),
        ]
        for (name, op, a, operand, holds) in cases {
            XCTAssertEqual(branch(op, a: a, operand, x: false), holds ? 1 : 2, "\(name) K")
            XCTAssertEqual(branch(op, a: a, operand, x: true), holds ? 1 : 2, "\(name) X")
        }
    }

    func testJumpOffsetsAreRelativeToTheNextInstruction() {
        // jeq jt 2 jf 0: true skips two instructions, false falls through.
        let p = bpfProgram([
            I(BPF.ld | BPF.b | BPF.abs, 0),
            I(BPF.jmp | BPF.jeq | BPF.k, 1, jt: 2, jf: 0),
            I(BPF.ret | BPF.k, 10),
            I(BPF.ret | BPF.k, 20),
            I(BPF.ret | BPF.k, 30),
        ])
        XCTAssertEqual(p?.run([1]), 30)
        XCTAssertEqual(p?.run([2]), 10)
    }

    func testUnconditionalJumps() {
        XCTAssertEqual(bpfProgram([I(BPF.jmp | BPF.ja, 1), I(BPF.ret | BPF.k, 1), I(BPF.ret | BPF.k, 2)])?.run([]), 2)
        XCTAssertEqual(bpfProgram([I(BPF.jmp | BPF.ja, 0), I(BPF.ret | BPF.k, 1), I(BPF.ret | BPF.k, 2)])?.run([]), 1)
    }

    /// `M[0] += 1` until it equals `n`, looping with a backward ja; returns M[0].
    func loop(until n: UInt32) -> UInt32? {
        bpfProgram([
            I(BPF.ld | BPF.mem, 0),
            I(BPF.alu | BPF.add | BPF.k, 1),
            I(BPF.st, 0),
            I(BPF.jmp | BPF.jeq | BPF.k, n, jt: 1, jf: 0),
            I(BPF.jmp | BPF.ja, UInt32(bitPattern: -5)),
            retA,
        ])?.run([])
    }

    func testBackwardJumpsAreBoundedPerPacket() {
        XCTAssertEqual(loop(until: 2), 2)
        // n iterations take n - 1 backward jumps; libpcap allows 64 per packet.
        XCTAssertEqual(loop(until: UInt32(BPFProgram.maxBackwardJumps) + 1), 65)
        XCTAssertEqual(loop(until: UInt32(BPFProgram.maxBackwardJumps) + 2), 0)
        // An endless loop ends in a rejection.
        let endless = bpfProgram([I(BPF.ld | BPF.imm, 1), I(BPF.jmp | BPF.ja, UInt32(bitPattern: -2)), retA])
        XCTAssertEqual(endless?.run([]), 0)
    }

    func testReturns() {
        XCTAssertEqual(bpfProgram([I(BPF.ret | BPF.k, 262_144)])?.run([]), 262_144)
        XCTAssertEqual(bpfProgram([I(BPF.ret | BPF.k, 0)])?.run(bytes), 0)
        XCTAssertEqual(bpfProgram([I(BPF.ld | BPF.imm, 96), retA])?.run([]), 96)
    }

    func testMatchesUsesTheSliceAndWireLength() throws {
        // Only bytes 4..<8 belong to the packet: a load at offset 4 is out of bounds.
        let backing: [UInt8] = [0xAA, 0xAA, 0xAA, 0xAA, 0x45, 0x00, 0x00, 0x54, 0xBB, 0xBB]
        let packet = Packet(timestamp: nil, wireLength: 1500, bytes: backing[4 ..< 8], linkType: .raw)
        let first = try BPFProgram(instructions: [I(BPF.ld | BPF.b | BPF.abs, 0), I(BPF.jmp | BPF.jeq | BPF.k, 0x45, jt: 0, jf: 1), accept, I(BPF.ret | BPF.k, 0)])
        XCTAssertTrue(first.matches(packet))
        XCTAssertFalse(try BPFProgram(instructions: [I(BPF.ld | BPF.b | BPF.abs, 4), accept]).matches(packet))
        XCTAssertTrue(try BPFProgram(instructions: [I(BPF.ld | BPF.w | BPF.len), I(BPF.jmp | BPF.jeq | BPF.k, 1500, jt: 0, jf: 1), accept, I(BPF.ret | BPF.k, 0)]).matches(packet))
        XCTAssertFalse(try BPFProgram(instructions: [I(BPF.ret | BPF.k, 0)]).matches(packet))
    }
}
