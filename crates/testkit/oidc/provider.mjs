// A real OpenID provider for tests: npm `oidc-provider` (installed by scripts/install-deps.sh).
// Usage: node provider.mjs PORT PACKAGE_DIR (the directory holding node_modules/oidc-provider)
// Script clients (client credentials) stand for people: their JWT access tokens carry the
// person's email and groups. Resources pick the audience: urn:polyphemus:api (aud
// "polyphemus"), urn:polyphemus:short (same aud, 1 s lifetime), urn:other:api (aud
// "urn:other:api"). POST /admin/rotate swaps the signing key for a new one.
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
    clients: scriptClients,
    jwks: { keys: [key] },
    features: {
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:polyphemus:api',
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
