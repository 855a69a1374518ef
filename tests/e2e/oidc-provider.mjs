// SPDX-License-Identifier: MIT
// A real OpenID provider for the tests: oidc-provider (npm, a certified
// implementation) on 127.0.0.1, with one confidential client, PKCE required,
// an RSA signing key made here, three accounts with groups, and a minimal
// login form of its own (no devInteractions) that a browser fills in.
//
// In front of it sits a small tampering proxy, and the issuer is the proxy's
// address, so glassboxd (discovery, keys, token endpoint) and the browser
// (authorization, login form) both go through it. It forwards every request
// and counts them; in a mode the test sets, it rewrites the id_token in the
// token endpoint's answer:
//
//   pass           untouched
//   wrong-aud      aud = "someone-else", signed again with the provider's key
//   expired        exp an hour ago (iat two hours ago), signed again likewise
//   bad-signature  one byte of the signature flipped
//   unknown-kid    signed by a key of ours under kid "not-published"
//   rotated        signed by the "next" key (kid "rotated-1"), which the
//                  proxy then publishes in the JWKS too: a key rotation
//
// A correct provider never issues such tokens, so this is how the plugin's
// refusals are tested through the real flow.
//
// Used by tests/e2e/test-oidc.mjs (startProvider, in the same process) and
// tests/integration/test-auth-oidc.py (run alone, driven over stdin; see the
// end of this file). By hand, inside tests/e2e/run-in-netns:
//   node tests/e2e/oidc-provider.mjs --redirect-uri http://127.0.0.1:8080/api/login/callback/oidc

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pathToFileURL } from 'node:url';

export const CLIENT_ID = 'glassbox';
export const MODES = ['pass', 'wrong-aud', 'expired', 'bad-signature', 'unknown-kid', 'rotated'];

/** Accounts: name -> password, groups. The account id is the name. */
export const ACCOUNTS = {
	alice: { password: 'alice-password', name: 'Alice Admin', groups: ['staff', 'glassbox-admins'] },
	bob: { password: 'bob-password', name: 'Bob User', groups: ['staff'] },
	carol: { password: 'carol-password', name: 'Carol Contractor', groups: ['contractors'] },
};

const BODY_MAX = 1024 * 1024;

function makeKey(kid) {
	const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
	const extra = { kid, alg: 'RS256', use: 'sig' };
	return {
		kid,
		privateKey,
		privateJwk: { ...privateKey.export({ format: 'jwk' }), ...extra },
		publicJwk: { ...publicKey.export({ format: 'jwk' }), ...extra },
	};
}

const base64url = (data) => Buffer.from(data).toString('base64url');
const decodeJson = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

/** An RS256 JWS of claims with header, signed by key. */
function signJwt(header, claims, key) {
	const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
	return `${input}.${base64url(crypto.sign('sha256', Buffer.from(input), key.privateKey))}`;
}

/** The id_token as the mode wants it. */
function tamper(idToken, mode, keys) {
	const [headerPart, claimsPart, signaturePart] = idToken.split('.');
	const header = decodeJson(headerPart);
	const claims = decodeJson(claimsPart);
	const now = Math.floor(Date.now() / 1000);
	switch (mode) {
	case 'wrong-aud':
		return signJwt(header, { ...claims, aud: 'someone-else' }, keys.provider);
	case 'expired':
		return signJwt(header, { ...claims, iat: now - 7200, exp: now - 3600 }, keys.provider);
	case 'bad-signature': {
		const signature = Buffer.from(signaturePart, 'base64url');
		signature[signature.length >> 1] ^= 0x5a;
		return `${headerPart}.${claimsPart}.${base64url(signature)}`;
	}
	case 'unknown-kid':
		return signJwt({ ...header, kid: keys.stranger.kid }, claims, keys.stranger);
	case 'rotated':
		return signJwt({ ...header, kid: keys.next.kid }, claims, keys.next);
	default:
		return idToken;
	}
}

const escapeHtml = (text) => String(text ?? '').replace(/[&<>"']/g,
	(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		req.on('data', (chunk) => {
			size += chunk.length;
			if (size > BODY_MAX) {
				reject(new Error('body too large'));
				req.destroy();
				return;
			}
			chunks.push(chunk);
		});
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

function listen(server) {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve(server.address().port));
	});
}

function loginPage(uid, error = '') {
	return `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Test IdP: sign in</title>
<h1>Test IdP</h1>
<form id="provider-login" method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>User <input id="provider-user" name="login" autocomplete="username"></label>
<label>Password <input id="provider-password" name="password" type="password"></label>
<button id="provider-submit" type="submit">Sign in</button>
</form>
<p id="provider-error">${escapeHtml(error)}</p>
`;
}

