#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Server-side streaming figures, printed as a table; nothing here fails on
a time.

For 1280x720 and 1920x1080, x264 and VP8: a glassbox-session (real
capture-weston and encoder plugins) runs `glassbox-test-client --clock`,
which redraws on every frame callback, and one glassbox-test-viewer
(WebRTC over loopback) watches it. Over a measuring window it reports the
session's own figures from its control socket (capture → RTP packet leaving
webrtcbin, p50/p95; frames encoded per second) and the session process's
CPU (all its threads: compositor, capture, conversion, encoder, webrtcbin),
as % of one core and ms per encoded frame.

Then, as the baseline to beat, a plain `gst-launch-1.0` pipeline
(videotestsrc → the same encoder element and settings → fakesink) encodes
the same number of frames at the same size; its CPU per frame is printed
beside the session's. Last, the idle figures: CPU of a session whose screen
is still, with a viewer (only the idle refresh runs) and with none.

Usage (from the source tree, after a build; WebRTC needs a network
namespace with only loopback, which the script enters itself):
    GB_BUILD_ROOT=$PWD/build python3 tests/bench/stream-figures.py [SECONDS]
"""

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import gbstream  # noqa: E402
import gbtest  # noqa: E402

SIZES = [(1280, 720), (1920, 1080)]
ENCODERS = ["x264", "vp8"]

# What the plugins build, so the baseline encodes the same way (keep in
# step with plugins/encoder-*/; the plugin READMEs list their defaults).
BASELINE = {
    "x264": "x264enc tune=zerolatency speed-preset=ultrafast bframes=0 key-int-max=0 "
            "sliced-threads=true threads=4 bitrate=6000 ! "
            "video/x-h264,profile=constrained-baseline",
    "vp8": "vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=6000000 "
           "lag-in-frames=0 error-resilient=default threads=2",
}

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, all threads, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def stats_number(stats, key):
    try:
        return float(stats.get(key, "nan"))
    except ValueError:
        return float("nan")


def measure_stream(encoder, width, height, seconds):
    session = gbstream.StreamSession([gbtest.CLIENT, "--color", "3366cc", "--clock"],
                                     encoders={encoder: False}, width=width, height=height,
                                     webrtc='encoder = "%s";' % encoder)
    viewer = None
    try:
        if not session.wait_ready():
            return None
        viewer = gbstream.Viewer(session, timeout_ms=int((seconds + 60) * 1000))
        if viewer.wait_frame(lambda f: f[1] == width, timeout=20) is None:
            return None
        time.sleep(2.0)  # settle: first keyframe, rate control
        pid = session.proc.pid
        before = session.stats()
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        viewer.frames_during(seconds)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        after = session.stats()
        frames = stats_number(after, "frames_encoded") - stats_number(before, "frames_encoded")
        elapsed = t1 - t0
        return {
            "fps": frames / elapsed,
            "p50": stats_number(after, "latency_p50_ms"),
            "p95": stats_number(after, "latency_p95_ms"),
            "cpu_pct": 100.0 * (cpu1 - cpu0) / elapsed,
            "cpu_ms_per_frame": 1000.0 * (cpu1 - cpu0) / frames if frames else float("nan"),
            "frames": int(frames),
        }
    finally:
        if viewer:
            viewer.close()
        session.close()


def measure_baseline(encoder, width, height, frames):
    command = ("gst-launch-1.0 -q videotestsrc num-buffers=%d pattern=ball ! "
               "video/x-raw,format=I420,width=%d,height=%d,framerate=60/1 ! %s ! fakesink"
               % (frames, width, height, BASELINE[encoder]))
    before = os.times()
    subprocess.run(command.split(), check=True, timeout=300)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system -
                                                          before.children_system)
    return 1000.0 * cpu / frames


def measure_idle(seconds):
    """CPU of a still session: with one viewer (idle refresh only), then none."""
    session = gbstream.StreamSession([gbtest.CLIENT, "--color", "3366cc"],
                                     encoders={"x264": False}, width=1280, height=720)
    try:
        if not session.wait_ready():
            return None
        viewer = gbstream.Viewer(session, timeout_ms=int((2 * seconds + 60) * 1000))
        if viewer.wait_frame(lambda f: True, timeout=20) is None:
            viewer.close()
            return None
        time.sleep(1.0)
        pid = session.proc.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        received = viewer.frames_during(seconds)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        viewer.close()
        time.sleep(1.0)
        cpu2, t2 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        cpu3, t3 = cpu_seconds(pid), time.monotonic()
        return {
            "viewer_pct": 100.0 * (cpu1 - cpu0) / (t1 - t0),
            "viewer_fps": received / (t1 - t0),
            "none_pct": 100.0 * (cpu3 - cpu2) / (t3 - t2),
        }
    finally:
        session.close()


def main():
    gbstream.in_network_namespace()
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print("glassbox streaming figures: %d CPUs, %.0f s per configuration" %
          (os.cpu_count(), seconds))
    print("%-10s %-5s %7s %10s %10s %9s %12s %14s" %
          ("size", "enc", "fps", "lat p50", "lat p95", "CPU %", "CPU ms/frame",
           "gst-launch ms"))
    for width, height in SIZES:
        for encoder in ENCODERS:
            figures = measure_stream(encoder, width, height, seconds)
            size = "%dx%d" % (width, height)
            if not figures:
                print("%-10s %-5s  (no stream: see the session log)" % (size, encoder))
                continue
            baseline = measure_baseline(encoder, width, height, max(figures["frames"], 60))
            print("%-10s %-5s %7.1f %8.2fms %8.2fms %8.1f%% %12.2f %14.2f" %
                  (size, encoder, figures["fps"], figures["p50"], figures["p95"],
                   figures["cpu_pct"], figures["cpu_ms_per_frame"], baseline))
            sys.stdout.flush()
    idle = measure_idle(seconds)
    if idle:
        print("idle 1280x720 x264: %.2f%% CPU with a viewer (%.1f fps idle refresh), "
              "%.2f%% with none" % (idle["viewer_pct"], idle["viewer_fps"], idle["none_pct"]))
    print("latency: capture (frame rendered) -> last RTP packet of the frame leaving "
          "webrtcbin, from the session's stats")


if __name__ == "__main__":
    main()
