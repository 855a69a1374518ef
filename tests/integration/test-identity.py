#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Same name, different people: an identity is the pair (auth plugin, user
name). Two auth plugins both vouch for a user called 'alice', each with a
password of its own: auth-local (a users file) and the test plugin
auth-good (tests/plugins/auth-good.c: alice / wonderland). With glassboxd
and the direct spawner, inside a network namespace with only loopback:

- by default the two alices are two people: two sessions (ids, processes,
  runtime folders), the WebSocket's "session" message says whose, and a
  restart keeps each login on its own identity;
- with both drop-ins mapped into one namespace ([plugin] namespace) they
  are one person and share one session;
- a bad namespace stops glassboxd with the file, line and key;
- a logins file of an older glassboxd (version 1, no plugin per login) is
  not read."""

import json
import os
import re
import signal
import time
import subprocess

import gbdaemon
from gbtest import check, finish

gbdaemon.enter_network_namespace()

# auth-good lives with the loader's test plugins, not with the real ones.
gbdaemon.PLUGIN_PATH = gbdaemon.PLUGIN_PATH + ":" + os.path.join(gbdaemon.BUILD, "tests",
                                                                 "plugins")
LOCAL_PASSWORD = "local-alice-Pass-1"
GOOD_PASSWORD = "wonderland"  # what auth-good accepts for alice
SESSION_START = re.compile(r"session ([0-9a-f]{16}): starting for user 'alice' \(pid (\d+), "
                           r"identity ([\w.-]+:alice)")


def make_hash(password):
    """A SHA-512 crypt hash, which libcrypt (and so auth-local) accepts."""
    result = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                            capture_output=True, text=True, check=True, timeout=30)
    return result.stdout.strip()


def make_daemon(namespace_local=None, namespace_good=None):
    """glassboxd with auth-local (alice in its users file) and auth-good."""
    d = gbdaemon.Daemon()
    with open(d.users, "w") as f:
        f.write("alice:%s:user\n" % make_hash(LOCAL_PASSWORD))
    os.chmod(d.users, 0o600)
    local = "[plugin]\nkind = auth\nname = local\n"
    if namespace_local:
        local += "namespace = %s\n" % namespace_local
    local += "\n[settings]\nusers_file = %s\ncreate_demo_user = false\n" % d.users
    good = "[plugin]\nkind = auth\nname = good\n"
    if namespace_good:
        good += "namespace = %s\n" % namespace_good
    for name, text in (("50-auth-local.ini", local), ("55-auth-good.ini", good)):
        with open(os.path.join(d.dropins, name), "w") as f:
            f.write(text)
    return d


def login(d, password):
    status, token, _, body = d.login("alice", password)
    check(status == 200 and token and json.loads(body) == {"user": "alice"},
          "alice logs in with %s's password (%s %r)"
          % ("auth-local" if password == LOCAL_PASSWORD else "auth-good", status, body))
    return token


def open_viewer(d, token):
    ws = d.websocket(cookie=token)
    first = ws.recv_json(timeout=20) if ws.status == 101 else None
    return ws, first


def session_dirs(d):
    path = os.path.join(d.runtime, "sessions")
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def starts(d):
    """{identity: (session id, pid)} of the session starts logged in this run."""
    return {m.group(3): (m.group(1), int(m.group(2)))
            for m in SESSION_START.finditer(d.log_text())}


def check_two_people():
    d = make_daemon()
    try:
        check(d.start(), "glassboxd starts with auth-local and auth-good")
        check(d.wait_log(r"loaded auth-good") is not None, "auth-good is loaded")
        local_token = login(d, LOCAL_PASSWORD)
        good_token = login(d, GOOD_PASSWORD)
        status, _, _, _ = d.login("alice", "neither-password")
        check(status == 401, "a password neither plugin knows: 401")

        ws_local, first_local = open_viewer(d, local_token)
        ws_good, first_good = open_viewer(d, good_token)
        check(first_local is not None and first_local.get("type") == "session"
              and first_local.get("user") == "alice"
              and first_local.get("identity") == "local:alice",
              "auth-local's alice: session message with user alice, identity local:alice (%r)"
              % first_local)
        check(first_good is not None and first_good.get("type") == "session"
              and first_good.get("user") == "alice"
              and first_good.get("identity") == "good:alice",
              "auth-good's alice: session message with user alice, identity good:alice (%r)"
              % first_good)
        local_id = first_local and first_local.get("id")
        good_id = first_good and first_good.get("id")
        check(local_id and good_id and local_id != good_id,
              "two identities, two sessions (%s, %s)" % (local_id, good_id))
        check(first_good is not None and first_good.get("joined") is False,
              "auth-good's alice did not join auth-local's alice's session")
        for session_id in (local_id, good_id):
            check(d.wait_log(r"session %s of user 'alice' is ready" % session_id, 20)
                  is not None, "session %s is ready" % session_id)
        started = starts(d)
        check(set(started) == {"local:alice", "good:alice"}
              and started["local:alice"][0] == local_id
              and started["good:alice"][0] == good_id
              and started["local:alice"][1] != started["good:alice"][1],
              "the log names each session's identity; two processes (%r)" % started)
        dirs = session_dirs(d)
        check(local_id in dirs and good_id in dirs,
              "each has a runtime folder of its own (%r)" % dirs)

        # The same identity again joins its own session, not the other one.
        again_token = login(d, GOOD_PASSWORD)
        ws_again, again = open_viewer(d, again_token)
        check(again is not None and again.get("id") == good_id and again.get("joined") is True,
              "a second login of auth-good's alice joins good:alice's session (%r)" % again)
        for ws in (ws_local, ws_good, ws_again):
            ws.close()

        # The logins survive a restart, each on its own identity.
        check(d.stop() == 0, "glassboxd stops")
        with open(os.path.join(d.runtime, "logins")) as f:
            saved = json.load(f)
        kept = sorted((e.get("plugin"), e.get("namespace"), e.get("user"))
                      for e in saved.get("logins", []))
        check(saved.get("version") == 2
              and kept == [("good", "good", "alice"), ("good", "good", "alice"),
                           ("local", "local", "alice")],
              "the saved logins record the plugin and namespace (%r)" % saved)
        check(d.start(), "glassboxd starts again")
        ws_local, first_local = open_viewer(d, local_token)
        ws_good, first_good = open_viewer(d, good_token)
        check(first_local is not None and first_local.get("identity") == "local:alice"
              and first_good is not None and first_good.get("identity") == "good:alice"
              and first_local.get("id") != first_good.get("id"),
              "after the restart the cookies still stand for two people (%r, %r)"
              % (first_local, first_good))
        for ws in (ws_local, ws_good):
            ws.close()
    finally:
        d.close()


def check_one_person():
    d = make_daemon(namespace_local="people", namespace_good="people")
    try:
        check(d.start(), "glassboxd starts with both plugins in namespace 'people'")
        local_token = login(d, LOCAL_PASSWORD)
        good_token = login(d, GOOD_PASSWORD)
        check(d.wait_log(r"user 'alice' logged in from 127\.0\.0\.1 \(auth plugin good, "
                         r"identity people:alice") is not None,
              "the login line names the plugin and the identity")
        ws_local, first_local = open_viewer(d, local_token)
        ws_good, first_good = open_viewer(d, good_token)
        check(first_local is not None and first_local.get("identity") == "people:alice"
              and first_good is not None and first_good.get("identity") == "people:alice",
              "both logins are people:alice (%r, %r)" % (first_local, first_good))
        check(first_local is not None and first_good is not None
              and first_local.get("id") == first_good.get("id")
              and first_good.get("joined") is True,
              "mapped together on purpose, they share one session")
        check(len(starts(d)) == 1 and len(session_dirs(d)) == 1,
              "one session started, one runtime folder (%r)" % session_dirs(d))

        # The operator takes auth-good out of 'people' and reloads: its
        # logins stand for good:alice now, another person, so they end (and
        # their WebSockets close) instead of keeping people:alice's session.
        with open(os.path.join(d.dropins, "55-auth-good.ini"), "w") as f:
            f.write("[plugin]\nkind = auth\nname = good\n")
        offset = len(d.log_text())
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "reloaded " not in d.log_text()[offset:]:
            time.sleep(0.02)
        code = ws_good.wait_close(timeout=2)
        check(code == 1008, "a reload that changes auth-good's namespace closes its "
              "login's WebSocket with 1008 (%r)" % code)
        check(d.request("GET", "/api/whoami", cookie=good_token)[0] == 401,
              "and its cookie gets 401")
        check(d.request("GET", "/api/whoami", cookie=local_token)[0] == 200,
              "auth-local's login, still in 'people', lives on")
        for ws in (ws_local, ws_good):
            ws.close()
    finally:
        d.close()


def check_bad_namespace():
    d = make_daemon(namespace_good="Not:Valid")
    try:
        d.start(wait=False)
        status = d.wait_exit(20)
        path = os.path.join(d.dropins, "55-auth-good.ini")
        check(status not in (0, None), "a bad namespace stops glassboxd (exit %r)" % status)
        check(re.search(r"%s:4: key 'plugin\.namespace': namespace 'Not:Valid' must not "
                        r"contain 'N'" % re.escape(path), d.log_text()) is not None,
              "the error names the file, line and key")
    finally:
        d.close()


def check_old_logins_file():
    d = make_daemon()
    try:
        os.makedirs(d.runtime, exist_ok=True)
        with open(os.path.join(d.runtime, "logins"), "w") as f:
            json.dump({"version": 1, "logins": [{
                "key": "ab" * 32, "user": "alice", "roles": 1, "system_account": False,
                "created_us": 1, "expires_us": 2 ** 62}]}, f)
        os.chmod(os.path.join(d.runtime, "logins"), 0o600)
        check(d.start(), "glassboxd starts over a version 1 logins file")
        check(d.wait_log(r"was saved by an older glassboxd, which did not record the auth "
                         r"plugin of each login; ignoring it") is not None,
              "a version 1 logins file is refused with a clear line")
    finally:
        d.close()


check_two_people()
check_one_person()
check_bad_namespace()
check_old_logins_file()
finish()
