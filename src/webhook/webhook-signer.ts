import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): every delivery carries `webhook-id`,
 * `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * keyed with the bytes of the base64 secret after its `whsec_` prefix. The body signed is the exact byte
 * sequence sent.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Shortest accepted key (128 bits); Standard Webhooks recommends 24 to 64 bytes. */
export const MIN_SECRET_BYTES = 16;

/** The configured secret is not `whsec_` + base64 of at least MIN_SECRET_BYTES bytes. */
export class WebhookSecretError extends Error {
  readonly code = 'WEBHOOK_SECRET_INVALID';
  constructor(problem: string) {
    super(problem);
    this.name = 'WebhookSecretError';
  }
}

/** The key bytes of a `whsec_…` secret; throws WebhookSecretError naming what is wrong (never the secret). */
export function decodeWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new WebhookSecretError(`must start with ${WEBHOOK_SECRET_PREFIX}`);
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new WebhookSecretError(`must be ${WEBHOOK_SECRET_PREFIX} followed by base64`);
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES) throw new WebhookSecretError(`must hold at least ${MIN_SECRET_BYTES} bytes after ${WEBHOOK_SECRET_PREFIX}`);
  return key;
}

/** Standard Webhooks headers of one attempt. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature'?: string;
}

export class WebhookSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = decodeWebhookSecret(secret);
  }

  /** `v1,<base64 HMAC-SHA256("id.timestamp.body")>`. */
  sign(id: string, timestampSeconds: number, body: Buffer): string {
    const mac = createHmac('sha256', this.key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
    return `v1,${mac}`;
  }
}

/**
 * The headers of one attempt: id and timestamp always (receivers de-duplicate on the id), the signature when a
 * secret is configured.
 */
export function webhookHeaders(id: string, timestampSeconds: number, body: Buffer, signer?: WebhookSigner): WebhookHeaders {
  const headers: WebhookHeaders = { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds) };
  if (signer) headers['webhook-signature'] = signer.sign(id, timestampSeconds, body);
  return headers;
}
