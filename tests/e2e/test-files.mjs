// SPDX-License-Identifier: MIT
// End to end: files in the browser (issue 10). Through the page in
// Chromium: an upload through the button (setInputFiles), one in pieces
// (Content-Range), and one dropped onto the stream (a synthetic drop with
// a DataTransfer), each with the
// progress bar at 100 % and the file in ~/Uploads byte-identical; a name
// with '../' refused with nothing written outside; links the application
// planted in ~/Uploads (at the upload's name, and ~/Uploads itself) never
// written through; a file the application
// saved into ~/Downloads listed and downloaded byte-identical
// (page.waitForEvent('download')), a link there neither listed nor served.
//
// The session runs as root here (tests run as root, no session.user); its
// home is a temporary folder (glassboxd's HOME). test-transfer.py covers the
// same API with the session as an unprivileged account.
//
// Usage (inside tests/e2e/run-in-netns): node test-files.mjs

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
	Daemon, check, failed, finish, launchChromium, log, login, poll, requirePrerequisites,
} from './lib/harness.mjs';

requirePrerequisites();

const daemon = new Daemon({ name: 'e2e-files' });
const home = path.join(daemon.tmp, 'home');
const outside = path.join(daemon.tmp, 'outside');
const uploads = path.join(home, 'Uploads');
const downloads = path.join(home, 'Downloads');
let browser = null;
let keep = false;

const sha = (data) => crypto.createHash('sha256').update(data).digest('hex');

/** Every path under @dir, links not followed. */
function tree(dir) {
	const found = [];
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, entry.name);
		found.push(p);
		if (entry.isDirectory())
			found.push(...tree(p));
	}
	return found.sort();
}

async function uploadStatus(page, before) {
	return poll(async () => {
		const text = (await page.textContent('#upload-status'))?.trim() ?? '';
		return text !== before && !text.startsWith('Uploading') ? text : null;
	}, { timeoutMs: 20000 });
}

