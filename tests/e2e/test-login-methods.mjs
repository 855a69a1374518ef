// SPDX-License-Identifier: MIT
// End to end: the login page offers what the enabled auth plugins offer.
//
// 1. Two password plugins (auth-local and auth-example): one form, no
//    redirect link, and each plugin's user logs in through it.
// 2. A redirect plugin too (tests/plugins/auth-redirect.so, a stand-in for
//    OpenID Connect whose "provider" is https://idp.example, answered here by
//    playwright's request routing): the form, "or", and a link with the
//    plugin's label. Following it goes to the provider and back through
//    /api/login/callback/redirect: logged in, the stream shows. A provider
//    that refuses brings the page back with "Login refused.", and the
//    address bar loses ?login_error.
// 3. Only the redirect plugin: no form, only the link.
// The OIDC plugin's own flow against a real provider is tests/e2e/test-oidc.mjs.
//
// Usage (inside tests/e2e/run-in-netns): node test-login-methods.mjs

import path from 'node:path';

import {
	BUILD_ROOT, Daemon, check, failed, finish, launchChromium, log, poll, pluginPath,
	requirePrerequisites,
} from './lib/harness.mjs';

requirePrerequisites();

// auth-example is documentation and auth-redirect a test plugin: neither is in
// meson's list of plugin folders.
process.env.GB_PLUGIN_BUILD_PATH = [pluginPath(), path.join(BUILD_ROOT, 'plugins', 'auth-example'),
	path.join(BUILD_ROOT, 'tests', 'plugins')].join(':');

const EXAMPLE = { user: 'ada', password: 'analytical-engine-1843' };
const EXAMPLE_DROPIN = `[plugin]\nkind = auth\nname = example\n\n[settings]\nuser = ${EXAMPLE.user}\n` +
	`password = ${EXAMPLE.password}\n`;
const REDIRECT_DROPIN = '[plugin]\nkind = auth\nname = redirect\n';
const LOCAL_OFF = '[plugin]\nkind = auth\nname = local\nenabled = false\n';

const daemons = [];
let browser = null;
let keep = false;

async function newPage(context) {
	const page = await context.newPage();
	page.on('pageerror', (e) => log(`  page error: ${e.message}`));
	page.on('console', (m) => {
		if (/status of 401/.test(m.text()))
			return;
		if (m.type() === 'error' || m.type() === 'warning')
			log(`  page ${m.type()}: ${m.text()}`);
	});
	return page;
}

async function startDaemon(name, dropins, password) {
	const daemon = new Daemon({ name, dropins });
	daemons.push(daemon);
	if (password)
		daemon.password = password; // no auth-local: no demo password to wait for
	await daemon.start();
	return daemon;
}

// Open the page and return what the panel shows once the methods list came.
async function openPanel(page, url) {
	const methodsAnswered = page.waitForResponse((r) => r.url().endsWith('/api/auth/methods'),
		{ timeout: 20000 });
	await page.goto(url, { timeout: 20000 });
	await page.waitForSelector('#login-view:visible', { timeout: 20000 });
	await methodsAnswered;
	await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50))));
	return page.evaluate(() => ({
		form: !document.getElementById('password-login').hidden,
		or: !document.getElementById('login-or').hidden,
		links: [...document.querySelectorAll('#redirect-logins a')].map((a) => ({
			text: a.textContent, href: a.getAttribute('href'),
		})),
		linksShown: !document.getElementById('redirect-logins').hidden,
	}));
}

async function formLogin(page, user, password) {
	await page.fill('#username', user);
	await page.fill('#password', password);
	await page.click('#login');
	await page.waitForSelector('video#screen:visible', { timeout: 20000 });
	return page.evaluate(() => fetch('/api/whoami').then((r) => r.json()));
}

async function twoPasswordPlugins() {
	const daemon = await startDaemon('e2e-methods-password', { '60-auth-example.ini': EXAMPLE_DROPIN });
	const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
	const page = await newPage(context);
	const shown = await openPanel(page, `${daemon.origin}/`);
	const methods = await page.evaluate(() => fetch('/api/auth/methods').then((r) => r.json()));
	check(JSON.stringify(methods.methods?.map((m) => `${m.plugin}:${m.method}`)) ===
		JSON.stringify(['local:password', 'example:password']),
	`GET /api/auth/methods: local and example, both password (${JSON.stringify(methods)})`);
	check(shown.form && !shown.or && !shown.linksShown && shown.links.length === 0,
		`two password plugins: one form, no link (${JSON.stringify(shown)})`);

	const demo = await formLogin(page, 'demo', daemon.password);
	check(demo.user === 'demo', `auth-local's user logs in through the form (${JSON.stringify(demo)})`);
	await page.click('#logout');
	await page.waitForSelector('#username:visible', { timeout: 10000 });
	const ada = await formLogin(page, EXAMPLE.user, EXAMPLE.password);
	check(ada.user === EXAMPLE.user, `auth-example's user logs in through the same form (${JSON.stringify(ada)})`);
	await context.close();
}

