// SPDX-License-Identifier: MIT
// The browser client without a browser: the pure helpers of
// web/js/geometry.js, and that web/ stays loadable under glassboxd's
// Content-Security-Policy (script-src 'self') with no external URL.
//
// Usage: node test-web-client.mjs

import fs from 'node:fs';
import path from 'node:path';

import { check, finish, SOURCE_ROOT } from './lib/harness.mjs';

const web = path.join(SOURCE_ROOT, 'web');
const geometry = await import(path.join(web, 'js', 'geometry.js'));
const { backoffDelay, containRect, elementToOutput, receiveCodecs, requestedSize, wheelPixels } = geometry;

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Codec names for hello.
check(same(receiveCodecs({
	codecs: [
		{ mimeType: 'video/VP8' }, { mimeType: 'video/rtx' }, { mimeType: 'video/H264' },
		{ mimeType: 'video/H264' }, { mimeType: 'video/red' }, { mimeType: 'video/ulpfec' },
		{ mimeType: 'video/flexfec-03' }, { mimeType: 'video/AV1' },
	],
}), ['VP8', 'H264', 'AV1']), 'receiveCodecs: names without video/, once each, no rtx/red/fec');
check(same(receiveCodecs(null), []), 'receiveCodecs: no capabilities, no codecs');

// object-fit: contain.
check(same(containRect(1280, 720, 1280, 720), { x: 0, y: 0, width: 1280, height: 720 }), 'containRect: same size');
check(same(containRect(640, 720, 1280, 720), { x: 0, y: 180, width: 640, height: 360 }), 'containRect: letterbox (bars above and below)');
check(same(containRect(1280, 360, 1280, 720), { x: 320, y: 0, width: 640, height: 360 }), 'containRect: pillarbox (bars left and right)');
check(containRect(0, 720, 1280, 720) === null && containRect(1280, 720, 0, 0) === null, 'containRect: null before the first frame');

// Element points to output pixels.
check(same(elementToOutput(400, 300, 1280, 720, 1280, 720), { x: 400, y: 300 }), 'elementToOutput: 1:1');
check(same(elementToOutput(320, 270, 640, 720, 1280, 720), { x: 640, y: 180 }), 'elementToOutput: through the letterbox, scaled 2x');
check(same(elementToOutput(330, 10, 1280, 360, 1280, 720), { x: 20, y: 20 }), 'elementToOutput: through the pillarbox');
check(same(elementToOutput(-50, 100, 640, 720, 1280, 720), { x: 0, y: 0 }), 'elementToOutput: on the bars, clamped to the picture');
const edge = elementToOutput(640, 720, 640, 720, 1280, 720);
check(edge.x < 1280 && edge.y < 720 && edge.x > 1279 && edge.y > 719, `elementToOutput: bottom-right stays inside (${JSON.stringify(edge)})`);
check(elementToOutput(1, 1, 640, 480, 0, 0) === null, 'elementToOutput: null before the first frame');

// Wheel.
check(wheelPixels(120, 0, 720) === 120, 'wheelPixels: pixels stay pixels');
check(wheelPixels(3, 1, 720) === 120, 'wheelPixels: 3 lines are 120 px');
check(wheelPixels(-1, 2, 720) === -720, 'wheelPixels: a page is the page height');
check(wheelPixels(1e9, 0, 720) === 10000 && wheelPixels(-1e9, 0, 720) === -10000, 'wheelPixels: clamped to ±10000');
check(wheelPixels(NaN, 0, 720) === 0, 'wheelPixels: NaN is nothing');

// Backoff.
const delays = [0, 1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, { random: () => 1 }));
check(same(delays, [500, 1000, 2000, 4000, 8000, 10000, 10000]), `backoffDelay: 0.5 s doubling to 10 s (${delays})`);
check(backoffDelay(3, { random: () => 0 }) === 2000, 'backoffDelay: jitter takes it down to half');
check(backoffDelay(1000, { random: () => 1 }) === 10000, 'backoffDelay: no overflow on a huge attempt count');

// Size asked of the session.
check(same(requestedSize(1280.7, 719.2), { width: 1280, height: 719 }), 'requestedSize: whole CSS pixels');
check(requestedSize(0, 100) === null, 'requestedSize: nothing for an empty area');

// The storage panel's params: empty fields left out, a PEM key on one line
// (the server refuses every real line break), secrets never trimmed.
const { remoteParams } = await import(path.join(web, 'js', 'storage.js'));
check(same(remoteParams('sftp', {
	host: ' h.example ', port: '', user: 'u', pass: ' p ',
	key_pem: '-----BEGIN KEY-----\r\nAAA\nBBB\n-----END KEY-----\n',
}), { host: 'h.example', user: 'u', pass: ' p ', key_pem: '-----BEGIN KEY-----\\nAAA\\nBBB\\n-----END KEY-----' }),
	'remoteParams: trims what is no secret, PEM line breaks become \\n, empty fields left out');
check(same(remoteParams('webdav', { url: 'https://h/', type: 'local', other: 'x' }), { url: 'https://h/' }),
	'remoteParams: only the keys of the type');
check(same(remoteParams('local', { url: 'x' }), {}), 'remoteParams: an unknown type has no params');

// CSP: scripts only from files, no inline handlers, nothing from elsewhere.
const files = [];
const walk = (dir) => {
	for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, entry.name);
		if (entry.isDirectory())
			walk(p);
		else
			files.push(p);
	}
};
walk(web);
const html = fs.readFileSync(path.join(web, 'index.html'), 'utf8');
const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
check(scripts.length > 0 && scripts.every((m) => /\bsrc=/.test(m[1]) && m[2].trim() === ''),
	'index.html: every script is a file (no inline script)');
check(!/\son[a-z]+\s*=/i.test(html), 'index.html: no inline event handler attributes');
for (const id of ['username', 'password', 'login', 'screen']) {
	check(new RegExp(`id="${id}"`).test(html), `index.html: #${id} is there`);
}
check(/<video id="screen"[^>]*\bmuted\b[^>]*\bautoplay\b[^>]*\bplaysinline\b/.test(html), 'video#screen is muted, autoplay, playsinline');
for (const file of files) {
	const text = fs.readFileSync(file, 'utf8');
	const rel = path.relative(web, file);
	// Comment lines and XML namespace names (never fetched) do not count.
	const code = text.replace(/^\s*\/\/.*$/gm, '').replace(/\sxmlns(?::\w+)?="[^"]*"/g, '');
	check(!/\b(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i.test(code), `${rel}: no external URL`);
	if (file.endsWith('.js')) {
		check(!/\beval\s*\(|\bnew Function\s*\(/.test(text), `${rel}: no eval`);
		for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
			check(fs.existsSync(path.resolve(path.dirname(file), m[1])), `${rel}: import ${m[1]} exists`);
		}
	}
}

finish('test-web-client');
