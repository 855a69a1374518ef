// SPDX-License-Identifier: MIT
// The end-to-end fixture: a real glassboxd (which starts the real
// glassbox-session running glassbox-test-client) in a temporary folder, and
// Debian's Chromium driven by playwright-core. Every wait is bounded.
//
// Run inside a network namespace with only loopback (tests/e2e/run-in-netns).

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_ROOT = process.env.GB_SOURCE_ROOT ?? path.resolve(here, '..', '..', '..');
export const BUILD_ROOT = process.env.GB_BUILD_ROOT ?? path.join(SOURCE_ROOT, 'build');
export const GLASSBOXD = path.join(BUILD_ROOT, 'core', 'daemon', 'glassboxd');
export const SESSION = path.join(BUILD_ROOT, 'core', 'session', 'glassbox-session');
export const TEST_CLIENT = path.join(BUILD_ROOT, 'tests', 'clients', 'glassbox-test-client');
export const CHROMIUM = process.env.GB_CHROMIUM ?? '/usr/bin/chromium';
export const SKIP = 77; // meson's "skipped"

/**
 * Where the real plugins were built: meson's GB_PLUGIN_BUILD_PATH, or, when
 * run by hand, every folder under <build>/plugins that holds a module.
 */
export function pluginPath() {
	if (process.env.GB_PLUGIN_BUILD_PATH)
		return process.env.GB_PLUGIN_BUILD_PATH;
	const root = path.join(BUILD_ROOT, 'plugins');
	if (!fs.existsSync(root))
		return '';
	return fs.readdirSync(root)
		.map((name) => path.join(root, name))
		.filter((dir) => fs.statSync(dir).isDirectory() &&
			fs.readdirSync(dir).some((f) => f.endsWith('.so')))
		.join(':');
}

// Drop-ins of the plugins the tests use, as config/plugins.d names them;
// nvenc is optional: it fails over when no NVIDIA driver is there. When a
// shipped one is missing (a plugin without its drop-in yet) the minimal one
// here stands in, so that the test still runs the real plugin.
const DROPINS = {
	'10-capture-weston.ini': '[plugin]\nkind = capture\nname = weston\n',
	'20-encoder-nvenc.ini': null,
	'30-encoder-x264.ini': '[plugin]\nkind = encoder\nname = x264\n',
	'31-encoder-vp8.ini': '[plugin]\nkind = encoder\nname = vp8\n',
	'50-auth-local.ini': '[plugin]\nkind = auth\nname = local\n\n[settings]\nusers_file = -\n' +
		'create_demo_user = true\n',
};

let failures = 0;
const started = Date.now();

export function log(message) {
	const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
	process.stdout.write(`[${t}] ${message}\n`);
}

/** Record one assertion; the test exits non-zero if any failed. */
export function check(condition, message) {
	if (condition) {
		log(`ok: ${message}`);
	} else {
		failures++;
		log(`FAIL: ${message}`);
	}
	return condition;
}

