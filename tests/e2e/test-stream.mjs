// SPDX-License-Identifier: MIT
// End to end, one codec: log in through the page, see the application's
// colour, type and click into it, switch its colour with a key, resize it,
// watch it from a second tab, leave and come back, and leave with a key held.
//
// Usage (inside tests/e2e/run-in-netns): node test-stream.mjs h264|vp8

import {
	Daemon, check, failed, centreColour, finish, hexColour, launchChromium, log, login, poll,
	requirePrerequisites, show, sleep, waitColour,
} from './lib/harness.mjs';

const codec = process.argv[2] ?? 'h264';
const expectedCodec = { h264: 'H264', vp8: 'VP8' }[codec];
if (!expectedCodec) {
	console.error('usage: test-stream.mjs h264|vp8');
	process.exit(2);
}
requirePrerequisites();

const WIDTH = 1280;
const HEIGHT = 720;
const COLOUR = '336699';
const ALT_COLOUR = 'cc6633';
const KEY_A = 30;
const KEY_B = 48;
const KEY_SPACE = 57;
const BTN_LEFT = 272;
const BTN_RIGHT = 273;

// The idle refresh is made long so that a change that only reaches the
// browser with the next repeat of the last frame shows up as a failure.
const IDLE_REFRESH_MS = 10000;
const daemon = new Daemon({ name: `e2e-${codec}`, codec, width: WIDTH, height: HEIGHT,
	color: COLOUR, altColor: ALT_COLOUR, session: { idle_timeout_s: 60 },
	webrtc: { idle_refresh_ms: IDLE_REFRESH_MS } });
let browser = null;
let keep = false;

// A check the rest depends on: without it the later steps would only time out.
function must(condition, message) {
	if (!check(condition, message))
		throw new Error(`stopping here: ${message}`);
}

// The motion and button lines of one click at x,y (output pixels), ±1 for rounding.
async function expectClick(button, x, y, what) {
	const near = (line) => {
		const m = line?.match(/(-?\d+) (-?\d+)$/);
		return m && Math.abs(Number(m[1]) - x) <= 1 && Math.abs(Number(m[2]) - y) <= 1;
	};
	const pressed = await daemon.waitLine(new RegExp(`pointer button ${button} pressed -?\\d+ -?\\d+`), 10000);
	check(near(pressed), `${what}: the client got button ${button} pressed at ${x},${y} (${pressed})`);
	const released = await daemon.waitLine(new RegExp(`pointer button ${button} released -?\\d+ -?\\d+`), 10000);
	check(near(released), `${what}: and released at ${x},${y} (${released})`);
}

/** Input goes out only while the data channel is open. */
function inputReady(page) {
	return poll(() => page.evaluate(() => window.glassbox.input.ready()), { timeoutMs: 15000 });
}

