#!/usr/bin/env python3
"""Storage figures (issue 10), printed, never judged: storage-rclone's mount
against plain rclone, both to the same SFTP server (OpenSSH's sshd on
127.0.0.1, in a namespace with only loopback).

  - a sequential write of SIZE (default 1 GiB) through ~/Cloud/org by the
    session's application, until it is on the server (the flush at the
    session's end included), against `rclone copy` of the same file;
  - a sequential read of it back through a new session's mount (cold cache),
    against `rclone copy` from the server;
  - login to the mount being ready (glassboxd's log), and login to the
    session being ready;
  - the first open of a cold 10 MiB file (open + first byte, then the whole
    file), in a new session.

Run as root from a build:
  GB_BUILD_ROOT=$PWD/build python3 tests/bench/storage-figures.py [SIZE_MIB]
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "storage"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

if os.geteuid() != 0:
    sys.exit("storage-figures: run as root (it makes accounts and starts sshd)")

import storage_servers as servers  # noqa: E402

servers.enter_namespaces()
import storage_box  # noqa: E402

SIZE_MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
box = storage_box.Box(prefix="gb-storage-bench-")
org = os.path.join(box.cloud, "org")


def log_time(d, pattern, mark):
    """glassboxd's own timestamp ([12345.678]) of the first line matching @pattern."""
    match = storage_box.wait_new(d, r"\[\s*(\d+\.\d+)\] glassboxd [a-z]+: " + pattern, mark, 120)
    return float(match.group(1)) if match else None


def rclone_copy(source, destination):
    start = time.monotonic()
    subprocess.run(["rclone", "--config", box.remotes_file, "copyto", source, destination],
                   check=True, capture_output=True, timeout=3600)
    return time.monotonic() - start


def rate(seconds):
    return "%.1f s, %.0f MiB/s" % (seconds, SIZE_MIB / seconds) if seconds else "n/a"


d = box.make_daemon("org=org:users/%u", write_back_s=1, dir_cache_time_s=60)
try:
    # 1. Write through the mount, until the session's end has flushed it.
    box.scenario("start=$(date +%%s.%%N)\n"
                 "dd if=/dev/zero of=\"$HOME/Cloud/org/seq.bin\" bs=1M count=%d 2>/dev/null\n"
                 "end=$(date +%%s.%%N)\necho \"$start $end\" > \"$HOME/write.times\"\n"
                 % SIZE_MIB)
    mark = len(d.log_text())
    token, ws, sid, pid = box.start_session(d, "write")
    login_at = log_time(d, r"user 'demo' logged in", mark)
    mount_at = log_time(d, r"storage: mount 'org' of \S+ \(session \S+\) is ready", mark)
    ready_at = log_time(d, r"session \S+ of user 'demo' is ready", mark)
    box.scenario_done(3600)
    with open(box.home_file("write.times")) as f:
        start, end = (float(x) for x in f.read().split())
    # From the file closed (its dd ended) to the whole of it on the server.
    remote = os.path.join(box.sftp_root, "seq.bin")
    ok = storage_box.wait_for(lambda: os.path.exists(remote)
                              and os.path.getsize(remote) == SIZE_MIB << 20, 3600)
    uploaded = time.time() - end
    write_app = end - start
    box.end_session(d, ws, sid, "write", timeout=3600)

    # 2. Read it back through a new mount (nothing cached: the cache was cleaned
    #    of it, or is the remote's copy; drop it to be sure).
    subprocess.run(["rm", "-rf", box.home_file(".cache/glassbox-storage")], check=True)
    box.scenario("start=$(date +%s.%N)\n"
                 "cat \"$HOME/Cloud/org/seq.bin\" > /dev/null\n"
                 "end=$(date +%s.%N)\necho \"$start $end\" > \"$HOME/read.times\"\n"
                 "head -c 10M /dev/urandom > \"$HOME/Cloud/org/cold.bin\"\n")
    token, ws, sid, pid = box.start_session(d, "read")
    box.scenario_done(3600)
    with open(box.home_file("read.times")) as f:
        start, end = (float(x) for x in f.read().split())
    read_app = end - start
    box.end_session(d, ws, sid, "read", timeout=600)

    # 3. The first open of a cold 10 MiB file, in a new session, cache dropped.
    subprocess.run(["rm", "-rf", box.home_file(".cache/glassbox-storage")], check=True)
    box.scenario("python3 - <<'PY' > \"$HOME/cold.times\"\nimport os, time\n"
                 "t0 = time.monotonic()\n"
                 "fd = os.open(os.path.expanduser('~/Cloud/org/cold.bin'), os.O_RDONLY)\n"
                 "os.read(fd, 1)\nt1 = time.monotonic()\n"
                 "while os.read(fd, 1 << 20):\n    pass\nt2 = time.monotonic()\n"
                 "print(t1 - t0, t2 - t0)\nPY\n")
    token, ws, sid, pid = box.start_session(d, "cold open")
    box.scenario_done(600)
    with open(box.home_file("cold.times")) as f:
        first_byte, whole = (float(x) for x in f.read().split())
    box.end_session(d, ws, sid, "cold open", timeout=600)
finally:
    d.close()

# The baseline: plain rclone to and from the same server.
source = os.path.join(box.work.name, "seq-source.bin")
subprocess.run(["dd", "if=/dev/zero", "of=" + source, "bs=1M", "count=%d" % SIZE_MIB],
               check=True, capture_output=True)
copy_up = rclone_copy(source, "org:users/baseline/seq.bin")
copy_down = rclone_copy("org:users/baseline/seq.bin", source + ".back")

print()
print("storage-figures: %d MiB, storage-rclone (write_back_s 1) vs rclone copy, SFTP on "
      "127.0.0.1, %d cores" % (SIZE_MIB, os.cpu_count()))
print("  write through the mount (the application's dd): %s" % rate(write_app))
print("  ... closed to whole on the server (write-back):  %.1f s (file on the server: %s)"
      % (uploaded, "yes" if ok else "NO"))
print("  write, closed to on the server, in all:         %s" % rate(write_app + uploaded))
print("  rclone copy up (baseline):                       %s" % rate(copy_up))
print("  read through a fresh mount (cold cache):         %s" % rate(read_app))
print("  rclone copy down (baseline):                     %s" % rate(copy_down))
if login_at and mount_at and ready_at:
    print("  login to mount ready:                            %.0f ms" % ((mount_at - login_at) * 1000))
    print("  login to session ready (mount first):            %.0f ms" % ((ready_at - login_at) * 1000))
print("  cold 10 MiB file: open + first byte %.1f ms, whole file %.1f ms"
      % (first_byte * 1000, whole * 1000))
