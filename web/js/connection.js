// SPDX-License-Identifier: MIT
// Signalling over the WebSocket /api/session and the RTCPeerConnection it
// sets up (docs/streaming-protocol.md). The session offers, the page answers;
// ICE candidates trickle both ways. A dropped connection is retried with
// exponential backoff; a session that ended or refused us is not.

import { whoami } from './api.js';
import { backoffDelay, receiveCodecs } from './geometry.js';

const BACKOFF = { base: 500, max: 10000 };

export class Connection {
	/**
	 * hooks: onStatus(state, text) with state "connecting" | "connected" |
	 * "waiting" | "final"; onSession(message); onInfo(message);
	 * onChannel(RTCDataChannel | null); onLoggedOut(); size() -> {width, height} | null.
	 */
	constructor(video, hooks) {
		this.video = video;
		this.hooks = hooks;
		this.ws = null;
		this.pc = null;
		this.channel = null;
		this.stopped = true;
		this.attempt = 0;
		this.timer = 0;
		this.final = null;
		this.session = null;
		this.info = null;
		this.offerSdp = '';
		this.answerSdp = '';
		this.pendingCandidates = [];
		// Messages are handled one at a time, in order: an ICE candidate must
		// not overtake the offer whose setRemoteDescription is still running.
		this.queue = Promise.resolve();
		this.generation = 0;
	}

	start() {
		this.stopped = false;
		this.final = null;
		this.attempt = 0;
		this.open();
	}

	/** Close everything and do not come back (logout). */
	stop() {
		this.stopped = true;
		clearTimeout(this.timer);
		this.teardown();
	}

	/** The user asked to connect again after an end, an error or while waiting. */
	retryNow() {
		clearTimeout(this.timer);
		this.final = null;
		this.teardown();
		this.stopped = false;
		this.open();
	}

	get connected() {
		return this.pc?.connectionState === 'connected';
	}

	open() {
		const generation = ++this.generation;
		const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
		this.hooks.onStatus('connecting', this.attempt === 0 ? 'Connecting…' : 'Reconnecting…');
		let ws;
		try {
			ws = new WebSocket(`${scheme}//${location.host}/api/session`);
		} catch (error) {
			this.dropped(generation, `cannot open the WebSocket: ${error.message}`);
			return;
		}
		this.ws = ws;
		ws.onmessage = (event) => {
			if (generation !== this.generation)
				return;
			let message;
			try {
				message = JSON.parse(event.data);
			} catch {
				console.warn('glassbox: ignoring a frame that is not JSON');
				return;
			}
			if (typeof message?.type !== 'string')
				return;
			this.queue = this.queue
				.then(() => this.handle(generation, message))
				.catch((error) => console.error(`glassbox: ${message.type}:`, error));
		};
		ws.onclose = (event) => {
			if (generation !== this.generation)
				return;
			const why = event.reason || `code ${event.code}`;
			this.dropped(generation, `the signalling connection closed (${why})`);
		};
	}

	send(message) {
		if (this.ws?.readyState === WebSocket.OPEN)
			this.ws.send(JSON.stringify(message));
	}

	async handle(generation, message) {
		if (generation !== this.generation)
			return;
		switch (message.type) {
		case 'session': {
			this.session = message;
			this.hooks.onSession(message);
			const codecs = receiveCodecs(RTCRtpReceiver.getCapabilities?.('video'));
			const hello = { type: 'hello', codecs };
			const size = this.hooks.size();
			if (size) {
				hello.width = size.width;
				hello.height = size.height;
			}
			this.send(hello);
			break;
		}
		case 'offer':
			await this.answer(generation, message.sdp);
			break;
		case 'ice':
			await this.remoteCandidate(message);
			break;
		case 'info':
			this.info = message;
			this.hooks.onInfo(message);
			break;
		case 'error':
			this.final = `The session refused this view: ${message.message ?? 'no reason given'}`;
			break;
		case 'ended':
			this.final = `The session ended${message.reason ? `: ${message.reason}` : '.'}`;
			break;
		default:
			// Newer servers may send more; ignoring them keeps old pages working.
			break;
		}
	}

