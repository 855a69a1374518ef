// SPDX-License-Identifier: MIT
// What RTCPeerConnection.getStats() says about the video, boiled down to
// the figures a user or a test wants: rates are over the last interval.

export class StatsCollector {
	constructor() {
		this.previous = null; // last inbound-rtp report and its time
		this.rates = {};
	}

	reset() {
		this.previous = null;
		this.rates = {};
	}

	/** One getStats() round; returns the summary (counters now, rates since last call). */
	async sample(pc, info, video) {
		const summary = {
			connected: pc?.connectionState === 'connected',
			codec: info?.codec ?? null,
			encoder: info?.encoder ?? null,
			fallback: info?.fallback ?? null,
			framesDecoded: 0,
			width: video?.videoWidth ?? 0,
			height: video?.videoHeight ?? 0,
		};
		if (!pc)
			return { ...summary, ...this.rates };

		const report = await pc.getStats();
		let inbound = null;
		let transport = null;
		const byId = new Map();
		report.forEach((stat) => {
			byId.set(stat.id, stat);
			if (stat.type === 'inbound-rtp' && stat.kind === 'video')
				inbound = stat;
			else if (stat.type === 'transport')
				transport = stat;
		});

		let pair = transport?.selectedCandidatePairId ? byId.get(transport.selectedCandidatePairId) : null;
		if (!pair) {
			report.forEach((stat) => {
				if (stat.type === 'candidate-pair' && stat.nominated && stat.state === 'succeeded')
					pair = stat;
			});
		}
		if (pair?.currentRoundTripTime !== undefined)
			summary.rttMs = round(pair.currentRoundTripTime * 1000, 1);

		if (!inbound)
			return { ...summary, ...this.rates };

		const codec = inbound.codecId ? byId.get(inbound.codecId) : null;
		if (codec?.mimeType) {
			summary.mimeType = codec.mimeType;
			summary.codec ??= codec.mimeType.replace(/^video\//, '');
		}
		summary.decoder = inbound.decoderImplementation ?? null;
		summary.framesDecoded = inbound.framesDecoded ?? 0;
		summary.framesDropped = inbound.framesDropped ?? 0;
		summary.keyFramesDecoded = inbound.keyFramesDecoded ?? 0;
		summary.packetsLost = inbound.packetsLost ?? 0;
		summary.freezeCount = inbound.freezeCount ?? 0;
		summary.pliCount = inbound.pliCount ?? 0;
		if (inbound.frameWidth) {
			summary.width = inbound.frameWidth;
			summary.height = inbound.frameHeight;
		}

		const now = inbound.timestamp;
		const previous = this.previous;
		if (previous && now - previous.timestamp >= 200) {
			const seconds = (now - previous.timestamp) / 1000;
			const frames = inbound.framesDecoded - previous.framesDecoded;
			const emitted = (inbound.jitterBufferEmittedCount ?? 0) - (previous.jitterBufferEmittedCount ?? 0);
			this.rates = {
				fps: round(frames / seconds, 1),
				bitrateKbps: round(((inbound.bytesReceived - previous.bytesReceived) * 8) / seconds / 1000, 0),
				decodeMs: frames > 0 ? round(((inbound.totalDecodeTime - previous.totalDecodeTime) * 1000) / frames, 2) : null,
				jitterBufferMs: emitted > 0 ? round(((inbound.jitterBufferDelay - previous.jitterBufferDelay) * 1000) / emitted, 1) : null,
			};
			this.previous = inbound;
		} else if (!previous) {
			this.previous = inbound;
		}
		return { ...summary, ...this.rates };
	}
}

function round(value, digits) {
	if (!Number.isFinite(value))
		return null;
	const f = 10 ** digits;
	return Math.round(value * f) / f;
}

/** The overlay's text. */
export function formatStats(s) {
	const show = (v, unit = '') => (v === null || v === undefined ? '–' : `${v}${unit}`);
	const lines = [
		`codec      ${show(s.codec)}${s.mimeType ? ` (${s.mimeType})` : ''}`,
		`encoder    ${show(s.encoder)}${s.fallback ? ` (fallback: ${s.fallback})` : ''}`,
		`decoder    ${show(s.decoder)}`,
		`resolution ${s.width && s.height ? `${s.width}×${s.height}` : '–'}`,
		`fps        ${show(s.fps)}`,
		`bitrate    ${show(s.bitrateKbps, ' kbit/s')}`,
		`RTT        ${show(s.rttMs, ' ms')}`,
		`decode     ${show(s.decodeMs, ' ms/frame')}`,
		`jitter buf ${show(s.jitterBufferMs, ' ms')}`,
		`frames     ${show(s.framesDecoded)} decoded, ${show(s.framesDropped)} dropped`,
	];
	return lines.join('\n');
}
