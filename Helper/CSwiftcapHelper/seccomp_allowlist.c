// The seccomp-BPF allowlist of swiftcap-helper, installed once the capture is
// open (or before answering listDevices/compileFilter). After it, the helper can
// only shuffle bytes between fds it already holds: stdin, stdout, stderr and the
// packet socket. Every syscall below was observed with `strace -f` on capture,
// inject, setFilter, statistics, close, EOF, listDevices, compileFilter, a
// 100k-packet burst, interface down/gone, filters with host names, and the
// Swift runtime's crash paths (see Helper/tools/drive.py).
//
// Anything not listed kills the whole process with SIGSYS (KILL_PROCESS); the
// few probes that libraries make and survive fail with EACCES instead (below).
#define _GNU_SOURCE
#include "CSwiftcapHelper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SCH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SCH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "swiftcap-helper: no seccomp allowlist for this architecture"
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "swiftcap-helper: argument checks below read the low 32 bits of a little-endian u64"
#endif

#define NR_OFFSET offsetof(struct seccomp_data, nr)
#define ARCH_OFFSET offsetof(struct seccomp_data, arch)
#define ARG_LOW_OFFSET(i) offsetof(struct seccomp_data, args[i])

#define LOAD(offset) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (offset))
#define RETURN(action) BPF_STMT(BPF_RET | BPF_K, (action))
#define KILL RETURN(SECCOMP_RET_KILL_PROCESS)

/// Two instructions: if the syscall number (in A) is `name`, allow it.
#define ALLOW(name) \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), RETURN(SECCOMP_RET_ALLOW)

/// Two instructions: if the syscall number is `name`, fail it with `err`.
#define FAIL(name, err) \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), RETURN(SECCOMP_RET_ERRNO | (err))

/// Five instructions: allow `name` unless bits of `mask` are set in the low word of
/// argument `arg`, in which case kill. Clobbers A, so only the kill/allow follow.
#define ALLOW_UNLESS_ARG_HAS(name, arg, mask) \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 4), \
    LOAD(ARG_LOW_OFFSET(arg)), \
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (mask), 0, 1), \
    KILL, \
    RETURN(SECCOMP_RET_ALLOW)

/// Five instructions: allow `name` only when the low word of argument `arg` is `value`.
#define ALLOW_IF_ARG_IS(name, arg, value) \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 4), \
    LOAD(ARG_LOW_OFFSET(arg)), \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (value), 1, 0), \
    KILL, \
    RETURN(SECCOMP_RET_ALLOW)

/// Seven instructions: allow `name` only when the low word of argument `arg` is `a` or `b`.
#define ALLOW_IF_ARG_IS_EITHER(name, arg, a, b) \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 5), \
    LOAD(ARG_LOW_OFFSET(arg)), \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (a), 2, 0), \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (b), 1, 0), \
    KILL, \
    RETURN(SECCOMP_RET_ALLOW)

int sch_install_seccomp_allowlist(void) {
    // Signals may only go to ourselves: abort() raises SIGABRT with tgkill(getpid(), ...).
    const __u32 self = (__u32)getpid();

    struct sock_filter filter[] = {
        // A syscall made with another ABI has other numbers: refuse it outright.
        LOAD(ARCH_OFFSET),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SCH_AUDIT_ARCH, 1, 0),
        KILL,
        LOAD(NR_OFFSET),
#if defined(__x86_64__)
        // x32 syscalls share the x86_64 arch value but set this bit.
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
        KILL,
#endif

        // The loop: requests in, frames out, readiness.
        ALLOW(read),                // stdin requests
        ALLOW(write),               // stdout frames, stderr diagnostics
#ifdef __NR_poll
        ALLOW(poll),                // the capture loop; pcap_dispatch's zero-timeout poll
#endif
        ALLOW(ppoll),               // what poll() is on arm64
        ALLOW(restart_syscall),     // a timed poll resumed after SIGSTOP/SIGCONT

        // The packet socket, already open and bound.
        ALLOW(sendto),              // pcap_inject: send()
        // injectBatch: sendmmsg of up to 1024 packets at once, the same packets on
        // the same socket that send() would take one call each. No wider than
        // sendto: both may name a destination, and this one sets none.
        ALLOW(sendmmsg),
        ALLOW(recvfrom),            // pcap_setfilter: drains packets queued under the old filter
        ALLOW(setsockopt),          // pcap_setfilter: SO_ATTACH_FILTER
        ALLOW(getsockopt),          // pcap_stats: PACKET_STATISTICS; pcap_dispatch: SO_ERROR after POLLERR
        ALLOW(getsockname),         // pcap_dispatch after ENETDOWN: is the interface gone?
        ALLOW_IF_ARG_IS(ioctl, 1, SIOCGIFFLAGS),            // ... or only down?
        ALLOW_IF_ARG_IS_EITHER(fcntl, 1, F_GETFL, F_SETFL), // pcap_setfilter: non-blocking drain, then restore

        // Memory: glibc malloc and the Swift runtime, never executable.
        ALLOW(brk),
        ALLOW_UNLESS_ARG_HAS(mmap, 2, PROT_EXEC),
        ALLOW(munmap),
        ALLOW(mremap),              // realloc of a large chunk
        ALLOW(futex),               // Swift runtime once/locks, glibc NSS locks
        ALLOW(clock_gettime),       // vDSO fallback (e.g. unstable TSC under a hypervisor)

        // The CPU budget of setFilter's compile (compile_budget.c): a profiling
        // timer whose SIGPROF abandons the compile. It signals only this process.
        ALLOW(setitimer),

        // Exit and crash paths.
        ALLOW(exit_group),
        ALLOW(rt_sigreturn),        // return from a signal handler
        ALLOW(rt_sigprocmask),      // abort() blocks signals before raising SIGABRT
        ALLOW(getpid),              // abort() -> raise()
        ALLOW(gettid),              // abort() -> raise()
        ALLOW_IF_ARG_IS(tgkill, 0, self), // abort() -> raise(SIGABRT), only at ourselves

        // Refused with an error rather than killed, because libraries probe them
        // and cope: pcap_stats in promiscuous mode opens
        // /sys/class/net/<if>/statistics/* (a failed open counts as no drops), and
        // pcap_compile resolves names in filters ("host x", "port http") through
        // NSS, which stats and opens /etc files, asks nscd over a socket and calls
        // uname. Those lookups fail cleanly and pcap reports "unknown host".
#ifdef __NR_open
        FAIL(open, EACCES),
#endif
        FAIL(openat, EACCES),
#ifdef __NR_stat
        FAIL(stat, EACCES),
#endif
        FAIL(newfstatat, EACCES),
        FAIL(socket, EACCES),
        FAIL(uname, EACCES),

        KILL,
    };

    struct sock_fprog program = {
        .len = (unsigned short)(sizeof filter / sizeof filter[0]),
        .filter = filter,
    };
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}
