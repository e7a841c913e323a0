/// One classic BPF instruction (`struct bpf_insn`).
public struct BPFInstruction: Hashable, Sendable {
    public var code: UInt16
    public var jt: UInt8
    public var jf: UInt8
    public var k: UInt32
    public init(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32) {
        self.code = code
        self.jt = jt
        self.jf = jf
        self.k = k
    }
}

/// A validated classic BPF program, as libpcap's `pcap_compile` produces it.
/// Filters are compiled by the helper (libpcap never runs in the client) and
/// executed here by a bounds-checked interpreter.
public struct BPFProgram: Hashable, Sendable {
    public let instructions: [BPFInstruction]
    /// The same program decoded for the interpreter: dense opcodes, absolute jump targets.
    let compiled: [BPFCompiledInstruction]

    /// - Throws: `BPFProgramError` when the program could read outside scratch
    ///   memory, jump out of the program, or fall off its end.
    public init(instructions: [BPFInstruction]) throws(BPFProgramError) {
        try Self.validate(instructions)
        self.instructions = instructions
        self.compiled = Self.compile(instructions)
    }

    public static func == (a: BPFProgram, b: BPFProgram) -> Bool { a.instructions == b.instructions }
    public func hash(into hasher: inout Hasher) { hasher.combine(instructions) }
}
