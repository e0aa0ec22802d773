/**
 * Google's error bodies, built in one place. API errors answer
 * `{"error":{"errors":[{domain,reason,message}],"code":N,"message":".."}}`; the OAuth token endpoint answers
 * `{"error":"invalid_grant","error_description":".."}`.
 */

export interface GoogleErrorItem {
  domain: string;
  reason: string;
  message: string;
  location?: string;
  locationType?: string;
}

export interface GoogleErrorBody {
  error: { errors: GoogleErrorItem[]; code: number; message: string; status?: string };
}

const USAGE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'dailyLimitExceeded']);

/** The reason and message Google uses by default for a status (injected faults, settingsError). */
const DEFAULTS: Record<number, { reason: string; message: string }> = {
  400: { reason: 'badRequest', message: 'Bad Request' },
  401: { reason: 'authError', message: 'Invalid Credentials' },
  403: { reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  404: { reason: 'notFound', message: 'Not Found' },
  409: { reason: 'conflict', message: 'Conflict' },
  410: { reason: 'deleted', message: 'Resource has been deleted' },
  412: { reason: 'conditionNotMet', message: 'Precondition Failed' },
  429: { reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  500: { reason: 'backendError', message: 'Backend Error' },
  503: { reason: 'backendError', message: 'The service is currently unavailable.' },
};

const AUTH_ERROR_MESSAGE =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

/** An error of the Calendar API, answered with Google's JSON error body. */
export class GoogleApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extra: { domain?: string; topMessage?: string; location?: string; locationType?: string; statusName?: string } = {},
  ) {
    super(message);
    this.name = 'GoogleApiError';
  }

  /**
   * The JSON body, keys in Google's order: the classic layout (errors, code, message) for Calendar errors, the
   * newer one (code, message, errors, status) for auth failures, exactly as Google answers them.
   */
  body(): GoogleErrorBody {
    const domain = this.extra.domain ?? (USAGE_LIMIT_REASONS.has(this.reason) ? 'usageLimits' : 'global');
    const topMessage = this.extra.topMessage ?? this.message;
    if (!this.extra.statusName) {
      return { error: { errors: [{ domain, reason: this.reason, message: this.message }], code: this.status, message: topMessage } };
    }
    const item = { message: this.message, domain, reason: this.reason } as GoogleErrorItem;
    if (this.extra.location) item.location = this.extra.location;
    if (this.extra.locationType) item.locationType = this.extra.locationType;
    return { error: { code: this.status, message: topMessage, errors: [item], status: this.extra.statusName } as GoogleErrorBody['error'] };
  }
}

/** An error of the OAuth token endpoint. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }

  body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export function apiError(status: number, reason: string, message: string): GoogleApiError {
  return new GoogleApiError(status, reason, message);
}

/** Google's error for a status, with its usual reason and message unless given. */
export function errorForStatus(status: number, reason?: string, message?: string): GoogleApiError {
  if (status === 401 && (reason === undefined || reason === 'authError') && message === undefined) return invalidCredentials();
  const fallback = DEFAULTS[status] ?? (status >= 500 ? DEFAULTS[500] : DEFAULTS[400]);
  const chosenReason = reason ?? fallback.reason;
  const chosenMessage = message ?? (reason === undefined || reason === fallback.reason ? fallback.message : defaultMessageFor(chosenReason, fallback.message));
  return new GoogleApiError(status, chosenReason, chosenMessage);
}

function defaultMessageFor(reason: string, fallback: string): string {
  switch (reason) {
    case 'userRateLimitExceeded':
      return 'User Rate Limit Exceeded';
    case 'rateLimitExceeded':
      return 'Rate Limit Exceeded';
    case 'quotaExceeded':
      return 'Calendar usage limits exceeded.';
    case 'forbidden':
      return 'Forbidden';
    case 'backendError':
      return 'Backend Error';
    case 'internalError':
      return 'Internal Error';
    default:
      return fallback;
  }
}

/** The OAuth-style error an injected fault answers at the token endpoint. */
export function oauthErrorForStatus(status: number, reason?: string, message?: string): OAuthError {
  const error = reason ?? (status === 401 ? 'unauthorized_client' : status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'internal_failure' : 'invalid_request');
  return new OAuthError(status, error, message ?? (status >= 500 ? 'Backend Error' : 'Bad Request'));
}

export const invalidCredentials = (): GoogleApiError =>
  new GoogleApiError(401, 'authError', 'Invalid Credentials', {
    topMessage: AUTH_ERROR_MESSAGE,
    location: 'Authorization',
    locationType: 'header',
    statusName: 'UNAUTHENTICATED',
  });

export const insufficientPermissions = (): GoogleApiError =>
  new GoogleApiError(403, 'insufficientPermissions', 'Insufficient Permission', {
    topMessage: 'Request had insufficient authentication scopes.',
    statusName: 'PERMISSION_DENIED',
  });

export const notFound = (): GoogleApiError => apiError(404, 'notFound', 'Not Found');
export const deleted = (): GoogleApiError => apiError(410, 'deleted', 'Resource has been deleted');
export const duplicate = (): GoogleApiError => apiError(409, 'duplicate', 'The requested identifier already exists.');
export const conditionNotMet = (): GoogleApiError => apiError(412, 'conditionNotMet', 'Precondition Failed');
export const timeRangeEmpty = (): GoogleApiError => apiError(400, 'timeRangeEmpty', 'The specified time range is empty.');
export const invalid = (message: string): GoogleApiError => apiError(400, 'invalid', message);
export const required = (message: string): GoogleApiError => apiError(400, 'required', message);
export const badRequest = (): GoogleApiError => apiError(400, 'badRequest', 'Bad Request');
export const parseError = (): GoogleApiError => apiError(400, 'parseError', 'Parse Error');
export const fullSyncRequired = (): GoogleApiError =>
  apiError(410, 'fullSyncRequired', 'Sync token is no longer valid, a full sync is required.');
