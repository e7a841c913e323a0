/*
 * pcap-count: in-process libpcap reference for bench/live-capture.
 *
 *   pcap-count -i IF [-c N] [--idle MS] [--max-wait MS] [--immediate]
 *              [-B KiB] [-s SNAPLEN] [-t TIMEOUT_MS] [--latency]
 *   pcap-count -i IF --open-to-ready K [--gap MS] [-B KiB] [--immediate]
 *
 * Capture mode: pcap_create/activate on IF, print a "ready" JSON line, then
 * pcap_dispatch until N packets, or MS ms without a packet after the first one
 * (--idle), or --max-wait ms without any packet at all, or SIGINT/SIGTERM.
 * Every packet is touched (its last byte is summed). Prints one result JSON line
 * with count, bytes, pcap_stats and, with --latency, p50/p99/max of
 * (CLOCK_REALTIME at receipt - packet timestamp), nanosecond timestamps.
 *
 * --open-to-ready K: K times create+activate+close (then --gap ms); prints the median time from
 * the start of pcap_create to pcap_activate returning.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;
static pcap_t *g_pcap;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
    if (g_pcap) pcap_breakloop(g_pcap);
}

static int64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct state {
    uint64_t count, bytes, wire_bytes, limit;
    uint32_t sum;
    int latency;
    int64_t *lat;
    uint64_t lat_cap, lat_n;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
    struct state *s = (struct state *)user;
    if (s->latency && s->lat_n < s->lat_cap) {
        int64_t now = now_ns(CLOCK_REALTIME);
        /* nanosecond precision was requested: tv_usec holds nanoseconds */
        int64_t ts = (int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec;
        s->lat[s->lat_n++] = now - ts;
    }
    s->count++;
    s->bytes += h->caplen;
    s->wire_bytes += h->len;
    if (h->caplen) s->sum += bytes[h->caplen - 1];
    if (s->limit && s->count >= s->limit && g_pcap) pcap_breakloop(g_pcap);
}

static pcap_t *open_capture(const char *dev, int snaplen, int timeout_ms, int immediate, int buffer_kib,
                            int nano, int64_t *open_ns) {
    char err[PCAP_ERRBUF_SIZE];
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    pcap_t *p = pcap_create(dev, err);
    if (!p) { fprintf(stderr, "pcap_create: %s\n", err); exit(2); }
    pcap_set_snaplen(p, snaplen);
    pcap_set_promisc(p, 0);
    pcap_set_timeout(p, timeout_ms);
    if (immediate) pcap_set_immediate_mode(p, 1);
    if (buffer_kib > 0) pcap_set_buffer_size(p, buffer_kib * 1024);
    if (nano && pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0)
        fprintf(stderr, "warning: nanosecond timestamps not supported\n");
    int rc = pcap_activate(p);
    int64_t t1 = now_ns(CLOCK_MONOTONIC);
    if (rc < 0) { fprintf(stderr, "pcap_activate: %s\n", pcap_geterr(p)); exit(2); }
    if (rc > 0) fprintf(stderr, "pcap_activate warning: %s\n", pcap_geterr(p));
    if (open_ns) *open_ns = t1 - t0;
    return p;
}

