// pcap_compile under a CPU-time budget. libpcap's compiler is cubic in the
// size of some expressions (a 14 KB "tcp port 1 or tcp port 2 ..." takes 17 s)
// and cannot be interrupted, and after the lock-down the helper can no longer
// fork a child to compile in. So a profiling timer interrupts the compile and
// siglongjmp abandons it, the way libpcap's own bpf_error() abandons a compile
// with longjmp. Memory is bounded separately, by RLIMIT_DATA (PrivilegeSequence).
#define _GNU_SOURCE
#include "CSwiftcapHelper.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

static sigjmp_buf escape;
static volatile sig_atomic_t armed = 0;

static void budget_expired(int signal) {
    (void)signal;
    if (!armed) return; // fired after the compile finished, before the timer was disarmed
    armed = 0;
    siglongjmp(escape, 1);
}

int sch_install_compile_budget_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = budget_expired;
    sigemptyset(&action.sa_mask);
    return sigaction(SIGPROF, &action, NULL);
}

static void disarm(void) {
    struct itimerval off;
    memset(&off, 0, sizeof off);
    setitimer(ITIMER_PROF, &off, NULL);
}

int sch_compile_within_budget(pcap_t *p, struct bpf_program *program, const char *expression,
                              int optimize, uint32_t netmask, unsigned int cpu_milliseconds) {
    struct itimerval budget;
    memset(&budget, 0, sizeof budget);
    budget.it_value.tv_sec = cpu_milliseconds / 1000;
    budget.it_value.tv_usec = (cpu_milliseconds % 1000) * 1000;
    if (budget.it_value.tv_sec == 0 && budget.it_value.tv_usec == 0) budget.it_value.tv_usec = 1;

    // savemask = 1: the handler runs with SIGPROF blocked; the jump restores the mask.
    if (sigsetjmp(escape, 1) != 0) {
        disarm();
        return -2;
    }
    armed = 1;
    if (setitimer(ITIMER_PROF, &budget, NULL) != 0) {
        armed = 0;
        return -3;
    }
    int rc = pcap_compile(p, program, expression, optimize, netmask);
    armed = 0;
    disarm();
    return rc == 0 ? 0 : -1;
}
