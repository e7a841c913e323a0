// C entry points the client library cannot reach from Swift: glibc's
// _GNU_SOURCE-only functions and function-like macros. Each one is a thin
// wrapper; the comment names the C function(s) it calls.
#pragma once

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// posix_spawn(3) of `path` with stdin/stdout/stderr taken from the given
/// descriptors and every other descriptor closed in the child
/// (posix_spawn_file_actions_adddup2 + posix_spawn_file_actions_addclosefrom_np(3)),
/// all signals at their default disposition (POSIX_SPAWN_SETSIGDEF), an empty
/// signal mask (POSIX_SPAWN_SETSIGMASK) and a process group of its own
/// (POSIX_SPAWN_SETPGROUP) so that a terminal's ^C reaches the client, not the helper.
/// Returns 0 or an errno value; never sets errno.
int swiftcap_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                   int stdin_fd, int stdout_fd, int stderr_fd);

/// As swiftcap_spawn, but by fork(2) + execve(2) so that the child can be given
/// PR_SET_PDEATHSIG(SIGKILL) before it runs: for programs that do not arm it
/// themselves (ssh). The signal fires when the calling *thread* exits. An exec
/// failure is reported through a close-on-exec pipe. Returns 0 or an errno value.
int swiftcap_spawn_dying_with_thread(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                                     int stdin_fd, int stdout_fd, int stderr_fd);

/// pipe2(2) with O_CLOEXEC. Returns 0, or -1 with errno set.
int swiftcap_pipe_cloexec(int fds[2]);

/// fcntl(fd, F_SETPIPE_SZ, size). Returns the new size, or -1 with errno set.
int swiftcap_set_pipe_size(int fd, int size);

/// ioctl(FIONREAD): bytes ready to read. Returns the count, or -1 with errno set.
int swiftcap_readable_bytes(int fd);

/// fcntl(F_GETFL/F_SETFL) adding O_NONBLOCK. Returns 0, or -1 with errno set.
int swiftcap_set_nonblocking(int fd);

/// eventfd(2) with EFD_CLOEXEC | EFD_NONBLOCK. Returns the descriptor, or -1 with errno set.
int swiftcap_eventfd(void);

/// ppoll(2) with a timeout in nanoseconds (negative: wait forever), retried on EINTR
/// only by the caller. Returns what ppoll returns.
int swiftcap_poll(void *fds, unsigned long nfds, int64_t timeout_ns);

/// pthread_create(3) of a detached thread that starts with every signal blocked
/// (pthread_sigmask around the create), so asynchronous signals go to the
/// application's threads and SIGPIPE from a write to a dead helper stays pending
/// on the I/O thread instead of killing the process. Returns 0 or an errno value.
int swiftcap_thread_start(void *(*start)(void *), void *arg, size_t stack_size);

/// pthread_setname_np(pthread_self(), name) (truncated to 15 bytes).
void swiftcap_set_thread_name(const char *name);

/// sigtimedwait(2) on SIGPIPE with a zero timeout: consumes a SIGPIPE pending on
/// the calling thread after a write to a pipe whose reader is gone.
void swiftcap_consume_sigpipe(void);

/// waitpid(2), retried on EINTR. `nohang` adds WNOHANG. Returns what waitpid returns.
pid_t swiftcap_waitpid(pid_t pid, int *status, int nohang);

/// WIFEXITED / WEXITSTATUS / WIFSIGNALED / WTERMSIG.
int swiftcap_wifexited(int status);
int swiftcap_wexitstatus(int status);
int swiftcap_wifsignaled(int status);
int swiftcap_wtermsig(int status);

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds.
int64_t swiftcap_monotonic_ns(void);

/// getxattr(path, "security.capability", buffer, size): the file's capabilities
/// as struct vfs_cap_data. Returns the attribute's length, or -1 with errno set.
long swiftcap_file_capability_xattr(const char *path, void *buffer, unsigned long size);

/// prctl(PR_GET_NO_NEW_PRIVS): 1 when this process runs with no_new_privs, 0 when
/// not, -1 with errno set when the kernel does not know the option.
int swiftcap_no_new_privs(void);

#ifdef __cplusplus
}
#endif

/// pidfd_open(pid, 0): a descriptor that polls readable once `pid` has exited
/// (Linux 5.3+), or -1 with errno (ENOSYS on older kernels).
int swiftcap_pidfd_open(pid_t pid);

/// waitid(P_PID, pid, WEXITED | WNOHANG | WNOWAIT): 1 if `pid` has exited (it
/// stays reapable), 0 if it still runs, -1 with errno.
int swiftcap_has_exited(pid_t pid);
