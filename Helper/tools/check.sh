#!/bin/sh
# Runs drive.py's scenarios against a built helper in the three ways it is deployed:
# started by root, a setcap'd copy run by an unprivileged user, and an unprivileged
# copy without capabilities. Needs root (setcap, runuser, ip netns).
#
#   Helper/tools/check.sh [path/to/swiftcap-helper]     (default: release build)
#
# Traffic stays on loopback and inside a network namespace this script creates
# and deletes. Creates the system user swiftcap-test if it is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
helper=${1:-$here/../../.build-helper/release/swiftcap-helper}
user=swiftcap-test
ns=swiftcap-check-$$
work=$(mktemp -d /tmp/swiftcap-check.XXXXXX)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "check.sh: run as root" >&2; exit 2; }
id "$user" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$user"

mkdir "$work/cap" "$work/nocap"
cp "$helper" "$work/cap/swiftcap-helper"
cp "$helper" "$work/nocap/swiftcap-helper"
cp "$here/drive.py" "$work/drive.py"
chmod 755 "$work" "$work/cap" "$work/nocap" "$work"/cap/* "$work"/nocap/* "$work/drive.py"
setcap cap_net_raw=ep "$work/cap/swiftcap-helper"

all="status demo modes list compile names nosuchdev badfilter badsetfilter inject-big violation first-bad
     monitor pipeline flood eof segv kill pdeathsig burst slow promisc stopcont selftest"
failures=0
run() { "$@" || failures=$((failures + $?)); }

echo "### root"
run python3 "$work/drive.py" "$helper" $all
echo "### root, --keep-net-admin"
run python3 "$work/drive.py" "$helper" prestatus status rfmon --keep-net-admin
echo "### $user, setcap cap_net_raw=ep"
run runuser -u "$user" -- python3 "$work/drive.py" "$work/cap/swiftcap-helper" $all
echo "### $user, no capabilities"
run runuser -u "$user" -- python3 "$work/drive.py" "$work/nocap/swiftcap-helper" noperm list compile selftest

echo "### interface down and removed (netns $ns)"
ip netns add "$ns"
ip netns exec "$ns" sh -c 'ip link add va type veth peer name vb && ip link set va up && ip link set vb up'
run ip netns exec "$ns" python3 "$work/drive.py" "$helper" ifdown ifgone --device va

echo "### failures: $failures"
[ "$failures" = 0 ]
