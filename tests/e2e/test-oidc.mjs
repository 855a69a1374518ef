// SPDX-License-Identifier: MIT
// End to end: logins through a real OpenID provider (oidc-provider from npm,
// tests/e2e/oidc-provider.mjs) with the auth-oidc plugin, in Chromium.
//
// - The login page offers the provider's button next to the password form;
//   a user logs in at the provider's form and comes back logged in, with the
//   admin role from the groups mapping, and the session's picture shows.
// - A user only in user_groups gets the user role; one in neither is refused.
// - Through the tampering proxy in front of the provider: a wrong audience,
//   an expired token, a bad signature and an unknown kid are each refused
//   (302 to /?login_error=refused, no cookie, the reason in glassboxd's log);
//   the unknown kid does not make the plugin fetch the keys again within the
//   pause between fetches.
// - A replayed callback (same code, same state, same browser cookie) is
//   refused without another call to the token endpoint.
// - A key rotation (a new kid, published in the JWKS) is accepted after the
//   plugin fetches the keys once more.
//
// Usage (inside tests/e2e/run-in-netns): node test-oidc.mjs

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
	Daemon, SKIP, SOURCE_ROOT, check, failed, finish, hexColour, launchChromium, log, poll,
	requirePrerequisites, setIniSetting, sleep, waitColour,
} from './lib/harness.mjs';

requirePrerequisites();
if (!fs.existsSync(path.join(SOURCE_ROOT, 'tests', 'e2e', 'node_modules', 'oidc-provider'))) {
	log('SKIP: missing tests/e2e/node_modules/oidc-provider (run: npm ci --prefix tests/e2e)');
	process.exit(SKIP);
}
const { ACCOUNTS, CLIENT_ID, startProvider } = await import('./oidc-provider.mjs');

// Keys are fetched again for an unknown kid at most this often (60 s in
// production; shorter here so the rotation case does not wait a minute).
const KEYS_REFETCH_S = 20;
const CLIENT_SECRET = 'e2e-client-secret-0123456789';
const CALLBACK = /\/api\/login\/callback\/oidc(\?|$)/;
const REFUSED_LINE = /.*redirect login through auth plugin oidc from \S+ refused: (.*)/;

