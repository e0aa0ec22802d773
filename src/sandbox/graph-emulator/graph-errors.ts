/**
 * Graph's and Entra's error bodies, built in one place.
 * Graph: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}` with the
 * `request-id` / `client-request-id` headers. Entra (token endpoint): `{"error","error_description":"AADSTSnnnn: …
 * Trace ID … Correlation ID … Timestamp …","error_codes":[n],"timestamp","trace_id","correlation_id","error_uri"}`.
 * Messages follow what Graph and Entra answer where it is known; those marked VERIFY are plausible, not confirmed.
 */
import { randomUUID } from 'node:crypto';

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GraphError';
  }

  body(requestId: string, clientRequestId: string, now: number): object {
    return {
      error: {
        code: this.code,
        message: this.message,
        innerError: { date: new Date(now).toISOString().slice(0, 19), 'request-id': requestId, 'client-request-id': clientRequestId },
      },
    };
  }
}

export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly aadsts: number,
    readonly description: string,
  ) {
    super(`${error}: AADSTS${aadsts}: ${description}`);
    this.name = 'EntraError';
  }

  body(now: number, correlationId: string = randomUUID()): object {
    const traceId = randomUUID();
    const timestamp = new Date(now).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return {
      error: this.error,
      error_description: `AADSTS${this.aadsts}: ${this.description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadsts}`,
    };
  }
}

// ---- Graph ----

export const emptyToken = () => new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
export const malformedToken = () => new GraphError(401, 'InvalidAuthenticationToken', 'CompactToken parsing failed with error code: 80049217');
export const invalidTokenSignature = () => new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
export const invalidAudience = () => new GraphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
export const expiredToken = () => new GraphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
export const accessDenied = () => new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
export const itemNotFound = () => new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
export const invalidUser = (id: string) => new GraphError(404, 'ErrorInvalidUser', `The requested user '${id}' is invalid.`);
export const mailboxNotEnabled = () =>
  new GraphError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
/** VERIFY the exact code and message of an unknown subscription id. */
export const subscriptionNotFound = () => new GraphError(404, 'ResourceNotFound', 'The object was not found.');
export const unknownSegment = (path: string) => new GraphError(400, 'BadRequest', `Resource not found for the segment '${path}'.`);
export const invalidRequest = (message: string) => new GraphError(400, 'ErrorInvalidRequest', message);
export const invalidParameter = (message: string) => new GraphError(400, 'ErrorInvalidParameter', message);
export const requestBodyRead = (message = 'Invalid JSON. A token was not recognized in the JSON content.') => new GraphError(400, 'RequestBodyRead', message);
export const timeZoneNotSupported = (zone: string) =>
  new GraphError(400, 'TimeZoneNotSupportedException', `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${zone}'.`);
export const timeWindowRequired = () =>
  new GraphError(400, 'ErrorInvalidParameter', 'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.');
/** Graph answers this with 410 Gone; clients must start a full sync (microsoft-graph-docs issue #2350). */
export const syncStateNotFound = (generation: number, highest: number) =>
  new GraphError(410, 'SyncStateNotFound', `The sync state generation is not found; generation=${generation};[highest=${highest}].`);
/** Seen when a retried create reuses a transactionId for different content (alcionai/corso issue #2490). VERIFY the status. */
export const duplicateTransactionId = () =>
  new GraphError(409, 'ErrorDuplicateTransactionId', "Your request can't be completed. The TransactionId specified in the request has already been used to create a different event.");
/** VERIFY the exact message; the code is what Exchange uses for too many mailboxes in one free/busy request. */
export const tooManySchedules = (requested: number, allowed: number) =>
  new GraphError(400, 'ErrorMailboxDataArrayTooBig', `The number of mailboxes requested exceeds the allowed size. Requested size = ${requested}; allowed size = ${allowed}.`);
export const mailboxConcurrency = () =>
  new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': '1' });
/**
 * A failed validation handshake. Seen: code InvalidRequest with "Subscription validation request timed out."
 * (microsoftgraph/nodejs-webhooks-sample #350); the other messages from #158 and java-spring-webhooks-sample #82.
 */
