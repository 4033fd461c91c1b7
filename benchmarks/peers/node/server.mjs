// panva/oidc-provider as a peer for benchmarks/side_by_side.py: the fastest certified OpenID
// provider, configured to do what the bridge does and nothing the bridge does not.
//
//   node server.mjs PORT ACCOUNTS_FILE
//
// ACCOUNTS_FILE is JSON: {"client": {"client_id", "client_secret", "redirect_uri"},
// "password_hash": "<bcrypt>", "users": N}. Users user1..userN share the stored bcrypt hash (as the
// bridge's generate_series legacy table does) and are checked with bcrypt.compare on every login.
// Store: oidc-provider's own in-memory adapter (MemoryAdapter) over a plain Map: the library's
// default store is an LRU of 1,000 entries, which at 1,000 refreshes/s evicts tokens that are still
// live (they came back as invalid_grant). One process: an in-memory store cannot be shared by a
// cluster. Refresh tokens rotate on every use, as the bridge's and stock DOT's do.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';

import bcrypt from 'bcrypt';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';

const [port, accountsFile] = process.argv.slice(2);
const setup = JSON.parse(readFileSync(accountsFile, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;
const SCOPES = ['openid', 'profile', 'email', 'offline_access'];

function accountFor(login) {
  const match = /^user(\d+)$/.exec(login);
  if (!match || Number(match[1]) < 1 || Number(match[1]) > setup.users) return undefined;
  const id = match[1];
  return {
    accountId: `sub-${id}`,
    async claims() {
      return {
        sub: `sub-${id}`,
        preferred_username: `${login}@bench.example.edu`,
        name: 'Given Family',
        given_name: 'Given',
        family_name: 'Family',
        email: `${login}@example.org`,
        email_verified: false,
      };
    },
  };
}

// The library's LRU interface (get, set with maxAge, delete) without the bound.
class UnboundedStore {
  #entries = new Map();

  get(key) {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiry !== undefined && entry.expiry <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key, value, { maxAge } = {}) {
    const finite = typeof maxAge === 'number' && maxAge !== Number.POSITIVE_INFINITY;
    this.#entries.set(key, { value, expiry: finite ? Date.now() + maxAge : undefined });
    return this;
  }

  delete(key) {
    return this.#entries.delete(key);
  }
}
const store = new UnboundedStore();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: setup.client.client_id,
    client_secret: setup.client.client_secret,
    redirect_uris: [setup.client.redirect_uri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [signingKey] },
  cookies: { keys: [setup.cookie_key] },
  scopes: SCOPES,
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    const match = /^sub-(\d+)$/.exec(sub);
    return match ? accountFor(`user${match[1]}`) : undefined;
  },
  // The bridge and stock DOT issue a refresh token with every code exchange; so does this peer
  // (the library's default wants offline_access plus prompt=consent).
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  rotateRefreshToken: () => true,
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 30 * 24 * 3600 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});

function loginPage(uid, error) {
  return `<!doctype html><html><head><title>Sign in</title></head><body>
<h1>Sign in</h1>${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<input type="text" name="login" autocomplete="username" required>
<input type="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 65536) throw new Error('body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET' && !action) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid));
    return;
  }
  if (req.method !== 'POST' || action !== 'login') {
    res.writeHead(405).end();
    return;
  }
  const form = await readForm(req);
  const account = accountFor(form.get('login') || '');
  // Unknown users cost a verification too, as in the bridge.
  const ok = await bcrypt.compare(form.get('password') || '', setup.password_hash);
  if (!account || !ok) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid, 'The username or password is incorrect.'));
    return;
  }
  // A first-party client: the grant is recorded here, as the bridge's trusted clients skip consent.
  const grant = new provider.Grant({ accountId: account.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  grant.addOIDCScope((missing.missingOIDCScope || SCOPES).join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId: account.accountId },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const oidc = provider.callback();
http.createServer((req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec(req.url.split('?')[0]);
  if (!match) {
    oidc(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((err) => {
    if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(String(err && err.message));
  });
}).listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
