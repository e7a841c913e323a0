// libFuzzer target: derive a classic BPF program and a packet from the input,
// validate the program and, when it is valid, run it. Built by Tests/Fuzz/run.sh
// together with Sources/PacketCapture/BPF/*.swift and Packet.swift, and linked
// with libpcap, whose bpf_filter() is the reference.
//
// Input layout (little-endian):
//   0      mode: bit 0 set = structured (opcodes drawn from the valid set, jumps
//          folded into range, last instruction a return), clear = raw
//   1      n: instruction count (structured mode makes it at least 1)
//   2..<6  wire length
//   6...   n instructions of 8 bytes (code u16, jt, jf, k u32), then the packet
//
// Properties: no crash or out-of-bounds access (the packet is copied into its own
// allocation so AddressSanitizer sees any read outside it); a valid program
// returns the same accept length as libpcap's bpf_filter(), except where
// libpcap 1.10 is not a usable reference (backward jumps, which it does not
// bound, and scratch memory reads, which it leaves uninitialized).

#if canImport(Glibc)
import Glibc
#endif

let validOpcodes: [UInt16] = [
    0x06, 0x16, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x00, 0x60, 0x80, 0x01, 0x61, 0x81, 0xB1, 0x02, 0x03,
    0x04, 0x14, 0x24, 0x34, 0x94, 0x54, 0x44, 0xA4, 0x64, 0x74, 0x0C, 0x1C, 0x2C, 0x3C, 0x9C, 0x5C, 0x4C,
    0xAC, 0x6C, 0x7C, 0x84, 0x05, 0x15, 0x25, 0x35, 0x45, 0x1D, 0x2D, 0x3D, 0x4D, 0x07, 0x87,
]

/// A failed property: unlike precondition, prints its message in -O builds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

@inline(__always) func le16(_ p: UnsafePointer<UInt8>, _ at: Int) -> UInt16 { UInt16(p[at]) | UInt16(p[at + 1]) << 8 }
@inline(__always) func le32(_ p: UnsafePointer<UInt8>, _ at: Int) -> UInt32 {
    UInt32(p[at]) | UInt32(p[at + 1]) << 8 | UInt32(p[at + 2]) << 16 | UInt32(p[at + 3]) << 24
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 6 else { return 0 }
    let structured = data[0] & 1 != 0
    let wireLength = Int(le32(data, 2))
    var count = min(Int(data[1]), (size - 6) / 8)
    if structured { count = max(count, 1) }

    var instructions: [BPFInstruction] = []
    instructions.reserveCapacity(count)
    for i in 0 ..< count {
        let at = 6 + i * 8
        // Structured mode may run past the input for its one forced instruction; read zeros there.
        let raw = at + 8 <= size
        var insn = BPFInstruction(code: raw ? le16(data, at) : 0x06, jt: raw ? data[at + 2] : 0,
                                  jf: raw ? data[at + 3] : 0, k: raw ? le32(data, at + 4) : 0)
        if structured {
            let remaining = count - i - 1  // instructions after this one
            insn.code = i == count - 1 ? (insn.code & 1 == 0 ? 0x06 : 0x16) : validOpcodes[Int(insn.code) % validOpcodes.count]
            insn.jt = remaining == 0 ? 0 : UInt8(Int(insn.jt) % remaining)
            insn.jf = remaining == 0 ? 0 : UInt8(Int(insn.jf) % remaining)
            switch insn.code {
            case 0x05 where remaining > 0:
                // Offsets from -(i + 1) to remaining - 1: anywhere in the program.
                let offset = Int(insn.k % UInt32(count)) - (i + 1)
                insn.k = UInt32(bitPattern: Int32(offset))
            case 0x60, 0x61, 0x02, 0x03:
                insn.k %= 17  // 16 is out of range on purpose
            case 0x64, 0x74:
                insn.k %= 33
            default:
                break
            }
        }
        instructions.append(insn)
    }
    let packetStart = min(size, 6 + count * 8)
    let packetLength = size - packetStart

    let program: BPFProgram
    do {
        program = try BPFProgram(instructions: instructions)
    } catch {
        check(!error.message.isEmpty, "\(error.code) without a message")
        return 0
    }

    // The packet in an allocation of its own, so AddressSanitizer reports any read
    // outside it. An empty packet has no address at all (ASan lets a 0-byte
    // allocation's first byte be read), so a read of it faults.
    let packet = UnsafeMutableRawBufferPointer(
        start: packetLength == 0 ? nil : malloc(packetLength), count: packetLength)
    defer { free(packet.baseAddress) }
    if packetLength > 0 { packet.copyMemory(from: UnsafeRawBufferPointer(start: data + packetStart, count: packetLength)) }
    let ours = program.run(UnsafeRawBufferPointer(packet), wireLength: wireLength)

    let comparable = !instructions.contains { insn in
        insn.code == 0x60 || insn.code == 0x61 || (insn.code == 0x05 && Int32(bitPattern: insn.k) < 0)
    }
    if comparable {
        var cProgram = instructions.map { bpf_insn(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        let theirs = cProgram.withUnsafeMutableBufferPointer { insns in
            bpf_filter(insns.baseAddress, packet.baseAddress?.assumingMemoryBound(to: UInt8.self),
                       UInt32(truncatingIfNeeded: wireLength), UInt32(packetLength))
        }
        check(ours == theirs, "interpreter returned \(ours), libpcap \(theirs) for \(instructions) on \(packetLength) bytes, wire \(wireLength)")
    }
    return 0
}
