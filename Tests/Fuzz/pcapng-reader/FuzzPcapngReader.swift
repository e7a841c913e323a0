// libFuzzer target: arbitrary bytes read as a capture file, both in memory
// (the mapped-file path) and through a pipe (the stream path).
// Built by Tests/Fuzz/run.sh with Sources/PacketCapture/Files/*.swift and
// Packet.swift, and the shared walker in ../reader-common/ReaderFuzzing.swift.
// pcapng-reader starts from pcapng seeds (corpus/pcapng/).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzCaptureFile(UnsafeBufferPointer(start: data, count: size))
    return 0
}
