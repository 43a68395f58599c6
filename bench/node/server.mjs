// node oidc-provider configured like Keygate for bench/run.sh (loopback only).
// Usage: PORT=NNNN CLIENT_SECRET=... node server.mjs   (prints "listening on http://127.0.0.1:PORT")
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const issuer = `http://127.0.0.1:${port}`;
const clientSecret = process.env.CLIENT_SECRET;
if (!clientSecret) throw new Error('CLIENT_SECRET is required');

// The default MemoryAdapter is an LRU capped at 1000 entries; Keygate's memory store is
// unbounded, so use a plain Map (expiry checked on read) to compare like with like.
const stores = new Map();
class MapAdapter {
  constructor(name) {
    if (!stores.has(name)) stores.set(name, new Map());
    this.m = stores.get(name);
  }
  async upsert(id, payload, expiresIn) {
    this.m.set(id, { payload, exp: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
  }
  async find(id) {
    const e = this.m.get(id);
    if (!e) return undefined;
    if (e.exp && e.exp < Date.now()) { this.m.delete(id); return undefined; }
    return e.payload;
  }
  async findByUserCode() { return undefined; }
  async findByUid() { return undefined; }
  async consume(id) { const e = this.m.get(id); if (e) e.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { this.m.delete(id); }
  async revokeByGrantId() {}
}

function jwk(type, opts, alg, kid) {
  const { privateKey } = crypto.generateKeyPairSync(type, opts);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}

const JWT_RESOURCE = 'urn:keygate-bench:api';      // JWT access tokens (ES256), the default
const OPAQUE_RESOURCE = 'urn:keygate-bench:opaque'; // opaque access tokens (introspectable)

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  jwks: {
    keys: [
      jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'es256-1'),
      jwk('rsa', { modulusLength: 2048 }, 'RS256', 'rs256-1'),
    ],
  },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  clients: [{
    client_id: 'bench',
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  scopes: ['openid', 'profile', 'email', 'offline_access', 'api'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf || JWT_RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource === JWT_RESOURCE) {
          return { scope: 'api', audience: JWT_RESOURCE, accessTokenTTL: 3600,
                   accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        }
        if (resource === OPAQUE_RESOURCE) {
          return { scope: 'api', audience: OPAQUE_RESOURCE, accessTokenTTL: 3600,
                   accessTokenFormat: 'opaque' };
        }
        throw new Provider.errors.InvalidTarget();
      },
    },
  },
  ttl: { ClientCredentials: 3600, AccessToken: 3600 },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