export function failed() {
	return failures;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll fn() until it returns a truthy value or timeoutMs passes; the last value. */
export async function poll(fn, { timeoutMs = 10000, intervalMs = 100 } = {}) {
	const deadline = Date.now() + timeoutMs;
	let value;
	for (;;) {
		try {
			value = await fn();
		} catch (error) {
			value = undefined;
			if (Date.now() >= deadline)
				throw error;
		}
		if (value || Date.now() >= deadline)
			return value;
		await sleep(intervalMs);
	}
}

/** Skip (exit 77) when something the test needs was not built or installed. */
export function requirePrerequisites() {
	const missing = [];
	for (const file of [GLASSBOXD, SESSION, TEST_CLIENT, CHROMIUM]) {
		if (!fs.existsSync(file))
			missing.push(file);
	}
	if (!fs.existsSync(path.join(SOURCE_ROOT, 'tests', 'e2e', 'node_modules', 'playwright-core')))
		missing.push('tests/e2e/node_modules/playwright-core (run: npm ci --prefix tests/e2e)');
	if (!pluginPath())
		missing.push(`plugin modules under ${BUILD_ROOT}/plugins (or GB_PLUGIN_BUILD_PATH)`);
	if (missing.length) {
		log(`SKIP: missing ${missing.join(', ')}`);
		process.exit(SKIP);
	}
}

async function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

/** key = value in the [settings] section of an ini text, replaced or added. */
export function setIniSetting(text, key, value) {
	const line = new RegExp(`^${key}\\s*=.*$`, 'm');
	if (line.test(text))
		return text.replace(line, `${key} = ${value}`);
	if (!/^\[settings\]\s*$/m.test(text))
		text += '\n[settings]\n';
	return text.replace(/^\[settings\]\s*$/m, `[settings]\n${key} = ${value}`);
}

const libconfigString = (s) => `"${String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const libconfigList = (list) => `[ ${list.map(libconfigString).join(', ')} ]`;

/**
 * One glassboxd. Its stdout and stderr, and so those of the sessions it
 * starts and of their test client, come back as lines: waitLine() finds the
 * test client's event lines in them.
 */
export class Daemon {
	constructor({ codec = 'auto', width = 1280, height = 720, color = '336699',
		altColor = 'cc6633', clientArgs = [], webrtc = {}, session = {}, dropins = {},
		settings = {}, name = 'e2e' } = {}) {
		// dropins: whole files to add; settings: { 'FILE.ini': { key: value } }
		// changed in the [settings] section of a shipped drop-in.
		this.options = { codec, width, height, color, altColor, clientArgs, webrtc, session,
			dropins, settings };
		this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `gb-${name}-`));
		this.lines = [];
		this.cursor = 0;
		this.waiters = new Set();
		this.exited = null;
		this.logPath = path.join(this.tmp, 'glassboxd.log');
	}

	writeConfig() {
		const o = this.options;
		const dir = (name) => {
			const p = path.join(this.tmp, name);
			fs.mkdirSync(p, { recursive: true, mode: 0o700 });
			return p;
		};
		const state = dir('state');
		const runtime = dir('run');
		const dropinDir = dir('plugins.d');
		dir('vendor-none');

		// The shipped drop-ins, with the users file moved into the temp folder.
		for (const [name, fallback] of Object.entries(DROPINS)) {
			const source = path.join(SOURCE_ROOT, 'config', 'plugins.d', name);
			let text;
			if (fs.existsSync(source)) {
				text = fs.readFileSync(source, 'utf8');
			} else if (fallback) {
				log(`config/plugins.d/${name} is missing; using a minimal drop-in`);
				text = fallback;
			} else {
				continue;
			}
			text = text.replace(/^users_file\s*=.*$/m, `users_file = ${path.join(state, 'users')}`);
			for (const [key, value] of Object.entries(o.settings[name] ?? {}))
				text = setIniSetting(text, key, value);
			fs.writeFileSync(path.join(dropinDir, name), text);
		}
		for (const [name, text] of Object.entries(o.dropins))
			fs.writeFileSync(path.join(dropinDir, name), text);

		const command = [TEST_CLIENT, '--color', o.color, '--alt-color', o.altColor,
			'--switch-key', '57', ...o.clientArgs];
		const extra = (group) => Object.entries(group)
			.map(([k, v]) => `\t${k} = ${typeof v === 'string' ? libconfigString(v) : v};\n`).join('');
		const config = `log = { level = "debug"; };
server = {
	listen = "127.0.0.1:${this.port}";
	state_dir = ${libconfigString(state)};
	runtime_dir = ${libconfigString(runtime)};
	web_dir = ${libconfigString(path.join(SOURCE_ROOT, 'web'))};
	session_binary = ${libconfigString(SESSION)};
	spawner = "direct";
};
webrtc = {
	ice_addresses = [ "127.0.0.1" ];
	codec = "${o.codec}";
${extra(o.webrtc)}};
session = {
	command = ${libconfigList(command)};
	width = ${o.width};
	height = ${o.height};
	xwayland = false;
	stop_grace_ms = 2000;
${extra(o.session)}};
plugins = {
	vendor_dir = ${libconfigString(path.join(this.tmp, 'vendor-none'))};
	config_dir = ${libconfigString(dropinDir)};
};
`;
		this.configPath = path.join(this.tmp, 'glassbox.conf');
		fs.writeFileSync(this.configPath, config);
	}

	/**
	 * Start glassboxd; again after kill() it comes back on the same port
	 * with the same configuration and users file (so no new password).
	 */
	async start({ timeoutMs = 20000 } = {}) {
		if (!this.port) {
			this.port = await freePort();
			this.origin = `http://127.0.0.1:${this.port}`;
			this.writeConfig();
			this.logFile = fs.openSync(this.logPath, 'w');
		}
		// Tests (and benchmarks) run as root with no session.user.
		const env = {
			GB_TEST_ALLOW_ROOT_SESSIONS: '1',
			...process.env,
			GLASSBOX_PLUGIN_PATH: pluginPath(),
		};
		delete env.WAYLAND_DISPLAY;
		delete env.DISPLAY;
		this.exited = null;
		const proc = spawn(GLASSBOXD, ['-c', this.configPath], {
			env,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		this.proc = proc;
		for (const stream of [proc.stdout, proc.stderr]) {
			readline.createInterface({ input: stream }).on('line', (line) => this.line(line));
		}
		proc.on('exit', (code, signal) => {
			if (this.proc === proc)
				this.exited = { code, signal };
			this.line(`(glassboxd exited: ${signal ?? code})`);
		});
		proc.on('error', (error) => {
			if (this.proc === proc)
				this.exited = { code: null, signal: null };
			this.line(`(cannot start glassboxd: ${error.message})`);
		});

		if (!this.password) {
			const line = await this.waitLine(/.*created user 'demo' with password '([^']+)'.*/, timeoutMs);
			if (!line)
				throw new Error(`glassboxd did not log the demo password; see ${this.logPath}`);
			this.password = line.match(/with password '([^']+)'/)[1];
		}
		// Ready when it answers HTTP.
		const ready = await poll(async () => !this.exited &&
			(await fetch(`${this.origin}/api/whoami`)).status === 401, { timeoutMs, intervalMs: 100 });
		if (!ready)
			throw new Error(`glassboxd does not answer on ${this.origin}; see ${this.logPath}`);
		log(`glassboxd on ${this.origin}, log ${this.logPath}`);
	}

	/** SIGKILL: glassboxd goes away without a word to anyone. */
	async kill() {
		if (!this.proc || this.exited)
			return;
		this.proc.kill('SIGKILL');
		await poll(() => this.exited, { timeoutMs: 10000, intervalMs: 20 });
	}

	line(text) {
		fs.writeSync(this.logFile, `${text}\n`);
		this.lines.push(text);
		for (const waiter of this.waiters)
			waiter();
	}

	/** Forget the lines so far: the next waitLine() only sees newer ones. */
	mark() {
		this.cursor = this.lines.length;
	}

	/**
	 * The first line from the cursor on that matches regex in full; the
	 * cursor moves past it. null after timeoutMs.
	 */
	waitLine(regex, timeoutMs = 10000) {
		const full = new RegExp(`^(?:${regex.source})$`, regex.flags);
		return new Promise((resolve) => {
			const scan = () => {
				while (this.cursor < this.lines.length) {
					const text = this.lines[this.cursor++];
					if (full.test(text)) {
						done(text);
						return;
					}
				}
				// Nothing more will come.
				if (this.exited)
					done(null);
			};
			const timer = setTimeout(() => done(null), timeoutMs);
			const done = (value) => {
				clearTimeout(timer);
				this.waiters.delete(scan);
				resolve(value);
			};
			this.waiters.add(scan);
			scan();
		});
	}

	/** Lines from the cursor on matching regex in full, after waiting settleMs. */
	async collect(regex, settleMs) {
		await sleep(settleMs);
		const full = new RegExp(`^(?:${regex.source})$`, regex.flags);
		const found = this.lines.slice(this.cursor).filter((l) => full.test(l));
		this.cursor = this.lines.length;
		return found;
	}

	async stop() {
		if (this.proc && !this.exited) {
			this.proc.kill('SIGTERM');
			const deadline = Date.now() + 10000;
			while (!this.exited && Date.now() < deadline)
				await sleep(50);
			if (!this.exited) {
				log('glassboxd ignored SIGTERM for 10 s; killing it');
				this.proc.kill('SIGKILL');
				await poll(() => this.exited, { timeoutMs: 5000 });
			}
		}
		if (this.logFile !== undefined)
			fs.closeSync(this.logFile);
	}

	cleanup(keep) {
		if (keep)
			log(`kept ${this.tmp}`);
		else
			fs.rmSync(this.tmp, { recursive: true, force: true });
	}
}

