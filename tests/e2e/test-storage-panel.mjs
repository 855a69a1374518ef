// SPDX-License-Identifier: MIT
// End to end: the "Cloud storage" panel (web/js/storage.js) in Chromium
// against a real glassboxd that lets users add WebDAV and SFTP remotes.
//
// The toolbar's button shows; the panel lists nothing; the form's fields
// follow the type; a WebDAV remote added through the form is listed (URL,
// no password anywhere in the page), an SFTP one with a PEM key pasted on
// several lines is accepted (sent on one line); the server's refusal of a
// bad URL shows under the form; Delete removes one; keys typed into the
// panel never reach the session (the page's input capture ignores them).
// With no type allowed, the button stays hidden.
//
// Usage (inside tests/e2e/run-in-netns): node test-storage-panel.mjs

import fs from 'node:fs';

import { Daemon, check, finish, launchChromium, log, login, poll, requirePrerequisites }
	from './lib/harness.mjs';

requirePrerequisites();

const PASSWORD = 'dav-Secret-e2e-4411';

/** glassboxd with a storage group added to the harness's configuration. */
class StorageDaemon extends Daemon {
	constructor(types, options) {
		super(options);
		this.types = types;
	}

	writeConfig() {
		super.writeConfig();
		const list = this.types.map((t) => `"${t}"`).join(', ');
		fs.appendFileSync(this.configPath,
			`storage = { user_remote_types = [ ${list} ]; max_user_remotes = 4; };\n`);
	}
}

const panelState = (page) => page.evaluate(() => ({
	button: !document.getElementById('storage-toggle').hidden,
	panel: !document.getElementById('storage').hidden,
	types: [...document.querySelectorAll('#storage-type option')].map((o) => o.value),
	fields: [...document.querySelectorAll('#storage-fields [name]')].map((f) => f.name),
	items: [...document.querySelectorAll('#storage-list li')].map((li) => li.textContent),
	message: document.getElementById('storage-message').textContent,
	html: document.documentElement.outerHTML,
}));

