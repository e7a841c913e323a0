// libpcap's own interpreter, the reference the fuzz target compares against.
#include <pcap/pcap.h>
