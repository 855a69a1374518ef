#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Revocation: a login ends, and its WebSocket closes within a second, when
what vouched for it goes away. Against a real glassboxd (direct spawner, a
real glassbox-session with the test client) on a private dbus-daemon, in
network and mount namespaces of its own (test-dbus.py's fixture).

Checked, each with an open WebSocket that must close (1008) within 1 s and a
cookie that then gets 401 from /api/whoami and from the WebSocket upgrade:
RemoveUser; SetPassword; SetPluginEnabled(false) on the plugin that vouched
(while a login through the other plugin lives on); a reload (SIGHUP) whose
drop-in disables it; a reload after an operator deleted the user's line
from auth-local's users file (and another user's roles changed there);
TerminateSession (the user's logins end too, so the
next page load does not quietly start a new session); a login that expires
(written to the saved logins table, as a previous glassboxd would have
left it, expiring a few seconds after start: login_lifetime_s is at least
60); and SetPluginEnabled leaving a 0600 drop-in that holds a secret 0600,
with its owner and its bytes, by writing an override beside it."""

import hashlib
import importlib.util
import json
import os
import secrets
import signal
import stat
import tempfile
import time

import gbdaemon
from gbtest import check, finish

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("test_dbus", os.path.join(HERE, "test-dbus.py"))
fixture = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixture)

EXAMPLE_PASSWORD = "carol-example-password"
SECRET_OWNER = 4243  # any uid but root's: the drop-in must keep it
REVOKE_LIMIT_S = 1.0


def open_viewer(d, token, what):
    """A WebSocket on /api/session that got its session message, or None."""
    ws = d.websocket(cookie=token)
    first = ws.recv_json(timeout=20) if ws.status == 101 else None
    if not check(first is not None and first.get("type") == "session",
                 "%s: the WebSocket is up with a session (%r %r)" % (what, ws.status, first)):
        return None
    return ws


def closed_within(ws, limit):
    """(close code, seconds) of the server's close, waiting at most limit + 2 s."""
    start = time.monotonic()
    code = ws.wait_close(timeout=limit + 2.0)
    return code, time.monotonic() - start


def check_revoked(d, ws, token, what):
    """The WebSocket closes with 1008 within REVOKE_LIMIT_S; the cookie is dead."""
    if ws is not None:
        code, seconds = closed_within(ws, REVOKE_LIMIT_S)
        check(code == 1008 and seconds <= REVOKE_LIMIT_S,
              "%s: the WebSocket closed with 1008 within %.1f s (%r after %.2f s)"
              % (what, REVOKE_LIMIT_S, code, seconds))
        ws.close()
    status = d.request("GET", "/api/whoami", cookie=token)[0]
    check(status == 401, "%s: the old cookie gets 401 from /api/whoami (%r)" % (what, status))
    again = d.websocket(cookie=token)
    check(again.status == 401, "%s: the old cookie gets 401 from /api/session (%r)"
          % (what, again.status))
    again.close()


def login(d, user, password, what):
    status, token, _, _ = d.login(user, password)
    check(status == 200 and token, "%s: %s logs in (%r)" % (what, user, status))
    return token


def check_remove_user(ctl, d):
    what = "RemoveUser"
    status, _, err = ctl.run("user", "add", "alice", stdin="alice-password-1\n")
    check(status == 0, "user add alice (%r %s)" % (status, err))
    token = login(d, "alice", "alice-password-1", what)
    ws = open_viewer(d, token, what)
    status, _, err = ctl.run("user", "remove", "alice")
    check(status == 0, "user remove alice: 0 (%r %s)" % (status, err))
    check_revoked(d, ws, token, what)
    check(d.wait_log(r"ended 1 login of user 'alice' \(auth plugin local\): logged out: "
                     r"the user was removed", timeout=2) is not None,
          "%s: the log says whose login ended and why" % what)


def check_set_password(ctl, d):
    what = "SetPassword"
    status, _, err = ctl.run("user", "add", "bob", stdin="bob-password-1\n")
    check(status == 0, "user add bob (%r %s)" % (status, err))
    token = login(d, "bob", "bob-password-1", what)
    other = login(d, "demo", d.password(), what)
    ws = open_viewer(d, token, what)
    status, _, err = ctl.run("user", "passwd", "bob", stdin="bob-password-2\n")
    check(status == 0, "user passwd bob: 0 (%r %s)" % (status, err))
    check_revoked(d, ws, token, what)
    check(d.request("GET", "/api/whoami", cookie=other)[0] == 200,
          "%s: another user's login lives on" % what)
    check(login(d, "bob", "bob-password-2", what) is not None,
          "%s: bob logs in again with the new password" % what)


def check_plugin_disabled(ctl, d):
    what = "SetPluginEnabled(example, false)"
    token = login(d, "carol", EXAMPLE_PASSWORD, what)
    other = login(d, "demo", d.password(), what)
    ws = open_viewer(d, token, what)
    status, _, err = ctl.run("plugin", "disable", "example")
    check(status == 0, "plugin disable example: 0 (%r %s)" % (status, err))
    check_revoked(d, ws, token, what)
    check(d.request("GET", "/api/whoami", cookie=other)[0] == 200,
          "%s: a login through auth-local lives on" % what)
    status, _, err = ctl.run("plugin", "enable", "example")
    check(status == 0, "plugin enable example: 0 (%r %s)" % (status, err))


