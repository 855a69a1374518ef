// SPDX-License-Identifier: MIT
// Keyboard, pointer and wheel over the video, sent on the data channel
// "input" as the JSON messages of docs/streaming-protocol.md.

import { WHEEL_LIMIT, elementToOutput, requestedSize, wheelPixels } from './geometry.js';

// MouseEvent.buttons bit -> MouseEvent.button (the protocol's numbering).
const BUTTON_BITS = [
	[1, 0], // primary
	[2, 2], // secondary
	[4, 1], // auxiliary (middle)
	[8, 3], // back
	[16, 4], // forward
];

const RESIZE_DEBOUNCE_MS = 250;

export class InputCapture {
	constructor(video, { ignore = () => false } = {}) {
		this.video = video;
		this.ignore = ignore; // events on the toolbar are not the application's
		this.channel = null;
		this.active = false;
		this.buttons = 0;
		this.wheelRest = { x: 0, y: 0 };
		this.lastSize = null;
		this.resizeTimer = 0;
		this.sent = 0;
		this.lastKeySentAt = 0;
		this.install();
	}

	/** The view is shown (true) or hidden (false); a hidden view sends nothing. */
	setActive(active) {
		if (this.active && !active)
			this.releaseAll();
		this.active = active;
	}

	/** A new (or no) channel. The hello message carried the size, so remember it. */
	setChannel(channel, helloSize) {
		this.channel = channel;
		this.buttons = 0;
		this.wheelRest = { x: 0, y: 0 };
		if (channel)
			this.lastSize = helloSize ?? null;
	}

	/** Whether input is sent now: the view is shown and the channel is open. */
	get ready() {
		return this.active && this.channel?.readyState === 'open';
	}

	send(message) {
		if (!this.ready)
			return false;
		// Stale input is worse than lost input, so nothing is queued while closed.
		this.channel.send(JSON.stringify(message));
		this.sent++;
		return true;
	}

	sendKey(code, down) {
		const sent = this.send({ type: 'key', code, down });
		if (sent && down)
			this.lastKeySentAt = Date.now();
		return sent;
	}

	releaseAll() {
		this.buttons = 0;
		this.send({ type: 'release-all' });
	}

	/** The size of the video area, in CSS pixels: what the page asks of the session. */
	videoAreaSize() {
		return requestedSize(this.video.clientWidth, this.video.clientHeight);
	}

	install() {
		const video = this.video;
		const keys = (event) => this.key(event);
		// Capture phase on window: the page has no text field while streaming.
		window.addEventListener('keydown', keys, true);
		window.addEventListener('keyup', keys, true);

		const pointer = (event) => this.pointer(event);
		video.addEventListener('pointerdown', pointer);
		video.addEventListener('pointermove', pointer);
		video.addEventListener('pointerup', pointer);
		video.addEventListener('pointercancel', pointer);
		video.addEventListener('wheel', (event) => this.wheel(event), { passive: false });
		video.addEventListener('contextmenu', (event) => event.preventDefault());
		// Back/forward mouse buttons would navigate the tab away.
		video.addEventListener('mouseup', (event) => {
			if (event.button === 3 || event.button === 4)
				event.preventDefault();
		});

		// Whatever is held when the page loses the keyboard would stay held
		// in the application: the key-up goes to another window.
		window.addEventListener('blur', () => this.releaseAll());
		document.addEventListener('visibilitychange', () => {
			if (document.visibilityState === 'hidden')
				this.releaseAll();
		});
		window.addEventListener('pagehide', () => this.releaseAll());

		window.addEventListener('resize', () => {
			clearTimeout(this.resizeTimer);
			this.resizeTimer = setTimeout(() => this.resized(), RESIZE_DEBOUNCE_MS);
		});
	}

	key(event) {
		if (!this.active || this.ignore(event))
			return;
		// Every key goes to the application and the browser does nothing with
		// it (no find bar, no page scroll, no Tab focus move). What the browser
		// reserves (Ctrl+W, Ctrl+T, Alt+F4, ...) never reaches the page outside
		// keyboard lock; in full screen with the lock it does, and goes on too.
		event.preventDefault();
		event.stopPropagation();
		// The application repeats held keys itself (wl_keyboard repeat_info).
		if (event.repeat || event.isComposing)
			return;
		if (!event.code || event.code === 'Unidentified')
			return;
		this.sendKey(event.code, event.type === 'keydown');
	}

	position(event) {
		const rect = this.video.getBoundingClientRect();
		return elementToOutput(event.clientX - rect.left, event.clientY - rect.top,
			rect.width, rect.height, this.video.videoWidth, this.video.videoHeight);
	}

	pointer(event) {
		if (!this.active || this.ignore(event))
			return;
		if (event.type === 'pointerdown') {
			// Keep getting moves and the release when a drag leaves the video.
			this.video.setPointerCapture?.(event.pointerId);
			window.focus();
		}
		event.preventDefault();
		const point = this.position(event);
		if (point)
			this.send({ type: 'move', x: point.x, y: point.y });
		// Chorded buttons come as pointermove with a new buttons mask, so the
		// mask, not event.button, says what changed.
		const buttons = event.type === 'pointercancel' ? 0 : event.buttons;
		const changed = buttons ^ this.buttons;
		if (changed === 0)
			return;
		for (const [bit, button] of BUTTON_BITS) {
			if (changed & bit)
				this.send({ type: 'button', button, down: (buttons & bit) !== 0 });
		}
		this.buttons = buttons;
	}

	wheel(event) {
		if (!this.active)
			return;
		event.preventDefault();
		// Fractional trackpad deltas add up instead of rounding to nothing.
		const height = this.video.clientHeight;
		const x = wheelPixels(event.deltaX, event.deltaMode, height) + this.wheelRest.x;
		const y = wheelPixels(event.deltaY, event.deltaMode, height) + this.wheelRest.y;
		const dx = Math.max(-WHEEL_LIMIT, Math.min(WHEEL_LIMIT, Math.trunc(x)));
		const dy = Math.max(-WHEEL_LIMIT, Math.min(WHEEL_LIMIT, Math.trunc(y)));
		this.wheelRest = { x: x - dx, y: y - dy };
		if (dx !== 0 || dy !== 0)
			this.send({ type: 'wheel', dx, dy });
	}

	resized() {
		const size = this.videoAreaSize();
		if (!size || (this.lastSize && size.width === this.lastSize.width &&
			size.height === this.lastSize.height))
			return;
		if (this.send({ type: 'resize', width: size.width, height: size.height }))
			this.lastSize = size;
	}
}
