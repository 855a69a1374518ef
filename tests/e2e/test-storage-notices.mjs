// SPDX-License-Identifier: MIT
// End to end: what the session's mounts have to say, in the page
// (web/js/storage.js, #storage-notices), against a real glassboxd with
// storage-rclone and a mount that cannot be had (a remote of an unknown
// backend: rclone itself refuses it). The session starts anyway; once the
// stream is connected the page shows which mount is missing and rclone's
// reason; Dismiss hides it; the server tells it once (a reload of the page
// shows no box).
//
// The session runs as root here (tests run as root, no session.user); its
// home, where ~/Cloud would be, is a temporary folder (glassboxd's HOME).
// tests/storage covers mounts that work, as an unprivileged account.
//
// Usage (inside tests/e2e/run-in-netns): node test-storage-notices.mjs

import fs from 'node:fs';
import path from 'node:path';

import {
	Daemon, check, failed, finish, launchChromium, log, login, poll, requirePrerequisites,
} from './lib/harness.mjs';

requirePrerequisites();

if (!fs.existsSync('/usr/bin/rclone')) {
	log('SKIP: needs /usr/bin/rclone (Debian package rclone)');
	process.exit(77);
}

const daemon = new Daemon({ name: 'e2e-storage-notices' });
const home = path.join(daemon.tmp, 'home');
const remotes = path.join(daemon.tmp, 'remotes.conf');
let browser = null;

const box = (page) => page.evaluate(() => {
	const section = document.getElementById('storage-notices');
	return { shown: !section.hidden,
		lines: [...section.querySelectorAll('li')].map((li) => li.textContent) };
});

async function run() {
	fs.mkdirSync(home, { mode: 0o700 });
	fs.writeFileSync(remotes, '[broken]\ntype = nosuchbackend\n', { mode: 0o600 });
	daemon.options.dropins['70-storage-rclone.ini'] =
		'[plugin]\nkind = storage\nname = rclone\n\n[settings]\n' +
		`remotes_file = ${remotes}\nmounts = broken=broken:%u\nuser_remotes = false\n`;
	const realHome = process.env.HOME;
	process.env.HOME = home;
	try {
		await daemon.start();
	} finally {
		process.env.HOME = realHome;
	}
	browser = await launchChromium();
	const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
	const page = await login(context, daemon);
	check(await daemon.waitLine(/.*session \S+ of user 'demo' is ready.*/, 30000) !== null,
		'the session starts without the mount that failed');

	const state = await poll(async () => {
		const s = await box(page);
		return s.shown ? s : null;
	}, { timeoutMs: 20000 });
	check(state !== null && state.lines.length === 1 &&
		state.lines[0].startsWith('~/Cloud/broken is not available: ') &&
		state.lines[0].includes("didn't find backend called \"nosuchbackend\""),
	`the page says which mount is missing and rclone's reason (${JSON.stringify(state?.lines)})`);

	await page.click('#storage-notices button');
	check(!(await box(page)).shown, 'Dismiss hides the box');

	// Told once: the page loaded again asks again and hears nothing new, but
	// the failed mount itself is still listed by the status.
	await page.reload();
	await page.waitForSelector('video#screen:visible', { timeout: 20000 });
	const status = await page.evaluate(() =>
		fetch('/api/storage/status').then((r) => r.json()));
	check(status.notices?.length === 0 && status.mounts?.length === 1 &&
		status.mounts[0].state === 'failed',
	`the notice was told once; the mount is still listed as failed (${JSON.stringify(status)})`);
}

try {
	await run();
} catch (error) {
	check(false, `unexpected error: ${error.stack ?? error}`);
} finally {
	await browser?.close().catch(() => {});
	await daemon.stop();
	daemon.cleanup(failed() > 0);
}
finish('e2e-storage-notices');
