"""Shared helpers for bench/live-capture and bench/file-read."""

import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(BENCH)
BIN = os.path.join(BENCH, "bin")
OUT = os.path.join(BENCH, "out")
RESULTS = os.path.join(BENCH, "RESULTS.md")
SCRATCH = os.path.join(ROOT, ".build-bench")

C_PROGRAMS = {
    "pcap-count": ["-lpcap"],
    "pcap-stream-count": ["-lpcap"],
    "pcap-read-count": ["-lpcap"],
    "pcap-copy": ["-lpcap"],
    "gen-pcap": [],
    "tree-rusage": [],
    "malloc-count": ["-shared", "-fPIC"],  # -> bench/bin/malloc-count.so
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def build_c(names=None):
    """gcc -O2 each bench/c/NAME.c into bench/bin/NAME when the source is newer."""
    os.makedirs(BIN, exist_ok=True)
    for name in names or C_PROGRAMS:
        src = os.path.join(BENCH, "c", name + ".c")
        exe = os.path.join(BIN, name + (".so" if "-shared" in C_PROGRAMS[name] else ""))
        if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
            continue
        cmd = ["gcc", "-O2", "-Wall", "-Wextra", "-o", exe, src] + C_PROGRAMS[name]
        log("+", " ".join(cmd))
        subprocess.run(cmd, check=True)


def swift_build(products, skip=False):
    """swift build -c release --scratch-path .build-bench for the given products.

    Returns the release bin directory."""
    bindir = os.path.join(SCRATCH, "release")
    if not skip:
        for p in products:
            cmd = ["swift", "build", "-c", "release", "--scratch-path", SCRATCH, "--product", p]
            log("+", " ".join(cmd))
            subprocess.run(cmd, check=True, cwd=ROOT)
    return bindir


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, digits=3):
    if x is None:
        return "n/a"
    if isinstance(x, int):
        return f"{x:,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.{digits}f}".rstrip("0").rstrip(".")


def machine_info():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "cpu": cpu,
        "mem": mem,
        "loadavg_at_start": load,
    }


def machine_line(m):
    return (f"{m['date']}; {m['nproc']} cores ({m['cpu']}), {m['mem']}, Linux {m['kernel']}; "
            f"load average at start {m['loadavg_at_start']}")


def update_results(section, markdown):
    """Replace (or append) the block between <!-- section:begin --> and <!-- section:end -->."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    block = f"{begin}\n{markdown.rstrip()}\n{end}\n"
    text = ""
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            text = f.read()
    if not text.strip():
        text = ("# swiftcap benchmark results\n\n"
                "Written by `bench/live-capture` and `bench/file-read` (see `bench/README.md`). Every speed "
                "figure is also given as a ratio against a reference measured in the same invocation, "
                "alternating contenders, because the machine is shared and absolute numbers are noisy.\n\n")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block
    with open(RESULTS, "w") as f:
        f.write(text)


def write_json(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def table(headers, rows):
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def verdict(ok):
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")
