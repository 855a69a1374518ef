#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Login limits and the audit trail, against a real glassboxd and session,
inside a private network namespace (loopback only) and mount namespace.

Limits: failures are counted per client address (10 per window), per user
name from one address (5) and per user name from all addresses (a ceiling,
100, lowered here to 8 through GB_TEST_LOGIN_FAILURES_PER_USER_TOTAL); the
window is shortened to a few seconds through GB_TEST_LOGIN_FAILURE_WINDOW_S.
Clients use several source addresses of 127.0.0.0/8, which glassboxd sees
as different clients. Checked: 429 with Retry-After (the seconds left) and a
message naming the user or the address; a correct password while throttled
is still 429; the user's ceiling holds across addresses while each address is
under its own; the address limit while each user is under theirs; the
redirect routes are throttled per address too; the throttling is logged once
per window; after the window, logins work again.

Floods and concurrency: 64 wrong passwords at once for one user get 5
checks (401) and 429s, not 64 checks (attempts in flight count); a flood of
wrong passwords for a user from one address does not lock that user out
from another address; a flood of redirect logins from one address (more than
the table holds) does not push out the redirect login another address began.

Audit: a temporary folder is mounted over /run/systemd/journal (in the
private mount namespace) and the test binds /run/systemd/journal/socket
itself, so sd_journal_send() in glassboxd talks to the test. The datagrams
are parsed as the journal's native protocol (KEY=VALUE lines and the
binary-safe KEY, little-endian 64-bit size, data form) and each event's
fields are checked: login-failure, login-throttled (once per window),
login-success, logout, session-start, session-stop, with MESSAGE_ID,
PRIORITY and SYSLOG_IDENTIFIER."""

import http.client
import json
import os
import re
import threading
import time

import gbdaemon
import gbjournal
import gbtest
from gbtest import check, finish

WINDOW_S = 8
USER_CEILING = 8
MESSAGE_IDS = {
    "login-success": "6ed9149468d14e7098d6674d18cd45f8",
    "login-failure": "da7f2424a3034e0c9ce7356b7a88d337",
    "login-throttled": "da0c600f149743138340a0a1b804bffd",
    "logout": "56692e79b46147399b43f28a6d5aa16f",
    "session-start": "3b52e342a0e941929ae89d72bdf6b8d3",
    "session-stop": "d0cc147dc339432e954e788f205f6019",
}


def request(d, method, path, body=None, source="127.0.0.1", cookie=None, headers=None):
    """One request from the given source address: (status, headers, body)."""
    conn = http.client.HTTPConnection(d.host, d.port, timeout=15, source_address=(source, 0))
    headers = dict(headers or {})
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body).encode()
    if cookie:
        headers["Cookie"] = (headers.get("Cookie", "") + "; " if "Cookie" in headers else "") \
            + "glassbox_session=" + cookie
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def login(d, user, password, source="127.0.0.1"):
    status, headers, body = request(d, "POST", "/api/login",
                                    {"username": user, "password": password}, source)
    token = None
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(r"glassbox_session=([^;]+)", value)
        if match:
            token = match.group(1)
    return status, headers, body, token


def logins_at_once(d, attempts):
    """[(user, password, source)] all at once (each answer takes 0.7 s): their statuses."""
    results = [None] * len(attempts)

    def attempt(i, user, password, source):
        results[i] = login(d, user, password, source)[0]

    threads = [threading.Thread(target=attempt, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def check_throttled(status, headers, body, pattern, what):
    retry = headers.get("Retry-After") or ""
    message = ""
    try:
        message = json.loads(body).get("error", "")
    except ValueError:
        pass
    match = re.search(r"try again in (\d+) s", message)
    check(status == 429 and retry.isdigit() and 1 <= int(retry) <= WINDOW_S
          and re.search(pattern, message) is not None
          and match is not None and match.group(1) == retry,
          "%s: 429, Retry-After %r (1..%d), and the message says so (%r)"
          % (what, retry, WINDOW_S, message))
    return int(retry) if retry.isdigit() else WINDOW_S


def wait_window(seconds):
    time.sleep(min(seconds, WINDOW_S) + 0.3)


def check_audit_fields(entry, event, priority):
    check(entry is not None and entry.get("MESSAGE_ID") == MESSAGE_IDS[event]
          and entry.get("PRIORITY") == str(priority)
          and entry.get("SYSLOG_IDENTIFIER") == "glassboxd" and entry.get("MESSAGE"),
          "%s: MESSAGE_ID, PRIORITY %d, SYSLOG_IDENTIFIER, MESSAGE (%r)"
          % (event, priority, entry and entry.get("MESSAGE")))


def cookies(headers):
    """{name: (value, {attribute: value})} of the Set-Cookie headers."""
    found = {}
    for header in headers.get_all("Set-Cookie") or []:
        parts = [p.strip() for p in header.split(";")]
        name, _, cookie_value = parts[0].partition("=")
        attributes = {}
        for part in parts[1:]:
            key, _, attribute = part.partition("=")
            attributes[key.lower()] = attribute
        found[name] = (cookie_value, attributes)
    return found


def check_redirect_logins(d, journal):
    """The host's side of redirect logins, with tests/plugins/auth-redirect.so
    (begin: https://idp.example/authorize?state=s1&redirect_uri=...; finish:
    code "good-code" with state "s1" is user oidc-user)."""
    source = "127.0.0.50"
    host = "127.0.0.1:%d" % d.port
    status, _, body = request(d, "GET", "/api/auth/methods", source=source)
    methods = json.loads(body).get("methods") if status == 200 else None
    check(methods == [{"plugin": "local", "method": "password", "label": "local"},
                      {"plugin": "redirect", "method": "redirect",
                       "label": "Sign in with Example"}],
          "GET /api/auth/methods: both plugins, in drop-in order, with labels (%r)" % methods)

    status, headers, _ = request(d, "GET", "/api/login/redirect?plugin=redirect",
                                 source=source)
    location = headers.get("Location") or ""
    check(status == 302 and location == "https://idp.example/authorize?state=s1&"
          "redirect_uri=http://%s/api/login/callback/redirect" % host,
          "redirect: 302 to the provider with the callback URI built from Host (%d %s)"
          % (status, location))
    binding = cookies(headers).get("glassbox_login")
    check(binding is not None and len(binding[0]) == 43
          and binding[1].get("path") == "/api/login/callback/"
          and binding[1].get("samesite") == "Lax" and "httponly" in binding[1]
          and binding[1].get("max-age") == "600",
          "redirect: a glassbox_login cookie binds the browser (%r)" % (binding,))
    bound = {"Cookie": "glassbox_login=" + (binding[0] if binding else "")}
    callback = "/api/login/callback/redirect?code=%s&state=%s"

    status, headers, _ = request(d, "GET", callback % ("good-code", "s1"), source=source)
    check(status == 302 and headers.get("Location") == "/?login_error=refused"
          and "glassbox_session" not in cookies(headers),
          "callback without the binding cookie: refused, 302 to /?login_error=refused")
    refused = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-failure"
                            and e.get("GLASSBOX_PLUGIN") == "redirect")
    check(refused and "no login was begun" in refused.get("GLASSBOX_REASON", "")
          and refused.get("GLASSBOX_REMOTE_ADDR") == source,
          "and audited with the reason (%r)" % (refused and refused.get("GLASSBOX_REASON")))
    status, headers, _ = request(d, "GET", callback % ("good-code", "s2"), source=source,
                                 headers=bound)
    check(status == 302 and headers.get("Location") == "/?login_error=refused",
          "callback with another state than the browser's: refused")

    t0 = time.monotonic()
    status, headers, _ = request(d, "GET", callback % ("bad-code", "s1"), source=source,
                                 headers=bound)
    took = time.monotonic() - t0
    check(status == 302 and headers.get("Location") == "/?login_error=refused"
          and took >= 0.6, "the plugin refuses the code: 302 refused, after the failure "
          "delay (%.2f s)" % took)
    check(journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-failure"
                        and e.get("GLASSBOX_REASON") == "the provider refused the code")
          is not None,
          "the plugin's why is audited")
    check(d.wait_log(r"redirect login through auth plugin redirect from 127\.0\.0\.50 "
                     r"refused: the provider refused the code", 5) is not None,
          "and logged")

    status, headers, _ = request(d, "GET", callback % ("good-code", "s1"), source=source,
                                 headers=bound)
    session = cookies(headers).get("glassbox_session")
    check(status == 302 and headers.get("Location") == "/" and session is not None
          and session[1].get("samesite") == "Strict",
          "callback with the right code: the login cookie and 302 to / (%d %r)"
          % (status, headers.get("Location")))
    check(cookies(headers).get("glassbox_login", ("x", {}))[1].get("max-age") == "0",
          "and the binding cookie is cleared")
    status, _, body = request(d, "GET", "/api/whoami", cookie=session[0] if session else None)
    check(status == 200 and json.loads(body) == {"user": "oidc-user", "roles": ["user"]},
          "whoami: the plugin's user (%r)" % body)
    success = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-success"
                            and e.get("GLASSBOX_USER") == "oidc-user")
    check(success and success.get("GLASSBOX_PLUGIN") == "redirect",
          "login-success audited with plugin redirect")

    for bad_host in ("evil host", "a" * 300, "x:99999", "-bad.example", "[zz::1]:80", ""):
        status, _, _ = request(d, "GET", "/api/login/redirect?plugin=redirect",
                               source=source, headers={"Host": bad_host})
        check(status == 400, "Host %r: 400 (got %d)" % (bad_host[:20], status))
    for good_host in ("box.example:8443", "[::1]:8080", "10.0.0.1"):
        status, headers, _ = request(d, "GET", "/api/login/redirect?plugin=redirect",
                                     source=source, headers={"Host": good_host})
        check(status == 302 and ("http://%s/api/login/callback/redirect" % good_host)
              in (headers.get("Location") or ""), "Host %r: accepted" % good_host)
    status, _, _ = request(d, "GET", callback % ("c" * 2049, "s1"), source=source,
                           headers=bound)
    check(status == 400, "a code over 2048 bytes: 400 (got %d)" % status)
    for path in ("/api/login/callback/local?code=x", "/api/login/callback/nope?code=x",
                 "/api/login/callback/?code=x", "/api/login/redirect"):
        status, _, _ = request(d, "GET", path, source=source, headers=bound)
        check(status == 404, "GET %s: 404 (got %d)" % (path, status))
    status, headers, _ = request(d, "POST", "/api/login/redirect?plugin=redirect",
                                 source=source)
    check(status == 405, "POST /api/login/redirect: 405 (got %d)" % status)


def check_floods(d, password):
    """Attempts in flight count; floods from one address stay that address's problem."""
    results = logins_at_once(d, [("flood", "wrong-%d" % i, "127.0.0.60") for i in range(64)])
    check(results.count(401) == 5 and results.count(429) == 59,
          "64 wrong passwords at once for one user: 5 x 401, then 429 (%d x 401, %d x 429, "
          "others %r)" % (results.count(401), results.count(429),
                          [r for r in results if r not in (401, 429)]))

    results = logins_at_once(d, [("demo", "wrong-%d" % i, "127.0.0.61") for i in range(20)])
    check(results.count(401) == 5 and results.count(429) == 15,
          "20 wrong passwords for demo from one address: 5 x 401, then 429 (%r)" % results)
    status, headers, body, _ = login(d, "demo", password, "127.0.0.61")
    check_throttled(status, headers, body, r"for user 'demo' from this address",
                    "demo's right password from the flooding address")
    status, _, _, token = login(d, "demo", password, "127.0.0.62")
    check(status == 200 and token, "demo's right password from another address: 200 (got %d)"
          % status)
    status, headers, body, _ = login(d, "demo", password, "127.0.0.61")
    check(status == 429, "the flooding address stays throttled for demo (got %d)" % status)
    check(re.search(r"logins for user 'demo' from 127\.0\.0\.61 refused", d.log_text())
          is not None, "the throttling names the user and the address in the log")

    # A redirect login begun at one address, then more redirects from another
    # address than the table of redirects under way holds.
    status, headers, _ = request(d, "GET", "/api/login/redirect?plugin=redirect",
                                 source="127.0.0.63")
    binding = cookies(headers).get("glassbox_login")
    check(status == 302 and binding is not None, "a redirect login begun from 127.0.0.63")
    flood = [0, 0]

    def redirects(count):
        for _ in range(count):
            status, _, _ = request(d, "GET", "/api/login/redirect?plugin=redirect",
                                   source="127.0.0.64")
            flood[0 if status == 302 else 1] += 1

    threads = [threading.Thread(target=redirects, args=(275,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    check(flood == [1100, 0], "1100 redirect logins begun from 127.0.0.64 (%r)" % flood)
    status, headers, _ = request(
        d, "GET", "/api/login/callback/redirect?code=good-code&state=s1", source="127.0.0.63",
        headers={"Cookie": "glassbox_login=" + (binding[0] if binding else "")})
    check(status == 302 and headers.get("Location") == "/"
          and "glassbox_session" in cookies(headers),
          "the redirect login from 127.0.0.63 completes after the flood (%d %r)"
          % (status, headers.get("Location")))


def run(d, journal):
    password = d.password()
    check_floods(d, password)
    check_redirect_logins(d, journal)
    journal.clear()

    # --- per user, across addresses --------------------------------------------------
    # Eight failures for demo, each from its own address: no address is near
    # its limits, the user is at her ceiling.
    results = logins_at_once(d, [("demo", "wrong-%d" % i, "127.0.0.%d" % (10 + i))
                                 for i in range(USER_CEILING)])
    check(results == [401] * USER_CEILING,
          "%d wrong passwords for demo from %d addresses: 401 (%r)"
          % (USER_CEILING, USER_CEILING, results))
    status, headers, body, token = login(d, "demo", password, "127.0.0.20")
    left = check_throttled(status, headers, body, r"for user 'demo'",
                           "demo's right password from a 6th address while throttled")
    check(token is None, "and no cookie")
    status, headers, body, _ = login(d, "DEMO", "wrong", "127.0.0.21")
    check_throttled(status, headers, body, r"for user 'DEMO'",
                    "the same name in other case")
    status, _, _, _ = login(d, "alice", "wrong", "127.0.0.20")
    check(status == 401, "another user from that address: still 401 (got %d)" % status)
    check(len(re.findall(r"logins for user 'demo' refused", d.log_text())) == 1,
          "the user's throttling is logged once in the window")
    throttled = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-throttled"
                              and e.get("GLASSBOX_USER") == "demo")
    check_audit_fields(throttled, "login-throttled", 4)
    check(throttled and throttled.get("GLASSBOX_REMOTE_ADDR") == "127.0.0.20"
          and "user name" in throttled.get("GLASSBOX_REASON", ""),
          "login-throttled: user, address and reason (%r)" % throttled)
    check(len([e for e in journal.events("login-throttled")
               if e.get("GLASSBOX_USER", "").lower() == "demo"]) == 1,
          "login-throttled is audited once per window, not per refusal")
    failure = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-failure"
                            and e.get("GLASSBOX_USER") == "demo")
    check_audit_fields(failure, "login-failure", 4)
    check(failure and failure.get("GLASSBOX_REMOTE_ADDR", "").startswith("127.0.0.1")
          and failure.get("GLASSBOX_REASON") == "wrong user name or password"
          and "GLASSBOX_PLUGIN" in failure,
          "login-failure: user, address, reason (%r)" % failure)
    check(len(journal.events("login-failure")) == USER_CEILING + 1,
          "each failure is audited (%d)" % len(journal.events("login-failure")))

    wait_window(left)
    status, _, _, token = login(d, "demo", password, "127.0.0.20")
    check(status == 200 and token, "after the window: demo logs in (got %d)" % status)
    success = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-success"
                            and e.get("GLASSBOX_USER") == "demo")
    check_audit_fields(success, "login-success", 6)
    check(success and success.get("GLASSBOX_PLUGIN") == "local"
          and success.get("GLASSBOX_REMOTE_ADDR") == "127.0.0.20",
          "login-success: plugin local, address (%r)" % success)
    started = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "session-start"
                            and e.get("GLASSBOX_USER") == "demo")
    check_audit_fields(started, "session-start", 6)
    check(started and re.fullmatch(r"[0-9a-f]{16}", started.get("GLASSBOX_SESSION", "")),
          "session-start: the session id (%r)" % started)

    # --- per address, across users --------------------------------------------------
    # Ten failures from one address, two per user name: every name under its
    # limit, the address at its own.
    results = logins_at_once(d, [("user%d" % (i // 2), "wrong", "127.0.0.30")
                                 for i in range(10)])
    check(results == [401] * 10, "10 failures from one address, 5 names: 401 (%r)" % results)
    status, headers, body, _ = login(d, "demo", password, "127.0.0.30")
    left = check_throttled(status, headers, body, r"from this address",
                           "the right password from that address")
    status, headers, body = request(d, "GET", "/api/login/redirect?plugin=local",
                                    source="127.0.0.30")
    check_throttled(status, headers, body, r"from this address",
                    "GET /api/login/redirect from that address")
    status, headers, body = request(d, "GET", "/api/login/callback/local?code=x&state=y",
                                    source="127.0.0.30")
    check_throttled(status, headers, body, r"from this address",
                    "GET /api/login/callback from that address")
    status, _, _, token2 = login(d, "demo", password, "127.0.0.31")
    check(status == 200 and token2, "the next address is not throttled (got %d)" % status)
    check(len(re.findall(r"logins from 127\.0\.0\.30 refused", d.log_text())) == 1,
          "the address's throttling is logged once in the window")
    status, _, _ = request(d, "GET", "/api/login/redirect?plugin=local", source="127.0.0.31")
    check(status == 404, "a password plugin has no redirect login: 404 (got %d)" % status)
    status, _, _ = request(d, "GET", "/api/login/redirect?plugin=nope", source="127.0.0.31")
    check(status == 404, "an unknown plugin: 404 (got %d)" % status)
    wait_window(left)
    status, _, _, _ = login(d, "demo", password, "127.0.0.30")
    check(status == 200, "after the window the address may log in again (got %d)" % status)

    # --- the binary-safe field form ---------------------------------------------------
    status, _, _, _ = login(d, "evil\nMESSAGE=forged", "x", "127.0.0.40")
    check(status == 401, "a user name with a newline: 401")
    forged = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "login-failure"
                           and e.get("GLASSBOX_REMOTE_ADDR") == "127.0.0.40")
    check(forged and forged.get("GLASSBOX_USER") == "evil\nMESSAGE=forged"
          and "\n" not in forged.get("MESSAGE", "\n"),
          "a newline in a user name arrives in the binary-safe form, whole (%r)" % forged)

    # --- logout, session end -----------------------------------------------------------
    status, _, _ = request(d, "POST", "/api/logout", source="127.0.0.20", cookie=token)
    check(status == 204, "logout: 204")
    logout = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "logout"
                           and e.get("GLASSBOX_USER") == "demo")
    check_audit_fields(logout, "logout", 6)
    check(logout and logout.get("GLASSBOX_REMOTE_ADDR") == "127.0.0.20",
          "logout: user and address (%r)" % logout)
    stopped = journal.first(lambda e: e.get("GLASSBOX_EVENT") == "session-stop"
                            and e.get("GLASSBOX_SESSION") == started.get("GLASSBOX_SESSION"),
                            timeout=15)
    check_audit_fields(stopped, "session-stop", 6)
    check(stopped and stopped.get("GLASSBOX_USER") == "demo"
          and "no viewer" in stopped.get("GLASSBOX_REASON", ""),
          "session-stop after the idle time-out: user and reason (%r)" % stopped)
    check(journal.errors == [], "every datagram parses (%r)" % journal.errors[:3])


