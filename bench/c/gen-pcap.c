/*
 * gen-pcap: writes a synthetic classic pcap (µs, LINKTYPE_ETHERNET, snaplen 65535)
 * for bench/file-read.
 *
 *   gen-pcap OUT (--size-mb MB | --packets N) [--seed S]
 *
 * Ethernet/IPv4/UDP frames with a size mix: 40% 60 B, 20% uniform 61..511 B,
 * 10% 576 B, 30% 1514 B. Deterministic for a given seed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t next_rand(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void put16be(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

int main(int argc, char **argv) {
    const char *out = NULL;
    uint64_t size = 0, packets = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size-mb") && i + 1 < argc) size = strtoull(argv[++i], NULL, 10) << 20;
        else if (!strcmp(argv[i], "--packets") && i + 1 < argc) packets = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) rng ^= strtoull(argv[++i], NULL, 10) * 0x2545F4914F6CDD1DULL;
        else if (!out) out = argv[i];
        else { fprintf(stderr, "unexpected %s\n", argv[i]); return 2; }
    }
    if (!out || (!size && !packets)) { fprintf(stderr, "usage: gen-pcap OUT (--size-mb MB | --packets N)\n"); return 2; }
    FILE *f = fopen(out, "wb");
    if (!f) { perror(out); return 2; }
    static char iobuf[1 << 20];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    struct { uint32_t magic; uint16_t major, minor; int32_t zone; uint32_t sigfigs, snaplen, linktype; }
        gh = {0xa1b2c3d4, 2, 4, 0, 0, 65535, 1};
    fwrite(&gh, sizeof gh, 1, f);
    uint64_t written = 24, n = 0;
    uint8_t frame[1514];
    for (int i = 0; i < 1514; i++) frame[i] = (uint8_t)(i * 7 + 3);
    static const uint8_t hdr[34] = {
        0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2};
    memcpy(frame, hdr, sizeof hdr);
    uint32_t sec = 1700000000, usec = 0;
    while (packets ? n < packets : written < size) {
        uint32_t r = next_rand() % 100, len;
        if (r < 40) len = 60;
        else if (r < 60) len = 61 + next_rand() % 451;
        else if (r < 70) len = 576;
        else len = 1514;
        put16be(frame + 16, (uint16_t)(len - 14));
        put16be(frame + 18, (uint16_t)n);
        put16be(frame + 34, 1024 + (n & 0xfff)); put16be(frame + 36, 9);
        put16be(frame + 38, (uint16_t)(len - 34)); put16be(frame + 40, 0);
        frame[len - 1] = (uint8_t)next_rand();
        usec += 1 + next_rand() % 50;
        if (usec >= 1000000) { sec++; usec -= 1000000; }
        uint32_t ph[4] = {sec, usec, len, len};
        fwrite(ph, 4, 4, f);
        fwrite(frame, 1, len, f);
        written += 16 + len;
        n++;
    }
    if (fclose(f) != 0) { perror("fclose"); return 1; }
    printf("{\"packets\":%llu,\"bytes\":%llu}\n", (unsigned long long)n, (unsigned long long)written);
    return 0;
}
