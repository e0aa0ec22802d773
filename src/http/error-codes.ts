/**
 * Every error code the HTTP API answers, in one place (Fastify's FST_ERR_* registry is the model). The body is
 * always {statusCode, code, error, message[, field]}.
 */
export const ERROR_CODES = {
  INVALID_INPUT: { status: 400, meaning: 'a field (named in `field` and the message) is missing or wrong' },
  INVALID_JSON: { status: 400, meaning: 'the body is not JSON' },
  UNAUTHORIZED: { status: 401, meaning: 'the bearer token is missing or wrong for this route' },
  NOT_FOUND: { status: 404, meaning: 'no such route, remediation or host' },
  INVALID_STATE: { status: 409, meaning: "the remediation's status does not allow the action (named in the message)" },
  NOTHING_TO_REDELIVER: { status: 409, meaning: 'the remediation has not fired, or a delivery is in progress' },
  BODY_TOO_LARGE: { status: 413, meaning: 'the body is over 2 MiB' },
  UNAVAILABLE: { status: 503, meaning: 'Redis, the queue or the calendar cannot take it now; try again' },
  INTERNAL: { status: 500, meaning: 'a bug: logged with the request' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
