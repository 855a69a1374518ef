// SPDX-License-Identifier: MIT
// The "Cloud storage" panel: the user's own remotes (GET, POST
// /api/storage/remotes, DELETE /api/storage/remotes/NAME). The server never
// sends a secret back: the list shows which are set, and a remote is
// replaced whole by saving it again under its name. Also the box that says
// which mounts failed and what stayed in a cache (GET /api/storage/status).

import { errorText } from './api.js';

const API = '/api/storage/remotes';
const STATUS_API = '/api/storage/status';

// The fields of each type, as glassboxd takes them (core/daemon/remotes-check.c).
export const FIELDS = {
	webdav: [
		{ key: 'url', label: 'URL (https://…)', required: true, kind: 'url' },
		{ key: 'vendor', label: 'Vendor', choices: ['other', 'nextcloud', 'owncloud', 'sharepoint'] },
		{ key: 'user', label: 'User' },
		{ key: 'pass', label: 'Password', secret: true },
	],
	sftp: [
		{ key: 'host', label: 'Host', required: true },
		{ key: 'port', label: 'Port', kind: 'port' },
		{ key: 'user', label: 'User', required: true },
		{ key: 'pass', label: 'Password (or a key below)', secret: true },
		{ key: 'key_pem', label: 'Private key (PEM)', secret: true, multiline: true },
	],
	s3: [
		{ key: 'provider', label: 'Provider', required: true,
			choices: ['AWS', 'Ceph', 'Cloudflare', 'DigitalOcean', 'Minio', 'Scaleway', 'Wasabi', 'Other'] },
		{ key: 'endpoint', label: 'Endpoint (for other than AWS)' },
		{ key: 'region', label: 'Region' },
		{ key: 'access_key_id', label: 'Access key ID', required: true },
		{ key: 'secret_access_key', label: 'Secret access key', required: true, secret: true },
	],
};

export const TYPE_LABELS = { webdav: 'WebDAV', sftp: 'SFTP', s3: 'S3' };

/**
 * The params of a remote of @type from the form's raw @values ({key: text}):
 * empty fields are left out; what is no secret loses its outer white space;
 * a PEM key's line breaks become the two characters "\n", as rclone takes
 * a key on one line (the server refuses real line breaks in any value).
 */
export function remoteParams(type, values) {
	const params = {};
	for (const field of FIELDS[type] ?? []) {
		let value = values[field.key] ?? '';
		if (field.multiline)
			value = value.trim().split(/\r?\n/).map((line) => line.trim()).join('\\n');
		else if (!field.secret)
			value = value.trim();
		if (value !== '')
			params[field.key] = value;
	}
	return params;
}

async function call(method, path, body) {
	let response;
	try {
		response = await fetch(path, {
			method,
			credentials: 'same-origin',
			cache: 'no-store',
			headers: body ? { 'Content-Type': 'application/json' } : {},
			body: body ? JSON.stringify(body) : undefined,
		});
	} catch {
		throw new Error('The server cannot be reached.');
	}
	if (!response.ok)
		throw new Error(await errorText(response, `HTTP ${response.status}`));
	return response.json();
}

export class StoragePanel {
	/**
	 * @toggle: the toolbar button; @panel: the section holding the rest;
	 * @noticesBox: where what the mounts have to say shows (index.html).
	 */
	constructor(toggle, panel, noticesBox) {
		this.toggle = toggle;
		this.panel = panel;
		this.noticesBox = noticesBox;
		this.notices = noticesBox.querySelector('ul');
		noticesBox.querySelector('button').addEventListener('click', (event) => {
			event.currentTarget.blur();
			this.noticesBox.hidden = true;
		});
		this.list = panel.querySelector('#storage-list');
		this.form = panel.querySelector('#storage-form');
		this.name = panel.querySelector('#storage-name');
		this.type = panel.querySelector('#storage-type');
		this.fields = panel.querySelector('#storage-fields');
		this.message = panel.querySelector('#storage-message');
		this.allowed = [];
		toggle.addEventListener('click', (event) => {
			event.currentTarget.blur();
			this.setOpen(this.panel.hidden);
		});
		this.type.addEventListener('change', () => this.showFields());
		this.form.addEventListener('submit', (event) => {
			event.preventDefault();
			this.save();
		});
	}

	setOpen(open) {
		this.panel.hidden = !open;
		this.toggle.setAttribute('aria-pressed', String(open));
		if (open)
			this.refresh();
	}

