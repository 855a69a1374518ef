#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""auth-oidc in glassboxd against a real OpenID provider (oidc-provider from
npm, tests/e2e/oidc-provider.mjs, run by node) on 127.0.0.1, inside a network
namespace with only loopback, driven over HTTP without a browser (the
browser flow is tests/e2e/test-oidc.mjs). The provider speaks https with a
certificate from a CA made here by openssl: without ca_file glassboxd does
not trust it, with ca_file it does. Then: what the authorization URL holds,
a login as an admin and as a user, a user in no allowed group refused, a
replayed callback refused without a second code exchange, tokens rewritten
by the provider's proxy (wrong audience, expired, bad signature, unknown
kid) refused with their reasons and no cookie, and a provider that went away
answered with 502 and a reason in the log. Runs in the sanitizer pass too."""

import os
import queue
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import http.client
from urllib.parse import parse_qs, urljoin, urlsplit, urlencode

import gbdaemon
from gbtest import check, finish

gbdaemon.enter_network_namespace()

NODE = shutil.which("node")
PROVIDER = os.path.join(gbdaemon.SOURCE, "tests", "e2e", "oidc-provider.mjs")
NODE_MODULES = os.path.join(gbdaemon.SOURCE, "tests", "e2e", "node_modules", "oidc-provider")
if not NODE or not os.path.isdir(NODE_MODULES):
    print("SKIP: node and tests/e2e/node_modules/oidc-provider are needed "
          "(npm ci --prefix tests/e2e)")
    sys.exit(77)

CLIENT_SECRET = "integration-secret-9876543210"
PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}
REFUSED = re.compile(r"redirect login through auth plugin oidc from \S+ refused: (.*)")


def make_certificates(folder):
    """A CA and a certificate for 127.0.0.1 it signed: (ca, cert, key) paths,
    or None without openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    ca_key, ca, key, csr, cert = (os.path.join(folder, n) for n in
                                  ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    extensions = os.path.join(folder, "server.ext")
    with open(extensions, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\n"
                "keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n")
    for command in (
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
             "-days", "2", "-subj", "/CN=Glassbox test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-out", cert, "-days", "2", "-extfile", extensions]):
        subprocess.run([openssl] + command, check=True, capture_output=True, timeout=60)
    return ca, cert, key


class Provider:
    """tests/e2e/oidc-provider.mjs as a child: its stdout lines in a queue,
    commands on its stdin."""

    def __init__(self, redirect_uri, tls=None):
        tls_args = ["--tls-cert", tls[1], "--tls-key", tls[2]] if tls else []
        self.proc = subprocess.Popen(
            [NODE, PROVIDER, "--redirect-uri", redirect_uri, "--client-secret", CLIENT_SECRET]
            + tls_args,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=os.path.dirname(PROVIDER))
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.issuer = None
        line = self.wait(r"issuer = (\S+)", 30)
        if line:
            self.issuer = line.split(" = ", 1)[1]
        self.wait(r"ready", 10)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait(self, pattern, timeout=10):
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line.startswith("log "):
                print("  provider: " + line[4:], flush=True)
            if regex.fullmatch(line):
                return line
        return None

    def command(self, text, answer):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.wait(answer)

    def mode(self, name):
        return self.command("mode " + name, re.escape("ok mode " + name)) is not None

    def counts(self):
        import json
        line = self.command("counts", r"counts .*")
        return json.loads(line[len("counts "):]) if line else {}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Browser:
    """Just enough of a browser for the flow: one cookie jar for 127.0.0.1
    (cookies are not per port), redirects followed by hand."""

    ca_file = None  # trusted for https

    def __init__(self):
        self.cookies = {}  # name -> (value, path)

    def cookie(self, name):
        return self.cookies.get(name, (None,))[0]

    def request(self, url, method="GET", form=None, extra_cookies=None):
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        headers = {}
        jar = [(n, v) for n, (v, p) in self.cookies.items() if parts.path.startswith(p)]
        jar += list((extra_cookies or {}).items())
        if jar:
            headers["Cookie"] = "; ".join("%s=%s" % item for item in jar)
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=Browser.ca_file)
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=15,
                                               context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            self._store(value, parts.path)
        return response.status, response.headers, data

    def _store(self, header, request_path):
        pieces = [p.strip() for p in header.split(";")]
        name, _, value = pieces[0].partition("=")
        path = request_path.rsplit("/", 1)[0] or "/"
        expired = False
        for attribute in pieces[1:]:
            key, _, val = attribute.partition("=")
            key = key.lower()
            if key == "path" and val:
                path = val
            elif key == "max-age" and val.lstrip("-").isdigit() and int(val) <= 0:
                expired = True
            elif key == "expires" and "1970" in val:
                expired = True
        if expired or not value:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = (value, path)


