import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// A `compileFilter` session, already locked down: answers each request with a
/// `program` or a non-fatal filterInvalid error until `close`.
func serveCompileRequests(first: CompileRequest, requests: RequestReader, output: FrameWriter) -> Never {
    var request = WireMessage.compileFilter(first)
    while true {
        switch request {
        case .compileFilter(let compile):
            output.append(compileProgram(compile))
            output.flush(timeoutMilliseconds: -1)
        case .close:
            output.append(.end)
            output.flush(timeoutMilliseconds: -1)
            terminate(0)
        default:
            fatal(HelperError(.protocolViolation,
                              "unexpected \(request.frameType) frame in a compileFilter session (allowed: compileFilter, close)"),
                  output: output)
        }
        do throws(HelperError) {
            guard let next = try requests.waitForRequest() else { exitClientGone("EOF on stdin") }
            request = next
        } catch {
            fatal(error, output: output)
        }
    }
}

/// pcap_compile on an in-memory savefile of the request's link type and byte
/// order (sch_open_savefile_in_memory), as a `program` or an `error` reply.
private func compileProgram(_ request: CompileRequest) -> WireMessage {
    func invalid(_ message: String) -> WireMessage {
        diagnose(message)
        return .error(WireError(code: .filterInvalid, fatal: false, message: message))
    }
    // snaplen was range-checked by the decoder. libpcap keeps the link type's
    // upper bits for FCS and class flags; a filter needs the type itself.
    guard request.linkType <= 0xFFFF else { return invalid("link type \(request.linkType) is not a LINKTYPE_ value (0...65535)") }
    var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
    guard let savefile = sch_open_savefile_in_memory(request.linkType, request.snapshotLength, request.byteSwapped ? 1 : 0, &errbuf) else {
        return invalid("link type \(request.linkType): \(errorBufferString(errbuf))")
    }
    defer { pcap_close(savefile) }
    let dead = savefile

    var program: bpf_program
    do throws(HelperError) {
        program = try compileFilter(request.filter, on: dead, namesResolve: false)
    } catch {
        diagnose(error.message)
        return .error(WireError(code: error.code, fatal: false, message: error.message))
    }
    defer { pcap_freecode(&program) }

    let count = Int(program.bf_len)
    guard count >= 1, count <= WireProgram.maxInstructions, let insns = program.bf_insns else {
        return invalid("filter compiles to \(count) instructions; the kernel accepts 1...\(WireProgram.maxInstructions)")
    }
    let instructions = (0 ..< count).map { i in
        WireInstruction(code: insns[i].code, jt: insns[i].jt, jf: insns[i].jf, k: insns[i].k)
    }
    return .program(WireProgram(linkType: request.linkType, instructions: instructions))
}
