#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The real encoders, end to end over WebRTC: x264 and VP8 (each pinned by
webrtc.encoder) carry the client's colour to a viewer that decodes it, a key
typed on the data channel switches the colour and the viewer sees the new
one; with NVENC unavailable, the session says why and falls back to x264."""

import re
import time

import gbstream
import gbtest
from gbtest import check, colour

gbstream.in_network_namespace()

BLUE, RED = "336699", "cc3300"
CLIENT = [gbtest.CLIENT, "--color", BLUE, "--alt-color", RED]
BOTH = {"x264": False, "vp8": False}
# Long enough that a change shown by the idle repeat cannot pass for one
# shown at once, even on a loaded machine.
IDLE_REFRESH_MS = 5000


def stream_through(encoder, codec):
    s = gbstream.StreamSession(CLIENT, encoders=BOTH,
                               webrtc='encoder = "%s"; idle_refresh_ms = %d;' % (encoder, IDLE_REFRESH_MS))
    v = None
    try:
        check(s.wait_ready(), "%s: READY on --ready-fd" % encoder)
        check(s.wait_line(r"ready 640 480") is not None, "%s: client mapped" % encoder)
        started = time.monotonic()
        v = gbstream.Viewer(s)
        offer = v.wait_line(r"offer .*")
        check(offer is not None and " codec=%s " % codec in offer,
              "%s: the offer carries %s (%r)" % (encoder, codec, offer))
        check(offer is not None and "playout-delay=yes" in offer,
              "%s: the offer asks for no playout delay" % encoder)
        info = v.info()
        check(info == {"codec": codec, "encoder": encoder, "width": "640", "height": "480",
                       "fallback": "-"},
              "%s: info names the codec, encoder and size (%r)" % (encoder, info))

        seen = v.wait_colour(colour(BLUE), timeout=20)
        first_frame_s = time.monotonic() - started
        check(gbstream.close_colour(seen, colour(BLUE)),
              "%s: the viewer decodes the client's colour %s (%r)" % (encoder, BLUE, seen))
        check(first_frame_s < 10,
              "%s: first right frame %.2f s after connecting (< 10 s)" % (encoder, first_frame_s))
        check(v.wait_line(r"rtp playout-delay min=0 max=0", timeout=5) is not None,
              "%s: RTP packets carry playout delay min = max = 0" % encoder)

        check(v.wait_line(r"datachannel open") is not None, "%s: data channel open" % encoder)
        typed = time.monotonic()
        v.send({"type": "key", "code": "Space", "down": True})
        v.send({"type": "key", "code": "Space", "down": False})
        check(s.wait_line(r"key 57 pressed") is not None,
              "%s: Space typed on the data channel reached the client" % encoder)
        check(s.wait_line(r"color %s" % RED) is not None, "%s: the client switched" % encoder)
        seen = v.wait_colour(colour(RED), timeout=5)
        change_s = time.monotonic() - typed
        check(gbstream.close_colour(seen, colour(RED)),
              "%s: the viewer sees the new colour %s %.2f s after the key (%r)"
              % (encoder, RED, change_s, seen))
        # Well before the idle refresh: the encoder holds no frame back
        # waiting for the next one, so the last change of a still screen shows.
        limit_s = IDLE_REFRESH_MS / 1000 - 1
        check(change_s < limit_s, "%s: the change shows in %.2f s (< %.1f s, the idle refresh is %.1f s)"
              % (encoder, change_s, limit_s, IDLE_REFRESH_MS / 1000))

        stats = s.stats()
        check(stats.get("codec") == codec and stats.get("encoder") == encoder,
              "%s: stats report %s via %s (%r)" % (encoder, codec, encoder,
                                                  {k: stats.get(k) for k in ("codec", "encoder")}))
        check(int(stats.get("frames_encoded", 0)) >= 2 and stats.get("viewers") == "1",
              "%s: stats count frames and the viewer (%s frames, %s viewers)"
              % (encoder, stats.get("frames_encoded"), stats.get("viewers")))

        v.command("!exit")
        check(v.wait_exit() == 0, "%s: the viewer leaves cleanly" % encoder)
        check(s.stop() == 0, "%s: SIGTERM stops the session with status 0" % encoder)
        log = s.log_text()
        check("encoder: using %s (%s), pinned by webrtc.encoder" % (encoder, codec) in log,
              "%s: the log says which encoder and why" % encoder)
        check(re.search(r"viewer 1 left after [0-9.]+ s: [1-9][0-9]* frames sent, latency "
                        r"p50 [0-9.]+ ms p95 [0-9.]+ ms", log) is not None,
              "%s: a summary line when the viewer leaves" % encoder)
    finally:
        gbstream.dump_logs(s, v)
        if v:
            v.close()
        s.close()


def nvenc_falls_back():
    """NVENC loaded (optional) but unavailable here: x264, and everyone is told why."""
    if not check(gbstream.has_plugin("encoder-nvenc"), "encoder-nvenc is built"):
        return
    encoders = {"nvenc": True, "x264": False, "vp8": False}
    s = gbstream.StreamSession(CLIENT, encoders=encoders)
    v = None
    try:
        check(s.wait_ready(), "nvenc: READY")
        # The browser's own order does not matter: H.264 comes before VP8.
        v = gbstream.Viewer(s, codecs="VP8,H264")
        info = v.info()
        log = s.log_text()
        check("loaded encoder-nvenc" in log, "nvenc: the plugin loads (only its probe fails)")
        if info and info["encoder"] == "nvenc":
            # A machine with a working NVENC: hardware comes first.
            check(info["codec"] == "H264" and info["fallback"] == "-",
                  "nvenc: available here, chosen first (%r)" % (info,))
        else:
            match = re.search(r"encoder: nvenc unavailable \((.+)\), using x264 \(H264\)", log)
            check(match is not None, "nvenc: the log names the fallback and the reason")
            check(info is not None and info["codec"] == "H264" and info["encoder"] == "x264",
                  "nvenc: x264 (H.264) chosen over VP8 (%r)" % (info,))
            check(info is not None and match is not None and
                  info["fallback"] == "nvenc: " + match.group(1) and len(match.group(1)) > 3,
                  "nvenc: info's fallback gives the probe's reason (%r)"
                  % (info and info["fallback"]))
        seen = v.wait_colour(colour(BLUE), timeout=20)
        check(gbstream.close_colour(seen, colour(BLUE)),
              "nvenc: the fallback streams the right colour (%r)" % (seen,))
        stats = s.stats()
        check(stats.get("encoder") == (info or {}).get("encoder") and stats.get("encoders") == "1",
              "nvenc: stats name the encoder in use (%s)" % stats.get("encoder"))
    finally:
        gbstream.dump_logs(s, v)
        if v:
            v.close()
        s.close()


stream_through("x264", "H264")
stream_through("vp8", "VP8")
nvenc_falls_back()
gbtest.finish()