async function run() {
	await daemon.start();
	browser = await launchChromium();
	const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT } });

	// Log in; the application's colour shows.
	daemon.mark();
	const t0 = Date.now();
	const page = await login(context, daemon);
	const early = await waitColour(page, hexColour(COLOUR), 40, 20000);
	must(early.ok, `${codec}: the client's colour #${COLOUR} is in video#screen within 20 s ` +
		`(${Date.now() - t0} ms after loading the page; saw ${show(early.last)})`);
	// The first frames of a loaded machine may be coarse; the idle refresh
	// re-encodes the still picture, so allow one refresh period.
	await sleep(1500);
	const settled = await waitColour(page, hexColour(COLOUR), 8, IDLE_REFRESH_MS + 5000);
	check(settled.ok, `${codec}: settled colour within ±8 (${show(settled.last)})`);

	const stats = await page.evaluate(() => window.glassbox.stats());
	check(stats.connected === true, `${codec}: stats say connected`);
	check(stats.codec === expectedCodec, `${codec}: stats codec is ${expectedCodec} (${stats.codec}, ${stats.mimeType})`);
	check(typeof stats.encoder === 'string' && stats.encoder !== '', `${codec}: stats name the encoder (${stats.encoder})`);
	check(stats.framesDecoded > 0, `${codec}: frames decoded (${stats.framesDecoded})`);
	check(stats.width === WIDTH && stats.height === HEIGHT, `${codec}: picture is ${WIDTH}x${HEIGHT} (${stats.width}x${stats.height})`);
	const first = await page.evaluate(() => window.glassbox.session());
	check(first && /^[0-9a-f]{16}$/.test(first.id) && first.joined === false,
		`${codec}: a new session (${JSON.stringify(first)})`);

	// Keys: the client prints the evdev codes. Input sent before the
	// channel opens is dropped on purpose, so wait for it.
	must(await inputReady(page), `${codec}: the input channel is open`);
	daemon.mark();
	await page.keyboard.press('KeyA');
	await page.keyboard.press('KeyB');
	check(await daemon.waitLine(new RegExp(`key ${KEY_A} pressed`)), `${codec}: KeyA reached the client as key ${KEY_A} pressed`);
	check(await daemon.waitLine(new RegExp(`key ${KEY_A} released`)), `${codec}: and released`);
	check(await daemon.waitLine(new RegExp(`key ${KEY_B} pressed`)), `${codec}: KeyB reached the client as key ${KEY_B} pressed`);
	check(await daemon.waitLine(new RegExp(`key ${KEY_B} released`)), `${codec}: and released`);

	// Clicks at 1:1 scale: page pixels are output pixels.
	daemon.mark();
	await page.mouse.click(400, 300);
	await expectClick(BTN_LEFT, 400, 300, `${codec}: left click at 1:1`);
	await page.mouse.click(1000, 500, { button: 'right' });
	await expectClick(BTN_RIGHT, 1000, 500, `${codec}: right click at 1:1`);

	// Letterboxed: the video element half as wide shows the picture at half
	// size, centred vertically (object-fit: contain).
	await page.evaluate(() => { document.getElementById('screen').style.width = '50%'; });
	await sleep(100);
	daemon.mark();
	// The picture is 640x360 at y = 180; (320, 270) is output (640, 180).
	await page.mouse.click(320, 270);
	await expectClick(BTN_LEFT, 640, 180, `${codec}: click scaled through the letterbox`);
	await page.evaluate(() => { document.getElementById('screen').style.width = ''; });

	// Wheel.
	daemon.mark();
	await page.mouse.move(640, 360);
	await page.mouse.wheel(0, 120);
	const axis = await daemon.waitLine(/pointer axis vertical [0-9.]+/, 10000);
	check(axis && Number(axis.split(' ').pop()) > 0, `${codec}: wheel down reached the client (${axis})`);

	// The switch key changes the colour, and the browser sees it, on a
	// screen that was still: not only with the next idle repeat.
	await sleep(2000);
	daemon.mark();
	const pressed = Date.now();
	await page.keyboard.press('Space');
	check(await daemon.waitLine(new RegExp(`key ${KEY_SPACE} pressed`)), `${codec}: Space reached the client`);
	check(await daemon.waitLine(new RegExp(`color ${ALT_COLOUR}`)), `${codec}: the client switched to #${ALT_COLOUR}`);
	const switched = await waitColour(page, hexColour(ALT_COLOUR), 40, IDLE_REFRESH_MS + 5000);
	const switchMs = Date.now() - pressed;
	check(switched.ok, `${codec}: the browser shows #${ALT_COLOUR} (${show(switched.last)}, ${switchMs} ms after the key)`);
	check(switched.ok && switchMs < IDLE_REFRESH_MS / 2,
		`${codec}: the change came when it happened, not with the idle refresh ${IDLE_REFRESH_MS} ms later (${switchMs} ms)`);

	// Resize: the page asks for its new size, the client is configured to it.
	daemon.mark();
	await page.setViewportSize({ width: 800, height: 600 });
	check(await daemon.waitLine(/configure 800 600/, 15000), `${codec}: after resizing the page to 800x600 the client printed "configure 800 600"`);
	const resized = await poll(async () => {
		const s = await page.evaluate(() => window.glassbox.stats());
		return s.width === 800 && s.height === 600 ? s : null;
	}, { timeoutMs: 15000 });
	check(resized, `${codec}: the picture is 800x600`);
	const resizedColour = await waitColour(page, hexColour(ALT_COLOUR), 40, 10000);
	check(resizedColour.ok, `${codec}: and still #${ALT_COLOUR} (${show(resizedColour.last)})`);

	// A second tab of the same user joins the same session.
	const second = await login(context, daemon, { viewport: { width: 800, height: 600 } });
	const joined = await poll(() => second.evaluate(() => window.glassbox.session()), { timeoutMs: 15000 });
	check(joined && joined.id === first.id && joined.joined === true,
		`${codec}: a second tab joins the same session (${JSON.stringify(joined)})`);
	const secondColour = await waitColour(second, hexColour(ALT_COLOUR), 40, 20000);
	check(secondColour.ok, `${codec}: the second tab shows #${ALT_COLOUR} (${show(secondColour.last)})`);
	const firstStill = await waitColour(page, hexColour(ALT_COLOUR), 40, 5000);
	check(firstStill.ok, `${codec}: the first tab still shows it (${show(firstStill.last)})`);
	await second.close();

	// Close the tab and come back: the same session.
	await page.close();
	await sleep(500);
	const back = await login(context, daemon, { viewport: { width: 800, height: 600 } });
	const again = await poll(() => back.evaluate(() => window.glassbox.session()), { timeoutMs: 15000 });
	check(again && again.id === first.id && again.joined === true,
		`${codec}: after closing the tab, a new one gets the same session (${JSON.stringify(again)})`);
	const backColour = await waitColour(back, hexColour(ALT_COLOUR), 40, 20000);
	check(backColour.ok, `${codec}: and shows #${ALT_COLOUR} (${show(backColour.last)})`);

	// Close the tab while holding a key: the client sees it released.
	check(await inputReady(back), `${codec}: the new tab's input channel is open`);
	daemon.mark();
	await back.keyboard.down('KeyB');
	check(await daemon.waitLine(new RegExp(`key ${KEY_B} pressed`)), `${codec}: KeyB held down`);
	daemon.mark();
	await back.close({ runBeforeUnload: false });
	check(await daemon.waitLine(new RegExp(`key ${KEY_B} released`), 10000),
		`${codec}: closing the tab with KeyB held released it in the client`);

	await context.close();
}

try {
	await run();
} catch (error) {
	keep = true;
	check(false, `${codec}: ${error.stack ?? error}`);
} finally {
	if (browser)
		await browser.close().catch(() => {});
	await daemon.stop();
	daemon.cleanup(keep || failed() > 0);
}
finish(`test-stream ${codec}`);
