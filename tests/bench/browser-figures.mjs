// SPDX-License-Identifier: MIT
// Browser-side figures of the whole chain: glassboxd + glassbox-session +
// glassbox-test-client --clock, watched by Debian's Chromium.
//
// For each size and codec (pinned with webrtc.codec), and with the
// playout-delay RTP extension on and off (webrtc.playout_delay) and, for
// x264, its low-latency tuning on and off (drop-in setting), it measures:
//   - login -> first frame: click on #login to the first presented frame
//     of a new session (spawn included), and reload -> first frame of the
//     running one;
//   - glass-to-glass: the time the client writes into its pixels vs
//     Date.now() in requestVideoFrameCallback (same machine, same clock);
//   - input-to-photon: a key sent on the data channel to the first
//     presented frame showing the client's new colour, while the client
//     redraws every frame (--clock) and on a still screen (without it);
//   - the frame rate received, jitter buffer and decode time from getStats;
//   - whether Chromium's answer SDP kept the playout-delay extension.
// Prints a table; never fails on a time. Run it inside a network namespace:
//
//   tests/e2e/run-in-netns node tests/bench/browser-figures.mjs [options]
//
// Options: --sizes 1280x720,1920x1080  --codecs h264,vp8  --frames 300
//          --presses 20  --still-presses 10 (0: skip)  --variants all|default
//          --x264-lowlatency-key KEY (default zerolatency)
// Environment: GB_BUILD_ROOT (default ./build), GB_PLUGIN_BUILD_PATH.

import os from 'node:os';

import {
	Daemon, launchChromium, log, login, poll, requirePrerequisites, sleep,
} from '../e2e/lib/harness.mjs';

