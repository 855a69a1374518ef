// SPDX-License-Identifier: MIT
// Pure helpers with no DOM access, so that tests/e2e can check them in Node.

/** Receive codec names for the hello message, e.g. ["VP8", "H264"]; no rtx/red/fec. */
export function receiveCodecs(capabilities) {
	const skip = new Set(['RTX', 'RED', 'ULPFEC', 'FLEXFEC-03']);
	const names = [];
	for (const codec of capabilities?.codecs ?? []) {
		const name = String(codec.mimeType ?? '').replace(/^video\//i, '');
		if (name === '' || skip.has(name.toUpperCase()) || names.includes(name))
			continue;
		names.push(name);
	}
	return names;
}

/**
 * Where a videoWidth x videoHeight picture lands inside an element of
 * elementWidth x elementHeight drawn with object-fit: contain: the largest
 * rectangle of the picture's aspect ratio, centred (letterboxed or
 * pillarboxed). Coordinates are relative to the element.
 */
export function containRect(elementWidth, elementHeight, videoWidth, videoHeight) {
	if (!(elementWidth > 0 && elementHeight > 0 && videoWidth > 0 && videoHeight > 0))
		return null;
	const scale = Math.min(elementWidth / videoWidth, elementHeight / videoHeight);
	const width = videoWidth * scale;
	const height = videoHeight * scale;
	return {
		x: (elementWidth - width) / 2,
		y: (elementHeight - height) / 2,
		width,
		height,
	};
}

/**
 * A point relative to the element, in CSS pixels, as output pixels of the
 * video, or null before the first frame. Points on the black bars are
 * clamped to the picture's edge, so that a drag that leaves the picture
 * still ends at its border; the result stays in 0 <= x < videoWidth.
 */
export function elementToOutput(px, py, elementWidth, elementHeight, videoWidth, videoHeight) {
	const rect = containRect(elementWidth, elementHeight, videoWidth, videoHeight);
	if (!rect)
		return null;
	const clamp = (v, max) => Math.min(Math.max(v, 0), max);
	// Two decimals are plenty and keep the JSON short.
	const round = (v) => Math.round(v * 100) / 100;
	const x = clamp(((px - rect.x) * videoWidth) / rect.width, videoWidth - 0.01);
	const y = clamp(((py - rect.y) * videoHeight) / rect.height, videoHeight - 0.01);
	return { x: Math.min(round(x), videoWidth - 0.01), y: Math.min(round(y), videoHeight - 0.01) };
}

/** WheelEvent.deltaMode, as the CSS pixels one unit stands for. */
export const WHEEL_LINE_PX = 40;
export const WHEEL_LIMIT = 10000;

/** A wheel delta in pixels (deltaMode 0), clamped to the protocol's range; not rounded. */
export function wheelPixels(delta, deltaMode, pageHeight) {
	let px = delta;
	if (deltaMode === 1)
		px = delta * WHEEL_LINE_PX;
	else if (deltaMode === 2)
		px = delta * (pageHeight > 0 ? pageHeight : 800);
	if (!Number.isFinite(px))
		return 0;
	return Math.min(Math.max(px, -WHEEL_LIMIT), WHEEL_LIMIT);
}

/**
 * Reconnect delay for the attempt-th retry (0 first): base doubling up to
 * max, then a random 50..100 % of it so that many tabs dropped by one
 * restart of glassboxd do not all come back in the same instant.
 */
export function backoffDelay(attempt, { base = 500, max = 10000, random = Math.random } = {}) {
	const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(attempt, 0), 30));
	return Math.round(ceiling * (0.5 + 0.5 * random()));
}

/** The size to ask of the session for a video area, in CSS pixels (see README). */
export function requestedSize(width, height) {
	const w = Math.floor(width);
	const h = Math.floor(height);
	if (!(w > 0 && h > 0))
		return null;
	return { width: w, height: h };
}