async function run() {
	fs.mkdirSync(home, { mode: 0o700 });
	fs.mkdirSync(outside);
	// glassboxd's HOME is the session's (no session.user): the temporary one.
	const realHome = process.env.HOME;
	process.env.HOME = home;
	try {
		await daemon.start();
	} finally {
		process.env.HOME = realHome;
	}
	browser = await launchChromium();
	const context = await browser.newContext({ viewport: { width: 1024, height: 640 },
		acceptDownloads: true });
	const page = await login(context, daemon);
	check(await daemon.waitLine(/.*session \S+ of user 'demo' is ready.*/, 20000) !== null,
		'the session is running');

	// ---- the button ----
	await page.click('#files-toggle');
	check(await page.isVisible('#files-panel'), 'the Files button opens the panel');
	const first = crypto.randomBytes(2 * 1024 * 1024 + 3);
	await page.setInputFiles('#upload-input', { name: 'from the button.bin',
		mimeType: 'application/octet-stream', buffer: first });
	let status = await uploadStatus(page, '');
	check(status === "Uploaded from the button.bin into the session's uploads.",
		`the button's upload is reported done ("${status}")`);
	check(await page.getAttribute('#upload-progress', 'value') === '100' ||
		await page.evaluate(() => document.getElementById('upload-progress').value) === 100,
	'the progress bar is at 100 %');
	const onDisk = path.join(uploads, 'from the button.bin');
	check(fs.existsSync(onDisk) && sha(fs.readFileSync(onDisk)) === sha(first),
		'the file is in ~/Uploads, byte-identical (SHA-256)');

	// ---- a drop onto the stream ----
	const second = crypto.randomBytes(700 * 1024);
	await page.evaluate(async (bytes) => {
		const data = new DataTransfer();
		data.items.add(new File([new Uint8Array(bytes)], 'dropped.dat'));
		const target = document.getElementById('screen');
		for (const type of ['dragenter', 'dragover', 'drop'])
			target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true,
				cancelable: true }));
	}, [...second]);
	status = await uploadStatus(page, status);
	check(status === "Uploaded dropped.dat into the session's uploads.",
		`the dropped file is reported done ("${status}")`);
	check(await page.evaluate(() => document.getElementById('upload-progress').value) === 100,
		'the progress bar is at 100 % again');
	check(await page.isHidden('#drop-zone'), 'the drop zone is gone after the drop');
	const dropped = path.join(uploads, 'dropped.dat');
	check(fs.existsSync(dropped) && sha(fs.readFileSync(dropped)) === sha(second),
		'the dropped file is in ~/Uploads, byte-identical');

	// ---- in pieces (Content-Range), as a file over 32 MiB goes ----
	await page.evaluate(() => window.glassbox.files.setPieceSize(256 * 1024));
	const pieces = crypto.randomBytes(900 * 1024 + 1);
	let putCount = 0;
	const countPuts = (request) => {
		if (request.method() === 'PUT' && request.url().includes('/api/files/uploads/'))
			putCount++;
	};
	page.on('request', countPuts);
	await page.setInputFiles('#upload-input', { name: 'in pieces.bin',
		mimeType: 'application/octet-stream', buffer: pieces });
	status = await uploadStatus(page, status);
	page.off('request', countPuts);
	check(status === "Uploaded in pieces.bin into the session's uploads." && putCount === 4,
		`a file in 4 pieces of 256 KiB is reported done ("${status}", ${putCount} PUTs)`);
	const piecesOnDisk = path.join(uploads, 'in pieces.bin');
	check(fs.existsSync(piecesOnDisk) && sha(fs.readFileSync(piecesOnDisk)) === sha(pieces),
		'the file sent in pieces is byte-identical');

	// ---- a name with ../ ----
	const before = tree(daemon.tmp);
	await page.evaluate(() => {
		const data = new DataTransfer();
		data.items.add(new File(['evil'], '../../outside/evil.txt'));
		document.getElementById('screen').dispatchEvent(new DragEvent('drop',
			{ dataTransfer: data, bubbles: true, cancelable: true }));
	});
	status = await uploadStatus(page, status);
	check(/^Upload refused: /.test(status ?? ''), `a name with '../' is refused ("${status}")`);
	check(await page.evaluate(() =>
		document.getElementById('upload-status').classList.contains('error')),
	'and shown as an error');
	const after = tree(daemon.tmp).filter((p) => !p.startsWith(path.join(daemon.tmp, 'run')) &&
		p !== daemon.logPath);
	check(fs.readdirSync(outside).length === 0 &&
		JSON.stringify(after) === JSON.stringify(before.filter((p) =>
			!p.startsWith(path.join(daemon.tmp, 'run')) && p !== daemon.logPath)),
	'nothing was written anywhere');

	// ---- links the application planted in ~/Uploads ----
	// A link of the same name as the upload, pointing outside: never written through.
	fs.writeFileSync(path.join(outside, 'target.txt'), 'untouched\n');
	fs.symlinkSync(path.join(outside, 'target.txt'), path.join(uploads, 'target.txt'));
	await page.setInputFiles('#upload-input', { name: 'target.txt',
		mimeType: 'text/plain', buffer: Buffer.from('uploaded\n') });
	status = await uploadStatus(page, status);
	check(fs.readFileSync(path.join(outside, 'target.txt'), 'utf8') === 'untouched\n' &&
		fs.lstatSync(path.join(uploads, 'target.txt')).isSymbolicLink(),
	`a link planted at the upload's name is not written through ("${status}")`);
	// ~/Uploads itself a link to a folder outside: refused, nothing lands there.
	fs.renameSync(uploads, uploads + '.real');
	fs.symlinkSync(outside, uploads);
	await page.setInputFiles('#upload-input', { name: 'through the link.txt',
		mimeType: 'text/plain', buffer: Buffer.from('evil\n') });
	status = await uploadStatus(page, status);
	check(/^Upload refused: /.test(status ?? '') &&
		JSON.stringify(fs.readdirSync(outside)) === JSON.stringify(['target.txt']),
	`~/Uploads as a link to elsewhere is refused, nothing written there ("${status}")`);
	fs.unlinkSync(uploads);
	fs.renameSync(uploads + '.real', uploads);

	// ---- downloads ----
	fs.mkdirSync(downloads);
	const saved = crypto.randomBytes(1536 * 1024 + 5);
	fs.writeFileSync(path.join(downloads, 'saved by the app.bin'), saved);
	fs.writeFileSync(path.join(outside, 'secret'), 'secret\n');
	fs.symlinkSync(path.join(outside, 'secret'), path.join(downloads, 'leak'));
	await page.click('#downloads-refresh');
	const names = await poll(async () => {
		const list = await page.$$eval('#downloads-list a', (links) => links.map((a) => a.textContent));
		return list.length ? list : null;
	}, { timeoutMs: 10000 });
	check(JSON.stringify(names) === JSON.stringify(['saved by the app.bin']),
		`the list shows the saved file and not the link (${JSON.stringify(names)})`);
	const [download] = await Promise.all([
		page.waitForEvent('download', { timeout: 20000 }),
		page.click('#downloads-list a'),
	]);
	const file = await download.path();
	check(download.suggestedFilename() === 'saved by the app.bin',
		`the download's name (${download.suggestedFilename()})`);
	check(file && sha(fs.readFileSync(file)) === sha(saved), 'the download is byte-identical');
	const leak = await page.evaluate(() => fetch('/api/files/downloads/leak').then(async (r) =>
		({ status: r.status, text: await r.text() })));
	check(leak.status === 404 && !leak.text.includes('secret'),
		`the link is not served (${leak.status})`);
}

try {
	await run();
} catch (error) {
	check(false, `unexpected error: ${error.stack ?? error}`);
	keep = true;
} finally {
	await browser?.close().catch(() => {});
	await daemon.stop();
	daemon.cleanup(keep || failed() > 0);
}
finish('e2e-files');