def check_reload_drops_plugin(ctl, d):
    what = "reload without auth-example"
    token = login(d, "carol", EXAMPLE_PASSWORD, what)
    ws = open_viewer(d, token, what)
    path = os.path.join(d.dropins, "60-auth-example.ini")
    with open(path) as f:
        before = f.read()
    # What an operator does by hand: edit the drop-in, systemctl reload.
    with open(path, "w") as f:
        f.write(before.replace("[plugin]\n", "[plugin]\nenabled = false\n", 1))
    text = reload_by_signal(d)
    check("auth plugins local;" in text, "%s: the reload took it out" % what)
    check_revoked(d, ws, token, what)
    with open(path, "w") as f:
        f.write(before)
    status, _, err = ctl.run("reload")
    check(status == 0, "reload with auth-example back: 0 (%r %s)" % (status, err))


def reload_by_signal(d):
    offset = len(d.log_text())
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "reloaded " not in d.log_text()[offset:]:
        time.sleep(0.02)
    return d.log_text()[offset:]


def check_users_file_edit(ctl, d):
    """An operator deletes a user's line from auth-local's file and reloads."""
    what = "users file edited, reload"
    status, _, err = ctl.run("user", "add", "erin", stdin="erin-password-1\n")
    check(status == 0, "user add erin (%r %s)" % (status, err))
    status, _, err = ctl.run("user", "add", "frank", stdin="frank-password-1\n")
    check(status == 0, "user add frank (%r %s)" % (status, err))
    token = login(d, "erin", "erin-password-1", what)
    promoted = login(d, "frank", "frank-password-1", what)
    other = login(d, "demo", d.password(), what)
    ws = open_viewer(d, token, what)
    with open(d.users) as f:
        lines = f.read().splitlines(keepends=True)
    edited = []
    for line in lines:
        if line.startswith("erin:"):
            continue
        if line.startswith("frank:"):
            name, hash_ = line.rstrip("\n").split(":")[:2]
            line = "%s:%s:user,admin\n" % (name, hash_)
        edited.append(line)
    with open(d.users, "w") as f:
        f.write("".join(edited))
    text = reload_by_signal(d)
    check("reloaded " in text, "%s: the reload went through (%s)" % (what, text[-300:]))
    check_revoked(d, ws, token, what)
    check(d.request("GET", "/api/whoami", cookie=promoted)[0] == 401,
          "%s: frank's login, made with other roles, ended" % what)
    check(d.request("GET", "/api/whoami", cookie=other)[0] == 200,
          "%s: demo's login lives on" % what)


def check_terminate(ctl, d):
    what = "TerminateSession"
    token = login(d, "dave", "dave-password-1", what)
    ws = open_viewer(d, token, what)
    listed = fixture.wait_for(lambda: [s for s in fixture.sessions(ctl) or []
                                       if s["user"] == "local:dave"], 20)
    if not check(bool(listed), "%s: dave's session is listed" % what):
        return
    status, _, err = ctl.run("session", "terminate", listed[0]["id"])
    check(status == 0, "session terminate: 0 (%r %s)" % (status, err))
    # The page's next load: whoami and the WebSocket, with the old cookie.
    check_revoked(d, ws, token, what)
    time.sleep(0.5)
    check(not fixture.wait_for(lambda: [s for s in fixture.sessions(ctl) or []
                                        if s["user"] == "local:dave" and s["state"] in ("starting", "running")],
                               0.5),
          "%s: no new session was started for dave" % what)


def check_secret_mode(ctl, d):
    what = "SetPluginEnabled on a 0600 drop-in"
    path = os.path.join(d.dropins, "60-auth-example.ini")
    os.chown(path, SECRET_OWNER, SECRET_OWNER)
    os.chmod(path, 0o600)
    with open(path, "rb") as f:
        before = f.read()
    for action in ("disable", "enable"):
        status, _, err = ctl.run("plugin", action, "example")
        st = os.stat(path)
        with open(path, "rb") as f:
            now = f.read()
        check(status == 0 and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == SECRET_OWNER
              and st.st_gid == SECRET_OWNER and now == before,
              "%s: plugin %s: 0, the drop-in stays 0600, owned by %d, unchanged (%r %o %d %s)"
              % (what, action, SECRET_OWNER, status, stat.S_IMODE(st.st_mode), st.st_uid,
                 err.strip()))
        override = path + ".d/50-glassboxctl.conf"
        if action == "disable":
            text = open(override).read() if os.path.exists(override) else ""
            check("enabled = false" in text and EXAMPLE_PASSWORD not in text,
                  "%s: plugin disable wrote the override %s, without the secret"
                  % (what, override))
        else:
            check(not os.path.exists(override),
                  "%s: plugin enable removed the override (the drop-in says enabled)" % what)
        status, plugins, _ = ctl.json("plugin", "list")
        check(any(p["name"] == "example" and p["enabled"] is (action == "enable")
                  for p in plugins or []),
              "%s: plugin list shows example %sd" % (what, action))
    check(login(d, "carol", EXAMPLE_PASSWORD, what) is not None,
          "%s: carol logs in again once it is enabled" % what)


