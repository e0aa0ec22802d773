import pino, { type Logger } from 'pino';

/**
 * The daemon's logger. Secrets never reach the logs, whatever shape the logged object has and however deep the
 * secret sits in it:
 *
 * - a value under a secret-named key (`authorization`, `*token*`, `*secret*`, `private_key`, `assertion`,
 *   `extraHeaders` (RESOLUTION_WEBHOOK_HEADERS), …) is
 *   replaced by `[redacted]` (booleans and numbers stay: `tokenEndpoint: true` tells nothing);
 * - secret-shaped text inside any string (a `Bearer …` header value, a `ya29.` access token, a PEM private key, a
 *   signed JWT, a `whsec_` webhook secret) is replaced, also in the message and in error messages and stacks;
 * - an error is logged as its type, message, stack, primitive fields (code, status, reason…) and its cause chain,
 *   never with the objects that HTTP clients hang on it (gaxios' `config` with headers and request body,
 *   `response`, `request`).
 *
 * Only plain objects, arrays and errors are rewritten; other instances (Fastify's request, a Date) go to pino's
 * serializers as they are.
 */
export const REDACTED = '[redacted]';

// `extraHeaders` / RESOLUTION_WEBHOOK_HEADERS: the receiver's own credential headers, whatever their names.
const SECRET_KEY = /authorization|cookie|token|secret|password|passphrase|private_?key|assertion|api_?key|extra_?headers|webhook_?headers/i;

const SECRET_TEXT: RegExp[] = [
  /\bBearer\s+[\w.~+/=-]{8,}/gi,
  /\bya29\.[\w.-]+/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g,
  /\bwhsec_[\w+/=]+/g,
  // A token in a URL's query string (`?token=…` on Fleet's webhook route, `access_token=`, `api_key=`).
  /(?<=[?&](?:token|access_token|api_?key|key)=)[^&#\s"']+/gi,
];

/** Top-level keys censored by pino itself (the only redaction that also covers child-logger bindings). */
const SECRET_BINDINGS = ['authorization', 'token', 'accessToken', 'access_token', 'channelToken', 'apiToken', 'ingestToken', 'secret', 'private_key', 'privateKey', 'password', 'extraHeaders', 'RESOLUTION_WEBHOOK_HEADERS'];

/** Fields of an error that hold the request or response it came from: never logged. */
const REQUEST_FIELDS = new Set(['config', 'response', 'request', 'headers', 'options']);
const MAX_DEPTH = 8;

export function redactText(text: string): string {
  return SECRET_TEXT.reduce((acc, pattern) => acc.replace(pattern, REDACTED), text);
}

/** A copy of `value` that is safe to log (see the module comment for the rules). */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  try {
    if (value instanceof Error) return serializeError(value, depth, seen);
    if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
    if (value instanceof Headers) return redactSecrets(Object.fromEntries(value.entries()), depth, seen);
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = redactField(key, item, depth, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

function redactField(key: string, value: unknown, depth: number, seen: WeakSet<object>): unknown {
  const harmless = typeof value === 'boolean' || typeof value === 'number' || value === null || value === undefined;
  if (SECRET_KEY.test(key) && !harmless) return REDACTED;
  return redactSecrets(value, depth + 1, seen);
}

function serializeError(err: Error, depth: number, seen: WeakSet<object>): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? err.name, message: redactText(err.message) };
  if (err.stack) out.stack = redactText(err.stack);
  for (const [key, item] of Object.entries(err)) {
    if (REQUEST_FIELDS.has(key) || key === 'cause') continue;
    const primitive = typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean';
    if (primitive) out[key] = redactField(key, item, depth, seen);
  }
  if (err.cause !== undefined) out.cause = redactSecrets(err.cause, depth + 1, seen);
  return out;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'maintenance-windows' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: (err: unknown) => redactSecrets(err) },
      // Child-logger bindings do not pass through the hook below: the secret-named keys are censored by name.
      redact: { paths: SECRET_BINDINGS, censor: REDACTED },
      hooks: {
        // Every argument of every log call, before pino reads it: the object, the message and format arguments.
        logMethod(args, method) {
          const [first, ...rest] = args as unknown[];
          const object = first instanceof Error ? { err: first } : first;
          const safe = [redactSecrets(object), ...rest.map((arg) => redactSecrets(arg))];
          if (first instanceof Error && typeof rest[0] !== 'string') safe.splice(1, 0, redactText(first.message));
          return method.apply(this, safe as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

export type { Logger };