def begin(daemon, browser):
    """GET /api/login/redirect?plugin=oidc: (status, the provider's URL)."""
    status, headers, _ = browser.request(daemon.origin() + "/api/login/redirect?plugin=oidc")
    return status, headers.get("Location")


def through_provider(daemon, browser, url, user):
    """Follow the provider's redirects and fill its form; the callback URL."""
    for _ in range(20):
        if url.startswith(daemon.origin()):
            return url
        status, headers, body = browser.request(url)
        if status in (302, 303):
            url = urljoin(url, headers["Location"])
            continue
        match = re.search(rb'<form id="provider-login" method="post" action="([^"]+)"', body)
        if status != 200 or not match:
            print("  provider answered %d: %s" % (status, body[:200]), flush=True)
            return None
        action = urljoin(url, match.group(1).decode())
        status, headers, body = browser.request(
            action, "POST", {"login": user, "password": PASSWORDS[user]})
        if status not in (302, 303):
            print("  provider's form answered %d: %s" % (status, body[:200]), flush=True)
            return None
        url = urljoin(action, headers["Location"])
    return None


def login(daemon, user):
    """The whole flow: (callback status, Location, session cookie, callback
    URL, the browser's glassbox_login cookie before the callback)."""
    browser = Browser()
    status, url = begin(daemon, browser)
    if status != 302 or not url:
        return status, None, None, None, None
    callback = through_provider(daemon, browser, url, user)
    if not callback:
        return None, None, None, None, None
    binding = browser.cookie("glassbox_login")
    status, headers, _ = browser.request(callback)
    return status, headers.get("Location"), browser.cookie("glassbox_session"), callback, binding


def whoami(daemon, cookie):
    import json
    status, _, body = daemon.request("GET", "/api/whoami", cookie=cookie)
    return json.loads(body) if status == 200 else None


def refused(daemon, name, result, reason):
    status, location, cookie = result[:3]
    check(status == 302 and location == "/?login_error=refused",
          "%s: 302 to /?login_error=refused (%s %s)" % (name, status, location))
    check(cookie is None, "%s: no glassbox_session cookie" % name)
    match = daemon.wait_log(reason, 10)
    check(match is not None, "%s: glassboxd logs the reason /%s/" % (name, reason))


def start_daemon(port, issuer, ca_file, group_rule="user_groups = staff\n"):
    daemon = gbdaemon.Daemon(listen="127.0.0.1:%d" % port)
    secret = os.path.join(daemon.root, "oidc-secret")
    with open(secret, "w") as f:
        f.write(CLIENT_SECRET + "\n")
    os.chmod(secret, 0o600)
    with open(os.path.join(daemon.dropins, "60-auth-oidc.ini"), "w") as f:
        f.write("[plugin]\nkind = auth\nname = oidc\n\n[settings]\n"
                "issuer = %s\nclient_id = glassbox\nclient_secret_file = %s\n"
                "scopes = openid profile groups\nadmin_groups = glassbox-admins\n"
                "%susername_prefix = sso-\ntimeout_s = 5\n"
                % (issuer, secret, group_rule))
        if ca_file:
            f.write("ca_file = %s\n" % ca_file)
    if not group_rule:
        return daemon
    check(daemon.start(), "glassboxd starts with the oidc drop-in%s" %
          (" and ca_file" if ca_file else ""))
    return daemon


