import { CalendarApiError, OwnerUnavailableError } from '../ports/calendar';

/** A Graph answer that is not a success, with Graph's error code and, for a 429 or 503, how long to wait. */
export class GraphRequestError extends Error {
  readonly code = 'GRAPH_REQUEST_FAILED';
  constructor(
    /** The operation, e.g. `events.create`. */
    readonly operation: string,
    /** HTTP status; 0 when no answer came (network error, timeout). */
    readonly status: number,
    /** Graph's `error.code` (e.g. ErrorItemNotFound, ApplicationThrottled), or the network error's. */
    readonly graphCode: string | undefined,
    message: string,
    /** Retry-After in ms when the answer carried one. */
    readonly retryAfterMs?: number,
  ) {
    super(`${operation}: ${status === 0 ? 'no answer' : `HTTP ${status}`}${graphCode ? ` ${graphCode}` : ''}: ${message}`);
    this.name = 'GraphRequestError';
  }
}

/** Graph's codes for a mailbox the app cannot use at all: it does not exist, has no Exchange mailbox, or is outside the app's RBAC scope. */
const OWNER_UNAVAILABLE_CODES = new Set(['ErrorInvalidUser', 'MailboxNotEnabledForRESTAPI', 'ErrorNonExistentMailbox', 'ErrorAccessDenied', 'Request_ResourceNotFound']);

/**
 * The port's error for a failed Graph request on an owner's mailbox: OwnerUnavailableError when the mailbox cannot
 * be used at all (final for that owner), CalendarApiError otherwise. `onUser` says whether the path names the
 * owner's mailbox itself (a 404 on `/users/x/events/{id}` is the event's, not the mailbox's: callers handle it).
 */
export function toPortError(err: unknown, owner: string | undefined): Error {
  if (!(err instanceof GraphRequestError)) return err as Error;
  if (owner !== undefined && (err.status === 404 || err.status === 403) && err.graphCode !== undefined && OWNER_UNAVAILABLE_CODES.has(err.graphCode)) {
    return new OwnerUnavailableError(owner, `${err.graphCode} (HTTP ${err.status})`);
  }
  return new CalendarApiError(err.message, err.status || undefined, err.graphCode);
}

/** True for a GraphRequestError with one of these statuses. */
export function hasGraphStatus(err: unknown, ...statuses: number[]): err is GraphRequestError {
  return err instanceof GraphRequestError && statuses.includes(err.status);
}
