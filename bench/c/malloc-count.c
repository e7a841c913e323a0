/*
 * malloc-count.so: LD_PRELOAD allocation counter for bench/file-read.
 *
 *   LD_PRELOAD=bench/bin/malloc-count.so MALLOC_COUNT_OUT=FILE CMD...
 *
 * Interposes malloc, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc and pvalloc (forwarding to glibc's __libc_*),
 * counts calls and requested bytes across all threads, and at exit writes
 * {"allocs":N,"bytes":B,"frees":F} to MALLOC_COUNT_OUT (or stderr). Used instead
 * of valgrind, whose 3.19 cannot run Swift 6.3 binaries (DWARF 5 debug info, and
 * a crash in libdispatch's main-thread handling once the debug info is stripped).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t n_allocs, n_bytes, n_frees;

static inline void count(size_t size) {
    __atomic_fetch_add(&n_allocs, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&n_bytes, size, __ATOMIC_RELAXED);
}

void *malloc(size_t size) { count(size); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { count(n * size); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { count(size); return __libc_realloc(p, size); }
void *reallocarray(void *p, size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) { errno = ENOMEM; return NULL; }
    count(n * size);
    return __libc_realloc(p, n * size);
}
void free(void *p) { if (p) __atomic_fetch_add(&n_frees, 1, __ATOMIC_RELAXED); __libc_free(p); }
void *memalign(size_t align, size_t size) { count(size); return __libc_memalign(align, size); }
void *aligned_alloc(size_t align, size_t size) { count(size); return __libc_memalign(align, size); }
int posix_memalign(void **out, size_t align, size_t size) {
    count(size);
    void *p = __libc_memalign(align, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void *valloc(size_t size) { count(size); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size); }
void *pvalloc(size_t size) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    count(size);
    return __libc_memalign(pg, (size + pg - 1) & ~(pg - 1));
}

__attribute__((destructor)) static void report(void) {
    char buf[160];
    int len = snprintf(buf, sizeof buf, "{\"allocs\":%llu,\"bytes\":%llu,\"frees\":%llu}\n",
                       (unsigned long long)__atomic_load_n(&n_allocs, __ATOMIC_RELAXED),
                       (unsigned long long)__atomic_load_n(&n_bytes, __ATOMIC_RELAXED),
                       (unsigned long long)__atomic_load_n(&n_frees, __ATOMIC_RELAXED));
    const char *path = getenv("MALLOC_COUNT_OUT");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;
    if (fd < 0) fd = 2;
    if (write(fd, buf, (size_t)len) < 0) { /* nothing to do */ }
    if (fd != 2) close(fd);
}