// glassboxd inherits these: the rotation pause, room for the refusals this
// test makes on purpose, and no proxy between it and 127.0.0.1.
process.env.GB_TEST_OIDC_KEYS_REFETCH_S = String(KEYS_REFETCH_S);
process.env.GB_TEST_LOGIN_FAILURES_PER_ADDRESS = '100';
for (const name of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'])
	delete process.env[name];

const secrets = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-oidc-secret-'));
const secretFile = path.join(secrets, 'client-secret');
fs.writeFileSync(secretFile, `${CLIENT_SECRET}\n`, { mode: 0o600 });

const idp = await startProvider({ log: (m) => log(`  ${m}`) });
const jwksCount = () => idp.counts.jwks;

// The shipped drop-in, switched on and pointed at the provider.
let dropin = fs.readFileSync(path.join(SOURCE_ROOT, 'config', 'plugins.d', '60-auth-oidc.ini'), 'utf8');
check(/^enabled = false$/m.test(dropin), 'the shipped drop-in is disabled by default');
dropin = dropin.replace(/^enabled = false$/m, 'enabled = true');
for (const [key, value] of Object.entries({
	issuer: idp.issuer,
	client_id: CLIENT_ID,
	client_secret_file: secretFile,
	scopes: 'openid profile groups',
	admin_groups: 'glassbox-admins',
	user_groups: 'staff',
	label: 'Sign in with Test IdP',
}))
	dropin = setIniSetting(dropin, key, value);

const daemon = new Daemon({ name: 'e2e-oidc', dropins: { '60-auth-oidc.ini': dropin } });
let browser = null;
let keep = false;

/**
 * One login through the page and the provider in a fresh browser context.
 * Returns the callback's answer (status, Location), the context and page,
 * and, with capture, the callback URL and the browser's glassbox_login cookie.
 */
async function providerLogin(user, { capture = false, blockSession = false } = {}) {
	const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
	const page = await context.newPage();
	page.on('pageerror', (e) => log(`  page error: ${e.message}`));
	// No session for this one: the page's signalling WebSocket is closed at once.
	if (blockSession)
		await context.routeWebSocket(/\/api\/session$/, (ws) => ws.close());
	await page.goto(`${daemon.origin}/`, { timeout: 20000 });
	const button = page.locator('#redirect-logins a[data-plugin="oidc"]');
	await button.waitFor({ state: 'visible', timeout: 20000 });
	const label = (await button.textContent())?.trim();
	const callback = page.waitForResponse((r) => CALLBACK.test(new URL(r.url()).pathname), { timeout: 30000 });
	await button.click();
	await page.waitForSelector('#provider-login', { timeout: 20000 });
	// The cookie that binds this browser to the login, while it is at the provider.
	const binding = capture
		? (await context.cookies(`${daemon.origin}/api/login/callback/oidc`)).find((c) => c.name === 'glassbox_login')?.value
		: null;
	await page.fill('#provider-user', user);
	await page.fill('#provider-password', ACCOUNTS[user].password);
	await page.click('#provider-submit');
	const response = await callback;
	const answer = { status: response.status(), location: (await response.allHeaders()).location };
	const captured = capture ? { url: response.url(), binding } : null;
	return { context, page, answer, label, captured };
}

async function sessionCookie(context) {
	return (await context.cookies(daemon.origin)).find((c) => c.name === 'glassbox_session');
}

async function whoami(context) {
	const response = await context.request.get(`${daemon.origin}/api/whoami`);
	return { status: response.status(), body: response.ok() ? await response.json() : null };
}

/** A login that must be refused: the answer, no cookie, the page's words, the log's reason. */
async function expectRefused(name, user, reason) {
	daemon.mark();
	const { context, page, answer } = await providerLogin(user);
	check(answer.status === 302 && answer.location === '/?login_error=refused',
		`${name}: the callback answers 302 to /?login_error=refused (${answer.status} ${answer.location})`);
	check(!(await sessionCookie(context)), `${name}: no glassbox_session cookie`);
	const shown = await poll(async () => (await page.textContent('#login-error'))?.trim(), { timeoutMs: 10000 });
	check(shown === 'Login refused.', `${name}: the page says "${shown}"`);
	const line = await daemon.waitLine(REFUSED_LINE, 10000);
	const logged = line?.match(REFUSED_LINE)?.[1];
	check(Boolean(logged && reason.test(logged)), `${name}: glassboxd logs the reason "${logged}"`);
	await context.close();
}

/** A login whose id_token the proxy rewrites (mode): refused with reason. */
async function tamperedLogin(mode, reason) {
	const tampered = idp.counts.tampered;
	idp.setMode(mode);
	await expectRefused(mode, 'alice', reason);
	check(idp.counts.tampered === tampered + 1, `${mode}: the proxy rewrote exactly one id_token`);
	idp.setMode('pass');
}

async function run() {
	await daemon.start();
	await idp.configure({ redirectUri: `${daemon.origin}/api/login/callback/oidc`, clientSecret: CLIENT_SECRET });
	browser = await launchChromium();

	// What the login page is offered.
	const methods = await (await fetch(`${daemon.origin}/api/auth/methods`)).json();
	check(methods.methods?.some((m) => m.plugin === 'local' && m.method === 'password') &&
		methods.methods?.some((m) => m.plugin === 'oidc' && m.method === 'redirect' &&
			m.label === 'Sign in with Test IdP'),
	`/api/auth/methods offers the password form and the provider (${JSON.stringify(methods.methods)})`);
	check(idp.counts.discovery === 0, 'the plugin did not ask the provider before the first login');

	// 1. Alice, in glassbox-admins: logged in as an admin, and the session shows.
	daemon.mark();
	const alice = await providerLogin('alice', { capture: true });
	check(alice.label === 'Sign in with Test IdP', `the page shows the button "${alice.label}"`);
	check(alice.answer.status === 302 && alice.answer.location === '/',
		`alice: the callback answers 302 to / (${alice.answer.status} ${alice.answer.location})`);
	const cookie = await sessionCookie(alice.context);
	check(cookie && /^[A-Za-z0-9_-]{43}$/.test(cookie.value) && cookie.httpOnly,
		'alice: glassbox_session is set, HttpOnly');
	const who = await whoami(alice.context);
	check(who.status === 200 && who.body?.user === 'alice' && who.body?.roles?.includes('admin') &&
		who.body?.roles?.includes('user'), `alice: whoami ${who.status} ${JSON.stringify(who.body)}`);
	await alice.page.waitForSelector('video#screen:visible', { timeout: 30000 });
	const colour = await waitColour(alice.page, hexColour('336699'), 40, 30000);
	check(colour.ok, 'alice: the session starts and its picture shows in the page');
	const admin = await alice.context.request.get(`${daemon.origin}/api/admin`);
	check(admin.status() === 200, `alice: /api/admin answers ${admin.status()}`);
	check(idp.counts.discovery === 1 && idp.counts.jwks === 1 && idp.counts.token === 1,
		`one discovery, one JWKS and one token request (${JSON.stringify(idp.counts)})`);
	check(Boolean(await daemon.waitLine(/.*discovered http:\/\/127\.0\.0\.1:\d+: authorization .*client_secret_basic.*/, 2000)),
		'the plugin logs the discovered endpoints, with client_secret_basic');

	// An unknown kid right after the keys were fetched: refused, and the keys
	// are not fetched again (a flood of bad tokens must not hammer the provider).
	const jwks = jwksCount();
	check(Date.now() - idp.counts.jwksAt < (KEYS_REFETCH_S - 5) * 1000, 'the keys were fetched moments ago');
	await tamperedLogin('unknown-kid',
		/the id_token's kid 'not-published' is not among the provider's keys \(keys fetched \d+ s ago; not again before 20 s\)/);
	check(jwksCount() === jwks, `unknown-kid: the keys were not fetched again within ${KEYS_REFETCH_S} s`);

	// 2. A replay of alice's callback, with her browser's binding cookie.
	check(Boolean(alice.captured?.url && alice.captured?.binding), 'alice\'s callback URL and login cookie were captured');
	const tokensBefore = idp.counts.token;
	daemon.mark();
	const replay = await fetch(alice.captured.url, {
		redirect: 'manual',
		headers: { Cookie: `glassbox_login=${alice.captured.binding}` },
	});
	check(replay.status === 302 && replay.headers.get('location') === '/?login_error=refused',
		`replayed callback: 302 to /?login_error=refused (${replay.status} ${replay.headers.get('location')})`);
	check(!/glassbox_session=[^;]/.test(replay.headers.get('set-cookie') ?? ''), 'replayed callback: no session cookie');
	const replayLine = (await daemon.waitLine(REFUSED_LINE, 10000))?.match(REFUSED_LINE)?.[1];
	check(/unknown state: not begun here, already used \(a replay\)/.test(replayLine ?? ''),
		`replayed callback: the plugin refuses the spent state ("${replayLine}")`);
	check(idp.counts.token === tokensBefore, 'replayed callback: the token endpoint was not asked again');
	await alice.context.close();

	// 3. Bob, in staff only: a user, not an admin.
	const bob = await providerLogin('bob', { blockSession: true });
	const bobWho = await whoami(bob.context);
	check(bob.answer.location === '/' && bobWho.body?.user === 'bob' &&
		JSON.stringify(bobWho.body?.roles) === '["user"]', `bob: whoami ${JSON.stringify(bobWho.body)}`);
	const bobAdmin = await bob.context.request.get(`${daemon.origin}/api/admin`);
	check(bobAdmin.status() === 403, `bob: /api/admin answers ${bobAdmin.status()}`);
	await bob.context.close();

	// 4. Carol is in neither admin_groups nor user_groups.
	await expectRefused('carol', 'carol', /user 'carol' is in none of admin_groups and user_groups/);

	// 5. Tokens the provider would never issue, rewritten by the proxy.
	for (const [mode, reason] of [
		['wrong-aud', /the id_token's aud 'someone-else' is not our client_id 'glassbox'/],
		['expired', /the id_token expired \d+ s ago/],
		['bad-signature', /the id_token's signature does not verify \(alg RS256, kid 'provider-1'\)/],
	])
		await tamperedLogin(mode, reason);

	// 6. A key rotation: a new kid, now in the JWKS. Once the pause is over,
	// the plugin fetches the keys again and accepts it.
	idp.setMode('rotated');
	const wait = idp.counts.jwksAt + KEYS_REFETCH_S * 1000 + 500 - Date.now();
	log(`waiting ${Math.max(wait, 0)} ms for the pause between key fetches to end`);
	if (wait > 0)
		await sleep(wait);
	const jwksBefore = jwksCount();
	daemon.mark();
	const rotated = await providerLogin('alice', { blockSession: true });
	const rotatedWho = await whoami(rotated.context);
	check(rotated.answer.location === '/' && rotatedWho.body?.user === 'alice',
		`rotated key: alice logs in (${rotated.answer.status} ${rotated.answer.location}, ${JSON.stringify(rotatedWho.body)})`);
	check(jwksCount() === jwksBefore + 1, `rotated key: the keys were fetched once more (${jwksBefore} -> ${jwksCount()})`);
	check(Boolean(await daemon.waitLine(/.*kid 'rotated-1' is not among the provider's keys: fetching the provider's keys again.*/, 2000)),
		'rotated key: the plugin logs why it fetched the keys again');
	await rotated.context.close();
	idp.setMode('pass');
}

try {
	await run();
} catch (error) {
	keep = true;
	check(false, `${error.stack ?? error}`);
} finally {
	if (browser)
		await browser.close().catch(() => {});
	await daemon.stop();
	await idp.close().catch(() => {});
	daemon.cleanup(keep || failed() > 0);
	fs.rmSync(secrets, { recursive: true, force: true });
}
finish('test-oidc');
