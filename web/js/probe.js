// SPDX-License-Identifier: MIT
// Reading pixels back from the video, for tests and benchmarks: the average
// colour of a rectangle, the time glassbox-test-client --clock writes into
// its window, and input-to-photon latency. Loaded only when one is asked for.

// The --clock pattern (tests/clients/glassbox-test-client.c draws it): a
// grid of CLOCK_COLUMNS x CLOCK_ROWS blocks of CLOCK_BLOCK pixels whose
// top-left corner is at (CLOCK_X, CLOCK_Y) of the window, white for 1 and
// black for 0. Row 0 is the marker (white on even columns), rows 1-3 the
// CLOCK_REALTIME time in ms, 48 bits with the most significant first, and
// rows 4-6 the same bits inverted, so that a misread block is caught.
export const CLOCK_X = 16;
export const CLOCK_Y = 16;
export const CLOCK_BLOCK = 16;
export const CLOCK_COLUMNS = 16;
export const CLOCK_ROWS = 7;
const CLOCK_BITS = 48;

let canvas = null;
let context = null;

/** Draw the part x,y,w,h (video pixels) of the current frame; its RGBA bytes. */
function grab(video, x, y, w, h) {
	if (!video.videoWidth || !video.videoHeight)
		return null;
	x = Math.max(0, Math.floor(x));
	y = Math.max(0, Math.floor(y));
	w = Math.max(1, Math.min(Math.floor(w), video.videoWidth - x));
	h = Math.max(1, Math.min(Math.floor(h), video.videoHeight - y));
	if (!canvas) {
		canvas = document.createElement('canvas');
		context = canvas.getContext('2d', { willReadFrequently: true });
	}
	if (canvas.width !== w || canvas.height !== h) {
		canvas.width = w;
		canvas.height = h;
	}
	context.drawImage(video, x, y, w, h, 0, 0, w, h);
	return context.getImageData(0, 0, w, h).data;
}

/** Average colour {r, g, b} of x,y,w,h in output pixels, or null before the first frame. */
export function averageColour(video, x, y, w, h) {
	const data = grab(video, x, y, w, h);
	if (!data)
		return null;
	let r = 0;
	let g = 0;
	let b = 0;
	const n = data.length / 4;
	for (let i = 0; i < data.length; i += 4) {
		r += data[i];
		g += data[i + 1];
		b += data[i + 2];
	}
	return { r: Math.round(r / n), g: Math.round(g / n), b: Math.round(b / n) };
}

/** The time in the --clock pattern of the current frame (ms since the epoch), or null. */
export function readClock(video) {
	const w = CLOCK_COLUMNS * CLOCK_BLOCK;
	const h = CLOCK_ROWS * CLOCK_BLOCK;
	if (video.videoWidth < CLOCK_X + w || video.videoHeight < CLOCK_Y + h)
		return null;
	const data = grab(video, CLOCK_X, CLOCK_Y, w, h);
	if (!data)
		return null;
	// The middle 8x8 of each block: far from the edges that the encoder blurs.
	const bit = (column, row) => {
		let sum = 0;
		const x0 = column * CLOCK_BLOCK + CLOCK_BLOCK / 4;
		const y0 = row * CLOCK_BLOCK + CLOCK_BLOCK / 4;
		for (let y = y0; y < y0 + CLOCK_BLOCK / 2; y++) {
			for (let x = x0; x < x0 + CLOCK_BLOCK / 2; x++) {
				const i = (y * w + x) * 4;
				sum += data[i] + data[i + 1] + data[i + 2];
			}
		}
		return sum / ((CLOCK_BLOCK * CLOCK_BLOCK) / 4) / 3 >= 128 ? 1 : 0;
	};
	for (let column = 0; column < CLOCK_COLUMNS; column++) {
		if (bit(column, 0) !== (column % 2 === 0 ? 1 : 0))
			return null;
	}
	let value = 0;
	for (let i = 0; i < CLOCK_BITS; i++) {
		const column = i % CLOCK_COLUMNS;
		const row = 1 + Math.floor(i / CLOCK_COLUMNS);
		const b = bit(column, row);
		if (bit(column, row + 3) === b)
			return null;
		value = value * 2 + b; // 48 bits stay exact in a double
	}
	return value;
}

/** Wait for the next frame the compositor presents; null after timeoutMs. */
function nextFrame(video, timeoutMs) {
	return new Promise((resolve) => {
		let done = false;
		const timer = setTimeout(() => {
			done = true;
			resolve(null);
		}, timeoutMs);
		video.requestVideoFrameCallback((now, metadata) => {
			if (done)
				return;
			clearTimeout(timer);
			resolve({ at: Date.now(), metadata });
		});
	});
}

/**
 * Glass-to-glass samples: for each of up to `frames` presented frames, the
 * time written into it by the client and the time the page got it
 * (Date.now() in requestVideoFrameCallback; same machine, same clock).
 */
export async function clockSamples(video, { frames = 300, timeoutMs = 30000 } = {}) {
	const samples = [];
	let unreadable = 0;
	const deadline = Date.now() + timeoutMs;
	while (samples.length + unreadable < frames && Date.now() < deadline) {
		const frame = await nextFrame(video, Math.max(1, deadline - Date.now()));
		if (!frame)
			break;
		const drawn = readClock(video);
		if (drawn === null) {
			unreadable++;
			continue;
		}
		samples.push({ drawn, shown: frame.at, latency: frame.at - drawn });
	}
	return { samples, unreadable };
}

function differs(a, b, tolerance) {
	return Math.abs(a.r - b.r) > tolerance || Math.abs(a.g - b.g) > tolerance ||
		Math.abs(a.b - b.b) > tolerance;
}

/**
 * Input-to-photon: note the colour at x,y (output pixels), send a press and
 * release of `code` through the same path as a real key, and time until a
 * presented frame shows another colour there. ms, or null on timeout.
 */
export async function inputToPhoton(video, input, { code = 'Space', x = 0, y = 0, size = 8, timeoutMs = 5000 } = {}) {
	const before = averageColour(video, x, y, size, size);
	if (!before)
		return null;
	const sent = Date.now();
	if (!input.sendKey(code, true))
		return null;
	input.sendKey(code, false);
	const deadline = sent + timeoutMs;
	while (Date.now() < deadline) {
		const frame = await nextFrame(video, Math.max(1, deadline - Date.now()));
		if (!frame)
			return null;
		const now = averageColour(video, x, y, size, size);
		if (now && differs(now, before, 60))
			return frame.at - sent;
	}
	return null;
}
