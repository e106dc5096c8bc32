// An OpenID provider for the end-to-end tests: panva's oidc-provider (OpenID Certified), on
// 127.0.0.1:$PORT, with one confidential client and a fresh P-256 signing key per start (so a
// restart is a key rotation). Its development login and consent forms accept any login name;
// the account's email is <login>@example.com, verified. Prints "ready <issuer>" when listening.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const clientId = process.env.CLIENT_ID ?? 'passport';
const clientSecret = process.env.CLIENT_SECRET ?? 'passport-client-secret';
const redirectUri = process.env.REDIRECT_URI;
if (!port || !redirectUri) {
  console.error('PORT and REDIRECT_URI are required');
  process.exit(2);
}

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'ES256', use: 'sig' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  // Scope claims (email) go in the ID token, not only behind the userinfo endpoint.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: true };
      },
    };
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