async function withRedirectPlugin() {
	const daemon = await startDaemon('e2e-methods-redirect', { '55-auth-redirect.ini': REDIRECT_DROPIN });
	const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
	// The provider refuses or accepts, as the test says, by sending the
	// browser back to the callback it was given. Playwright cannot route a
	// request that a redirect made, so the provider's hop is folded into
	// glassboxd's real answer to /api/login/redirect (its 302 and binding
	// cookie): its Location is turned into the provider's answer.
	let providerCode = 'good-code';
	const providerVisits = [];
	await context.route((url) => url.pathname === '/api/login/redirect', async (route) => {
		const response = await route.fetch({ maxRedirects: 0 });
		const headers = response.headers();
		const provider = new URL(headers.location ?? 'invalid:');
		providerVisits.push({ status: response.status(), host: provider.host,
			cookie: /glassbox_login=[^;]+; Path=\/api\/login\/callback\//.test(headers['set-cookie'] ?? '') });
		const back = new URL(provider.searchParams.get('redirect_uri') ?? 'invalid:');
		back.searchParams.set('code', providerCode);
		back.searchParams.set('state', provider.searchParams.get('state') ?? '');
		await route.fulfill({ response, headers: { ...headers, location: back.toString() } });
	});
	const page = await newPage(context);
	const shown = await openPanel(page, `${daemon.origin}/`);
	check(shown.form && shown.or && shown.linksShown && shown.links.length === 1 &&
		shown.links[0].text === 'Sign in with Example' &&
		shown.links[0].href === '/api/login/redirect?plugin=redirect',
	`password and redirect plugins: the form, "or" and one link (${JSON.stringify(shown)})`);

	// A refusal first: back on the page with the message, the address cleaned.
	providerCode = 'bad-code';
	await page.click('#redirect-logins a');
	await page.waitForURL(`${daemon.origin}/`, { timeout: 20000 });
	const refused = await poll(async () => (await page.textContent('#login-error'))?.trim(), { timeoutMs: 10000 });
	check(refused === 'Login refused.', `a refused redirect login: "Login refused." (${refused})`);
	check(!page.url().includes('login_error'), `and the address loses ?login_error (${page.url()})`);
	check(await page.isHidden('video#screen'), 'and the stream stays hidden');

	// Then the provider says yes: logged in, the stream shows.
	providerCode = 'good-code';
	await page.click('#redirect-logins a');
	await page.waitForSelector('video#screen:visible', { timeout: 20000 });
	const who = await page.evaluate(() => fetch('/api/whoami').then((r) => r.json()));
	check(who.user === 'oidc-user', `the redirect login lands on the stream as oidc-user (${JSON.stringify(who)})`);
	check(providerVisits.length === 2 && providerVisits.every((v) => v.status === 302 &&
		v.host === 'idp.example' && v.cookie),
	`glassboxd sent the browser to the provider with a binding cookie, each time (${JSON.stringify(providerVisits)})`);
	const cookies = await context.cookies();
	const session = cookies.find((c) => c.name === 'glassbox_session');
	check(session?.httpOnly && session?.sameSite === 'Strict', 'the login cookie is the usual one');
	check(!cookies.some((c) => c.name === 'glassbox_login' && c.value !== ''),
		'the redirect binding cookie is gone');

	// A login_error that is not "refused".
	const other = await newPage(await browser.newContext());
	await other.goto(`${daemon.origin}/?login_error=x&keep=1`, { timeout: 20000 });
	const failedText = await poll(async () => (await other.textContent('#login-error'))?.trim(), { timeoutMs: 10000 });
	check(failedText === 'Login failed.' && other.url().endsWith('/?keep=1'),
		`another login_error: "Login failed.", other parameters kept (${failedText}, ${other.url()})`);
	await context.close();
}

async function onlyRedirectPlugin() {
	const daemon = await startDaemon('e2e-methods-only-redirect',
		{ '50-auth-local.ini': LOCAL_OFF, '55-auth-redirect.ini': REDIRECT_DROPIN }, 'none');
	const context = await browser.newContext();
	const page = await newPage(context);
	const shown = await openPanel(page, `${daemon.origin}/`);
	check(!shown.form && !shown.or && shown.links.length === 1,
		`only a redirect plugin: no form, one link (${JSON.stringify(shown)})`);
	check(await page.evaluate(() => document.activeElement?.id !== 'username' &&
		document.activeElement?.tagName === 'A'), 'the link has the focus');
	await context.close();
}

try {
	browser = await launchChromium();
	await twoPasswordPlugins();
	await withRedirectPlugin();
	await onlyRedirectPlugin();
} catch (error) {
	keep = true;
	check(false, `${error.stack ?? error}`);
} finally {
	if (browser)
		await browser.close().catch(() => {});
	for (const daemon of daemons) {
		await daemon.stop().catch(() => {});
		daemon.cleanup(keep || failed() > 0);
	}
}
finish('test-login-methods');
