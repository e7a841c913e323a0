/*
 * pcap-stream-count: consumer end of the tcpdump pipeline in bench/live-capture.
 *
 *   tcpdump -i IF -w - ... | pcap-stream-count
 *
 * Reads a pcap stream from stdin with libpcap (pcap_open_offline("-")), touches
 * every packet (sums its last byte) until EOF, and prints one result JSON line.
 */
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

struct state { uint64_t count, bytes; uint32_t sum; };

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
    struct state *s = (struct state *)user;
    s->count++;
    s->bytes += h->caplen;
    if (h->caplen) s->sum += bytes[h->caplen - 1];
}

int main(void) {
    signal(SIGINT, SIG_IGN); /* the harness stops tcpdump with SIGINT; we end at EOF */
    char err[PCAP_ERRBUF_SIZE];
    static char iobuf[1 << 20];
    setvbuf(stdin, iobuf, _IOFBF, sizeof iobuf);
    pcap_t *p = pcap_fopen_offline(stdin, err);
    if (!p) { fprintf(stderr, "pcap_fopen_offline: %s\n", err); return 2; }
    struct state s;
    memset(&s, 0, sizeof s);
    int rc = pcap_loop(p, -1, on_packet, (u_char *)&s);
    if (rc == PCAP_ERROR) fprintf(stderr, "pcap_loop: %s\n", pcap_geterr(p));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("{\"event\":\"result\",\"count\":%llu,\"bytes\":%llu,\"sum\":%u,\"self_cpu_s\":%.6f}\n",
           (unsigned long long)s.count, (unsigned long long)s.bytes, s.sum, cpu);
    fflush(stdout);
    pcap_close(p);
    return 0;
}
