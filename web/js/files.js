// SPDX-License-Identifier: MIT
// Files in the browser: uploads into the session's ~/Uploads (the button, or
// files dropped onto the stream) with a progress bar, and the list of
// ~/Downloads to download from. glassboxd's API: PUT /api/files/uploads/NAME
// (with Content-Range for the pieces of a large file), GET
// /api/files/uploads/NAME (where a cut upload resumes), GET
// /api/files/downloads (the list) and GET /api/files/downloads/NAME.

const RETRIES = 3;
// A larger file goes in pieces of this size: a cut one resumes from the last.
let pieceSize = 32 * 1024 * 1024;

/** For automation: smaller pieces, so that a test sees several (at least 1 KiB). */
export function setPieceSize(bytes) {
	pieceSize = Math.max(1024, Math.floor(bytes));
}

function fileUrl(folder, name) {
	return `/api/files/${folder}/${encodeURIComponent(name)}`;
}

function errorOf(xhr, fallback) {
	try {
		const body = JSON.parse(xhr.responseText);
		if (typeof body?.error === 'string' && body.error !== '')
			return body.error;
	} catch {
		// Not JSON (libsoup's own refusal): keep the fallback.
	}
	return fallback;
}

/** Resolves to {status, body} of one PUT; onProgress(bytes of this piece sent). */
function putPiece(file, start, end, onProgress) {
	return new Promise((resolve, reject) => {
		const xhr = new XMLHttpRequest();
		xhr.open('PUT', fileUrl('uploads', file.name));
		xhr.withCredentials = true;
		if (start !== 0 || end !== file.size)
			xhr.setRequestHeader('Content-Range', `bytes ${start}-${end - 1}/${file.size}`);
		xhr.upload.onprogress = (event) => onProgress(event.loaded);
		xhr.onload = () => {
			let body = null;
			try {
				body = JSON.parse(xhr.responseText);
			} catch {
				// keep null
			}
			const fallback = xhr.status === 400
				? 'the session does not take this name (HTTP 400)' : `HTTP ${xhr.status}`;
			resolve({ status: xhr.status, body, error: errorOf(xhr, fallback) });
		};
		xhr.onerror = () => reject(new Error('the connection was cut'));
		xhr.onabort = () => reject(new Error('cancelled'));
		xhr.send(file.slice(start, end));
	});
}

/** How much of a cut upload of @name glassboxd kept (0 when none). */
async function keptOffset(name) {
	const response = await fetch(fileUrl('uploads', name), { credentials: 'same-origin',
		cache: 'no-store' });
	if (!response.ok)
		return 0;
	const body = await response.json();
	return Number.isInteger(body?.offset) ? body.offset : 0;
}

/**
 * Upload @file, in pieces when large, resuming after a cut connection.
 * Resolves to the name it took in the folder; rejects with an Error for the user.
 */
export async function uploadFile(file, onProgress) {
	let offset = 0;
	let retries = 0;
	onProgress(0);
	for (;;) {
		const end = file.size <= pieceSize ? file.size : Math.min(offset + pieceSize, file.size);
		let result;
		try {
			result = await putPiece(file, offset, end, (sent) => onProgress(offset + sent));
		} catch (error) {
			if (++retries > RETRIES)
				throw new Error(`${file.name}: ${error.message}`);
			offset = await keptOffset(file.name).catch(() => 0);
			continue;
		}
		if (result.status === 201) {
			onProgress(file.size);
			return result.body?.name ?? file.name;
		}
		if (result.status === 200 && Number.isInteger(result.body?.offset)) {
			offset = result.body.offset;
			continue;
		}
		if (result.status === 416 && Number.isInteger(result.body?.offset) && ++retries <= RETRIES) {
			offset = result.body.offset;
			continue;
		}
		throw new Error(`${file.name}: ${result.error}`);
	}
}

/** The files glassboxd offers: {folder, files: [{name, size, mtime}], truncated}. */
export async function listDownloads() {
	const response = await fetch('/api/files/downloads', { credentials: 'same-origin',
		cache: 'no-store' });
	const body = await response.json().catch(() => null);
	if (!response.ok)
		throw new Error(body?.error ?? `HTTP ${response.status}`);
	return body;
}