def saved_login(key, user, plugin, expires_in_s):
    now_us = int(time.time() * 1e6)
    return {"key": key, "user": user, "roles": 1, "system_account": False, "plugin": plugin,
            "namespace": plugin, "created_us": now_us, "expires_us": now_us + int(expires_in_s * 1e6)}


def check_expiry(d):
    """A saved login that expires 8 s from now: its WebSocket closes then."""
    what = "expiry"
    check(d.stop() == 0, "glassboxd stops (for the expiry check)")
    token = secrets.token_urlsafe(32)
    key = hashlib.sha256(token.encode()).hexdigest()
    lifetime = 8.0
    expires_at = time.monotonic() + lifetime
    with open(os.path.join(d.runtime, "logins"), "w") as f:
        json.dump({"version": 2, "logins": [saved_login(key, "demo", "local", lifetime)]}, f)
    os.chmod(os.path.join(d.runtime, "logins"), 0o600)
    if not check(d.start(), "glassboxd starts again"):
        return
    check(d.wait_log(r"restored 1 login from") is not None, "%s: the saved login is back"
          % what)
    ws = open_viewer(d, token, what)
    if ws is None:
        return
    left = expires_at - time.monotonic()
    check(left > 1.0, "%s: the viewer is up %.1f s before the expiry" % (what, left))
    code = ws.wait_close(timeout=left + REVOKE_LIMIT_S + 2.0)
    late = time.monotonic() - expires_at
    check(code == 1008 and -0.2 <= late <= REVOKE_LIMIT_S,
          "%s: the WebSocket closed with 1008 within %.1f s of the expiry (%r, %+.2f s)"
          % (what, REVOKE_LIMIT_S, code, late))
    ws.close()
    check(d.request("GET", "/api/whoami", cookie=token)[0] == 401,
          "%s: the expired cookie gets 401" % what)


def check_plugin_gone_while_stopped(d):
    """A saved login whose plugin is no longer enabled is not restored."""
    what = "restart without the plugin"
    check(d.stop() == 0, "glassboxd stops (for the restore check)")
    token = secrets.token_urlsafe(32)
    key = hashlib.sha256(token.encode()).hexdigest()
    with open(os.path.join(d.runtime, "logins"), "w") as f:
        json.dump({"version": 2, "logins": [saved_login(key, "carol", "nosuchplugin", 3600)]},
                  f)
    if not check(d.start(), "glassboxd starts again"):
        return
    check(d.wait_log(r"login 1 of user 'nosuchplugin:carol' skipped: its auth plugin is not "
                     r"enabled now") is not None, "%s: the log says why the login is dropped"
          % what)
    check(d.request("GET", "/api/whoami", cookie=token)[0] == 401,
          "%s: its cookie gets 401" % what)


def main():
    fixture.enter_namespaces()
    tmp_holder = tempfile.TemporaryDirectory(prefix="gb-revoke-")
    tmp = tmp_holder.name
    os.chmod(tmp, 0o755)
    bus = fixture.Bus(tmp)
    ctl = fixture.Ctl(bus.address)
    d = None
    try:
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = bus.address
        example_dir = os.path.join(gbdaemon.BUILD, "plugins", "auth-example")
        gbdaemon.PLUGIN_PATH += ":" + example_dir
        # Sessions left without a viewer go soon: this test starts seven, and
        # other tests run beside it on few cores.
        d = gbdaemon.Daemon(server_extra="max_sessions = 8;", session_extra="idle_timeout_s = 5;")
        os.chmod(d.root, 0o755)
        with open(os.path.join(d.dropins, "60-auth-example.ini"), "w") as f:
            f.write("[plugin]\nkind = auth\nname = example\n\n[settings]\nuser = carol\n"
                    "password = %s\n" % EXAMPLE_PASSWORD)
        if check(d.start(), "glassboxd starts") and \
                check(d.wait_log(r"D-Bus: org\.glassbox\.Manager1 on unix:path=") is not None,
                      "glassboxd owns org.glassbox.Manager1 on the private bus"):
            status, _, err = ctl.run("user", "add", "dave", stdin="dave-password-1\n")
            check(status == 0, "user add dave (%r %s)" % (status, err))
            check_remove_user(ctl, d)
            check_set_password(ctl, d)
            check_plugin_disabled(ctl, d)
            check_reload_drops_plugin(ctl, d)
            check_users_file_edit(ctl, d)
            check_terminate(ctl, d)
            check_secret_mode(ctl, d)
            check_expiry(d)
            check_plugin_gone_while_stopped(d)
            check(d.stop() == 0, "glassboxd stops with 0")
        else:
            print(d.log_text())
    finally:
        if d is not None:
            d.close()
        bus.close()
        tmp_holder.cleanup()
    finish()


if __name__ == "__main__":
    main()
