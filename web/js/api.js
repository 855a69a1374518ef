// SPDX-License-Identifier: MIT
// The HTTP half of docs/streaming-protocol.md: login methods, login, logout, whoami.

/** The server's {"error": ...} text of @response, or @fallback. */
export async function errorText(response, fallback) {
	try {
		const body = await response.json();
		if (typeof body?.error === 'string' && body.error !== '')
			return body.error;
	} catch {
		// Not JSON: keep the fallback.
	}
	return fallback;
}

/** The logged-in user's name, or null when the cookie is missing or stale. */
export async function whoami() {
	const response = await fetch('/api/whoami', {
		credentials: 'same-origin',
		cache: 'no-store',
	});
	if (response.status === 401)
		return null;
	if (!response.ok)
		throw new Error(`whoami: HTTP ${response.status}`);
	const body = await response.json();
	return typeof body?.user === 'string' ? body.user : null;
}

/**
 * The login methods glassboxd offers, in its plugins' order:
 * [{ plugin, method: 'password' | 'redirect', label }]. Rejects when it cannot tell.
 */
export async function methods() {
	const response = await fetch('/api/auth/methods', {
		credentials: 'same-origin',
		cache: 'no-store',
	});
	if (!response.ok)
		throw new Error(`login methods: HTTP ${response.status}`);
	const body = await response.json();
	if (!Array.isArray(body?.methods))
		throw new Error('login methods: no list in the answer');
	return body.methods
		.filter((m) => typeof m?.plugin === 'string' && typeof m?.method === 'string')
		.map((m) => ({
			plugin: m.plugin,
			method: m.method,
			label: typeof m.label === 'string' && m.label !== '' ? m.label : m.plugin,
		}));
}

/** Where a redirect login starts: glassboxd sends the browser on to the provider. */
export function redirectLoginUrl(plugin) {
	return `/api/login/redirect?plugin=${encodeURIComponent(plugin)}`;
}

/** Resolves to the user name; rejects with an Error whose message is for the user. */
export async function login(username, password) {
	let response;
	try {
		response = await fetch('/api/login', {
			method: 'POST',
			credentials: 'same-origin',
			cache: 'no-store',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ username, password }),
		});
	} catch {
		throw new Error('The server cannot be reached.');
	}
	if (response.status === 401)
		throw new Error(await errorText(response, 'Wrong user name or password.'));
	if (response.status === 413)
		throw new Error('The user name or password is too long.');
	if (!response.ok)
		throw new Error(await errorText(response, `Login failed (HTTP ${response.status}).`));
	const body = await response.json();
	return typeof body?.user === 'string' ? body.user : username;
}

export async function logout() {
	try {
		await fetch('/api/logout', {
			method: 'POST',
			credentials: 'same-origin',
			cache: 'no-store',
		});
	} catch {
		// The page shows the login form either way.
	}
}
