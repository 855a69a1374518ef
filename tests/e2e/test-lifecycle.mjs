// SPDX-License-Identifier: MIT
// End to end: how the page copes when things end. A viewer over
// session.max_viewers is refused with `error`; the application exiting
// ends the session (`ended`) and "Connect again" starts a new one; when
// glassboxd dies the page keeps retrying with backoff and, once glassboxd
// is back (it keeps the logins in runtime_dir), reconnects with the same
// login to a new session (the direct spawner's sessions die with it).
//
// Usage (inside tests/e2e/run-in-netns): node test-lifecycle.mjs

import {
	Daemon, check, failed, finish, hexColour, launchChromium, login, poll,
	requirePrerequisites, show, sleep, waitColour,
} from './lib/harness.mjs';

requirePrerequisites();

const COLOUR = '2288aa';
// Long enough to log in and look around on a slow machine, short enough to wait for.
const APP_LIFETIME_MS = 15000;

const daemon = new Daemon({
	name: 'e2e-lifecycle',
	color: COLOUR,
	clientArgs: ['--exit-after-ms', String(APP_LIFETIME_MS)],
	session: { max_viewers: 1, idle_timeout_s: 60 },
});
let browser = null;
let keep = false;

function must(condition, message) {
	if (!check(condition, message))
		throw new Error(`stopping here: ${message}`);
}

const statusText = async (page) => (await page.isVisible('#status')) ? (await page.textContent('#status-text')) : '';

async function run() {
	await daemon.start();
	browser = await launchChromium();
	const context = await browser.newContext({ viewport: { width: 960, height: 540 } });

	const page = await login(context, daemon);
	const seen = await waitColour(page, hexColour(COLOUR), 40, 20000);
	must(seen.ok, `the first tab shows #${COLOUR} (${show(seen.last)})`);
	const first = await page.evaluate(() => window.glassbox.session());

	// One viewer at most: a second tab is refused and says so; the first keeps going.
	const second = await login(context, daemon, { viewport: { width: 960, height: 540 } });
	const refused = await poll(async () => /refused/i.test(await statusText(second)) && statusText(second),
		{ timeoutMs: 20000 });
	check(refused, `a second tab over max_viewers = 1 shows the refusal ("${refused}")`);
	check(await second.isVisible('#status-retry'), 'with a button to try again');
	await second.close();
	const still = await page.evaluate(() => window.glassbox.stats());
	check(still.connected, 'the first tab is still connected');

	// The application exits: the session ends and the page says so, without retrying.
	const ended = await poll(async () => /ended/i.test(await statusText(page)) && statusText(page),
		{ timeoutMs: APP_LIFETIME_MS + 15000 });
	check(ended, `when the application exits the page says the session ended ("${ended}")`);
	check(await page.isVisible('#status-retry'), 'with "Connect again"');
	await sleep(2000);
	check(/ended/i.test(await statusText(page)), 'and does not reconnect by itself');

	// "Connect again" starts a new session.
	await page.click('#status-retry');
	const fresh = await poll(async () => {
		const s = await page.evaluate(() => window.glassbox.session());
		return s && s.id !== first.id ? s : null;
	}, { timeoutMs: 20000 });
	check(fresh && fresh.joined === false, `"Connect again" starts a new session (${JSON.stringify(fresh)} after ${first.id})`);
	const again = await waitColour(page, hexColour(COLOUR), 40, 20000);
	check(again.ok, `and shows #${COLOUR} (${show(again.last)})`);

	// glassboxd dies: the page retries with backoff, and once it is back
	// (with the login it kept) reconnects by itself to a new session.
	daemon.mark();
	await daemon.kill();
	const waiting = await poll(async () => /reconnecting/i.test(await statusText(page)) && statusText(page),
		{ timeoutMs: 10000, intervalMs: 50 });
	check(waiting, `with glassboxd gone the page waits to reconnect ("${waiting}")`);
	await sleep(3000);
	await daemon.start();
	const back = await poll(async () => {
		const s = await page.evaluate(() => window.glassbox.session());
		return s && s.id !== fresh.id ? s : null;
	}, { timeoutMs: 30000 });
	check(back, `once glassboxd is back the page reconnects with the same login, to a new session (${JSON.stringify(back)})`);
	check(!(await page.isVisible('#username')), 'without asking for the password again');
	const shown = await waitColour(page, hexColour(COLOUR), 40, 20000);
	check(shown.ok, `and shows #${COLOUR} again (${show(shown.last)})`);
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
finish('test-lifecycle');
