"""Run a command and report its wall time and peak memory, optionally stopping it
before it exhausts the machine.

    python3 bench/peak_memory.py [--json FILE] [--stop-above GIB] -- COMMAND...

Every 0.2 s it sums, over the command's process tree, VmRSS (resident memory,
the pages of mapped files included: what /usr/bin/time calls "Maximum resident
set size") and RssAnon (anonymous memory only: heap and stacks, what cannot be
dropped and re-read from a file). It prints one line,

    wall 12.3 s, peak RSS 4.21 GiB, peak anonymous 1.02 GiB, exit 0

and writes the same figures to --json FILE. With --stop-above G the tree is
killed (SIGKILL) once its anonymous memory passes G GiB, and the line says
"stopped at ... GiB after ... s": what a machine without that much memory
would have done to it, without taking the rest of the machine down with it.
The exit status is the command's (137 when stopped).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

GIB = 1024.0 ** 3


def tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def memory(pids: list[int]) -> tuple[int, int]:
    rss = anon = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("RssAnon:"):
                        anon += int(line.split()[1]) * 1024
        except OSError:
            pass
    return rss, anon


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--stop-above", type=float, default=0.0, metavar="GIB",
                    help="kill the command once its anonymous memory passes this many GiB")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, start_new_session=True)
    peak_rss = peak_anon = 0
    stopped_at = None
    while proc.poll() is None:
        rss, anon = memory(tree(proc.pid))
        peak_rss, peak_anon = max(peak_rss, rss), max(peak_anon, anon)
        if args.stop_above and anon > args.stop_above * GIB and stopped_at is None:
            stopped_at = time.monotonic() - t0
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.2)
    wall = time.monotonic() - t0
    rc = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    figures = {"wall_s": round(wall, 2), "peak_rss_gib": round(peak_rss / GIB, 2),
               "peak_anon_gib": round(peak_anon / GIB, 2), "exit": rc,
               "stopped_at_s": None if stopped_at is None else round(stopped_at, 1)}
    line = (f"wall {wall:.1f} s, peak RSS {peak_rss / GIB:.2f} GiB, peak anonymous {peak_anon / GIB:.2f} GiB, "
            f"exit {rc}")
    if stopped_at is not None:
        line += f"; stopped at {args.stop_above:g} GiB of anonymous memory after {stopped_at:.1f} s"
    print(line, file=sys.stderr, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
