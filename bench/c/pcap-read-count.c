/*
 * pcap-read-count: libpcap reference for bench/file-read.
 *
 *   pcap-read-count FILE
 *
 * pcap_open_offline + pcap_next_ex loop (reads pcap and pcapng), touches every
 * packet (sums its last byte), prints one JSON line with count, bytes, sum.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: pcap-read-count FILE\n"); return 2; }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) { fprintf(stderr, "pcap_open_offline: %s\n", err); return 2; }
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t count = 0, bytes = 0;
    uint32_t sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        count++;
        bytes += h->caplen;
        if (h->caplen) sum += d[h->caplen - 1];
    }
    if (rc == PCAP_ERROR) { fprintf(stderr, "pcap_next_ex: %s\n", pcap_geterr(p)); return 1; }
    printf("{\"count\":%llu,\"bytes\":%llu,\"sum\":%u}\n",
           (unsigned long long)count, (unsigned long long)bytes, sum);
    pcap_close(p);
    return 0;
}
