#!/bin/sh
# Regenerates the capture samples in this folder from the hex dumps (*.txt),
# with the real tools: text2pcap, tcpdump, editcap, mergecap (Debian: tcpdump,
# tshark, wireshark-common). Each sample gets a NAME.tshark file: what tshark
# reads from it (epoch time, captured length, length, interface id, comments),
# which the tests compare with what PacketCapture reads.
#
# Usage: sh make-samples.sh [OUTDIR]     (default: this folder)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
cd "$out"

t2p() { text2pcap -q -t "%s.%f" "$@" >/dev/null 2>&1; }

# text2pcap: nanosecond pcap and pcapng (interface names eth0, eth1, tun0).
t2p -F nsecpcap "$here/ether.txt" text2pcap-ns.pcap
t2p -F pcap "$here/ether.txt" text2pcap-us.pcap
t2p -N eth0 "$here/ether.txt" text2pcap-ns.pcapng
t2p -N eth1 "$here/ether-b.txt" eth1.pcapng
t2p -N tun0 -l 101 "$here/raw-ip.txt" raw-ip.pcapng

# tcpdump: copies in µs (its default) and ns precision (-Z root: as root, tcpdump
# would otherwise drop to its own user before creating the file).
z=""
if [ "$(id -u)" = 0 ]; then z="-Z root"; fi
tcpdump $z -r text2pcap-ns.pcap -w tcpdump-us.pcap 2>/dev/null
tcpdump $z -r text2pcap-ns.pcap --time-stamp-precision=nano -w tcpdump-ns.pcap 2>/dev/null

# editcap: comments, and packets cut to 64 bytes.
editcap -a '1:first packet' -a '3:third packet, "quoted"' -a '7:last packet' \
    text2pcap-ns.pcapng editcap-comments.pcapng
editcap -s 64 -F pcap tcpdump-us.pcap editcap-snap64.pcap
editcap -s 64 text2pcap-ns.pcapng editcap-snap64.pcapng

# mergecap: two Ethernet interfaces (what dumpcap -i eth0 -i eth1 writes), and
# mixed link types (Ethernet + raw IP).
mergecap -w mergecap-two-interfaces.pcapng text2pcap-ns.pcapng eth1.pcapng
mergecap -w mergecap-mixed.pcapng text2pcap-ns.pcapng raw-ip.pcapng
rm -f eth1.pcapng

for f in *.pcap *.pcapng; do
    tshark -r "$f" -T fields -E separator=/t -e frame.time_epoch -e frame.cap_len -e frame.len \
        -e frame.interface_id -e frame.comment > "$f.tshark" 2>/dev/null
done