function option(name, fallback) {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const sizes = option('sizes', '1280x720,1920x1080').split(',').map((s) => {
	const [width, height] = s.split('x').map(Number);
	return { width, height };
});
const codecs = option('codecs', 'h264,vp8').split(',');
const frames = Number(option('frames', '300'));
const presses = Number(option('presses', '20'));
const stillPresses = Number(option('still-presses', '10'));
const allVariants = option('variants', 'all') === 'all';

// The encoder-x264 drop-in setting for x264's tune=zerolatency (default on).
const x264LowLatencyKey = () => option('x264-lowlatency-key', 'zerolatency');

requirePrerequisites();

function percentile(values, p) {
	if (!values.length)
		return null;
	const sorted = [...values].sort((a, b) => a - b);
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[i];
}

const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

async function measure({ size, codec, playoutDelay, lowLatency }) {
	const lowLatencyKey = x264LowLatencyKey();
	const settings = {};
	if (codec === 'h264' && lowLatency !== null)
		settings['30-encoder-x264.ini'] = { [lowLatencyKey]: lowLatency ? 'true' : 'false' };
	const daemon = new Daemon({
		name: 'bench',
		codec,
		width: size.width,
		height: size.height,
		clientArgs: ['--clock'],
		webrtc: { playout_delay: playoutDelay },
		settings,
	});
	const result = { size: `${size.width}x${size.height}`, codec, playoutDelay, lowLatency };
	let browser = null;
	try {
		await daemon.start();
		browser = await launchChromium();
		const context = await browser.newContext({ viewport: size });
		// In every page load, before its scripts: note the first presented
		// frame and the click on #login, on the page's clock (0 = navigation).
		await context.addInitScript(() => {
			document.addEventListener('DOMContentLoaded', () => {
				document.getElementById('screen').requestVideoFrameCallback(() => {
					window.benchFirstFrame = performance.now();
				});
				document.getElementById('login').addEventListener('click', () => {
					window.benchClick = performance.now();
				});
			});
		});
		const page = await context.newPage();
		await page.goto(`${daemon.origin}/`, { timeout: 20000 });
		await page.waitForSelector('#username:visible', { timeout: 20000 });
		await page.fill('#username', 'demo');
		await page.fill('#password', daemon.password);
		await page.click('#login');
		const first = await page.waitForFunction(() => window.benchFirstFrame && window.benchFirstFrame - window.benchClick,
			null, { timeout: 30000 });
		result.loginToFrame = await first.jsonValue();

		// Let the stream settle (first keyframes, rate control).
		await poll(() => page.evaluate(() => window.glassbox.stats().then((s) => s.connected)), { timeoutMs: 10000 });
		await sleep(2000);

		const sdp = await page.evaluate(() => window.glassbox.sdp());
		const ext = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
		result.offered = sdp.offer.includes(ext);
		result.accepted = sdp.answer.includes(ext);

		// Glass-to-glass.
		const before = await page.evaluate(() => window.glassbox.stats());
		const t0 = Date.now();
		const clock = await page.evaluate((n) => window.glassbox.clock({ frames: n, timeoutMs: 60000 }), frames);
		const after = await page.evaluate(() => window.glassbox.stats());
		const seconds = (Date.now() - t0) / 1000;
		const latencies = clock.samples.map((s) => s.latency);
		result.g2gP50 = percentile(latencies, 50);
		result.g2gP95 = percentile(latencies, 95);
		result.g2gSamples = latencies.length;
		result.unreadable = clock.unreadable;
		result.fps = (after.framesDecoded - before.framesDecoded) / seconds;
		result.jitterBufferMs = after.jitterBufferMs;
		result.decodeMs = after.decodeMs;
		result.bitrateKbps = after.bitrateKbps;
		result.encoder = after.encoder;

		// Input-to-photon, in the middle of the picture (away from the clock).
		const i2p = [];
		for (let i = 0; i < presses; i++) {
			const ms = await page.evaluate(({ x, y }) => window.glassbox.inputToPhoton({ code: 'Space', x, y, timeoutMs: 3000 }),
				{ x: Math.floor(size.width / 2), y: Math.floor(size.height / 2) });
			if (ms !== null)
				i2p.push(ms);
			await sleep(150 + Math.random() * 100);
		}
		result.i2pP50 = percentile(i2p, 50);
		result.i2pP95 = percentile(i2p, 95);
		result.i2pSamples = i2p.length;

		// Come back to the running session: reload -> first frame.
		await page.reload();
		const rejoin = await page.waitForFunction(() => window.benchFirstFrame, null, { timeout: 30000 });
		result.rejoinToFrame = await rejoin.jsonValue();
	} catch (error) {
		result.error = String(error.message ?? error).split('\n')[0];
		log(`  ${result.size} ${codec}: ${result.error} (log: ${daemon.logPath})`);
	} finally {
		if (browser)
			await browser.close().catch(() => {});
		await daemon.stop();
		daemon.cleanup(Boolean(result.error));
	}
	return result;
}

// Input-to-photon on a still screen (the client without --clock): what
// typing into an idle terminal feels like. Presses are spaced so that the
// screen is still before each.
async function measureStill({ size, codec, playoutDelay, lowLatency }, result) {
	const settings = {};
	if (codec === 'h264' && lowLatency !== null)
		settings['30-encoder-x264.ini'] = { [x264LowLatencyKey()]: lowLatency ? 'true' : 'false' };
	const daemon = new Daemon({ name: 'bench-still', codec, width: size.width, height: size.height,
		webrtc: { playout_delay: playoutDelay }, settings });
	let browser = null;
	let error = null;
	try {
		await daemon.start();
		browser = await launchChromium();
		const context = await browser.newContext({ viewport: size });
		const page = await login(context, daemon);
		await poll(() => page.evaluate(() => window.glassbox.stats().then((s) => s.connected && s.framesDecoded > 0)),
			{ timeoutMs: 20000 });
		await sleep(1500);
		const still = [];
		for (let i = 0; i < stillPresses; i++) {
			const ms = await page.evaluate(({ x, y }) => window.glassbox.inputToPhoton({ code: 'Space', x, y, timeoutMs: 5000 }),
				{ x: Math.floor(size.width / 2), y: Math.floor(size.height / 2) });
			if (ms !== null)
				still.push(ms);
			await sleep(1200 + Math.random() * 300);
		}
		result.stillP50 = percentile(still, 50);
		result.stillP95 = percentile(still, 95);
		result.stillSamples = still.length;
	} catch (e) {
		error = String(e.message ?? e).split('\n')[0];
		result.stillError = error;
		log(`  still ${result.size} ${codec}: ${error} (log: ${daemon.logPath})`);
	} finally {
		if (browser)
			await browser.close().catch(() => {});
		await daemon.stop();
		daemon.cleanup(Boolean(error));
	}
}

const runs = [];
for (const size of sizes) {
	for (const codec of codecs) {
		runs.push({ size, codec, playoutDelay: true, lowLatency: codec === 'h264' ? true : null });
		if (!allVariants)
			continue;
		runs.push({ size, codec, playoutDelay: false, lowLatency: codec === 'h264' ? true : null });
		if (codec === 'h264')
			runs.push({ size, codec, playoutDelay: true, lowLatency: false });
	}
}

const cpus = os.cpus();
log(`machine: ${cpus.length} x ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
	`${frames} clock frames and ${presses} key presses per run; x264 low-latency key '${x264LowLatencyKey()}'`);
const results = [];
for (const run of runs) {
	log(`run: ${run.size.width}x${run.size.height} ${run.codec} playout-delay ${run.playoutDelay ? 'on' : 'off'}` +
		`${run.lowLatency === null ? '' : ` x264 low-latency ${run.lowLatency ? 'on' : 'off'}`}`);
	const r = await measure(run);
	if (stillPresses > 0)
		await measureStill(run, r);
	results.push(r);
	log(`  ${JSON.stringify(r)}`);
}

const header = ['size', 'codec', 'encoder', 'pd', 'pd ok', 'x264 ll', 'login→frame', 'rejoin→frame',
	'g2g p50', 'g2g p95', 'n', 'bad', 'i2p p50', 'i2p p95', 'n', 'still p50', 'still p95', 'n', 'fps', 'jb ms', 'dec ms', 'kbit/s'];
const rows = results.map((r) => r.error ? [r.size, r.codec, `error: ${r.error}`] : [
	r.size, r.codec, r.encoder ?? '–', r.playoutDelay ? 'on' : 'off',
	`${r.offered ? 'offered' : 'absent'}/${r.accepted ? 'kept' : 'dropped'}`,
	r.lowLatency === null ? '' : r.lowLatency ? 'on' : 'off',
	fmt(r.loginToFrame), fmt(r.rejoinToFrame), fmt(r.g2gP50), fmt(r.g2gP95), String(r.g2gSamples), String(r.unreadable),
	fmt(r.i2pP50), fmt(r.i2pP95), String(r.i2pSamples),
	fmt(r.stillP50), fmt(r.stillP95), r.stillError ? 'error' : String(r.stillSamples ?? '–'), fmt(r.fps, 1), fmt(r.jitterBufferMs, 1),
	fmt(r.decodeMs, 2), fmt(r.bitrateKbps),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i] ?? '').length)));
const line = (cells) => cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ').trimEnd();
console.log('');
console.log('Times in ms. pd: webrtc.playout_delay; pd ok: extension in the offer / in Chromium\'s answer;');
console.log('x264 ll: the encoder\'s zerolatency tuning; n: samples; bad: frames whose clock was unreadable;');
console.log('g2g: glass-to-glass; i2p: input-to-photon while the client redraws every frame; still: input-to-photon');
console.log('on a still screen (client without --clock); jb: jitter buffer delay; dec: decode time per frame.');
console.log(line(header));
for (const row of rows)
	console.log(line(row));
