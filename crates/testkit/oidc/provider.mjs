// A real OpenID provider for tests: npm `oidc-provider` (installed by scripts/install-deps.sh).
// Usage: node provider.mjs PORT PACKAGE_DIR (the directory holding node_modules/oidc-provider)
// Script clients (client credentials) stand for people: their JWT access tokens carry the
// person's email and groups. Resources pick the audience: urn:polyphemus:api (aud
// "polyphemus"), urn:polyphemus:short (same aud, 1 s lifetime), urn:other:api (aud
// "urn:other:api"). POST /admin/rotate swaps the signing key for a new one.
// The code-flow client `polyphemus-ui` (secret `polyphemus-ui-secret`, and `other-ui` with
// `other-ui-secret`) may redirect to any loopback server's /signin/oidc/callback (tests pick
// free ports); the dev login form takes the person's name as login, any password; consent
// is given for them. ID tokens carry email and groups.
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const entry = path.join(process.argv[3], 'node_modules/oidc-provider/lib/index.js');
const { default: Provider } = await import(pathToFileURL(entry).href);

const people = {
  alice: { email: 'alice@labors.example', groups: ['labors-editors'] },
  vera: { email: 'vera@labors.example', groups: ['labors-viewers'] },
  olaf: { email: 'olaf@elsewhere.example', groups: ['other-group'] },
  paula: { email: 'paula@platform.example', groups: ['platform-admins'] },
};

const scriptClients = Object.keys(people).map((name) => ({
  client_id: `${name}-script`,
  client_secret: `${name}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
}));

const uiClients = ['polyphemus-ui', 'other-ui'].map((client_id) => ({
  client_id,
  client_secret: `${client_id}-secret`,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/signin/oidc/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1/signin'],
}));
const loopback = (suffix) => new RegExp(`^http://(127\\.0\\.0\\.1|localhost):\\d+${suffix}$`);

const resources = {
  'urn:polyphemus:api': { audience: 'polyphemus', ttl: 600 },
  'urn:polyphemus:short': { audience: 'polyphemus', ttl: 1 },
  'urn:other:api': { audience: 'urn:other:api', ttl: 600 },
};

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

function personOf(token) {
  const clientId = token.clientId || '';
  return people[token.accountId] || people[clientId.replace(/-script$/, '')];
}

function build(key) {
  const provider = new Provider(issuer, {
    clients: [...scriptClients, ...uiClients],
    conformIdTokenClaims: false,
    // First-party clients: consent is given for the person (oidc-provider's documented recipe).
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    jwks: { keys: [key] },
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client) => (client.grantTypeAllowed('client_credentials')
          ? 'urn:polyphemus:api' : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          const known = resources[resource];
          if (!known) throw new Error(`unknown resource ${resource}`);
          return { scope: 'api', audience: known.audience, accessTokenTTL: known.ttl,
                   accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    extraTokenClaims: (ctx, token) => {
      const person = personOf(token);
      return person ? { email: person.email, groups: person.groups } : {};
    },
    findAccount: (ctx, id) => people[id] && {
      accountId: id,
      claims: () => ({ sub: id, email: people[id].email, groups: people[id].groups }),
    },
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'] },
  });
  const { Client } = provider;
  const allowed = Client.prototype.redirectUriAllowed;
  Client.prototype.redirectUriAllowed = function check(uri) {
    return uiClients.some((c) => c.client_id === this.clientId)
      ? loopback('/signin/oidc/callback').test(uri) : allowed.call(this, uri);
  };
  const allowedLogout = Client.prototype.postLogoutRedirectUriAllowed;
  Client.prototype.postLogoutRedirectUriAllowed = function check(uri) {
    return uiClients.some((c) => c.client_id === this.clientId)
      ? loopback('/signin').test(uri) : allowedLogout.call(this, uri);
  };
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  return provider;
}

// The test binary that started this provider holds its stdin; when it ends, so does this.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

let current = build(newKey());
http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/admin/rotate') {
    current = build(newKey());
    res.writeHead(204).end();
    return;
  }
  current.callback()(req, res);
}).listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