	createPeerConnection(generation) {
		// Host candidates only: STUN/TURN are configured on the server side,
		// and glassboxd does not hand them to the page (yet).
		const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
		pc.ontrack = (event) => {
			if (generation !== this.generation)
				return;
			const stream = event.streams[0] ?? new MediaStream([event.track]);
			if (this.video.srcObject !== stream)
				this.video.srcObject = stream;
			this.video.play().catch(() => {
				// Autoplay of a muted video is always allowed; nothing to do.
			});
		};
		pc.onicecandidate = (event) => {
			if (generation !== this.generation)
				return;
			const c = event.candidate;
			// null ends our candidates; the protocol says so with an empty string.
			this.send({
				type: 'ice',
				candidate: c ? c.candidate : '',
				sdpMLineIndex: c?.sdpMLineIndex ?? 0,
			});
		};
		pc.ondatachannel = (event) => {
			if (generation !== this.generation || event.channel.label !== 'input')
				return;
			this.channel = event.channel;
			this.hooks.onChannel(event.channel);
		};
		pc.onconnectionstatechange = () => {
			if (generation !== this.generation)
				return;
			if (pc.connectionState === 'connected') {
				// Only a working stream resets the backoff, so that a server
				// that accepts and then drops us is not hammered.
				this.attempt = 0;
				this.hooks.onStatus('connected', '');
			} else if (pc.connectionState === 'failed') {
				this.ws?.close(1000, 'WebRTC failed');
				this.dropped(generation, 'the WebRTC connection failed');
			}
		};
		return pc;
	}

	async answer(generation, sdp) {
		if (typeof sdp !== 'string')
			return;
		if (!this.pc)
			this.pc = this.createPeerConnection(generation);
		const pc = this.pc;
		this.offerSdp = sdp;
		await pc.setRemoteDescription({ type: 'offer', sdp });
		for (const candidate of this.pendingCandidates.splice(0))
			await this.addCandidate(candidate);
		const answer = await pc.createAnswer();
		await pc.setLocalDescription(answer);
		if (generation !== this.generation)
			return;
		this.answerSdp = pc.localDescription.sdp;
		this.send({ type: 'answer', sdp: this.answerSdp });
	}

	async remoteCandidate(message) {
		if (typeof message.candidate !== 'string')
			return;
		const candidate = {
			candidate: message.candidate,
			sdpMLineIndex: Number.isInteger(message.sdpMLineIndex) ? message.sdpMLineIndex : 0,
		};
		if (!this.pc?.remoteDescription) {
			this.pendingCandidates.push(candidate);
			return;
		}
		await this.addCandidate(candidate);
	}

	async addCandidate(candidate) {
		try {
			// An empty candidate string is the end of the session's candidates.
			await this.pc.addIceCandidate(candidate);
		} catch (error) {
			console.warn('glassbox: ICE candidate refused:', error.message);
		}
	}

	teardown() {
		this.generation++;
		if (this.channel) {
			this.channel = null;
			this.hooks.onChannel(null);
		}
		if (this.ws) {
			this.ws.onmessage = null;
			this.ws.onclose = null;
			if (this.ws.readyState <= WebSocket.OPEN)
				this.ws.close(1000);
			this.ws = null;
		}
		if (this.pc) {
			this.pc.close();
			this.pc = null;
		}
		this.pendingCandidates = [];
		this.queue = Promise.resolve();
		this.session = null;
		this.info = null;
	}

	async dropped(generation, why) {
		if (generation !== this.generation)
			return;
		console.info(`glassbox: ${why}`);
		this.teardown();
		if (this.stopped)
			return;
		if (this.final) {
			this.hooks.onStatus('final', this.final);
			return;
		}
		// A refused upgrade looks like any other drop: ask whether we are still logged in.
		const loggedGeneration = this.generation;
		let user;
		try {
			user = await whoami();
		} catch {
			user = undefined; // the server is away: keep trying
		}
		if (this.stopped || loggedGeneration !== this.generation)
			return;
		if (user === null) {
			this.stopped = true;
			this.hooks.onLoggedOut();
			return;
		}
		const delay = backoffDelay(this.attempt++, BACKOFF);
		this.hooks.onStatus('waiting', `Connection lost; reconnecting in ${(delay / 1000).toFixed(1)} s…`);
		clearTimeout(this.timer);
		this.timer = setTimeout(() => {
			if (!this.stopped && loggedGeneration === this.generation)
				this.open();
		}, delay);
	}
}
