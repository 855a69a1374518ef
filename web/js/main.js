// SPDX-License-Identifier: MIT
// The Glassbox page: the login form, then the full-window stream.

import * as api from './api.js';
import { Connection } from './connection.js';
import { FilesPanel, setPieceSize } from './files.js';
import { InputCapture } from './input.js';
import { StatsCollector, formatStats } from './stats.js';
import { StoragePanel } from './storage.js';

const $ = (id) => document.getElementById(id);

const loginView = $('login-view');
const loginForm = $('login-form');
const loginButton = $('login');
const loginError = $('login-error');
const passwordLogin = $('password-login');
const loginOr = $('login-or');
const redirectLogins = $('redirect-logins');
const streamView = $('stream-view');
const video = $('screen');
const toolbar = $('toolbar');
const statsBox = $('stats');
const statsToggle = $('stats-toggle');
const statusBox = $('status');
const statusText = $('status-text');
const statusRetry = $('status-retry');
const storage = new StoragePanel($('storage-toggle'), $('storage'), $('storage-notices'));
const filesPanel = $('files-panel');

const statsCollector = new StatsCollector();
let statsTimer = 0;
let sessionInfo = null;
let lastHelloSize = null;

const input = new InputCapture(video, {
	// The toolbar, the status box and the panels are the page's own, not the
	// application's.
	ignore: (event) =>
		toolbar.contains(event.target) || statusBox.contains(event.target) ||
		storage.panel.contains(event.target) || filesPanel.contains(event.target) ||
		storage.noticesBox.contains(event.target),
});

const files = new FilesPanel({
	panel: filesPanel,
	toggle: $('files-toggle'),
	dropTarget: streamView,
	dropZone: $('drop-zone'),
	uploadButton: $('upload-button'),
	uploadInput: $('upload-input'),
	progress: $('upload-progress'),
	uploadStatus: $('upload-status'),
	list: $('downloads-list'),
	refresh: $('downloads-refresh'),
	listStatus: $('downloads-status'),
});

const connection = new Connection(video, {
	onStatus(state, text) {
		statusText.textContent = text;
		statusBox.hidden = state === 'connected';
		// The session runs: its mounts are ready or have failed, and why.
		if (state === 'connected')
			storage.refreshStatus();
		statusRetry.hidden = state !== 'final' && state !== 'waiting';
	},
	onSession(message) {
		sessionInfo = { id: message.id, user: message.user, joined: message.joined };
	},
	onInfo() {
		updateStats();
	},
	onChannel(channel) {
		input.setChannel(channel, lastHelloSize);
		if (channel) {
			// The window may have changed size since the hello.
			channel.addEventListener('open', () => input.resized());
		}
	},
	onLoggedOut() {
		showLogin('Your login has expired; please log in again.');
	},
	size() {
		lastHelloSize = input.videoAreaSize();
		return lastHelloSize;
	},
});

// What glassboxd's login page offers: the password form when a password
// plugin is enabled, one link per redirect plugin. Asked once per page; when
// the list cannot be had, the form stays (the server refuses what it lacks).
let methodsShown = null;

function showMethods(methods) {
	const password = methods.some((m) => m.method === 'password');
	const links = methods.filter((m) => m.method === 'redirect').map((m) => {
		const link = document.createElement('a');
		link.href = api.redirectLoginUrl(m.plugin);
		link.textContent = m.label;
		link.dataset.plugin = m.plugin;
		return link;
	});
	passwordLogin.hidden = !password;
	for (const field of passwordLogin.querySelectorAll('input, button'))
		field.disabled = !password;
	redirectLogins.replaceChildren(...links);
	redirectLogins.hidden = links.length === 0;
	loginOr.hidden = !(password && links.length);
}

function loadMethods() {
	methodsShown ??= api.methods().then(showMethods, (error) => {
		console.warn('glassbox: login methods:', error.message);
	});
	return methodsShown;
}

function focusLogin() {
	if (!passwordLogin.hidden)
		$('username').focus();
	else
		redirectLogins.querySelector('a')?.focus();
}