def check_no_group_rule(port, issuer, ca_file):
    """Without user_groups every account of the issuer could log in: glassboxd
    refuses to start and says which key to set."""
    daemon = start_daemon(port, issuer, ca_file, group_rule="")
    try:
        daemon.start(wait=False)
        status = daemon.wait_exit(20)
        check(status not in (0, None), "no group rule: glassboxd refuses to start (%s)" % status)
        check(re.search(r"oidc: settings\.user_groups is empty, so every account the provider "
                        r"vouches for could log in; set user_groups .* or set "
                        r"allow_any_account = true", daemon.log_text()) is not None,
              "no group rule: the error names user_groups and allow_any_account")
    finally:
        daemon.close()


def stop_daemon(daemon):
    status = daemon.stop()
    check(status == 0, "glassboxd exits cleanly (%s)" % status)
    if status != 0:
        print(daemon.log_text(whole=True)[-4000:])
    daemon.close()


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    certificates = tempfile.TemporaryDirectory(prefix="gb-oidc-tls-")
    tls = make_certificates(certificates.name)
    if not tls:
        print("note: no openssl; the provider speaks plain http on loopback", flush=True)
    Browser.ca_file = tls[0] if tls else None
    provider = Provider("http://127.0.0.1:%d/api/login/callback/oidc" % port, tls)
    check(provider.issuer is not None and
          provider.issuer.startswith("https://" if tls else "http://"),
          "the provider runs (issuer %s)" % provider.issuer)
    if not provider.issuer:
        provider.stop()
        return
    os.environ["GB_TEST_LOGIN_FAILURES_PER_ADDRESS"] = "100"
    check_no_group_rule(port, provider.issuer, tls[0] if tls else None)

    if tls:
        # The system's CAs do not know the test CA: no login can begin.
        daemon = start_daemon(port, provider.issuer, None)
        try:
            status, _ = begin(daemon, Browser())
            check(status == 502, "without ca_file: begin answers 502 (%s)" % status)
            check(daemon.wait_log(r"oidc: cannot begin a login: .*openid-configuration: .*"
                                  r"(certificate|Unacceptable TLS)", 10) is not None,
                  "without ca_file: the plugin logs that the certificate is not trusted")
            check(provider.counts().get("discovery") == 0,
                  "without ca_file: no request got past the TLS handshake")
        finally:
            stop_daemon(daemon)

    daemon = start_daemon(port, provider.issuer, tls[0] if tls else None)
    try:
        run(daemon, provider)
    finally:
        stop_daemon(daemon)
        provider.stop()
        certificates.cleanup()