int main(int argc, char **argv) {
    const char *dev = NULL;
    uint64_t limit = 0;
    int idle_ms = 1000, max_wait_ms = 30000, immediate = 0, buffer_kib = 0, snaplen = 262144;
    int timeout_ms = 100, latency = 0, open_reps = 0, gap_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
#define NEXT() (i + 1 < argc ? argv[++i] : (fprintf(stderr, "missing value for %s\n", a), exit(2), ""))
        if (!strcmp(a, "-i")) dev = NEXT();
        else if (!strcmp(a, "-c")) limit = strtoull(NEXT(), NULL, 10);
        else if (!strcmp(a, "--idle")) idle_ms = atoi(NEXT());
        else if (!strcmp(a, "--max-wait")) max_wait_ms = atoi(NEXT());
        else if (!strcmp(a, "--immediate")) immediate = 1;
        else if (!strcmp(a, "-B")) buffer_kib = atoi(NEXT());
        else if (!strcmp(a, "-s")) snaplen = atoi(NEXT());
        else if (!strcmp(a, "-t")) timeout_ms = atoi(NEXT());
        else if (!strcmp(a, "--latency")) latency = 1;
        else if (!strcmp(a, "--open-to-ready")) open_reps = atoi(NEXT());
        else if (!strcmp(a, "--gap")) gap_ms = atoi(NEXT());
        else { fprintf(stderr, "unknown argument %s\n", a); return 2; }
    }
    if (!dev) { fprintf(stderr, "usage: pcap-count -i IF [options]\n"); return 2; }

    if (open_reps > 0) {
        int64_t *t = calloc((size_t)open_reps, sizeof *t);
        for (int r = 0; r < open_reps; r++) {
            if (r > 0 && gap_ms > 0) usleep((useconds_t)gap_ms * 1000);
            pcap_t *p = open_capture(dev, snaplen, timeout_ms, immediate, buffer_kib, 1, &t[r]);
            pcap_close(p);
        }
        qsort(t, (size_t)open_reps, sizeof *t, cmp_i64);
        printf("{\"event\":\"result\",\"mode\":\"open-to-ready\",\"reps\":%d,\"median_us\":%.1f,"
               "\"min_us\":%.1f,\"max_us\":%.1f}\n",
               open_reps, t[open_reps / 2] / 1e3, t[0] / 1e3, t[open_reps - 1] / 1e3);
        return 0;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int64_t open_ns = 0;
    g_pcap = open_capture(dev, snaplen, timeout_ms, immediate, buffer_kib, latency, &open_ns);
    /* Non-blocking pcap_dispatch after poll(2) (as swiftcap-helper does), with a
     * 100 ms poll timeout so the idle check runs even in immediate mode, where
     * libpcap's own timeout does not wake a blocking read. */
    char errbuf[PCAP_ERRBUF_SIZE];
    if (pcap_setnonblock(g_pcap, 1, errbuf) != 0) { fprintf(stderr, "pcap_setnonblock: %s\n", errbuf); return 2; }
    struct pollfd pfd = {.fd = pcap_get_selectable_fd(g_pcap), .events = POLLIN};
    struct state s;
    memset(&s, 0, sizeof s);
    s.limit = limit;
    s.latency = latency;
    if (latency) {
        s.lat_cap = limit ? limit : 10000000;
        s.lat = malloc(s.lat_cap * sizeof *s.lat);
        if (!s.lat) { perror("malloc"); return 2; }
    }
    printf("{\"event\":\"ready\",\"open_to_ready_us\":%.1f}\n", open_ns / 1e3);
    fflush(stdout);

    int64_t start = now_ns(CLOCK_MONOTONIC), last = start, first = 0, last_pkt = 0;
    const char *why = "signal";
    while (!stop_flag) {
        uint64_t before = s.count;
        if (poll(&pfd, 1, 100) < 0 && errno != EINTR) { perror("poll"); why = "error"; break; }
        int n = pcap_dispatch(g_pcap, -1, on_packet, (u_char *)&s);
        if (n == PCAP_ERROR) { fprintf(stderr, "pcap_dispatch: %s\n", pcap_geterr(g_pcap)); why = "error"; break; }
        int64_t t = now_ns(CLOCK_MONOTONIC);
        if (s.count != before) {
            if (!first) first = t;
            last_pkt = t;
            last = t;
        }
        if (limit && s.count >= limit) { why = "count"; break; }
        if (n == PCAP_ERROR_BREAK && stop_flag) break;
        if (first && t - last >= (int64_t)idle_ms * 1000000LL) { why = "idle"; break; }
        if (!first && t - start >= (int64_t)max_wait_ms * 1000000LL) { why = "max-wait"; break; }
    }

    struct pcap_stat st;
    memset(&st, 0, sizeof st);
    if (pcap_stats(g_pcap, &st) != 0) fprintf(stderr, "pcap_stats: %s\n", pcap_geterr(g_pcap));
    printf("{\"event\":\"result\",\"stop\":\"%s\",\"count\":%llu,\"bytes\":%llu,\"wire_bytes\":%llu,"
           "\"sum\":%u,\"ps_recv\":%u,\"ps_drop\":%u,\"ps_ifdrop\":%u,\"open_to_ready_us\":%.1f,"
           "\"active_s\":%.6f,\"self_cpu_s\":%.6f",
           why, (unsigned long long)s.count, (unsigned long long)s.bytes,
           (unsigned long long)s.wire_bytes, s.sum, st.ps_recv, st.ps_drop, st.ps_ifdrop,
           open_ns / 1e3, first ? (last_pkt - first) / 1e9 : 0.0, self_cpu_s());
    if (latency && s.lat_n) {
        qsort(s.lat, s.lat_n, sizeof *s.lat, cmp_i64);
        printf(",\"latency_n\":%llu,\"latency_p50_us\":%.2f,\"latency_p99_us\":%.2f,\"latency_max_us\":%.2f",
               (unsigned long long)s.lat_n, s.lat[s.lat_n / 2] / 1e3,
               s.lat[(uint64_t)(s.lat_n * 0.99)] / 1e3, s.lat[s.lat_n - 1] / 1e3);
    }
    printf("}\n");
    fflush(stdout);
    pcap_close(g_pcap);
    return 0;
}