function showLogin(message = '') {
	connection.stop();
	input.setActive(false);
	storage.hide();
	stopStatsTimer();
	video.srcObject = null;
	streamView.hidden = true;
	loginView.hidden = false;
	loginError.textContent = message;
	loginButton.disabled = false;
	focusLogin();
	loadMethods().then(() => {
		// Only when the focus went nowhere or into a part the list hid.
		const active = document.activeElement;
		if (!active || !loginView.contains(active) || active.disabled || active.closest('[hidden]'))
			focusLogin();
	});
}

// A redirect login that came back refused lands on /?login_error=...: show
// it once, and take it out of the address so a reload does not repeat it.
function takeLoginError() {
	const params = new URLSearchParams(window.location.search);
	const error = params.get('login_error');
	if (error === null)
		return '';
	params.delete('login_error');
	const query = params.toString();
	window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
	return error === 'refused' ? 'Login refused.' : 'Login failed.';
}

function showStream() {
	loginView.hidden = true;
	streamView.hidden = false;
	loginError.textContent = '';
	input.setActive(true);
	statsCollector.reset();
	startStatsTimer();
	connection.start();
	storage.refresh();
}

async function stats() {
	return statsCollector.sample(connection.pc, connection.info, video);
}

async function updateStats() {
	if (statsBox.hidden)
		return;
	try {
		statsBox.textContent = formatStats(await stats());
	} catch (error) {
		statsBox.textContent = `statistics unavailable: ${error.message}`;
	}
}

function startStatsTimer() {
	stopStatsTimer();
	statsTimer = setInterval(updateStats, 1000);
}

function stopStatsTimer() {
	clearInterval(statsTimer);
	statsTimer = 0;
}

loginForm.addEventListener('submit', async (event) => {
	event.preventDefault();
	loginButton.disabled = true;
	loginError.textContent = '';
	try {
		await api.login($('username').value, $('password').value);
		$('password').value = '';
		showStream();
	} catch (error) {
		loginError.textContent = error.message;
		loginButton.disabled = false;
		$('password').select();
	}
});

$('fullscreen').addEventListener('click', async (event) => {
	event.currentTarget.blur();
	try {
		if (document.fullscreenElement) {
			await document.exitFullscreen();
			return;
		}
		await document.documentElement.requestFullscreen({ navigationUI: 'hide' });
		// With the lock, Escape, Alt+Tab and the like go to the application
		// too; holding Escape leaves full screen (the browser's rule).
		await navigator.keyboard?.lock?.();
	} catch (error) {
		console.warn('glassbox: full screen:', error.message);
	}
});

document.addEventListener('fullscreenchange', () => {
	if (!document.fullscreenElement)
		navigator.keyboard?.unlock?.();
});

statsToggle.addEventListener('click', (event) => {
	event.currentTarget.blur();
	statsBox.hidden = !statsBox.hidden;
	statsToggle.setAttribute('aria-pressed', String(!statsBox.hidden));
	updateStats();
});

$('logout').addEventListener('click', async (event) => {
	event.currentTarget.blur();
	input.releaseAll();
	connection.stop();
	await api.logout();
	showLogin();
});

statusRetry.addEventListener('click', (event) => {
	event.currentTarget.blur();
	connection.retryNow();
});

// For automation, tests and benchmarks; the names and fields listed in
// web/README.md are kept stable.
window.glassbox = {
	async stats() {
		return stats();
	},
	session() {
		return sessionInfo ? { ...sessionInfo } : null;
	},
	sdp() {
		return { offer: connection.offerSdp, answer: connection.answerSdp };
	},
	files: {
		uploaded: () => [...files.uploaded],
		refresh: () => files.refresh(),
		setPieceSize: (bytes) => setPieceSize(bytes),
	},
	input: {
		sent: () => input.sent,
		ready: () => input.ready,
		send: (message) => input.send(message),
	},
	async probe(x, y, w = 1, h = 1) {
		return (await import('./probe.js')).averageColour(video, x, y, w, h);
	},
	async clock(options) {
		return (await import('./probe.js')).clockSamples(video, options);
	},
	async readClock() {
		return (await import('./probe.js')).readClock(video);
	},
	async inputToPhoton(options) {
		return (await import('./probe.js')).inputToPhoton(video, input, options);
	},
};

async function boot() {
	const loginErrorText = takeLoginError();
	let user = null;
	try {
		user = await api.whoami();
	} catch (error) {
		console.warn('glassbox: whoami:', error.message);
	}
	if (user)
		showStream();
	else
		showLogin(loginErrorText);
}

boot();