gbdaemon.enter_network_namespace(mount=True)
gbjournal.private_journal_folder()
journal = gbjournal.Journal()
os.environ["GB_TEST_LOGIN_FAILURE_WINDOW_S"] = str(WINDOW_S)
os.environ["GB_TEST_LOGIN_FAILURES_PER_USER_TOTAL"] = str(USER_CEILING)
# tests/plugins/auth-redirect.so: a redirect plugin without a provider behind it.
gbdaemon.PLUGIN_PATH += ":" + os.path.join(gbdaemon.BUILD, "tests", "plugins")
d = gbdaemon.Daemon(session_extra="idle_timeout_s = 2; stop_grace_ms = 2000;")
with open(os.path.join(d.dropins, "55-auth-redirect.ini"), "w") as f:
    f.write("[plugin]\nkind = auth\nname = redirect\n")
try:
    if check(d.start(), "glassboxd starts (%s)" % d.log_text()[-300:]):
        check(d.wait_log(r"GB_TEST_LOGIN_FAILURE_WINDOW_S=%d: limit changed for "
                         r"testing" % WINDOW_S, 5) is not None,
              "the test window is announced in the log")
        run(d, journal)
finally:
    status = d.stop()
    check(status == 0, "glassboxd exits 0 (%r)" % status)
    journal.close()
    if gbtest.failures:
        print("--- glassboxd log (tail) ---")
        print("\n".join(d.log_text(whole=True).splitlines()[-40:]))
    d.close()
finish()
