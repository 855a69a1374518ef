#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""/metrics and /api/admin against a real glassboxd, real sessions and a real
WebRTC viewer (glassbox-test-viewer on the session's signal socket), inside a
network namespace with only loopback:

- roles: /api/whoami reports them; /api/admin is 401 without a login, 403
  for a user, 200 with sessions, logins, plugins and figures for an admin;
- /metrics from 127.0.0.1 without a cookie: 200, `promtool check metrics`
  passes with no lint problem, and the values are plausible (sessions by
  state, one viewer, frames encoded, an encode latency histogram whose
  buckets add up, bitrate, RTT, login successes and failures by reason);
- /metrics from an address that is not loopback (10.99.0.1, added to lo in
  the namespace): 403 without a cookie and with a user's, 200 with an
  admin's;
- a session that does not answer `stats` (SIGSTOPped) costs the scrape at
  most about 1 s, shows as glassbox_session_stats_up 0, and glassboxd keeps
  answering other requests meanwhile."""

import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import threading
import time
import types

import gbdaemon
import gbstream
import gbtest
from gbtest import check, finish

gbdaemon.enter_network_namespace()

OTHER_ADDRESS = "10.99.0.1"  # on lo, but not a loopback address
ADMIN = ("boss", "correct horse battery staple")
SESSION_START = re.compile(r"session ([0-9a-f]{16}): starting for user '(\w+)' \(pid (\d+)")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def request(d, method, path, cookie=None, source=None, host=None, body=None):
    """One HTTPS request (the certificate is not what is tested here)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host or "127.0.0.1", d.port, timeout=15,
                                       context=context,
                                       source_address=(source, 0) if source else None)
    headers = {}
    if cookie:
        headers["Cookie"] = "glassbox_session=" + cookie
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def login(d, user, password):
    status, headers, _ = request(d, "POST", "/api/login",
                                 body={"username": user, "password": password})
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(r"glassbox_session=([^;]+)", value)
        if match:
            return status, match.group(1)
    return status, None


