import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { JwtRejected, jwtVerifier, type JwtSettings } from '../../gateway/edge/jwtVerifier.ts';

const defaults = { limits: { maxDepth: 12, maxAliases: 20, maxCost: 100_000 }, rateLimit: { perSecond: 100, burst: 200 } };
const SECRET = 'an-hs256-secret-of-at-least-32-bytes!';
const settings = (key: JwtSettings['key']): JwtSettings => ({ key, issuer: 'https://idp.example.com/', audience: 'stockgraph', clockSkewSeconds: 30, locationsClaim: 'stockgraph_locations' });
const signed = (claims: Record<string, unknown>, sign: (jwt: SignJWT) => Promise<string>, { audience = 'stockgraph', expiresIn = '5m' } = {}) =>
  sign(new SignJWT(claims).setIssuer('https://idp.example.com/').setAudience(audience).setIssuedAt().setExpirationTime(expiresIn));

describe('bearer JWTs with a static key', () => {
  it('verifies HS256 tokens with JWT_SECRET: scopes, granted locations, the client name', async () => {
    const verify = await jwtVerifier(settings({ secret: SECRET }), defaults);
    const hs256 = (jwt: SignJWT, secret = SECRET) => jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
    const principal = await verify(await signed({ azp: 'portal', scope: 'inventory:read orders:read not-a-scope', stockgraph_locations: ['DC-01'] }, hs256));
    assert.equal(principal.kind, 'jwt');
    assert.equal(principal.name, 'portal');
    assert.deepEqual([...principal.scopes], ['inventory:read', 'orders:read'], 'scopes the gateway does not know are left out');
    assert.deepEqual(principal.locations, ['DC-01']);
    assert.equal((await verify(await signed({ sub: 'svc', scp: ['transfers:write'] }, hs256))).locations, null, 'no locations claim: every location');
    await assert.rejects(verify(await signed({ sub: 'x' }, (jwt) => hs256(jwt, 'another-secret-of-at-least-32-bytes!!'))), JwtRejected);
    await assert.rejects(verify(await signed({ sub: 'x' }, hs256, { audience: 'elsewhere' })), /aud claim/);
    await assert.rejects(verify(await signed({ sub: 'x', stockgraph_locations: 'DC-01' }, hs256)), /must be a list of location ids/);
  });

  it('verifies tokens against JWT_PUBLIC_KEY with its algorithm only', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const verify = await jwtVerifier(settings({ publicKeyPem: await exportSPKI(publicKey), algorithm: 'ES256' }), defaults);
    const es256 = (jwt: SignJWT) => jwt.setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
    assert.equal((await verify(await signed({ client_id: 'erp-bridge', scope: 'inventory:read' }, es256))).name, 'erp-bridge');
    await assert.rejects(verify(await signed({ sub: 'x' }, es256, { expiresIn: '-2m' })), /expired/);
    const other = await generateKeyPair('ES256');
    await assert.rejects(verify(await signed({ sub: 'x' }, (jwt) => jwt.setProtectedHeader({ alg: 'ES256' }).sign(other.privateKey))), /not signed by a trusted key/);
  });
});
