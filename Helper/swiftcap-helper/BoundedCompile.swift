import CSwiftcapHelper
import Glibc
import SwiftcapWire

/// The longest filter expression we compile: libpcap's parser copies it and
/// allocates per token, and no useful filter comes near this. (The client's
/// default limit is far lower: `CaptureOptions.filterLengthLimit`.)
let maxFilterExpressionLength = 65536

/// Set once a compile ran out of its CPU budget. That compile was abandoned
/// mid-way (compile_budget.c) and leaked what it had allocated, so this
/// process compiles nothing more: the memory budget must stay for the capture.
private nonisolated(unsafe) var compileAbandoned = false

/// pcap_compile of `spec` on `handle`, bounded in CPU time (Limits) and, through
/// RLIMIT_DATA set by PrivilegeSequence, in memory. Runs only when the helper
/// holds no capability. `namesResolve` says whether NSS can still read /etc
/// and the network (before the lock-down) or not (after it), for the hint.
func compileFilter(_ spec: FilterSpec, on handle: OpaquePointer, namesResolve: Bool) throws(HelperError) -> bpf_program {
    let length = spec.expression.utf8.count
    guard length <= maxFilterExpressionLength else {
        throw HelperError(.filterInvalid, "filter expression of \(length) bytes exceeds the limit of \(maxFilterExpressionLength)")
    }
    guard !spec.expression.utf8.contains(0) else { throw HelperError(.filterInvalid, "filter expression contains a NUL byte") }
    guard !compileAbandoned else {
        throw HelperError(.filterTooComplex, "an earlier filter in this session exceeded the compile budget, so this helper compiles no more filters; open a new capture to use another filter")
    }
    var program = bpf_program()
    let rc = sch_compile_within_budget(handle, &program, spec.expression, spec.optimize ? 1 : 0, spec.netmask,
                                       Limits.filterCompileCPUMilliseconds)
    switch rc {
    case 0:
        return program
    case -2:
        compileAbandoned = true
        throw HelperError(.filterTooComplex,
                          "compiling the filter took more than \(Limits.filterCompileCPUMilliseconds) ms of CPU time (libpcap's optimizer grows with the cube of long or-chains); "
                              + "shorten it (ranges such as portrange 1-100 instead of many ports), or compile it without optimization")
    case -3:
        throw .system(.internal, "setitimer(ITIMER_PROF)")
    default:
        let reason = String(cString: pcap_geterr(handle))
        if reason.contains("out of memory") || reason.contains("Cannot allocate memory") {
            throw HelperError(.filterTooComplex,
                              "compiling the filter needed more than \(Limits.filterCompileMemory >> 20) MiB (\(reason)); shorten it, or compile it without optimization")
        }
        let shown = spec.expression.count > 80 ? spec.expression.prefix(80) + "…" : Substring(spec.expression)
        // After the lock-down NSS cannot open /etc files or sockets, so names fail.
        let isName = reason.hasPrefix("unknown host") || reason.hasPrefix("unknown port") || reason.hasPrefix("unknown network")
            || reason.hasPrefix("unknown protocol") || reason.hasPrefix("unknown ether host") || reason.contains("not resolvable")
        let hint = isName && !namesResolve ? "; names in filters resolve only when opening: use numeric addresses and ports" : ""
        throw HelperError(.filterInvalid, "invalid filter \"\(shown)\": \(reason)\(hint)")
    }
}
