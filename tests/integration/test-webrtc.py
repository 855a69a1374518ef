#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The WebRTC side of a session with several viewers: they share one
encoder, a viewer over session.max_viewers is refused, a viewer that leaves
holding a key gets it released, nothing is captured or encoded without a
viewer, a still screen is refreshed about once a second, a PLI gets a
keyframe, the first viewer's codec holds, and the signalling socket
survives malformed peers."""

import json
import os
import re
import socket
import time

import gbstream
import gbtest
from gbtest import check, colour

gbstream.in_network_namespace()

BLUE, RED = "336699", "cc3300"
CLIENT = [gbtest.CLIENT, "--color", BLUE, "--alt-color", RED]


def frames_encoded(s):
    return int(s.stats().get("frames_encoded", -1))


def shared_encoder():
    s = gbstream.StreamSession(CLIENT, session_extra="max_viewers = 2;")
    v1 = v2 = v3 = v4 = None
    try:
        check(s.wait_ready(), "READY on --ready-fd")
        check(s.wait_line(r"ready 640 480") is not None, "client mapped")

        # No viewer: the screen changes, nothing is captured or encoded.
        s.control("key 57 down", "key 57 up")
        check(s.wait_line(r"color %s" % RED) is not None, "the screen changed (no viewer)")
        time.sleep(1.0)
        stats = s.stats()
        check(stats.get("frames_encoded") == "0" and stats.get("viewers") == "0" and
              stats.get("codec") == "none",
              "no viewer yet: nothing encoded (%s)" % {k: stats.get(k) for k in
                                                       ("frames_encoded", "viewers", "codec")})
        s.control("key 57 down", "key 57 up")
        check(s.wait_line(r"color %s" % BLUE) is not None, "the screen changed back")

        v1 = gbstream.Viewer(s, name="first")
        seen = v1.wait_colour(colour(BLUE), timeout=20)
        check(gbstream.close_colour(seen, colour(BLUE)), "first viewer sees %s (%r)" % (BLUE, seen))
        v2 = gbstream.Viewer(s, name="second")
        seen = v2.wait_colour(colour(BLUE), timeout=20)
        check(gbstream.close_colour(seen, colour(BLUE)),
              "second viewer sees %s too (%r)" % (BLUE, seen))
        stats = s.wait_stats(lambda st: st.get("viewers") == "2")
        check(stats.get("viewers") == "2" and stats.get("encoders") == "1",
              "two viewers, one encoder (viewers=%s encoders=%s)"
              % (stats.get("viewers"), stats.get("encoders")))
        log = s.log_text()
        check(len(re.findall(r"stream: capture weston -> encoder x264", log)) == 1,
              "the log shows one pipeline for both viewers")

        # A third viewer is one too many.
        v3 = gbstream.Viewer(s, name="third")
        line = v3.wait_line(r"error .*")
        check(line is not None and "too many viewers" in line,
              "a viewer over max_viewers gets an error line (%r)" % line)
        check(v3.wait_exit() == 4, "... and is disconnected (the viewer exits 4)")
        check(s.stats().get("viewers") == "2", "the two viewers stay")

        # A still screen is repeated about once a second (webrtc.idle_refresh_ms).
        check(v1.wait_line(r"datachannel open") is not None, "first viewer's data channel open")
        v1.frames_during(2.0)  # the joins' own refreshes are over
        count = v1.frames_during(5.5)
        times = [f[4] for f in v1.frames[-count:]] if count else []
        gaps = sorted(b - a for a, b in zip(times, times[1:]))
        median = gaps[len(gaps) // 2] if gaps else 0
        check(4 <= count <= 7 and 800 <= median <= 1200,
              "idle refresh: %d frames in 5.5 s on a still screen, %.0f ms apart (4..7, ~1000)"
              % (count, median))

        # A keyframe request from the viewer (PLI) reaches the encoder.
        before = int(s.stats()["keyframe_requests"])
        keyframes = v1.wait_line(r"keyframe \d+", timeout=1) or "keyframe 1"
        v1.command("!keyframe")
        stats = s.wait_stats(lambda st: int(st["keyframe_requests"]) > before)
        check(int(stats["keyframe_requests"]) > before,
              "a PLI from the viewer reaches the encoder (%d -> %s requests)"
              % (before, stats["keyframe_requests"]))
        line = v1.wait_line(r"keyframe \d+", timeout=5)
        check(line is not None and line != keyframes,
              "... and a keyframe comes back (%r after %r)" % (line, keyframes))

        # The second viewer holds a key and vanishes: the key is released.
        check(v2.wait_line(r"datachannel open") is not None, "second viewer's data channel open")
        v2.send({"type": "key", "code": "KeyA", "down": True})
        check(s.wait_line(r"key 30 pressed") is not None, "the second viewer holds KeyA")
        v2.kill()
        check(s.wait_line(r"key 30 released") is not None,
              "KeyA is released when that viewer leaves")
        stats = s.wait_stats(lambda st: st.get("viewers") == "1")
        check(stats.get("viewers") == "1", "one viewer left")
        check(re.search(r"viewer 2 left after", s.log_text()) is not None,
              "the log sums up the viewer that left")
        count = v1.frames_during(2.5)
        check(count >= 1, "the first viewer still gets frames (%d in 2.5 s)" % count)

        # Everybody leaves: capture stops; a changing screen encodes nothing.
        v1.command("!exit")
        check(v1.wait_exit() == 0, "the first viewer leaves")
        stats = s.wait_stats(lambda st: st.get("viewers") == "0")
        time.sleep(0.5)
        idle_before = frames_encoded(s)
        s.control("key 57 down", "key 57 up")
        check(s.wait_line(r"color %s" % RED) is not None, "the screen changes with no viewer")
        time.sleep(2.0)
        idle_after = frames_encoded(s)
        check(idle_before == idle_after and idle_before > 0,
              "no viewer: frames_encoded stays at %d (%d)" % (idle_before, idle_after))
        check("stream: capture stopped: no viewer left" in s.log_text(),
              "the log says capture stopped")

        # Someone comes back: the same encoder, the current picture.
        v4 = gbstream.Viewer(s, name="fourth")
        seen = v4.wait_colour(colour(RED), timeout=20)
        check(gbstream.close_colour(seen, colour(RED)),
              "a returning viewer sees the current screen (%r)" % (seen,))
        stats = s.stats()
        check(stats.get("encoders") == "1", "still one encoder for the session")
        check(float(stats.get("latency_p50_ms", -1)) > 0 and
              int(stats.get("latency_frames", 0)) > 0,
              "latency is measured (p50 %s ms, p95 %s ms over %s frames)"
              % (stats.get("latency_p50_ms"), stats.get("latency_p95_ms"),
                 stats.get("latency_frames")))
        check(s.stop() == 0, "SIGTERM stops the session with status 0")
    finally:
        gbstream.dump_logs(s, v1, v2, v3, v4)
        for v in (v1, v2, v3, v4):
            if v:
                v.close()
        s.close()


def raw_connection(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(path)
    return sock


def read_line(sock):
    """The first line the session sends (the rest is dropped), or None."""
    data = b""
    while b"\n" not in data:
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, ConnectionResetError):
            return None
        if not chunk:
            return data.decode() or None
        data += chunk
    return data.split(b"\n", 1)[0].decode()


def closed_by_peer(sock, timeout=10.0):
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def first_codec_holds():
    """VP8 chosen by the first viewer holds; playout delay off; size from hello;
    malformed signalling drops only that connection."""
    s = gbstream.StreamSession(CLIENT, encoders={"x264": False, "vp8": False},
                               webrtc="playout_delay = false;")
    v1 = v2 = None
    try:
        check(s.wait_ready(), "READY")
        v1 = gbstream.Viewer(s, codecs="VP8", size=(800, 600), name="vp8-only")
        offer = v1.wait_line(r"offer .*")
        check(offer is not None and "codec=VP8" in offer and "playout-delay=no" in offer,
              "a VP8-only viewer gets VP8, without playout delay when it is off (%r)" % offer)
        info = v1.info()
        check(info is not None and info["codec"] == "VP8" and info["encoder"] == "vp8",
              "info: VP8 via vp8 (%r)" % (info,))
        if info and (info["width"], info["height"]) != ("800", "600"):
            info = v1.info()
        check(info is not None and (info["width"], info["height"]) == ("800", "600"),
              "hello's size resizes the output and info follows (%r)" % (info,))
        seen = v1.wait_colour(colour(BLUE), timeout=20)
        check(gbstream.close_colour(seen, colour(BLUE)), "VP8 viewer sees %s" % BLUE)
        check(v1.wait_line(r"rtp playout-delay.*", timeout=0.5) is None,
              "no playout-delay extension in the packets when it is off")
        frame = v1.wait_frame(lambda f: f[1:3] == (800, 600), timeout=10)
        check(frame is not None and gbstream.close_colour(frame[3], colour(BLUE)),
              "frames come at 800x600 (%r)" % (v1.frames[-1][1:3] if v1.frames else None,))

        v2 = gbstream.Viewer(s, codecs="H264", name="h264-only")
        line = v2.wait_line(r"error .*")
        check(line is not None and "VP8" in line,
              "an H.264-only viewer is refused: the session streams VP8 (%r)" % line)
        check(v2.wait_exit() == 4, "... and disconnected")

        # Malformed peers: each loses its own connection, nobody else notices.
        sock = raw_connection(s.signal_path)
        sock.sendall(b'{"type":"answer","sdp":"v=0"}\n')
        line = read_line(sock)
        check(line is not None and json.loads(line).get("type") == "error",
              "a first message other than hello is refused (%r)" % line)
        check(closed_by_peer(sock), "... and the connection closed")
        sock.close()

        sock = raw_connection(s.signal_path)
        sock.sendall(b'{"type":"hello","codecs":["THEORA"]}\n')
        line = read_line(sock)
        check(line is not None and "error" in line and "VP8" in line,
              "a hello without a common codec is refused (%r)" % line)
        sock.close()

        sock = raw_connection(s.signal_path)
        sock.sendall(b"x" * (70 * 1024))
        check(closed_by_peer(sock), "a line over 64 KiB drops the connection")
        sock.close()

        sock = raw_connection(s.signal_path)
        sock.sendall(b"not json\n[1,2]\n{\"no\":\"type\"}\n\x00\n")
        sock.sendall(json.dumps({"type": "hello", "codecs": ["VP8"]}).encode() + b"\n")
        line = read_line(sock)
        check(line is not None and json.loads(line).get("type") == "offer",
              "garbage lines are ignored, a hello after them works (%r)"
              % (line[:40] if line else None))
        sock.close()

        count = v1.frames_during(2.0)
        check(count >= 1 and s.proc.poll() is None,
              "the first viewer is unaffected (%d frames in 2 s)" % count)
        check(os.stat(s.signal_path).st_mode & 0o777 == 0o600, "the signal socket is 0600")
        check(s.stop() == 0, "SIGTERM stops the session with status 0")
        check(not os.path.exists(s.signal_path), "the signal socket is removed on exit")
    finally:
        gbstream.dump_logs(s, v1, v2)
        for v in (v1, v2):
            if v:
                v.close()
        s.close()


shared_encoder()
first_codec_holds()
gbtest.finish()
