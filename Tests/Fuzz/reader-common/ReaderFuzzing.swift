// Shared by the pcap-reader and pcapng-reader fuzz targets.
//
// Properties checked beyond "no crash, no out-of-bounds access":
// - every packet's wire length is at least its captured length;
// - walking an in-memory file twice gives the same packets and the same error;
// - reading the same bytes as a stream (a pipe) gives the same packets and
//   the same error code as reading them from memory.

#if canImport(Glibc)
import Glibc
#endif

/// A failed property: unlike precondition, prints its message in -O builds.
func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// What one walk over a file saw.
struct Walk: Equatable {
    var packets: [Summary] = []
    var error: String?
    var errorCode: String?

    struct Summary: Equatable {
        var wireLength: Int
        var linkType: UInt32
        var interfaceIndex: Int
        var timestamp: Timestamp?
        var digest: UInt64
        var comments: [String]
    }
}

func walk(_ file: CaptureFile) -> Walk {
    var result = Walk()
    do {
        try file.forEachPacket { view in
            // The stored wire length is reported as is (issue 11), and flagged when below the captured length.
            check(view.wireLength >= 0, "negative wire length \(view.wireLength)")
            check(view.hasWireLengthBelowCaptureLength == (view.wireLength < view.bytes.count),
                  "flag \(view.hasWireLengthBelowCaptureLength) for wire length \(view.wireLength), captured \(view.bytes.count)")
            // Touch every byte so ASan checks the whole view.
            var digest: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in view.bytes { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3 }
            let packet = view.makePacket()
            check(packet.bytes.elementsEqual(view.bytes), "makePacket changed the bytes")
            _ = view.pcapngOptions
            result.packets.append(Walk.Summary(wireLength: view.wireLength, linkType: view.linkType.rawValue,
                                               interfaceIndex: view.interfaceIndex, timestamp: view.timestamp,
                                               digest: digest, comments: view.comments))
        }
    } catch let error as CaptureFileError {
        result.error = error.description
        result.errorCode = error.code.description
    } catch {
        fatalError("forEachPacket threw a non-CaptureFileError: \(error)")
    }
    return result
}

/// Opens `bytes` from memory and through a pipe and checks that both agree.
func fuzzCaptureFile(_ bytes: UnsafeBufferPointer<UInt8>) {
    var memoryWalk: Walk?
    var memoryOpenError: String?
    do {
        let file = try CaptureFile(bytes: bytes)
        _ = file.linkTypes()
        _ = file.sections
        let first = walk(file)
        let second = walk(file)
        check(first == second, "two walks of one file differ:\n\(first)\n\(second)")
        memoryWalk = first
    } catch {
        memoryOpenError = error.code.description
    }

    // The stream path. The fuzz input fits in the pipe (run.sh caps -max_len
    // below 64 KiB), so writing it all before reading cannot block.
    guard bytes.count < 65536 else { return }
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else { fatalError("pipe: errno \(errno)") }
    var written = 0
    while written < bytes.count {
        let n = write(fds[1], bytes.baseAddress! + written, bytes.count - written)
        guard n > 0 else { fatalError("write to pipe: errno \(errno)") }
        written += n
    }
    close(fds[1])
    do {
        let stream = try CaptureFile(fileDescriptor: fds[0], ownsDescriptor: true, path: "<pipe>")
        check(stream.isStream, "a pipe was not read as a stream")
        let streamed = walk(stream)
        guard let memoryWalk else {
            fatalError("opens as a stream but not from memory (\(memoryOpenError ?? "?"))")
        }
        check(streamed.packets == memoryWalk.packets,
              "stream and memory disagree on packets: \(streamed.packets.count) vs \(memoryWalk.packets.count)")
        check(streamed.errorCode == memoryWalk.errorCode,
              "stream and memory disagree on the error: \(streamed.error ?? "none") vs \(memoryWalk.error ?? "none")")
    } catch {
        check(memoryWalk == nil, "opens from memory but not as a stream: \(error)")
    }
}
