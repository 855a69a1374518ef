// SPDX-License-Identifier: MIT
// The HTTP half of docs/streaming-protocol.md: login, logout, whoami.

async function errorText(response, fallback) {
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
