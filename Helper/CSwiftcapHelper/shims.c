// Thin wrappers the Swift side cannot call directly. No policy lives here:
// the order of privilege changes is in swiftcap-helper/PrivilegeSequence.swift.
#define _GNU_SOURCE
#include "CSwiftcapHelper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

// MARK: prctl

int sch_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }
int sch_set_keep_capabilities(int on) { return prctl(PR_SET_KEEPCAPS, (unsigned long)on, 0, 0, 0); }
int sch_set_no_new_privileges(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int sch_bounding_set_read(int cap) { return prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0); }
int sch_bounding_set_drop(int cap) { return prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0); }
int sch_ambient_clear_all(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }

// MARK: Capabilities

int sch_capability_permitted(int cap) {
    cap_t caps = cap_get_proc();
    if (caps == NULL) return -1;
    cap_flag_value_t value = CAP_CLEAR;
    int rc = cap_get_flag(caps, (cap_value_t)cap, CAP_PERMITTED, &value);
    int saved = errno;
    cap_free(caps);
    errno = saved;
    return rc == 0 ? (value == CAP_SET) : -1;
}

int sch_capabilities_set_only(const int *caps, int count) {
    cap_t state = cap_init(); // cap_init starts with every flag clear
    if (state == NULL) return -1;
    int rc = cap_clear(state);
    for (int i = 0; rc == 0 && i < count; i++) {
        cap_value_t value = (cap_value_t)caps[i];
        rc = cap_set_flag(state, CAP_PERMITTED, 1, &value, CAP_SET);
        if (rc == 0) rc = cap_set_flag(state, CAP_EFFECTIVE, 1, &value, CAP_SET);
    }
    if (rc == 0) rc = cap_set_proc(state);
    int saved = errno;
    cap_free(state);
    errno = saved;
    return rc;
}

// MARK: Credentials

int sch_set_all_uids(uid_t uid) { return setresuid(uid, uid, uid); }
int sch_set_all_gids(gid_t gid) { return setresgid(gid, gid, gid); }
int sch_clear_supplementary_groups(void) { return setgroups(0, NULL); }

// MARK: File descriptors

int sch_close_range(unsigned int first, unsigned int last) {
    if (first > last) return 0;
    if (close_range(first, last, 0) == 0) return 0;
    if (errno != ENOSYS) return -1;
    // Kernels before 5.9: walk up to the descriptor limit.
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0) max = 1024;
    for (unsigned long fd = first; fd <= last && fd < (unsigned long)max; fd++) close((int)fd);
    return 0;
}

int sch_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

// MARK: Addresses

int sch_sockaddr_family(const struct sockaddr *sa) { return sa == NULL ? 0 : sa->sa_family; }

int sch_sockaddr_bytes(const struct sockaddr *sa, uint8_t *out) {
    if (sa == NULL) return 0;
    switch (sa->sa_family) {
    case AF_INET:
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    case AF_INET6:
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 16;
    case AF_PACKET: {
        const struct sockaddr_ll *ll = (const struct sockaddr_ll *)sa;
        int n = ll->sll_halen;
        if (n > (int)sizeof ll->sll_addr) n = (int)sizeof ll->sll_addr;
        memcpy(out, ll->sll_addr, (size_t)n);
        return n;
    }
    default:
        return 0;
    }
}

// MARK: Environment and interfaces

int sch_clear_environment(void) { return clearenv(); }

int sch_environment_count(void) {
    int count = 0;
    if (environ != NULL) while (environ[count] != NULL) count++;
    return count;
}

unsigned int sch_interface_index(const char *name) { return if_nametoindex(name); }

// MARK: Batch injection

int sch_send_packets(int fd, const struct iovec *packets, unsigned int count, unsigned int *sent_lengths) {
    if (count == 0 || count > SCH_SEND_PACKETS_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct mmsghdr messages[SCH_SEND_PACKETS_MAX];
    memset(messages, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        messages[i].msg_hdr.msg_iov = (struct iovec *)&packets[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    int sent;
    do {
        sent = sendmmsg(fd, messages, count, 0);
    } while (sent < 0 && errno == EINTR);
    for (int i = 0; i < sent; i++) sent_lengths[i] = messages[i].msg_len;
    return sent;
}