	/** Ask the server; the button shows only when it allows some type. */
	async refresh() {
		try {
			this.render(await call('GET', API));
		} catch (error) {
			// A stored file the server cannot read: say so, offer no form
			// (any change would be refused, and must not overwrite it).
			this.say(error.message, true);
			this.form.hidden = true;
			this.toggle.hidden = this.allowed.length === 0;
		}
	}

	/**
	 * What the session's mounts have to say (GET /api/storage/status): those
	 * that failed and why, and what earlier sessions left in a cache. The
	 * server tells each notice once; the box stays until dismissed.
	 */
	async refreshStatus() {
		let answer;
		try {
			answer = await call('GET', STATUS_API);
		} catch {
			return; // Not worth a message of its own: the stream says more.
		}
		const lines = [...(answer.notices ?? [])];
		for (const mount of answer.mounts ?? []) {
			const line = `${mount.name} is not available: ${mount.problem ?? 'unknown'}`;
			if (mount.state === 'failed' && !lines.some((text) => text.endsWith(mount.problem ?? line)))
				lines.push(line);
		}
		if (lines.length === 0)
			return;
		this.notices.append(...lines.map((text) =>
			Object.assign(document.createElement('li'), { textContent: text })));
		this.noticesBox.hidden = false;
	}

	hide() {
		this.panel.hidden = true;
		this.toggle.hidden = true;
		this.noticesBox.hidden = true;
		this.notices.replaceChildren();
	}

	say(text, isError = false) {
		this.message.textContent = text;
		this.message.classList.toggle('error', isError);
	}

	render(answer) {
		const allowed = (answer.allowed_types ?? []).filter((t) => t in FIELDS);
		const remotes = answer.remotes ?? [];
		this.allowed = allowed;
		this.toggle.hidden = allowed.length === 0;
		if (allowed.length === 0)
			this.panel.hidden = true;
		this.list.replaceChildren(...remotes.map((remote) => this.item(remote)));
		if (remotes.length === 0)
			this.list.replaceChildren(Object.assign(document.createElement('li'),
				{ textContent: 'No remotes of your own yet.' }));
		this.form.hidden = false;
		const types = this.type.value;
		this.type.replaceChildren(...allowed.map((t) => new Option(TYPE_LABELS[t], t)));
		if (allowed.includes(types))
			this.type.value = types;
		this.showFields();
		this.say(answer.message ? `Saved; ${answer.message}.` : '');
	}

	item(remote) {
		const li = document.createElement('li');
		const what = document.createElement('span');
		const shown = remote.params?.url ?? remote.params?.host ?? remote.params?.endpoint ??
			remote.params?.provider ?? '';
		what.textContent = `${remote.name} — ${TYPE_LABELS[remote.type] ?? remote.type}` +
			(shown ? ` (${shown})` : '') + (remote.allowed === false ? ' — not mounted: type no longer allowed' : '');
		const remove = document.createElement('button');
		remove.type = 'button';
		remove.textContent = 'Delete';
		remove.dataset.remote = remote.name;
		remove.addEventListener('click', () => this.remove(remote.name));
		li.append(what, remove);
		return li;
	}

	showFields() {
		const fields = FIELDS[this.type.value] ?? [];
		this.fields.replaceChildren(...fields.map((field) => {
			const label = document.createElement('label');
			label.textContent = field.label;
			let control;
			if (field.choices) {
				control = document.createElement('select');
				control.append(...field.choices.map((c) => new Option(c, c)));
			} else if (field.multiline) {
				control = document.createElement('textarea');
				control.rows = 4;
				control.spellcheck = false;
			} else {
				control = document.createElement('input');
				control.type = field.secret ? 'password' : field.kind === 'url' ? 'url' : 'text';
				control.autocomplete = field.secret ? 'new-password' : 'off';
				control.spellcheck = false;
				if (field.kind === 'port')
					control.inputMode = 'numeric';
			}
			control.name = field.key;
			control.required = Boolean(field.required);
			label.append(control);
			return label;
		}));
	}

	async save() {
		const type = this.type.value;
		const values = {};
		for (const control of this.fields.querySelectorAll('[name]'))
			values[control.name] = control.value;
		const body = { name: this.name.value.trim(), type, params: remoteParams(type, values) };
		try {
			this.render(await call('POST', API, body));
			this.form.reset();
			this.showFields();
		} catch (error) {
			this.say(error.message, true);
		}
	}

	async remove(name) {
		try {
			this.render(await call('DELETE', `${API}/${encodeURIComponent(name)}`));
		} catch (error) {
			this.say(error.message, true);
		}
	}
}
