/**
 * Google's OAuth token endpoint for service accounts (JWT bearer grant with domain-wide delegation), and the
 * access tokens it hands out.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { invalidCredentials, OAuthError } from './google-errors';
import { decodeAssertion, GOOGLE_TOKEN_URL, verifyAssertion, type DecodedAssertion } from './jwt-assertion';
import type { UserDirectory } from './user-directory';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_LIFETIME_S = 3600;

export type TrustedKey = { client_email: string; private_key: string } | { client_email: string; public_key: string };

interface TrustedAccount {
  publicKey: KeyObject;
  delegation: boolean;
  /** The scopes the Workspace admin granted the client id (domain-wide delegation); undefined: any scope. */
  scopes?: ReadonlySet<string>;
}

export interface AccessToken {
  /** The impersonated user (or the service account itself when the assertion had no `sub`). */
  subject: string;
  scopes: ReadonlySet<string>;
  expiresAt: number;
}

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  token_type: 'Bearer';
}

export class TokenService {
  private readonly trusted = new Map<string, TrustedAccount>();
  private readonly tokens = new Map<string, AccessToken>();

  constructor(
    private readonly directory: UserDirectory,
    private readonly now: () => number,
  ) {}

  trust(key: TrustedKey, delegation: boolean, scopes?: readonly string[]): void {
    const pem = 'private_key' in key ? key.private_key : key.public_key;
    this.trusted.set(key.client_email, { publicKey: createPublicKey(pem), delegation, scopes: scopes ? new Set(scopes) : undefined });
  }

  /** Reads the grant from the form (or JSON) body; the assertion is decoded, not yet trusted. */
  parseRequest(body: unknown): DecodedAssertion {
    const form = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const grantType = form.grant_type;
    if (typeof grantType !== 'string') throw new OAuthError(400, 'invalid_request', 'Missing required parameter: grant_type');
    if (grantType !== JWT_BEARER) throw new OAuthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
    if (typeof form.assertion !== 'string' || !form.assertion) throw new OAuthError(400, 'invalid_request', 'Missing required parameter: assertion');
    return decodeAssertion(form.assertion);
  }

  /** Who the assertion claims to act for (for call accounting and faults, before it is verified). */
  static principal(decoded: DecodedAssertion): string | undefined {
    return decoded.claims.sub ?? decoded.claims.iss;
  }

  /** Verifies the assertion like Google and issues an access token bound to (subject, scopes). */
  issue(decoded: DecodedAssertion, tokenUrl: string): TokenResponse {
    const { iss, sub, scope } = decoded.claims;
    const account = iss ? this.trusted.get(iss) : undefined;
    if (!iss || !account) throw new OAuthError(400, 'invalid_grant', 'Invalid grant: account not found');
    verifyAssertion(decoded, account.publicKey, [tokenUrl, GOOGLE_TOKEN_URL], this.now());
    const scopes = (scope ?? '').split(/\s+/).filter(Boolean);
    if (scopes.length === 0) throw new OAuthError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    if (sub !== undefined) {
      if (!this.directory.resolve(sub)) throw new OAuthError(400, 'invalid_grant', 'Invalid email or User ID');
      // Google refuses the whole token when any requested scope is missing from the client id's delegation.
      if (!account.delegation || (account.scopes && scopes.some((s) => !account.scopes?.has(s)))) {
        throw new OAuthError(
          401,
          'unauthorized_client',
          'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        );
      }
    } else {
      this.directory.own(iss);
    }
    const accessToken = `ya29.${randomBytes(48).toString('base64url')}`;
    const subject = (sub ?? iss).toLowerCase();
    this.tokens.set(accessToken, { subject, scopes: new Set(scopes), expiresAt: this.now() + TOKEN_LIFETIME_S * 1000 });
    return { access_token: accessToken, expires_in: TOKEN_LIFETIME_S - 1, token_type: 'Bearer' };
  }

  /** The token of an `Authorization: Bearer` header; Google's 401 when missing, unknown or expired. */
  authenticate(authorization: string | undefined): AccessToken {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = match ? this.tokens.get(match[1]) : undefined;
    if (!token) throw invalidCredentials();
    if (token.expiresAt <= this.now()) {
      this.tokens.delete(match?.[1] ?? '');
      throw invalidCredentials();
    }
    return token;
  }
}
