import { CalendarApiError, OwnerUnavailableError } from '../ports/calendar';

/**
 * What the adapter needs to know about a failed Google call: the HTTP status and Google's reason
 * (`error.errors[0].reason` for the Calendar API, `error` for the OAuth token endpoint), or that no
 * response came back at all (connection reset, timeout...).
 */
export interface GoogleFailure {
  status?: number;
  reason?: string;
  message: string;
  /** True when the request got no HTTP response (network error or timeout). */
  network: boolean;
  /** True when the failure came from the OAuth token endpoint (`{error: "invalid_grant", ...}`). */
  tokenEndpoint: boolean;
}

/** Token endpoint errors that are final for the impersonated owner. */
const OWNER_TOKEN_ERRORS = new Set(['invalid_grant', 'unauthorized_client']);

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'TimeoutError',
  'AbortError',
]);

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null;
}

/** The error and its `cause` chain (gaxios wraps fetch errors, which wrap system errors). */
function* causeChain(err: unknown): Generator<Json> {
  let current: unknown = err;
  for (let depth = 0; isObject(current) && depth < 5; depth++) {
    yield current;
    current = current.cause ?? current.error;
  }
}

function isNetworkFailure(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
    if (typeof e.message === 'string' && /socket hang up|network timeout/i.test(e.message)) return true;
  }
  return false;
}

/** "request failed: fetch failed: connect ECONNREFUSED 127.0.0.1:443": the causes say what really happened. */
function chainMessage(err: unknown): string {
  const messages: string[] = [];
  for (const e of causeChain(err)) {
    const m = typeof e.message === 'string' ? e.message : '';
    if (m && !messages.includes(m)) messages.push(m);
  }
  return messages.join(': ') || String(err);
}

export function describeGoogleError(err: unknown): GoogleFailure {
  const message = err instanceof Error ? err.message : String(err);
  const e = isObject(err) ? err : {};
  const response = isObject(e.response) ? e.response : undefined;
  if (!response) return { message: chainMessage(err), network: isNetworkFailure(err), tokenEndpoint: false };

  const status = typeof response.status === 'number' ? response.status : undefined;
  const body = isObject(response.data) ? response.data : {};
  if (typeof body.error === 'string') {
    return { status, reason: body.error, message, network: false, tokenEndpoint: true };
  }
  const apiError = isObject(body.error) ? body.error : {};
  const first = Array.isArray(apiError.errors) && isObject(apiError.errors[0]) ? apiError.errors[0] : {};
  const reason = typeof first.reason === 'string' ? first.reason : undefined;
  const apiMessage = typeof apiError.message === 'string' ? apiError.message : message;
  return { status, reason, message: apiMessage, network: false, tokenEndpoint: false };
}

/** The OAuth error (`invalid_grant`, `unauthorized_client`) if the token endpoint refused this owner for good. */
export function ownerTokenError(err: unknown): string | undefined {
  const failure = describeGoogleError(err);
  return failure.tokenEndpoint && failure.reason && OWNER_TOKEN_ERRORS.has(failure.reason) ? failure.reason : undefined;
}

/** Translates whatever a Google call threw into the port's errors. Port errors pass through unchanged. */
export function toPortError(err: unknown, owner: string, operation: string): Error {
  if (err instanceof OwnerUnavailableError || err instanceof CalendarApiError) return err;
  const tokenError = ownerTokenError(err);
  if (tokenError) return new OwnerUnavailableError(owner, tokenError);
  const failure = describeGoogleError(err);
  const what = failure.status ? `HTTP ${failure.status}${failure.reason ? ` ${failure.reason}` : ''}` : 'no response';
  return new CalendarApiError(`Google Calendar ${operation} for ${owner} failed (${what}): ${failure.message}`, failure.status, failure.reason);
}
