/**
 * Entra's v2.0 token endpoint for the client-credentials grant (POST /{tenant}/oauth2/v2.0/token), with a client
 * secret or a certificate assertion, and the Graph access tokens it issues: RS256 JWTs (v1.0 claims as Graph
 * receives them: aud https://graph.microsoft.com, tid, appid, roles, idtyp app) that every Graph call must bear.
 */
import { createHash, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { AppRegistration, AppRegistrations, GraphRole } from './app-registrations';
import { assertionThumbprint, decodeAssertion, verifyAssertion } from './client-assertion';
import {
  applicationNotFound,
  credentialRequired,
  emptyToken,
  expiredToken,
  invalidAssertionType,
  invalidAudience,
  invalidClientSecret,
  invalidScope,
  invalidTokenSignature,
  malformedToken,
  missingParameter,
  resourceNotFound,
  unknownCertificate,
  unsupportedGrantType,
} from './graph-errors';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const GRAPH_RESOURCE = 'https://graph.microsoft.com';
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
const LIFETIME_S = 3599;

export interface TokenRequest {
  clientId?: string;
  form: Record<string, string>;
}

export interface IssuedToken {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
}

/** What a verified Graph bearer token grants. */
export interface Caller {
  clientId: string;
  roles: ReadonlySet<GraphRole>;
  tenantId: string;
  servicePrincipalId: string;
}

export class TokenService {
  private readonly signingKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  /** Tokens issued so far (for tests that count MSAL's requests). */
  issued = 0;

  constructor(
    private readonly apps: AppRegistrations,
    private readonly tenantId: string,
    private readonly now: () => number,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.signingKey = privateKey;
    this.publicKey = publicKey;
    this.keyId = createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
  }

  /** Reads the form as Entra does: which app, which credential; throws Entra's errors. */
  issue(form: Record<string, string>, tokenUrls: readonly string[], tenantName: string): IssuedToken {
    const grantType = form.grant_type;
    if (!grantType) throw missingParameter('grant_type');
    if (grantType !== 'client_credentials') throw unsupportedGrantType(grantType);
    const clientId = form.client_id;
    if (!clientId) throw missingParameter('client_id');
    const scope = form.scope;
    if (!scope) throw missingParameter('scope');
    const scopes = scope.split(/\s+/).filter(Boolean);
    if (scopes.length !== 1 || !scopes[0].endsWith('/.default')) throw invalidScope(scope);
    const resource = scopes[0].slice(0, -'/.default'.length).replace(/\/$/, '');
    if (resource !== GRAPH_RESOURCE && resource !== GRAPH_APP_ID) throw resourceNotFound(resource, tenantName);
    const app = this.apps.get(clientId);
    if (!app) throw applicationNotFound(clientId, tenantName);
    const credential = this.authenticateClient(app, form, tokenUrls);
    return this.mint(app, credential);
  }

  private authenticateClient(app: AppRegistration, form: Record<string, string>, tokenUrls: readonly string[]): 'secret' | 'certificate' {
    if (form.client_assertion !== undefined || form.client_assertion_type !== undefined) {
      if (form.client_assertion_type !== JWT_BEARER_ASSERTION) throw invalidAssertionType(form.client_assertion_type ?? '');
      if (!form.client_assertion) throw missingParameter('client_assertion');
      const decoded = decodeAssertion(form.client_assertion);
      const thumbprint = assertionThumbprint(decoded);
      const key = thumbprint ? app.certificates.get(thumbprint.hex) : undefined;
      if (!key) throw unknownCertificate(thumbprint?.hex ?? '');
      verifyAssertion(decoded, key, app.clientId, tokenUrls, this.now());
      return 'certificate';
    }
    if (form.client_secret === undefined) throw credentialRequired();
    if (!app.secrets.has(form.client_secret)) throw invalidClientSecret(app.clientId);
    return 'secret';
  }

  private mint(app: AppRegistration, credential: 'secret' | 'certificate'): IssuedToken {
    const now = Math.floor(this.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5t: this.keyId, kid: this.keyId };
    const claims = {
      aud: GRAPH_RESOURCE,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + LIFETIME_S,
      aio: randomUUID(),
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr: credential === 'secret' ? '1' : '2',
      idp: `https://sts.windows.net/${this.tenantId}/`,
      idtyp: 'app',
      oid: app.servicePrincipalId,
      roles: [...app.roles],
      sub: app.servicePrincipalId,
      tid: this.tenantId,
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ver: '1.0',
    };
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), this.signingKey).toString('base64url')}`;
    this.issued += 1;
    return { token_type: 'Bearer', expires_in: LIFETIME_S, ext_expires_in: LIFETIME_S, access_token: token };
  }

  /** The caller of an `Authorization: Bearer` header, or Graph's 401 InvalidAuthenticationToken. */
  authenticate(authorization: string | undefined): Caller {
    const match = /^Bearer\s+(\S*)$/i.exec(authorization ?? '');
    if (!match || match[1] === '') throw emptyToken();
    const parts = match[1].split('.');
    if (parts.length !== 3) throw malformedToken();
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      throw malformedToken();
    }
    if (!verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), this.publicKey, Buffer.from(parts[2], 'base64url'))) throw invalidTokenSignature();
    if (claims.aud !== GRAPH_RESOURCE && claims.aud !== GRAPH_APP_ID) throw invalidAudience();
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= this.now()) throw expiredToken();
    const app = this.apps.get(String(claims.appid));
    if (!app || claims.tid !== this.tenantId) throw invalidTokenSignature();
    return { clientId: app.clientId, roles: new Set(claims.roles as GraphRole[]), tenantId: this.tenantId, servicePrincipalId: app.servicePrincipalId };
  }

  /** The signing key as a JWKS entry (GET /{tenant}/discovery/v2.0/keys). */
  jwk(): object {
    const jwk = this.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    return { kty: 'RSA', use: 'sig', kid: this.keyId, x5t: this.keyId, n: jwk.n, e: jwk.e, issuer: `https://login.microsoftonline.com/${this.tenantId}/v2.0` };
  }
}
