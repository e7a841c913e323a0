/*
 * tree-rusage: runs a command and reports the CPU time of its whole process tree.
 *
 *   tree-rusage OUT.json CMD [ARGS...]
 *
 * Becomes a child subreaper (PR_SET_CHILD_SUBREAPER), so every descendant, even
 * one orphaned by its parent, is eventually reaped here and its CPU time lands in
 * getrusage(RUSAGE_CHILDREN). CMD runs in its own process group; SIGINT and
 * SIGTERM received here are forwarded to that whole group. Once no descendant is
 * left, writes {"utime_s","stime_s","cpu_s","exit"} to OUT.json and exits with
 * CMD's status. stdin/stdout/stderr are inherited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child_pgid;

static void forward(int sig) {
    if (child_pgid > 0) kill(-child_pgid, sig);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: tree-rusage OUT.json CMD [ARGS...]\n"); return 2; }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) { perror("prctl"); return 2; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 2; }
    if (pid == 0) {
        setpgid(0, 0);
        execvp(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    setpgid(pid, pid);
    child_pgid = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int status = 0, exit_code = -1;
    for (;;) {
        int st;
        pid_t w = waitpid(-1, &st, 0);
        if (w < 0) {
            if (errno == EINTR) continue;
            break; /* ECHILD: the whole tree is gone */
        }
        if (w == pid) {
            status = st;
            exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    double s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    FILE *f = fopen(argv[1], "w");
    if (f) {
        fprintf(f, "{\"utime_s\":%.6f,\"stime_s\":%.6f,\"cpu_s\":%.6f,\"exit\":%d,\"maxrss_kb\":%ld}\n",
                u, s, u + s, exit_code, ru.ru_maxrss);
        fclose(f);
    }
    (void)status;
    return exit_code < 0 ? 1 : exit_code;
}