/**
 * Start the proxy and the provider's server on free ports of 127.0.0.1.
 * The provider itself is made by configure(), once the client's redirect URI
 * (glassboxd's port) is known; until then the proxy answers 503. With tls
 * ({ cert, key }, PEM), the proxy, and so the issuer, speaks https.
 */
export async function startProvider({ log = () => {}, tls = null } = {}) {
	const keys = {
		provider: makeKey('provider-1'),
		stranger: makeKey('not-published'),
		next: makeKey('rotated-1'),
	};
	const state = {
		mode: 'pass',
		publishNext: false,
		counts: { discovery: 0, jwks: 0, jwksAt: 0, token: 0, tampered: 0, logins: 0, failedLogins: 0 },
		provider: null,
	};

	async function interaction(req, res, uid, action) {
		const provider = state.provider;
		const details = await provider.interactionDetails(req, res);
		if (details.uid !== uid)
			throw new Error('interaction mismatch');
		const { prompt, params, session } = details;
		if (action === 'login' && req.method === 'POST') {
			const form = new URLSearchParams((await readBody(req)).toString('utf8'));
			const name = form.get('login') ?? '';
			const account = Object.hasOwn(ACCOUNTS, name) ? ACCOUNTS[name] : null;
			if (!account || account.password !== form.get('password')) {
				state.counts.failedLogins++;
				res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
				res.end(loginPage(uid, 'Wrong user name or password.'));
				return;
			}
			state.counts.logins++;
			await provider.interactionFinished(req, res, { login: { accountId: name } },
				{ mergeWithLastSubmission: false });
			return;
		}
		if (prompt.name === 'login') {
			res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
			res.end(loginPage(uid));
			return;
		}
		if (prompt.name === 'consent') {
			// A first-party client: consent is given without asking.
			const grant = details.grantId
				? await provider.Grant.find(details.grantId)
				: new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
			if (prompt.details.missingOIDCScope)
				grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
			if (prompt.details.missingOIDCClaims)
				grant.addOIDCClaims(prompt.details.missingOIDCClaims);
			for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {}))
				grant.addResourceScope(indicator, scopes.join(' '));
			const grantId = await grant.save();
			await provider.interactionFinished(req, res, { consent: { grantId } },
				{ mergeWithLastSubmission: true });
			return;
		}
		res.writeHead(400, { 'Content-Type': 'text/plain' });
		res.end(`unexpected prompt ${prompt.name}`);
	}

	const upstream = http.createServer((req, res) => {
		if (!state.provider) {
			res.writeHead(503).end('not configured');
			return;
		}
		const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec(req.url.split('?')[0]);
		if (match) {
			interaction(req, res, match[1], match[2]).catch((error) => {
				log(`provider: interaction: ${error.message}`);
				if (!res.headersSent)
					res.writeHead(400, { 'Content-Type': 'text/plain' });
				res.end(`interaction failed: ${error.message}`);
			});
			return;
		}
		state.callback(req, res);
	});
	const upstreamPort = await listen(upstream);

	// The proxy: everything goes through; the token endpoint's id_token and
	// the JWKS may be rewritten.
	const handle = (req, res) => {
		const path = req.url.split('?')[0];
		const isToken = req.method === 'POST' && path === '/token';
		const isJwks = req.method === 'GET' && path === '/jwks';
		if (req.method === 'GET' && path === '/.well-known/openid-configuration')
			state.counts.discovery++;
		if (isJwks) {
			state.counts.jwks++;
			state.counts.jwksAt = Date.now();
		}
		if (isToken)
			state.counts.token++;
		const forward = http.request({
			host: '127.0.0.1',
			port: upstreamPort,
			method: req.method,
			path: req.url,
			headers: { ...req.headers, 'x-forwarded-proto': tls ? 'https' : 'http' },
		}, async (answer) => {
			if (!isToken && !isJwks) {
				res.writeHead(answer.statusCode, answer.headers);
				answer.pipe(res);
				return;
			}
			let body = await readBody(answer);
			try {
				const json = JSON.parse(body.toString('utf8'));
				if (isToken && json.id_token && state.mode !== 'pass') {
					json.id_token = tamper(json.id_token, state.mode, keys);
					state.counts.tampered++;
					log(`provider proxy: id_token rewritten (${state.mode})`);
				}
				if (isJwks && state.publishNext && Array.isArray(json.keys))
					json.keys.push(keys.next.publicJwk);
				body = Buffer.from(JSON.stringify(json));
			} catch (error) {
				log(`provider proxy: ${path}: not JSON (${error.message}); passed on`);
			}
			const headers = { ...answer.headers, 'content-length': String(body.length) };
			delete headers['transfer-encoding'];
			res.writeHead(answer.statusCode, headers);
			res.end(body);
		});
		forward.on('error', (error) => {
			log(`provider proxy: ${error.message}`);
			if (!res.headersSent)
				res.writeHead(502);
			res.end();
		});
		req.pipe(forward);
	};
	const proxy = tls ? https.createServer(tls, handle) : http.createServer(handle);
	const proxyPort = await listen(proxy);
	const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${proxyPort}`;

	return {
		issuer,
		keys,
		counts: state.counts,

		/** Make the provider, with its client's redirect URI and secret. */
		async configure({ redirectUri, clientSecret }) {
			const { default: Provider } = await import('oidc-provider');
			const provider = new Provider(issuer, {
				clients: [{
					client_id: CLIENT_ID,
					client_secret: clientSecret,
					redirect_uris: [redirectUri],
					grant_types: ['authorization_code'],
					response_types: ['code'],
					token_endpoint_auth_method: 'client_secret_basic',
				}],
				jwks: { keys: [keys.provider.privateJwk] },
				async findAccount(ctx, id) {
					if (!Object.hasOwn(ACCOUNTS, id))
						return undefined;
					const account = ACCOUNTS[id];
					return {
						accountId: id,
						async claims() {
							return {
								sub: id,
								preferred_username: id,
								name: account.name,
								email: `${id}@example.test`,
								groups: account.groups,
							};
						},
					};
				},
				claims: {
					openid: ['sub'],
					profile: ['preferred_username', 'name'],
					email: ['email'],
					groups: ['groups'],
				},
				scopes: ['openid', 'profile', 'email', 'groups'],
				// Groups and the user name in the ID token itself, as Keycloak's
				// and Authentik's mappers put them.
				conformIdTokenClaims: false,
				pkce: { required: () => true, methods: ['S256'] },
				features: { devInteractions: { enabled: false } },
				interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
				cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
				ttl: { AccessToken: 600, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600 },
				async renderError(ctx, out) {
					ctx.type = 'html';
					ctx.body = `<!doctype html><title>Test IdP: error</title><p id="provider-error">${
						escapeHtml(out.error)}: ${escapeHtml(out.error_description)}</p>`;
				},
			});
			// Behind the proxy: its X-Forwarded-Proto says whether the browser used TLS.
			provider.proxy = true;
			provider.on('server_error', (ctx, error) => log(`provider: server_error: ${error.stack}`));
			provider.on('grant.error', (ctx, error) => log(`provider: grant.error: ${error.message}`));
			state.callback = provider.callback();
			state.provider = provider;
		},

		/** How the next id_tokens are rewritten (MODES). */
		setMode(mode) {
			if (!MODES.includes(mode))
				throw new Error(`unknown mode ${mode}`);
			state.mode = mode;
			if (mode === 'rotated')
				state.publishNext = true;
		},

		async close() {
			await Promise.all([proxy, upstream].map((server) => new Promise((resolve) => {
				server.closeAllConnections?.();
				server.close(() => resolve());
			})));
		},
	};
}

// Alone: start it, print what a drop-in needs, then take commands on stdin,
// one a line, each answered on stdout: "mode NAME" (-> "ok mode NAME"),
// "counts" (-> "counts {JSON}"). End of input stops it. --tls-cert and
// --tls-key (PEM files) make the proxy, and the issuer, https.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	const args = process.argv.slice(2);
	const option = (name, fallback) => {
		const i = args.indexOf(name);
		return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
	};
	const cert = option('--tls-cert', null);
	const key = option('--tls-key', null);
	const tls = cert && key ? { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } : null;
	const idp = await startProvider({ log: (m) => console.log(`log ${m}`), tls });
	const secret = option('--client-secret', 'test-secret');
	await idp.configure({
		redirectUri: option('--redirect-uri', 'http://127.0.0.1:8080/api/login/callback/oidc'),
		clientSecret: secret,
	});
	idp.setMode(option('--mode', 'pass'));
	console.log(`issuer = ${idp.issuer}\nclient_id = ${CLIENT_ID}\nclient_secret = ${secret}`);
	console.log(`accounts: ${Object.entries(ACCOUNTS).map(([n, a]) => `${n}/${a.password} (${a.groups})`).join(', ')}`);
	console.log('ready');
	const { createInterface } = await import('node:readline');
	const input = createInterface({ input: process.stdin });
	input.on('line', (line) => {
		const [command, value] = line.trim().split(/\s+/);
		try {
			if (command === 'mode') {
				idp.setMode(value);
				console.log(`ok mode ${value}`);
			} else if (command === 'counts') {
				console.log(`counts ${JSON.stringify(idp.counts)}`);
			} else if (command) {
				console.log(`error unknown command ${command}`);
			}
		} catch (error) {
			console.log(`error ${error.message}`);
		}
	});
	input.on('close', async () => {
		await idp.close();
		process.exit(0);
	});
}