async function allowed(browser) {
	const daemon = new StorageDaemon(['webdav', 'sftp'], { name: 'e2e-storage' });
	await daemon.start();
	try {
		const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
		const page = await login(context, daemon);
		await page.waitForSelector('#storage-toggle:visible', { timeout: 10000 });
		await page.click('#storage-toggle');
		await page.waitForSelector('#storage:visible', { timeout: 5000 });
		let state = await poll(async () => {
			const s = await panelState(page);
			return s.types.length ? s : null;
		});
		check(state && JSON.stringify(state.types) === '["webdav","sftp"]' &&
			JSON.stringify(state.fields) === '["url","vendor","user","pass"]' &&
			/No remotes/.test(state.items.join()),
		`the panel offers WebDAV and SFTP, WebDAV's fields, no remotes (${JSON.stringify(state && { ...state, html: undefined })})`);

		await page.selectOption('#storage-type', 'sftp');
		state = await panelState(page);
		check(JSON.stringify(state.fields) === '["host","port","user","pass","key_pem"]',
			`SFTP's fields follow the type (${state.fields})`);

		// A refusal from the server shows under the form.
		await page.selectOption('#storage-type', 'webdav');
		await page.fill('#storage-name', 'bad');
		await page.fill('#storage-fields [name=url]', 'https://dav.example/x');
		await page.evaluate(() => {
			// Past the browser's own check of type=url: the server's must answer.
			document.querySelector('#storage-fields [name=url]').type = 'text';
			document.querySelector('#storage-fields [name=url]').value = 'ftp://dav.example/';
		});
		await page.click('#storage-form button[type=submit]');
		const refused = await poll(async () => (await panelState(page)).message || null);
		check(/'url' must be an http/.test(refused ?? ''), `the server's refusal shows (${refused})`);

		await page.fill('#storage-name', 'nextcloud');
		await page.fill('#storage-fields [name=url]', 'https://dav.example/remote.php/dav');
		await page.fill('#storage-fields [name=user]', 'ada');
		await page.fill('#storage-fields [name=pass]', PASSWORD);
		await page.click('#storage-form button[type=submit]');
		state = await poll(async () => {
			const s = await panelState(page);
			return s.items.some((i) => i.startsWith('nextcloud')) ? s : null;
		});
		check(state && state.items.some((i) => i.includes('https://dav.example/remote.php/dav')) &&
			/next session/.test(state.message),
		`a WebDAV remote added through the form is listed (${JSON.stringify(state?.items)}, ${state?.message})`);
		check(state && !state.html.includes(PASSWORD), 'the password is nowhere in the page afterwards');

		await page.selectOption('#storage-type', 'sftp');
		await page.fill('#storage-name', 'home');
		await page.fill('#storage-fields [name=host]', 'sftp.example');
		await page.fill('#storage-fields [name=user]', 'ada');
		await page.fill('#storage-fields [name=key_pem]',
			'-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAkey\n-----END OPENSSH PRIVATE KEY-----\n');
		await page.click('#storage-form button[type=submit]');
		state = await poll(async () => {
			const s = await panelState(page);
			return s.items.some((i) => i.startsWith('home')) ? s : null;
		});
		check(state !== null, `an SFTP remote with a pasted multi-line key is accepted (${state?.message})`);

		const listed = await page.evaluate(() => fetch('/api/storage/remotes').then((r) => r.json()));
		check(listed.remotes?.length === 2 && !JSON.stringify(listed).includes(PASSWORD),
			`the server has both, and lists no secret (${JSON.stringify(listed.remotes)})`);

		await page.click('#storage-list button[data-remote="nextcloud"]');
		state = await poll(async () => {
			const s = await panelState(page);
			return s.items.some((i) => i.startsWith('nextcloud')) ? null : s;
		});
		check(state && state.items.length === 1 && state.items[0].startsWith('home'),
			`Delete removes it (${JSON.stringify(state?.items)})`);

		// Typing in the panel is the page's: nothing goes to the session.
		const ready = await poll(() => page.evaluate(() => window.glassbox.input.ready() || null),
			{ timeoutMs: 20000 });
		const before = await page.evaluate(() => window.glassbox.input.sent());
		await page.click('#storage-name');
		await page.keyboard.type('typed-here');
		const after = await page.evaluate(() => window.glassbox.input.sent());
		const typed = await page.inputValue('#storage-name');
		check(ready && after === before && typed === 'typed-here',
			`keys typed in the panel stay in it (${typed}); input messages sent ${before} -> ${after}` +
			` (input ready: ${ready})`);
		// The control: the same keys outside the panel do go to the session.
		await page.evaluate(() => document.activeElement?.blur());
		await page.keyboard.type('ab');
		const outside = await page.evaluate(() => window.glassbox.input.sent());
		check(outside >= after + 4, `keys outside the panel go to the session (${after} -> ${outside})`);

		await page.click('#storage-toggle');
		check(await page.isHidden('#storage'), 'the button closes the panel');
		await context.close();
	} finally {
		await daemon.stop();
	}
}

async function noneAllowed(browser) {
	const daemon = new StorageDaemon([], { name: 'e2e-storage-none' });
	await daemon.start();
	try {
		const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
		const page = await login(context, daemon);
		await page.waitForResponse((r) => r.url().endsWith('/api/storage/remotes'), { timeout: 10000 })
			.catch(() => null);
		await page.waitForTimeout(300);
		check(await page.isHidden('#storage-toggle'), 'no type allowed: the button stays hidden');
		await context.close();
	} finally {
		await daemon.stop();
	}
}

const browser = await launchChromium();
try {
	await allowed(browser);
	await noneAllowed(browser);
} catch (error) {
	log(`error: ${error.stack}`);
	check(false, 'the test ran to its end');
} finally {
	await browser.close();
}
finish('test-storage-panel');
