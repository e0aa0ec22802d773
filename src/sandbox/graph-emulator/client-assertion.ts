/**
 * The certificate credential of the client-credentials grant: a JWT signed RS256 (or PS256, as MSAL signs with a
 * SHA-256 thumbprint) whose header names the certificate by `x5t` (base64url SHA-1 of the DER) or `x5t#S256`, with
 * aud = the token endpoint URL, iss = sub = the client id, and exp (plus nbf/iat) in range.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import { assertionAudience, assertionClientMismatch, assertionExpired, badAssertionSignature, malformedAssertion } from './graph-errors';

export interface DecodedAssertion {
  header: { alg?: string; x5t?: string; 'x5t#S256'?: string; kid?: string };
  claims: { iss?: string; sub?: string; aud?: string; exp?: number; nbf?: number; iat?: number; jti?: string };
  signingInput: string;
  signature: Buffer;
}

const SKEW_S = 300;

export function decodeAssertion(jwt: string): DecodedAssertion {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw malformedAssertion();
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof header !== 'object' || typeof claims !== 'object' || !header || !claims) throw new Error('not objects');
    return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    throw malformedAssertion();
  }
}

/** Hex thumbprint (upper case) the assertion names, and which kind; undefined when it names none. */
export function assertionThumbprint(decoded: DecodedAssertion): { kind: 'sha1' | 'sha256'; hex: string } | undefined {
  const sha256 = decoded.header['x5t#S256'];
  if (typeof sha256 === 'string') return { kind: 'sha256', hex: Buffer.from(sha256, 'base64url').toString('hex').toUpperCase() };
  const sha1 = decoded.header.x5t;
  if (typeof sha1 === 'string') return { kind: 'sha1', hex: Buffer.from(sha1, 'base64url').toString('hex').toUpperCase() };
  return undefined;
}

export function verifyAssertion(decoded: DecodedAssertion, key: KeyObject, clientId: string, audiences: readonly string[], nowMs: number): void {
  const data = Buffer.from(decoded.signingInput);
  const alg = decoded.header.alg;
  const ok =
    alg === 'RS256'
      ? verify('sha256', data, key, decoded.signature)
      : alg === 'PS256'
        ? verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, decoded.signature)
        : false;
  if (!ok) throw badAssertionSignature();
  const { iss, sub, aud, exp, nbf } = decoded.claims;
  if (iss !== clientId || sub !== clientId) throw assertionClientMismatch();
  if (typeof aud !== 'string' || !audiences.includes(aud)) throw assertionAudience(audiences[0]);
  const now = nowMs / 1000;
  if (typeof exp !== 'number' || exp <= now - SKEW_S || (typeof nbf === 'number' && nbf > now + SKEW_S)) throw assertionExpired(nowMs, exp);
}
