// SPDX-License-Identifier: MIT
// End to end: what glassboxd refuses. A wrong password through the page,
// and signalling WebSockets without the cookie or from another origin,
// each next to the same request that is accepted, so a check cannot pass
// because nothing works.
//
// Usage (inside tests/e2e/run-in-netns): node test-auth.mjs

import {
	Daemon, check, failed, finish, launchChromium, log, poll, rawUpgrade, requirePrerequisites,
} from './lib/harness.mjs';

requirePrerequisites();

const daemon = new Daemon({ name: 'e2e-auth' });
let browser = null;
let keep = false;

async function run() {
	await daemon.start();
	browser = await launchChromium();
	const context = await browser.newContext({ viewport: { width: 1024, height: 640 } });
	const page = await context.newPage();
	await page.goto(`${daemon.origin}/`, { timeout: 20000 });
	await page.waitForSelector('#username:visible', { timeout: 20000 });
	check(await page.isHidden('video#screen'), 'the login form shows, not the stream');

	// A wrong password: an error on the page and no cookie.
	await page.fill('#username', 'demo');
	await page.fill('#password', `${daemon.password}x`);
	await page.click('#login');
	const error = await poll(async () => (await page.textContent('#login-error'))?.trim(), { timeoutMs: 10000 });
	check(Boolean(error), `a wrong password shows an error ("${error}")`);
	check(await page.isHidden('video#screen'), 'and the stream stays hidden');
	const cookiesAfterWrong = await context.cookies();
	check(!cookiesAfterWrong.some((c) => c.name === 'glassbox_session'), 'and sets no cookie');
	const whoWrong = await page.evaluate(() => fetch('/api/whoami').then((r) => r.status));
	check(whoWrong === 401, `whoami answers 401 (${whoWrong})`);

	// The right one: the cookie, as the protocol describes it.
	await page.fill('#password', daemon.password);
	await page.click('#login');
	await page.waitForSelector('video#screen:visible', { timeout: 20000 });
	const cookie = (await context.cookies()).find((c) => c.name === 'glassbox_session');
	check(cookie && /^[A-Za-z0-9_-]{43}$/.test(cookie.value), 'the right password sets glassbox_session (43 chars base64url)');
	check(cookie?.httpOnly === true && cookie?.sameSite === 'Strict', 'HttpOnly, SameSite=Strict');
	check(await page.evaluate(() => !document.cookie.includes('glassbox_session')), 'and the page script cannot read it');

	// Signalling WebSocket, raw handshakes from Node.
	const header = `glassbox_session=${cookie?.value}`;
	const own = daemon.origin;
	const ok = await rawUpgrade(daemon, { cookie: header, origin: own });
	check(/^HTTP\/1\.1 101 /.test(ok.status ?? ''), `with the cookie and our Origin: 101 (${ok.status})`);
	let first = null;
	try {
		first = JSON.parse(ok.frame);
	} catch {
		// checked below
	}
	check(first?.type === 'session' && first?.user === 'demo', `and the first message is the session (${ok.frame})`);

	const none = await rawUpgrade(daemon, { origin: own });
	check(/^HTTP\/1\.1 401 /.test(none.status ?? ''), `without a cookie: 401 (${none.status})`);
	const forged = await rawUpgrade(daemon, { cookie: 'glassbox_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', origin: own });
	check(/^HTTP\/1\.1 401 /.test(forged.status ?? ''), `with an unknown cookie: 401 (${forged.status})`);
	const foreign = await rawUpgrade(daemon, { cookie: header, origin: 'http://evil.example' });
	check(/^HTTP\/1\.1 403 /.test(foreign.status ?? ''), `from another Origin: 403 (${foreign.status})`);
	const otherPort = await rawUpgrade(daemon, { cookie: header, origin: `http://127.0.0.1:${daemon.port + 1}` });
	check(/^HTTP\/1\.1 403 /.test(otherPort.status ?? ''), `from another port of the same host: 403 (${otherPort.status})`);

	// Logout: the cookie no longer opens the WebSocket, and the page shows the form.
	await page.click('#logout');
	await page.waitForSelector('#username:visible', { timeout: 10000 });
	check(true, 'logout shows the login form');
	const after = await rawUpgrade(daemon, { cookie: header, origin: own });
	check(/^HTTP\/1\.1 401 /.test(after.status ?? ''), `the old cookie after logout: 401 (${after.status})`);
	await context.close();
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
	daemon.cleanup(keep || failed() > 0);
}
finish('test-auth');
