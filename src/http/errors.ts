/** Coded HTTP errors, answered as {statusCode, code, error, message[, field]} (Fastify's error shape). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const invalidInput = (field: string, message: string) =>
  new HttpError(400, 'INVALID_INPUT', `${field}: ${message}`, field);
export const unauthorized = () => new HttpError(401, 'UNAUTHORIZED', 'missing or invalid bearer token');
export const unavailable = (what: string) => new HttpError(503, 'UNAVAILABLE', `${what} is unavailable, try again later`);
