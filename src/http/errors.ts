import { ERROR_CODES, type ErrorCode } from './error-codes';

/** Coded HTTP errors, answered as {statusCode, code, error, message[, field]} (Fastify's error shape). */
export class HttpError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = ERROR_CODES[code].status;
  }
}

export const invalidInput = (field: string, message: string) => new HttpError('INVALID_INPUT', `${field}: ${message}`, field);
export const unauthorized = () => new HttpError('UNAUTHORIZED', 'missing or invalid bearer token');
export const unavailable = (what: string) => new HttpError('UNAVAILABLE', `${what} is unavailable, try again later`);
export const notFound = (what: string) => new HttpError('NOT_FOUND', what);
export const invalidState = (message: string) => new HttpError('INVALID_STATE', message);