def parse_metrics(text):
    """{(name, frozenset(labels)): value} and {name: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if not match:
            raise ValueError("not a sample: %r" % line)
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def total(samples, name):
    return sum(v for (n, _), v in samples.items() if n == name)


def scrape(d, **kwargs):
    status, headers, body = request(d, "GET", "/metrics", **kwargs)
    return status, headers, body.decode("utf-8", "replace")


def check_promtool(text):
    promtool = shutil.which("promtool")
    if not check(promtool is not None, "promtool is installed (Debian package prometheus)"):
        return
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                            capture_output=True, timeout=30)
    output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()
    check(result.returncode == 0 and output == "",
          "promtool check metrics: exit %d, no lint problem (%r)" % (result.returncode, output))


def check_admin_api(d, admin, user):
    status, _, _ = request(d, "GET", "/api/admin")
    check(status == 401, "/api/admin without a login: 401 (got %d)" % status)
    status, _, body = request(d, "GET", "/api/admin", cookie=user)
    check(status == 403, "/api/admin for role user: 403 (got %d %r)" % (status, body))
    status, _, body = request(d, "GET", "/api/admin", cookie=admin)
    overview = json.loads(body) if status == 200 else {}
    check(status == 200, "/api/admin for role admin: 200 (got %d)" % status)
    users = sorted(s.get("user") for s in overview.get("sessions", []))
    check(users == ["boss", "demo"], "/api/admin lists both sessions (%r)" % users)
    check(all(re.fullmatch(r"[0-9a-f]{16}", s.get("id", "")) and
              s.get("state") in ("starting", "running") and
              re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s.get("started", ""))
              for s in overview.get("sessions", [])),
          "each session has an id, a state and a start time (%r)" % overview.get("sessions"))
    check(overview.get("logins") == 2, "/api/admin: 2 logins (%r)" % overview.get("logins"))
    names = [p.get("name") for p in overview.get("plugins", [])]
    check(names == ["local", "example"], "/api/admin: the auth plugins in order (%r)" % names)
    figures = overview.get("figures", {})
    check(figures.get("logins_total") == 2 and
          figures.get("login_failures_total", {}).get("wrong_credentials") == 1,
          "/api/admin figures count logins and failures (%r)" % figures)
    status, headers, _ = request(d, "POST", "/api/admin", cookie=admin)
    check(status == 405 and headers.get("Allow") == "GET, HEAD", "POST /api/admin: 405")
    return overview


def check_scrape(d, demo_session):
    deadline = time.monotonic() + 15
    while True:
        status, headers, text = scrape(d)
        samples, types = parse_metrics(text) if status == 200 else ({}, {})
        rtt = value(samples, "glassbox_rtt_seconds", session=demo_session)
        if (rtt is not None and value(samples, "glassbox_encode_latency_seconds_count",
                                      session=demo_session)) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(status == 200, "/metrics from 127.0.0.1 without a cookie: 200 (got %d)" % status)
    check(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "Content-Type text/plain; version=0.0.4 (%s)" % headers.get("Content-Type"))
    check_promtool(text)
    for name in ("glassbox_sessions", "glassbox_viewers", "glassbox_frames_encoded_total",
                 "glassbox_encode_latency_seconds", "glassbox_bitrate_bytes_per_second",
                 "glassbox_rtt_seconds", "glassbox_input_messages_dropped_total",
                 "glassbox_login_failures_total", "glassbox_logins_total"):
        check(name in types and "# HELP %s " % name in text, "%s has HELP and TYPE" % name)
    check(types.get("glassbox_encode_latency_seconds") == "histogram"
          and types.get("glassbox_frames_encoded_total") == "counter"
          and types.get("glassbox_sessions") == "gauge", "families have the right types")

    check(value(samples, "glassbox_sessions", state="running") == 2
          and value(samples, "glassbox_sessions", state="starting") == 0,
          "glassbox_sessions: 2 running, 0 starting (%r)"
          % value(samples, "glassbox_sessions", state="running"))
    check(value(samples, "glassbox_viewers", session=demo_session) == 1
          and total(samples, "glassbox_viewers") == 1,
          "glassbox_viewers: 1, on demo's session (%r)" % total(samples, "glassbox_viewers"))
    frames = value(samples, "glassbox_frames_encoded_total", session=demo_session) or 0
    check(frames > 0, "glassbox_frames_encoded_total > 0 (%r)" % frames)
    count = value(samples, "glassbox_encode_latency_seconds_count", session=demo_session) or 0
    latency_sum = value(samples, "glassbox_encode_latency_seconds_sum", session=demo_session)
    buckets = sorted((float(dict(labels)["le"]), v) for (n, labels), v in samples.items()
                     if n == "glassbox_encode_latency_seconds_bucket"
                     and dict(labels).get("session") == demo_session)
    check(count > 0 and latency_sum is not None and 0 < latency_sum < count * 1.0,
          "latency histogram: count %r > 0, sum %r s plausible" % (count, latency_sum))
    check(len(buckets) == 11 and buckets[-1] == (float("inf"), count)
          and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
          "latency buckets: 10 bounds and +Inf, cumulative, +Inf == count (%r)" % buckets)
    check(buckets and buckets[-2][1] >= count * 0.9,
          "most frames encode in under 250 ms (%r of %r)" % (buckets[-2][1], count))
    bitrate = value(samples, "glassbox_bitrate_bytes_per_second", session=demo_session)
    check(bitrate is not None and bitrate > 0, "bitrate > 0 (%r bytes/s)" % bitrate)
    rtt = value(samples, "glassbox_rtt_seconds", session=demo_session)
    check(rtt is not None and 0 <= rtt < 0.5, "RTT over loopback, from RTCP (%r s)" % rtt)
    dropped = value(samples, "glassbox_input_messages_dropped_total", session=demo_session)
    check(dropped == 0, "no input dropped (%r)" % dropped)
    check(value(samples, "glassbox_session_stats_up", session=demo_session) == 1,
          "glassbox_session_stats_up 1 for demo's session")
    check(value(samples, "glassbox_login_failures_total", reason="wrong_credentials") == 1
          and value(samples, "glassbox_login_failures_total", reason="throttled_user") == 0,
          "login failures by reason: 1 wrong password")
    check(value(samples, "glassbox_logins_total", plugin="local") == 1
          and value(samples, "glassbox_logins_total", plugin="example") == 1,
          "logins by plugin: local 1, example 1")
    check(value(samples, "glassbox_websockets") == 0, "no WebSocket open in glassboxd")
    check((value(samples, "process_resident_memory_bytes") or 0) > 1e6
          and (value(samples, "process_open_fds") or 0) > 3, "process figures are there")
    return samples


def check_access(d, admin, user):
    for who, cookie, wanted in (("no cookie", None, 403), ("a user's cookie", user, 403),
                                ("an admin's cookie", admin, 200)):
        status, _, text = scrape(d, cookie=cookie, source=OTHER_ADDRESS, host=OTHER_ADDRESS)
        check(status == wanted, "/metrics from %s with %s: %d (got %d)"
              % (OTHER_ADDRESS, who, wanted, status))
    status, _, _ = scrape(d, cookie=user)
    check(status == 200, "/metrics from loopback with a user's cookie: 200 (loopback rule)")
    status, _, _ = request(d, "GET", "/metrics/x")
    check(status == 404, "/metrics/x: 404 (got %d)" % status)


def check_silent_session(d, pid, session):
    """A stopped session: the scrape waits about 1 s, the main loop does not."""
    os.kill(pid, signal.SIGSTOP)
    try:
        result = {}

        def scrape_in_thread():
            t0 = time.monotonic()
            result["status"], _, result["text"] = scrape(d)
            result["took"] = time.monotonic() - t0

        thread = threading.Thread(target=scrape_in_thread)
        thread.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        status, _, _ = request(d, "GET", "/api/auth/methods")
        took = time.monotonic() - t0
        thread.join(timeout=10)
        check(status == 200 and took < 0.5,
              "glassboxd answers meanwhile (%d in %.3f s)" % (status, took))
        samples, _ = parse_metrics(result.get("text", ""))
        check(result.get("status") == 200 and 0.9 <= result.get("took", 0) < 3,
              "the scrape answers after the 1 s time-out (%r in %.2f s)"
              % (result.get("status"), result.get("took", 0)))
        check(value(samples, "glassbox_session_stats_up", session=session) == 0
              and value(samples, "glassbox_frames_encoded_total", session=session) is None,
              "the silent session: stats_up 0 and no figures")
        check(d.wait_log(r"metrics: session %s did not answer" % session, 5) is not None,
              "the silent session is logged")
    finally:
        os.kill(pid, signal.SIGCONT)


subprocess.run(["ip", "addr", "add", OTHER_ADDRESS + "/32", "dev", "lo"], check=True)
# auth-example (the admin here) is a documentation plugin, outside meson's plugin list.
gbdaemon.PLUGIN_PATH += ":" + os.path.join(gbdaemon.BUILD, "plugins", "auth-example")
d = gbdaemon.Daemon(listen="0.0.0.0:0",
                    session_extra="idle_timeout_s = 120; stop_grace_ms = 2000;")
# --clock: the test client redraws every frame, so the stream has a bitrate.
with open(d.config) as f:
    config = f.read()
with open(d.config, "w") as f:
    f.write(config.replace('"--color", "204080" ]', '"--color", "204080", "--clock" ]', 1))
with open(os.path.join(d.dropins, "60-auth-example.ini"), "w") as f:
    f.write("[plugin]\nkind = auth\nname = example\n\n[settings]\nuser = %s\npassword = %s\n"
            "admin = true\n" % ADMIN)
viewer = None
try:
    if not check(d.start(), "glassboxd starts (%s)" % d.log_text()[-300:]):
        raise SystemExit(1)
    check(d.scheme == "https", "listening on 0.0.0.0: HTTPS")
    status, user = login(d, "demo", d.password())
    check(status == 200 and user, "demo (role user) logs in")
    status, admin = login(d, *ADMIN)
    check(status == 200 and admin, "boss (auth-example, admin) logs in")
    status, _ = login(d, "demo", "not the password")
    check(status == 401, "a wrong password: 401")
    status, _, body = request(d, "GET", "/api/whoami", cookie=admin)
    check(status == 200 and json.loads(body) == {"user": "boss", "roles": ["admin", "user"]},
          "whoami for the admin: roles admin, user (%r)" % body)
    status, _, body = request(d, "GET", "/api/whoami", cookie=user)
    check(json.loads(body).get("roles") == ["user"], "whoami for demo: role user")

    starts = {m.group(2): (m.group(1), int(m.group(3)))
              for m in SESSION_START.finditer(d.log_text())}
    demo_session, demo_pid = starts.get("demo", (None, 0))
    check(demo_session is not None, "demo's session started at login")
    check(d.wait_log(r"session %s of user 'demo' is ready" % demo_session, 20) is not None
          and d.wait_log(r"session \w+ of user 'boss' is ready", 20) is not None,
          "both sessions are ready")
    overview = check_admin_api(d, admin, user)

    # A real WebRTC viewer, straight on the session's signal socket (what
    # glassboxd relays a browser's WebSocket to), so that frames are encoded.
    session_view = types.SimpleNamespace(
        signal_path=os.path.join(d.runtime, "sessions", demo_session, "signal.sock"),
        tmp=types.SimpleNamespace(name=d.root))
    viewer = gbstream.Viewer(session_view, codecs="H264", timeout_ms=90000)
    check(viewer.wait_frame(lambda frame: frame[0] >= 10, timeout=30) is not None,
          "the viewer decodes frames")
    check_scrape(d, demo_session)
    check_access(d, admin, user)
    check_silent_session(d, demo_pid, demo_session)
    status, _, text = scrape(d)
    samples, _ = parse_metrics(text)
    check(value(samples, "glassbox_session_stats_up", session=demo_session) == 1,
          "after SIGCONT the session answers again")
finally:
    if viewer:
        viewer.close()
    status = d.stop()
    check(status == 0, "glassboxd exits 0 on SIGTERM (%r)" % status)
    if gbtest.failures:
        print("--- glassboxd log (tail) ---")
        print("\n".join(d.log_text(whole=True).splitlines()[-60:]))
    d.close()
finish()
