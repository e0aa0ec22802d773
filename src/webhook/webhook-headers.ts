/**
 * RESOLUTION_WEBHOOK_HEADERS: extra headers sent with every resolution webhook request, for receivers that want
 * their own credential (`Authorization: Bearer …`, `X-Api-Key: …`). Two spellings are accepted:
 *
 * - a JSON object of strings: `{"Authorization":"Bearer abc","X-Team":"it"}`;
 * - `Name: value` lines separated by newlines (a real newline or the two characters `\n`, as one-line env files
 *   write it): `Authorization: Bearer abc\nX-Team: it`.
 *
 * Names must be HTTP tokens and values visible ASCII (no CR/LF); the headers the daemon sets itself (content type
 * and length, host, the Standard Webhooks `webhook-*` headers, hop-by-hop headers) cannot be replaced. The values
 * are credentials: error messages name the header, never its value.
 */
export class WebhookHeadersError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookHeadersError';
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII and spaces/tabs inside; no control characters (a CR/LF would split the request). */
const VALUE = /^[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?$/;
const RESERVED = new Set([
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-connection',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);
const MAX_HEADERS = 20;
const MAX_VALUE_LENGTH = 4096;

/** Parses and validates the variable's value; returns lower-cased names with their values. */
export function parseWebhookHeaders(raw: string): Record<string, string> {
  const text = raw.trim();
  const pairs: Array<[string, unknown]> = [];
  if (text.startsWith('{') || text.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new WebhookHeadersError('must be a JSON object of header names to string values, or "Name: value" lines');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new WebhookHeadersError('must be a JSON object of header names to string values');
    }
    pairs.push(...Object.entries(parsed));
  } else {
    for (const line of text.split(/\r?\n|\\n/)) {
      if (line.trim() === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new WebhookHeadersError(`has a line without "Name: value" (line ${pairs.length + 1})`);
      pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  if (pairs.length === 0) throw new WebhookHeadersError('names no header');
  if (pairs.length > MAX_HEADERS) throw new WebhookHeadersError(`may hold at most ${MAX_HEADERS} headers`);
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (!TOKEN.test(name)) throw new WebhookHeadersError(`has an invalid header name ${JSON.stringify(name.slice(0, 40))}`);
    const lower = name.toLowerCase();
    if (RESERVED.has(lower)) throw new WebhookHeadersError(`may not set ${name}: the daemon sets it`);
    if (lower in headers) throw new WebhookHeadersError(`names ${name} twice`);
    if (typeof value !== 'string') throw new WebhookHeadersError(`header ${name} must have a string value`);
    if (value.length > MAX_VALUE_LENGTH || !VALUE.test(value)) {
      throw new WebhookHeadersError(`header ${name} has an empty or invalid value (visible ASCII, at most ${MAX_VALUE_LENGTH} characters, no line breaks)`);
    }
    headers[lower] = value;
  }
  return headers;
}
