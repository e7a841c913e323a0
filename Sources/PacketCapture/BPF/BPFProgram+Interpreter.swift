/// Every operation libpcap's `bpf_filter` implements, numbered densely so the
/// interpreter's switch compiles to a jump table.
enum BPFOperation: UInt8, Sendable {
    case retK, retA
    case ldAbsW, ldAbsH, ldAbsB, ldIndW, ldIndH, ldIndB, ldImm, ldMem, ldLen
    case ldxImm, ldxMem, ldxLen, ldxMsh
    case st, stx
    case addK, subK, mulK, divK, modK, andK, orK, xorK, lshK, rshK
    case addX, subX, mulX, divX, modX, andX, orX, xorX, lshX, rshX
    case neg
    case ja, jeqK, jgtK, jgeK, jsetK, jeqX, jgtX, jgeX, jsetX
    case tax, txa
    /// `ja` with a negative offset. Made by `BPFProgram.compile`, never by `init(_:)`.
    case jaBackward

    /// Decodes a `bpf_insn` opcode; nil for any opcode `bpf_filter` lacks.
    init?(_ code: UInt16) {
        switch code {
        case 0x06: self = .retK
        case 0x16: self = .retA
        case 0x20: self = .ldAbsW
        case 0x28: self = .ldAbsH
        case 0x30: self = .ldAbsB
        case 0x40: self = .ldIndW
        case 0x48: self = .ldIndH
        case 0x50: self = .ldIndB
        case 0x00: self = .ldImm
        case 0x60: self = .ldMem
        case 0x80: self = .ldLen
        case 0x01: self = .ldxImm
        case 0x61: self = .ldxMem
        case 0x81: self = .ldxLen
        case 0xB1: self = .ldxMsh
        case 0x02: self = .st
        case 0x03: self = .stx
        case 0x04: self = .addK
        case 0x14: self = .subK
        case 0x24: self = .mulK
        case 0x34: self = .divK
        case 0x94: self = .modK
        case 0x54: self = .andK
        case 0x44: self = .orK
        case 0xA4: self = .xorK
        case 0x64: self = .lshK
        case 0x74: self = .rshK
        case 0x0C: self = .addX
        case 0x1C: self = .subX
        case 0x2C: self = .mulX
        case 0x3C: self = .divX
        case 0x9C: self = .modX
        case 0x5C: self = .andX
        case 0x4C: self = .orX
        case 0xAC: self = .xorX
        case 0x6C: self = .lshX
        case 0x7C: self = .rshX
        case 0x84: self = .neg
        case 0x05: self = .ja
        case 0x15: self = .jeqK
        case 0x25: self = .jgtK
        case 0x35: self = .jgeK
        case 0x45: self = .jsetK
        case 0x1D: self = .jeqX
        case 0x2D: self = .jgtX
        case 0x3D: self = .jgeX
        case 0x4D: self = .jsetX
        case 0x07: self = .tax
        case 0x87: self = .txa
        default: return nil
        }
    }
}

/// One instruction as the interpreter runs it: jump targets are absolute indices.
struct BPFCompiledInstruction: Sendable {
    var k: UInt32
    /// Target when the condition holds, and the target of `ja`.
    var jt: UInt16
    /// Target when the condition fails.
    var jf: UInt16
    var op: BPFOperation
}

extension BPFProgram {
    /// Backward `ja`s allowed per packet before it is rejected, as in libpcap
    /// (MAX_BACKWARD_JUMPS): `protochain` loops once per IPv6 extension header.
    public static let maxBackwardJumps = 64

    /// Decodes a program `validate` accepted.
    static func compile(_ instructions: [BPFInstruction]) -> [BPFCompiledInstruction] {
        instructions.enumerated().map { index, insn in
            let op = BPFOperation(insn.code)!
            let next = index + 1
            switch op {
            case .ja:
                let offset = Int(Int32(bitPattern: insn.k))
                return BPFCompiledInstruction(k: insn.k, jt: UInt16(next + offset), jf: 0, op: offset < 0 ? .jaBackward : .ja)
            case .jeqK, .jgtK, .jgeK, .jsetK, .jeqX, .jgtX, .jgeX, .jsetX:
                return BPFCompiledInstruction(k: insn.k, jt: UInt16(next + Int(insn.jt)), jf: UInt16(next + Int(insn.jf)), op: op)
            default:
                return BPFCompiledInstruction(k: insn.k, jt: 0, jf: 0, op: op)
            }
        }
    }

    /// Runs the filter on one packet, with the semantics of libpcap's `bpf_filter`.
    ///
    /// - Parameters:
    ///   - packet: the captured bytes (the link-layer header first).
    ///   - wireLength: the packet's length on the wire, which `len` loads see.
    /// - Returns: how many bytes of the packet to accept; 0 rejects it. A load
    ///   beyond the captured bytes and a division by X == 0 reject the packet.
    public func run(_ packet: UnsafeRawBufferPointer, wireLength: Int) -> UInt32 {
        compiled.withUnsafeBufferPointer { code in
            Self.execute(code, packet.baseAddress, UInt64(packet.count), UInt32(clamping: max(0, wireLength)))
        }
    }

