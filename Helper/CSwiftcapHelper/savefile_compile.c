// Filters for capture files are compiled with libpcap's savefile semantics:
// pcap_open_dead knows only this host's conventions (Linux's AF_INET6 = 10 on
// LINKTYPE_NULL, its own DLT_ numbers), while a handle opened on a savefile
// makes gencode test every platform's values and the file's byte order. The
// savefile is a pcap header in a memory stream, so the locked-down helper
// still opens no file.
#define _GNU_SOURCE
#include "CSwiftcapHelper.h"

#include <byteswap.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

pcap_t *sch_open_savefile_in_memory(uint32_t linktype, uint32_t snaplen, int swapped, char *errbuf) {
    struct {
        uint32_t magic;
        uint16_t version_major, version_minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, linktype;
    } header = {0xA1B2C3D4u, 2, 4, 0, 0, snaplen, linktype};
    if (swapped) {
        header.magic = bswap_32(header.magic);
        header.version_major = bswap_16(header.version_major);
        header.version_minor = bswap_16(header.version_minor);
        header.snaplen = bswap_32(header.snaplen);
        header.linktype = bswap_32(header.linktype);
    }
    // One byte more than the header: glibc's fmemopen writes a NUL after the
    // data on flush and, with no room for it, overwrites the last byte, which
    // zeroed the low byte of a big-endian link type (DLT_EN10MB read as DLT_NULL).
    FILE *stream = fmemopen(NULL, sizeof header + 1, "w+"); // glibc owns the buffer; fclose frees it
    if (stream == NULL) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "fmemopen: %s", strerror(errno));
        return NULL;
    }
    if (fwrite(&header, sizeof header, 1, stream) != 1 || fseek(stream, 0, SEEK_SET) != 0) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "writing the in-memory savefile header failed");
        fclose(stream);
        return NULL;
    }
    pcap_t *p = pcap_fopen_offline(stream, errbuf); // owns the stream from here (pcap_close closes it)
    if (p == NULL) fclose(stream);
    return p;
}
