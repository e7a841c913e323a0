/*
 * pcap-copy: libpcap write reference for bench/file-read.
 *
 *   pcap-copy IN OUT
 *
 * pcap_open_offline(IN) + pcap_next_ex + pcap_dump into pcap_dump_open(OUT).
 * libpcap only writes classic pcap, whatever IN is.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: pcap-copy IN OUT\n"); return 2; }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) { fprintf(stderr, "pcap_open_offline: %s\n", err); return 2; }
    pcap_dumper_t *dp = pcap_dump_open(p, argv[2]);
    if (!dp) { fprintf(stderr, "pcap_dump_open: %s\n", pcap_geterr(p)); return 2; }
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t count = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        pcap_dump((u_char *)dp, h, d);
        count++;
    }
    if (rc == PCAP_ERROR) { fprintf(stderr, "pcap_next_ex: %s\n", pcap_geterr(p)); return 1; }
    if (pcap_dump_flush(dp) != 0) { fprintf(stderr, "pcap_dump_flush failed\n"); return 1; }
    pcap_dump_close(dp);
    pcap_close(p);
    printf("{\"count\":%llu}\n", (unsigned long long)count);
    return 0;
}
