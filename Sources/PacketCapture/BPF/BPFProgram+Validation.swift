/// A classic BPF program was refused before it could run.
public struct BPFProgramError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: UInt8, Hashable, Sendable {
        /// The program has no instructions.
        case empty
        /// The program is longer than `BPFProgram.maxInstructions`.
        case tooLong
        /// An opcode the interpreter does not implement (libpcap's `bpf_filter` has no such case).
        case unknownOpcode
        /// A jump lands outside the program.
        case jumpOutOfRange
        /// An unconditional jump to itself (`ja -1`), a certain infinite loop.
        case infiniteLoop
        /// A scratch memory index of 16 or more.
        case scratchOutOfRange
        /// A division or modulo by the constant 0.
        case divisionByZero
        /// A shift by a constant of 32 or more.
        case shiftOutOfRange
        /// The last instruction is not a return, so a path could run off the end.
        case noFinalReturn
    }

    public var code: Code
    public var message: String
    /// Index of the offending instruction, when one instruction is to blame.
    public var instructionIndex: Int?

    public init(_ code: Code, _ message: String, at instructionIndex: Int? = nil) {
        self.code = code
        self.message = message
        self.instructionIndex = instructionIndex
    }

    public var description: String {
        if let index = instructionIndex {
            return "invalid BPF program (\(code)) at instruction \(index): \(message)"
        }
        return "invalid BPF program (\(code)): \(message)"
    }
}

extension BPFProgram {
    /// BPF_MAXINSNS: the kernel and libpcap's compiler refuse longer programs.
    public static let maxInstructions = 4096

    /// Number of scratch memory words (BPF_MEMWORDS).
    public static let scratchWords = 16

    /// Checks a program the way libpcap's `bpf_validate` does, so that running it
    /// can neither leave the program, touch memory outside scratch, nor trap.
    ///
    /// Rules: 1...4096 instructions; every opcode is one `bpf_filter` implements;
    /// conditional jumps (always forward) and `ja` land inside the program; `ja` may
    /// go backward, as libpcap emits for `protochain`, but not to itself (the interpreter
    /// bounds backward jumps per packet); scratch indices below 16; no division,
    /// modulo or shift by an out-of-range constant; the last instruction returns.
    public static func validate(_ instructions: [BPFInstruction]) throws(BPFProgramError) {
        let count = instructions.count
        guard count > 0 else { throw BPFProgramError(.empty, "the program has no instructions") }
        guard count <= maxInstructions else {
            throw BPFProgramError(.tooLong, "\(count) instructions exceed the limit of \(maxInstructions)")
        }
        for (index, insn) in instructions.enumerated() {
            guard let op = BPFOperation(insn.code) else {
                throw BPFProgramError(.unknownOpcode, "unknown opcode 0x\(String(insn.code, radix: 16))", at: index)
            }
            let next = index + 1
            switch op {
            case .ldMem, .ldxMem, .st, .stx:
                guard insn.k < UInt32(scratchWords) else {
                    throw BPFProgramError(.scratchOutOfRange, "scratch index \(insn.k) is not below \(scratchWords)", at: index)
                }
            case .divK, .modK:
                guard insn.k != 0 else { throw BPFProgramError(.divisionByZero, "division or modulo by constant 0", at: index) }
            case .lshK, .rshK:
                guard insn.k < 32 else { throw BPFProgramError(.shiftOutOfRange, "shift by constant \(insn.k)", at: index) }
            case .ja:
                // k is a signed offset from the next instruction.
                let target = next + Int(Int32(bitPattern: insn.k))
                guard target != index else { throw BPFProgramError(.infiniteLoop, "ja jumps to itself", at: index) }
                guard target >= 0, target < count else {
                    throw BPFProgramError(.jumpOutOfRange, "ja lands at \(target), outside 0..<\(count)", at: index)
                }
            case .jeqK, .jgtK, .jgeK, .jsetK, .jeqX, .jgtX, .jgeX, .jsetX:
                guard next + Int(insn.jt) < count, next + Int(insn.jf) < count else {
                    throw BPFProgramError(.jumpOutOfRange,
                                          "jump lands at \(next + Int(max(insn.jt, insn.jf))), past the last instruction \(count - 1)",
                                          at: index)
                }
            default:
                break
            }
        }
        switch BPFOperation(instructions[count - 1].code) {
        case .retK, .retA: break
        default: throw BPFProgramError(.noFinalReturn, "the last instruction is not a return", at: count - 1)
        }
    }
}