export function formatSize(bytes) {
	const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * The files panel and the drop zone over the stream. @elements: {panel,
 * toggle, dropTarget, dropZone, uploadButton, uploadInput, progress,
 * uploadStatus, list, refresh, listStatus}.
 */
export class FilesPanel {
	constructor(elements) {
		this.el = elements;
		this.queue = [];
		this.busy = false;
		this.uploaded = [];
		const { panel, toggle, dropTarget, uploadButton, uploadInput, refresh } = elements;

		toggle.addEventListener('click', (event) => {
			event.currentTarget.blur();
			panel.hidden = !panel.hidden;
			toggle.setAttribute('aria-pressed', String(!panel.hidden));
			if (!panel.hidden)
				this.refresh();
		});
		uploadButton.addEventListener('click', () => uploadInput.click());
		uploadInput.addEventListener('change', () => {
			this.upload([...uploadInput.files]);
			uploadInput.value = '';
		});
		refresh.addEventListener('click', () => this.refresh());
		dropTarget.addEventListener('dragenter', (event) => this.dragOver(event));
		dropTarget.addEventListener('dragover', (event) => this.dragOver(event));
		dropTarget.addEventListener('dragleave', (event) => {
			if (!dropTarget.contains(event.relatedTarget))
				elements.dropZone.hidden = true;
		});
		dropTarget.addEventListener('drop', (event) => {
			if (!FilesPanel.hasFiles(event))
				return;
			event.preventDefault();
			elements.dropZone.hidden = true;
			this.upload([...event.dataTransfer.files]);
		});
	}

	static hasFiles(event) {
		return [...(event.dataTransfer?.types ?? [])].includes('Files');
	}

	dragOver(event) {
		if (!FilesPanel.hasFiles(event))
			return;
		event.preventDefault();
		event.dataTransfer.dropEffect = 'copy';
		this.el.dropZone.hidden = false;
	}

	/** Queue @files; they go one at a time (glassboxd takes a few transfers per login). */
	upload(files) {
		if (files.length === 0)
			return;
		this.el.panel.hidden = false;
		this.el.toggle.setAttribute('aria-pressed', 'true');
		this.queue.push(...files);
		if (!this.busy)
			this.next();
	}

	async next() {
		const file = this.queue.shift();
		if (!file) {
			this.busy = false;
			return;
		}
		this.busy = true;
		const { progress, uploadStatus } = this.el;
		uploadStatus.classList.remove('error');
		uploadStatus.textContent = `Uploading ${file.name}…`;
		progress.hidden = false;
		progress.value = 0;
		try {
			const name = await uploadFile(file, (sent) => {
				progress.value = file.size ? Math.floor((100 * sent) / file.size) : 100;
			});
			progress.value = 100;
			this.uploaded.push(name);
			uploadStatus.textContent = `Uploaded ${name} into the session's uploads.`;
		} catch (error) {
			uploadStatus.classList.add('error');
			uploadStatus.textContent = `Upload refused: ${error.message}`;
		}
		this.next();
	}

	/** Fetch the downloads list again. */
	async refresh() {
		const { list, listStatus } = this.el;
		listStatus.classList.remove('error');
		listStatus.textContent = 'Loading…';
		try {
			const listing = await listDownloads();
			list.replaceChildren(...listing.files.map((file) => {
				const item = document.createElement('li');
				const link = document.createElement('a');
				link.href = fileUrl('downloads', file.name);
				link.download = file.name;
				link.textContent = file.name;
				const size = document.createElement('span');
				size.textContent = formatSize(file.size);
				item.append(link, size);
				return item;
			}));
			listStatus.textContent = listing.files.length === 0
				? `Nothing in ~/${listing.folder} yet.`
				: listing.truncated ? `The newest ${listing.files.length} files of ~/${listing.folder}.` : '';
		} catch (error) {
			list.replaceChildren();
			listStatus.classList.add('error');
			listStatus.textContent = `Downloads unavailable: ${error.message}`;
		}
	}
}
