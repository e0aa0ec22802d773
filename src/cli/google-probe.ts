import { readFileSync } from 'node:fs';
import type { JWT } from 'google-auth-library';
import type { Config } from '../config';
import { OwnerAuthProvider } from '../google/google-auth';
import { describeGoogleError } from '../google/google-errors';
import { fetchThrough, proxyDispatcher } from '../lib/outbound-proxy';
import { OwnerUnavailableError } from '../ports/calendar';
import { CliError } from './io';

/** A service-account key as the daemon reads it. */
export interface ServiceAccountKey {
  client_email: string;
  private_key: string;
}

export interface LiveGoogle {
  key: ServiceAccountKey;
  apiUrl: string;
  tokenUrl: string;
  fetch: typeof fetch;
}

/** Reads and checks the key file; throws CliError naming what is wrong. */
export function readServiceAccountKey(file: string): ServiceAccountKey {
  let parsed: Partial<ServiceAccountKey> & { type?: string };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServiceAccountKey>;
  } catch (err) {
    throw new CliError(`GOOGLE_CREDENTIALS_FILE cannot be read as JSON (${(err as Error).message})`);
  }
  if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
    throw new CliError('GOOGLE_CREDENTIALS_FILE is not a service-account key (client_email, private_key missing)');
  }
  if (!parsed.private_key.includes('PRIVATE KEY')) throw new CliError('GOOGLE_CREDENTIALS_FILE: private_key is not a PEM private key');
  return { client_email: parsed.client_email, private_key: parsed.private_key };
}

/** The Google side of a live configuration; the sandbox has no real calendars to ask. */
export function liveGoogle(config: Config): LiveGoogle {
  if (config.google.mode !== 'live') throw new CliError('GOOGLE_CREDENTIALS_FILE is not set: there are no real calendars to ask (the daemon would run its sandbox)');
  return {
    key: readServiceAccountKey(config.google.credentialsFile),
    apiUrl: config.google.apiUrl,
    tokenUrl: config.google.tokenUrl,
    fetch: fetchThrough(proxyDispatcher(config.outboundProxy)),
  };
}

/** An owner's authorised client for `scopes` (the daemon's by default); throws Error with Google's reason. */
export async function ownerClient(google: LiveGoogle, owner: string, scopes?: readonly string[]): Promise<JWT> {
  const auth = new OwnerAuthProvider({
    clientEmail: google.key.client_email,
    privateKey: google.key.private_key,
    tokenUrl: google.tokenUrl,
    timeoutMs: 15_000,
    fetch: google.fetch,
    scopes,
  });
  try {
    return await auth.authorizedClient(owner);
  } catch (err) {
    if (err instanceof OwnerUnavailableError) throw new Error(err.reason);
    throw new Error(describeGoogleError(err).message);
  }
}

/** One Calendar API request as the owner (no retries: a diagnosis, not a job); throws Error with Google's words. */
export async function calendarRequest<T>(google: LiveGoogle, client: JWT, path: string, body?: unknown): Promise<T> {
  try {
    const res = await client.request<T>({
      url: `${google.apiUrl}calendar/v3/${path}`,
      method: body === undefined ? 'GET' : 'POST',
      data: body,
      timeout: 15_000,
      retry: false,
    });
    return res.data;
  } catch (err) {
    const f = describeGoogleError(err);
    throw new Error(`${f.status ? `${f.status} ` : ''}${f.reason ? `${f.reason}: ` : ''}${f.message}`);
  }
}
