#define _GNU_SOURCE
#include "CPacketCaptureShims.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

int swiftcap_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   int stdin_fd, int stdout_fd, int stderr_fd) {
    int src[3] = { stdin_fd, stdout_fd, stderr_fd };
    int moved[3] = { -1, -1, -1 };
    int rc = 0;

    // A source descriptor below 3 (the application closed its own stdin, say)
    // would be overwritten by an earlier dup2: move it out of the way first.
    for (int i = 0; i < 3; i++) {
        if (src[i] < 3) {
            moved[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
            if (moved[i] < 0) { rc = errno; goto out_moved; }
            src[i] = moved[i];
        }
    }

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    if ((rc = posix_spawn_file_actions_init(&actions)) != 0) goto out_moved;
    if ((rc = posix_spawnattr_init(&attr)) != 0) goto out_actions;

    for (int i = 0; i < 3 && rc == 0; i++) rc = posix_spawn_file_actions_adddup2(&actions, src[i], i);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    // Every signal, glibc's internal SIGCANCEL/SIGSETXID (32, 33) included:
    // sigfillset leaves those out, and glibc's spawn then sets them to SIG_IGN
    // in the child because they are blocked while it runs.
    sigset_t all, none;
    memset(&all, 0xff, sizeof all);
    sigemptyset(&none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attr, argv, envp);

    posix_spawnattr_destroy(&attr);
out_actions:
    posix_spawn_file_actions_destroy(&actions);
out_moved:
    for (int i = 0; i < 3; i++) if (moved[i] >= 0) close(moved[i]);
    return rc;
}

int swiftcap_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int swiftcap_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int swiftcap_readable_bytes(int fd) {
    int n = 0;
    if (ioctl(fd, FIONREAD, &n) != 0) return -1;
    return n;
}

int swiftcap_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

int swiftcap_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int swiftcap_poll(void *fds, unsigned long nfds, int64_t timeout_ns) {
    if (timeout_ns < 0) return ppoll((struct pollfd *)fds, (nfds_t)nfds, NULL, NULL);
    struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    return ppoll((struct pollfd *)fds, (nfds_t)nfds, &ts, NULL);
}

int swiftcap_thread_start(void *(*start)(void *), void *arg, size_t stack_size) {
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0) return rc;
    rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (rc == 0 && stack_size > 0) rc = pthread_attr_setstacksize(&attr, stack_size);
    sigset_t all, old;
    sigfillset(&all);
    if (rc == 0) rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc == 0) {
        pthread_t thread;
        rc = pthread_create(&thread, &attr, start, arg);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    pthread_attr_destroy(&attr);
    return rc;
}

void swiftcap_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    pthread_setname_np(pthread_self(), buf);
}

void swiftcap_consume_sigpipe(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    struct timespec zero = { 0, 0 };
    while (sigtimedwait(&set, NULL, &zero) == SIGPIPE) {}
}

pid_t swiftcap_waitpid(pid_t pid, int *status, int nohang) {
    pid_t r;
    do { r = waitpid(pid, status, nohang ? WNOHANG : 0); } while (r < 0 && errno == EINTR);
    return r;
}

int swiftcap_wifexited(int status) { return WIFEXITED(status); }
int swiftcap_wexitstatus(int status) { return WEXITSTATUS(status); }
int swiftcap_wifsignaled(int status) { return WIFSIGNALED(status); }
int swiftcap_wtermsig(int status) { return WTERMSIG(status); }

int64_t swiftcap_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#include <sys/syscall.h>

int swiftcap_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int swiftcap_has_exited(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return -1;
    return info.si_pid == pid ? 1 : 0;
}

#include <sys/prctl.h>

int swiftcap_spawn_dying_with_thread(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                                     int stdin_fd, int stdout_fd, int stderr_fd) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    // Block every signal around fork so that no handler of ours runs in the child.
    sigset_t all, old;
    memset(&all, 0xff, sizeof all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0) {
        // Only async-signal-safe calls from here to execve.
        int src[3] = { stdin_fd, stdout_fd, stderr_fd };
        int err = 0;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) err = errno;
        if (err == 0 && getppid() != parent) _exit(127); // the spawning process is already gone
        for (int i = 0; i < 3 && err == 0; i++) {
            if (src[i] < 3) { // do not let an earlier dup2 overwrite it
                int moved = fcntl(src[i], F_DUPFD, 3);
                if (moved < 0) err = errno; else src[i] = moved;
            }
        }
        for (int i = 0; i < 3 && err == 0; i++) if (dup2(src[i], i) < 0) err = errno;
        if (err == 0 && setpgid(0, 0) != 0) err = errno;
        if (err == 0) {
            struct sigaction dfl;
            memset(&dfl, 0, sizeof dfl);
            dfl.sa_handler = SIG_DFL;
            for (int s = 1; s < 65; s++) if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            // Everything from 3 up goes, except the report pipe (close-on-exec).
            unsigned keep = (unsigned)report[1];
            int ranged = (keep <= 3 || syscall(SYS_close_range, 3u, keep - 1, 0u) == 0)
                && syscall(SYS_close_range, keep + 1, ~0u, 0u) == 0;
            if (!ranged) for (unsigned fd = 3; fd < 65536; fd++) if (fd != keep) close((int)fd);
            execve(path, argv, envp);
            err = errno;
        }
        ssize_t ignored = write(report[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    int forkErr = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    if (child < 0) { close(report[0]); return forkErr; }
    int childErr = 0;
    ssize_t n;
    do { n = read(report[0], &childErr, sizeof childErr); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof childErr) {
        int status;
        waitpid(child, &status, 0);
        return childErr;
    }
    *pid = child;
    return 0;
}

long swiftcap_file_capability_xattr(const char *path, void *buffer, unsigned long size) {
    return (long)getxattr(path, "security.capability", buffer, size);
}

int swiftcap_no_new_privs(void) {
    return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
}