export const validationError = (message: string) => new GraphError(400, 'InvalidRequest', message);
/** Seen as ExtensionError "Subscription expiration can only be 4230 minutes in the future." (microsoft-graph-docs-contrib #7726). */
export const expirationTooFar = (minutes: number) => new GraphError(400, 'ExtensionError', `Subscription expiration can only be ${minutes} minutes in the future.`);
export const subscriptionInvalid = (message: string) => new GraphError(400, 'InvalidRequest', message);

const DEFAULTS: Record<number, { code: string; message: string }> = {
  400: { code: 'BadRequest', message: 'Bad request.' },
  401: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' },
  403: { code: 'ErrorAccessDenied', message: 'Access is denied. Check credentials and try again.' },
  404: { code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' },
  429: { code: 'ApplicationThrottled', message: 'Application is over its RequestRate limit.' },
  500: { code: 'ErrorInternalServerError', message: 'An internal server error occurred. The operation failed.' },
  502: { code: 'BadGateway', message: 'Bad Gateway' },
  503: { code: 'ServiceUnavailable', message: 'Service Unavailable' },
  504: { code: 'GatewayTimeout', message: 'Gateway Timeout' },
};

/** Graph's error for an injected status, with its usual code and message unless given. */
export function graphErrorForStatus(status: number, code?: string, message?: string, retryAfterSeconds?: number): GraphError {
  const fallback = DEFAULTS[status] ?? (status >= 500 ? DEFAULTS[500] : DEFAULTS[400]);
  const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
  return new GraphError(status, code ?? fallback.code, message ?? fallback.message, headers);
}

// ---- Entra ----

export const missingParameter = (name: string) =>
  new EntraError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`);
export const unsupportedGrantType = (grant: string) =>
  new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
export const tenantNotFound = (tenant: string) =>
  new EntraError(
    400,
    'invalid_request',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
  );
export const applicationNotFound = (clientId: string, tenant: string) =>
  new EntraError(
    400,
    'unauthorized_client',
    700016,
    `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
  );
export const credentialRequired = () =>
  new EntraError(401, 'invalid_client', 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.");
export const invalidClientSecret = (clientId: string) =>
  new EntraError(
    401,
    'invalid_client',
    7000215,
    `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
  );
export const invalidScope = (scope: string) =>
  new EntraError(
    400,
    'invalid_scope',
    1002012,
    `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
  );
export const resourceNotFound = (resource: string, tenant: string) =>
  new EntraError(
    400,
    'invalid_resource',
    500011,
    `The resource principal named ${resource} was not found in the tenant named ${tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  );
export const malformedAssertion = () => new EntraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
export const invalidAssertionType = (type: string) =>
  new EntraError(400, 'invalid_request', 7000216, `The client_assertion_type '${type}' is not supported. Use 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.`);
export const unknownCertificate = (thumbprint: string) =>
  new EntraError(
    401,
    'invalid_client',
    700027,
    `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}']`,
  );
export const badAssertionSignature = () => new EntraError(401, 'invalid_client', 700027, 'Client assertion contains an invalid signature.');
export const assertionClientMismatch = () =>
  new EntraError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter.");
/** VERIFY the AADSTS code of a wrong assertion audience. */
export const assertionAudience = (expected: string) =>
  new EntraError(401, 'invalid_client', 50013, `Assertion audience claim does not match the required value. The expected audience is '${expected}'.`);
export const assertionExpired = (now: number, exp: number | undefined) =>
  new EntraError(
    401,
    'invalid_client',
    700024,
    `Client assertion is not within its valid time range. Current time: ${new Date(now).toISOString()}, expiry time of assertion ${exp === undefined ? 'missing' : new Date(exp * 1000).toISOString()}.`,
  );

/** Entra's error for an injected status at the token endpoint. */
export function entraErrorForStatus(status: number, code?: string, message?: string): EntraError {
  if (status === 429) return new EntraError(429, code ?? 'temporarily_unavailable', 50196, message ?? 'The server terminated an operation because it encountered a client request loop.');
  if (status >= 500) return new EntraError(status, code ?? 'temporarily_unavailable', 90033, message ?? 'A transient error has occurred. Please try again.');
  return new EntraError(status, code ?? 'invalid_request', 90014, message ?? 'The request is invalid.');
}
