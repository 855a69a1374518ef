#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Figures of glassbox-session with the test client (issue: foundation):

  - time from start to the first frame showing the application (p50, max of N
    runs; measured by the session from main(), and by us from spawn to the
    log line);
  - RSS of an idle session (the session process alone, and the client);
  - CPU used by an idle session over 10 s (goal: near zero).

Prints numbers only; never fails on a time. Usage: session-figures.py [RUNS]"""

import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import gbtest  # noqa: E402

runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ticks = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


inside, outside = [], []
for _ in range(runs):
    s = gbtest.Session([gbtest.CLIENT, "--color", "336699"], width=1280, height=720)
    try:
        deadline = time.monotonic() + 10
        match = None
        while time.monotonic() < deadline and not match:
            match = re.search(r"first frame showing the application after ([0-9.]+) ms",
                              s.log_text())
            if not match:
                time.sleep(0.002)
        if match:
            outside.append((time.monotonic() - s.started) * 1000)
            inside.append(float(match.group(1)))
        s.stop()
    finally:
        s.close()

print("time to first application frame, 1280x720 pixman, %d runs:" % runs)
if inside:
    print("  measured in the session:  p50 %.1f ms, max %.1f ms"
          % (statistics.median(inside), max(inside)))
    print("  spawn to log line:        p50 %.1f ms, max %.1f ms (includes polling)"
          % (statistics.median(outside), max(outside)))

s = gbtest.Session([gbtest.CLIENT, "--color", "336699"], width=1280, height=720)
try:
    s.wait_line(r"ready \d+ \d+")
    s.wait_control()
    client_pid = int(s.stats()["app_pid"])
    time.sleep(2)
    print("idle session, 1280x720, test client:")
    print("  RSS glassbox-session %d KiB, test client %d KiB"
          % (rss_kib(s.proc.pid), rss_kib(client_pid)))
    frames0 = int(s.stats()["frames"])
    cpu0 = cpu_seconds(s.proc.pid)
    t0 = time.monotonic()
    time.sleep(10)
    cpu1 = cpu_seconds(s.proc.pid)
    elapsed = time.monotonic() - t0
    frames1 = int(s.stats()["frames"])
    print("  CPU over %.1f s idle: %.2f s (%.2f%% of one core); frames repainted: %d"
          % (elapsed, cpu1 - cpu0, 100 * (cpu1 - cpu0) / elapsed, frames1 - frames0))
    s.stop()
finally:
    s.close()
