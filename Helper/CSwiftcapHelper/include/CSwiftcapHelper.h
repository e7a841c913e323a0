// C shims for swiftcap-helper: only what Swift cannot call directly
// (variadic prctl/syscall, _GNU_SOURCE-only declarations, libcap, the seccomp
// filter array, sockaddr unions). Every function returns 0 on success and -1
// with errno set on failure unless its comment says otherwise.
#pragma once

#include <pcap/pcap.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/capability.h> // CAP_NET_RAW and friends for the Swift side

// MARK: prctl (variadic, so not callable from Swift)

/// prctl(PR_SET_PDEATHSIG, signal)
int sch_set_parent_death_signal(int signal);
/// prctl(PR_SET_KEEPCAPS, on)
int sch_set_keep_capabilities(int on);
/// prctl(PR_SET_NO_NEW_PRIVS, 1)
int sch_set_no_new_privileges(void);
/// prctl(PR_CAPBSET_READ, cap): 1 if in the bounding set, 0 if not, -1 (EINVAL) past the last capability.
int sch_bounding_set_read(int cap);
/// prctl(PR_CAPBSET_DROP, cap)
int sch_bounding_set_drop(int cap);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
int sch_ambient_clear_all(void);

// MARK: Capabilities (libcap)

/// cap_get_proc + cap_get_flag(CAP_PERMITTED): 1 if `cap` is permitted, 0 if not, -1 on error.
int sch_capability_permitted(int cap);
/// cap_init + cap_set_flag(PERMITTED, EFFECTIVE) + cap_set_proc: the process keeps
/// exactly `caps[0..<count]` as permitted and effective, and nothing inheritable.
/// `count == 0` clears everything (cap_clear + cap_set_proc).
int sch_capabilities_set_only(const int *caps, int count);

// MARK: Credentials (declared only under _GNU_SOURCE)

/// setresuid(uid, uid, uid)
int sch_set_all_uids(uid_t uid);
/// setresgid(gid, gid, gid)
int sch_set_all_gids(gid_t gid);
/// setgroups(0, NULL)
int sch_clear_supplementary_groups(void);

// MARK: File descriptors

/// close_range(first, last, 0), falling back to close() on each fd for kernels before 5.9.
int sch_close_range(unsigned int first, unsigned int last);
/// fcntl(fd, F_SETPIPE_SZ, size); returns the new size.
int sch_set_pipe_size(int fd, int size);

// MARK: seccomp (seccomp_allowlist.c)

/// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, allowlist). Requires no_new_privs.
/// Anything outside the allowlist kills the process with SIGSYS.
int sch_install_seccomp_allowlist(void);

// MARK: Addresses

/// The raw address bytes inside `sa`: 4 for AF_INET, 16 for AF_INET6, sll_halen
/// bytes for AF_PACKET, 0 for anything else or NULL. `out` must hold 32 bytes.
int sch_sockaddr_bytes(const struct sockaddr *sa, uint8_t *out);
/// sa->sa_family, or 0 for NULL.
int sch_sockaddr_family(const struct sockaddr *sa);

// MARK: Bounded filter compilation (compile_budget.c)

/// sigaction(SIGPROF) for sch_compile_within_budget. Installed once, before the
/// lock-down (rt_sigaction is not on the seccomp allowlist); harmless until a
/// compile arms the timer.
int sch_install_compile_budget_handler(void);
/// pcap_compile(p, program, expression, optimize, netmask) under an
/// ITIMER_PROF CPU-time budget of `cpu_milliseconds`. Returns 0 on success,
/// -1 when pcap_compile failed (message in pcap_geterr(p)), -2 when the budget
/// ran out (the compile was abandoned with siglongjmp: what it had allocated
/// is leaked, so a caller should stop compiling in this process), -3 when
/// setitimer failed (errno set).
int sch_compile_within_budget(pcap_t *p, struct bpf_program *program, const char *expression,
                              int optimize, uint32_t netmask, unsigned int cpu_milliseconds);

// MARK: Environment and interfaces (shims.c)

/// glibc's clearenv(): the environment becomes empty.
int sch_clear_environment(void);
/// How many entries `environ` holds (it may be NULL after clearenv).
int sch_environment_count(void);
/// if_nametoindex(name): the interface's index, 0 if no such interface.
unsigned int sch_interface_index(const char *name);

// MARK: Batch injection

/// Most packets one sch_send_packets call takes (the kernel's UIO_MAXIOV bound on sendmmsg's vlen).
#define SCH_SEND_PACKETS_MAX 1024
/// sendmmsg(fd, ..., count, 0) of `count` (1...SCH_SEND_PACKETS_MAX) packets, one
/// iovec each, no destination address: each goes out as send(2) would send it
/// (pcap_inject's call), on the packet socket's bound interface. Retries EINTR.
/// Returns the number sent (their byte counts in `sent_lengths`), or -1 with
/// errno when the first packet failed. (struct mmsghdr needs _GNU_SOURCE.)
int sch_send_packets(int fd, const struct iovec *packets, unsigned int count, unsigned int *sent_lengths);

// MARK: Savefile semantics without a file (savefile_compile.c)

/// A pcap_t that libpcap treats as an open savefile of `linktype` (a LINKTYPE_
/// value) and `snaplen`, written in the other byte order when `swapped`, so that
/// pcap_compile on it compiles as tcpdump -r does (every BSD AF value on
/// LINKTYPE_NULL, LINKTYPE_ to DLT_ mapping). The "file" is a 24-byte header in
/// memory (fmemopen): nothing is opened. NULL with `errbuf` set on failure.
pcap_t *sch_open_savefile_in_memory(uint32_t linktype, uint32_t snaplen, int swapped, char *errbuf);