def run(daemon, provider):
    check(daemon.wait_log(r"oidc: issuer https?://127\.0\.0\.1:\d+, client 'glassbox' \(with a "
                          r"secret\)", 5) is not None, "the plugin logs its settings")

    # The authorization URL, as the provider gets it.
    browser = Browser()
    status, url = begin(daemon, browser)
    check(status == 302 and url and url.startswith(provider.issuer + "/auth?"),
          "begin: 302 to the provider's authorization endpoint (%s)" % url)
    query = parse_qs(urlsplit(url or "").query)
    one = {k: v[0] for k, v in query.items() if len(v) == 1}
    check(one.get("response_type") == "code" and one.get("client_id") == "glassbox" and
          one.get("redirect_uri") == daemon.origin() + "/api/login/callback/oidc" and
          one.get("scope") == "openid profile groups" and
          one.get("code_challenge_method") == "S256",
          "begin: response_type, client_id, redirect_uri, scope, S256 (%s)" % one)
    check(all(re.fullmatch(r"[A-Za-z0-9_-]{43}", one.get(k, "")) for k in
              ("state", "nonce", "code_challenge")),
          "begin: state, nonce and code_challenge are 43 base64url characters")
    check(browser.cookie("glassbox_login") is not None, "begin: the browser is bound by a cookie")
    _, again = begin(daemon, Browser())
    check(again and parse_qs(urlsplit(again).query).get("state") != query.get("state"),
          "begin: every login gets a new state")

    # Alice, an admin; her callback replayed.
    status, location, cookie, callback, binding = login(daemon, "alice")
    check(status == 302 and location == "/" and cookie,
          "alice: 302 to / with a session cookie (%s %s)" % (status, location))
    who = whoami(daemon, cookie) if cookie else None
    check(who == {"user": "sso-alice", "roles": ["admin", "user"]}, "alice: whoami %s" % who)
    counts = provider.counts()
    check(counts.get("discovery") == 1 and counts.get("jwks") == 1 and counts.get("token") == 1,
          "one discovery, one JWKS, one token request so far (%s)" % counts)

    replay = Browser()
    status, headers, _ = replay.request(callback, extra_cookies={"glassbox_login": binding})
    check(status == 302 and headers.get("Location") == "/?login_error=refused" and
          replay.cookie("glassbox_session") is None,
          "replay: 302 to /?login_error=refused, no cookie (%s %s)" % (status, headers.get("Location")))
    check(daemon.wait_log(r"refused: unknown state: not begun here, already used \(a replay\)", 10)
          is not None, "replay: the plugin refuses the spent state")
    check(provider.counts().get("token") == 1, "replay: the code was not exchanged again")

    # A callback whose state this browser did not begin: glassboxd's own binding check.
    status, headers, _ = Browser().request(callback)
    check(status == 302 and headers.get("Location") == "/?login_error=refused",
          "a callback without the browser's login cookie is refused (%s)" % status)

    # Bob, a user; Carol, in no allowed group.
    status, location, cookie, _, _ = login(daemon, "bob")
    who = whoami(daemon, cookie) if cookie else None
    check(status == 302 and who == {"user": "sso-bob", "roles": ["user"]}, "bob: whoami %s" % who)
    refused(daemon, "carol", login(daemon, "carol"),
            r"refused: user 'sso-carol' is in none of admin_groups and user_groups")

    # Tokens rewritten by the provider's proxy.
    for mode, reason in (
            ("unknown-kid", r"refused: the id_token's kid 'not-published' is not among the "
                            r"provider's keys \(keys fetched \d+ s ago; not again before 60 s\)"),
            ("wrong-aud", r"refused: the id_token's aud 'someone-else' is not our client_id "
                          r"'glassbox'"),
            ("expired", r"refused: the id_token expired \d+ s ago"),
            ("bad-signature", r"refused: the id_token's signature does not verify \(alg RS256, "
                              r"kid 'provider-1'\)")):
        before = provider.counts()
        check(provider.mode(mode), "the proxy rewrites id_tokens: %s" % mode)
        refused(daemon, mode, login(daemon, "alice"), reason)
        after = provider.counts()
        check(after.get("tampered") == before.get("tampered", 0) + 1,
              "%s: exactly one id_token was rewritten" % mode)
        check(after.get("jwks") == before.get("jwks"), "%s: the keys were not fetched again" % mode)
    provider.mode("pass")

    # The provider goes away: a begun login cannot be finished (502), and
    # the next one cannot begin (502), each with the reason in the log.
    browser = Browser()
    status, url = begin(daemon, browser)
    check(status == 302, "begin with the provider still up: 302 (%s)" % status)
    provider.stop()
    state = parse_qs(urlsplit(url or "").query).get("state", [""])[0]
    status, _, _ = browser.request(daemon.origin() + "/api/login/callback/oidc?" +
                                   urlencode({"code": "whatever", "state": state}))
    check(status == 502, "finish with the provider gone: 502 (%s)" % status)
    check(daemon.wait_log(r"redirect login through auth plugin oidc from \S+ failed: .*POST "
                          r"https?://127\.0\.0\.1:\d+/token: ", 10) is not None,
          "finish with the provider gone: glassboxd logs the token endpoint's failure")
    status, _ = begin(daemon, Browser())
    check(status == 502, "begin with the provider gone: 502 (%s)" % status)
    check(daemon.wait_log(r"oidc: cannot begin a login: .*openid-configuration", 10) is not None,
          "begin with the provider gone: the plugin logs the discovery failure")


main()
finish()