    /// Whether the filter accepts the packet (a nonzero accept length).
    public func matches(_ packet: Packet) -> Bool {
        packet.bytes.withUnsafeBytes { run($0, wireLength: packet.wireLength) } != 0
    }

    /// The interpreter loop. `validate` guarantees that `pc` stays inside `code`
    /// (targets are in range and the last instruction returns) and that scratch
    /// indices are below 16; packet loads check their bounds here, before reading.
    private static func execute(_ code: UnsafeBufferPointer<BPFCompiledInstruction>, _ packet: UnsafeRawPointer?,
                                _ length: UInt64, _ wireLength: UInt32) -> UInt32 {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: scratchWords) { mem in
            mem.initialize(repeating: 0)
            // Only dereferenced after a bounds check passed, so never nil there.
            @inline(__always) func byte(_ offset: UInt64) -> UInt32 {
                UInt32(packet.unsafelyUnwrapped.load(fromByteOffset: Int(truncatingIfNeeded: offset), as: UInt8.self))
            }
            @inline(__always) func half(_ offset: UInt64) -> UInt32 {
                UInt32(UInt16(bigEndian: packet.unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(truncatingIfNeeded: offset), as: UInt16.self)))
            }
            @inline(__always) func word(_ offset: UInt64) -> UInt32 {
                UInt32(bigEndian: packet.unsafelyUnwrapped.loadUnaligned(fromByteOffset: Int(truncatingIfNeeded: offset), as: UInt32.self))
            }

            var a: UInt32 = 0
            var x: UInt32 = 0
            var backwardJumps = 0
            var pc = 0
            while true {
                let insn = code[pc]
                pc &+= 1
                switch insn.op {
                case .retK: return insn.k
                case .retA: return a

                case .ldAbsW:
                    let offset = UInt64(insn.k)
                    guard offset &+ 4 <= length else { return 0 }
                    a = word(offset)
                case .ldAbsH:
                    let offset = UInt64(insn.k)
                    guard offset &+ 2 <= length else { return 0 }
                    a = half(offset)
                case .ldAbsB:
                    let offset = UInt64(insn.k)
                    guard offset < length else { return 0 }
                    a = byte(offset)
                case .ldIndW:
                    let offset = UInt64(x) &+ UInt64(insn.k)
                    guard offset &+ 4 <= length else { return 0 }
                    a = word(offset)
                case .ldIndH:
                    let offset = UInt64(x) &+ UInt64(insn.k)
                    guard offset &+ 2 <= length else { return 0 }
                    a = half(offset)
                case .ldIndB:
                    let offset = UInt64(x) &+ UInt64(insn.k)
                    guard offset < length else { return 0 }
                    a = byte(offset)
                case .ldImm: a = insn.k
                case .ldMem: a = mem[Int(insn.k)]
                case .ldLen: a = wireLength

                case .ldxImm: x = insn.k
                case .ldxMem: x = mem[Int(insn.k)]
                case .ldxLen: x = wireLength
                case .ldxMsh:
                    let offset = UInt64(insn.k)
                    guard offset < length else { return 0 }
                    x = (byte(offset) & 0xF) << 2

                case .st: mem[Int(insn.k)] = a
                case .stx: mem[Int(insn.k)] = x

                case .addK: a &+= insn.k
                case .subK: a &-= insn.k
                case .mulK: a &*= insn.k
                case .divK: a /= insn.k  // k != 0 (validated)
                case .modK: a %= insn.k
                case .andK: a &= insn.k
                case .orK: a |= insn.k
                case .xorK: a ^= insn.k
                case .lshK: a &<<= insn.k  // k < 32 (validated)
                case .rshK: a &>>= insn.k

                case .addX: a &+= x
                case .subX: a &-= x
                case .mulX: a &*= x
                case .divX:
                    guard x != 0 else { return 0 }
                    a /= x
                case .modX:
                    guard x != 0 else { return 0 }
                    a %= x
                case .andX: a &= x
                case .orX: a |= x
                case .xorX: a ^= x
                // Swift's smart shifts give 0 for counts of 32 or more, as libpcap does.
                case .lshX: a <<= x
                case .rshX: a >>= x
                case .neg: a = 0 &- a

                case .ja: pc = Int(insn.jt)
                case .jaBackward:
                    backwardJumps &+= 1
                    guard backwardJumps <= maxBackwardJumps else { return 0 }
                    pc = Int(insn.jt)
                case .jeqK: pc = Int(a == insn.k ? insn.jt : insn.jf)
                case .jgtK: pc = Int(a > insn.k ? insn.jt : insn.jf)
                case .jgeK: pc = Int(a >= insn.k ? insn.jt : insn.jf)
                case .jsetK: pc = Int(a & insn.k != 0 ? insn.jt : insn.jf)
                case .jeqX: pc = Int(a == x ? insn.jt : insn.jf)
                case .jgtX: pc = Int(a > x ? insn.jt : insn.jf)
                case .jgeX: pc = Int(a >= x ? insn.jt : insn.jf)
                case .jsetX: pc = Int(a & x != 0 ? insn.jt : insn.jf)

                case .tax: x = a
                case .txa: a = x
                }
            }
        }
    }
}
