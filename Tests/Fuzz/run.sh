#!/usr/bin/env bash
# Builds every libFuzzer target into Tests/Fuzz/out/ and runs each for SECONDS
# (default 20) on a scratch copy of its committed corpus.
#
#   Tests/Fuzz/run.sh [SECONDS]
#   FUZZ_TARGETS="bpf-interpreter" Tests/Fuzz/run.sh 600    # some targets only
#
# Exits nonzero when a target fails to build or finds a crash, a leak, a timeout
# or an out-of-memory; the reproducer is in out/<target>.artifacts/ and the
# log in out/<target>.log. Reproduce with:
#   SWIFT_BACKTRACE=enable=no out/<target> out/<target>.artifacts/<file>
# Needs the Swift toolchain's libFuzzer (swiftc -sanitize=fuzzer) and libpcap
# (the bpf-interpreter target compares against libpcap's bpf_filter).
set -uo pipefail

seconds=${1:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$here/out
swiftc=${SWIFTC:-swiftc}
mkdir -p "$out"
cd "$root"

# The toolchain's lld links quietly; gold warns about every ASan symbol.
linker=()
if [ -x "$(dirname "$(command -v "$swiftc")")/ld.lld" ]; then linker=(-use-ld=lld); fi

# The readers' sources import the client's C shims (a thread of their own for
# stream reads): a module map for them and their object, built once here.
shims=$out/shims
mkdir -p "$shims"
printf 'module CPacketCaptureShims {\n    header "%s"\n    export *\n}\n' \
    "$root/Sources/CPacketCaptureShims/include/CPacketCaptureShims.h" > "$shims/module.modulemap"
clang=${CLANG:-$(dirname "$(command -v "$swiftc")")/clang}
[ -x "$clang" ] || clang=cc
if ! "$clang" -c -O1 -fPIC -fsanitize=address -I "$root/Sources/CPacketCaptureShims/include" \
        "$root/Sources/CPacketCaptureShims/shims.c" -o "$shims/shims.o" 2>"$shims/build.log"; then
    cat "$shims/build.log" >&2; echo "== the C shims did not build" >&2; exit 1
fi

targets=(${FUZZ_TARGETS:-wire-decoder bpf-interpreter pcap-reader pcapng-reader packet-decoder})

# Per target: module sources, extra flags, -max_len, corpus folder.
# The targets are the folders here except corpus/, out/ and reader-common/ (shared code).
sources() {
    case $1 in
        wire-decoder) echo Sources/SwiftcapWire/*.swift ;;
        bpf-interpreter) echo Sources/PacketCapture/BPF/*.swift Sources/PacketCapture/Packet.swift ;;
        pcap-reader | pcapng-reader)
            # The readers without the filtering through the helper (PacketFilter and
            # the filtered walks need the live client, which the fuzzer does not reach).
            ls Sources/PacketCapture/Files/*.swift | grep -v -e '/PacketFilter.swift$' -e '/CaptureFile+Filter.swift$'
            echo Sources/PacketCapture/Packet.swift Sources/PacketCapture/SystemCallError.swift Tests/Fuzz/reader-common/*.swift ;;
        packet-decoder) echo Sources/PacketDecoding/*.swift ;;
    esac
}
# The module the sources belong to: some refer to their own module by name.
module() {
    case $1 in
        wire-decoder) echo SwiftcapWire ;;
        packet-decoder) echo PacketDecoding ;;
        *) echo PacketCapture ;;
    esac
}
flags() {
    case $1 in
        bpf-interpreter) echo -import-objc-header Tests/Fuzz/bpf-interpreter/libpcap-bridge.h -lpcap ;;
        packet-decoder) echo -enable-experimental-feature Lifetimes ;;
        pcap-reader | pcapng-reader) echo -I "$shims" "$shims/shims.o" ;;
    esac
}
max_len() {
    case $1 in
        wire-decoder) echo 16384 ;;
        bpf-interpreter) echo 4096 ;;
        *) echo 65536 ;;
    esac
}
corpus() {
    case $1 in
        pcap-reader) echo pcap ;;
        pcapng-reader) echo pcapng ;;
        *) echo "$1" ;;
    esac
}

failed=()
summary=()
for t in "${targets[@]}"; do
    if [ ! -d "$here/$t" ]; then
        echo "== $t: no such target" >&2; failed+=("$t (missing)"); continue
    fi
    echo "== $t: building"
    # shellcheck disable=SC2046
    if ! "$swiftc" -sanitize=fuzzer,address -parse-as-library -O -module-name "$(module "$t")" -package-name swiftcap \
        "${linker[@]}" $(flags "$t") $(sources "$t") "$here/$t"/*.swift -o "$out/$t" >"$out/$t.build.log" 2>&1; then
        tail -n 40 "$out/$t.build.log" >&2
        echo "== $t: BUILD FAILED (log: $out/$t.build.log)" >&2
        failed+=("$t (build)"); continue
    fi

    # Run on a scratch copy so the committed corpus does not grow.
    work=$out/$t.corpus
    rm -rf "$work" "$out/$t.artifacts"
    mkdir -p "$work" "$out/$t.artifacts"
    if [ -d "$here/corpus/$(corpus "$t")" ]; then cp -R "$here/corpus/$(corpus "$t")/." "$work/"; fi

    echo "== $t: fuzzing for ${seconds}s"
    # Swift's own crash backtracer hangs under ASan; let libFuzzer report instead.
    SWIFT_BACKTRACE=enable=no "$out/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$(max_len "$t")" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$out/$t.artifacts/" "$work" >"$out/$t.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -n 1)
    if [ $rc -ne 0 ]; then
        grep -E -A 30 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Fatal error|SUMMARY' "$out/$t.log" | head -n 60 >&2
        echo "== $t: FAILED (exit $rc; log: $out/$t.log; reproducer: $(ls "$out/$t.artifacts" 2>/dev/null | head -n 1))" >&2
        failed+=("$t (exit $rc)")
    fi
    summary+=("$t: ${execs:-?} execs, ${rate:-?} exec/s, ${cov:-cov: ?}, exit $rc")
done

echo "== summary"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "== FAILED: ${failed[*]}" >&2
    exit 1
fi