export const CHROMIUM_ARGS = [
	'--headless=new',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--allow-loopback-in-peer-connection',
	'--disable-features=WebRtcHideLocalIpsWithMdns',
	'--use-fake-ui-for-media-stream',
	'--remote-debugging-pipe',
];

/** Chromium with a fresh profile; close() removes the profile too. */
export async function launchChromium() {
	const { chromium } = await import('playwright-core');
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gb-chromium-'));
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		ignoreDefaultArgs: true,
		args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`, 'about:blank'],
		timeout: 60000,
	});
	const close = browser.close.bind(browser);
	browser.close = async () => {
		try {
			await close();
		} finally {
			fs.rmSync(profile, { recursive: true, force: true });
		}
	};
	return browser;
}

/** A page that logged in through the form and shows the stream. */
export async function login(context, daemon, { viewport } = {}) {
	const page = await context.newPage();
	if (viewport)
		await page.setViewportSize(viewport);
	page.on('console', (m) => {
		// GET /api/whoami answers 401 before login by design; Chromium logs every 4xx.
		if (/status of 401/.test(m.text()))
			return;
		if (m.type() === 'error' || m.type() === 'warning')
			log(`  page ${m.type()}: ${m.text()}`);
	});
	page.on('pageerror', (e) => log(`  page error: ${e.message}`));
	await page.goto(`${daemon.origin}/`, { timeout: 20000 });
	await page.waitForSelector('#username:visible, video#screen:visible', { timeout: 20000 });
	if (await page.isVisible('#username')) {
		await page.fill('#username', 'demo');
		await page.fill('#password', daemon.password);
		await page.click('#login');
	}
	await page.waitForSelector('video#screen:visible', { timeout: 20000 });
	return page;
}

export const within = (a, b, tolerance) =>
	Math.abs(a.r - b.r) <= tolerance && Math.abs(a.g - b.g) <= tolerance &&
	Math.abs(a.b - b.b) <= tolerance;

export function hexColour(hex) {
	return {
		r: parseInt(hex.slice(0, 2), 16),
		g: parseInt(hex.slice(2, 4), 16),
		b: parseInt(hex.slice(4, 6), 16),
	};
}

/** The average colour of a 16x16 square in the middle of the picture, or null. */
export async function centreColour(page) {
	return page.evaluate(async () => {
		const s = await window.glassbox.stats();
		if (!s.width || !s.height)
			return null;
		return window.glassbox.probe(Math.floor(s.width / 2) - 8, Math.floor(s.height / 2) - 8, 16, 16);
	});
}

/** Wait until the picture's centre is colour ± tolerance; the last colour seen. */
export async function waitColour(page, colour, tolerance, timeoutMs) {
	let last = null;
	const ok = await poll(async () => {
		last = await centreColour(page);
		return last && within(last, colour, tolerance);
	}, { timeoutMs, intervalMs: 100 });
	return { ok: Boolean(ok), last };
}

export const show = (c) => (c ? `rgb(${c.r},${c.g},${c.b})` : 'nothing');

/**
 * A raw WebSocket handshake for /api/session; resolves to the status line
 * and, after a 101, the first text frame the server sends (or null).
 */
export function rawUpgrade(daemon, { cookie, origin } = {}, timeoutMs = 10000) {
	return new Promise((resolve) => {
		const socket = net.connect(daemon.port, '127.0.0.1');
		let data = Buffer.alloc(0);
		let status = null;
		const timer = setTimeout(() => finish(), timeoutMs);
		const finish = (frame = null) => {
			clearTimeout(timer);
			socket.destroy();
			resolve({ status, frame });
		};
		socket.on('connect', () => {
			const headers = [
				'GET /api/session HTTP/1.1',
				`Host: 127.0.0.1:${daemon.port}`,
				'Upgrade: websocket',
				'Connection: Upgrade',
				`Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}`,
				'Sec-WebSocket-Version: 13',
			];
			if (origin)
				headers.push(`Origin: ${origin}`);
			if (cookie)
				headers.push(`Cookie: ${cookie}`);
			socket.write(`${headers.join('\r\n')}\r\n\r\n`);
		});
		socket.on('data', (chunk) => {
			data = Buffer.concat([data, chunk]);
			const end = data.indexOf('\r\n\r\n');
			if (end < 0)
				return;
			status = data.subarray(0, data.indexOf('\r\n')).toString();
			if (!/ 101 /.test(status)) {
				finish();
				return;
			}
			// One unmasked server frame: FIN+text, 7- or 16-bit length.
			const frame = data.subarray(end + 4);
			if (frame.length < 2)
				return;
			let length = frame[1] & 0x7f;
			let offset = 2;
			if (length === 126) {
				if (frame.length < 4)
					return;
				length = frame.readUInt16BE(2);
				offset = 4;
			}
			if (frame.length < offset + length)
				return;
			finish(frame.subarray(offset, offset + length).toString());
		});
		socket.on('error', () => finish());
		socket.on('close', () => finish());
	});
}

export function finish(name) {
	log(`${name}: ${failures} failed`);
	process.exit(failures ? 1 : 0);
}
