import { verify, type KeyObject } from 'node:crypto';
import { OAuthError } from './google-errors';

/** The claims of a service account's JWT bearer assertion. */
export interface AssertionClaims {
  iss?: string;
  sub?: string;
  scope?: string;
  aud?: string;
  iat?: number;
  exp?: number;
}

export interface DecodedAssertion {
  header: { alg?: string; typ?: string; kid?: string };
  claims: AssertionClaims;
  signingInput: string;
  signature: Buffer;
}

const invalidJwt = (detail: string) => new OAuthError(400, 'invalid_grant', `Invalid JWT: ${detail}`);

function decodeJson(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value as Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Splits and decodes the assertion without trusting it (the signature is checked by verifyAssertion). */
export function decodeAssertion(assertion: string): DecodedAssertion {
  const parts = assertion.split('.');
  if (parts.length !== 3) throw invalidJwt('A JWT must have three segments.');
  try {
    const header = decodeJson(parts[0]);
    const payload = decodeJson(parts[1]);
    return {
      header: { alg: str(header.alg), typ: str(header.typ), kid: str(header.kid) },
      claims: {
        iss: str(payload.iss),
        sub: str(payload.sub),
        scope: str(payload.scope),
        aud: str(payload.aud),
        iat: num(payload.iat),
        exp: num(payload.exp),
      },
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], 'base64url'),
    };
  } catch {
    throw invalidJwt('The JWT could not be decoded.');
  }
}

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Google's answer to an assertion whose iat/exp are out of bounds. */
const TIMEFRAME = 'Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
/** Clock skew tolerated on iat, as Google does. */
const SKEW_S = 300;

/** Checks signature (RS256), audience and the iat/exp window. Throws the OAuthError Google would answer. */
export function verifyAssertion(decoded: DecodedAssertion, publicKey: KeyObject, audiences: readonly string[], nowMs: number): void {
  const signatureOk = decoded.header.alg === 'RS256' && verify('RSA-SHA256', Buffer.from(decoded.signingInput), publicKey, decoded.signature);
  if (!signatureOk) throw new OAuthError(400, 'invalid_grant', 'Invalid JWT Signature.');
  const { aud, iat, exp } = decoded.claims;
  if (!aud || !audiences.includes(aud)) throw invalidJwt(`Failed audience check. The right audience is ${GOOGLE_TOKEN_URL}`);
  const now = nowMs / 1000;
  if (iat === undefined || exp === undefined || exp <= iat || exp - iat > 3600 || exp <= now || iat > now + SKEW_S) {
    throw invalidJwt(TIMEFRAME);
  }
}
