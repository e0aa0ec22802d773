/**
 * Entra side of the Graph emulator, through @azure/msal-node's ConfidentialClientApplication (secret, and
 * certificate with a SHA-1 or SHA-256 thumbprint) and raw HTTP: discovery documents, tokens, Entra's errors, and
 * Graph's 401/403 for missing, bad or under-privileged bearer tokens.
 */
import { fetch } from 'undici';
import { createSelfSignedCertificate, GRAPH_SCOPE } from '../../src/sandbox/graph-emulator';
import { CLIENT_ID, SECRET, startFixture, type Fixture } from './graph-emulator-fixture';

describe('Graph emulator: Entra client credentials', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
    f.emulator.addMailbox('alice@contoso.com', { timeZone: 'W. Europe Standard Time' });
  });
  afterAll(() => f.close());

  const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

  it('gives MSAL a Graph token for the client secret, after MSAL read the tenant OpenID configuration', async () => {
    f.emulator.resetCalls();
    const result = await f.msalWithSecret().acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    expect(result?.tokenType).toBe('Bearer');
    const claims = claimsOf(result?.accessToken ?? '');
    expect(claims).toMatchObject({ aud: 'https://graph.microsoft.com', appid: CLIENT_ID, appidacr: '1', tid: f.emulator.tenantId, idtyp: 'app' });
    expect(claims.roles).toEqual(expect.arrayContaining(['Calendars.ReadWrite', 'MailboxSettings.Read']));
    expect(f.emulator.calls.map((c) => `${c.method} ${c.status}`)).toEqual(['openid-configuration 200', 'token 200']);
  });

  it.each(['sha256', 'sha1'] as const)('gives MSAL a token for the certificate (%s thumbprint, signed assertion)', async (kind) => {
    const result = await f.msalWithCertificate(kind).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] });
    expect(claimsOf(result?.accessToken ?? '')).toMatchObject({ appid: CLIENT_ID, appidacr: '2' });
    const me = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings/timeZone', { token: result?.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.value).toBe('W. Europe Standard Time');
  });

  it('refuses a wrong secret with invalid_client AADSTS7000215 (MSAL surfaces the code)', async () => {
    await expect(f.msalWithSecret('not-the-secret').acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] })).rejects.toMatchObject({
      errorCode: 'invalid_client',
      errorMessage: expect.stringContaining('AADSTS7000215'),
    });
  });

  it('refuses a certificate the app never uploaded (AADSTS700027)', async () => {
    const stranger = createSelfSignedCertificate({ commonName: 'stranger' });
    await expect(f.msalWithCertificate('sha256', stranger).acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE] })).rejects.toMatchObject({
      errorCode: 'invalid_client',
      errorMessage: expect.stringContaining('AADSTS700027'),
    });
  });

  it("answers Entra's error bodies for raw requests: unknown tenant, scope without /.default, unknown app", async () => {
    const post = async (tenant: string, form: Record<string, string>) => {
      const res = await fetch(`${f.emulator.baseUrl}${tenant}/oauth2/v2.0/token`, {
        method: 'POST',
        dispatcher: f.emulator.dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const good = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, scope: GRAPH_SCOPE };
    const tenant = await post('fabrikam.onmicrosoft.com', good);
    expect(tenant.status).toBe(400);
    expect(tenant.body).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
    expect(String(tenant.body.error_description)).toMatch(/^AADSTS90002: Tenant 'fabrikam.onmicrosoft.com' not found\..*Trace ID: .*Correlation ID: .*Timestamp: /s);
    const scope = await post(f.emulator.tenantId, { ...good, scope: 'https://graph.microsoft.com/Calendars.Read' });
    expect(scope).toMatchObject({ status: 400, body: { error: 'invalid_scope', error_codes: [1002012] } });
    const app = await post(f.emulator.tenantDomain, { ...good, client_id: '00000000-0000-0000-0000-000000000001' });
    expect(app).toMatchObject({ status: 400, body: { error: 'unauthorized_client', error_codes: [700016] } });
    const noCredential = await post(f.emulator.tenantId, { grant_type: 'client_credentials', client_id: CLIENT_ID, scope: GRAPH_SCOPE });
    expect(noCredential).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [7000216] } });
    const viaDomain = await post(f.emulator.tenantDomain, good);
    expect(viaDomain).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 } });
  });

  it('serves the discovery documents: OpenID configuration, JWKS, instance discovery', async () => {
    const get = async (path: string) => (await fetch(`${f.emulator.baseUrl}${path}`, { dispatcher: f.emulator.dispatcher })).json() as Promise<any>;
    const config = await get(`${f.emulator.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(config.token_endpoint).toBe(f.emulator.tokenUrl);
    expect(config.issuer).toBe(`${f.emulator.authority}/v2.0`);
    const jwks = await get(`${f.emulator.tenantId}/discovery/v2.0/keys`);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig' });
    const discovery = await get('common/discovery/instance?api-version=1.1&authorization_endpoint=x');
    expect(discovery.metadata[0].aliases).toEqual([f.emulator.knownAuthority]);
  });

  it('requires a valid bearer token on every Graph call (401 InvalidAuthenticationToken)', async () => {
    const none = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token is empty.' });
    expect(none.body.error.innerError).toEqual({ date: expect.any(String), 'request-id': expect.any(String), 'client-request-id': expect.any(String) });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(none.headers.get('request-id')).toBe(none.body.error.innerError['request-id']);
    const garbage = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token: 'abc' });
    expect(garbage.body.error.code).toBe('InvalidAuthenticationToken');
    const real = await f.token();
    const [h, p] = real.split('.');
    const forged = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token: `${h}.${p}.${Buffer.from('x').toString('base64url')}` });
    expect(forged).toMatchObject({ status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } });
  });

  it('answers 403 ErrorAccessDenied when the app lacks the permission (Calendars.Read cannot write)', async () => {
    const readOnly = createSelfSignedCertificate({ commonName: 'read-only' });
    f.emulator.registerApp({ clientId: '7e0d2c44-1111-4a5b-8c9d-aabbccddeeff', secret: 'ro', roles: ['Calendars.Read'], certificatePem: readOnly.certificatePem });
    const res = await fetch(f.emulator.tokenUrl, {
      method: 'POST',
      dispatcher: f.emulator.dispatcher,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: '7e0d2c44-1111-4a5b-8c9d-aabbccddeeff', client_secret: 'ro', scope: GRAPH_SCOPE }).toString(),
    });
    const { access_token } = (await res.json()) as { access_token: string };
    const create = await f.graph('POST', 'users/alice@contoso.com/events', {
      token: access_token,
      body: { subject: 'x', start: { dateTime: '2026-12-08T09:00:00', timeZone: 'UTC' }, end: { dateTime: '2026-12-08T09:30:00', timeZone: 'UTC' } },
    });
    expect(create).toMatchObject({ status: 403, body: { error: { code: 'ErrorAccessDenied' } } });
    const settings = await f.graph('GET', 'users/alice@contoso.com/mailboxSettings', { token: access_token });
    expect(settings.status).toBe(403);
  });
});
